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

:func:`to_dot` and :func:`to_mermaid` are pure: metadata in, text out; the
build writes their text into the package (``diagram.dot``, ``diagram.mmd``).
An SVG is drawn on demand, never by the build, because Graphviz's bytes
depend on its version and fonts: :class:`Diagram` (``db.diagram()`` in a
notebook, ``python -m PKG diagram --svg`` on the command line) runs Graphviz
``dot`` when it is installed and falls back to the Mermaid text otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from relflow_gen.core.errors import RelflowError
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


# ------------------------------------------------------------------- drawing

_VERSION_COMMENT = re.compile(r"^<!-- Generated by graphviz version .*?-->\n", re.MULTILINE | re.DOTALL)

#: What to tell a user who asked for an SVG on a machine without Graphviz.
NO_GRAPHVIZ = (
    "Graphviz `dot` is not installed, so no SVG can be drawn "
    "(install it: `apt install graphviz`, `brew install graphviz` or `conda install graphviz`)"
)


class DiagramError(RelflowError):
    """Graphviz is missing where an SVG was required, or ``dot`` failed on the diagram."""


def dot_program() -> str | None:
    """The path of Graphviz ``dot``, None when it is not on PATH."""
    return shutil.which("dot")


def render_svg(dot_text: str, header: str, *, timeout: float = 60.0) -> str | None:
    """The SVG that Graphviz draws from ``dot_text``, or None when ``dot`` is not on PATH.

    Graphviz's version comment is replaced by ``header``; ``dot`` runs in the
    C locale with ``SOURCE_DATE_EPOCH`` fixed, so one machine always gives
    the same bytes (other Graphviz releases and fonts give other bytes).
    """
    exe = dot_program()
    if exe is None:
        return None
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "SOURCE_DATE_EPOCH": "0"}
    try:
        proc = subprocess.run(
            [exe, "-Tsvg"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiagramError(f"cannot run Graphviz {exe}: {exc}") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip()
        raise DiagramError(f"Graphviz {exe} failed (exit {proc.returncode}): {message}")
    return postprocess(proc.stdout.decode("utf-8"), header)


def postprocess(svg: str, header: str) -> str:
    """Drop Graphviz's version comment and put ``header`` after the XML declaration."""
    svg = _VERSION_COMMENT.sub("", svg.replace("\r\n", "\n"), count=1)
    comment = f"<!-- {header.replace('--', '- -')} -->\n"
    if svg.startswith("<?xml"):
        end = svg.index("\n") + 1
        svg = svg[:end] + comment + svg[end:]
    else:
        svg = comment + svg
    return svg if svg.endswith("\n") else svg + "\n"


class Diagram:
    """The workflow diagram of a pipeline, drawn on demand (``db.diagram()``).

    In a notebook it shows itself as the SVG Graphviz draws, or, without
    Graphviz, as a Mermaid block (``_repr_markdown_``; JupyterLab 4.1+ and
    GitHub render it).  :meth:`save` writes ``.svg``, ``.dot`` or ``.mmd``.
    """

    def __init__(self, meta: SchemaMeta) -> None:
        self.meta = meta
        self.header = f"diagram of the {meta.name} pipeline"
        self._svg: str | None = None

    def __repr__(self) -> str:
        return f"<Diagram of {self.meta.name}: {len(self.meta.tables)} tables>"

    @property
    def dot(self) -> str:
        """The Graphviz source."""
        return to_dot(self.meta, self.header)

    @property
    def mermaid(self) -> str:
        """The Mermaid flowchart."""
        return to_mermaid(self.meta, self.header)

    def svg(self) -> str:
        """The SVG drawn by Graphviz (:class:`DiagramError` when Graphviz is not installed)."""
        if self._svg is None:
            drawn = render_svg(self.dot, self.header)
            if drawn is None:
                raise DiagramError(NO_GRAPHVIZ + "; the Mermaid text is `.mermaid`")
            self._svg = drawn
        return self._svg

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the diagram to ``path``; its suffix chooses the format (``.svg``, ``.dot``/``.gv``, ``.mmd``)."""
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix == ".svg":
            text = self.svg()
        elif suffix in (".dot", ".gv"):
            text = self.dot
        elif suffix == ".mmd":
            text = self.mermaid
        else:
            raise DiagramError(f"{target}: unknown diagram format `{suffix}` (use .svg, .dot, .gv or .mmd)")
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise DiagramError(f"cannot write {target}: {exc}") from None
        return target

    def _repr_svg_(self) -> str | None:
        if dot_program() is None:
            return None  # the notebook falls back to _repr_markdown_
        return self.svg()

    def _repr_markdown_(self) -> str:
        return "```mermaid\n" + self.mermaid + "```\n"
