"""Run a simulation study in chunks: in this process, on a local Dask cluster, or on a remote one.

:func:`run_simulation` plans one task per (scenario, chunk of replicates), skips the chunks whose
result file already exists (``resume``), runs the others and reduces every chunk file to the
performance table, written as Parquet.

* Bounded driver memory: a task returns only the path of its chunk file, a few rows of sufficient
  statistics (one per method x test); no replicate-level result ever leaves a worker. At most
  ``4 x workers`` tasks are in flight.
* Resumable: chunk ``j`` of scenario ``s`` is written atomically (temporary file, then rename) to
  ``<out>.chunks/<s>-<j>-<reps>.parquet``; a rerun with ``resume=True`` skips existing files.
  ``<out>.chunks/manifest.json`` records what the chunks depend on (seed, chunk size, methods,
  tests, level) and a rerun with other settings is refused rather than mixing results.
* Dask: by default a ``LocalCluster`` of ``workers`` processes with one thread each (Numba runs
  single-threaded inside a worker, so the cores are not oversubscribed); ``scheduler`` connects to
  an existing cluster instead (``tcp://HOST:PORT``), whose workers must have acuevidence
  installed. ``workers=0`` runs everything in this process (Numba uses all cores).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from .simulate import Grid, Scenario, plan_chunks, reduce_statistics, results_frame, simulate_chunk

__all__ = ["MANIFEST", "SimulationRun", "chunk_dir_for", "run_simulation"]

MANIFEST = "manifest.json"
# Tasks in flight per worker: enough to keep workers busy, few enough to bound driver memory.
IN_FLIGHT_PER_WORKER = 4
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class SimulationRun:
    """Outcome of :func:`run_simulation`: the table and what the run did."""

    results: pd.DataFrame
    out: Path
    chunk_dir: Path
    n_chunks: int
    n_computed: int
    n_skipped: int
    seconds: float
    backend: str


def chunk_dir_for(out: str | Path) -> Path:
    """The chunk directory that belongs to output file ``out``: ``<out>.chunks``."""
    p = Path(out)
    return p.with_name(p.name + ".chunks")


def _chunk_path(chunk_dir: Path, scenario: Scenario, chunk: int, reps: int) -> Path:
    return chunk_dir / f"{scenario.key}-{chunk:06d}-{reps}.parquet"


def _manifest(grid: Grid, seed: int, chunk_size: int) -> dict[str, Any]:
    return {"format": _FORMAT_VERSION, "seed": int(seed), "chunk_size": int(chunk_size),
            **grid.config()}


def _prepare_dir(chunk_dir: Path, manifest: dict[str, Any], resume: bool) -> None:
    mpath = chunk_dir / MANIFEST
    if chunk_dir.exists() and any(chunk_dir.iterdir()):
        if not resume:
            raise InputError(f"The chunk directory {chunk_dir} already holds results; pass "
                             "--resume to continue that run, or delete the directory to start "
                             "again.", column="--resume")
        if mpath.exists():
            old = json.loads(mpath.read_text())
            if old != manifest:
                diff = sorted(k for k in set(old) | set(manifest) if old.get(k) != manifest.get(k))
                raise InputError(f"Cannot resume: {chunk_dir} was made with other settings "
                                 f"({', '.join(diff)} differ). Use the same settings, another "
                                 "--out, or delete the directory.", column="--resume")
    chunk_dir.mkdir(parents=True, exist_ok=True)
    tmp = mpath.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    os.replace(tmp, mpath)


def compute_chunk(scenario: Scenario, config: dict[str, Any], seed: int, chunk: int, reps: int,
                  path: str, threads: int | None) -> str:
    """Task body (runs on a worker): simulate one chunk and write its statistics file."""
    frame = simulate_chunk(scenario, config, seed, chunk, reps, threads=threads)
    final = Path(path)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, final)  # atomic: a killed task never leaves a partial chunk behind
    return path


def _progress(total: int, enabled: bool) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - depends on the environment
        enabled = False
        tqdm = None
    if not enabled or tqdm is None:
        return contextlib.nullcontext(_NoBar())
    return tqdm(total=total, file=sys.stderr, unit="chunk", desc="simulate")


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int) -> Iterator[Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("Running on Dask needs dask[distributed]: pip install "
                          "'acuevidence[batch]'") from e
    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as e:
            raise InputError(f"Cannot connect to the Dask scheduler at {scheduler}: {e}",
                             column="--scheduler") from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _run_dask(tasks: Sequence[tuple[Any, ...]], client: Any, bar: Any) -> None:
    from dask.distributed import as_completed

    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    limit = IN_FLIGHT_PER_WORKER * n_workers
    pending = iter(tasks)
    ac = as_completed()
    for args in itertools.islice(pending, limit):
        ac.add(client.submit(compute_chunk, *args, pure=False))
    for fut in ac:
        fut.result()  # re-raises a worker's exception here
        fut.release()
        bar.update(1)
        nxt = next(pending, None)
        if nxt is not None:
            ac.add(client.submit(compute_chunk, *nxt, pure=False))


def run_simulation(
    grid: Grid,
    reps: int,
    out: str | Path,
    *,
    seed: int = 20260101,
    chunk_size: int = 2000,
    workers: int = 2,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    on_chunk: Callable[[str], None] | None = None,
) -> SimulationRun:
    """Run (or resume) a simulation study and write the performance table to ``out``.

    Parameters
    ----------
    grid : Grid
        Scenarios, estimators, tests and level (:meth:`Grid.from_yaml`).
    reps : int
        Replicates (meta-analyses) per scenario.
    out : path
        The Parquet file of results; chunks go to ``<out>.chunks/``.
    seed : int
        Root of every random stream (see :mod:`acuevidence.batch.simulate`).
    chunk_size : int
        Replicates per task; part of what the results depend on.
    workers : int
        Processes of the local Dask cluster; 0 runs in this process without Dask.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://HOST:PORT``); ``workers`` is then unused.
    resume : bool
        Continue a run whose chunk directory exists, skipping finished chunks.
    progress : bool
        Show a progress bar (tqdm, on stderr).
    on_chunk : callable, optional
        Called with each chunk file written in this process (serial runs only).
    """
    if not isinstance(reps, int) or reps < 1:
        raise InputError(f"--reps must be a positive integer; got {reps!r}.", column="--reps")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise InputError(f"--chunk-size must be a positive integer; got {chunk_size!r}.",
                         column="--chunk-size")
    if not isinstance(workers, int) or workers < 0:
        raise InputError(f"--workers must be an integer >= 0; got {workers!r}.",
                         column="--workers")
    t0 = time.perf_counter()
    out = Path(out)
    cdir = chunk_dir_for(out)
    _prepare_dir(cdir, _manifest(grid, seed, chunk_size), resume)
    config = grid.config()
    plan = plan_chunks(grid, reps, chunk_size)
    paths = [_chunk_path(cdir, sc, j, r) for sc, j, r in plan]
    todo = [(sc, j, r, p) for (sc, j, r), p in zip(plan, paths, strict=True) if not p.exists()]
    backend = "serial" if (workers == 0 and not scheduler) else (
        f"dask:{scheduler}" if scheduler else f"dask:LocalCluster({workers})")
    with _progress(len(todo), progress) as bar:
        if backend == "serial":
            for sc, j, r, p in todo:
                compute_chunk(sc, config, seed, j, r, str(p), None)
                bar.update(1)
                if on_chunk is not None:
                    on_chunk(str(p))
        elif todo:
            tasks = [(sc, config, seed, j, r, str(p), 1) for sc, j, r, p in todo]
            with _client(scheduler, workers) as client:
                _run_dask(tasks, client, bar)
    stats = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    table = results_frame(grid, reduce_statistics(stats))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    table.to_parquet(tmp, index=False)
    os.replace(tmp, out)
    return SimulationRun(table, out, cdir, len(plan), len(todo), len(plan) - len(todo),
                         time.perf_counter() - t0, backend)
