"""The example pipelines under examples/ compile cleanly and mean what their READMEs say.

Every ``examples/**/*.rf`` file is compiled as a root (with everything it
imports) and must produce no diagnostic at all, warnings included, both
through :func:`relflow_gen.compiler.frontend.compile_file` and through
``relflow-gen check``.  The rest pins down the structure the examples exist
to show: tiers, keys, parts, the hierarchical self-references, the lookup
contents, and, for the university example, that its types fit the CSV data
it is meant to load.
"""

from __future__ import annotations

import csv
import datetime
import decimal
from collections.abc import Iterator
from pathlib import Path

import pytest

from relflow_gen.cli.main import main
from relflow_gen.compiler.frontend import Compilation, compile_file
from relflow_gen.compiler.ir import ForeignKey, Project, Table, Tier
from relflow_gen.core.types import TypeSpec

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
UNIVERSITY_DATA = REPO / "examples" / "university" / "data"

ROOTS = sorted(EXAMPLES.glob("**/*.rf"))
EXPECTED_ROOTS = {
    "fractals/fractals.rf",
    "lab/common.rf",
    "lab/lab.rf",
    "languages/languages.rf",
    "multisite/multisite.rf",
    "sales/sales.rf",
    "university/university.rf",
}


def _rel(path: Path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


_cache: dict[str, Compilation] = {}


def compiled(rel: str) -> Compilation:
    if rel not in _cache:
        _cache[rel] = compile_file(str(EXAMPLES / rel))
    return _cache[rel]


def project(rel: str) -> Project:
    comp = compiled(rel)
    assert comp.project is not None, _render(comp)
    return comp.project


def table(rel: str, full_name: str) -> Table:
    t = project(rel).table(full_name)
    assert t is not None, f"{full_name} not in {rel}"
    return t


def _render(comp: Compilation) -> str:
    return "\n".join(f"{d.code} {d.span.file}:{d.span.line}:{d.span.col} {d.message}" for d in comp.diagnostics)


# ---------------------------------------------------------------------------
# Every example compiles without diagnostics
# ---------------------------------------------------------------------------


def test_all_examples_are_present() -> None:
    assert EXPECTED_ROOTS <= {_rel(p) for p in ROOTS}
    for folder in {p.parent for p in ROOTS}:
        assert (folder / "README.md").is_file(), f"{folder.name} has no README.md"


@pytest.mark.parametrize("path", ROOTS, ids=_rel)
def test_example_compiles_without_diagnostics(path: Path) -> None:
    comp = compiled(_rel(path))
    assert comp.diagnostics == [], _render(comp)
    assert comp.ok
    assert comp.project is not None


@pytest.mark.parametrize("path", ROOTS, ids=_rel)
def test_example_passes_check_command(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "ok:" in out and err == ""


def test_check_command_takes_all_examples_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *(str(p) for p in ROOTS)]) == 0, capsys.readouterr().err


# ---------------------------------------------------------------------------
# Tiers of every table
# ---------------------------------------------------------------------------

L, M, I, C, P = Tier.LOOKUP, Tier.MANUAL, Tier.IMPORTED, Tier.COMPUTED, Tier.PART  # noqa: E741

