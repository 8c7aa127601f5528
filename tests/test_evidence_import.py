"""The curated-evidence converter and the committed evidence CSV files it produced.

Two groups of checks:

* the committed files in ``src/acuevidence/evidence/data`` (always run): schema columns, LF
  endings, sorted unique ids, vocabulary terms, provenance (source + locator + confidence),
  referential integrity, the duplicated trials kept once, and the arm counts of multi-arm trials;
* the converter itself, on the committed snapshot of the curated folder (``tools/curated_evidence``,
  a copy of ``../shared/evidence``; always run): deterministic bytes, identical to the committed
  files, and every number of every kept row equal to its curated source cell, every curated row
  accounted for. Where ``../shared/evidence`` sits beside the repository, the snapshot must equal
  it byte for byte (a curated correction upstream must be taken over, not missed).
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from acuevidence.errors import InputError
from acuevidence.evidence import vocabulary as voc

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "acuevidence" / "evidence" / "data"
TOOLS = REPO / "tools"
SHARED = TOOLS / "curated_evidence"  # the committed snapshot the data were converted from
UPSTREAM = REPO.parent / "shared" / "evidence"
SCHEMA_DOC = REPO / "docs" / "evidence-schema.md"

sys.path.insert(0, str(TOOLS))
import import_shared_evidence as conv

TABLES = tuple(conv.OUT_COLUMNS)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# Numeric columns per table; i2 may carry a printed bound such as ">50".
NUMERIC = {
    "studies": ("year", "pmid", "n_randomized", "n_sessions", "sessions_per_week",
                "treatment_weeks"),
    "arms": ("n_randomized",),
    "outcomes": ("scale_min", "scale_max", "timepoint_weeks", "n", "mean", "sd", "se", "ci_lb",
                 "ci_ub", "ci_level", "median", "q1", "q3", "events", "total"),
    "contrasts": ("timepoint_weeks", "estimate", "ci_lb", "ci_ub", "ci_level", "p_value", "n1",
                  "n2"),
    "reviews": ("year", "estimate", "ci_lb", "ci_ub", "k_studies", "n_participants", "i2"),
}
CURATED_FILES = ("studies.csv", "outcomes.csv", "contrasts.csv", "leg/studies.csv",
                 "leg/outcomes.csv", "leg/contrasts.csv", "reviews.csv")


def load(folder: Path, name: str) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of one output CSV."""
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def committed() -> dict[str, list[dict[str, str]]]:
    return {name: load(DATA, name)[1] for name in TABLES}


# ------------------------------------------------------------------------------------------
# Committed files (never skipped)
# ------------------------------------------------------------------------------------------


def schema_columns() -> dict[str, list[str]]:
    """Columns of each file as docs/evidence-schema.md lists them."""
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    out = {}
    for m in re.finditer(r"^## (\w+)\.csv.*?\n`([^`]+)`", text, re.MULTILINE | re.DOTALL):
        out[m.group(1)] = [c.strip() for c in m.group(2).replace("\n", " ").split(",")]
    return out


def test_headers_follow_the_schema_document():
    documented = schema_columns()
    assert set(documented) == set(TABLES)
    for name in TABLES:
        header, _ = load(DATA, name)
        assert header == documented[name] == list(conv.OUT_COLUMNS[name]), name


def test_files_are_utf8_lf_and_sorted_by_unique_id(committed):
    for name in TABLES:
        raw = (DATA / f"{name}.csv").read_bytes()
        assert b"\r" not in raw and not raw.startswith(b"\xef\xbb\xbf"), name
        raw.decode("utf-8")
        ids = [r[conv.ID_COLUMN[name]] for r in committed[name]]
        assert ids == sorted(ids), f"{name} not sorted by id"
        assert len(ids) == len(set(ids)), f"{name} has duplicated ids"
        for i in ids:
            assert re.fullmatch(r"[a-z0-9_]+(:[a-z0-9_]+)?", i), f"{name}: id {i!r} not a slug"


def test_vocabulary_columns_hold_only_vocabulary_terms(committed):
    for name, columns in conv.VOCAB_COLUMNS.items():
        for row in committed[name]:
            for col, vocab in columns.items():
                if row[col]:
                    assert row[col] in voc.VOCABULARIES[vocab], (name, col, row[col])
    for row in committed["arms"]:
        assert bool(row["sham_type"]) == (row["arm_type"] == "sham"), row["arm_id"]
    for row in committed["studies"]:
        assert row["condition"] and row["acupuncture_type"] and row["status"] == "active"


def test_numeric_cells_are_numbers(committed):
    for name, columns in NUMERIC.items():
        for row in committed[name]:
            for col in columns:
                assert not row[col] or NUMBER.fullmatch(row[col]), (name, col, row[col])


