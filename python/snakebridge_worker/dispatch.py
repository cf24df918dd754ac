"""The payload contract: what each tool and call type does, and the worker's object references.

A payload is a JSON object with ``protocol_version``, ``library``, ``python_module``,
``function``, ``args``, ``kwargs``, ``call_type`` and ``session_id``; per call type also
``class``, ``instance`` and ``attr``, and ``returns`` (auto, value or ref). The transport
(gRPC, or the benchmark's pipe) only moves bytes: everything here is the same for both.
"""

import importlib
import itertools
import json
import os
import reprlib
import sys
import threading
import time
import traceback

from . import PROTOCOL_VERSION
from .codec import Encoder, decode, surrogate_bytes, tagged

CALL_TYPES = (
    "function",
    "class",
    "method",
    "get_attr",
    "set_attr",
    "module_attr",
    "context_enter",
    "context_exit",
)


class ElixirError(Exception):
    """An exception raised on the Elixir side, as Python sees it: by a callback, or by the
    block of `SnakeBridge.with_python/2` (given to `__exit__`). ``elixir_type`` names the
    Elixir exception module (`"ArgumentError"`) or the kind of a throw or exit."""

    def __init__(self, message, elixir_type="RuntimeError"):
        super().__init__(message)
        self.elixir_type = elixir_type


# Errors name it as `snakebridge_worker.ElixirError`, where Python code imports it from.
ElixirError.__module__ = "snakebridge_worker"


class SnakeBridgeError(Exception):
    """Base of the errors the worker raises about a payload rather than user code."""


class ProtocolError(SnakeBridgeError):
    """A payload this worker cannot read: wrong protocol version, missing key, bad value."""


class RefNotFoundError(SnakeBridgeError, LookupError):
    """A reference that was released, or whose worker is gone."""


class SessionMismatchError(SnakeBridgeError):
    """A reference used in a session other than the one that created it."""


class TooManyRefsError(SnakeBridgeError):
    """The worker, or one session on it, holds as many live references as it may."""


class Exchange:
    """The worker's half of an interactive call: one whose arguments hold Elixir functions.

    The transport gives ``send(step)`` and ``receive()``; steps alternate strictly, since both
    sides run one thing at a time. Down (to the runtime): ``("callback", id, args_json)`` when
    Python calls an Elixir function, and ``("result", json, failure)`` for a call the runtime
    sent during a callback. Up: ``("returned", json, error)`` for the callback's outcome, where
    ``error`` is ``(elixir_type, message)``, and ``("call", tool, payload)`` for a call the
    Elixir function makes into Python before it returns, which runs here, nested, on this
    thread. ``receive()`` returns ``None`` when the caller has gone.
    """

    def __init__(self, dispatcher, send, receive):
        self.dispatcher = dispatcher
        self.send = send
        self.receive = receive
        self.thread = threading.get_ident()

    def callback(self, callback_id, args_json):
        """Runs Elixir function ``callback_id`` on ``args_json``; returns its JSON result."""
        self.send(("callback", callback_id, args_json))
        while True:
            step = self.receive()
            if step is None:
                raise ElixirError("the Elixir caller went away during the callback", "exit")
            if step[0] == "returned":
                _, result, error = step
                if error is not None:
                    raise ElixirError(error[1], error[0])
                return result
            if step[0] != "call":
                raise ProtocolError("unexpected step {!r} during a callback".format(step[0]))
            _, tool, payload = step
            try:
                self.send(("result", self.dispatcher.execute(tool, payload, self), None))
            except Failure as failure:
                self.send(("result", None, failure))


class ElixirFunction:
    """An Elixir function passed to Python: calling it runs the function in the Elixir process
    that made the call, and returns its result. It works only while that call runs, and only on
    the thread running it."""

    __slots__ = ("_id", "_arity", "_exchange", "_dispatcher", "_payload", "_live")

    def __init__(self, callback_id, arity, exchange, dispatcher, payload, live):
        self._id = callback_id
        self._arity = arity
        self._exchange = exchange
        self._dispatcher = dispatcher
        self._payload = payload
        self._live = live

    def __repr__(self):
        return "<Elixir function of arity {}>".format(self._arity)

    def __call__(self, *args, **kwargs):
        if not self._live[0]:
            raise ElixirError(
                "an Elixir function was called after the call it was passed to returned; "
                "Python may only call it during that call",
                "SnakeBridge.CallbackExpired",
            )
        if threading.get_ident() != self._exchange.thread:
            raise ElixirError(
                "an Elixir function was called from another Python thread; only the thread "
                "running the call it was passed to may call it",
                "SnakeBridge.CallbackThread",
            )
        if kwargs:
            raise TypeError("an Elixir function takes positional arguments only")
        encoder = self._dispatcher._encoder(self._payload)
        result = self._exchange.callback(self._id, self._dispatcher._dump(encoder.encode(list(args)), encoder))
        try:
            value = json.loads(result)
        except ValueError as exc:
            raise ProtocolError("a callback result that is not JSON: {}".format(exc)) from None
        return self._dispatcher._decode(value, self._payload, self._exchange, self._live)