TIERS: dict[str, dict[str, Tier]] = {
    "lab/lab.rf": {
        "common.Species": L,
        "common.Experimenter": M,
        "lab.BrainRegion": L,
        "lab.ProtocolType": L,
        "lab.FilterParams": L,
        "lab.SortingParams": L,
        "lab.Rig": M,
        "lab.Protocol": M,
        "lab.Subject": M,
        "lab.Genotype": M,
        "lab.Session": M,
        "lab.Session.Trial": P,
        "lab.Recording": I,
        "lab.FilteredRecording": C,
        "lab.SpikeSorting": C,
        "lab.SpikeSorting.Unit": P,
        "lab.NeuronStats": C,
        "lab.TrialResponse": C,
        "lab.UnitCuration": M,
    },
    "languages/languages.rf": {
        "languages.LanguageFamily": L,
        "languages.Language": L,
        "languages.CefrLevel": L,
        "languages.Country": L,
        "languages.Person": M,
        "languages.Proficiency": M,
        "languages.LanguageReach": C,
        "languages.FamilyReach": C,
        "languages.LanguageProfile": C,
    },
    "university/university.rf": {
        "university.Student": M,
        "university.Department": M,
        "university.StudentMajor": M,
        "university.Course": M,
        "university.Course.Prerequisite": P,
        "university.Term": M,
        "university.Section": M,
        "university.CurrentTerm": M,
        "university.Enroll": M,
        "university.LetterGrade": L,
        "university.Grade": M,
        "university.GradesFinalized": M,
        "university.SectionGrades": C,
        "university.SectionGrades.Distribution": P,
        "university.StudentGpa": C,
        "university.DepartmentStats": C,
    },
    "sales/sales.rf": {
        "sales.ProductLine": L,
        "sales.Office": M,
        "sales.Employee": M,
        "sales.Customer": M,
        "sales.WebAccount": M,
        "sales.Product": M,
        "sales.SalesOrder": M,
        "sales.SalesOrder.Item": P,
        "sales.Payment": M,
        "sales.SalesMonth": M,
        "sales.OrderTotal": C,
        "sales.MonthlySales": C,
        "sales.MonthlySales.ByProductLine": P,
        "sales.MonthlySales.ByOffice": P,
        "sales.RepMonthlySales": C,
        "sales.CustomerBalance": C,
    },
    "fractals/fractals.rf": {
        "fractals.Resolution": L,
        "fractals.ColorMap": L,
        "fractals.HistogramSpec": L,
        "fractals.FractalParams": M,
        "fractals.FractalImage": C,
        "fractals.Rendering": C,
        "fractals.Thumbnail": C,
        "fractals.ImageStats": C,
        "fractals.Histogram": C,
        "fractals.BoxDimension": C,
        "fractals.BoxDimension.Scale": P,
    },
    "multisite/multisite.rf": {
        "multisite.ProbeType": L,
        "multisite.LfpBand": L,
        "multisite.Session": M,
        "multisite.Session.Probe": P,
        "multisite.Recording": I,
        "multisite.Recording.Channel": P,
        "multisite.ProbeQuality": C,
        "multisite.ProbeQuality.Channel": P,
        "multisite.ProbeLfp": C,
        "multisite.ProbeLfp.BandPower": P,
        "multisite.ProbeCoherence": C,
    },
}


@pytest.mark.parametrize("rel", sorted(TIERS))
def test_tables_and_tiers(rel: str) -> None:
    got = {t.full_name: t.tier for t in project(rel).tables()}
    assert got == TIERS[rel]


@pytest.mark.parametrize("rel", sorted(TIERS))
def test_parts_know_their_masters(rel: str) -> None:
    tables = {t.full_name: t for t in project(rel).tables()}
    for t in tables.values():
        if t.tier is Tier.PART:
            assert t.master is not None
            master = tables[f"{t.schema}.{t.master}"]
            assert t.name in master.parts
            # the master's key comes first in the part's key
            assert t.primary_key[: len(master.primary_key)] == master.primary_key


@pytest.mark.parametrize("rel", sorted(TIERS))
def test_auto_tables_have_a_key_source(rel: str) -> None:
    for t in project(rel).tables():
        if t.tier.is_auto:
            assert any(fk.in_key and fk.parent for fk in t.foreign_keys), t.full_name


# ---------------------------------------------------------------------------
# The language features, each used somewhere
# ---------------------------------------------------------------------------


def _all_tables() -> Iterator[Table]:
    seen: set[str] = set()
    for rel in sorted(TIERS):
        for t in project(rel).tables():
            if t.full_name not in seen:
                seen.add(t.full_name)
                yield t


