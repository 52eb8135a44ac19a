"""Tags, flags and fixed layouts of a blob body (``docs/blob-format.md``, "Values").

Every value starts with a one-byte ASCII tag that fixes its exact Python type. These constants
are shared by :mod:`blob_encode` and :mod:`blob_decode`; the doc's tag table is checked against
them by the tests.
"""

from __future__ import annotations

import struct

TAG_NONE = ord("N")
TAG_TRUE = ord("T")
TAG_FALSE = ord("F")
TAG_INT = ord("i")
TAG_FLOAT = ord("f")
TAG_COMPLEX = ord("c")
TAG_STR = ord("s")
TAG_BYTES = ord("b")
TAG_BYTEARRAY = ord("B")
TAG_LIST = ord("l")
TAG_TUPLE = ord("t")
TAG_DICT = ord("d")
TAG_SET = ord("e")
TAG_FROZENSET = ord("E")
TAG_DATE = ord("D")
TAG_TIME = ord("H")
TAG_DATETIME = ord("M")
TAG_TIMEDELTA = ord("R")
TAG_UUID = ord("u")
TAG_DECIMAL = ord("m")
TAG_NP_SCALAR = ord("a")
TAG_NP_ARRAY = ord("A")
TAG_NP_OBJECT_ARRAY = ord("O")

ARRAY_FORTRAN = 0x01  # data (or elements) in column-major order; the decoded array is F-contiguous
ARRAY_RECARRAY = 0x02  # the value is a numpy.recarray

TZ_NONE = 0
TZ_OFFSET = 1  # datetime.timezone(offset)
TZ_NAMED_OFFSET = 2  # datetime.timezone(offset, name)

F64 = struct.Struct("<d")
C128 = struct.Struct("<dd")
DATE = struct.Struct("<HBB")  # year, month, day
TIME = struct.Struct("<BBBIB")  # hour, minute, second, microsecond, fold
DATETIME = struct.Struct("<HBBBBBIB")  # year, month, day, hour, minute, second, microsecond, fold
TIMEDELTA = struct.Struct("<iii")  # days, seconds, microseconds (normalised as timedelta keeps them)
OFFSET = struct.Struct("<q")  # UTC offset in microseconds

MAX_NDIM = 64  # numpy 2's limit
MAX_BYTES = (1 << 63) - 1  # numpy refuses arrays whose shape times itemsize exceeds this
