"""Long MCMC check of the Bayesian meta-analysis (acuevidence.bayes) on the BCG vaccine trials.

The numerical integration is compared with an independent Metropolis-within-Gibbs sampler of
the joint posterior p(mu, tau | y) ~ p(tau) prod N(y_i | mu, v_i + tau^2) (flat prior on mu):
mu | tau is drawn exactly from its normal full conditional, and log(tau) | mu by an independence
Metropolis-Hastings step whose t(5) proposal is fitted to a random-walk pilot run. The sampler
shares no code with acuevidence.bayes. 10,000 independent chains of 1,000 iterations (after
burn-in) give 10 million draws per prior; the Monte Carlo standard error of every compared
quantity is estimated from 100 groups of 100 chains (independent, so the group estimates are
i.i.d.) and must be below MAX_MCSE.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from acuevidence import effect_sizes
from acuevidence.bayes import bayes_meta_analysis

# The run must be long enough that Monte Carlo error is below 5e-4 on every compared quantity.
MAX_MCSE = 5e-4
# Agreement "to three decimals": half a unit in the third decimal ...
TOL_3DEC = 5e-4
# ... plus three Monte Carlo standard errors of the quantity compared (the seed is fixed, so
# the outcome is deterministic; this is the allowance that a different seed would need).
MC_Z = 3.0
CHAINS, ITERS, BURN, GROUPS, SEED = 10_000, 1_000, 100, 100, 20240601
DELTA = 0.5   # clinical threshold on the log risk ratio scale: P(mu < -0.5)

# dat.bcg (metadat): BCG vaccine trials, 13 studies, log risk ratios.
BCG = pd.DataFrame({
    "tpos": [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
    "tneg": [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886],
    "cpos": [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
    "cneg": [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825],
})

PRIORS = {
    "half-normal": lambda t: -0.5 * (t / 0.5) ** 2,           # log density up to a constant
    "half-cauchy": lambda t: -np.log1p((t / 0.5) ** 2),
}


def sample(y, v, logprior, rng):
    """Draws of (mu, tau), shape (ITERS, CHAINS) each."""

    def logtarget(lt, mu):      # on log(tau): log p(tau) + log-likelihood + log Jacobian
        s = v[None, :] + np.exp(2 * lt)[:, None]
        return (logprior(np.exp(lt)) + lt
                - 0.5 * np.sum(np.log(s) + (y[None, :] - mu[:, None]) ** 2 / s, axis=1))

    def draw_mu(lt):
        w = 1.0 / (v[None, :] + np.exp(2 * lt)[:, None])
        sw = w.sum(axis=1)
        return (w @ y) / sw + rng.standard_normal(lt.size) / np.sqrt(sw)

    # pilot: random-walk Metropolis on log(tau), to place the independence proposal
    lt = np.log(rng.uniform(0.2, 1.0, 2000))
    pilot = []
    for it in range(400):
        mu = draw_mu(lt)
        cur = logtarget(lt, mu)
        prop = lt + 0.6 * rng.standard_normal(lt.size)
        lt = np.where(np.log(rng.random(lt.size)) < logtarget(prop, mu) - cur, prop, lt)
        if it >= 200:
            pilot.append(lt)
    pooled = np.concatenate(pilot)
    loc, scale = pooled.mean(), 1.25 * pooled.std()

    def logq(x):
        return stats.t.logpdf((x - loc) / scale, 5)

    lt = rng.choice(pooled, CHAINS)
    mus, taus = np.empty((ITERS, CHAINS)), np.empty((ITERS, CHAINS))
    accepted = 0.0
    for it in range(BURN + ITERS):
        mu = draw_mu(lt)
        prop = loc + scale * rng.standard_t(5, CHAINS)
        log_ratio = (logtarget(prop, mu) - logq(prop)) - (logtarget(lt, mu) - logq(lt))
        ok = np.log(rng.random(CHAINS)) < log_ratio
        lt = np.where(ok, prop, lt)
        if it >= BURN:
            mus[it - BURN], taus[it - BURN] = mu, np.exp(lt)
            accepted += ok.mean()
    return mus, taus, accepted / ITERS


def grouped(draws):
    """(GROUPS, n) array: each row pools the draws of CHAINS / GROUPS whole chains."""
    return draws.reshape(ITERS, GROUPS, CHAINS // GROUPS).transpose(1, 0, 2).reshape(GROUPS, -1)


@pytest.mark.slow
@pytest.mark.parametrize("prior", sorted(PRIORS))
def test_numerical_integration_agrees_with_long_mcmc(prior):
    es = effect_sizes("RR", BCG, ai="tpos", bi="tneg", ci="cpos", di="cneg")
    y, v = es["yi"].to_numpy(), es["vi"].to_numpy()
    res = bayes_meta_analysis(y, v, tau_prior=prior, tau_prior_scale=0.5)
    rng = np.random.default_rng([SEED, sorted(PRIORS).index(prior)])   # own stream per prior
    mus, taus, acceptance = sample(y, v, PRIORS[prior], rng)
    assert 0.5 < acceptance < 0.95, acceptance
    mu_g, tau_g = grouped(mus), grouped(taus)
    del mus, taus
    probs = np.array([0.025, 0.5, 0.975])
    # estimate = mean over groups (each group holds 100,000 draws; the bias of a group
    # quantile is O(1/n), far below the tolerance)
    per_group = {
        "mu mean": mu_g.mean(axis=1),
        "P(mu < -delta)": (mu_g < -DELTA).mean(axis=1),
        "tau mean": tau_g.mean(axis=1),
    }
    for name, g in (("mu", mu_g), ("tau", tau_g)):
        q = np.quantile(g, probs, axis=1)
        for p, row in zip(("2.5%", "median", "97.5%"), q, strict=True):
            per_group[f"{name} {p}"] = row
    numeric = {
        "mu mean": res.estimate, "mu 2.5%": res.ci_lower, "mu median": res.median,
        "mu 97.5%": res.ci_upper, "P(mu < -delta)": res.prob_benefit(DELTA),
        "tau mean": res.tau_mean, "tau 2.5%": res.tau_ci_lower, "tau median": res.tau_median,
        "tau 97.5%": res.tau_ci_upper,
    }
    report = []
    for name, values in per_group.items():
        est = float(values.mean())
        mcse = float(values.std(ddof=1) / math.sqrt(GROUPS))
        diff = est - numeric[name]
        report.append(f"{name}: mcmc {est:.5f} (mcse {mcse:.1e}) numeric {numeric[name]:.5f}")
        assert mcse < MAX_MCSE, report[-1]
        assert abs(diff) <= TOL_3DEC + MC_Z * mcse, "\n".join(report)
    print("\n".join(report))   # shown with pytest -s: the agreement actually reached