def test_every_value_row_has_source_locator_and_confidence(committed):
    sources = {r["source_id"]: r for r in committed["sources"]}
    for s in sources.values():
        assert s["url"].startswith("http") or s["note"], s["source_id"]
    for name in ("outcomes", "contrasts"):
        for row in committed[name]:
            assert row["source_id"] in sources, row
            assert row["locator"].strip(), row
            assert row["confidence"] in voc.CONFIDENCE, row
    for name in ("studies", "arms", "reviews"):
        for row in committed[name]:
            assert row["source_id"] in sources, (name, row)
    for row in committed["arms"]:
        if row["n_randomized"]:
            assert row["locator"].strip(), row["arm_id"]
    for row in committed["reviews"]:
        assert row["locator"].strip(), row["result_id"]


def test_outcome_rows_carry_a_number_and_events_rows_counts(committed):
    for row in committed["outcomes"]:
        numbers = [row[c] for c in ("mean", "median", "events", "total")]
        assert any(numbers), f"{row['value_id']} carries no number"
        if row["value_type"] == "events":
            assert row["events"] and row["total"], row["value_id"]
            assert int(row["events"]) <= int(row["total"]), row["value_id"]


def test_references_resolve_within_the_study(committed):
    studies = {r["study_id"] for r in committed["studies"]}
    arms = {r["arm_id"]: r for r in committed["arms"]}
    for arm in arms.values():
        assert arm["study_id"] in studies
        assert arm["arm_id"].startswith(arm["study_id"] + ":")
    for row in committed["outcomes"]:
        assert arms[row["arm_id"]]["study_id"] == row["study_id"], row["value_id"]
    for row in committed["contrasts"]:
        assert row["arm1_id"] != row["arm2_id"], row["contrast_id"]
        for col in ("arm1_id", "arm2_id"):
            assert arms[row[col]]["study_id"] == row["study_id"], row["contrast_id"]
        if row["p_value_qualifier"]:
            assert row["p_value"], row["contrast_id"]
    for row in committed["reviews"]:
        assert row["result_id"].startswith(row["review_id"] + ":")


def test_duplicated_trials_appear_once(committed):
    ids = [r["study_id"] for r in committed["studies"]]
    assert ids.count("tu2024") == 1 and ids.count("eamfe2017") == 1
    for name in ("studies", "arms", "outcomes", "contrasts"):
        assert not any(r["study_id"] == "ea_mfe_sciatica" for r in committed[name]), name
    # Tu 2024: one row per arm, outcome and week (the leg copy's opposite-sign rows are gone).
    keys = [(r["arm_id"], r["outcome"], r["scale"], r["timepoint_weeks"], r["value_type"])
            for r in committed["outcomes"] if r["study_id"] in ("tu2024", "eamfe2017")]
    assert len(keys) == len(set(keys))
    tu = [r for r in committed["outcomes"] if r["study_id"] == "tu2024" and r["outcome"] == "pain"]
    assert sorted(r["mean"] for r in tu) == ["-14.9", "-30.8"]
    assert len([r for r in committed["contrasts"] if r["study_id"] == "tu2024"]) == 2


@pytest.mark.parametrize("study_id, n_arms", [("haake2007", 3), ("cherkin2009", 4),
                                              ("sangdee2002", 4)])
def test_multi_arm_trials_have_all_their_arms(committed, study_id, n_arms):
    arms = [r for r in committed["arms"] if r["study_id"] == study_id]
    assert len(arms) == n_arms, [a["label"] for a in arms]


def test_gerac_arms_and_shared_control(committed):
    arms = {r["arm_id"]: r for r in committed["arms"] if r["study_id"] == "haake2007"}
    assert {a["arm_type"] for a in arms.values()} == {"acupuncture", "sham", "conventional"}
    assert arms["haake2007:sham_acupuncture"]["sham_type"] == "penetrating"
    assert sorted(a["n_randomized"] for a in arms.values()) == ["387", "387", "388"]


def test_numberless_events_rows_are_left_out_but_percentages_kept(committed):
    studies = {r["study_id"]: r for r in committed["studies"]}
    assert "53.1%" in studies["scharf2006"]["notes"]
    assert "30.3%" in studies["chen2013_koa_ept"]["notes"]
    assert not any(r["study_id"] in ("scharf2006", "chen2013_koa_ept")
                   for r in committed["outcomes"])


def test_import_log_is_committed():
    text = (DATA / "IMPORT_LOG.md").read_text(encoding="utf-8")
    for section in ("## Duplicated trials", "## Rows not imported", "## Risk of bias",
                    "## Row provenance"):
        assert section in text
    assert "header only" in text


def test_committed_files_load_into_the_typed_store():
    from acuevidence.evidence import store  # part of the package: never skipped

    tables = store.read_csv_dir(DATA)
    assert len(tables["outcomes"]) == len(load(DATA, "outcomes")[1])


# ------------------------------------------------------------------------------------------
# Vocabulary helpers
# ------------------------------------------------------------------------------------------


