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


def tagged(tag, **fields):
    fields[TYPE] = tag
    fields["__schema__"] = SCHEMA
    return fields


def decode(value, resolve_ref):
    """JSON-decoded data to Python values; ``resolve_ref(tagged)`` returns a ref's object."""
    if isinstance(value, list):
        return [decode(item, resolve_ref) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TYPE)
    if tag is None:
        return {key: decode(item, resolve_ref) for key, item in value.items()}
    if tag == "tuple":
        return tuple(decode(item, resolve_ref) for item in value["elements"])
    if tag == "atom":
        return Atom(value["value"])
    if tag == "bytes":
        return base64.b64decode(value["data"])
    if tag == "dict":
        return {_key(decode(k, resolve_ref)): decode(v, resolve_ref) for k, v in value["pairs"]}
    if tag == "set":
        return {_key(decode(item, resolve_ref)) for item in value["elements"]}
    if tag == "frozenset":
        return frozenset(_key(decode(item, resolve_ref)) for item in value["elements"])
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
    if tag == "ref":
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
    """Encodes one result; ``make_ref(obj)`` registers an object and returns its tagged ref."""

    def __init__(self, mode, make_ref):
        if mode not in ("auto", "value", "ref"):
            raise ValueError("returns must be auto, value or ref, not {!r}".format(mode))
        self.mode = mode
        self.make_ref = make_ref

    def encode(self, value):
        if self.mode == "ref" and value is not None:
            return self.make_ref(value)
        return self._encode(value)

    def _encode(self, value):
        # bool before int: a bool is an int in Python.
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, Atom):
            return tagged("atom", value=str(value))
        if isinstance(value, str):
            return str(value)
        if isinstance(value, int):
            if INT64_MIN <= value <= UINT64_MAX:
                return int(value)
            return tagged("int", value=str(int(value)))
        if isinstance(value, float):
            if math.isnan(value):
                return tagged("special_float", value="nan")
            if math.isinf(value):
                return tagged("special_float", value="infinity" if value > 0 else "neg_infinity")
            return float(value)
        if isinstance(value, list):
            return [self._encode(item) for item in value]
        if isinstance(value, tuple):
            return tagged("tuple", elements=[self._encode(item) for item in value])
        if isinstance(value, dict):
            if all(type(key) is str for key in value):
                return {key: self._encode(item) for key, item in value.items()}
            return tagged(
                "dict", pairs=[[self._encode(k), self._encode(v)] for k, v in value.items()]
            )
        if isinstance(value, (bytes, bytearray, memoryview)):
            return tagged("bytes", data=base64.b64encode(bytes(value)).decode("ascii"))
        if isinstance(value, frozenset):
            return tagged("frozenset", elements=[self._encode(item) for item in value])
        if isinstance(value, set):
            return tagged("set", elements=[self._encode(item) for item in value])
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
            return self._encode(scalar)
        if self.mode == "value" and callable(getattr(value, "tolist", None)):
            return self._encode(value.tolist())
        return self.make_ref(value)


def _numpy_scalar(value):
    """A numpy scalar's Python value (``numpy.float64(2.0)`` is ``2.0``), without importing
    numpy: a 0-d ``generic`` has ``item()`` and a ``dtype``."""
    kind = type(value)
    if kind.__module__ == "numpy" and hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0:
        item = value.item()
        if type(item) is not kind:
            return item
    return None
