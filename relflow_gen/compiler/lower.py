"""Stage 2a: parse tree -> IR of one file (declared bodies, not yet resolved).

Lowering turns tree nodes into :mod:`relflow_gen.compiler.ir` values with spans:
literal values, resolved attribute types, foreign keys as written (with
``in_key`` from their position above or below ``---``), indexes, contents and
nested part tables.  Headings that depend on other tables are resolved later by
:mod:`relflow_gen.compiler.resolve`.  Problems local to one line (unknown type, bad
literal, unknown foreign-key option) are diagnostics.
"""

from __future__ import annotations

import ast
import dataclasses
import warnings
from dataclasses import dataclass, field

from lark import Token, Tree

from relflow_gen.compiler.diagnostics import Diagnostic
from relflow_gen.compiler.ir import (
    Attribute,
    BodyItem,
    ContentRow,
    ForeignKey,
    Import,
    Index,
    Schema,
    Span,
    Table,
    Tier,
    Value,
)
from relflow_gen.compiler.parse import Comment, ParseResult
from relflow_gen.core.types import TypeProblem, TypeSpec, resolve_type

FK_OPTIONS = ("nullable", "unique")
#: A top-level block that nests blocks deeper than this is reported once (E0142, at its
#: name) and its nested blocks are not lowered (parts do not nest at all, E0112; the
#: limit only keeps absurd inputs from exhausting the stack).
MAX_NESTING = 8
KEYWORD_DEFAULTS = ("CURRENT_TIMESTAMP",)

#: The type given to an attribute whose written type did not resolve (E0119/E0121,
#: already reported).  It is one object: the validator recognises it by identity
#: (``attr.type is UNRESOLVED_TYPE``) and skips the checks that need a real type,
#: so a typo in a type does not also report its default or contents values.
UNRESOLVED_TYPE = TypeSpec("varchar", (255,))


@dataclass
class _Ctx:
    file: str
    schema: str = ""
    diags: list[Diagnostic] = field(default_factory=list)
    comments: dict[int, Comment] = field(default_factory=dict)

    def span(self, node: Tree[Token] | Token) -> Span:
        if isinstance(node, Token):
            line = node.line or 1
            col = node.column or 1
            return Span(self.file, line, col, node.end_line or line, node.end_column or col + len(str(node)))
        meta = node.meta
        if getattr(meta, "empty", True):
            return Span.none(self.file)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, hint))


def lower(result: ParseResult) -> tuple[Schema | None, list[Diagnostic]]:
    """Lower one parsed file.  Returns ``(None, diags)`` when there is no tree."""
    if result.tree is None:
        return None, list(result.diagnostics)
    ctx = _Ctx(result.file)
    for c in result.comments:
        ctx.comments.setdefault(c.line, c)
    tree = result.tree
    header = next(c for c in tree.children if isinstance(c, Tree) and c.data == "schema_decl")
    name_tok = header.children[0]
    assert isinstance(name_tok, Token)
    ctx.schema = str(name_tok)
    doc = _string(header.children[1]) if len(header.children) > 1 else ""
    imports: list[Import] = []
    tables: list[Table] = []
    for child in tree.children:
        if not isinstance(child, Tree):
            continue
        if child.data == "import_decl":
            tok = child.children[0]
            assert isinstance(tok, Token)
            imports.append(Import(_string(tok), "", ctx.span(tok)))  # span: the path, what an error is about
        elif child.data == "block":
            tables.extend(_block(ctx, child, master=None))
    # the schema's span is its name: diagnostics about the schema point there
    schema = Schema(ctx.schema, doc, result.file, tuple(imports), tuple(tables), ctx.span(name_tok))
    return schema, ctx.diags


def _string(tok: Tree[Token] | Token) -> str:
    assert isinstance(tok, Token)
    text = str(tok)
    try:
        with warnings.catch_warnings():  # `"\d"` keeps its backslash, as in Python, without a warning
            warnings.simplefilter("ignore")
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text[1:-1]
    return value if isinstance(value, str) else text[1:-1]


@dataclass
class _Members:
    """The members of one table block, in the order written."""

    body: list[BodyItem] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    contents: list[ContentRow] = field(default_factory=list)
    nested: list[Tree[Token]] = field(default_factory=list)  # part blocks, lowered after their master