class Failure(Exception):
    """A Python exception as data: what travels back instead of a result."""

    def __init__(self, type_name, message, traceback_text):
        super().__init__(message)
        self.type_name = type_name
        self.message = message
        self.traceback = traceback_text


def describe(exc, skip_frames=0):
    """A ``Failure`` for an exception: qualified type, message, and the traceback without the
    worker's own frames."""
    kind = type(exc)
    module = kind.__module__
    if module == "builtins":
        name = kind.__qualname__
    elif module.startswith("snakebridge_worker"):
        name = "snakebridge." + kind.__qualname__
    else:
        name = module + "." + kind.__qualname__
    frames = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    text = "".join(traceback.format_list(frames))
    text += "".join(traceback.format_exception_only(kind, exc))
    return Failure(name, str(exc), text)


# Sessions remembered as ended, so a reference of one says why it is gone; the oldest are
# forgotten first.
ENDED_SESSIONS = 100_000


class Refs:
    """Objects handed out by reference, per session. Ids carry the worker's pid so a reference
    from a worker that has since restarted is recognised as such. ``limit`` bounds the worker's
    references, ``session_limit`` one session's, so one leaking process cannot use up every
    other session's room."""

    def __init__(self, limit, session_limit=None):
        self.limit = limit
        self.session_limit = session_limit if session_limit is not None else limit
        self.lock = threading.Lock()
        self.objects = {}
        self.per_session = {}
        self.ended = {}
        self.counter = itertools.count(1)
        self.prefix = "{}-".format(os.getpid())

    def put(self, obj, session, library):
        with self.lock:
            held = self.per_session.get(session, 0)
            if held >= self.session_limit:
                raise TooManyRefsError(
                    "session {!r} holds {} live references, the per-session limit; release the "
                    "ones it no longer needs (SnakeBridge.release/1), or raise `max_session_refs` "
                    "in the `[runtime]` table of snakebridge.toml".format(session, held)
                )
            if len(self.objects) >= self.limit:
                raise TooManyRefsError(
                    "this worker holds {} live references, its limit; release references or "
                    "sessions you no longer need, or raise `max_refs` in the `[runtime]` table of "
                    "snakebridge.toml".format(self.limit)
                )
            ref_id = self.prefix + str(next(self.counter))
            self.objects[ref_id] = (session, obj)
            self.per_session[session] = held + 1
        kind = type(obj)
        return tagged(
            "ref",
            id=ref_id,
            session_id=session,
            library=library,
            type_name=kind.__module__ + "." + kind.__qualname__,
        )

    def get(self, ref, session):
        ref_id = ref.get("id")
        with self.lock:
            entry = self.objects.get(ref_id)
        if entry is None:
            if not str(ref_id).startswith(self.prefix):
                raise RefNotFoundError(
                    "reference {} was made by worker {}, which is no longer running (it crashed "
                    "or was restarted); its objects are gone".format(ref_id, str(ref_id).split("-")[0])
                )
            owner = ref.get("session_id")
            if owner in self.ended:
                raise RefNotFoundError(
                    "reference {} was released with its session {!r}: the process that owned it "
                    "exited, or the session was released".format(ref_id, owner)
                )
            raise RefNotFoundError("reference {} was released (SnakeBridge.release/1)".format(ref_id))
        owner, obj = entry
        if owner != session:
            raise SessionMismatchError(
                "reference {} belongs to session {!r} and cannot be used in session {!r}".format(
                    ref_id, owner, session
                )
            )
        return obj

    def release(self, ref_id):
        with self.lock:
            entry = self.objects.pop(ref_id, None)
            if entry is None:
                return False
            self._forget(entry[0], 1)
            return True

    def release_session(self, session):
        with self.lock:
            doomed = [key for key, (owner, _) in self.objects.items() if owner == session]
            for key in doomed:
                del self.objects[key]
            self.per_session.pop(session, None)
            self.ended[session] = True
            if len(self.ended) > ENDED_SESSIONS:
                del self.ended[next(iter(self.ended))]
        return len(doomed)

    def _forget(self, session, count):
        left = self.per_session.get(session, 0) - count
        if left > 0:
            self.per_session[session] = left
        else:
            self.per_session.pop(session, None)

    def __len__(self):
        return len(self.objects)


