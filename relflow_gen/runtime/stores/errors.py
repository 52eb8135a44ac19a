"""Exceptions of the object-store layer (all under :class:`relflow_gen.core.errors.RelflowError`)."""

from __future__ import annotations

from relflow_gen.core.errors import RelflowError


class StoreError(RelflowError):
    """An object store cannot be used: not configured, unreachable, or refused an operation."""


class StoreConfigError(StoreError):
    """A store configuration is missing or wrong (named store, bad URL, credentials in the wrong place)."""


class ObjectMissingError(StoreError):
    """A row refers to an object that is not in its store."""


class ObjectCorruptError(StoreError):
    """An object's size or sha256 differs from what its row recorded."""
