"""The one exception root and the one set of exit codes of relflow-gen (generator and runtime).

User-facing problems in `.rf` files are :class:`~relflow_gen.compiler.diagnostics.Diagnostic`
values, not exceptions.  Exceptions are for the runtime (bad inserts, missing
rows, database errors), for emitting, and for usage errors of the command line.
Every exception relflow-gen raises on purpose derives from :class:`RelflowError`.

Every command line (``relflow-gen`` and a generated package's ``python -m PKG``)
exits with an :class:`ExitCode`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit status of every relflow-gen command line."""

    #: success: no problems, package up to date, every make() succeeded
    OK = 0
    #: problems found: diagnostics, a stale package, failed make() calls, database errors
    FAILURES = 1
    #: the same status, named for ``check`` / ``format`` / ``build``
    DIAGNOSTICS = 1
    #: bad command line or configuration (nothing was done)
    USAGE = 2
    #: a bug in relflow-gen (please report it with the input that caused it)
    INTERNAL = 123
    #: stopped by Ctrl-C (128 + SIGINT)
    INTERRUPTED = 130


class RelflowError(Exception):
    """Root of every exception relflow-gen raises on purpose."""


class UsageError(RelflowError):
    """A command-line or configuration problem (exit code 2)."""


class ArgumentError(RelflowError, ValueError):
    """A function of the API was called with an argument value it does not accept."""
