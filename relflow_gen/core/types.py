"""The type system: one table from `.rf` attribute types to SQL, Python and codecs.

Every attribute type of the language is one row of :data:`TYPES`.  A row says
how the type is spelled in MySQL and SQLite DDL, which Python type the
generated TypedDicts use, which codec kind the runtime applies, and whether the
type may be part of a primary key.  MySQL spellings that users paste from
DataJoint definitions (``int unsigned``, ``double``, ``longblob`` ...) are
aliases in :data:`ALIASES`.  Adding a type is adding one row.

This module is shared by the generator and the runtime, so it imports nothing
heavier than the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass

from relflow_gen.core.errors import RelflowError
from relflow_gen.core.lazy import lazy_module

TYPE_CHECKING = False
if TYPE_CHECKING:
    import difflib
else:  # only a misspelt type needs it (relflow_gen/core/lazy.py)
    difflib = lazy_module("difflib")

Arg = int | str


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """A resolved attribute type: a canonical name and its arguments.

    ``args`` holds ``(n,)`` for ``char``/``varchar``, ``(p, s)`` for
    ``decimal``, ``(fsp,)`` for ``time``/``datetime``/``timestamp`` and the
    allowed values for ``enum``.
    """

    name: str
    args: tuple[Arg, ...] = ()

    @property
    def info(self) -> TypeInfo:
        return TYPES[self.name]

    def render(self) -> str:
        """The canonical `.rf` spelling, e.g. ``varchar(32)`` or ``enum("a", "b")``."""
        if not self.args:
            return self.name
        if self.name == "enum":
            return "enum(" + ", ".join(quote(str(v)) for v in self.args) + ")"
        if self.info.params == "store":
            return f"{self.name}{self.args[0]}"
        return f"{self.name}(" + ", ".join(str(a) for a in self.args) + ")"

    def mysql(self) -> str:
        info = self.info
        if self.name == "enum":
            return "enum(" + ",".join(sql_string(str(v)) for v in self.args) + ")"
        return info.mysql.format(*self.args)

    def sqlite(self) -> str:
        info = self.info
        return info.sqlite.format(*self.args)

    @property
    def kind(self) -> str:
        return self.info.kind

    @property
    def store(self) -> str | None:
        """The object store of a ``blob@NAME``-like type (None for in-table types)."""
        return str(self.args[0]) if self.info.params == "store" else None


@dataclass(frozen=True)
class TypeInfo:
    """One row of the type table."""

    name: str
    kind: str  # codec kind: int float bool decimal str enum date time datetime uuid json bytes blob attach external
    params: str  # "" | "n" | "p,s" | "fsp" | "values" | "store"
    mysql: str  # format string over args
    sqlite: str
    python: str  # annotation used in generated TypedDicts
    key_ok: bool = True
    int_range: tuple[int, int] | None = None
    doc: str = ""
    insert_python: str = ""  # annotation of the values an insert accepts, when wider than `python`

    @property
    def python_insert(self) -> str:
        return self.insert_python or self.python


def _store(name: str, python: str, insert: str, doc: str) -> TypeInfo:
    # the row keeps a small JSON reference (store, hash, size ...); the value lives in the store
    return TypeInfo(name, "external", "store", "text", "TEXT", python, False, None, doc, insert)


def _int(name: str, mysql: str, bits: int, unsigned: bool) -> TypeInfo:
    lo, hi = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return TypeInfo(name, "int", "", mysql, "INTEGER", "int", True, (lo, hi), f"{bits}-bit integer")


TYPES: dict[str, TypeInfo] = {
    t.name: t
    for t in [
        _int("int8", "tinyint", 8, False),
        _int("uint8", "tinyint unsigned", 8, True),
        _int("int16", "smallint", 16, False),
        _int("uint16", "smallint unsigned", 16, True),
        _int("int32", "int", 32, False),
        _int("uint32", "int unsigned", 32, True),
        _int("int64", "bigint", 64, False),
        _int("uint64", "bigint unsigned", 64, True),
        TypeInfo("float32", "float", "", "float", "REAL", "float", True, None, "single precision"),
        TypeInfo("float64", "float", "", "double", "REAL", "float", True, None, "double precision"),
        TypeInfo("bool", "bool", "", "tinyint(1)", "INTEGER", "bool", True, None, "true/false"),
        TypeInfo("decimal", "decimal", "p,s", "decimal({0},{1})", "NUMERIC", "Decimal", True, None, "exact decimal"),
        TypeInfo("char", "str", "n", "char({0})", "TEXT", "str", True, None, "fixed-length string"),
        TypeInfo("varchar", "str", "n", "varchar({0})", "TEXT", "str", True, None, "string up to n characters"),
        TypeInfo("text", "str", "", "text", "TEXT", "str", False, None, "long string"),
        TypeInfo("enum", "enum", "values", "enum", "TEXT", "str", True, None, "one of the listed strings"),
        TypeInfo("date", "date", "", "date", "TEXT", "datetime.date", True, None, "calendar date"),
        TypeInfo("time", "time", "fsp", "time({0})", "TEXT", "datetime.time", True, None, "time of day"),
        TypeInfo("datetime", "datetime", "fsp", "datetime({0})", "TEXT", "datetime.datetime", True, None, "date and time"),
        TypeInfo("timestamp", "datetime", "fsp", "timestamp({0})", "TEXT", "datetime.datetime", True, None, "point in time"),
        TypeInfo("year", "int", "", "year", "INTEGER", "int", True, (1901, 2155), "calendar year (MySQL's `year`)"),
        TypeInfo("uuid", "uuid", "", "binary(16)", "BLOB", "uuid.UUID", True, None, "UUID"),
        TypeInfo("json", "json", "", "json", "TEXT", "Any", False, None, "JSON document"),
        TypeInfo("bytes", "bytes", "", "longblob", "BLOB", "bytes", False, None, "raw bytes"),
        TypeInfo("blob", "blob", "", "longblob", "BLOB", "Any", False, None, "numpy arrays and Python values"),
        TypeInfo(
            "attach", "attach", "", "longblob", "BLOB", "pathlib.Path", False, None, "a file kept in the table",
            "pathlib.Path | str",
        ),
        _store("blob@", "Any", "", "a blob kept in an object store"),
        _store("attach@", "pathlib.Path", "pathlib.Path | str", "a file kept in an object store"),
        _store("filepath@", "StoreRef", "str | StoreRef", "a file already in an object store"),
        _store("object@", "StoreRef", "pathlib.Path | str | StoreRef", "a file or folder written for the row"),
    ]
}

#: Default arguments filled in when a parametrised type is written without them.
DEFAULT_ARGS: dict[str, tuple[Arg, ...]] = {"time": (6,), "datetime": (6,), "timestamp": (6,)}

#: MySQL (and other common) spellings accepted as aliases: spelling -> canonical name.
#: Integer aliases accept and ignore a display width such as ``int(11)``.
ALIASES: dict[str, str] = {
    "tinyint": "int8",
    "tinyint unsigned": "uint8",
    "smallint": "int16",
    "smallint unsigned": "uint16",
    "mediumint": "int32",
    "mediumint unsigned": "uint32",
    "int": "int32",
    "integer": "int32",
    "int unsigned": "uint32",
    "integer unsigned": "uint32",
    "bigint": "int64",
    "bigint unsigned": "uint64",
    "float": "float32",
    "double": "float64",
    "double precision": "float64",
    "real": "float64",
    "boolean": "bool",
    "numeric": "decimal",
    "longblob": "blob",
    "mediumblob": "blob",
    "tinytext": "text",
    "mediumtext": "text",
    "longtext": "text",
    "binary(16)": "uuid",
    "varbinary": "bytes",
}

_INT_ALIASES = {k for k, v in ALIASES.items() if TYPES[v].kind == "int"}


class TypeProblem(RelflowError, ValueError):
    """A type spelling that does not resolve; carries a hint for diagnostics."""

    def __init__(self, message: str, hint: str | None = None, code: str = "E0119") -> None:
        super().__init__(message)
        self.hint = hint
        self.code = code


def resolve_type(words: tuple[str, ...], args: tuple[Arg, ...] | None) -> TypeSpec:
    """Resolve a written type (``("int", "unsigned")``, args or None) to a TypeSpec.

    Raises :class:`TypeProblem` with a did-you-mean hint when it does not resolve.
    """
    if len(words) == 3 and words[1] == "@":
        return _store_type(words[0], words[2], args)
    spelling = " ".join(w.lower() for w in words)
    if spelling == "binary" and args == (16,):
        return TypeSpec("uuid")
    if spelling in ("varbinary", "binary") and args is not None:
        if len(args) != 1 or not isinstance(args[0], int) or args[0] < 1:
            raise TypeProblem(f"`{spelling}` takes a length, e.g. `{spelling}(255)`", code="E0121")
        return TypeSpec("bytes")  # stored as a long blob; the length is not enforced
    if spelling == "year" and args is not None:
        if args != (4,):
            raise TypeProblem("`year` takes only the display width 4, e.g. `year(4)`", code="E0121")
        args = None  # MySQL's only width, as DataJoint declares it
    name = spelling
    if spelling in ALIASES:
        name = ALIASES[spelling]
        if spelling in _INT_ALIASES and args is not None:
            if len(args) != 1 or not isinstance(args[0], int):
                raise TypeProblem(f"`{spelling}` takes at most a display width, e.g. `{spelling}(11)`", code="E0121")
            args = None  # display width is ignored
    elif words and words[-1].lower() == "unsigned" and " ".join(words[:-1]).lower() in TYPES:
        raise TypeProblem(
            f"unknown type `{spelling}`",
            f"use `u{words[0].lower()}`" if words[0].lower().startswith("int") else None,
        )
    info = TYPES.get(name)
    if info is None:
        candidates = sorted(set(TYPES) | set(ALIASES))
        close = difflib.get_close_matches(spelling, candidates, n=1, cutoff=0.6)
        hint = f"did you mean `{close[0]}`?" if close else "see docs/language.md for the list of types"
        raise TypeProblem(f"unknown type `{spelling}`", hint)
    return TypeSpec(name, _check_args(info, spelling, args))


STORE_TYPES = ("blob", "attach", "filepath", "object")


def _store_type(base: str, store: str, args: tuple[Arg, ...] | None) -> TypeSpec:
    name = base.lower() + "@"
    if name not in TYPES:
        raise TypeProblem(
            f"unknown store type `{base}@{store}`",
            "a store holds " + ", ".join(f"`{t}@{store}`" for t in STORE_TYPES),
        )
    if args is not None:
        raise TypeProblem(f"`{name}{store}` takes no arguments", code="E0121")
    return TypeSpec(name, (store,))


def _check_args(info: TypeInfo, spelling: str, args: tuple[Arg, ...] | None) -> tuple[Arg, ...]:
    p = info.params
    if p == "":
        if args:
            raise TypeProblem(f"type `{spelling}` takes no arguments", code="E0121")
        return ()
    if p == "n":
        if args is None or len(args) != 1 or not isinstance(args[0], int) or not 1 <= args[0] <= 65535:
            raise TypeProblem(
                f"type `{spelling}` needs a length between 1 and 65535, e.g. `{spelling}(32)`",
                code="E0121",
            )
        if info.name == "char" and args[0] > 255:
            raise TypeProblem("`char` length must be at most 255; use varchar", code="E0121")
        return args
    if p == "p,s":
        if args is None:
            return (10, 0)
        if (
            len(args) not in (1, 2)
            or not all(isinstance(a, int) for a in args)
            or not 1 <= int(args[0]) <= 65
            or (len(args) == 2 and not 0 <= int(args[1]) <= min(30, int(args[0])))
        ):
            raise TypeProblem(
                "`decimal` takes precision and scale, e.g. `decimal(5,2)` (1 <= p <= 65, 0 <= s <= min(30, p))",
                code="E0121",
            )
        return args if len(args) == 2 else (args[0], 0)
    if p == "fsp":
        if args is None:
            return DEFAULT_ARGS[info.name]
        if len(args) != 1 or not isinstance(args[0], int) or not 0 <= args[0] <= 6:
            raise TypeProblem(f"`{spelling}` takes a fractional-second precision 0..6", code="E0121")
        return args
    # enum values
    if not args or not all(isinstance(a, str) for a in args):
        raise TypeProblem('`enum` needs one or more string values, e.g. `enum("a", "b")`', code="E0121")
    if len(set(args)) != len(args):
        raise TypeProblem("`enum` lists a value twice", code="E0121")
    return args


def quote(s: str) -> str:
    """A `.rf` string literal."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def sql_string(s: str) -> str:
    """A SQL string literal (for DDL only: enum values, comments, defaults)."""
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def python_annotation(spec: TypeSpec, *, insert: bool = False) -> str:
    """The annotation of a value of this type in generated code (``insert``: what an insert accepts)."""
    if spec.name == "enum":
        return "Literal[" + ", ".join(repr(str(v)) for v in spec.args) + "]"
    return spec.info.python_insert if insert else spec.info.python
