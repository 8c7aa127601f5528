"""Simulation studies: grids, study-level data, performance measures, the CLI, resuming."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from acuevidence import effect_sizes
from acuevidence.batch import fit_many_tests
from acuevidence.batch.distributed import chunk_dir_for, run_simulation
from acuevidence.batch.simulate import (
    Grid,
    Scenario,
    arm_effect_sizes,
    chunk_statistics,
    generate,
    generate_arms,
    performance,
    reduce_statistics,
    simulate_chunk,
)
from acuevidence.cli_batch import add_simulate_parser, run_simulate
from acuevidence.errors import InputError

GRID = Path(__file__).parent / "data" / "grid_small.yaml"
# Sufficient statistics merged over chunks equal the direct computation up to rounding.
MERGE_TOL = 1e-12


def _small_grid(**over) -> Grid:
    spec = {"factors": {"k": [4, 8], "effect": [0.0, 0.3]}, "tau2": 0.04, "n": [15, 60],
            "measure": "SMD", "methods": ["DL", "REML"], "tests": ["z", "knha"]}
    spec.update(over)
    return Grid.from_dict(spec)


def test_grid_from_yaml() -> None:
    grid = Grid.from_yaml(GRID)
    assert len(grid.scenarios) == 2 * 2 * 2 * 2 + 2
    assert grid.methods == ("DL", "REML", "PM") and grid.tests == ("z", "knha")
    first = grid.scenarios[0]
    assert first.n == (20, 80) and first.baseline_risk == 0.25
    assert {s.measure for s in grid.scenarios} == {"SMD", "OR", "MD", "RR"}
    assert len({s.key for s in grid.scenarios}) == len(grid.scenarios)


@pytest.mark.parametrize(("spec", "column"), [
    ({"factors": {"k": [5]}, "tau2": 0, "n": 20, "effect": 0, "measure": "XX"}, "measure"),
    ({"factors": {"k": [5], "colour": [1]}}, "factors"),
    ({"k": 5, "tau2": 0, "n": 20, "effect": 0, "measure": "MD", "speed": 3}, "grid"),
    ({"tau2": 0, "n": 20, "effect": 0, "measure": "MD"}, "grid"),
    ({"k": 5, "tau2": -1, "n": 20, "effect": 0, "measure": "MD"}, "tau2"),
    ({"k": 5, "tau2": 0, "n": [30, 10], "effect": 0, "measure": "MD"}, "n"),
    ({"k": 5, "tau2": 0, "n": 20, "effect": 0, "measure": "MD", "small_study_bias": 2},
     "small_study_bias"),
    ({"k": 5, "tau2": 0, "n": 20, "effect": 0, "measure": "MD", "methods": ["GENQ"]},
     "methods"),
    ({}, "grid"),
])
def test_bad_grids_raise_input_error(spec, column) -> None:
    with pytest.raises(InputError) as info:
        Grid.from_dict(spec)
    assert info.value.column == column


@pytest.mark.filterwarnings("ignore::acuevidence.errors.ZeroCellWarning")
@pytest.mark.parametrize("measure", ["MD", "SMD", "OR", "RR"])
def test_effect_sizes_are_escalcs(measure: str) -> None:
    sc = Scenario(k=6, tau2=0.1, n=(8, 30), effect=0.5, measure=measure)
    arms = generate_arms(sc, 5, np.random.default_rng(1))
    yi, vi = arm_effect_sizes(measure, arms)
    cols = [c for c in arms if c != "theta"]
    frame = pd.DataFrame({c: arms[c].ravel() for c in cols})
    ref = effect_sizes(measure, frame, **{c: c for c in cols})
    np.testing.assert_allclose(yi.ravel(), ref["yi"], rtol=1e-14, atol=0)
    np.testing.assert_allclose(vi.ravel(), ref["vi"], rtol=1e-14, atol=0)
    assert np.all(np.isfinite(yi)) and np.all(vi > 0)


def test_arm_data_follow_the_model() -> None:
    sc = Scenario(k=4, tau2=0.0, n=(50, 50), effect=0.3, measure="MD", sd=2.0)
    arms = generate_arms(sc, 20_000, np.random.default_rng(3))
    diff = arms["m1i"] - arms["m2i"]
    # E(MD) = 0.3, Var(MD) = 2 * sd^2 / n = 0.16; five Monte Carlo SEs
    assert abs(diff.mean() - 0.3) < 5 * math.sqrt(0.16 / diff.size)
    assert abs(diff.var() - 0.16) < 5 * 0.16 * math.sqrt(2 / diff.size)
    assert abs((arms["sd1i"] ** 2).mean() - 4.0) < 5 * 4.0 * math.sqrt(2 / 49 / diff.size)


def test_small_study_bias_suppresses_nonsignificant_small_studies() -> None:
    sc = Scenario(k=10, tau2=0.0, n=(10, 40), effect=0.0, measure="SMD", small_study_bias=1.0)
    yi, vi, mask = generate(sc, 2000, np.random.default_rng(4))
    assert mask is not None and mask.shape == (2000, 30)
    assert mask.sum(axis=1).max() <= 10
    fits = fit_many_tests(yi, vi, "DL", ["z"], mask=mask)["z"]
    unbiased = Scenario(k=10, tau2=0.0, n=(10, 40), effect=0.0, measure="SMD")
    y0, v0, m0 = generate(unbiased, 2000, np.random.default_rng(4))
    assert m0 is None
    plain = fit_many_tests(y0, v0, "DL", ["z"])["z"]
    # published studies lean positive: the pooled estimate is biased upwards
    assert np.mean(yi[mask]) > 0.04
    assert np.nanmean(fits.estimate) > np.nanmean(plain.estimate) + 0.03


def test_reproducible_and_independent_streams() -> None:
    grid = _small_grid()
    sc = grid.scenarios[0]
    a = simulate_chunk(sc, grid.config(), 7, 0, 300)
    b = simulate_chunk(sc, grid.config(), 7, 0, 300)
    c = simulate_chunk(sc, grid.config(), 7, 1, 300)
    d = simulate_chunk(sc, grid.config(), 8, 0, 300)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not a["d_mean"].equals(c["d_mean"]) and not a["d_mean"].equals(d["d_mean"])
    assert set(a["method"]) == {"DL", "REML"} and set(a["test"]) == {"z", "knha"}


def test_chunked_statistics_equal_direct_performance() -> None:
    sc = Scenario(k=6, tau2=0.05, n=(10, 40), effect=0.2, measure="SMD")
    rng = np.random.default_rng(12)
    yi, vi, _ = generate(sc, 3000, rng)
    res = fit_many_tests(yi, vi, "REML", ["knha"])["knha"]
    # direct computation from all replicates
    d = res.estimate - sc.effect
    n = d.size
    cover = np.mean((res.ci_lower <= sc.effect) & (sc.effect <= res.ci_upper))
    direct = {
        "bias": d.mean(), "empse": d.std(ddof=1), "rmse": math.sqrt(np.mean(d * d)),
        "bias_mcse": d.std(ddof=1) / math.sqrt(n), "coverage": cover,
        "ci_width": np.mean(res.ci_upper - res.ci_lower),
        "rejection": np.mean(res.p_value < 0.05), "tau2_bias": np.mean(res.tau2 - sc.tau2),
        "rmse_mcse": math.sqrt(np.sum((d * d - np.mean(d * d)) ** 2) / (n * (n - 1)))
        / (2 * math.sqrt(np.mean(d * d))),
    }
    # the same through chunk statistics merged in order (uneven chunks)
    from acuevidence.batch.api import COLUMNS, BatchResult

    rows = []
    for j, (lo, hi) in enumerate([(0, 700), (700, 701), (701, 2500), (2500, 3000)]):
        part = BatchResult(method="REML", test="knha", level=0.95,
                           **{c: getattr(res, c)[lo:hi] for c in COLUMNS})
        rows.append({"scenario": sc.key, "chunk": j, "method": "REML", "test": "knha",
                     **chunk_statistics(sc, part, 0.95)})
    reduced = reduce_statistics(pd.DataFrame(rows))
    perf = performance(sc, reduced[(sc.key, "REML", "knha")])
    for name, want in direct.items():
        assert perf[name] == pytest.approx(want, rel=MERGE_TOL, abs=MERGE_TOL), name
    assert perf["n_rep"] == 3000 and perf["rejection_is"] == "power"
    assert perf["coverage_mcse"] == pytest.approx(math.sqrt(cover * (1 - cover) / n))


# ------------------------------------------------------------------------------------------
# The runner and the CLI (in-process: workers = 0; Dask is tested in test_distributed.py)
# ------------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="acuevidence")
    sub = ap.add_subparsers(dest="command", required=True)
    add_simulate_parser(sub)
    return ap


def test_cli_simulate_resume(tmp_path: Path, capsys) -> None:
    out = tmp_path / "results.parquet"
    argv = ["simulate", "--grid", str(GRID), "--reps", "120", "--out", str(out), "--workers",
            "0", "--chunk-size", "50", "--seed", "5", "--no-progress"]
    assert run_simulate(_parser().parse_args(argv)) == 0
    first = pd.read_parquet(out)
    assert len(first) == 18 * 3 * 2
    assert "chunk/s" not in capsys.readouterr().err  # no progress bar with --no-progress
    assert set(first["rejection_is"]) == {"power", "type_i_error"}
    assert (first["n_rep"] == 120).all() and (first["n_not_converged"] == 0).all()
    for col in ("bias", "bias_mcse", "rmse", "coverage", "ci_width", "rejection"):
        assert first[col].notna().all(), col

    # a rerun without --resume refuses to mix runs
    with pytest.raises(InputError, match="--resume"):
        run_simulate(_parser().parse_args(argv))

    # lose some chunks (as a killed run would), then resume: only those are recomputed
    cdir = chunk_dir_for(out)
    files = sorted(p for p in cdir.glob("*.parquet"))
    assert len(files) == 18 * 3
    lost, kept = files[::4], [p for i, p in enumerate(files) if i % 4]
    stamps = {p: p.stat().st_mtime_ns for p in kept}
    for p in lost:
        p.unlink()
    with_bar = [a for a in argv if a != "--no-progress"] + ["--resume"]
    assert run_simulate(_parser().parse_args(with_bar)) == 0
    captured = capsys.readouterr()
    assert f"{len(lost)} computed, {len(kept)} resumed" in captured.out
    assert "simulate" in captured.err and f"{len(lost)}/{len(lost)}" in captured.err  # tqdm
    assert all(p.stat().st_mtime_ns == stamps[p] for p in kept)
    assert all(p.exists() for p in lost)
    pd.testing.assert_frame_equal(first, pd.read_parquet(out), check_exact=True)

    # resuming with other settings is refused
    other = [a if a != "5" else "6" for a in argv] + ["--resume"]
    with pytest.raises(InputError, match="seed"):
        run_simulate(_parser().parse_args(other))


def test_results_do_not_depend_on_the_rest_of_the_grid(tmp_path: Path) -> None:
    big = _small_grid()
    small = Grid(scenarios=big.scenarios[1:2], methods=big.methods, tests=big.tests)
    a = run_simulation(big, 60, tmp_path / "a.parquet", seed=3, chunk_size=25, workers=0,
                       progress=False).results
    b = run_simulation(small, 60, tmp_path / "b.parquet", seed=3, chunk_size=25, workers=0,
                       progress=False).results
    # one row per method x test: two empty frames would compare equal
    assert len(b) == len(big.methods) * len(big.tests) == 4
    assert set(b["scenario"]) == {small.scenarios[0].key} and (b["n_rep"] == 60).all()
    pd.testing.assert_frame_equal(a[a["scenario"] == small.scenarios[0].key]
                                  .reset_index(drop=True), b, check_exact=True)


def test_runner_validates_options(tmp_path: Path) -> None:
    grid = _small_grid()
    for kwargs in ({"reps": 0}, {"reps": 10, "chunk_size": 0}, {"reps": 10, "workers": -1}):
        reps = kwargs.pop("reps")
        with pytest.raises(InputError):
            run_simulation(grid, reps, tmp_path / "x.parquet", progress=False, **kwargs)
    with pytest.raises(InputError, match="not found"):
        Grid.from_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("factors: [1, 2\n")
    with pytest.raises(InputError, match="YAML"):
        Grid.from_yaml(bad)
    assert not os.path.exists(tmp_path / "x.parquet")
