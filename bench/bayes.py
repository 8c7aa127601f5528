"""Bayesian random-effects meta-analysis: acuevidence's quadrature side by side with its peers.

    python bench/bayes.py [--reps 20] [--steps 5000] [--r-reps 3]

Data: dat.bcg (log risk ratios), half-normal(0.5) prior for tau, flat prior for mu. Times
``bayes_meta_analysis`` (every summary: moments, quantiles, shortest intervals, predictive
interval, Bayes factor, plot grids) against

* a direct scipy ``integrate.quad`` computation of the core summaries only (normalising
  constant, mean and SD of mu, median and 95% interval of mu and tau), as one would write it by
  hand;
* emcee (32 walkers on (mu, log tau), ``--steps`` steps), with the Monte Carlo error it reaches
  on the posterior mean of mu;
* R's bayesmeta (``bayesmeta(y, sigma, tau.prior=function(t) dhalfnormal(t, scale=0.5))``) when
  Rscript and the bayesmeta package are installed (not in Debian; skipped otherwise).

Prints seconds per fit and the ratios.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # threads only slow down small algebra

from _rscript import run_rscript, r_package_installed  # noqa: E402  (bench/ is the script's folder)
import numpy as np
from scipy import integrate, optimize, stats

from acuevidence.bayes import bayes_meta_analysis

TPOS = [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27]
TNEG = [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886]
CPOS = [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29]
CNEG = [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825]
SCALE = 0.5

R_SCRIPT = r"""
suppressMessages({library(metafor); library(bayesmeta)})
reps <- as.integer(commandArgs(TRUE)[1])
dat <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
times <- c()
for (r in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  fit <- bayesmeta(dat$yi, sqrt(dat$vi), tau.prior = function(t) dhalfnormal(t, scale = 0.5))
  times <- c(times, proc.time()[["elapsed"]] - t0)
}
cat(jsonlite::toJSON(list(t = times, mean = fit$summary["mean", "mu"]), auto_unbox = TRUE,
                     digits = NA))
"""


def _data() -> tuple[np.ndarray, np.ndarray]:
    tp, tn, cp, cn = (np.asarray(x, float) for x in (TPOS, TNEG, CPOS, CNEG))
    yi = np.log((tp / (tp + tn)) / (cp / (cp + cn)))
    vi = 1 / tp - 1 / (tp + tn) + 1 / cp - 1 / (cp + cn)
    return yi, vi


def _time(fn, reps: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def quad_summaries(y: np.ndarray, v: np.ndarray) -> dict[str, float]:
    """The core summaries by nested scipy quadrature (a hand-written peer)."""

    def cond(t):
        w = 1 / (v + t * t)
        var = 1 / w.sum()
        return var * (w * y).sum(), var

    def dens(t):
        m, var = cond(t)
        return (math.exp(-0.5 * (t / SCALE) ** 2)
                * np.prod(stats.norm.pdf(y, m, np.sqrt(v + t * t))) * math.sqrt(var))

    kw = {"epsabs": 0, "epsrel": 1e-10, "limit": 200}
    z = integrate.quad(dens, 0, np.inf, **kw)[0]
    mean = integrate.quad(lambda t: cond(t)[0] * dens(t), 0, np.inf, **kw)[0] / z
    second = integrate.quad(lambda t: (cond(t)[1] + cond(t)[0] ** 2) * dens(t), 0, np.inf,
                            **kw)[0] / z

    def cdf_mu(x):
        return integrate.quad(lambda t: stats.norm.cdf(x, cond(t)[0], math.sqrt(cond(t)[1]))
                              * dens(t), 0, np.inf, **kw)[0] / z

    def cdf_tau(x):
        return integrate.quad(dens, 0, x, **kw)[0] / z

    out = {"mean": mean, "sd": math.sqrt(second - mean ** 2)}
    for p in (0.025, 0.5, 0.975):
        out[f"mu_{p}"] = optimize.brentq(lambda x, p=p: cdf_mu(x) - p, -5, 5, xtol=1e-10)
        out[f"tau_{p}"] = optimize.brentq(lambda x, p=p: cdf_tau(x) - p, 0, 10, xtol=1e-10)
    return out


def emcee_run(y: np.ndarray, v: np.ndarray, steps: int) -> tuple[float, float]:
    import emcee

    def logp(theta):
        mu, lt = theta
        t2 = math.exp(2 * lt)
        s = v + t2
        return (-0.5 * t2 / SCALE ** 2 + lt
                - 0.5 * float(np.sum(np.log(s) + (y - mu) ** 2 / s)))

    rng = np.random.default_rng(1)
    start = np.column_stack([rng.normal(-0.7, 0.1, 32), rng.normal(-0.6, 0.2, 32)])
    sampler = emcee.EnsembleSampler(32, 2, logp)
    sampler.random_state = np.random.RandomState(1)
    sampler.run_mcmc(start, steps, progress=False)
    chain = sampler.get_chain(discard=steps // 10, flat=True)
    tau_int = float(np.max(sampler.get_autocorr_time(discard=steps // 10, quiet=True)))
    ess = chain.shape[0] / tau_int
    return float(chain[:, 0].mean()), float(chain[:, 0].std() / math.sqrt(ess))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--r-reps", type=int, default=3)
    args = ap.parse_args()
    y, v = _data()
    ours = _time(lambda: bayes_meta_analysis(y, v, tau_prior="half-normal",
                                             tau_prior_scale=SCALE), args.reps)
    res = bayes_meta_analysis(y, v, tau_prior="half-normal", tau_prior_scale=SCALE)
    med, best = statistics.median(ours), min(ours)
    print(f"data: dat.bcg (k = 13, log RR), half-normal({SCALE}) prior for tau, flat mu prior")
    print(f"acuevidence bayes_meta_analysis: median {med * 1e3:8.2f} ms, best "
          f"{best * 1e3:8.2f} ms ({args.reps} runs); mean mu {res.estimate:.6f}, "
          f"{res.n_support} mixture components, quadrature error {res.quadrature_error:.1e}")

    q_times = _time(lambda: quad_summaries(y, v), 2)
    q = quad_summaries(y, v)
    q_med = statistics.median(q_times)
    print(f"scipy quad (core summaries only): median {q_med * 1e3:8.2f} ms; mean mu "
          f"{q['mean']:.6f} (|diff| {abs(q['mean'] - res.estimate):.1e}); "
          f"ratio {q_med / med:6.1f}x")

    t0 = time.perf_counter()
    mc_mean, mc_se = emcee_run(y, v, args.steps)
    e_t = time.perf_counter() - t0
    print(f"emcee 32 walkers x {args.steps} steps: {e_t:8.2f} s; mean mu {mc_mean:.4f} "
          f"(MC error {mc_se:.1e}); ratio {e_t / med:8.0f}x")

    if not r_package_installed("bayesmeta"):
        print("bayesmeta: Rscript or the R package not installed (bayesmeta is not in Debian; "
              "install it from CRAN to compare)")
        return
    r = run_rscript(R_SCRIPT, str(args.r_reps))
    if isinstance(r, str):
        print("bayesmeta:", r)
        return
    r_times = r["t"] if isinstance(r["t"], list) else [r["t"]]
    r_med = statistics.median(r_times)
    print(f"bayesmeta: median {r_med:8.3f} s ({len(r_times)} runs); mean mu {r['mean']:.6f}; "
          f"ratio {r_med / med:7.1f}x")


if __name__ == "__main__":
    main()