def _block(ctx: _Ctx, node: Tree[Token], master: Table | None, depth: int = 0) -> list[Table]:
    """A table block and the part blocks inside it: ``[table, *parts]``."""
    tier_node, name_tok, *rest = node.children
    assert isinstance(tier_node, Tree) and isinstance(name_tok, Token)
    tier_tok = tier_node.children[0]
    assert isinstance(tier_tok, Token)
    tier = Tier(str(tier_tok))
    doc = ""
    if rest and isinstance(rest[0], Token) and rest[0].type == "STRING":
        doc = _string(rest[0])
        rest = rest[1:]
    if master is not None and tier is not Tier.PART:
        ctx.error(
            "E0140",
            f"a {tier.value} table cannot be declared inside `{master.name}`; only `part` tables nest",
            ctx.span(tier_tok),
            "move the block to the top level of the file",
        )
    name = f"{master.name}.{name_tok}" if master is not None else str(name_tok)
    members = _members(ctx, rest, name)
    if tier is Tier.PART and master is not None and not any(
        isinstance(i, ForeignKey) and i.is_master for i in members.body
    ):
        members.body.insert(0, ForeignKey("master", True, span=ctx.span(name_tok)))
    table = Table(
        schema=ctx.schema,
        name=name,
        tier=tier,
        doc=doc,
        master=master.name if master is not None and tier is Tier.PART else None,
        body=tuple(members.body),
        indexes=tuple(members.indexes),
        contents=tuple(members.contents),
        span=ctx.span(node),
        name_span=ctx.span(name_tok),
    )
    if depth == 0 and _nesting(node) > MAX_NESTING:
        ctx.error("E0142", f"`{name}` nests table blocks more than {MAX_NESTING} deep", ctx.span(name_tok))
        return [table]
    parts = [p for sub in members.nested for p in _block(ctx, sub, table, depth + 1)]
    direct = tuple(p.name for p in parts if p.master == table.name)
    if direct:
        table = dataclasses.replace(table, parts=direct)
    return [table, *parts]


def _nesting(node: Tree[Token]) -> int:
    """How many table blocks deep ``node`` goes (1: no nested block); stops counting past the limit."""
    deepest, level = 1, [node]
    while level and deepest <= MAX_NESTING:
        level = [m for b in level for m in b.children if isinstance(m, Tree) and m.data == "block"]
        if level:
            deepest += 1
    return deepest


def _members(ctx: _Ctx, members: list[Tree[Token] | Token], name: str) -> _Members:
    """Attributes and references (key above `---`), indexes, contents rows and nested blocks."""
    out = _Members()
    in_key = True
    divider_seen = contents_seen = False
    for member in members:
        if not isinstance(member, Tree):
            continue
        kind = member.data
        if kind == "divider":
            if divider_seen:
                ctx.error("E0141", "a table has only one `---` divider", ctx.span(member))
            divider_seen = True
            in_key = False
        elif kind == "attribute":
            attr = _attribute(ctx, member, in_key, f"{ctx.schema}.{name}")
            if attr is not None:
                out.body.append(attr)
        elif kind == "foreign_key":
            out.body.append(_foreign_key(ctx, member, in_key))
        elif kind == "index":
            out.indexes.append(_index(ctx, member))
        elif kind == "contents":
            if contents_seen:
                keyword = member.children[0]
                ctx.error(
                    "E0146",
                    "a table has only one `contents` block",
                    ctx.span(keyword) if isinstance(keyword, Token) else ctx.span(member),
                    "move these rows into the first `contents` block",
                )
            contents_seen = True
            out.contents.extend(_contents(ctx, member))
        elif kind == "block":
            out.nested.append(member)
    return out


def _attribute(ctx: _Ctx, node: Tree[Token], in_key: bool, table: str) -> Attribute | None:
    name_tok = node.children[0]
    assert isinstance(name_tok, Token)
    default: Value | None = None
    type_node: Tree[Token] | None = None
    for child in node.children[1:]:
        if isinstance(child, Tree) and child.data == "default":
            default = _value(ctx, child.children[0])
        elif isinstance(child, Tree) and child.data == "type":
            type_node = child
    assert type_node is not None
    spec = _type(ctx, type_node)
    if spec is None:
        spec = UNRESOLVED_TYPE  # the error is reported; later stages skip checks that need the type
    span = ctx.span(node)
    comment = ctx.comments.get(span.end_line)
    nullable = default is not None and default.kind == "null"
    return Attribute(
        name=str(name_tok),
        type=spec,
        in_key=in_key,
        nullable=nullable,
        default=default,
        comment=comment.text if comment is not None and comment.col > span.end_col - 1 else "",
        lineage=f"{table}.{name_tok}",
        fk=None,
        span=span,
    )