def _all_fks() -> Iterator[tuple[Table, ForeignKey]]:
    for t in _all_tables():
        for fk in t.foreign_keys:
            yield t, fk


def test_examples_use_every_language_feature() -> None:
    tables = list(_all_tables())
    attrs = [a for t in tables for a in t.attributes if a.fk is None]
    fks = list(_all_fks())
    sources = "\n".join(p.read_text(encoding="utf-8") for p in ROOTS)
    features = {
        "schema doc string": all(s.doc for rel in TIERS for s in project(rel).schemas),
        "table doc strings": any(t.doc for t in tables if t.tier is not Tier.PART),
        "part doc strings": any(t.doc for t in tables if t.tier is Tier.PART),
        "defaults": any(a.default is not None and a.default.kind not in ("null", "keyword") for a in attrs),
        "= null": any(a.nullable for a in attrs),
        "CURRENT_TIMESTAMP default": any(a.default is not None and a.default.kind == "keyword" for a in attrs),
        "enum": any(a.type.name == "enum" for a in attrs),
        "[nullable]": any(fk.nullable for _, fk in fks),
        "[unique]": any(fk.unique for _, fk in fks),
        "[nullable, unique]": any(fk.nullable and fk.unique for _, fk in fks),
        ".proj() rename": any(fk.renames for _, fk in fks),
        "self-reference": any(fk.parent == t.full_name for t, fk in fks),
        "qualified reference": any(fk.parent.split(".", 1)[0] != t.schema for t, fk in fks),
        "reference to a part": any(fk.target.count(".") >= 1 and not fk.is_master and fk.parent.count(".") == 2 for _, fk in fks),
        "explicit -> master": any(fk.is_master for t, fk in fks if fk.span != t.name_span),
        "implied -> master": any(fk.is_master for t, fk in fks if fk.span == t.name_span),
        "index": any(not i.unique for t in tables for i in t.indexes),
        "unique index": any(i.unique for t in tables for i in t.indexes),
        "parts": any(t.tier is Tier.PART for t in tables),
        "positional contents": any(not r.names for t in tables for r in t.contents),
        "named contents": any(r.names for t in tables for r in t.contents),
        "null in contents": any(v.kind == "null" for t in tables for r in t.contents for v in r.values),
        "no divider (all key)": any(not t.secondary and t.tier is not Tier.PART for t in tables),
        "attribute comments": any(a.comment for a in attrs),
        "import": "import \"" in sources,
        "MySQL alias (longblob)": "longblob" in sources,
        "blob": any(a.type.name == "blob" for a in attrs),
        "bytes": any(a.type.name == "bytes" for a in attrs),
        "json": any(a.type.name == "json" for a in attrs),
        "text": any(a.type.name == "text" for a in attrs),
        "decimal": any(a.type.name == "decimal" for a in attrs),
        "date": any(a.type.name == "date" for a in attrs),
        "datetime": any(a.type.name == "datetime" for a in attrs),
        "timestamp": any(a.type.name == "timestamp" for a in attrs),
        "bool": any(a.type.name == "bool" for a in attrs),
        "char": any(a.type.name == "char" for a in attrs),
    }
    missing = sorted(name for name, used in features.items() if not used)
    assert not missing, f"no example uses: {', '.join(missing)}"


# ---------------------------------------------------------------------------
# lab
# ---------------------------------------------------------------------------


def test_lab_imports_common_with_qualified_references() -> None:
    proj = project("lab/lab.rf")
    assert [s.name for s in proj.schemas] == ["common", "lab"]
    subject = table("lab/lab.rf", "lab.Subject")
    (species,) = [fk for fk in subject.foreign_keys if fk.target == "common.Species"]
    assert species.parent == "common.Species"
    assert subject.attribute("species") is not None
    session = table("lab/lab.rf", "lab.Session")
    assert session.attribute("experimenter") is not None


