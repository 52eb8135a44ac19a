"""Workflow diagrams of a schema: Graphviz (``diagram.dot``) and Mermaid (``diagram.mmd``).

The notation follows DataJoint's (the seed chapter, "Diagramming Notation"):

- lookup tables are grey boxes, manual tables green boxes, imported tables
  blue ellipses, computed tables red ellipses;
- a part table is a small node with a bold outline, drawn inside a dotted
  frame together with its master (Graphviz) or with the ``part`` class
  (Mermaid);
- edges point from the parent (upstream) to the child: solid for a dependency
  in the primary key, dashed for a secondary one; a nullable reference has an
  open circle at its tail;
- a renamed reference (``-> T.proj(new="old")``) is orange and labelled
  ``new ← old``; a self-reference is a loop on its table;
- tables of an imported schema are framed and labelled with the schema.

Both functions are pure: metadata in, text out.  The SVG is drawn from the
dot text by :mod:`relflow_gen.emit.svg`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from relflow_gen.core.meta import FK, SchemaMeta, TableMeta


@dataclass(frozen=True)
class TierStyle:
    fill: str
    stroke: str
    dot_shape: str


TIER_STYLES: dict[str, TierStyle] = {
    "lookup": TierStyle("#d9d9d9", "#636363", "box"),
    "manual": TierStyle("#a1d99b", "#238b45", "box"),
    "imported": TierStyle("#9ecae1", "#2171b5", "ellipse"),
    "computed": TierStyle("#fc9272", "#cb181d", "ellipse"),
}
PART_FILL = "#ffffff"
RENAME_COLOR = "#e6550d"


@dataclass(frozen=True)
class Edge:
    parent: str
    child: str
    primary: bool
    nullable: bool
    renames: tuple[tuple[str, str], ...]  # (new, old)
    to_part: bool  # master -> part

    @property
    def label(self) -> str:
        return "\n".join(f"{new} ← {old}" for new, old in self.renames)


def edges(meta: SchemaMeta) -> list[Edge]:
    """The dependencies to draw, in table order then declaration order."""
    out = []
    for t in meta.tables:
        for fk in t.foreign_keys:
            if fk.parent in meta.by_name:
                out.append(_edge(t, fk))
    return out


def _edge(t: TableMeta, fk: FK) -> Edge:
    renames = tuple((c, p) for c, p in fk.attrs if c != p) if fk.renamed or fk.parent == t.full_name else ()
    return Edge(fk.parent, t.full_name, fk.in_key, fk.nullable, renames, fk.is_master)


# --------------------------------------------------------------------------- dot


def _dq(text: str) -> str:
    """A double-quoted DOT string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(**kw: str | float) -> str:
    items = [f"{k}={_dq(v) if isinstance(v, str) else repr(v)}" for k, v in kw.items()]
    return "[" + ", ".join(items) + "]"


def _dot_node(meta: SchemaMeta, t: TableMeta) -> str:
    tooltip = f"{t.full_name} ({t.tier})" + (f": {t.doc}" if t.doc else "")
    if t.is_part:
        master = meta.by_name.get(t.master or "")
        style = TIER_STYLES[master.tier if master else "manual"]
        a = _attrs(
            label=t.name,
            shape="box",
            style="rounded,bold,filled",
            fillcolor=PART_FILL,
            color=style.stroke,
            penwidth=2.0,
            fontsize=8.0,
            height=0.2,
            margin="0.06,0.02",
            tooltip=tooltip,
        )
    else:
        style = TIER_STYLES[t.tier]
        a = _attrs(
            label=t.name,
            shape=style.dot_shape,
            style="filled",
            fillcolor=style.fill,
            color=style.stroke,
            tooltip=tooltip,
        )
    return f"{_dq(t.full_name)} {a};"


def _dot_edge(e: Edge) -> str:
    kw: dict[str, str | float] = {"style": "solid" if e.primary else "dashed"}
    if e.to_part:
        kw.update(arrowhead="none", color="#525252")
    if e.nullable:
        kw.update(dir="both", arrowtail="odot")
    if e.renames:
        kw.update(color=RENAME_COLOR, fontcolor=RENAME_COLOR, label=e.label)
    return f"{_dq(e.parent)} -> {_dq(e.child)} {_attrs(**kw)};"


