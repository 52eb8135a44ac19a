"""The ``blob`` attribute codec: numpy arrays and plain Python values to bytes and back, never pickle.

This package's entry points load numpy (through :mod:`.format`) the first time a blob is encoded
or decoded, so importing the runtime stays cheap for pipelines that never touch a blob.
"""

from __future__ import annotations

from relflow_gen.runtime.blob.io import BlobError

__all__ = ["BlobError", "decode", "encode", "encode_parts"]


def encode(value: object) -> bytes:
    """Serialise ``value`` (see :func:`relflow_gen.runtime.blob.format.encode`)."""
    from relflow_gen.runtime.blob import format  # deferred: numpy

    return format.encode(value)


def encode_parts(value: object) -> list[bytes | bytearray | memoryview]:
    """Serialise ``value`` as pieces (see :func:`relflow_gen.runtime.blob.format.encode_parts`)."""
    from relflow_gen.runtime.blob import format  # deferred: numpy

    return format.encode_parts(value)


def decode(data: bytes | bytearray | memoryview) -> object:
    """Deserialise a blob (see :func:`relflow_gen.runtime.blob.format.decode`)."""
    from relflow_gen.runtime.blob import format  # deferred: numpy

    return format.decode(data)
