"""``python -m snakebridge_worker``: start a worker and announce it.

The worker serves on the Unix socket ``--socket`` names, inside the runtime's private (0700)
directory, and refuses every call that does not carry the pool's secret, which arrives as the
first line on stdin (never in argv or the environment, where other users can read it). The first
line on stdout is ``READY protocol=1 transport=grpc pid=<pid>``; after it, stdout is closed and
file descriptor 1 points at stderr, so a library that prints cannot corrupt the protocol or
block on a pipe nobody reads. The worker exits when stdin reaches end-of-file: its parent, the
runtime, has gone, and an orphan must not outlive it.

``--transport native`` serves the same service from Rust inside this process (the
``snakebridge_native`` extension, when the runtime provides it) instead of grpcio.
``--transport pipe`` serves the dispatcher over length-prefixed frames on stdin/stdout; the
runtime's benchmarks measure it as the floor gRPC is compared against.
"""

import argparse
import importlib
import json
import os
import signal
import struct
import sys
import threading

from . import PROTOCOL_VERSION
from .dispatch import Dispatcher, Failure, log


def main(argv=None):
    parser = argparse.ArgumentParser(prog="snakebridge_worker")
    parser.add_argument("--transport", choices=("grpc", "native", "pipe"), default="grpc")
    parser.add_argument("--socket", help="the Unix socket to serve on (grpc and native)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--max-message-bytes", type=int, default=64 * 1024 * 1024)
    parser.add_argument("--max-depth", type=int, default=256)
    parser.add_argument("--descriptor", default=os.path.join(os.path.dirname(__file__), "worker_descriptor.bin"))
    parser.add_argument("--ref-limit", type=int, default=100_000)
    parser.add_argument("--session-ref-limit", type=int, default=None)
    parser.add_argument("--preload", action="append", default=[])
    options = parser.parse_args(argv)
    if options.transport != "pipe" and not options.socket:
        parser.error("--socket is required with --transport {}".format(options.transport))
    # Decoding and encoding recurse once or twice per level of nesting.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * options.max_depth + 200))

    # The protocol keeps the real stdout; everything else written to fd 1 goes to stderr.
    protocol = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    token = b""
    if options.transport != "pipe":
        token = sys.stdin.buffer.readline().strip()
        if not token:
            raise RuntimeError("no secret on stdin: the worker is started by the snakebridge runtime")

    for module in options.preload:
        importlib.import_module(module)
    dispatcher = Dispatcher(
        ref_limit=options.ref_limit,
        session_ref_limit=options.session_ref_limit,
        max_bytes=options.max_message_bytes,
        max_depth=options.max_depth,
    )

    def announce(pid):
        line = "READY protocol={} transport={} pid={}\n".format(PROTOCOL_VERSION, options.transport, pid)
        protocol.write(line.encode("ascii"))
        protocol.close()

    if options.transport == "pipe":
        protocol.write("READY protocol={} transport=pipe pid={}\n".format(PROTOCOL_VERSION, os.getpid()).encode())
        serve_pipe(dispatcher, protocol)
        return

    if options.transport == "native":
        import snakebridge_native

        server = snakebridge_native.start(
            dispatcher, options.socket, token, options.max_message_bytes, options.threads
        )
        announce(os.getpid())
        stop_server = server.stop
    else:
        from .grpc_server import serve

        server = serve(
            dispatcher, options.socket, token, options.threads, options.max_message_bytes, options.descriptor
        )
        announce(os.getpid())
        stop_server = lambda: server.stop(grace=1).wait()  # noqa: E731
    stop = threading.Event()
    watch_parent(stop)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    stop_server()
    # Calls may still run in other threads: finalizing the interpreter under them aborts
    # ("PyGILState_Release"), so leave without it.
    sys.stderr.flush()
    os._exit(0)


def watch_parent(stop):
    """Stops the worker when stdin closes: the runtime exited or was killed."""

    def watch():
        try:
            while sys.stdin.buffer.read(65536):
                pass
        finally:
            stop.set()
            # A call stuck in C code would keep a graceful stop waiting forever.
            threading.Timer(3.0, lambda: os._exit(0)).start()

    threading.Thread(target=watch, name="snakebridge-parent-watch", daemon=True).start()


def serve_pipe(dispatcher, protocol):
    """Frames: a 4-byte big-endian length, then ``tool\\n`` and the payload JSON. Replies: the
    length, one status byte (0 result, 1 error), then JSON."""
    source = sys.stdin.buffer
    while True:
        header = source.read(4)
        if len(header) < 4:
            return
        (length,) = struct.unpack(">I", header)
        tool, _, payload = source.read(length).partition(b"\n")
        try:
            body = b"\x00" + dispatcher.execute(tool.decode("utf-8"), payload)
        except Failure as failure:
            body = b"\x01" + json.dumps(
                {"type": failure.type_name, "message": failure.message, "traceback": failure.traceback}
            ).encode("utf-8")
        protocol.write(struct.pack(">I", len(body)) + body)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # start-up failure: say why on stderr, exit non-zero
        log("failed to start: {}: {}".format(type(exc).__name__, exc))
        sys.exit(1)
