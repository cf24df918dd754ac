"""The worker's payload contract, on the dispatcher itself: `python3 -m unittest discover -s python/tests`."""

import datetime
import json
import math
import os
import sys
import types
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from snakebridge_worker import PROTOCOL_VERSION  # noqa: E402
from snakebridge_worker.codec import Atom, DecodeError, Encoder, decode, tagged  # noqa: E402
from snakebridge_worker.dispatch import Dispatcher, Failure  # noqa: E402


def payload(**fields):
    base = {"protocol_version": PROTOCOL_VERSION, "library": "math", "python_module": "math",
            "call_type": "function", "args": [], "kwargs": {}, "session_id": "s", "returns": "auto"}
    base.update(fields)
    return json.dumps(base).encode()


def no_refs(_):
    raise AssertionError("no reference expected")


class Codec(unittest.TestCase):
    def round_trip(self, value):
        encoded = Encoder("auto", lambda obj: self.fail("made a ref for {!r}".format(obj))).encode(value)
        return decode(json.loads(json.dumps(encoded, allow_nan=False)), no_refs)

    def test_values_survive(self):
        for value in [None, True, 3, -2**70, 2.5, "é", [1, [2]], {"a": (1, 2)}, (1,), b"\x00\xff",
                      {1, 2}, frozenset({"x"}), {(1, 2): "pair", 3: None}, complex(1, -1), Atom("ok")]:
            self.assertEqual(self.round_trip(value), value)
            self.assertIs(type(self.round_trip(value)), type(value))

    def test_dates_and_times(self):
        naive = datetime.datetime(2026, 11, 28, 5, 19, 10, 250)
        for value in [datetime.date(2026, 11, 28), datetime.time(23, 59, 1, 7), naive]:
            self.assertEqual(self.round_trip(value), value)
            self.assertIs(type(self.round_trip(value)), type(value))
        # Aware datetimes travel in UTC: the same instant.
        paris = datetime.timezone(datetime.timedelta(hours=1))
        aware = datetime.datetime(2026, 11, 28, 6, 0, tzinfo=paris)
        back = self.round_trip(aware)
        self.assertEqual(back, aware)
        self.assertEqual(back.utcoffset(), datetime.timedelta(0))
        self.assertEqual((back.hour, back.day), (5, 28))

    def test_special_floats(self):
        self.assertEqual(self.round_trip(math.inf), math.inf)
        self.assertTrue(math.isnan(self.round_trip(math.nan)))

    def test_bool_is_not_an_int(self):
        self.assertIs(self.round_trip(True), True)

    def test_atoms_are_strings(self):
        self.assertEqual(Atom("mean"), "mean")
        self.assertEqual(repr(Atom("mean")), ":mean")

    def test_objects_become_refs_container_by_container(self):
        made = []
        encoder = Encoder("auto", lambda obj: made.append(obj) or tagged("ref", id=str(len(made))))
        self.assertEqual(encoder.encode([object, 1])[1], 1)
        self.assertEqual(made, [object])
        self.assertEqual(Encoder("ref", lambda obj: "ref").encode([1]), "ref")

    def test_unknown_tags_are_errors(self):
        with self.assertRaises(DecodeError):
            decode({"__type__": "nope", "__schema__": 1}, no_refs)


