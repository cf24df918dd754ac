"""Values between the runtime and Python: JSON with tagged values.

JSON carries null, booleans, strings, lists, objects with string keys, and numbers that fit
64 bits. Everything else travels as an object ``{"__type__": tag, "__schema__": 1, ...}``:

=================  ===========================================  ==========================
tag                fields                                       Python value
=================  ===========================================  ==========================
``tuple``          ``elements``                                 ``tuple``
``bytes``          ``data`` (base64)                            ``bytes``
``atom``           ``value``                                    :class:`Atom` (a ``str``)
``set``            ``elements``                                 ``set``
``frozenset``      ``elements``                                 ``frozenset``
``dict``           ``pairs`` (list of ``[key, value]``)         ``dict`` with any keys
``int``            ``value`` (decimal text)                     ``int`` beyond 64 bits
``special_float``  ``value``: infinity, neg_infinity, nan       ``float``
``complex``        ``real``, ``imag``                           ``complex``
``date``           ``year``, ``month``, ``day``                 ``datetime.date``
``time``           ``hour``, ``minute``, ``second``,            ``datetime.time`` (naive)
                   ``microsecond``
``datetime``       the fields of both, and ``utc_offset``       ``datetime.datetime``
                   (seconds) when it is aware
``ref``            ``id``, ``session_id``, ``type_name``, ...   the object it names
=================  ===========================================  ==========================

An aware ``datetime`` is sent in UTC (Elixir's ``DateTime`` needs a time-zone database for
other zones); one from Elixir keeps its offset as a fixed ``timezone``.

Results are encoded by mode: ``auto`` sends what has a value representation by value and
turns any other object into a reference, container by container, so a list of arrays is a
list of references (a new instance, call type ``class``, is always a reference); ``value``
also converts array-likes with ``tolist()``; ``ref`` returns a reference to the whole result.

Both directions have limits, the runtime's ``max_depth`` and ``max_message_bytes``: depth counts
JSON levels (a tagged value such as a tuple is two: its object and its ``elements``), and the
encoder counts what it would write as it goes, so a result far over the size limit fails at
once instead of after it is built. A ``str`` holding lone surrogates (a file name decoded with
``surrogateescape``, say) is not text Elixir can hold; it travels as the bytes it stands for.
"""

import base64
import datetime
import math

SCHEMA = 1
TYPE = "__type__"
INT64_MIN = -(2**63)
UINT64_MAX = 2**64 - 1


class Atom(str):
    """An Elixir atom. It is a ``str``, so ``mode=:reflect`` reaches Python as ``"reflect"``,
    and it goes back to Elixir as the atom."""

    __slots__ = ()

    def __repr__(self):
        return ":" + str.__repr__(self)[1:-1]


class DecodeError(ValueError):
    """A tagged value that is malformed or unknown."""


class TooDeepError(ValueError):
    """A value nested deeper than the runtime's ``max_depth``."""


class TooLargeError(ValueError):
    """A result larger than the runtime's ``max_message_bytes``."""


def _too_deep(limit, what):
    return TooDeepError(
        "{} nests deeper than {} levels, the runtime's `max_depth`; flatten it, or raise "
        "`max_depth` in the `[runtime]` table of snakebridge.toml".format(what, limit)
    )


def tagged(tag, **fields):
    fields[TYPE] = tag
    fields["__schema__"] = SCHEMA
    return fields


def decode(value, resolve_ref, max_depth=1000):
    """JSON-decoded data to Python values; ``resolve_ref(tagged)`` returns the object of a
    ``ref``, or the callable standing for a ``callback`` (an Elixir function)."""
    return _decode(value, resolve_ref, max_depth, max_depth)


def _decode(value, resolve_ref, left, limit):
    if isinstance(value, list):
        if left < 1:
            raise _too_deep(limit, "an argument")
        return [_decode(item, resolve_ref, left - 1, limit) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TYPE)
    # A tagged value's fields sit below its object and its list (and a dict's pairs, one more).
    needs = 1 if tag is None else 3 if tag == "dict" else 2
    if left < needs:
        raise _too_deep(limit, "an argument")
    left -= needs

    def sub(item):
        return _decode(item, resolve_ref, left, limit)

    if tag is None:
        return {key: sub(item) for key, item in value.items()}
    if tag == "tuple":
        return tuple(sub(item) for item in value["elements"])
    if tag == "atom":
        return Atom(value["value"])
    if tag == "bytes":
        return base64.b64decode(value["data"])
    if tag == "dict":
        return {_key(sub(k)): sub(v) for k, v in value["pairs"]}
    if tag == "set":
        return {_key(sub(item)) for item in value["elements"]}
    if tag == "frozenset":
        return frozenset(_key(sub(item)) for item in value["elements"])
    if tag == "int":
        return int(value["value"])
    if tag == "special_float":
        return {"infinity": math.inf, "neg_infinity": -math.inf, "nan": math.nan}[value["value"]]
    if tag == "complex":
        return complex(value["real"], value["imag"])
    if tag == "date":
        return datetime.date(value["year"], value["month"], value["day"])
    if tag == "time":
        return datetime.time(*_clock(value))
    if tag == "datetime":
        zone = None
        if "utc_offset" in value:
            zone = datetime.timezone(datetime.timedelta(seconds=value["utc_offset"]))
        return datetime.datetime(value["year"], value["month"], value["day"], *_clock(value), tzinfo=zone)
    if tag in ("ref", "callback"):
        return resolve_ref(value)
    raise DecodeError("unknown tagged value {!r}".format(tag))


