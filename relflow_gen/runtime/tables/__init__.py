"""Table operations: the tier classes of stored tables, insert/fetch/update, cascade delete, declare.

The layer works against a :class:`.host.TableHost` (connection, metadata, tables by name), which the
pipeline implements.
"""
