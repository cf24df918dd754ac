"""The demo project's own Python: a class with state, a context manager, and a generator."""


class Rectangle:
    """A rectangle with a width and a height."""

    width: float
    height: float

    def __init__(self, width, height):
        self.width = width
        self.height = height

    @property
    def perimeter(self):
        """The length of the rectangle's outline."""
        return 2 * (self.width + self.height)

    def area(self):
        """The rectangle's area."""
        return self.width * self.height

    def scale(self, factor):
        """Grows the rectangle by `factor` in both directions; returns the new area."""
        self.width *= factor
        self.height *= factor
        return self.area()


def primes():
    """Yields the prime numbers, forever."""
    found = []
    candidate = 2
    while True:
        if all(candidate % p for p in found):
            found.append(candidate)
            yield candidate
        candidate += 1


class Outline:
    """Collects rectangles inside a `with` block, and records how the block ended."""

    def __init__(self):
        self.rectangles = []
        self.ended = None

    def __enter__(self):
        self.ended = None
        return self

    def __exit__(self, kind, error, traceback):
        self.ended = "ok" if error is None else "error: " + str(error)
        return False

    def add(self, rectangle):
        """Adds a rectangle; returns how many there are."""
        self.rectangles.append(rectangle)
        return len(self.rectangles)