def test_lab_brain_region_is_a_nullable_hierarchy() -> None:
    region = table("lab/lab.rf", "lab.BrainRegion")
    assert region.tier is Tier.LOOKUP
    (fk,) = region.foreign_keys
    assert fk.parent == "lab.BrainRegion"
    assert fk.nullable and not fk.in_key
    assert fk.attr_map == (("parent_id", "region_id"),)
    parent = region.attribute("parent_id")
    assert parent is not None and parent.nullable and not parent.in_key

    names = [a.name for a in region.attributes]
    rows = []
    for row in region.contents:
        cells = dict(zip(row.names or names, (v.value for v in row.values)))
        rows.append(cells)
    ids = [r["region_id"] for r in rows]
    assert len(ids) == len(set(ids))
    seen: set[object] = set()
    roots = []
    for r in rows:  # parents come before their children
        if r["parent_id"] is None:
            roots.append(r["acronym"])
        else:
            assert r["parent_id"] in seen, r
        seen.add(r["region_id"])
    assert roots == ["root"]
    by_acronym = {r["acronym"]: r for r in rows}
    # real Allen CCF structure ids
    assert by_acronym["root"]["region_id"] == 997
    assert by_acronym["HPF"]["region_id"] == 1089
    assert by_acronym["OLF"]["region_id"] == 698
    assert by_acronym["CTX"]["region_id"] == 688
    assert by_acronym["Isocortex"]["region_id"] == 315
    assert by_acronym["CA1"]["parent_id"] == by_acronym["CA"]["region_id"]


def test_lab_pipeline_keys() -> None:
    rel = "lab/lab.rf"
    session = table(rel, "lab.Session")
    assert session.primary_key == ("subject_id", "session_id")
    trial = table(rel, "lab.Session.Trial")
    assert trial.primary_key == ("subject_id", "session_id", "trial_id")
    recording = table(rel, "lab.Recording")
    assert recording.primary_key == session.primary_key
    samples, rate = recording.attribute("samples"), recording.attribute("sampling_rate")
    assert samples is not None and samples.type.name == "blob"
    assert rate is not None and rate.type.name == "float64"
    filtered = table(rel, "lab.FilteredRecording")
    assert filtered.primary_key == ("subject_id", "session_id", "filter_id")
    unit = table(rel, "lab.SpikeSorting.Unit")
    assert unit.primary_key == ("subject_id", "session_id", "filter_id", "sorting_id", "unit_id")
    assert table(rel, "lab.NeuronStats").primary_key == unit.primary_key
    assert table(rel, "lab.TrialResponse").primary_key == (*unit.primary_key, "trial_id")
    protocol = table(rel, "lab.Protocol")
    params = protocol.attribute("parameters")
    assert params is not None and params.type.name == "blob"  # written `longblob`


def test_lab_filter_params_contents_match_the_chapter() -> None:
    fp = table("lab/lab.rf", "lab.FilterParams")
    names = [a.name for a in fp.attributes]
    rows = [dict(zip(r.names or names, (v.value for v in r.values))) for r in fp.contents]
    first = {k: rows[0][k] for k in ("filter_id", "filter_type", "low_cutoff", "high_cutoff", "filter_order")}
    assert first == {"filter_id": 1, "filter_type": "bandpass", "low_cutoff": 300.0, "high_cutoff": 3000.0, "filter_order": 4}
    assert [r["filter_type"] for r in rows] == ["bandpass", "bandpass", "lowpass", "highpass"]


# ---------------------------------------------------------------------------
# languages
# ---------------------------------------------------------------------------


def _rows(t: Table) -> list[dict[str, object]]:
    names = [a.name for a in t.attributes]
    return [dict(zip(r.names or names, (v.value for v in r.values))) for r in t.contents]