def _dot_tables(meta: SchemaMeta, tables: list[TableMeta], indent: str) -> Iterator[str]:
    """Nodes; a master with parts is framed together with them."""
    for t in tables:
        if t.is_part:
            continue
        parts = [meta.by_name[p] for p in t.parts if p in meta.by_name]
        if not parts:
            yield indent + _dot_node(meta, t)
            continue
        yield f"{indent}subgraph {_dq('cluster_' + t.full_name)} {{"
        yield f'{indent}    graph [label="", style="rounded,dotted", color="#969696", margin=6];'
        yield indent + "    " + _dot_node(meta, t)
        for p in parts:
            yield indent + "    " + _dot_node(meta, p)
        yield f"{indent}}}"


def to_dot(meta: SchemaMeta, header: str) -> str:
    """The Graphviz source of the schema's diagram."""
    title = meta.name + (f": {meta.doc}" if meta.doc else "")
    graph = _attrs(
        rankdir="TB", label=title, labelloc="t", fontname="Helvetica", fontsize=12.0, nodesep=0.25, ranksep=0.45
    )
    node = _attrs(fontname="Helvetica", fontsize=10.0, height=0.3)
    edge = _attrs(fontname="Helvetica", fontsize=8.0, arrowsize=0.6, color="#525252")
    lines = [
        f"// {header}",
        f"digraph {_dq(meta.name)} {{",
        f"    graph {graph};",
        f"    node {node};",
        f"    edge {edge};",
    ]
    for schema in meta.schemas:
        members = [t for t in meta.tables if t.schema == schema]
        if schema == meta.name or not members:
            continue
        lines.append(f"    subgraph {_dq('cluster_schema_' + schema)} {{")
        lines.append(f'        graph [label={_dq(schema)}, style="rounded,dashed", color="#737373"];')
        lines.extend(_dot_tables(meta, members, "        "))
        lines.append("    }")
    lines.extend(_dot_tables(meta, [t for t in meta.tables if t.schema == meta.name], "    "))
    lines.extend("    " + _dot_edge(e) for e in edges(meta))
    lines.append("}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------ mermaid


def _mid(full_name: str) -> str:
    """A Mermaid node id: ``lab.Session.Trial`` -> ``lab__Session__Trial``."""
    return full_name.replace(".", "__")


def _mq(text: str) -> str:
    """A quoted Mermaid label."""
    return '"' + text.replace("&", "#amp;").replace('"', "#quot;").replace("\n", "<br/>") + '"'


def _mermaid_node(meta: SchemaMeta, t: TableMeta) -> str:
    text = _mq(t.name)
    if t.is_part:
        return f"{_mid(t.full_name)}[{text}]:::part"
    if t.tier in ("imported", "computed"):
        return f"{_mid(t.full_name)}([{text}]):::{t.tier}"
    return f"{_mid(t.full_name)}[{text}]:::{t.tier}"


def to_mermaid(meta: SchemaMeta, header: str) -> str:
    """The Mermaid flowchart of the schema's diagram."""
    lines = [f"%% {header}", "flowchart TB"]
    for tier, style in TIER_STYLES.items():
        lines.append(f"    classDef {tier} fill:{style.fill},stroke:{style.stroke},color:#000000")
    lines.append(f"    classDef part fill:{PART_FILL},stroke:#000000,stroke-width:3px,color:#000000,font-size:11px")
    for schema in meta.schemas:
        members = [t for t in meta.tables if t.schema == schema]
        if schema == meta.name or not members:
            continue
        lines.append(f"    subgraph schema_{schema}[{_mq(schema)}]")
        lines.extend("        " + _mermaid_node(meta, t) for t in members)
        lines.append("    end")
    lines.extend("    " + _mermaid_node(meta, t) for t in meta.tables if t.schema == meta.name)
    renamed: list[int] = []
    for i, e in enumerate(edges(meta)):
        arrow = "-->" if e.primary else "-.->"
        text = f"|{_mq(e.label)}|" if e.renames else ""
        lines.append(f"    {_mid(e.parent)} {arrow}{text} {_mid(e.child)}")
        if e.renames:
            renamed.append(i)
    if renamed:
        lines.append(f"    linkStyle {','.join(map(str, renamed))} stroke:{RENAME_COLOR},color:{RENAME_COLOR}")
    return "\n".join(lines) + "\n"