class Dispatcher:
    """Runs tools on payloads. Every method returns JSON as UTF-8 bytes or raises ``Failure``.

    ``max_bytes`` and ``max_depth`` are the runtime's limits on a result; ``ref_limit`` and
    ``session_ref_limit`` bound the references the worker and each session hold.
    """

    def __init__(
        self,
        ref_limit=100_000,
        stream_batch=100,
        stream_flush_seconds=0.01,
        max_bytes=None,
        max_depth=1000,
        session_ref_limit=None,
    ):
        self.refs = Refs(ref_limit, session_ref_limit)
        self.stream_batch = stream_batch
        self.stream_flush_seconds = stream_flush_seconds
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.resolved = {}
        _die_with_parent_after_fork()

    # Tools.

    def execute(self, tool, payload_json, exchange=None):
        """Runs a tool. With ``exchange`` (an ``Exchange``), Elixir functions among the
        arguments become callables that call back through it."""
        try:
            payload = self._payload(payload_json)
            if tool == "snakebridge.call":
                result = self._call(payload, exchange)
            elif tool == "snakebridge.release_ref":
                ref = payload.get("ref") or {}
                result = _json(self.refs.release(ref.get("id")))
            elif tool == "snakebridge.release_session":
                result = _json(self.refs.release_session(self._session(payload)))
            elif tool == "snakebridge.repr":
                ref = payload.get("ref") or {}
                obj = self.refs.get(ref, ref.get("session_id"))
                result = _json(surrogate_free(bounded_repr(obj, int(payload.get("limit", 80)))))
            else:
                raise ProtocolError("unknown tool {!r}".format(tool))
        except Failure:
            self._forked_child_exits()
            raise
        # A worker never dies from a user's exception, nor from a library calling sys.exit().
        except (Exception, SystemExit) as exc:
            self._forked_child_exits()
            raise describe(exc, skip_frames=_skip(exc)) from None
        self._forked_child_exits()
        return result

    def interact(self, tool, payload_json, send, receive):
        """``execute`` for a call whose arguments hold Elixir functions: they call back through
        the transport's ``send`` and ``receive`` (see ``Exchange``)."""
        return self.execute(tool, payload_json, Exchange(self, send, receive))

    def _forked_child_exits(self):
        """A call that forked returns here in the child too: the child must not answer for the
        worker (its server threads are gone), nor linger."""
        if _forked[0]:
            os._exit(0)

    def stream(self, tool, payload_json):
        """Yields JSON arrays of items, batched by count or time."""
        try:
            if tool != "snakebridge.stream":
                raise ProtocolError("unknown streaming tool {!r}".format(tool))
            payload = self._payload(payload_json)
            source = self._iterable(payload)
            encoder = self._encoder(payload)
            iterator = iter(source)
        except Failure:
            raise
        except (Exception, SystemExit) as exc:
            raise describe(exc, skip_frames=_skip(exc)) from None
        batch = []
        started = 0.0
        while True:
            try:
                item = next(iterator)
            except StopIteration:
                break
            except (Exception, SystemExit) as exc:
                self._forked_child_exits()
                if batch:
                    yield self._dump(batch, encoder)
                raise describe(exc, skip_frames=_skip(exc)) from None
            self._forked_child_exits()
            if not batch:
                started = time.monotonic()
                encoder.budget = self.max_bytes if self.max_bytes is not None else float("inf")
            try:
                batch.append(encoder.encode(item))
            except Exception as exc:
                raise describe(exc) from None
            if (
                len(batch) >= self.stream_batch
                or time.monotonic() - started >= self.stream_flush_seconds
            ):
                yield self._dump(batch, encoder)
                batch = []
        if batch:
            yield self._dump(batch, encoder)

    # Payload pieces.

    def _payload(self, payload_json):
        try:
            payload = json.loads(payload_json)
        except ValueError as exc:
            raise ProtocolError("payload is not JSON: {}".format(exc)) from None
        if not isinstance(payload, dict):
            raise ProtocolError("payload must be a JSON object")
        version = payload.get("protocol_version")
        if version != PROTOCOL_VERSION:
            raise ProtocolError(
                "payload protocol_version {!r}; this worker speaks {}: the snakebridge binary "
                "and its Python worker come from different releases".format(version, PROTOCOL_VERSION)
            )
        return payload

    @staticmethod
    def _session(payload):
        session = payload.get("session_id", "")
        if not isinstance(session, str):
            raise ProtocolError("session_id must be a string")
        return session

    def _encoder(self, payload):
        session = self._session(payload)
        library = payload.get("library", "")
        return Encoder(
            payload.get("returns", "auto"),
            lambda obj: self.refs.put(obj, session, library),
            max_bytes=self.max_bytes,
            max_depth=self.max_depth,
        )

    def _dump(self, value, encoder):
        """``value``'s JSON as bytes, refused over the size limit; a ``str`` that is not
        valid text (lone surrogates) is sent again with such strings as bytes."""
        try:
            data = _JSON.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            data = _JSON.encode(_rebytes(value)).encode("utf-8")
        if encoder.max_bytes is not None and len(data) > encoder.max_bytes:
            encoder.refuse()
        return data

    def _arguments(self, payload, exchange=None, live=None):
        args = self._decode(payload.get("args", []), payload, exchange, live)
        kwargs = self._decode(payload.get("kwargs", {}), payload, exchange, live)
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ProtocolError("args must be a list and kwargs an object")
        return args, {str(key): value for key, value in kwargs.items()}

    def _decode(self, value, payload, exchange, live):
        """Decodes ``value`` in ``payload``'s session; Elixir functions become
        ``ElixirFunction``s calling back through ``exchange``, alive while ``live[0]``."""
        session = self._session(payload)

        def resolve(tagged):
            if tagged.get("__type__") == "ref":
                return self.refs.get(tagged, session)
            if exchange is None:
                raise ProtocolError("an Elixir function outside an interactive call")
            return ElixirFunction(tagged.get("id"), tagged.get("arity"), exchange, self, payload, live)

        return decode(value, resolve, self.max_depth)

    def _module(self, payload):
        """The module the call names, or an object a module holds (``scipy.stats.norm``, an
        instance whose methods are called like a module's functions)."""
        name = payload.get("python_module") or payload.get("library")
        if not name:
            raise ProtocolError("payload names no python_module")
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as error:
            parent, _, attribute = name.rpartition(".")
            if error.name != name or not parent:
                raise
            found = self._module({"python_module": parent})
            if not hasattr(found, attribute):
                raise
            return getattr(found, attribute)

    def _attribute(self, payload, key, within=None):
        """The module attribute ``payload[key]``, a dotted path (below the class ``within``,
        when given), cached per module."""
        path = payload.get(key)
        if not isinstance(path, str) or not path:
            raise ProtocolError("payload needs {} for call_type {}".format(key, payload.get("call_type")))
        if isinstance(within, str) and within:
            path = within + "." + path
        cache_key = (payload.get("python_module") or payload.get("library"), path)
        found = self.resolved.get(cache_key)
        if found is None:
            found = self._module(payload)
            for part in path.split("."):
                found = getattr(found, part)
            self.resolved[cache_key] = found
        return found

    def _instance(self, payload):
        ref = payload.get("instance")
        if not isinstance(ref, dict) or ref.get("__type__") != "ref":
            raise ProtocolError("payload needs instance, a ref, for call_type {}".format(payload.get("call_type")))
        return self.refs.get(ref, self._session(payload))

    def _call(self, payload, exchange=None):
        if payload.get("call_type") == "class" and payload.get("returns", "auto") == "auto":
            # A new instance is wanted as an object, even a dict or list subclass's.
            payload = dict(payload, returns="ref")
        # The Elixir functions this call receives work until it returns.
        live = [True]
        try:
            result = self._invoke(payload, exchange, live)
        finally:
            live[0] = False
        self._forked_child_exits()
        encoder = self._encoder(payload)
        return self._dump(encoder.encode(result), encoder)

    def _invoke(self, payload, exchange=None, live=None):
        """What the payload's call returns, as a Python value."""
        call_type = payload.get("call_type", "function")
        if call_type == "function":
            # A class's function (a classmethod, staticmethod, or a method called with its
            # receiver as the first argument) is looked up on the class.
            function = self._attribute(payload, "function", within=payload.get("class"))
            args, kwargs = self._arguments(payload, exchange, live)
            return function(*args, **kwargs)
        if call_type == "class":
            cls = self._attribute(payload, "class")
            args, kwargs = self._arguments(payload, exchange, live)
            return cls(*args, **kwargs)
        if call_type == "method":
            target = self._instance(payload)
            method = getattr(target, _name(payload, "function"))
            args, kwargs = self._arguments(payload, exchange, live)
            return method(*args, **kwargs)
        if call_type == "get_attr":
            if payload.get("instance") is None:
                # A value that crossed as data (a `Date`) is the one argument.
                args, _ = self._arguments(payload, exchange, live)
                if len(args) != 1:
                    raise ProtocolError("get_attr without an instance takes exactly one argument, the object")
                return getattr(args[0], _name(payload, "attr"))
            return getattr(self._instance(payload), _name(payload, "attr"))
        if call_type == "set_attr":
            target = self._instance(payload)
            args, _ = self._arguments(payload, exchange, live)
            if len(args) != 1:
                raise ProtocolError("set_attr takes exactly one argument, the value")
            setattr(target, _name(payload, "attr"), args[0])
            return None
        if call_type == "module_attr":
            return self._attribute(payload, "attr")
        if call_type == "context_enter":
            target = self._instance(payload)
            return type(target).__enter__(target)
        if call_type == "context_exit":
            target = self._instance(payload)
            args, _ = self._arguments(payload, exchange, live)
            details = args[0] if len(args) == 1 else None
            if not isinstance(details, dict):
                return bool(type(target).__exit__(target, None, None, None))
            error = ElixirError(str(details.get("message", "")), str(details.get("type", "")))
            return bool(type(target).__exit__(target, ElixirError, error, None))
        raise ProtocolError(
            "unknown call_type {!r}; one of {}".format(call_type, ", ".join(CALL_TYPES))
        )

    def _iterable(self, payload):
        if payload.get("call_type") == "iterate":
            return self._instance(payload)
        return self._invoke(payload)

    def heartbeat(self):
        return os.getpid(), len(self.refs)


