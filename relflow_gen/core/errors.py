"""The one exception root of relflow-gen (generator and runtime).

User-facing problems in `.rf` files are :class:`~relflow_gen.compiler.diagnostics.Diagnostic`
values, not exceptions.  Exceptions are for the runtime (bad inserts, missing
rows, database errors) and for usage errors of the command line.
"""

from __future__ import annotations


class RelflowError(Exception):
    """Root of every exception relflow-gen raises on purpose."""


class UsageError(RelflowError):
    """A command-line or configuration problem (exit code 2)."""
