"""Schema evolution: what differs between the database and the schema, and the migration.

:func:`diff` lists the differences (SAFE, DATA, KEY); :func:`migrate` applies
them per backend; :func:`drift` is the short check every data command runs first.
See docs/evolving.md.
"""

from relflow_gen.runtime.evolve.diff import DATA, KEY, SAFE, Change, SchemaDiff, diff
from relflow_gen.runtime.evolve.migrate import MigrationPlan, apply, migrate, parse_fills, plan, refusal_text

__all__ = [
    "DATA",
    "KEY",
    "SAFE",
    "Change",
    "MigrationPlan",
    "SchemaDiff",
    "apply",
    "diff",
    "migrate",
    "parse_fills",
    "plan",
    "refusal_text",
]