class Dispatch(unittest.TestCase):
    def setUp(self):
        self.dispatcher = Dispatcher()

    def call(self, **fields):
        return json.loads(self.dispatcher.execute("snakebridge.call", payload(**fields)))

    def failure(self, tool="snakebridge.call", body=None, **fields):
        with self.assertRaises(Failure) as raised:
            self.dispatcher.execute(tool, body if body is not None else payload(**fields))
        return raised.exception

    def test_a_call(self):
        self.assertEqual(self.call(function="sqrt", args=[16]), 4.0)
        self.assertEqual(self.call(call_type="module_attr", attr="pi"), math.pi)

    def test_protocol_version_is_checked(self):
        error = self.failure(protocol_version=99)
        self.assertEqual(error.type_name, "snakebridge.ProtocolError")
        self.assertIn("different releases", error.message)

    def test_bad_payloads_say_what_is_wrong(self):
        self.assertEqual(self.failure(body=b"{").type_name, "snakebridge.ProtocolError")
        self.assertIn("unknown call_type", self.failure(call_type="teleport").message)
        self.assertIn("unknown tool", self.failure(tool="snakebridge.nope").message)
        self.assertIn("needs instance", self.failure(call_type="method", function="f").message)

    def test_exceptions_are_data_without_worker_frames(self):
        error = self.failure(python_module="json", function="loads", args=["{bad"])
        self.assertEqual(error.type_name, "json.decoder.JSONDecodeError")
        self.assertNotIn("dispatch.py", error.traceback)
        self.assertIn("json", error.traceback)

    def test_refs_belong_to_their_session(self):
        ref = self.call(python_module="collections", call_type="class", **{"class": "Counter"}, args=["abca"])
        self.assertEqual(ref["__type__"], "ref")
        self.assertEqual(self.call(call_type="method", instance=ref, function="most_common", args=[1]),
                         [{"__type__": "tuple", "__schema__": 1, "elements": ["a", 2]}])
        error = self.failure(call_type="method", instance=ref, function="total", session_id="other")
        self.assertEqual(error.type_name, "snakebridge.SessionMismatchError")
        released = self.dispatcher.execute("snakebridge.release_session", payload())
        self.assertEqual(json.loads(released), 1)
        self.assertIn("was released", self.failure(call_type="method", instance=ref, function="total").message)

    def test_results_over_the_size_limit_fail_as_they_are_encoded(self):
        dispatcher = Dispatcher(max_bytes=1000)
        error = self.failure_of(dispatcher, python_module="operator", function="mul", args=["x", 10**6])
        self.assertEqual(error.type_name, "snakebridge.TooLargeError")
        self.assertIn("max_message_bytes", error.message)

    def test_values_past_max_depth_are_refused_by_name(self):
        dispatcher = Dispatcher(max_depth=10)
        deep = 1
        for _ in range(11):
            deep = [deep]
        error = self.failure_of(dispatcher, python_module="builtins", function="len", args=[deep])
        self.assertEqual(error.type_name, "snakebridge.TooDeepError")
        self.assertIn("max_depth", error.message)
        error = self.failure_of(dispatcher, python_module="builtins", function="eval", args=["[" * 20 + "]" * 20])
        self.assertEqual(error.type_name, "snakebridge.TooDeepError")

    def test_one_session_cannot_hold_every_reference(self):
        dispatcher = Dispatcher(session_ref_limit=2)
        make = dict(python_module="builtins", function="object")
        for _ in range(2):
            dispatcher.execute("snakebridge.call", payload(**make))
        error = self.failure_of(dispatcher, **make)
        self.assertEqual(error.type_name, "snakebridge.TooManyRefsError")
        self.assertIn("max_session_refs", error.message)
        dispatcher.execute("snakebridge.call", payload(session_id="other", **make))

    def test_text_with_lone_surrogates_travels_as_its_bytes(self):
        result = json.loads(self.dispatcher.execute(
            "snakebridge.call", payload(python_module="os", function="fsdecode", args=[{"__type__": "bytes", "__schema__": 1, "data": "Y2Fm6Q=="}])))
        self.assertEqual(result, {"__type__": "bytes", "__schema__": 1, "data": "Y2Fm6Q=="})

    def failure_of(self, dispatcher, **fields):
        with self.assertRaises(Failure) as raised:
            dispatcher.execute("snakebridge.call", payload(**fields))
        return raised.exception

    def test_streams_batch_by_count(self):
        dispatcher = Dispatcher(stream_batch=4, stream_flush_seconds=60)
        chunks = [json.loads(c) for c in dispatcher.stream(
            "snakebridge.stream", payload(python_module="builtins", function="range", args=[10]))]
        self.assertEqual(chunks, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])


if __name__ == "__main__":
    unittest.main()


