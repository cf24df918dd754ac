"""The Python side of the snakebridge runtime: a worker process serving calls into the
project's Python libraries.

The runtime (``snakebridge runtime serve``, or the Rust ``snakebridge-runtime`` crate) writes
this package into a private directory and starts ``python -m snakebridge_worker``. Standard
library plus ``grpcio`` and ``protobuf``; message classes are built at start from the
descriptor the runtime compiled from ``runtime/proto``, so no generated stubs are involved.
"""

PROTOCOL_VERSION = 1

from .dispatch import ElixirError  # noqa: E402 - dispatch reads PROTOCOL_VERSION above

__all__ = ["ElixirError", "PROTOCOL_VERSION"]
