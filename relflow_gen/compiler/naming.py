"""Names: naming conventions and the SQL names of tables.

Table names are CamelCase, attribute and schema names snake_case.  SQL table
names follow DataJoint's convention so that DataJoint users find their tables
where they expect them: the snake_case name with a tier prefix (``#`` lookup,
none for manual, ``_`` imported, ``__`` computed); a part table is named
``<master's SQL name>__<snake_case(part)>``.  The generator's validator and
its emitter both use :func:`sql_table_name`, so the checked name is the
emitted one.
"""

from __future__ import annotations

import re

from relflow_gen.compiler.ir import Table, Tier

#: MySQL's limit for table, column and database names.
MAX_IDENTIFIER = 64

CAMEL_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SNAKE_RE = re.compile(r"^[a-z][a-z0-9_]*$")

TIER_PREFIX: dict[Tier, str] = {
    Tier.LOOKUP: "#",
    Tier.MANUAL: "",
    Tier.IMPORTED: "_",
    Tier.COMPUTED: "__",
    Tier.PART: "",
}


def is_camel_case(name: str) -> bool:
    return CAMEL_RE.match(name) is not None


def is_snake_case(name: str) -> bool:
    return SNAKE_RE.match(name) is not None


def snake_case(name: str) -> str:
    """``FilteredRecording`` -> ``filtered_recording`` (DataJoint's rule).

    Every upper-case letter after the first character starts a new word, so
    ``ABTest`` becomes ``a_b_test`` exactly as DataJoint names it.  An
    underscore already in front of a capital is not doubled, which makes the
    function usable to suggest names for input that is not CamelCase.
    """
    out: list[str] = []
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0 and name[i - 1] != "_":
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def camel_case(name: str) -> str:
    """``filtered_recording`` -> ``FilteredRecording`` (for hints)."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
    return "".join(w[0].upper() + w[1:] for w in words)


def suggest_snake(name: str) -> str:
    """A snake_case spelling of any identifier, for hints (``sessionID`` -> ``session_id``)."""
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", spaced)
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]
    out = "_".join(w.lower() for w in words)
    if out and not out[0].isalpha():
        out = "x_" + out
    return out


def suggest_camel(name: str) -> str:
    """A CamelCase spelling of any identifier, for hints."""
    out = camel_case(suggest_snake(name))
    return out if out else name


def sql_table_name(table: Table, tables: dict[str, Table] | None = None) -> str:
    """The SQL name of a table, e.g. ``#species``, ``_recording``, ``session__trial``.

    ``tables`` maps full names (``lab.Session``) to tables; it is needed to find
    the tier of a part's master.  Without it, or when the master is unknown, the
    master is named as if it were a manual table.
    """
    if table.master is None:
        return TIER_PREFIX[table.tier] + snake_case(table.short_name)
    seen: set[str] = {table.full_name}
    chain = [snake_case(table.short_name)]
    master_name: str | None = table.master
    prefix = ""
    while master_name is not None:
        full = f"{table.schema}.{master_name}"
        master = tables.get(full) if tables is not None else None
        if master is None or full in seen:
            chain.extend(snake_case(c) for c in reversed(master_name.split(".")))
            break
        seen.add(full)
        chain.append(snake_case(master.short_name))
        prefix = TIER_PREFIX[master.tier]
        master_name = master.master
    return prefix + "__".join(reversed(chain))
