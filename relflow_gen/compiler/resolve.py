"""Stage 2b: resolve references and headings across all schemas of a build.

Every foreign key gets its parent table; the dependency graph (networkx) is
checked for cycles; then, in topological order, every table's full heading is
built: local attributes plus the primary keys of its parents, renames applied,
each attribute carrying its lineage (where it was first declared).  Attributes
that arrive twice with the same lineage are merged; with different lineages
they are an error.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field

import networkx as nx

from relflow_gen.compiler.diagnostics import Diagnostic
from relflow_gen.compiler.ir import Attribute, ForeignKey, Schema, Span, Table, Tier


@dataclass
class _State:
    tables: dict[str, Table] = field(default_factory=dict)  # full name -> table (first declaration)
    order: dict[str, int] = field(default_factory=dict)  # full name -> declaration index
    diags: list[Diagnostic] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)  # schemas with an import that failed (reported)

    def error(self, code: str, message: str, span: Span, hint: str | None = None, notes: tuple[str, ...] = ()) -> None:
        self.diags.append(Diagnostic(code, message, span, hint, notes=notes))


def resolve(schemas: tuple[Schema, ...], visible: dict[str, tuple[str, ...]]) -> tuple[tuple[Schema, ...], list[Diagnostic]]:
    """Resolve all schemas together.  ``visible[s]`` are the schemas ``s`` imports.

    The steps: collect the tables (one declaration per name), link every
    foreign key to its parent, report dependency cycles and cut them, then
    build the headings in topological order.
    """
    st = _State()
    st.broken = {s.name for s in schemas if any(not i.schema for i in s.imports)}
    _collect(st, schemas)
    linked = {key: _linked(st, table, visible.get(table.schema, ())) for key, table in st.tables.items()}
    graph = _dependency_graph(st, linked)
    cyclic = _report_cycles(st, graph, linked)
    dag = _cut_cycles(graph, linked, cyclic)
    resolved: dict[str, Table] = {}
    for key in nx.lexicographical_topological_sort(dag, key=lambda n: f"{st.order[n]:08d}"):
        resolved[key] = _heading(st, linked[key], resolved)
    out = tuple(
        dataclasses.replace(
            s,
            tables=tuple(resolved[t.full_name] for t in s.tables if resolved.get(t.full_name) is not None and st.tables[t.full_name] is t),
        )
        for s in schemas
    )
    return out, st.diags


def _collect(st: _State, schemas: tuple[Schema, ...]) -> None:
    """Every table by full name, in declaration order; a second declaration is E0103."""
    for schema in schemas:
        for table in schema.tables:
            key = table.full_name
            if key in st.tables:
                first = st.tables[key]
                st.error(
                    "E0103",
                    f"table `{table.name}` is declared twice",
                    table.name_span,
                    notes=(f"first declared at {first.name_span.file}:{first.name_span.line}:{first.name_span.col}",),
                )
                continue
            st.order[key] = len(st.order)
            st.tables[key] = table


def _linked(st: _State, table: Table, imports: tuple[str, ...]) -> Table:
    """The table with its foreign keys in body order, each linked to its parent."""
    fks = tuple(_link(st, table, item, imports) for item in table.body if isinstance(item, ForeignKey))
    return dataclasses.replace(table, foreign_keys=fks)


def _dependency_graph(st: _State, linked: dict[str, Table]) -> nx.DiGraph:
    """parent -> child for every linked foreign key (self-references left out); edges carry the span."""
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(sorted(linked, key=st.order.__getitem__))
    for key, table in linked.items():
        for fk in table.foreign_keys:
            if fk.parent and fk.parent != key:
                graph.add_edge(fk.parent, key, span=fk.span)
    return graph


def _report_cycles(st: _State, graph: nx.DiGraph, linked: dict[str, Table]) -> set[str]:
    """Report each dependency cycle once (E0102); the tables that are in one."""
    cyclic: set[str] = set()
    for component in sorted(nx.strongly_connected_components(graph), key=lambda c: min(st.order[n] for n in c)):
        if len(component) < 2:
            continue
        cyclic |= component
        start = min(component, key=st.order.__getitem__)
        cycle = nx.find_cycle(graph.subgraph(component), source=start)
        # print it the way it is written: `A -> B` when A's body says `-> B`
        path = [cycle[0][0]] + [edge[1] for edge in cycle]
        names = " -> ".join(_short(n, linked) for n in reversed(path))
        # report at the foreign key of the first table, the first arrow of the message
        closing = graph.edges[cycle[-1][0], cycle[-1][1]]["span"]
        notes = []
        for a, b in reversed(cycle):
            span = graph.edges[a, b]["span"]
            notes.append(f"`{_short(b, linked)}` references `{_short(a, linked)}` at {span.file}:{span.line}")
        st.error(
            "E0102",
            f"dependency cycle: {names}",
            closing,
            "dependencies must form a DAG; a hierarchy within one table is a renamed secondary "
            "self-reference such as `-> Region.proj(parent_id=\"region_id\")`",
            notes=tuple(notes),
        )
    return cyclic


def _cut_cycles(graph: nx.DiGraph, linked: dict[str, Table], cyclic: set[str]) -> nx.DiGraph:
    """Unlink the foreign keys inside cycles (in ``linked``: headings cannot depend on them); the DAG left."""
    for key in cyclic:
        table = linked[key]
        fks = tuple(
            dataclasses.replace(fk, parent="") if fk.parent in cyclic and fk.parent != key else fk
            for fk in table.foreign_keys
        )
        linked[key] = dataclasses.replace(table, foreign_keys=fks)
    dag = graph.copy()
    dag.remove_edges_from([(a, b) for a, b in graph.edges if a in cyclic and b in cyclic])
    return dag


def _short(full: str, tables: dict[str, Table]) -> str:
    t = tables.get(full)
    return t.name if t is not None else full


def _link(st: _State, table: Table, fk: ForeignKey, imports: tuple[str, ...]) -> ForeignKey:
    """Find the parent of a foreign key (sets ``parent``; empty when unknown)."""
    schema = table.schema
    if fk.is_master:
        if table.master is None:
            if table.tier is not Tier.PART:  # a part outside a master is reported by validate (E0111)
                st.error("E0126", "`-> master` is only allowed in a part table", fk.span)
            return fk
        return dataclasses.replace(fk, parent=f"{schema}.{table.master}")
    candidates: list[str] = []
    local = f"{schema}.{fk.target}"
    if local in st.tables:
        candidates.append(local)
    head, _, rest = fk.target.partition(".")
    if rest and head in imports and f"{head}.{rest}" in st.tables:
        candidates.append(f"{head}.{rest}")
    if candidates:
        return dataclasses.replace(fk, parent=candidates[0])
    if rest and head not in imports and schema in st.broken:
        return fk  # most likely a table of the import that failed; E0003/E0004 says why
    if rest and head != schema and head not in imports and not any(k.startswith(f"{schema}.{head}") for k in st.tables):
        known = [s for s in {k.split(".", 1)[0] for k in st.tables} if s != schema]
        hint = f"add `import \"{head}.rf\"` at the top of the file" if head not in known else f"add an import of schema `{head}`"
        st.error("E0101", f"unknown schema `{head}` in reference `{fk.target}`", fk.span, hint)
        return fk
    names = [k.split(".", 1)[1] for k in st.tables if k.startswith(schema + ".")]
    names += [k for k in st.tables if k.split(".", 1)[0] in imports]
    close = difflib.get_close_matches(fk.target, names, n=1, cutoff=0.5)
    if not close:
        lowered = {n.lower(): n for n in names}
        if fk.target.lower() in lowered:
            close = [lowered[fk.target.lower()]]
    st.error(
        "E0101",
        f"unknown table `{fk.target}`",
        fk.span,
        f"did you mean `{close[0]}`?" if close else None,
    )
    return fk


@dataclass
class _Heading:
    """A heading being built: attributes in arrival order, by name, and the table's foreign keys."""

    table: Table
    attrs: list[Attribute] = field(default_factory=list)
    by_name: dict[str, int] = field(default_factory=dict)
    fks: list[ForeignKey] = field(default_factory=list)

    def add(self, attr: Attribute) -> None:
        self.by_name[attr.name] = len(self.attrs)
        self.attrs.append(attr)