def test_languages_reference_data() -> None:
    rel = "languages/languages.rf"
    families = _rows(table(rel, "languages.LanguageFamily"))
    family_ids = {f["family"] for f in families}
    assert all(f["parent_family"] is None or f["parent_family"] in family_ids for f in families)
    languages = _rows(table(rel, "languages.Language"))
    codes = [str(lang["language"]) for lang in languages]
    assert all(len(c) == 2 and c.isascii() and c.islower() for c in codes)
    assert len(set(codes)) == len(codes)
    assert len({lang["iso639_3"] for lang in languages}) == len(languages)
    assert all(lang["family"] is None or lang["family"] in family_ids for lang in languages)
    assert {"en", "fr", "es", "de", "zh", "ja"} <= set(codes)
    levels = _rows(table(rel, "languages.CefrLevel"))
    assert [lv["cefr_level"] for lv in levels] == ["A1", "A2", "B1", "B2", "C1", "C2"]
    fam = table(rel, "languages.LanguageFamily")
    (fk,) = fam.foreign_keys
    assert fk.parent == fam.full_name and fk.nullable


def test_languages_queries_are_expressible() -> None:
    rel = "languages/languages.rf"
    prof = table(rel, "languages.Proficiency")
    assert prof.primary_key == ("person_id", "language")
    # Person * Proficiency * Language & is_native & family: the attributes exist
    # and the join attributes share their lineage.
    lang = table(rel, "languages.Language")
    person = table(rel, "languages.Person")
    for name in ("is_native", "cefr_level", "assessor_id"):
        assert prof.attribute(name) is not None
    assert lang.attribute("family") is not None
    pa, pp = person.attribute("person_id"), prof.attribute("person_id")
    assert pa is not None and pp is not None and pa.lineage == pp.lineage
    la, pl = lang.attribute("language"), prof.attribute("language")
    assert la is not None and pl is not None and la.lineage == pl.lineage
    # no accidental clash of secondary attributes in the natural join
    secondary = [set(t.secondary) for t in (person, prof, lang)]
    assert not (secondary[0] & secondary[1]) and not (secondary[1] & secondary[2]) and not (secondary[0] & secondary[2])


# ---------------------------------------------------------------------------
# university
# ---------------------------------------------------------------------------


def test_university_keys() -> None:
    rel = "university/university.rf"
    enroll = table(rel, "university.Enroll")
    grade = table(rel, "university.Grade")
    assert enroll.primary_key == ("student_id", "dept", "course", "term_year", "term", "section")
    assert enroll.secondary == ()
    assert grade.primary_key == enroll.primary_key
    assert grade.secondary == ("grade",)
    assert table(rel, "university.Term").secondary == ()
    current = table(rel, "university.CurrentTerm")
    assert current.primary_key == ("omega",)
    omega = current.attribute("omega")
    assert omega is not None and omega.default is not None and omega.default.value == 1
    section = table(rel, "university.Section")
    assert section.primary_key == ("dept", "course", "term_year", "term", "section")
    prereq = table(rel, "university.Course.Prerequisite")
    assert prereq.primary_key == ("dept", "course", "prereq_dept", "prereq_course")


def test_university_letter_grades() -> None:
    rows = _rows(table("university/university.rf", "university.LetterGrade"))
    points = {r["grade"]: decimal.Decimal(str(r["points"])) for r in rows}
    assert points["A"] == decimal.Decimal("4.00")
    assert points["A-"] == decimal.Decimal("3.67")
    assert points["B+"] == decimal.Decimal("3.33")
    assert points["F"] == decimal.Decimal("0")
    ordered = [points[g] for g in points]
    assert ordered == sorted(ordered, reverse=True)
    with open(UNIVERSITY_DATA / "Grade.csv", newline="", encoding="utf-8") as f:
        used = {row["grade"] for row in csv.DictReader(f)}
    assert used <= set(points)