def _callback_fixture():
    """A module of functions that take callables, importable by the dispatcher."""
    module = types.ModuleType("callback_fixture")
    kept = []
    module.apply = lambda function, *args: function(*args)
    module.keep = lambda function: kept.append(function) or len(kept)
    module.call_kept = lambda: kept[-1]()

    def caught(function):
        try:
            function()
        except Exception as error:  # noqa: BLE001 - the test looks at whatever it was
            return [type(error).__name__, str(error), getattr(error, "elixir_type", None)]
        return None

    module.caught = caught
    sys.modules["callback_fixture"] = module


_callback_fixture()


def callback(number, arity=1):
    return {"__type__": "callback", "id": number, "arity": arity}


class Callbacks(unittest.TestCase):
    """An interactive call's steps, with the runtime's side played by a list of replies."""

    def interact(self, function, args, replies):
        sent, pending = [], list(replies)
        result = Dispatcher().interact(
            "snakebridge.call",
            payload(library="callback_fixture", python_module="callback_fixture", function=function, args=args),
            sent.append,
            lambda: pending.pop(0) if pending else None,
        )
        return json.loads(result), [(s[0], s[1], json.loads(s[2]) if isinstance(s[2], bytes) else s[2]) for s in sent]

    def test_python_calls_back_and_gets_the_elixir_result(self):
        result, sent = self.interact("apply", [callback(1), 20], [("returned", b"[1, {\"a\": null}]", None)])
        self.assertEqual(result, [1, {"a": None}])
        self.assertEqual(sent, [("callback", 1, [20])])

    def test_a_call_made_during_a_callback_runs_nested_and_answers_first(self):
        nested = payload(library="math", python_module="math", function="sqrt", args=[16])
        result, sent = self.interact(
            "apply", [callback(1), 2], [("call", "snakebridge.call", nested), ("returned", b"7", None)]
        )
        self.assertEqual(result, 7)
        self.assertEqual(sent, [("callback", 1, [2]), ("result", b"4.0", None)])

    def test_an_elixir_exception_is_raised_in_python_with_its_message(self):
        result, _ = self.interact("caught", [callback(1, 0)], [("returned", None, ("ArgumentError", "no such thing"))])
        self.assertEqual(result, ["ElixirError", "no such thing", "ArgumentError"])

    def test_a_caller_that_went_away_fails_the_callback(self):
        result, _ = self.interact("caught", [callback(1, 0)], [])
        self.assertEqual(result[0], "ElixirError")
        self.assertIn("went away", result[1])

    def test_a_callable_kept_past_its_call_refuses_clearly(self):
        self.interact("keep", [callback(1, 0)], [])
        with self.assertRaises(Failure) as raised:
            Dispatcher().execute("snakebridge.call", payload(library="callback_fixture",
                                                             python_module="callback_fixture", function="call_kept"))
        self.assertEqual(raised.exception.type_name, "snakebridge.ElixirError")
        self.assertIn("after the call it was passed to returned", raised.exception.message)

    def test_callbacks_outside_an_interaction_are_refused(self):
        with self.assertRaises(Failure) as raised:
            Dispatcher().execute("snakebridge.call", payload(library="callback_fixture", python_module="callback_fixture",
                                                             function="apply", args=[callback(3, 0)]))
        self.assertIn("outside an interactive call", raised.exception.message)


class ContextManagers(unittest.TestCase):
    def test_enter_and_exit_with_and_without_an_elixir_exception(self):
        dispatcher = Dispatcher()
        lock = json.loads(dispatcher.execute("snakebridge.call", payload(
            library="contextlib", python_module="contextlib", function="suppress", returns="ref")))
        enter = payload(library="contextlib", python_module="contextlib", call_type="context_enter", instance=lock)
        dispatcher.execute("snakebridge.call", enter)
        details = {"type": "ArgumentError", "message": "boom"}
        leave = payload(library="contextlib", python_module="contextlib", call_type="context_exit",
                        instance=lock, args=[details])
        # `suppress()` of nothing suppresses nothing: `__exit__` returns false.
        self.assertEqual(json.loads(dispatcher.execute("snakebridge.call", leave)), False)
        leave_clean = payload(library="contextlib", python_module="contextlib", call_type="context_exit",
                              instance=lock, args=[None])
        self.assertEqual(json.loads(dispatcher.execute("snakebridge.call", leave_clean)), False)
