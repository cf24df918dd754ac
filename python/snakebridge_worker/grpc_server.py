"""The worker's gRPC service on grpcio, the transport the runtime's pool uses."""

import os
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
        "HeartbeatRequest", "HeartbeatResponse",
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
        return self.m["ExecuteResponse"](result=result.encode("utf-8"))

    def execute_stream(self, request, context):
        chunk = self.m["StreamChunk"]
        try:
            for items in self.dispatcher.stream(request.tool, request.payload):
                yield chunk(items=items.encode("utf-8"))
                if not context.is_active():
                    return
        except Failure as failure:
            yield chunk(error=self._error(failure))

    def heartbeat(self, request, context):
        pid, refs = self.dispatcher.heartbeat()
        return self.m["HeartbeatResponse"](
            nonce=request.nonce, pid=pid, protocol_version=PROTOCOL_VERSION, refs=refs
        )


def serve(dispatcher, port, threads, max_message_bytes, descriptor_path, ready):
    """Binds loopback, calls ``ready(port)`` once serving, and returns the server."""
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
        "Heartbeat": handler(
            grpc.unary_unary_rpc_method_handler, service.heartbeat, "HeartbeatRequest", "HeartbeatResponse"
        ),
    }
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="snakebridge"),
        options=[
            # grpcio binds with SO_REUSEPORT by default: a second worker on the same port would
            # silently share connections, and references with them.
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 1000),
            ("grpc.http2.max_ping_strikes", 0),
        ],
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    bound = server.add_insecure_port("127.0.0.1:{}".format(port))
    server.start()
    ready(bound, os.getpid())
    return server