def _name(payload, key):
    name = payload.get(key)
    if not isinstance(name, str) or not name:
        raise ProtocolError("payload needs {} for call_type {}".format(key, payload.get("call_type")))
    return name


# One encoder for every result: building one per call cost a microsecond of each round trip.
_JSON = json.JSONEncoder(allow_nan=False, ensure_ascii=False, separators=(",", ":"))

# Set in a process a call forked (by the hook below): no system call on every reply to learn it.
_forked = [False]
_forked_hook = [False]


def bounded_repr(obj, limit):
    """A short ``repr`` for showing an object (Elixir's Inspect): built-in containers are cut
    after a few items before their text is built; any other object's own ``__repr__`` runs
    whole. The text is cut at ``limit`` characters."""
    shortened = reprlib.Repr()
    shortened.maxlevel = 3
    shortened.maxstring = shortened.maxother = max(limit, 8)
    text = " ".join(shortened.repr(obj).split())
    return text if len(text) <= limit else text[: max(limit - 3, 1)] + "..."


def surrogate_free(text):
    return text.encode("utf-8", "replace").decode("utf-8")


def _json(value):
    return json.dumps(value, separators=(",", ":")).encode("ascii")


def _rebytes(value):
    """An encoded result with every ``str`` that is not valid text as tagged bytes (a key, which
    must stay text, with U+FFFD instead): the rare path, taken only when the fast one met a
    lone surrogate."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return Encoder("auto", None).encode(surrogate_bytes(value))
    if isinstance(value, list):
        return [_rebytes(item) for item in value]
    if isinstance(value, dict):
        return {
            key.encode("utf-8", "surrogatepass").decode("utf-8", "replace"): _rebytes(item)
            for key, item in value.items()
        }
    return value


def _die_with_parent_after_fork():
    """A process a call forks exits once the worker has: it can never outlive the pool. (The
    kernel's parent-death signal follows the forking thread, not the process, so a thread that
    later ends would take such a child with it; a watcher in the child follows the process.)"""

    def watch(parent):
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    def after_in_child():
        _forked[0] = True
        thread = threading.Thread(target=watch, args=(os.getppid(),), name="snakebridge-fork-watch")
        thread.daemon = True
        thread.start()

    if not _forked_hook[0]:
        _forked_hook[0] = True
        os.register_at_fork(after_in_child=after_in_child)


def _skip(exc):
    """Frames of the worker itself at the top of a traceback: everything up to the first
    frame outside this package (all of them when a C function raised)."""
    frames = traceback.extract_tb(exc.__traceback__)
    here = os.path.dirname(os.path.abspath(__file__))
    skip = 0
    for frame in frames:
        if os.path.dirname(os.path.abspath(frame.filename)) != here:
            break
        skip += 1
    return skip


def log(message):
    sys.stderr.write("snakebridge worker {}: {}\n".format(os.getpid(), message))
    sys.stderr.flush()
