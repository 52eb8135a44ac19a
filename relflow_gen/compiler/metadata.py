"""IR -> runtime metadata (:class:`~relflow_gen.core.meta.SchemaMeta`).

The one translation from what a schema means (the IR) to what the runtime
needs: SQL names, headings with lineage, foreign keys, indexes, Python values
for defaults and lookup contents, tables in topological order.  The emitter
renders the result as literals in the generated package; tests use it
directly to run pipelines without generating code.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import networkx as nx

from relflow_gen.compiler import make_options
from relflow_gen.compiler.ir import Attribute, ContentRow, Project, Table, Value
from relflow_gen.compiler.naming import sql_table_name
from relflow_gen.core.meta import FK, REQUIRED, Attr, Idx, SchemaMeta, SqlDefault, TableMeta
from relflow_gen.core.types import TypeSpec

_DECIMAL_CONTEXT = decimal.Context(prec=80, Emax=999, Emin=-999)


def topological_tables(project: Project) -> list[Table]:
    """All tables, parents before children, ties broken by declaration order."""
    tables = list(project.tables())
    index = {t.full_name: i for i, t in enumerate(tables)}
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(index)
    for t in tables:
        for fk in t.foreign_keys:
            if fk.parent and fk.parent != t.full_name and fk.parent in index:
                graph.add_edge(fk.parent, t.full_name)
    order = nx.lexicographical_topological_sort(graph, key=lambda n: f"{index[n]:08d}")
    by_name = {t.full_name: t for t in tables}
    return [by_name[n] for n in order]


def python_value(spec: TypeSpec, value: Value) -> object:
    """The Python value of a validated literal for an attribute of type ``spec``."""
    if value.kind == "null":
        return None
    if value.kind == "keyword":
        return SqlDefault(str(value.value))
    kind = spec.kind
    v = value.value
    if kind == "int":
        return int(value.text if v is None else v)
    if kind == "float":
        return float(v) if v is not None else None
    if kind == "bool":
        return bool(v)
    if kind == "decimal":
        q = decimal.Decimal(1).scaleb(-int(spec.args[1]))
        # decimal(65, 30) needs more than the default context's 28 digits
        return decimal.Decimal(value.text if value.kind != "str" else str(v)).quantize(q, context=_DECIMAL_CONTEXT)
    if kind == "date":
        return datetime.date.fromisoformat(str(v))
    if kind == "time":
        return datetime.time.fromisoformat(str(v))
    if kind == "datetime":
        return datetime.datetime.fromisoformat(str(v))
    if kind == "uuid":
        return uuid.UUID(str(v))
    if kind in ("str", "enum"):
        return str(v)
    return v


def _default(attr: Attribute) -> object:
    if attr.default is None:
        return REQUIRED
    return python_value(attr.type, attr.default)


def _attr(a: Attribute) -> Attr:
    return Attr(
        name=a.name,
        type=a.type,
        in_key=a.in_key,
        nullable=a.nullable,
        default=_default(a) if a.fk is None else (None if a.nullable else REQUIRED),
        comment=a.comment,
        lineage=a.lineage,
    )


def _contents(table: Table) -> tuple[tuple[object, ...], ...]:
    rows = []
    for row in table.contents:
        rows.append(_content_row(table, row))
    return tuple(rows)


def _content_row(table: Table, row: ContentRow) -> tuple[object, ...]:
    values: dict[str, Value] = {}
    if row.names:
        values = dict(zip(row.names, row.values))
    else:
        values = {a.name: v for a, v in zip(table.attributes, row.values)}
    out: list[object] = []
    for a in table.attributes:
        v = values.get(a.name)
        if v is not None:
            out.append(python_value(a.type, v))
        elif a.default is not None:
            out.append(python_value(a.type, a.default))
        else:
            out.append(None)
    return tuple(out)


def table_meta(table: Table, project: Project, by_name: dict[str, Table] | None = None) -> TableMeta:
    """``by_name`` (every table of ``project`` by full name) is computed when not given."""
    if by_name is None:
        by_name = {t.full_name: t for t in project.tables()}
    schema = table.schema
    return TableMeta(
        schema=schema,
        name=table.name,
        tier=table.tier.value,
        sql_name=sql_table_name(table, by_name),
        attributes=tuple(_attr(a) for a in table.attributes),
        foreign_keys=tuple(
            FK(
                parent=fk.parent,
                attrs=fk.attr_map,
                in_key=fk.in_key,
                nullable=fk.nullable,
                unique=fk.unique,
                renamed=fk.renamed,
                is_master=fk.is_master,
            )
            for fk in table.foreign_keys
            if fk.parent in by_name
        ),
        indexes=tuple(Idx(i.attributes, i.unique) for i in table.indexes),
        master=f"{schema}.{table.master}" if table.master else None,
        parts=tuple(f"{schema}.{p}" for p in table.parts),
        contents=_contents(table),
        doc=table.doc,
        **_make_settings(table),
    )


def _make_settings(table: Table) -> dict[str, Any]:
    """The TableMeta keywords of the table's make options."""
    given = make_options.settings(table)
    out: dict[str, Any] = {}
    if "make_timeout" in given:
        out["make_timeout"] = float(str(given["make_timeout"]))
    if "retries" in given:
        out["retries"] = int(str(given["retries"]))
    if "retry_on" in given:
        names = given["retry_on"]
        assert isinstance(names, tuple)
        out["retry_on"] = tuple(str(n) for n in names)
    if "retry_backoff" in given:
        out["retry_backoff"] = float(str(given["retry_backoff"]))
    return out


def schema_meta(project: Project) -> SchemaMeta:
    """Runtime metadata of a validated project (all schemas, topological order)."""
    root = project.root_schema
    by_name = {t.full_name: t for t in project.tables()}
    return SchemaMeta(
        name=root.name,
        schemas=tuple(s.name for s in project.schemas),
        tables=tuple(table_meta(t, project, by_name) for t in topological_tables(project)),
        doc=root.doc,
        source=root.file,
    )