def _clock(value):
    return value["hour"], value["minute"], value["second"], value["microsecond"]


def _date_fields(value):
    return dict(year=value.year, month=value.month, day=value.day)


def _clock_fields(value):
    return dict(hour=value.hour, minute=value.minute, second=value.second, microsecond=value.microsecond)


def _key(value):
    """Lists cannot be dict keys or set members in Python; their tuple can."""
    if isinstance(value, list):
        return tuple(_key(item) for item in value)
    return value


class Encoder:
    """Encodes one result; ``make_ref(obj)`` registers an object and returns its tagged ref.

    ``max_bytes`` and ``max_depth`` bound what it writes (``None``: no bound).
    """

    def __init__(self, mode, make_ref, max_bytes=None, max_depth=1000):
        if mode not in ("auto", "value", "ref"):
            raise ValueError("returns must be auto, value or ref, not {!r}".format(mode))
        self.mode = mode
        self.make_ref = make_ref
        self.max_bytes = max_bytes
        self.budget = max_bytes if max_bytes is not None else math.inf
        self.max_depth = max_depth

    def encode(self, value):
        if self.mode == "ref" and value is not None:
            return self.make_ref(value)
        return self._encode(value, self.max_depth)

    def _spend(self, size):
        self.budget -= size
        if self.budget < 0:
            self.refuse()

    def refuse(self):
        raise TooLargeError(
            "the result is larger than {} bytes, the runtime's `max_message_bytes`; return a "
            "reference instead (returns: :ref), or raise `max_message_bytes` in the `[runtime]` "
            "table of snakebridge.toml".format(self.max_bytes)
        )

    def _tagged(self, tag, **fields):
        self._spend(32)
        return tagged(tag, **fields)

    def _encode(self, value, left):
        # bool before int: a bool is an int in Python.
        if value is None or isinstance(value, bool):
            self._spend(5)
            return value
        if isinstance(value, Atom):
            self._spend(len(value) + 8)
            return self._tagged("atom", value=str(value))
        if isinstance(value, str):
            self._spend(len(value) + 2)
            return str(value)
        if isinstance(value, int):
            self._spend(21)
            if INT64_MIN <= value <= UINT64_MAX:
                return int(value)
            text = str(int(value))
            self._spend(len(text))
            return self._tagged("int", value=text)
        if isinstance(value, float):
            self._spend(24)
            if math.isnan(value):
                return self._tagged("special_float", value="nan")
            if math.isinf(value):
                return self._tagged("special_float", value="infinity" if value > 0 else "neg_infinity")
            return float(value)
        if isinstance(value, (list, tuple, dict, set, frozenset)):
            # Levels it takes in JSON: a list or a plain object one, a tagged list two, a
            # tagged dict's pairs three.
            plain = isinstance(value, list) or _plain_dict(value)
            needs = 1 if plain else 3 if isinstance(value, dict) else 2
            if left < needs:
                raise _too_deep(self.max_depth, "the result")
            left -= needs
            self._spend(2 + len(value))
        if isinstance(value, list):
            return [self._encode(item, left) for item in value]
        if isinstance(value, tuple):
            return self._tagged("tuple", elements=[self._encode(item, left) for item in value])
        if isinstance(value, dict):
            if plain:
                for key in value:
                    self._spend(len(key) + 3)
                return {key: self._encode(item, left) for key, item in value.items()}
            return self._tagged(
                "dict", pairs=[[self._encode(k, left), self._encode(v, left)] for k, v in value.items()]
            )
        if isinstance(value, (bytes, bytearray, memoryview)):
            self._spend(len(value) * 4 // 3 + 4)
            return self._tagged("bytes", data=base64.b64encode(bytes(value)).decode("ascii"))
        if isinstance(value, frozenset):
            return self._tagged("frozenset", elements=[self._encode(item, left) for item in value])
        if isinstance(value, set):
            return self._tagged("set", elements=[self._encode(item, left) for item in value])
        if isinstance(value, complex):
            return tagged("complex", real=value.real, imag=value.imag)
        # datetime before date: a datetime is a date in Python.
        if isinstance(value, datetime.datetime):
            zone = {}
            if value.utcoffset() is not None:
                value = value.astimezone(datetime.timezone.utc)
                zone = {"utc_offset": 0}
            return tagged("datetime", **_date_fields(value), **_clock_fields(value), **zone)
        if isinstance(value, datetime.date):
            return tagged("date", **_date_fields(value))
        if isinstance(value, datetime.time) and value.utcoffset() is None:
            return tagged("time", **_clock_fields(value))
        scalar = _numpy_scalar(value)
        if scalar is not None:
            return self._encode(scalar, left)
        if self.mode == "value" and callable(getattr(value, "tolist", None)):
            return self._encode(value.tolist(), left)
        self._spend(160)
        return self.make_ref(value)


def _plain_dict(value):
    return isinstance(value, dict) and all(type(key) is str for key in value)


def surrogate_bytes(text):
    """The bytes a ``str`` with lone surrogates stands for: the original bytes of a
    ``surrogateescape`` decoding, else the surrogates themselves (as WTF-8)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _numpy_scalar(value):
    """A numpy scalar's Python value (``numpy.float64(2.0)`` is ``2.0``), without importing
    numpy: a 0-d ``generic`` has ``item()`` and a ``dtype``."""
    kind = type(value)
    if kind.__module__ == "numpy" and hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0:
        item = value.item()
        if type(item) is not kind:
            return item
    return None
