"""Sensitivity and bias analyses, side by side with metafor: seconds per call and ratios.

    python bench/sensitivity.py [--reps 3]

Times (best of ``--reps``) on the same data: GOSH with all subsets (DL, k = 15: 32,767 subsets;
REML, k = 10: 1,023 subsets), leave-one-out + influence diagnostics (REML, k = 37), the 3PSM
selection model (k = 37), trim and fill (REML, k = 37) and regtest (REML). R's timings are taken
inside R (proc.time), so R's start-up is not counted. Without Rscript only ours are printed.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # threads only slow down small algebra

from _rscript import run_rscript  # noqa: E402  (bench/ is the script's folder)
import numpy as np

from acuevidence import meta_analysis
from acuevidence.bias import (
    regtest,
    trimfill,
)
from acuevidence.influence import gosh, influence, leave_one_out
from acuevidence.selection import selection_model

R_SCRIPT = r"""
suppressMessages(library(metafor))
d <- jsonlite::fromJSON(commandArgs(TRUE)[1])
reps <- d$reps
best <- function(expr) { f <- function() { t0 <- proc.time()[["elapsed"]]; eval.parent(expr, 2); proc.time()[["elapsed"]] - t0 }
  min(replicate(reps, f())) }
g15 <- rma(d$y15, d$v15, method = "DL"); g10 <- rma(d$y10, d$v10, method = "REML")
r37 <- rma(d$y37, d$v37, method = "REML"); m37 <- rma(d$y37, d$v37, method = "ML")
out <- list(
  gosh_dl_k15 = best(quote(gosh(g15, progbar = FALSE))),
  gosh_reml_k10 = best(quote(gosh(g10, progbar = FALSE))),
  leave1out_influence_k37 = best(quote({leave1out(r37); influence(r37)})),
  selmodel_k37 = best(quote(selmodel(m37, type = "stepfun", steps = 0.025))),
  trimfill_k37 = best(quote(trimfill(r37))),
  regtest_k37 = best(quote(regtest(r37))))
cat(jsonlite::toJSON(out, auto_unbox = TRUE))
"""


def _best(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    data = {}
    for k in (10, 15, 37):
        v = rng.uniform(0.01, 0.3, k)
        # small studies shifted upwards, so that the 3PSM has studies in both p-value intervals
        y = rng.normal(0.2 + 0.8 * np.sqrt(v), np.sqrt(v + 0.03))
        data[f"y{k}"], data[f"v{k}"] = y.tolist(), v.tolist()
    warnings.simplefilter("ignore")
    g15 = meta_analysis(data["y15"], data["v15"], method="DL")
    g10 = meta_analysis(data["y10"], data["v10"], method="REML")
    r37 = meta_analysis(data["y37"], data["v37"], method="REML")
    m37 = meta_analysis(data["y37"], data["v37"], method="ML")
    ours = {
        "gosh_dl_k15": _best(lambda: gosh(g15), args.reps),
        "gosh_reml_k10": _best(lambda: gosh(g10), args.reps),
        "leave1out_influence_k37": _best(lambda: (leave_one_out(r37), influence(r37)), args.reps),
        "selmodel_k37": _best(lambda: selection_model(m37), args.reps),
        "trimfill_k37": _best(lambda: trimfill(r37), args.reps),
        "regtest_k37": _best(lambda: regtest(r37), args.reps),
    }
    theirs = run_rscript(R_SCRIPT, data={**data, "reps": args.reps})
    if isinstance(theirs, str):
        print("metafor:", theirs)
        theirs = {}
    print(f"best of {args.reps}, seed {args.seed}; seconds per call")
    print(f"{'analysis':26s} {'acuevidence':>12s} {'metafor':>10s} {'metafor/ours':>13s}")
    for name, t in ours.items():
        r = theirs.get(name)
        ratio = f"{r / t:13.1f}" if r else f"{'-':>13s}"
        print(f"{name:26s} {t:12.4f} {r if r is not None else float('nan'):10.4f} {ratio}")


if __name__ == "__main__":
    main()
