"""Time per REML fit (k = 20) with Q-profile CI and prediction interval, side by side with metafor.

    python bench/single_fit.py [--reps 2000]

Prints milliseconds per analysis for acuevidence (meta_analysis: REML + Q-profile CI for tau^2 +
prediction interval + BLUPs, all computed eagerly) and, when Rscript with metafor is installed,
for metafor's rma alone and rma + confint + predict on the same data sets, and the ratios.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # threads only slow down 20 x 20 algebra

from _rscript import run_rscript  # noqa: E402  (bench/ is the script's folder)
import numpy as np  # noqa: E402

from acuevidence import meta_analysis  # noqa: E402

R_SCRIPT = r"""
suppressMessages(library(metafor))
d <- jsonlite::fromJSON(commandArgs(TRUE)[1])
B <- nrow(d$y)
t0 <- proc.time()[["elapsed"]]
fail <- 0
for (b in 1:B) { r <- try(rma(d$y[b, ], d$v[b, ], method = "REML"), silent = TRUE); if (inherits(r, "try-error")) fail <- fail + 1 }
t1 <- proc.time()[["elapsed"]]
for (b in 1:B) { r <- try(rma(d$y[b, ], d$v[b, ], method = "REML"), silent = TRUE)
  if (!inherits(r, "try-error")) { ci <- try(confint(r), silent = TRUE); p <- predict(r) } }
t2 <- proc.time()[["elapsed"]]
cat(jsonlite::toJSON(list(rma = (t1 - t0) / B, full = (t2 - t1) / B, fail = fail), auto_unbox = TRUE))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    v = rng.uniform(0.01, 0.5, (args.reps, args.k))
    y = rng.normal(0.3, np.sqrt(v + 0.05))

    for b in range(min(20, args.reps)):  # warm-up
        meta_analysis(y[b], v[b])
    not_converged = 0
    t0 = time.perf_counter()
    for b in range(args.reps):
        res = meta_analysis(y[b], v[b], method="REML")
        not_converged += not res.converged
    ours = (time.perf_counter() - t0) / args.reps
    print(f"data: {args.reps} data sets, k = {args.k}, seed {args.seed}")
    print(f"acuevidence meta_analysis (REML + QP CI + PI + BLUPs): {ours * 1e3:8.3f} ms / analysis")

    n_r = min(args.reps, 500)  # metafor is slow; a subset is enough for a stable mean
    r = run_rscript(R_SCRIPT, data={"y": y[:n_r].tolist(), "v": v[:n_r].tolist()})
    if isinstance(r, str):
        print("metafor:", r)
        return
    print(f"metafor rma (REML) alone ({n_r} data sets):        {r['rma'] * 1e3:8.3f} ms / analysis")
    print(f"metafor rma + confint + predict:                  {r['full'] * 1e3:8.3f} ms / analysis")
    ours_fail = not_converged * n_r / args.reps
    print(f"non-convergence: metafor (default settings) {r['fail']} of {n_r}; "
          f"acuevidence {not_converged} of {args.reps} ({ours_fail:g} per {n_r})")
    print(f"ratio vs metafor rma alone:              {r['rma'] / ours:6.1f}x faster")
    print(f"ratio vs metafor rma + confint + predict: {r['full'] / ours:6.1f}x faster")


if __name__ == "__main__":
    main()
