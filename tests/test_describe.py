"""Table.describe() gives back `.rf` text that compiles to the same tables."""

from __future__ import annotations

from runtime_fixtures import pipeline_from

from relflow_gen.compiler.frontend import compile_text

SOURCE = '''schema zoo "Animals"

lookup Region "Regions of the world" {
    region_id: uint32
    ---
    region_name: varchar(64)
    -> [nullable] Region.proj(parent_id="region_id")
}

manual Keeper {
    keeper: varchar(16)
    ---
    hired = "2020-01-01": date
    senior = false: bool
}

manual Animal {
    animal_id: int32
    ---
    -> Region
    -> [nullable, unique] Keeper.proj(carer="keeper")
    weight = null: decimal(6, 2)  # kg
    kind = "cat": enum("cat", "dog")
    seen_at = CURRENT_TIMESTAMP: datetime
}

computed Weighing {
    -> Animal
    ---
    heavy: bool
}
'''


def test_describe_round_trips() -> None:
    db = pipeline_from(SOURCE, "sqlite:///:memory:")
    text = "schema zoo\n\n" + "\n\n".join(t.describe() for t in db.tables()) + "\n"
    assert '-> [nullable, unique] Keeper.proj(carer="keeper")' in text
    assert '-> [nullable] Region.proj(parent_id="region_id")' in text
    assert 'hired = "2020-01-01": date' in text
    assert "seen_at = CURRENT_TIMESTAMP: datetime(6)" in text
    again = compile_text(text, "described.rf")
    assert again.ok, [d.message for d in again.diagnostics]
    original = compile_text(SOURCE, "zoo.rf")
    assert again.project is not None and original.project is not None

    def heading(project: object) -> list[tuple[str, list[tuple[str, str, bool, bool]]]]:
        return [
            (t.name, [(a.name, a.type.render(), a.in_key, a.nullable) for a in t.attributes])
            for t in project.tables()  # type: ignore[attr-defined]
        ]

    assert heading(again.project) == heading(original.project)