@dataclass(frozen=True)
class _Parent:
    """What a foreign key takes from its parent: the primary key, and every attribute (for hints)."""

    name: str
    key: list[Attribute]
    attributes: list[Attribute]


def _heading(st: _State, table: Table, done: dict[str, Table]) -> Table:
    """The full heading of ``table``: its own attributes and its parents' keys, in body order, key first.

    ``done`` holds the headings of the tables before it in topological order.
    """
    h = _Heading(table, fks=list(table.foreign_keys))
    fk_index = 0
    for item in table.body:
        if isinstance(item, Attribute):
            _add_local(st, h, item)
            continue
        idx = fk_index
        fk_index += 1
        fk = h.fks[idx]
        if not fk.parent:
            continue
        parent = _parent(st, h, idx, done)
        if parent is None:
            continue
        attr_map = tuple(_renamed_key(st, fk, parent))
        h.fks[idx] = dataclasses.replace(fk, attr_map=attr_map)
        _inherit(st, h, idx, attr_map, parent)
    ordered = [a for a in h.attrs if a.in_key] + [a for a in h.attrs if not a.in_key]
    return dataclasses.replace(table, attributes=tuple(ordered), foreign_keys=tuple(h.fks))


def _add_local(st: _State, h: _Heading, item: Attribute) -> None:
    """An attribute declared in the body (E0104 when the name is taken)."""
    if item.name in h.by_name:
        prev = h.attrs[h.by_name[item.name]]
        origin = "is already declared" if prev.fk is None else f"already arrives through `-> {h.fks[prev.fk].target}`"
        st.error(
            "E0104",
            f"attribute `{item.name}` is declared twice in `{h.table.name}`",
            item.span,
            notes=(f"it {origin} at line {prev.span.line}",),
        )
        return
    h.add(item)


