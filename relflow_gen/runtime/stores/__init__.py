"""Object stores: large values kept outside the database (docs/stores.md).

``blob@NAME``, ``attach@NAME``, ``filepath@NAME`` and ``object@NAME``
attributes keep a small reference in the row; the bytes live in a store, a
file system or S3 bucket reached through fsspec (imported only when a store is
used).
"""

from relflow_gen.runtime.stores.config import StoreConfig, configs_from, configs_from_pyproject, find_pyproject
from relflow_gen.runtime.stores.errors import ObjectCorruptError, ObjectMissingError, StoreConfigError, StoreError
from relflow_gen.runtime.stores.refs import Stored, StoreRef
from relflow_gen.runtime.stores.registry import Stores, StoreValueError
from relflow_gen.runtime.stores.store import Store

__all__ = [
    "ObjectCorruptError",
    "ObjectMissingError",
    "Store",
    "StoreConfig",
    "StoreConfigError",
    "StoreError",
    "StoreRef",
    "StoreValueError",
    "Stored",
    "Stores",
    "configs_from",
    "configs_from_pyproject",
    "find_pyproject",
]
