"""The introspection script's pure parts, in process."""

import os
import sys
import types
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import snakebridge_introspect as introspect  # noqa: E402


class HonestAnnotationTest(unittest.TestCase):
    def test_names_a_spec_cannot_trust_become_any(self):
        lazy = types.ModuleType("lazy")

        def broken(name):
            raise RuntimeError("lazy import failed: " + name)

        lazy.__getattr__ = broken
        namespace = {"lazy": lazy, "Fraction": __import__("fractions").Fraction}
        self.assertEqual(introspect.honest_annotation("lazy.Thing | None", namespace), "Any | None")
        self.assertEqual(introspect.honest_annotation("Missing", namespace), "Any")
        self.assertEqual(introspect.honest_annotation("list[Fraction]", namespace), "list[Fraction]")
        self.assertEqual(
            introspect.honest_annotation("Literal['a', 'b']", {"Literal": __import__("typing").Literal}),
            "Literal['a', 'b']",
        )


if __name__ == "__main__":
    unittest.main()