def _type(ctx: _Ctx, node: Tree[Token]) -> TypeSpec | None:
    words: list[str] = []
    args: tuple[int | str, ...] | None = None
    for child in node.children:
        if isinstance(child, Token):
            words.append(str(child))
        elif child.data == "type_args":
            vals = [_value(ctx, v) for v in child.children if isinstance(v, (Tree, Token))]
            if any(v is None for v in vals):
                return None
            args = tuple(_type_arg(v) for v in vals if v is not None)
    try:
        return resolve_type(tuple(words), args)
    except TypeProblem as problem:
        ctx.error(problem.code, str(problem), ctx.span(node), problem.hint)
        return None


def _type_arg(v: Value) -> int | str:
    if v.kind == "int" and isinstance(v.value, int):
        return v.value
    return v.text if v.kind != "str" else str(v.value)


def _value(ctx: _Ctx, node: Tree[Token] | Token) -> Value | None:
    if isinstance(node, Token):  # pragma: no cover - values are always wrapped
        return None
    tok = node.children[0]
    assert isinstance(tok, Token)
    span = ctx.span(tok)
    text = str(tok)
    if node.data == "string":
        return Value("str", _string(tok), text, span)
    if node.data == "number":
        try:
            return Value("int", int(text), text, span)
        except ValueError:
            return Value("float", float(text), text, span)
    low = text.lower()
    if low == "null":
        return Value("null", None, "null", span)
    if low in ("true", "false"):
        return Value("bool", low == "true", low, span)
    if text.upper() in KEYWORD_DEFAULTS:
        return Value("keyword", text.upper(), text.upper(), span)
    ctx.error("E0143", f"`{text}` is not a value", span, 'write strings in quotes, e.g. "' + text + '"')
    return None


def _foreign_key(ctx: _Ctx, node: Tree[Token], in_key: bool) -> ForeignKey:
    options: list[str] = []
    names: list[str] = []
    renames: list[tuple[str, str]] = []
    proj_seen = False
    for child in node.children:
        if isinstance(child, Token):
            names.append(str(child))
        elif child.data == "fk_options":
            for opt in child.children:
                assert isinstance(opt, Token)
                if str(opt) not in FK_OPTIONS:
                    ctx.error(
                        "E0122",
                        f"unknown foreign-key option `{opt}`",
                        ctx.span(opt),
                        "options are [nullable] and [unique]",
                    )
                elif str(opt) in options:
                    ctx.error("E0122", f"option `{opt}` given twice", ctx.span(opt))
                else:
                    options.append(str(opt))
        elif child.data == "ref_part":
            tok = child.children[0]
            assert isinstance(tok, Token)
            if proj_seen:
                ctx.error("E0144", "`.proj(...)` must come last in a reference", ctx.span(tok))
            names.append(str(tok))
        elif child.data == "renames":
            if proj_seen:
                ctx.error("E0144", "only one `.proj(...)` per reference", ctx.span(child))
                continue  # its renames are not applied (they would only add consequent errors)
            proj_seen = True
            for r in child.children:
                if isinstance(r, Tree) and r.data == "rename":
                    new, old = r.children
                    assert isinstance(new, Token)
                    renames.append((str(new), _string(old)))
    return ForeignKey(
        target=".".join(names),
        in_key=in_key,
        nullable="nullable" in options,
        unique="unique" in options,
        options=tuple(options),
        renames=tuple(renames),
        span=ctx.span(node),
    )


def _index(ctx: _Ctx, node: Tree[Token]) -> Index:
    unique = False
    attrs: list[str] = []
    for child in node.children:
        if isinstance(child, Token):
            if child.type == "UNIQUE":
                unique = True
            elif child.type == "NAME":
                attrs.append(str(child))
    if not attrs:
        ctx.error("E0145", "an index names at least one attribute", ctx.span(node))
    return Index(tuple(attrs), unique, ctx.span(node))


def _contents(ctx: _Ctx, node: Tree[Token]) -> list[ContentRow]:
    rows: list[ContentRow] = []
    for row in node.children:
        if not isinstance(row, Tree) or row.data != "row":
            continue
        values: list[Value] = []
        names: list[str] = []
        named = positional = False
        ok = True
        for cell in row.children:
            if not isinstance(cell, Tree):
                continue
            if cell.data == "named_cell":
                named = True
                name_tok, value_node = cell.children
                assert isinstance(name_tok, Token)
                names.append(str(name_tok))
                v = _value(ctx, value_node)
            else:
                positional = True
                v = _value(ctx, cell)
            if v is None:
                ok = False
            else:
                values.append(v)
        if named and positional:
            ctx.error(
                "E0147",
                "a contents row is either all positional or all `name=value`",
                ctx.span(row),
            )
            continue
        if ok:
            rows.append(ContentRow(tuple(values), tuple(names), ctx.span(row)))
    return rows
