"""``acuevidence simulate``: simulation studies of meta-analysis methods (thin CLI layer).

Parses the options, reads the grid, calls :func:`acuevidence.batch.distributed.run_simulation`
and prints where the results went. The lead wires :func:`add_simulate_parser` and
:func:`run_simulate` into :mod:`acuevidence.cli`.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_simulate_parser", "run_simulate"]

SIMULATE_HELP = """\
Run a simulation study: every scenario of the grid (k, tau2, per-arm n, true effect, measure,
small-study bias) is replicated --reps times with study-level data; every method and test of the
grid is applied; bias, RMSE, coverage, CI width, power / type I error (with Monte Carlo SEs) go
to a Parquet file. Chunks are written to OUT.chunks/ as they finish, so an interrupted run can be
continued with --resume. Results depend only on the grid, --reps, --seed and --chunk-size.
"""


def add_simulate_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``simulate`` subcommand to the CLI's subparsers."""
    p = subparsers.add_parser("simulate", help="run a simulation study (batch engine, Dask)",
                              description=SIMULATE_HELP)
    p.add_argument("--grid", required=True, metavar="YAML", help="scenario grid (YAML)")
    p.add_argument("--reps", required=True, type=int, help="replicates per scenario")
    p.add_argument("--out", required=True, metavar="PARQUET", help="results file (.parquet)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                   help="run on an existing Dask cluster (default: a local cluster)")
    p.add_argument("--workers", type=int, default=2,
                   help="local Dask worker processes, one thread each (default 2; 0 = no Dask, "
                        "in this process)")
    p.add_argument("--seed", type=int, default=20260101, help="random seed (default 20260101)")
    p.add_argument("--chunk-size", type=int, default=2000,
                   help="replicates per task (default 2000)")
    p.add_argument("--resume", action="store_true",
                   help="continue a run: skip chunks already in OUT.chunks/")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run_simulate(args: argparse.Namespace) -> int:
    """Run ``acuevidence simulate``; returns the exit status (errors raise EvidenceError)."""
    from .batch.distributed import run_simulation
    from .batch.simulate import Grid

    grid = Grid.from_yaml(args.grid)
    run = run_simulation(grid, args.reps, args.out, seed=args.seed, chunk_size=args.chunk_size,
                         workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                         progress=not args.no_progress)
    n_rows = len(run.results)
    print(f"{len(grid.scenarios)} scenarios x {len(grid.methods)} methods x {len(grid.tests)} "
          f"tests, {args.reps} replicates each: {n_rows} result rows -> {run.out}")
    print(f"{run.n_chunks} chunks ({run.n_computed} computed, {run.n_skipped} resumed) on "
          f"{run.backend} in {run.seconds:.1f} s; chunks in {run.chunk_dir}")
    failed = int(run.results["n_failed"].sum()) if n_rows else 0
    if failed:
        print(f"note: {failed} analyses had no usable fit (too few published studies or bad "
              "data); see the n_failed column", file=sys.stderr)
    return 0
