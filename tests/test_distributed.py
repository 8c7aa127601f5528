"""Simulation runs on a real Dask LocalCluster (2 worker processes): same numbers, resumable."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from acuevidence.batch.distributed import chunk_dir_for, run_simulation
from acuevidence.batch.simulate import Grid

distributed = pytest.importorskip("dask.distributed", reason="needs the batch extra (dask)")


def _grid() -> Grid:
    return Grid.from_dict({
        "factors": {"k": [5, 10], "measure": ["SMD", "OR"]},
        "tau2": 0.05, "n": [20, 60], "effect": 0.3,
        "methods": ["DL", "REML"], "tests": ["z", "knha"],
    })


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("serial") / "res.parquet"
    return run_simulation(_grid(), 150, out, seed=9, chunk_size=50, workers=0,
                          progress=False).results


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as c:
        yield c


def test_local_cluster_matches_serial_run(tmp_path: Path, serial: pd.DataFrame) -> None:
    run = run_simulation(_grid(), 150, tmp_path / "res.parquet", seed=9, chunk_size=50,
                         workers=2, progress=False)
    assert run.backend == "dask:LocalCluster(2)" and run.n_computed == 12
    pd.testing.assert_frame_equal(run.results, serial, check_exact=True)


def test_existing_scheduler_and_resume(tmp_path: Path, serial: pd.DataFrame, cluster) -> None:
    out = tmp_path / "res.parquet"
    # a first, partial run: two of the four scenarios finish
    part = Grid(scenarios=_grid().scenarios[:2], methods=("DL", "REML"), tests=("z", "knha"))
    run_simulation(part, 150, out, seed=9, chunk_size=50, workers=0, progress=False)
    cdir = chunk_dir_for(out)
    done = {p: p.stat().st_mtime_ns for p in cdir.glob("*.parquet")}
    assert len(done) == 6
    run = run_simulation(_grid(), 150, out, seed=9, chunk_size=50,
                         scheduler=cluster.scheduler_address, resume=True, progress=False)
    assert run.backend.startswith("dask:tcp://")
    assert (run.n_computed, run.n_skipped) == (6, 6)
    assert all(p.stat().st_mtime_ns == t for p, t in done.items())  # not recomputed
    pd.testing.assert_frame_equal(run.results, serial, check_exact=True)
    # nothing left to do: a rerun touches no chunk
    again = run_simulation(_grid(), 150, out, seed=9, chunk_size=50,
                           scheduler=cluster.scheduler_address, resume=True, progress=False)
    assert again.n_computed == 0
