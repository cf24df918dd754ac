"""The worker's gRPC service on grpcio, the transport the runtime's pool uses."""

import hmac
import queue
import threading
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool

from . import PROTOCOL_VERSION
from .dispatch import Failure

SERVICE = "snakebridge.worker.v1.Worker"


def message_classes(descriptor_path):
    """The service's message classes, built from the encoded ``FileDescriptorSet``."""
    with open(descriptor_path, "rb") as handle:
        files = descriptor_pb2.FileDescriptorSet.FromString(handle.read())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    try:
        from google.protobuf.message_factory import GetMessageClass
    except ImportError:  # protobuf < 4.21
        from google.protobuf import message_factory

        GetMessageClass = message_factory.MessageFactory(pool).GetPrototype

    def get(name):
        return GetMessageClass(pool.FindMessageTypeByName("snakebridge.worker.v1." + name))

    return {name: get(name) for name in (
        "ExecuteRequest", "ExecuteResponse", "StreamChunk", "PythonError",
        "HeartbeatRequest", "HeartbeatResponse", "Interaction", "Callback",
    )}


class Service:
    def __init__(self, dispatcher, messages):
        self.dispatcher = dispatcher
        self.m = messages

    def _error(self, failure):
        return self.m["PythonError"](
            type=failure.type_name, message=failure.message, traceback=failure.traceback
        )

    def execute(self, request, context):
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            # Queued past its deadline: the caller has given up, so do not run it.
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline passed before the call started")
        try:
            result = self.dispatcher.execute(request.tool, request.payload)
        except Failure as failure:
            return self.m["ExecuteResponse"](error=self._error(failure))
        return self.m["ExecuteResponse"](result=result)

    def execute_stream(self, request, context):
        chunk = self.m["StreamChunk"]
        try:
            for items in self.dispatcher.stream(request.tool, request.payload):
                yield chunk(items=items)
                if not context.is_active():
                    return
        except Failure as failure:
            yield chunk(error=self._error(failure))

    def interact(self, requests, context):
        """A call whose arguments hold Elixir functions. It runs on a thread of its own, so this
        handler can turn each of its steps into a message and feed it the replies."""
        first = next(requests, None)
        if first is None or first.WhichOneof("step") != "call":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "an interaction starts with its call")
        down, up = queue.Queue(), queue.Queue()

        def run():
            try:
                result = self.dispatcher.interact(first.call.tool, first.call.payload, down.put, up.get)
                down.put(("final", result, None))
            except Failure as failure:
                down.put(("final", None, failure))

        threading.Thread(target=run, name="snakebridge-interaction", daemon=True).start()
        try:
            while True:
                step = down.get()
                yield self._step(step)
                if step[0] == "final":
                    return
                try:
                    reply = next(requests, None)
                except Exception:  # noqa: BLE001 - a cancelled call ends its requests this way
                    reply = None
                if reply is None:
                    return
                up.put(self._reply(reply))
        finally:
            # However the stream ends, a call waiting for the runtime learns it has gone.
            up.put(None)

    def _step(self, step):
        kind, first, second = step
        if kind == "callback":
            return self.m["Interaction"](callback=self.m["Callback"](id=first, args=second))
        if second is not None:
            return self.m["Interaction"](result=self.m["ExecuteResponse"](error=self._error(second)))
        return self.m["Interaction"](result=self.m["ExecuteResponse"](result=first))

    @staticmethod
    def _reply(message):
        kind = message.WhichOneof("step")
        if kind == "call":
            return ("call", message.call.tool, message.call.payload)
        returned = message.returned
        if returned.WhichOneof("outcome") == "error":
            return ("returned", None, (returned.error.type, returned.error.message))
        return ("returned", returned.result, None)

    def heartbeat(self, request, context):
        pid, refs = self.dispatcher.heartbeat()
        return self.m["HeartbeatResponse"](
            nonce=request.nonce, pid=pid, protocol_version=PROTOCOL_VERSION, refs=refs
        )


class Authenticate(grpc.ServerInterceptor):
    """Refuses, with ``UNAUTHENTICATED``, every call without the pool's secret: the socket's
    private directory keeps other users out, and this keeps out whatever reaches it anyway."""

    def __init__(self, token):
        self.expected = b"Bearer " + token

    def intercept_service(self, continuation, details):
        for key, value in details.invocation_metadata or ():
            if key == "authorization":
                given = value.encode("utf-8") if isinstance(value, str) else value
                if hmac.compare_digest(given, self.expected):
                    return continuation(details)
        return _REFUSED


def _refuse(request, context):
    context.abort(grpc.StatusCode.UNAUTHENTICATED, "this worker serves only the pool that started it")


_REFUSED = grpc.unary_unary_rpc_method_handler(_refuse)


def serve(dispatcher, socket, token, threads, max_message_bytes, descriptor_path):
    """Serves on the Unix socket ``socket``, calls only with ``token``, and returns the server."""
    m = message_classes(descriptor_path)
    service = Service(dispatcher, m)

    def handler(kind, method, request, response):
        return kind(
            method,
            request_deserializer=m[request].FromString,
            response_serializer=m[response].SerializeToString,
        )

    handlers = {
        "Execute": handler(
            grpc.unary_unary_rpc_method_handler, service.execute, "ExecuteRequest", "ExecuteResponse"
        ),
        "ExecuteStream": handler(
            grpc.unary_stream_rpc_method_handler, service.execute_stream, "ExecuteRequest", "StreamChunk"
        ),
        "Interact": handler(
            grpc.stream_stream_rpc_method_handler, service.interact, "Interaction", "Interaction"
        ),
        "Heartbeat": handler(
            grpc.unary_unary_rpc_method_handler, service.heartbeat, "HeartbeatRequest", "HeartbeatResponse"
        ),
    }
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="snakebridge"),
        interceptors=(Authenticate(token),),
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 1000),
            ("grpc.http2.max_ping_strikes", 0),
        ],
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_insecure_port("unix:" + socket)
    server.start()
    return server