def _fits(spec: TypeSpec, text: str) -> str | None:
    """Why a CSV cell does not fit the type, or None."""
    kind, args = spec.kind, spec.args
    info = spec.info
    try:
        if kind == "int":
            value = int(text)
            assert info.int_range is not None
            lo, hi = info.int_range
            return None if lo <= value <= hi else f"{value} out of range"
        if kind == "decimal":
            d = decimal.Decimal(text)
            p, s = int(args[0]), int(args[1])
            exponent = d.as_tuple().exponent
            assert isinstance(exponent, int)
            if -exponent > s:
                return f"{text} has more than {s} decimals"
            return None if abs(d) < decimal.Decimal(10) ** (p - s) else f"{text} needs more than {p} digits"
        if kind == "str":
            limit = int(args[0]) if args else None
            return None if limit is None or len(text) <= limit else f"{text!r} longer than {limit}"
        if kind == "enum":
            return None if text in args else f"{text!r} not in {args}"
        if kind == "date":
            datetime.date.fromisoformat(text)
            return None
    except (ValueError, decimal.InvalidOperation) as exc:
        return f"{text!r}: {exc}"
    return f"no CSV check for {spec.name}"


def test_university_types_fit_the_csv_data() -> None:
    proj = project("university/university.rf")
    loaded = 0
    for csv_path in sorted(UNIVERSITY_DATA.glob("*.csv")):
        t = proj.table(f"university.{csv_path.stem}")
        assert t is not None, f"no table for {csv_path.name}"
        assert t.tier is Tier.MANUAL
        with open(csv_path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            assert tuple(reader.fieldnames or ()) == tuple(a.name for a in t.attributes), csv_path.name
            problems = []
            for n, row in enumerate(reader, start=2):
                for attr in t.attributes:
                    text = row[attr.name]
                    if text == "":
                        if not attr.nullable:
                            problems.append(f"{csv_path.name}:{n} {attr.name} is empty")
                        continue
                    why = _fits(attr.type, text)
                    if why is not None:
                        problems.append(f"{csv_path.name}:{n} {attr.name}: {why}")
        assert not problems, "\n".join(problems[:20])
        loaded += 1
    assert loaded == 9


# ---------------------------------------------------------------------------
# sales, fractals, multisite
# ---------------------------------------------------------------------------


def test_sales_structure() -> None:
    rel = "sales/sales.rf"
    employee = table(rel, "sales.Employee")
    (boss,) = [fk for fk in employee.foreign_keys if fk.parent == employee.full_name]
    assert boss.nullable and boss.attr_map == (("reports_to", "employee_number"),)
    account = table(rel, "sales.WebAccount")
    (customer,) = account.foreign_keys
    assert customer.unique and not customer.nullable and not customer.in_key
    item = table(rel, "sales.SalesOrder.Item")
    assert item.primary_key == ("order_number", "product_code")
    assert any(i.unique and i.attributes == ("order_number", "order_line_number") for i in item.indexes)
    assert table(rel, "sales.MonthlySales.ByProductLine").primary_key == ("month", "product_line")


def test_fractals_is_computed_after_parameter_entry() -> None:
    tables = project("fractals/fractals.rf").tables()
    manual = [t.name for t in tables if t.tier is Tier.MANUAL]
    assert manual == ["FractalParams"]
    image = table("fractals/fractals.rf", "fractals.FractalImage")
    assert image.primary_key == ("fractal_id", "resolution")
    iterations = image.attribute("iterations")
    assert iterations is not None and iterations.type.name == "blob"


def test_multisite_channels_name_their_probe() -> None:
    rel = "multisite/multisite.rf"
    probe = table(rel, "multisite.Session.Probe")
    assert probe.primary_key == ("session_id", "probe_id")
    for name in ("brain_region", "depth"):
        assert probe.attribute(name) is not None
    channel = table(rel, "multisite.Recording.Channel")
    assert channel.primary_key == ("session_id", "probe_id", "channel_id")
    assert {fk.parent for fk in channel.foreign_keys} == {"multisite.Recording", "multisite.Session.Probe"}
    coherence = table(rel, "multisite.ProbeCoherence")
    assert coherence.primary_key == ("session_id", "probe_a", "probe_b", "band")