def _parent(st: _State, h: _Heading, idx: int, done: dict[str, Table]) -> _Parent | None:
    """The parent of foreign key ``idx``, or None (and the key unlinked) when it gives nothing."""
    fk, table = h.fks[idx], h.table
    if fk.parent == table.full_name:
        if fk.in_key or not fk.renamed:
            st.error(
                "E0116",
                f"`{table.name}` references itself through "
                + ("its primary key" if fk.in_key else "a foreign key that does not rename its attributes"),
                fk.span,
                f"a hierarchy is a renamed secondary reference, e.g. `-> {table.name}.proj(parent_id=\"id\")` below `---`",
            )
            h.fks[idx] = dataclasses.replace(fk, parent="")
            return None
        return _Parent(table.name, [a for a in h.attrs if a.in_key], h.attrs)
    parent = done.get(fk.parent)
    if parent is None:  # parent in a cycle or unresolved
        h.fks[idx] = dataclasses.replace(fk, parent="")
        return None
    return _Parent(parent.name, [a for a in parent.attributes if a.in_key], list(parent.attributes))


def _renamed_key(st: _State, fk: ForeignKey, parent: _Parent) -> list[tuple[str, str]]:
    """(child name, parent name) for each of the parent's key attributes, ``.proj`` renames applied (E0115)."""
    key_names = {a.name for a in parent.key}
    inverse: dict[str, str] = {}
    new_names: set[str] = set()
    for new, old in fk.renames:
        if old not in key_names:
            secondary = any(a.name == old for a in parent.attributes)
            st.error(
                "E0115",
                f"`{parent.name}` has no primary-key attribute `{old}` to rename",
                fk.span,
                f"`{old}` is a secondary attribute; a foreign key refers to the primary key "
                f"({', '.join(sorted(key_names))})"
                if secondary
                else (f"its primary key is ({', '.join(a.name for a in parent.key)})" if parent.key else None),
            )
            continue
        if old in inverse or new in new_names:
            st.error("E0115", f"`{old}` is renamed twice in one reference", fk.span)
            continue
        inverse[old] = new
        new_names.add(new)
    return [(inverse.get(p.name, p.name), p.name) for p in parent.key]


def _inherit(st: _State, h: _Heading, idx: int, attr_map: tuple[tuple[str, str], ...], parent: _Parent) -> None:
    """Add the parent's key attributes under their child names; the same lineage twice merges (else E0104)."""
    fk = h.fks[idx]
    for (child, _), p in zip(attr_map, parent.key):
        if child in h.by_name:
            prev = h.attrs[h.by_name[child]]
            if prev.lineage == p.lineage:
                continue
            st.error(
                "E0104",
                f"attribute `{child}` arrives through `-> {fk.target}` but `{h.table.name}` already has a "
                f"different `{child}` ({prev.lineage})",
                fk.span,
                f"rename it: `-> {fk.target}.proj(other_{child}=\"{p.name}\")`",
            )
            continue
        h.add(
            Attribute(
                name=child,
                type=p.type,
                in_key=fk.in_key,
                nullable=fk.nullable,
                default=None,
                comment=p.comment,
                lineage=p.lineage,
                fk=idx,
                span=fk.span,
            )
        )
