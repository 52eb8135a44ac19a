"""Object stores: large values kept outside the database (docs/stores.md).

``blob@NAME``, ``attach@NAME``, ``filepath@NAME`` and ``object@NAME``
attributes keep a small reference in the row; the bytes live in a store, a
file system or S3 bucket reached through fsspec (imported only when a store is
used).
"""

from __future__ import annotations

from relflow_gen.core.lazy import lazy_attributes, lazy_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from relflow_gen.runtime.stores.config import StoreConfig, configs_from, configs_from_pyproject, find_pyproject
    from relflow_gen.runtime.stores.errors import ObjectCorruptError, ObjectMissingError, StoreConfigError, StoreError
    from relflow_gen.runtime.stores.refs import Stored, StoreRef
    from relflow_gen.runtime.stores.registry import Stores, StoreValueError
    from relflow_gen.runtime.stores.store import Store

#: public names by defining module, imported on first use (PEP 562): a table layer that needs
#: only the store errors does not load hashlib, shutil and tomllib
_LAZY: dict[str, tuple[str, ...]] = {
    "relflow_gen.runtime.stores.config": ("StoreConfig", "configs_from", "configs_from_pyproject", "find_pyproject"),
    "relflow_gen.runtime.stores.errors": ("ObjectCorruptError", "ObjectMissingError", "StoreConfigError", "StoreError"),
    "relflow_gen.runtime.stores.refs": ("Stored", "StoreRef"),
    "relflow_gen.runtime.stores.registry": ("Stores", "StoreValueError"),
    "relflow_gen.runtime.stores.store": ("Store",),
}

__getattr__ = lazy_attributes(__name__, _LAZY)

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

__dir__ = lazy_dir(__name__, __all__)  # dir() lists the names not loaded yet too
