"""The command-line interface, run in-process through acuevidence.cli.main."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from acuevidence import effect_sizes, meta_analysis
from acuevidence.cli import main


@pytest.fixture
def trials(tmp_path):
    df = pd.DataFrame({
        "study": ["A", "B", "C", "D", "E"],
        "ea": [12, 8, 20, 5, 30], "na": [50, 40, 80, 30, 100],
        "es": [18, 15, 26, 9, 41], "ns": [50, 41, 79, 30, 98],
        "group": ["x", "x", "y", "y", "y"],
    })
    path = tmp_path / "trials.csv"
    df.to_csv(path, index=False)
    return df, path


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_effects_json_matches_library(capsys, trials, tmp_path):
    df, path = trials
    code, out, _ = run(capsys, "effects", "--measure", "RR", "--csv", str(path), "--ai", "ea",
                       "--n1i", "na", "--ci", "es", "--n2i", "ns", "--json",
                       "--out", str(tmp_path / "es.csv"))
    assert code == 0
    rows = json.loads(out)
    lib = effect_sizes("RR", df, ai="ea", n1i="na", ci="es", n2i="ns")
    assert [r["yi"] for r in rows] == pytest.approx(lib["yi"].tolist(), rel=1e-15)
    assert rows[0]["study"] == "A"
    assert pd.read_csv(tmp_path / "es.csv")["vi"].tolist() == pytest.approx(lib["vi"].tolist())


def test_pool_json_matches_library(capsys, trials, tmp_path):
    df, path = trials
    es = effect_sizes("RR", df, ai="ea", n1i="na", ci="es", n2i="ns")
    es_path = tmp_path / "es.tsv"
    es.to_csv(es_path, sep="\t", index=False)
    code, out, _ = run(capsys, "pool", "--csv", str(es_path), "--yi", "yi", "--vi", "vi",
                       "--method", "PM", "--test", "knha", "--labels", "study", "--json")
    assert code == 0
    got = json.loads(out)
    lib = meta_analysis(es["yi"], es["vi"], method="PM", test="knha", labels=es["study"])
    assert got["estimate"] == pytest.approx(lib.estimate, rel=1e-15)
    assert got["tau2_ci_upper"] == pytest.approx(lib.tau2_ci_upper, rel=1e-15)
    assert set(lib.to_dict()) == set(got)
    assert got["studies"][0]["label"] == "A"


def test_pool_text_and_excel(capsys, trials, tmp_path):
    df, _ = trials
    es = effect_sizes("OR", df, ai="ea", n1i="na", ci="es", n2i="ns")
    xlsx = tmp_path / "es.xlsx"
    es.to_excel(xlsx, index=False)
    code, out, _ = run(capsys, "pool", "--csv", str(xlsx), "--yi", "yi", "--vi", "vi",
                       "--measure", "OR", "--method", "DL")
    assert code == 0
    assert "Random-effects model (k = 5; method: DL" in out and "OR (exponentiated)" in out


def test_pool_subgroups(capsys, trials, tmp_path):
    df, _ = trials
    es = effect_sizes("RR", df, ai="ea", n1i="na", ci="es", n2i="ns")
    p = tmp_path / "es.csv"
    es.to_csv(p, index=False)
    code, out, _ = run(capsys, "pool", "--csv", str(p), "--yi", "yi", "--vi", "vi",
                       "--subgroup", "group", "--json")
    assert code == 0
    got = json.loads(out)
    assert got["groups"] == ["x", "y"] and got["tau2_model"] == "separate"


def test_example_runs(capsys):
    code, out, _ = run(capsys, "pool", "--example", "lee2004")
    assert code == 0
    assert "k = 16" in out and "RR (exponentiated)" in out


@pytest.mark.parametrize("argv,message", [
    (["pool", "--csv", "/nonexistent.csv", "--yi", "y", "--vi", "v"], "File not found"),
    (["pool"], "Give --csv FILE"),
])
def test_errors_are_one_line_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err and out == ""


def test_bad_column_and_value(capsys, trials, tmp_path):
    _, path = trials
    code, _, err = run(capsys, "pool", "--csv", str(path), "--yi", "ea", "--vi", "nope")
    assert code == 2 and "column 'nope'" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("y,v\n0.1,0.02\n0.2,-1\n")
    code, _, err = run(capsys, "pool", "--csv", str(bad), "--yi", "y", "--vi", "v")
    assert code == 2 and "row(s) 2" in err


def test_unknown_method(capsys, trials):
    _, path = trials
    code, _, err = run(capsys, "pool", "--csv", str(path), "--yi", "ea", "--vi", "na",
                       "--method", "bayes")
    assert code == 2 and "Unknown method" in err
