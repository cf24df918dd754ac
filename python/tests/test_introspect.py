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


class SignatureFromDocTest(unittest.TestCase):
    def test_numbered_names_before_an_ellipsis_are_the_variadic_part(self):
        signature = introspect.signature_from_doc("pack", "pack(format, v1, v2, ...) -> bytes\n\nPacks.")
        self.assertEqual(
            [(p["python_name"], p["kind"]) for p in signature["params"]],
            [("format", "positional_only"), ("args", "var_positional")],
        )


class LookupTest(unittest.TestCase):
    def test_a_segment_that_does_not_round_trip_through_elixir_spelling_resolves(self):
        # `numpy.c_` is `Numpy.C`, `numpy.bytes_` is `Numpy.Bytes`.
        lib = types.ModuleType("spelled")
        sys.modules["spelled"] = lib
        self.addCleanup(sys.modules.pop, "spelled")

        class Holder:
            pass

        class bytes_:
            pass

        lib.c_ = Holder()
        lib.bytes_ = bytes_
        self.assertEqual(introspect.resolve_container(lib, "spelled", ["C"])[0], "spelled.c_")
        self.assertEqual(introspect.resolve_container(lib, "spelled", ["Bytes"])[:2], ("spelled.bytes_", "class"))

    def test_a_property_whose_getter_has_no_signature_is_described(self):
        # pathlib's `PurePath.drive` is `property(operator.attrgetter("_drv"))`.
        class Path:
            drive = property(__import__("operator").attrgetter("_drv"))

        record = introspect.describe_member(Path, "lib.Path", "lib", "drive")
        self.assertEqual(record["kind"], "property")
        self.assertNotIn("returns", record)


class ListPublicTest(unittest.TestCase):
    def library(self):
        lib = types.ModuleType("lib")
        sub = types.ModuleType("lib.sub")
        for module in (lib, sub):
            sys.modules[module.__name__] = module
            self.addCleanup(sys.modules.pop, module.__name__)

        class _Base:
            def shared(self):
                return 1

        class Listed:
            def inherited(self):
                return 2

            @classmethod
            def make(cls):
                return cls()

        class Child(_Base, Listed):
            def own(self):
                return 3

        # A module-level object of a class in a private module is the API: `scipy.stats.norm`.
        class norm_gen(Listed):
            def __call__(self):
                return self

            def pdf(self):
                return 4

        for cls in (_Base, Listed, Child):
            cls.__module__ = "lib"
        norm_gen.__module__ = "lib._distns"
        lib.norm = norm_gen()
        def helper():
            return None

        helper.__module__ = "lib.sub"
        sub.helper = helper
        # A C accelerator's function is the library's own: `bisect.bisect_left` of `_bisect`.
        fast = types.FunctionType(helper.__code__, {}, "fast")
        fast.__module__ = "_lib"
        sub.fast = fast
        # What a module without `__all__` only imports is not its API.
        sub.cast = __import__("typing").cast
        sub.annotations = __import__("__future__").annotations
        sub.TYPE_CHECKING = False
        # A builtin a library re-exports is Python's, even in `__all__` (`uuid.bytes_`).
        decl = types.ModuleType("lib.decl")
        sys.modules["lib.decl"] = decl
        self.addCleanup(sys.modules.pop, "lib.decl")
        decl.__all__ = ["bytes_", "kept"]
        kept = types.FunctionType(helper.__code__, {}, "kept")
        kept.__module__ = "lib.decl"
        decl.bytes_, decl.kept, lib.decl = bytes, kept, decl
        lib.sub, lib.Listed, lib.Child, lib.Alias = sub, Listed, Child, Child
        sub.Child = Child
        lib._private = lambda: None
        return lib

    def test_each_object_at_its_shortest_path_with_the_members_no_listed_class_serves(self):
        entries, unreachable = introspect.list_public(self.library(), "lib")
        self.assertEqual(unreachable, [])
        self.assertEqual(
            [(e["below"], e["name"], e["kind"]) for e in entries],
            [
                # An alias in the same module is listed too; elsewhere it is not.
                ("", "Alias", "class"),
                ("", "Child", "class"),
                ("", "Listed", "class"),
                # Callable, it is a function too: `scipy.stats.norm(loc, scale)`.
                ("", "norm", "function"),
                ("Alias", "make", "member"),
                ("Alias", "own", "member"),
                ("Alias", "shared", "member"),
                # A private base's method is the child's; a listed base serves its own.
                # A classmethod is the class's own, wherever it is defined.
                ("Child", "make", "member"),
                ("Child", "own", "member"),
                ("Child", "shared", "member"),
                ("Listed", "inherited", "member"),
                ("Listed", "make", "member"),
                ("decl", "kept", "function"),
                ("norm", "inherited", "function"),
                ("norm", "make", "function"),
                ("norm", "pdf", "function"),
                ("sub", "fast", "function"),
                ("sub", "helper", "function"),
            ],
        )


if __name__ == "__main__":
    unittest.main()
