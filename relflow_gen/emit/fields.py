"""Items of the generated TypedDicts: the Python type of every attribute.

``<T>Key`` items are the primary-key attributes with their plain types;
``<T>Row`` items add ``| None`` to nullable attributes; ``<T>Insert`` items
wrap attributes that may be left out (a default, ``= null``, a nullable
foreign key) in ``NotRequired[...]``.  Types come from
:func:`relflow_gen.core.types.python_annotation`; enums are spelled with double
quotes, as black writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from relflow_gen.core.meta import Attr
from relflow_gen.core.types import python_annotation
from relflow_gen.emit import literals as lit
from relflow_gen.emit.layout import block, subscript

#: black's line length for generated code (emit.py formats with it).
LINE_LENGTH = 100


@dataclass(frozen=True)
class Field:
    """One item of a TypedDict: ``name: annotation  # comment``.

    The comment goes on the line above when the line would be too long (black
    would otherwise split the annotation to make room for it).
    """

    name: str
    annotation: str
    comment: str = ""

    @property
    def comment_above(self) -> bool:
        return bool(self.comment) and len(f"    {self.name}: {self.annotation}  # {self.comment}") > LINE_LENGTH

    @property
    def code(self) -> str:
        """``name: annotation`` laid out at indent 4 (first line without its indentation)."""
        return block(subscript(self.annotation, f"{self.name}: "), 4, "", LINE_LENGTH)[4:]


def annotation(a: Attr, imports: lit.Imports, *, insert: bool = False) -> str:
    """The Python type of the attribute's values (``X | None`` when nullable); records its imports.

    ``insert``: what an insert accepts, wider for files (``pathlib.Path | str`` for ``attach``)."""
    ann = python_annotation(a.type, insert=insert)
    if "pathlib." in ann:
        imports.modules.add("pathlib")
    if "StoreRef" in ann:
        imports.names.add(("relflow_gen.runtime.stores", "StoreRef"))
    if a.type.name == "enum":
        ann = "Literal[" + ", ".join(lit.py_str(str(v)) for v in a.type.args) + "]"
        imports.names.add(("typing", "Literal"))
    elif ann.startswith("datetime."):
        imports.modules.add("datetime")
    elif ann.startswith("uuid."):
        imports.modules.add("uuid")
    elif ann == "Decimal":
        imports.names.add(("decimal", "Decimal"))
    elif ann == "Any":
        imports.names.add(("typing", "Any"))
    if a.nullable and not a.in_key and ann != "Any":
        ann += " | None"
    return ann


def key_field(a: Attr, imports: lit.Imports) -> Field:
    return Field(a.name, annotation(a, imports))


def row_field(a: Attr, imports: lit.Imports) -> Field:
    return Field(a.name, annotation(a, imports), comment(a))


def insert_field(a: Attr, imports: lit.Imports) -> Field:
    ann = annotation(a, imports, insert=True)
    if not a.required:
        imports.names.add(("typing", "NotRequired"))
        ann = f"NotRequired[{ann}]"
    return Field(a.name, ann, comment(a))


def comment(a: Attr) -> str:
    """The `.rf` type (enums show their values in the annotation) and the attribute's comment."""
    words = [] if a.type.name == "enum" else [a.type.render()]
    if a.comment:
        words.append(" ".join(a.comment.split()))
    return ": ".join(words)