def test_check_term_accepts_terms_and_suggests_close_matches():
    assert voc.check_term("CONDITIONS", "knee_oa") == "knee_oa"
    assert voc.check_term("arm_types", "sham") == "sham"
    with pytest.raises(InputError, match="chronic_nonspecific_lbp"):
        voc.check_term("CONDITIONS", "chronic_nonspecific_lb")
    with pytest.raises(InputError, match="'MD'"):
        voc.check_term("MEASURES", "md")
    with pytest.raises(InputError, match="Unknown vocabulary"):
        voc.check_term("CONDITION_TYPES", "knee_oa")
    assert voc.term_label("WINDOWS", "short").startswith("Short term (up to 3 months")
    assert voc.CONDITIONS == tuple(voc.CONDITION_LABELS)
    assert len(voc.CONDITIONS) == 17 and len(voc.ARM_TYPES) == 14


# ------------------------------------------------------------------------------------------
# The converter on the curated folder (where CI has it)
# ------------------------------------------------------------------------------------------

def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason="no ../shared/evidence beside the repository "
                    "to compare the snapshot with")
def test_snapshot_equals_the_curated_folder():
    assert _files(SHARED) == _files(UPSTREAM), (
        "tools/curated_evidence differs from ../shared/evidence: copy the curated folder over "
        "and rerun tools/import_shared_evidence.py")


def test_snapshot_is_complete():
    names = set(_files(SHARED))
    assert set(CURATED_FILES) <= names and "CURATION.md" in names


@pytest.fixture(scope="module")
def conversion():
    return conv.convert(SHARED)


def curated_rows() -> dict[str, dict[str, str]]:
    """Every curated row by ``file:line``."""
    rows = {}
    for name in CURATED_FILES:
        with (SHARED / name).open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            for rec in reader:
                rows[f"{name}:{reader.line_num}"] = rec
    return rows


def test_converter_is_deterministic_and_matches_committed_files(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    conv.write(conv.convert(SHARED), first)
    subprocess.run([sys.executable, str(TOOLS / "import_shared_evidence.py"), str(SHARED),
                    str(second)], check=True, capture_output=True)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert set(names) == {f"{t}.csv" for t in TABLES} | {"IMPORT_LOG.md"}
    for name in names:
        data = (first / name).read_bytes()
        assert data == (second / name).read_bytes(), f"{name} differs between runs"
        assert data == (DATA / name).read_bytes(), (
            f"committed {name} is stale: rerun tools/import_shared_evidence.py")


def test_every_number_survives_unchanged(conversion):
    source = curated_rows()
    tables = {name: {r[conv.ID_COLUMN[name]]: r for r in rows}
              for name, rows in conversion.tables.items()}
    same = {
        "outcomes": {c: c for c in ("n", "mean", "sd", "se", "ci_lb", "ci_ub", "median", "q1",
                                    "q3", "events", "total", "timepoint_weeks", "scale",
                                    "direction", "value_type", "locator", "confidence",
                                    "notes")},
        "contrasts": {c: c for c in ("estimate", "ci_lb", "ci_ub", "n1", "n2",
                                     "timepoint_weeks", "measure", "scale", "locator")},
        "reviews": {c: c for c in ("year", "estimate", "ci_lb", "ci_ub", "k_studies",
                                   "n_participants", "scale", "locator", "comparison")},
        "studies": {"year": "year", "pmid": "pmid", "doi": "doi",
                    "n_randomized": "n_randomized", "sessions_text": "n_sessions"},
    }
    # Cells that are text in a numeric column move verbatim into a note column.
    moved = {"studies": {"sessions_per_week": "notes", "treatment_weeks": "notes"},
             "reviews": {"i2": "measure_note"}}
    checked = 0
    for key, where in conversion.provenance.items():
        table, out_id = key.split("/", 1)
        out, src = tables[table][out_id], source[where]
        for out_col, src_col in same[table].items():
            assert out[out_col] == src[src_col], (key, out_col, out[out_col], src[src_col])
            checked += 1
        for col, note_col in moved.get(table, {}).items():
            if out[col] != src[col]:
                assert out[col] == "" and f"'{src[col]}'" in out[note_col], (key, col)
            checked += 1
        if table == "contrasts":
            assert out["p_value_qualifier"] + out["p_value"] == src["p_value"].replace(" ", "")
        if table == "studies":
            assert out["notes"].startswith(src["notes"])
        if table in ("outcomes", "contrasts"):
            assert out["notes"].startswith(src["notes"])
    assert checked > 5000


def test_every_curated_row_is_written_or_logged(conversion):
    source = curated_rows()
    written = set(conversion.provenance.values())
    logged = "\n".join(conversion.log["Duplicated trials"] + conversion.log["Rows not imported"])
    missing = [where for where in source if where not in written and f"`{where}`" not in logged]
    assert not missing
    # Dropped rows are only the known duplicates and the numberless events rows.
    dropped = [w for w in source if w not in written]
    assert len(dropped) == 2 + 8 + 2 + 5


def test_source_ids_are_stable_and_every_url_has_one(conversion):
    source = curated_rows()
    urls = {r["source_url"] for r in source.values()}
    rows = conversion.tables["sources"]
    assert {r["url"] or r["note"] for r in rows} == urls
    github = [r for r in rows if not r["url"]]
    assert github and all(r["kind"] == "tertiary" and "Cherkin 2009" in r["note"]
                          for r in github)
