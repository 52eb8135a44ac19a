"""make() scaffolds: ``relflow-gen stubs`` (and ``build --stubs``).

For every imported/computed table, a module in the user's makers package
(``[tool.relflow-gen] makers``) with a class that subclasses the generated
``<Table>Maker`` base and a typed ``make(self, key)`` whose body raises
:class:`NotImplementedError`; its docstring lists the key, the attributes of
the row to insert and the parts.  Plus an ``__init__.py`` collecting them in
``MAKERS``.  Files that exist are never overwritten: the scaffolds are the
user's code from the moment they are written.

:func:`stub_files` is pure; :func:`relflow_gen.emit.write.create_new` creates the
files that do not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from relflow_gen.compiler.ir import Project
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.emit.fields import Field
from relflow_gen.emit.layout import Atom, block, prefixed, tup
from relflow_gen.emit.models import NamingError, PackageModel, TableModel, package_model
from relflow_gen.emit.names import module_name
from relflow_gen.emit.package import EmitError, EmitOptions, environment


@dataclass(frozen=True)
class PartStub:
    attr: str
    insert_type: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Stub:
    full_name: str
    tier: str
    source: str
    package: str
    module: str
    class_name: str
    maker_class: str
    key_type: str
    insert_type: str
    doc: str
    key_fields: tuple[Field, ...]
    insert_fields: tuple[Field, ...]
    parts: tuple[PartStub, ...]
    upstream_example: str


@dataclass(frozen=True)
class MakersInit:
    schema: str
    source: str
    package: str
    makers_package: str
    imports: tuple[tuple[str, str], ...]  # (module, class)

    @property
    def makers_block(self) -> str:
        """``MAKERS = (...)`` as black writes it: one class per line, ``(A,)`` for one, ``()`` for none."""
        return block(prefixed("MAKERS = ", tup([Atom(cls) for _, cls in self.imports], magic=True)))


def stub_models(model: PackageModel) -> list[Stub]:
    by_name = {t.full_name: t for t in model.tables}
    out = []
    for t in model.makers:
        stem = t.maker_class.removesuffix("Maker")
        parts = tuple(PartStub(p.attr, p.insert_type, _safe(by_name[p.full_name].insert_fields)) for p in t.parts)
        out.append(
            Stub(
                full_name=t.full_name,
                tier=t.tier,
                source=model.source,
                package=model.package,
                module=module_name(stem),
                class_name=f"Make{stem}",
                maker_class=t.maker_class,
                key_type=t.key_type,
                insert_type=t.insert_type,
                doc=t.doc,
                key_fields=_safe(t.key_fields),
                insert_fields=_safe(t.insert_fields),
                parts=parts,
                upstream_example=_upstream(t, model),
            )
        )
    return out


def _upstream(t: TableModel, model: PackageModel) -> str:
    """How make() reads its first primary-key parent's row ("" when every such reference is renamed).

    populate's ``key`` restricts by the attributes it shares with the query,
    so ``(parent & key).fetch1()`` works although the key has more attributes.
    """
    by_name = {other.full_name: other for other in model.tables}
    for name in t.key_parents:
        parent = by_name.get(name)
        if parent is not None:
            return f"(self.db.{parent.binding_path} & key).fetch1()"
    return ""


def _safe(fields: tuple[Field, ...]) -> tuple[Field, ...]:
    """Fields whose text can sit inside a docstring."""
    return tuple(Field(f.name, _esc(f.annotation), _esc(f.comment)) for f in fields)


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def stub_files(project: Project, options: EmitOptions, makers_package: str) -> dict[str, str]:
    """The scaffold modules of the makers package, by file name (sorted)."""
    try:
        model = package_model(schema_meta(project), options.package, options.source)
    except NamingError as exc:
        raise EmitError(str(exc)) from None
    env = environment()
    stubs = stub_models(model)
    files = {f"{s.module}.py": env.get_template("stub.py.jinja").render(s=s) for s in stubs}
    init = MakersInit(
        schema=model.schema,
        source=model.source,
        package=model.package,
        makers_package=makers_package,
        imports=tuple((s.module, s.class_name) for s in stubs),
    )
    files["__init__.py"] = env.get_template("makers_init.py.jinja").render(i=init)
    return dict(sorted(files.items()))
