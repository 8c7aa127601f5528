"""Data checks and stats over the registry; the bundled data must pass (CI gate)."""

from __future__ import annotations

import copy
import json

import pytest

from acuevidence.cli import main
from acuevidence.evidence.checks import run_checks, stats
from acuevidence.evidence.store import bundled_csv_dir, read_csv_dir

TABLES = read_csv_dir(bundled_csv_dir())


def test_bundled_registry_has_no_errors():
    errors = [str(p) for p in run_checks(TABLES) if p.severity == "error"]
    assert errors == []


def _first(tables, table, **match):
    return next(r for r in tables[table] if all(r.get(k) == v for k, v in match.items()))


@pytest.mark.parametrize("mutate,table,column,text", [
    (lambda t: _first(t, "outcomes", value_type="events").update(events=10**6),
     "outcomes", "events", "exceed the total"),
    (lambda t: _first(t, "outcomes", value_type="final").update(sd=-2.0),
     "outcomes", "sd", "must not be negative"),
    (lambda t: _first(t, "outcomes", value_type="final").update(locator=None),
     "outcomes", "locator", "needs its source"),
    (lambda t: _first(t, "studies").update(condition="back_pain"), "studies", "condition",
     "is not a term of CONDITIONS"),
    (lambda t: _first(t, "contrasts", measure="RD").update(estimate=3.4, ci_lb=-3.7, ci_ub=10.3),
     "contrasts", "estimate", "percentage points"),
])
def test_checks_catch_injected_problems(mutate, table, column, text):
    t = copy.deepcopy(TABLES)
    mutate(t)
    hits = [p for p in run_checks(t) if p.severity == "error" and p.table == table
            and p.column == column]
    assert hits and text in hits[0].message


def test_same_trial_twice_is_found():
    t = copy.deepcopy(TABLES)
    s = copy.deepcopy(_first(t, "studies", study_id="haake2007"))
    s["study_id"] = "gerac_again"
    t["studies"].append(s)
    hits = [p for p in run_checks(t) if p.row_id == "gerac_again" and p.severity == "error"]
    assert any("entered twice" in p.message for p in hits)


def test_contradictory_values_are_found():
    t = copy.deepcopy(TABLES)
    r = copy.deepcopy(_first(t, "outcomes", value_type="final"))
    r["value_id"] = r["value_id"] + "-copy"
    r["mean"] = (r["mean"] or 0) + 1.0
    t["outcomes"].append(r)
    assert any("contradicts" in p.message for p in run_checks(t) if p.severity == "error")


def test_stats_counts_conditions_and_comparators():
    frame = stats(TABLES)
    anyrow = frame[(frame.condition == "chronic_nonspecific_lbp") & (frame.comparator == "(any)")]
    n_chronic = sum(1 for s in TABLES["studies"] if s["condition"] == "chronic_nonspecific_lbp")
    assert int(anyrow.trials.iloc[0]) == n_chronic
    sham = frame[(frame.condition == "knee_oa") & (frame.comparator == "sham")]
    assert int(sham.trials.iloc[0]) >= 6


def test_cli_stats_check_and_edit_cycle(tmp_path, capsys):
    db = str(tmp_path / "e.sqlite")
    assert main(["evidence", "stats", "--json", "--database", db]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["evidence_version"].startswith("ev-") and out["rows"]
    assert main(["evidence", "check", "--database", db, "--errors-only"]) == 0
    capsys.readouterr()
    vid = TABLES["outcomes"][0]["value_id"]
    assert main(["evidence", "retract", "outcomes", vid, "--why", "test", "--who", "cli",
                 "--database", db]) == 0
    assert main(["evidence", "history", "outcomes", vid, "--json", "--database", db]) == 0
    hist = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert hist[-1]["action"] == "retract" and hist[-1]["who"] == "cli"
    assert main(["evidence", "edit", "outcomes", vid, "--set", "outcome=pian", "--why", "t",
                 "--database", db]) == 2
    assert "Did you mean" in capsys.readouterr().err
    assert main(["evidence", "export", "--out", str(tmp_path / "csv"), "--database", db]) == 0
    exported = read_csv_dir(tmp_path / "csv")
    assert next(r for r in exported["outcomes"] if r["value_id"] == vid)["status"] == "retracted"


def test_cli_check_fails_on_errors(tmp_path, capsys):
    import shutil

    d = tmp_path / "csv"
    shutil.copytree(bundled_csv_dir(), d)
    p = d / "studies.csv"
    p.write_text(p.read_text().replace("chronic_nonspecific_lbp", "chronic_lbp", 1))
    assert main(["evidence", "check", "--csv-dir", str(d), "--errors-only"]) == 1
    assert "is not a term of CONDITIONS" in capsys.readouterr().out
