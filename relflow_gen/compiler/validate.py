"""Stage 3: resolved IR -> diagnostics for every rule the earlier stages leave open.

Parsing, lowering and resolution already report syntax, types, references,
cycles, duplicates and renames.  This module checks what needs the resolved
heading or the whole project: primary-key rules, defaults, key sources, part
placement, lookup contents, names, indexes, and text or enum values that the
generated files or the database could not hold as written (docs/diagnostics.md).

It is a pure function of the IR.  A table with a foreign key that did not
resolve (``parent == ""``; already reported), or with a parent whose primary
key is incomplete for that reason, has an incomplete heading, so the rules that
read the full heading (contents, indexes, an empty primary key) skip it rather
than report consequences of the first error.  Attributes whose type did not
resolve (:data:`~relflow_gen.compiler.lower.UNRESOLVED_TYPE`) are not judged by type.

Errors have ``E`` codes; ``W0201`` (redundant index or option) is a warning.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from relflow_gen.compiler import make_options
from relflow_gen.compiler.diagnostics import Diagnostic
from relflow_gen.compiler.ir import Attribute, ContentRow, ForeignKey, Index, Project, Schema, Span, Table, Tier, Value
from relflow_gen.compiler.keywords import PIPELINE_ATTRIBUTES, is_python_keyword
from relflow_gen.compiler.lower import UNRESOLVED_TYPE
from relflow_gen.compiler.naming import (
    MAX_IDENTIFIER,
    is_camel_case,
    is_snake_case,
    snake_case,
    sql_table_name,
    suggest_camel,
    suggest_snake,
)
from relflow_gen.compiler.values import NO_LITERAL_DEFAULT, check_default, check_value, comparable, describe
from relflow_gen.core.types import TypeSpec, quote


def validate(project: Project) -> list[Diagnostic]:
    """All problems of the project that parse, lower and resolve did not report."""
    tables = {t.full_name: t for t in project.tables()}
    checker = _Checker(tables, _incomplete(tables))
    for schema in project.schemas:
        checker.schema(schema, imported=schema.name != project.root)
        for table in schema.tables:
            checker.table(table)
    if not tables and all(imp.schema for s in project.schemas for imp in s.imports):
        # (an import that failed is reported already: its tables may be the missing ones)
        root = next((s for s in project.schemas if s.name == project.root), None)
        if root is not None:
            checker.error(
                "E0129",
                f"schema `{root.name}` has no tables: there is nothing to build",
                root.span,
                "declare a table, or import a schema that has some",
            )
    return checker.diags


def _shown(value: str) -> str:
    """A value as a `.rf` string literal for a message, unprintable characters (NUL, lone
    surrogates, newlines) escaped so that the message prints on any terminal."""
    escaped = {"\\": "\\\\", '"': '\\"'}
    return '"' + "".join(escaped.get(ch, ch) if ch.isprintable() else ascii(ch)[1:-1] for ch in value) + '"'


def _unstorable(text: str) -> str | None:
    """What in ``text`` no generated file can hold: NUL ends C strings (SQLite statements,
    Graphviz, Python source) and a lone surrogate is no character (UTF-8 cannot encode it)."""
    for ch in text:
        if ch == "\0":
            return "a NUL character (U+0000)"
        if "\ud800" <= ch <= "\udfff":
            return f"a lone surrogate (U+{ord(ch):04X}), which is not a character"
    return None


def _incomplete(tables: dict[str, Table]) -> set[str]:
    """Tables whose heading may lack attributes because a foreign key did not resolve
    (unknown table, cycle, self-reference): their own, or one in the primary key of
    a parent (children inherit the parent's primary key only)."""
    key_children: dict[str, list[str]] = {}
    todo: list[str] = []
    for name, table in tables.items():
        for fk in table.foreign_keys:
            if not fk.parent and fk.in_key:
                todo.append(name)
            elif fk.parent and fk.parent != name and fk.in_key:
                key_children.setdefault(fk.parent, []).append(name)
    key_incomplete: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in key_incomplete:
            key_incomplete.add(name)
            todo.extend(key_children.get(name, ()))
    return {
        name
        for name, table in tables.items()
        if any(not fk.parent or fk.parent in key_incomplete for fk in table.foreign_keys)
    }


def name_span(span: Span, name: str) -> Span:
    """The span of a name at the start of ``span`` (an attribute's name)."""
    return Span(span.file, span.line, span.col, span.line, span.col + len(name))


def _did_you_mean(word: str, candidates: list[str] | tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def _enum_hint(value: Value, values: tuple[int | str, ...]) -> str:
    listed = ", ".join(quote(str(v)) for v in values)
    if value.kind == "str":
        close = difflib.get_close_matches(str(value.value), [str(v) for v in values], n=1, cutoff=0.6)
        if close:
            return f"did you mean {quote(close[0])}? (the values are {listed})"
    return f"the values are {listed}"


def _listing(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f"`{n}`" for n in names) if names else "none"


@dataclass
class _Checker:
    tables: dict[str, Table]
    incomplete: set[str]
    diags: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Span, hint: str | None = None, notes: tuple[str, ...] = ()) -> None:
        self.diags.append(Diagnostic(code, message, span, hint, notes=notes))

    def warn(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, hint, severity="warning"))

    # ------------------------------------------------------------------ names

    def schema(self, schema: Schema, imported: bool = False) -> None:
        name, span = schema.name, schema.span
        if not is_snake_case(name):
            self.error(
                "E0120",
                f"schema name `{name}` is not snake_case",
                span,
                f"schema names become database names; use `{suggest_snake(name) or 'my_schema'}`",
            )
        if len(name) > MAX_IDENTIFIER:
            self.error("E0118", f"schema name `{name[:20]}...` is {len(name)} characters long", span, self._too_long())
        self._reserved(name, "schema name", span)
        if imported and name in PIPELINE_ATTRIBUTES:
            self.error(
                "E0117",
                f"imported schema `{name}` would hide the pipeline attribute `{name}`",
                span,
                "the generated pipeline reaches an imported schema's tables as `db.<schema>`; rename the schema",
            )
        self._text("the schema's doc", schema.doc, span)

    def _text(self, what: str, text: str, span: Span) -> None:
        problem = _unstorable(text)
        if problem is not None:
            self.error(
                "E0130",
                f"{what} holds {problem}",
                span,
                "generated files and the database cannot hold it; remove it or write the text differently",
            )

    def _too_long(self) -> str:
        return f"MySQL allows names of at most {MAX_IDENTIFIER} characters; choose a shorter name"

    def _reserved(self, name: str, what: str, span: Span, hint: str | None = None) -> None:
        """Python keywords cannot name anything (names become Python identifiers); SQL
        reserved words can (every generated identifier is quoted)."""
        if is_python_keyword(name):
            self.error("E0117", f"{what} `{name}` is a Python keyword", span, hint or "choose another name")

    def _table_name(self, table: Table) -> None:
        short, span = table.short_name, table.name_span
        if not is_camel_case(short):
            self.error(
                "E0120",
                f"table name `{short}` is not CamelCase",
                span,
                f"use `{suggest_camel(short) or 'MyTable'}`",
            )
        sql = sql_table_name(table, self.tables)
        if len(sql) > MAX_IDENTIFIER:
            self.error(
                "E0118",
                f"SQL table name of `{table.name}` is {len(sql)} characters long",
                span,
                f"MySQL allows {MAX_IDENTIFIER}; the name is `{sql[:40]}...`"
                + (" (a part's SQL name includes its master's)" if table.master else ""),
            )
        self._reserved(short, "table name", span, "choose another name, e.g. a plural or a more specific noun")
        self._text(f"the doc of `{table.name}`", table.doc, span)

    def _attribute_name(self, table: Table, name: str, span: Span, what: str = "attribute name") -> None:
        if not is_snake_case(name):
            self.error("E0120", f"{what} `{name}` is not snake_case", span, f"use `{suggest_snake(name) or 'name'}`")
        if len(name) > MAX_IDENTIFIER:
            self.error("E0118", f"{what} `{name[:20]}...` is {len(name)} characters long", span, self._too_long())
        prefix = snake_case(table.short_name)
        self._reserved(name, what, span, hint=f"choose another name, e.g. `{prefix}_{name.lower()}`")

    # ----------------------------------------------------------------- tables

    def table(self, table: Table) -> None:
        complete = table.full_name not in self.incomplete
        self._placement(table)
        self._table_name(table)
        for item in table.body:
            if isinstance(item, Attribute):
                self._attribute(table, item)
        for fk in table.foreign_keys:
            self._foreign_key(table, fk, complete)
        self._key(table, complete)
        if complete:
            self._indexes(table)
        self._contents(table, complete)
        self.diags.extend(make_options.check(table))

    def _placement(self, table: Table) -> None:
        if table.tier is not Tier.PART:
            return
        keyword = Span(table.span.file, table.span.line, table.span.col, table.span.line, table.span.col + 4)
        if table.master is None:
            self.error(
                "E0111",
                f"part table `{table.name}` is declared outside a master",
                keyword,
                "declare it inside the block of the table it belongs to, or give it a tier "
                "(lookup, manual, imported, computed)",
            )
            return
        master = self.tables.get(f"{table.schema}.{table.master}")
        if master is not None and master.tier is Tier.PART:
            root = table.master.split(".", 1)[0]
            self.error(
                "E0112",
                f"part table `{table.short_name}` is nested in the part table `{master.short_name}`",
                keyword,
                f"parts do not nest; declare it directly inside `{root}` (it may reference `-> {master.name}`)",
            )

    def _attribute(self, table: Table, attr: Attribute) -> None:
        self._attribute_name(table, attr.name, name_span(attr.span, attr.name))
        self._text(f"the comment of `{attr.name}`", attr.comment, attr.span)
        spec = attr.type
        if spec is not UNRESOLVED_TYPE and spec.name == "enum":
            self._enum_values(attr)
        if attr.default is not None and attr.default.kind == "str":
            self._text(f"the default of `{attr.name}`", str(attr.default.value), attr.default.span)
        if attr.in_key and attr.nullable:
            self.error(
                "E0105",
                f"primary-key attribute `{attr.name}` cannot be nullable",
                attr.default.span if attr.default is not None else attr.span,
                f"remove `= null`, or move `{attr.name}` below `---`",
            )
        if spec is UNRESOLVED_TYPE:
            return  # its type did not resolve (reported); nothing below can be judged
        if attr.in_key and not spec.info.key_ok:
            what = spec.render() if spec.kind == "external" else spec.name
            self.error(
                "E0106",
                f"`{attr.name}` is a {what} attribute; {what} cannot be in a primary key",
                attr.span,
                f"move `{attr.name}` below `---`; key attributes must be comparable values "
                "(integers, strings, dates, uuid ...)",
            )
        default = attr.default
        if default is None or default.kind == "null":
            return
        if spec.kind in ("external", "attach"):
            what = spec.render()
            self.error(
                "E0150",
                f"`{attr.name}` ({what}) cannot have a default",
                default.span,
                "a stored value or file has no literal; use `= null` to make it optional",
            )
            return
        if spec.name == "enum" and default.kind != "keyword":
            if default.kind != "str" or default.value not in spec.args:
                self.error(
                    "E0109",
                    f"default {describe(default)} is not one of the values of `{attr.name}`",
                    default.span,
                    _enum_hint(default, spec.args),
                )
            return
        problem = check_default(spec, default)
        if problem is not None:
            self.error(
                "E0108", f"default of `{attr.name}`: {problem}", default.span, _value_hint(spec.name, default, True)
            )

    def _enum_values(self, attr: Attribute) -> None:
        """Enum values the database would store differently from how they are written.

        Measured on MariaDB 10.11 (utf8mb4_nopad_bin, the collation relflow's databases
        use) and documented for MySQL: trailing spaces (U+0020 only; tabs and other
        spaces are kept) are stripped from enum values when the table is declared, so
        `"ws "` reads back as `"ws"` and `"a"`, `"a "` are one value.  The binary
        collation equates nothing else: case, accents and Unicode normalization forms
        are all distinct.
        """
        values = [str(v) for v in attr.type.args]
        seen: dict[str, str] = {}
        for value in values:
            self._text(f"enum value {_shown(value)} of `{attr.name}`", value, attr.span)
            key = value.rstrip(" ")
            if key in seen:
                self.error(
                    "E0131",
                    f"enum values {_shown(seen[key])} and {_shown(value)} of `{attr.name}` are the same value "
                    "on MariaDB and MySQL",
                    attr.span,
                    "they differ only in trailing spaces, which the server strips; keep one of them",
                )
            elif key != value:
                self.error(
                    "E0131",
                    f"enum value {_shown(value)} of `{attr.name}` ends with a space",
                    attr.span,
                    f"MariaDB and MySQL strip trailing spaces from enum values: it would read back as "
                    f"{_shown(key)} there, unchanged on SQLite; remove the trailing space",
                )
            seen.setdefault(key, value)

    def _foreign_key(self, table: Table, fk: ForeignKey, complete: bool) -> None:
        for new, _ in fk.renames:
            self._attribute_name(table, new, fk.span, "renamed attribute")
        if fk.in_key and fk.nullable:
            self.error(
                "E0107",
                f"`-> [nullable] {fk.target}` is in the primary key",
                fk.span,
                "primary-key attributes cannot be null: remove `nullable`, or move the reference below `---`",
            )
        if fk.unique and fk.in_key and fk.parent and fk.attr_map and complete:
            mine = {child for child, _ in fk.attr_map}
            if mine == set(table.primary_key):
                self.warn(
                    "W0201",
                    f"`[unique]` on `-> {fk.target}` is redundant: its attributes are the whole primary key",
                    fk.span,
                    "remove `unique`",
                )

    def _key(self, table: Table, complete: bool) -> None:
        key_fks = [fk for fk in table.foreign_keys if fk.in_key]
        if table.tier.is_auto and not key_fks:
            self.error(
                "E0110",
                f"{table.tier.value} table `{table.name}` has no foreign key in its primary key",
                table.name_span,
                "populate() makes one row per key of its parents: add a dependency above `---`, "
                "e.g. `-> Session`; tables filled by hand are manual or lookup",
            )
            return
        if complete and not key_fks and not table.primary_key:
            self.error(
                "E0125",
                f"table `{table.name}` has no primary key",
                table.name_span,
                "declare at least one attribute or foreign key above `---`",
            )

    # ---------------------------------------------------------------- indexes

    def _indexes(self, table: Table) -> None:
        names = tuple(a.name for a in table.attributes)
        seen: dict[tuple[str, ...], Index] = {}
        pk = table.primary_key
        for index in table.indexes:
            ok = True
            for attr in index.attributes:
                if attr not in names:
                    ok = False
                    self.error(
                        "E0123",
                        f"index on unknown attribute `{attr}` of `{table.name}`",
                        index.span,
                        _did_you_mean(attr, names) or f"the attributes are {_listing(names)}",
                    )
            repeated = sorted({a for a in index.attributes if index.attributes.count(a) > 1})
            if repeated:
                ok = False
                self.error("E0128", f"index lists `{repeated[0]}` more than once", index.span)
            if not ok or not index.attributes:
                continue
            files = [a.name for a in table.attributes if a.name in index.attributes and _is_file(a.type)]
            if files:
                self.error(
                    "E0150",
                    f"index on `{files[0]}` ({_type_of(table, files[0])}): stored values and files cannot be indexed",
                    index.span,
                    "index the attributes that identify the value instead",
                )
                continue
            if index.attributes in seen:
                first = seen[index.attributes]
                self.error(
                    "E0128",
                    f"duplicate index on ({', '.join(index.attributes)})",
                    index.span,
                    "remove one of them",
                    notes=(f"the same attributes are indexed at line {first.span.line}",),
                )
                continue
            seen[index.attributes] = index
            if index.unique and pk and set(pk) <= set(index.attributes):
                whole = set(pk) == set(index.attributes)
                self.warn(
                    "W0201",
                    "`unique index` "
                    + ("on the primary key" if whole else "containing the whole primary key")
                    + " is redundant: the primary key is already unique",
                    index.span,
                    "remove it" if whole else "make it a plain `index(...)` if queries need it, or remove it",
                )
            elif not index.unique and index.attributes == pk[: len(index.attributes)]:
                self.warn(
                    "W0201",
                    f"index on ({', '.join(index.attributes)}) is redundant: the primary-key index starts "
                    "with these attributes",
                    index.span,
                    "remove it",
                )

    # --------------------------------------------------------------- contents

    def _contents(self, table: Table, complete: bool) -> None:
        if not table.contents:
            return
        if table.tier is not Tier.LOOKUP:
            self.error(
                "E0124",
                f"{table.tier.value} table `{table.name}` has contents; only lookup tables do",
                table.contents[0].span,
                "make it a lookup table, or insert the rows when the pipeline runs",
            )
            return
        if not complete:
            return
        files = [a.name for a in table.attributes if _is_file(a.type)]
        if files:
            self.error(
                "E0150",
                f"lookup `{table.name}` has contents and `{files[0]}` ({_type_of(table, files[0])}): "
                "contents cannot give files or stored values",
                table.contents[0].span,
                "make the table manual and insert its rows, or keep the file out of the lookup",
            )
            return
        keys: dict[tuple[object, ...], ContentRow] = {}
        for row in table.contents:
            cells = self._row_cells(table, row)
            if cells is None:
                continue
            key = self._row_key(table, cells)
            if key is None:
                continue
            if key in keys:
                pk = ", ".join(f"{name}={cells[name].text}" for name in table.primary_key)
                self.error(
                    "E0114",
                    f"contents repeat the primary key ({pk})",
                    row.span,
                    "every row of a lookup needs its own primary key",
                    notes=(f"first given at line {keys[key].span.line}",),
                )
            else:
                keys[key] = row

    def _row_cells(self, table: Table, row: ContentRow) -> dict[str, Value] | None:
        """The row's values by attribute name; None (and diagnostics) when it does not fit."""
        heading = table.attributes
        order = ", ".join(a.name for a in heading)
        cells: dict[str, Value] = {}
        ok = True
        if not row.names:
            if len(row.values) > len(heading):
                extra = row.values[len(heading)]
                self.error(
                    "E0113",
                    f"contents row has {len(row.values)} values but `{table.name}` has {len(heading)} attributes",
                    extra.span,
                    f"positional rows list the attributes in heading order: {order}",
                )
                return None
            cells = {a.name: v for a, v in zip(heading, row.values)}
        else:
            names = [a.name for a in heading]
            for name, value in zip(row.names, row.values):
                if name in cells:
                    self.error("E0113", f"contents row gives `{name}` twice", value.span)
                    ok = False
                elif name not in names:
                    self.error(
                        "E0113",
                        f"`{table.name}` has no attribute `{name}`",
                        row.span,
                        _did_you_mean(name, names) or f"the attributes are {order}",
                    )
                    ok = False
                else:
                    cells[name] = value
        missing = [a.name for a in heading if a.name not in cells and not a.nullable and a.default is None]
        if missing and ok:
            self.error(
                "E0113",
                f"contents row gives no value for {_listing(missing)}",
                row.span,
                (
                    f"positional rows list the attributes in heading order: {order}; only trailing "
                    "attributes that are nullable or have a default may be left out"
                    if not row.names
                    else "name every attribute that has no default"
                ),
            )
            ok = False
        for attr in heading:
            cell = cells.get(attr.name)
            if cell is not None and not self._cell(attr, cell):
                ok = False
        return cells if ok else None

    def _cell(self, attr: Attribute, value: Value) -> bool:
        if attr.type is UNRESOLVED_TYPE:
            return True  # its type did not resolve (reported)
        if value.kind == "null":
            if attr.nullable:
                return True
            self.error("E0113", f"`{attr.name}` cannot be null", value.span, "only nullable attributes take null")
            return False
        if value.kind == "keyword":
            self.error("E0113", f"{describe(value)} is only allowed as a default", value.span)
            return False
        if value.kind == "str":
            unstorable = _unstorable(str(value.value))
            if unstorable is not None:
                self.error("E0130", f"value for `{attr.name}` holds {unstorable}", value.span)
                return False
        problem = check_value(attr.type, value)
        if problem is None:
            return True
        hint = _value_hint(attr.type.name, value, False)
        if attr.type.name == "enum":
            hint = _enum_hint(value, attr.type.args)
        self.error("E0113", f"value for `{attr.name}`: {problem}", value.span, hint)
        return False

    def _row_key(self, table: Table, cells: dict[str, Value]) -> tuple[object, ...] | None:
        key: list[object] = []
        for name in table.primary_key:
            attr = table.attribute(name)
            value = cells.get(name)
            if attr is None or value is None:
                return None
            key.append(comparable(attr.type, value))
        return tuple(key)


def _value_hint(type_name: str, value: Value, default: bool) -> str | None:
    if value.kind == "str" and type_name in _NUMERIC:
        return "numbers are written without quotes"
    if value.kind in ("int", "float") and type_name in (
        "char",
        "varchar",
        "text",
        "date",
        "time",
        "datetime",
        "timestamp",
        "uuid",
    ):
        return f'write it in quotes: "{value.text}"'
    if value.kind == "keyword":
        return "CURRENT_TIMESTAMP needs a datetime or timestamp attribute"
    if default and type_name in NO_LITERAL_DEFAULT:
        return "MySQL has no literal defaults for this type; use `= null` or no default"
    return None


_NUMERIC = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "decimal")


def _is_file(spec: TypeSpec) -> bool:
    """A type whose values are files or stored objects (``attach``, ``blob@NAME`` ...)."""
    return spec.kind in ("external", "attach")


def _type_of(table: Table, name: str) -> str:
    for a in table.attributes:
        if a.name == name:
            return str(a.type.render())
    return "?"
