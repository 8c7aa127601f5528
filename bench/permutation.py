"""Permutation test of a meta-regression, side by side with metafor's permutest.

    python bench/permutation.py [--reps 20] [--iter 1000] [--r-reps 2] [--exact]

Data: dat.bcg (log risk ratios), mods = ~ ablat, REML, z test (the example of metafor's
permutest help page). Times acuevidence's ``permutation_test(n_perm=iter)`` (all permutations
refitted at once by the batched kernel) and, when Rscript with metafor is installed,
``permutest(res, iter=iter)`` on the same model; prints the seconds per test and the ratio.
With ``--exact`` it also times the exact test on the first 7 studies (2,520 permutations).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # threads only slow down small algebra

from _rscript import run_rscript  # noqa: E402  (bench/ is the script's folder)
import numpy as np
import pandas as pd

from acuevidence.metareg import meta_regression

# dat.bcg (metadat): BCG vaccine trials; log risk ratios as escalc("RR", ...) computes them.
TPOS = [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27]
TNEG = [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886]
CPOS = [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29]
CNEG = [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825]
ABLAT = [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33]

R_SCRIPT = r"""
suppressMessages(library(metafor))
a <- commandArgs(TRUE); iter <- as.integer(a[1]); reps <- as.integer(a[2]); exact <- a[3] == "1"
dat <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
res <- rma(yi, vi, mods = ~ ablat, data = dat, method = "REML")
times <- c()
for (r in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  pt <- permutest(res, iter = iter, progbar = FALSE, seed = 2026 + r)
  times <- c(times, proc.time()[["elapsed"]] - t0)
}
out <- list(mc = times, p = pt$pval, qmp = pt$QMp)
if (exact) {
  r7 <- rma(yi, vi, mods = ~ ablat, data = dat[1:7, ], method = "REML")
  t0 <- proc.time()[["elapsed"]]
  pe <- permutest(r7, exact = TRUE, progbar = FALSE)
  out$exact <- proc.time()[["elapsed"]] - t0
  out$exact_p <- pe$pval
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def _data() -> pd.DataFrame:
    tp, tn, cp, cn = (np.asarray(x, float) for x in (TPOS, TNEG, CPOS, CNEG))
    yi = np.log((tp / (tp + tn)) / (cp / (cp + cn)))
    vi = 1 / tp - 1 / (tp + tn) + 1 / cp - 1 / (cp + cn)
    return pd.DataFrame({"yi": yi, "vi": vi, "ablat": ABLAT})


def _time(fn, reps: int) -> list[float]:
    fn()  # warm-up (imports, caches)
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--iter", type=int, default=1000)
    ap.add_argument("--r-reps", type=int, default=2)
    ap.add_argument("--exact", action="store_true")
    args = ap.parse_args()
    dat = _data()
    res = meta_regression("yi", "vi", "ablat", data=dat, method="REML")
    ours = _time(lambda: res.permutation_test(n_perm=args.iter, seed=2026, exact=False), args.reps)
    pt = res.permutation_test(n_perm=args.iter, seed=2026, exact=False)
    med, best = statistics.median(ours), min(ours)
    print(f"data: dat.bcg, mods = ~ ablat, REML; {args.iter} permutations")
    print(f"acuevidence permutation_test: median {med * 1e3:8.2f} ms, best {best * 1e3:8.2f} ms "
          f"({args.reps} runs); p = {np.round(pt.p_value, 3).tolist()}, QM p = {pt.qm_p_value:.3f}")
    exact_ours = None
    if args.exact:
        r7 = meta_regression("yi", "vi", "ablat", data=dat.iloc[:7], method="REML")
        exact_ours = min(_time(lambda: r7.permutation_test(exact=True), 3))
        pe = r7.permutation_test(exact=True)
        print(f"acuevidence exact test, 7 studies ({pe.n_perm} permutations): "
              f"{exact_ours * 1e3:8.2f} ms; p = {np.round(pe.p_value, 4).tolist()}")

    r = run_rscript(R_SCRIPT, str(args.iter), str(args.r_reps), "1" if args.exact else "0")
    if isinstance(r, str):
        print("metafor:", r)
        return
    r_times = r["mc"] if isinstance(r["mc"], list) else [r["mc"]]
    r_med = statistics.median(r_times)
    print(f"metafor permutest(res, iter={args.iter}): median {r_med:8.3f} s ({len(r_times)} runs); "
          f"p = {np.round(r['p'], 3).tolist()}, QM p = {r['qmp']:.3f}")
    print(f"ratio (median / median): {r_med / med:7.1f}x faster; "
          f"(median / best): {r_med / best:7.1f}x")
    if args.exact and exact_ours is not None:
        print(f"metafor permutest(exact=TRUE), 7 studies: {r['exact']:8.3f} s; "
              f"ratio {r['exact'] / exact_ours:7.1f}x faster")


if __name__ == "__main__":
    main()
