"""Bayesian random-effects meta-analysis (acuevidence.bayes): analytic limits, an independent
brute-force quadrature, published bayesmeta output, priors, bad input and the result contract.
The long MCMC comparison is in test_bayes_mcmc.py."""

from __future__ import annotations

import copy
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats

from acuevidence.bayes import (
    QUAD_TOL,
    BayesMetaAnalysis,
    BayesResult,
    bayes_meta_analysis,
    conditional_posterior,
)
from acuevidence.bayes_priors import (
    RHODES_2015,
    RHODES_COMPARISONS,
    TURNER_2015,
    TURNER_COMPARISONS,
    TauPrior,
    fixed_tau,
    half_cauchy_prior,
    half_normal_prior,
    log_normal_tau2_prior,
    log_t_tau2_prior,
    resolve_tau_prior,
    rhodes_prior,
    turner_prior,
    uniform_prior,
)
from acuevidence.errors import EvidenceWarning, InputError, SmallSampleWarning
from acuevidence.meta import meta_analysis

# Exact identities (closed-form normal posteriors) hold to rounding.
TOL_EXACT = 1e-10
# Against the independent brute-force quadrature below (scipy quad at rel. 1e-11, nested root
# finding at 1e-11): both sides are accurate to ~1e-10, so 1e-7 leaves room for conditioning.
TOL_BRUTE = 1e-7
# Results that must only agree to three decimals (the limits tau -> 0 with a continuous prior).
TOL_3DEC = 5e-4
# Published bayesmeta output (see REF_SCHOOLS below): tau summaries are computed by bayesmeta
# with integrate() at rel.tol 1.5e-11 and printed to 7 significant digits -> relative 1e-6.
TOL_BAYESMETA_TAU = 1e-6
# bayesmeta's mu/theta summaries come from its DIRECT discretisation (delta = 0.01: bounded
# divergence between neighbouring mixture components, each bin's mass at one reference tau;
# epsilon = 1e-4: the top 1e-4 of the tau posterior is cut off). That approximation errs by up
# to ~2e-3 posterior SDs here (our values agree with brute-force quadrature to 1e-9), so the
# published numbers are matched to 3e-3 posterior SDs.
TOL_BAYESMETA_DIRECT_SD = 3e-3

Y4 = np.array([-0.5, -0.2, -0.4, 0.1])
V4 = np.array([0.04, 0.02, 0.05, 0.03])
Z975 = stats.norm.ppf(0.975)


def fit_quiet(*args, **kwargs) -> BayesResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        return bayes_meta_analysis(*args, **kwargs)


# ------------------------------------------------------------------------- brute force
class Brute:
    """Independent reference: scipy.integrate.quad over tau of the textbook formulas.

    The marginal likelihood of tau is written as a product of normal densities times
    sqrt(2 pi V) (flat mu prior) or as a multivariate normal density of y (normal mu prior),
    not through acuevidence.bayes.
    """

    def __init__(self, y, v, logprior, mu_prior=None, tau_max=np.inf, normalise=True):
        self.y, self.v, self.logprior, self.mu_prior = np.asarray(y), np.asarray(v), logprior, mu_prior
        self.tau_max = tau_max
        self.c = max(self.loglik(t) + self.logprior(t) for t in (0.01, 0.1, 0.3, 1.0, 3.0)
                     if t <= tau_max)
        self.z = self.integrate(lambda t: 1.0) if normalise else math.nan

    def cond(self, t):
        w = 1.0 / (self.v + t * t)
        prec = w.sum() + (0.0 if self.mu_prior is None else 1 / self.mu_prior[1] ** 2)
        num = (w * self.y).sum() + (0.0 if self.mu_prior is None
                                   else self.mu_prior[0] / self.mu_prior[1] ** 2)
        return num / prec, 1.0 / prec

    def loglik(self, t):
        if self.mu_prior is None:
            m, var = self.cond(t)
            return float(np.sum(stats.norm.logpdf(self.y, m, np.sqrt(self.v + t * t)))
                         + 0.5 * math.log(2 * math.pi * var))
        # y ~ N(m0 1, diag(v + tau^2) + s0^2 J), by Cholesky
        m0, s0 = self.mu_prior
        chol = np.linalg.cholesky(np.diag(self.v + t * t) + s0 ** 2)
        z = np.linalg.solve(chol, self.y - m0)
        return float(-0.5 * (self.y.size * math.log(2 * math.pi) + z @ z)
                     - np.log(np.diag(chol)).sum())

    def dens(self, t):
        return math.exp(self.logprior(t) + self.loglik(t) - self.c)

    def integrate(self, f):
        g = lambda t: f(t) * self.dens(t)
        kw = dict(epsabs=0, epsrel=1e-11, limit=400)
        if math.isfinite(self.tau_max):
            return integrate.quad(g, 0, self.tau_max, **kw)[0]
        return integrate.quad(g, 0, 2, **kw)[0] + integrate.quad(g, 2, np.inf, **kw)[0]

    def mean(self, f):
        return self.integrate(f) / self.z

    def cdf_mu(self, x, predictive=False):
        def f(t):
            m, var = self.cond(t)
            return stats.norm.cdf(x, m, math.sqrt(var + (t * t if predictive else 0.0)))
        return self.mean(f)

    def cdf_tau(self, x):
        g = lambda t: self.dens(t)
        return integrate.quad(g, 0, x, epsabs=0, epsrel=1e-11, limit=400)[0] / self.z

    def ppf_tau(self, p):
        hi = 1.0
        while self.cdf_tau(hi) < p:
            hi *= 2
        return optimize.brentq(lambda x: self.cdf_tau(x) - p, 0, hi, xtol=1e-12)


BRUTE_PRIORS = {
    "half-normal": (half_normal_prior(0.5),
                    lambda t: math.log(2 / (0.5 * math.sqrt(2 * math.pi))) - 0.5 * (t / 0.5) ** 2),
    "half-cauchy": (half_cauchy_prior(0.3), lambda t: math.log(2 / (math.pi * 0.3 * (1 + (t / 0.3) ** 2)))),
    "uniform": (uniform_prior(1.5), lambda t: -math.log(1.5)),
    "turner": (turner_prior("pain", "nonpharma-placebo"),
               lambda t: stats.lognorm.logpdf(t * t, s=1.71, scale=math.exp(-2.05)) + math.log(2 * t)
               if t > 0 else -np.inf),
}


@pytest.mark.parametrize("name", sorted(BRUTE_PRIORS))
@pytest.mark.parametrize("mu_prior", [None, (0.0, 1.0)], ids=["flat-mu", "normal-mu"])
def test_against_brute_force_quadrature(name, mu_prior):
    prior, logprior = BRUTE_PRIORS[name]
    tau_max = prior.upper
    res = bayes_meta_analysis(Y4, V4, tau_prior=prior, mu_prior=mu_prior)
    ref = Brute(Y4, V4, logprior, mu_prior, tau_max)
    est = ref.mean(lambda t: ref.cond(t)[0])
    var = ref.mean(lambda t: ref.cond(t)[1] + (ref.cond(t)[0] - est) ** 2)
    tau_mean = ref.mean(lambda t: t)
    checks = {
        "estimate": (res.estimate, est),
        "sd": (res.sd, math.sqrt(var)),
        "tau_mean": (res.tau_mean, tau_mean),
        "tau_sd": (res.tau_sd, math.sqrt(ref.mean(lambda t: (t - tau_mean) ** 2))),
        # quantiles: the reference CDF at our quantile must give back its probability
        "tau_median": (ref.cdf_tau(res.tau_median), 0.5),
        "tau_ci_upper": (ref.cdf_tau(res.tau_ci_upper), 0.975),
        "ci_lower": (ref.cdf_mu(res.ci_lower), 0.025),
        "pi_upper": (ref.cdf_mu(res.pi_upper, predictive=True), 0.975),
        "prob_benefit(0.2)": (res.prob_benefit(0.2), ref.cdf_mu(-0.2)),
        "prob_benefit(0.2, predictive)": (res.prob_benefit(0.2, predictive=True),
                                          ref.cdf_mu(-0.2, predictive=True)),
        "cdf tau(0.1)": (res.cdf(0.1, "tau"), ref.cdf_tau(0.1)),
    }
    if prior.proper:
        bf = math.exp(ref.loglik(0.0) - ref.c) / ref.z
        checks["bayes_factor_tau0"] = (res.bayes_factor_tau0, bf)
    if mu_prior is not None:
        checks["log_marginal_likelihood"] = (res.log_marginal_likelihood, ref.c + math.log(ref.z))
    for what, (got, want) in checks.items():
        assert got == pytest.approx(want, rel=TOL_BRUTE, abs=TOL_BRUTE), what
    assert res.converged and res.quadrature_error < 1e-8


def test_log_t_prior_against_brute_force():
    # Rhodes et al.: density ~ 1/(tau |log tau|^6) at 0 -- the lump below tau_lo handles it.
    prior = rhodes_prior("pain", "nonpharma-placebo")
    loc, sc = -3.02 / 2, 2.27 / 2

    def logprior(t):
        return stats.t.logpdf((math.log(t) - loc) / sc, 5) - math.log(sc * t) if t > 0 else np.inf

    res = bayes_meta_analysis(Y4, V4, tau_prior=prior)
    ref = Brute(Y4, V4, logprior, normalise=False)
    # quad cannot integrate the 1/(t log^6 t) spike at 0 to 1e-11; compare in two pieces
    # with the part below 1e-6 from the prior's distribution function (L is flat there).
    lo = 1e-6
    below = math.exp(ref.loglik(0.0) - ref.c) * stats.t.cdf((math.log(lo) - loc) / sc, 5)
    kw = dict(epsabs=0, epsrel=1e-11, limit=400)
    dens = ref.dens
    z = below + integrate.quad(dens, lo, 2, **kw)[0] + integrate.quad(dens, 2, np.inf, **kw)[0]
    m0 = ref.cond(0.0)[0]
    est = (below * m0 + integrate.quad(lambda t: ref.cond(t)[0] * dens(t), lo, 2, **kw)[0]
           + integrate.quad(lambda t: ref.cond(t)[0] * dens(t), 2, np.inf, **kw)[0]) / z
    tau_mean = (integrate.quad(lambda t: t * dens(t), lo, 2, **kw)[0]
                + integrate.quad(lambda t: t * dens(t), 2, np.inf, **kw)[0]) / z
    assert res.estimate == pytest.approx(est, rel=TOL_BRUTE)
    assert res.tau_mean == pytest.approx(tau_mean, rel=1e-6)
    assert res.tau_mode == 0.0 and res.tau_hpd_lower == 0.0   # density diverges at 0


# -------------------------------------------------------------------------- analytic limits
def test_fixed_tau_zero_is_the_common_effect_model():
    res = bayes_meta_analysis(Y4, V4, tau_prior="fixed", tau_prior_scale=0.0)
    fe = meta_analysis(Y4, V4, method="FE")
    for a, b in ((res.estimate, fe.estimate), (res.median, fe.estimate), (res.sd, fe.se),
                 (res.ci_lower, fe.ci_lower), (res.ci_upper, fe.ci_upper),
                 (res.hpd_lower, fe.ci_lower), (res.hpd_upper, fe.ci_upper),
                 (res.pi_lower, fe.ci_lower), (res.pi_upper, fe.ci_upper)):
        assert a == pytest.approx(b, rel=TOL_EXACT, abs=TOL_EXACT)
    assert res.tau_mean == res.tau_median == res.tau_mode == 0.0
    assert res.n_support == 1 and res.bayes_factor_tau0 == pytest.approx(1.0)
    assert res.prob_below(0.0) == pytest.approx(stats.norm.cdf(-fe.estimate / fe.se), rel=1e-12)


@pytest.mark.parametrize("tau", [0.05, 0.3, 2.0])
def test_fixed_tau_is_the_random_effects_model_with_that_tau(tau):
    res = bayes_meta_analysis(Y4, V4, tau_prior=fixed_tau(tau))
    re = meta_analysis(Y4, V4, tau2=tau ** 2)
    for a, b in ((res.estimate, re.estimate), (res.sd, re.se), (res.ci_lower, re.ci_lower),
                 (res.ci_upper, re.ci_upper), (res.pi_lower, re.pi_lower),
                 (res.pi_upper, re.pi_upper), (res.pred_sd, math.sqrt(re.se ** 2 + tau ** 2))):
        assert a == pytest.approx(b, rel=TOL_EXACT, abs=TOL_EXACT)
    assert res.credible_interval("tau") == (tau, tau)


def test_fixed_tau_with_normal_mu_prior_is_conjugate():
    m0, s0, tau = 0.2, 0.3, 0.15
    res = bayes_meta_analysis(Y4, V4, tau_prior=fixed_tau(tau), mu_prior=(m0, s0))
    w = 1 / (V4 + tau ** 2)
    prec = w.sum() + 1 / s0 ** 2
    mean = ((w * Y4).sum() + m0 / s0 ** 2) / prec
    assert res.estimate == pytest.approx(mean, rel=TOL_EXACT)
    assert res.sd == pytest.approx(prec ** -0.5, rel=TOL_EXACT)
    assert res.ci_upper == pytest.approx(mean + Z975 * prec ** -0.5, rel=TOL_EXACT)
    # log p(y) for known tau: multivariate normal with the prior's covariance added
    cov = np.diag(V4 + tau ** 2) + s0 ** 2
    assert res.log_marginal_likelihood == pytest.approx(
        stats.multivariate_normal.logpdf(Y4, np.full(4, m0), cov), rel=TOL_EXACT)


@pytest.mark.parametrize("prior", ["half-normal", "half-cauchy", "uniform"])
def test_tau_to_zero_gives_the_common_effect_estimate_and_se(prior):
    res = bayes_meta_analysis(Y4, V4, tau_prior=prior, tau_prior_scale=1e-6)
    fe = meta_analysis(Y4, V4, method="FE")
    assert abs(res.estimate - fe.estimate) < TOL_3DEC
    assert abs(res.sd - fe.se) < TOL_3DEC
    assert abs(res.ci_lower - fe.ci_lower) < TOL_3DEC and abs(res.ci_upper - fe.ci_upper) < TOL_3DEC
    assert res.tau_ci_upper < 1e-4     # half-Cauchy(1e-6): 97.5% quantile 2.5e-5


def test_many_homogeneous_studies_concentrate_tau_near_zero():
    rng = np.random.default_rng(2024)
    v = np.full(4000, 0.01)
    y = rng.normal(0.3, np.sqrt(v))
    few = bayes_meta_analysis(y[:40], v[:40])
    many = bayes_meta_analysis(y, v)
    assert many.tau_ci_upper < 0.25 * math.sqrt(0.01)
    assert many.tau_ci_upper < few.tau_ci_upper / 3
    fe = meta_analysis(y, v, method="FE")
    assert abs(many.estimate - fe.estimate) < TOL_3DEC and abs(many.sd - fe.se) < TOL_3DEC


@pytest.mark.parametrize("p", [0.001, 0.025, 0.3, 0.5, 0.9, 0.999])
def test_single_study_with_known_tau_has_normal_quantiles(p):
    y, v, tau = 0.42, 0.09, 0.2
    res = bayes_meta_analysis([y], [v], tau_prior="fixed", tau_prior_scale=tau)
    sd = math.sqrt(v + tau ** 2)
    assert res.quantile(p) == pytest.approx(y + sd * stats.norm.ppf(p), rel=1e-11, abs=1e-11)
    assert res.quantile(p, "predictive") == pytest.approx(
        y + math.sqrt(v + 2 * tau ** 2) * stats.norm.ppf(p), rel=1e-11, abs=1e-11)


def test_single_study_tau_posterior_is_the_prior():
    with pytest.warns(SmallSampleWarning, match="k = 1"):
        res = bayes_meta_analysis([0.3], [0.04], tau_prior="half-normal", tau_prior_scale=0.5)
    assert res.tau_median == pytest.approx(0.5 * stats.norm.ppf(0.75), rel=1e-9)
    assert res.tau_mean == pytest.approx(0.5 * math.sqrt(2 / math.pi), rel=1e-9)
    assert res.sd == pytest.approx(math.sqrt(0.04 + 0.25), rel=1e-9)   # V + E[tau^2]
    assert res.estimate == pytest.approx(0.3, abs=1e-12)


def test_single_study_heavy_tailed_prior_reports_infinite_moments():
    res = fit_quiet([0.3], [0.04], tau_prior="half-cauchy", tau_prior_scale=0.5)
    assert res.tau_median == pytest.approx(0.5, rel=1e-9)           # prior median = scale
    assert math.isinf(res.tau_mean) and math.isinf(res.sd) and math.isinf(res.pred_sd)
    assert res.estimate == pytest.approx(res.median)                  # mean does not exist
    assert any("does not exist" in w for w in res.warnings)
    d = res.to_dict()
    assert d["tau_mean"] is None and d["sd"] is None
    json.dumps(d)
    assert res.ci_lower < 0.3 < res.ci_upper and math.isfinite(res.ci_lower)


# ------------------------------------------------------------------ published bayesmeta output
# Source: bayesmeta R package vignette (C. Röver), inst/doc/bayesmeta.html in the CRAN package
# (version of 2018, metafor 2.0-0), sections "A simple example" and "More detailed analysis":
# Rubin (1981) eight-schools data, analysed with
#   schools.example.1 <- bayesmeta(y, sigma, mu.prior.mean=0, mu.prior.sd=50,
#                                  tau.prior=function(t){dhalfcauchy(t, scale=25)})
#   schools.example.2 <- bayesmeta(y, sigma)          # flat priors for mu and tau
SCHOOLS_Y = [28.39, 7.94, -2.75, 6.82, -0.64, 0.63, 18.01, 12.16]
SCHOOLS_SE = [14.9, 10.2, 16.3, 11.0, 9.4, 11.4, 10.4, 17.6]
REF_SCHOOLS = {
    "example.1": dict(
        kwargs=dict(tau_prior="half-cauchy", tau_prior_scale=25, mu_prior=(0, 50)),
        tau=dict(mode=0.0, median=4.758539, mean=5.884511, sd=4.869904,
                 shortest=(0.0, 15.165894), central=(0.2199559, 18.0531718), q95=15.16589),
        mu=dict(median=7.962961, mean=7.985729, sd=4.995762, shortest=(-1.823353, 17.824562),
                p_above_0=0.9487521, q95=16.11009),
        theta=dict(median=7.926819, sd=9.126767, shortest=(-10.623526, 26.827377)),
    ),
    "example.2": dict(
        kwargs=dict(tau_prior="uniform", tau_prior_scale=math.inf),
        tau=dict(mode=0.0, median=5.227732, mean=6.585992, sd=5.685974,
                 shortest=(0.0, 17.265797)),
        mu=dict(median=8.055861, mean=8.092138, sd=5.246683, shortest=(-2.176157, 18.406330)),
        theta=dict(median=8.008111, sd=10.148132, shortest=(-12.511817, 29.014749)),
    ),
}


@pytest.mark.parametrize("case", sorted(REF_SCHOOLS))
def test_published_bayesmeta_eight_schools(case):
    ref = REF_SCHOOLS[case]
    res = bayes_meta_analysis(SCHOOLS_Y, sei=SCHOOLS_SE, labels=list("ABCDEFGH"), **ref["kwargs"])
    tau = ref["tau"]
    got_tau = {"mode": res.tau_mode, "median": res.tau_median, "mean": res.tau_mean,
               "sd": res.tau_sd, "q95": res.quantile(0.95, "tau")}
    for key, want in tau.items():
        if key in ("shortest", "central"):
            got = res.credible_interval("tau", key)
            for g, w in zip(got, want, strict=True):
                assert g == pytest.approx(w, rel=TOL_BAYESMETA_TAU, abs=1e-12), (key, g, w)
        else:
            assert got_tau[key] == pytest.approx(want, rel=TOL_BAYESMETA_TAU, abs=1e-12), key
    for which, vals in (("mu", ref["mu"]), ("predictive", ref["theta"])):
        scale = res.sd if which == "mu" else res.pred_sd
        tol = TOL_BAYESMETA_DIRECT_SD * scale
        got = {"median": res.quantile(0.5, which), "mean": res.estimate,
               "sd": res.sd if which == "mu" else res.pred_sd,
               "p_above_0": 1 - res.cdf(0.0, which), "q95": res.quantile(0.95, which)}
        for key, want in vals.items():
            if key == "shortest":
                for g, w in zip(res.credible_interval(which, "shortest"), want, strict=True):
                    assert abs(g - w) <= tol, (which, key, g, w)
            else:
                t = TOL_BAYESMETA_DIRECT_SD if key == "p_above_0" else tol
                assert abs(got[key] - want) <= t, (which, key, got[key], want)


def test_eight_schools_exact_values_against_brute_force():
    # The published mu summaries differ from ours by bayesmeta's DIRECT error; show that ours
    # are the exact ones (example.1: normal mu prior, half-Cauchy(25)).
    v = np.asarray(SCHOOLS_SE) ** 2
    res = bayes_meta_analysis(SCHOOLS_Y, v, tau_prior="half-cauchy", tau_prior_scale=25,
                              mu_prior=(0, 50))
    ref = Brute(SCHOOLS_Y, v, lambda t: math.log(2 / (math.pi * 25 * (1 + (t / 25) ** 2))),
                (0.0, 50.0))
    est = ref.mean(lambda t: ref.cond(t)[0])
    assert res.estimate == pytest.approx(est, rel=TOL_BRUTE)
    assert res.cdf(0.0) == pytest.approx(ref.cdf_mu(0.0), abs=TOL_BRUTE)


# ---------------------------------------------------------------------------------- priors
def test_turner_table_is_additive_on_the_log_scale():
    # Turner et al. fit an additive model for log(tau^2): outcome effect + comparison effect.
    # Every column must be the first column plus one constant (to the printed 2 decimals).
    outcomes = sorted({o for o, _ in TURNER_2015})
    base = TURNER_COMPARISONS[0]
    for c in TURNER_COMPARISONS[1:]:
        shifts = [TURNER_2015[(o, c)][0] - TURNER_2015[(o, base)][0] for o in outcomes]
        assert max(shifts) - min(shifts) <= 0.0201, c
    assert len(TURNER_2015) == 16 * 5


def test_rhodes_table_is_additive_and_the_suspect_cell_is_left_out():
    outcomes = sorted({o for o, _ in RHODES_2015})
    base = RHODES_COMPARISONS[0]
    for c in RHODES_COMPARISONS[1:]:
        shifts = [RHODES_2015[(o, c)][0] - RHODES_2015[(o, base)][0]
                  for o in outcomes if (o, c) in RHODES_2015]
        assert max(shifts) - min(shifts) <= 0.0101, c
    assert len(RHODES_2015) == 8 * 3 - 1
    with pytest.raises(InputError, match="not available"):
        rhodes_prior("mental health", "nonpharma-placebo")


def test_empirical_priors_for_acupuncture_settings():
    # Turner 2015 Table IV, row "pain", column "non-pharmacological vs placebo/control".
    p = turner_prior("pain", "non-pharmacological vs placebo/control")
    assert p.params == {"mean_log_tau2": -2.05, "sd_log_tau2": 1.71}
    assert (p.location, p.scale) == (-1.025, 0.855)
    assert turner_prior("pain", "pharma-placebo").params["mean_log_tau2"] == -1.83
    assert turner_prior("subjective", "nonpharma-placebo").params["mean_log_tau2"] == -2.92
    assert turner_prior().params == {"mean_log_tau2": -2.56, "sd_log_tau2": 1.74}
    # Rhodes 2015 Table 3, group "general physical health, adverse event, pain and quality of
    # life/functioning", non-pharmacological comparisons (any comparator).
    r = rhodes_prior("pain", "nonpharma-placebo")
    assert r.params == {"location_log_tau2": -3.02, "scale_log_tau2": 2.27, "df": 5.0}
    assert rhodes_prior("pain", "pharmacological vs placebo/control").params[
        "location_log_tau2"] == -3.16
    assert rhodes_prior().params["location_log_tau2"] == -3.44
    assert "Table IV" in p.source and "Table 3" in r.source


@pytest.mark.parametrize("prior", [
    half_normal_prior(0.5), half_cauchy_prior(0.5), uniform_prior(2.0),
    log_normal_tau2_prior(-2.05, 1.71), log_t_tau2_prior(-3.02, 2.27)], ids=str)
def test_prior_density_and_distribution_function_agree(prior):
    up = prior.upper
    dens = lambda t: math.exp(prior.logpdf(np.array([t]))[0])
    lo = 1e-6   # quad cannot resolve the log-t spike at 0; the mass below lo is compared apart
    for t in (0.05, 0.3, 1.2):
        got = integrate.quad(dens, lo, min(t, up), epsabs=0, epsrel=1e-10, limit=200)[0]
        assert got == pytest.approx(prior.mass_below(t) - prior.mass_below(lo), rel=1e-7,
                                    abs=1e-12)
        assert prior.tau_below(prior.mass_below(t)) == pytest.approx(min(t, up), rel=1e-9)
        if prior.proper:
            assert prior.mass_below(t) + prior.mass_above(t) == pytest.approx(1.0, abs=1e-12)


def test_log_normal_prior_matches_scipy():
    p = log_normal_tau2_prior(-2.05, 1.71)
    t = np.array([0.05, 0.2, 0.9])
    # tau^2 ~ LN(-2.05, 1.71): density of tau = density of tau^2 * 2 tau
    want = stats.lognorm.logpdf(t ** 2, s=1.71, scale=math.exp(-2.05)) + np.log(2 * t)
    assert np.allclose(p.logpdf(t), want, rtol=1e-12)


@pytest.mark.parametrize("name, want", [("half-normal", "half-normal"), ("HalfCauchy", "half-cauchy"),
                                        ("uniform", "uniform"), ("fixed", "fixed"),
                                        ("turner", "log-normal"), ("Rhodes", "log-t")])
def test_prior_names(name, want):
    assert resolve_tau_prior(name, 0.5).family == want


def test_unknown_prior_name_suggests():
    with pytest.raises(InputError, match="Did you mean 'half-cauchy'"):
        bayes_meta_analysis(Y4, V4, tau_prior="half-cauhy")
    with pytest.raises(InputError, match="Choose one of"):
        bayes_meta_analysis(Y4, V4, tau_prior="jeffreys")
    with pytest.raises(InputError, match="Did you mean"):
        turner_prior("pian", "nonpharma-placebo")
    with pytest.raises(InputError, match="comparison"):
        turner_prior("pain", "acupuncture vs moxibustion")
    with pytest.raises(InputError, match="both"):
        turner_prior("pain")


@pytest.mark.parametrize("scale", [0, -0.5, float("nan"), "abc", None])
def test_bad_prior_scale(scale):
    with pytest.raises(InputError, match="tau_prior_scale"):
        bayes_meta_analysis(Y4, V4, tau_prior="half-normal", tau_prior_scale=scale)


def test_prior_measure_mismatch_warns():
    with pytest.warns(EvidenceWarning, match="derived for OR"):
        bayes_meta_analysis(Y4, V4, tau_prior=turner_prior("pain", "nonpharma-placebo"),
                            measure="SMD")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bayes_meta_analysis(Y4, V4, tau_prior=rhodes_prior("pain", "nonpharma"), measure="SMD")


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kwargs, match", [
    (dict(yi=[0.1, 0.2], vi=[0.01, 0.0]), "'vi' must be positive"),
    (dict(yi=[0.1, 0.2], vi=[0.01, -1]), "row"),
    (dict(yi=[], vi=[]), "k = 0"),
    (dict(yi=[0.1, np.nan], vi=[0.01, 0.02]), "missing"),
    (dict(yi=[0.1, 0.2], vi=[0.01]), "different lengths"),
    (dict(yi=[0.1, 0.2]), "sampling variances"),
    (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], sei=[0.1, 0.1]), "either"),
    (dict(yi=[0.1, 0.2], sei=[0.1, 0.0]), "'sei' must be positive"),
    (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], mu_prior=(0, 0)), "mu_prior"),
    (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], mu_prior="flat"), "mu_prior"),
    (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], level=0), "level"),
    (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], labels=["a"]), "labels"),
    (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], tau_prior="fixed", tau_prior_scale=-1), "fixed tau"),
    (dict(yi=[0.1, 0.2], vi=[0.01, 0.02], tau_prior=3), "tau_prior"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        bayes_meta_analysis(**kwargs)


def test_improper_uniform_prior_needs_enough_studies():
    with pytest.raises(InputError, match="improper posterior"):
        bayes_meta_analysis([0.1, 0.3], [0.01, 0.02], tau_prior="uniform",
                            tau_prior_scale=math.inf)
    # a normal prior for mu makes k = 2 proper
    res = bayes_meta_analysis([0.1, 0.3], [0.01, 0.02], tau_prior="uniform",
                              tau_prior_scale=math.inf, mu_prior=(0, 1))
    assert res.bayes_factor_tau0 is None and res.log_marginal_likelihood is None
    assert math.isinf(res.tau_mean)     # posterior of tau decays like tau^-2


def test_bad_query_arguments():
    res = bayes_meta_analysis(Y4, V4)
    for call, match in ((lambda: res.prob_benefit(-0.1), "delta"),
                        (lambda: res.prob_benefit(0.1, direction="left"), "direction"),
                        (lambda: res.prob_below(math.inf), "threshold"),
                        (lambda: res.quantile(1.2), "probability"),
                        (lambda: res.cdf(0.0, which="sigma"), "which"),
                        (lambda: res.credible_interval(kind="hpd"), "kind"),
                        (lambda: res.summary("pdf"), "format")):
        with pytest.raises(InputError, match=match):
            call()


# -------------------------------------------------------------------- extreme heterogeneity
@pytest.mark.parametrize("prior", ["half-cauchy", "half-normal"])
def test_extreme_heterogeneity_extends_the_grid(prior):
    y = np.array([-10.0, 0.0, 10.0, 20.0, 35.0])
    v = np.array([0.01, 0.02, 0.01, 0.03, 0.01])
    res = bayes_meta_analysis(y, v, tau_prior=prior, tau_prior_scale=0.5)
    logprior = BRUTE_PRIORS[prior][1] if prior == "half-normal" else (
        lambda t: math.log(2 / (math.pi * 0.5 * (1 + (t / 0.5) ** 2))))
    ref = Brute(y, v, logprior)
    assert res.tau_median == pytest.approx(ref.ppf_tau(0.5), rel=1e-7)
    assert res.estimate == pytest.approx(ref.mean(lambda t: ref.cond(t)[0]), rel=1e-7)
    # nothing cut off: the mass beyond the largest mixture component is negligible
    assert res.tail_mass == 0.0
    assert 1.0 - res.cdf(float(res.support_tau.max()), "tau") < 1e-12
    assert res.support_tau.max() > 5 * res.tau_ci_upper


def test_heavy_tail_beyond_the_cap_is_kept_and_reported():
    # k = 1, flat mu prior: the posterior of tau is the log-t prior, whose tail is so heavy
    # that mass remains beyond tau = 1e147; it is kept as one component, not dropped.
    res = fit_quiet([0.3], [0.04], tau_prior=rhodes_prior())
    assert 0 < res.tail_mass < 1e-8
    assert res.tau_median == pytest.approx(math.exp(-3.44 / 2), rel=1e-9)
    assert res.support_weight.sum() == pytest.approx(1.0, abs=1e-14)


# ------------------------------------------------------------------------ result contract
def test_result_is_frozen_and_exports():
    res = bayes_meta_analysis(Y4, V4, labels=list("abcd"), measure="SMD", evidence_version="v1")
    with pytest.raises(AttributeError):
        res.estimate = 0.0
    with pytest.raises(ValueError):
        res.support_weight[0] = 1.0
    frame = res.to_frame()
    assert frame.shape[0] == 1 and frame.loc[0, "estimate"] == res.estimate
    d = res.to_dict(grids=True)
    json.dumps(d)
    assert d["tau_prior_spec"]["family"] == "half-normal" and d["evidence_version"] == "v1"
    assert len(d["mu_grid"]) == len(d["mu_density"]) == 301
    for fmt in ("text", "markdown", "html"):
        out = res.summary(fmt)
        assert "half-normal" in out and "prediction interval" in out
    assert "BayesResult(k=4" in repr(res) and str(res) == res.summary()


def test_order_invariance_refit_and_no_mutation():
    y, v = Y4.copy(), V4.copy()
    a = bayes_meta_analysis(y, v)
    b = bayes_meta_analysis(y, v)
    perm = [2, 0, 3, 1]
    c = bayes_meta_analysis(y[perm], v[perm])
    assert np.array_equal(y, Y4) and np.array_equal(v, V4)
    for name in ("estimate", "sd", "ci_lower", "tau_median", "pi_upper", "tau_mode"):
        assert getattr(a, name) == getattr(b, name)
        # the mode comes from a bounded optimiser (xatol 1e-12 x scale), the rest from sums
        tol = 1e-9 if name == "tau_mode" else 1e-12
        assert getattr(c, name) == pytest.approx(getattr(a, name), rel=tol, abs=1e-12)


def test_dataframe_and_sei_inputs():
    df = pd.DataFrame({"y": Y4, "v": V4, "se": np.sqrt(V4), "name": list("wxyz")})
    a = bayes_meta_analysis("y", "v", data=df, labels="name")
    b = bayes_meta_analysis(Y4, sei=np.sqrt(V4))
    model = BayesMetaAnalysis()
    c = model.fit("y", sei="se", data=df)
    assert a.labels == ("w", "x", "y", "z") and c.labels == ("0", "1", "2", "3")
    assert a.estimate == pytest.approx(b.estimate, rel=1e-12) == pytest.approx(c.estimate)
    assert copy.deepcopy(model) == model


def test_probabilities_quantiles_and_intervals_are_consistent():
    res = bayes_meta_analysis(Y4, V4, tau_prior="half-normal", tau_prior_scale=0.5)
    for which in ("mu", "predictive", "tau"):
        for p in (0.025, 0.5, 0.9):
            assert res.cdf(res.quantile(p, which), which) == pytest.approx(p, abs=1e-10)
        lo, hi = res.credible_interval(which)
        slo, shi = res.credible_interval(which, "shortest")
        assert res.cdf(hi, which) - res.cdf(lo, which) == pytest.approx(0.95, abs=1e-10)
        assert res.cdf(shi, which) - res.cdf(slo, which) == pytest.approx(0.95, abs=1e-10)
        assert shi - slo <= hi - lo + 1e-12
    assert (res.ci_lower, res.ci_upper) == res.credible_interval("mu")
    assert (res.hpd_lower, res.hpd_upper) == res.credible_interval("mu", "shortest")
    assert (res.pi_lower, res.pi_upper) == res.credible_interval("predictive")
    assert (res.tau_hpd_lower, res.tau_hpd_upper) == res.credible_interval("tau", "shortest")
    assert res.prob_below(0.1) + res.prob_above(0.1) == pytest.approx(1.0)
    assert res.prob_benefit(0.2) == pytest.approx(res.prob_below(-0.2))
    assert res.prob_benefit(0.2, direction="higher") == pytest.approx(res.prob_above(0.2))
    # the predictive distribution is wider: its probability is closer to 1/2
    assert abs(res.prob_benefit(0.0, predictive=True) - 0.5) < abs(res.prob_benefit(0.0) - 0.5)
    assert res.credible_interval("mu", level=0.5)[1] < res.ci_upper
    assert res.pi_lower < res.ci_lower and res.pi_upper > res.ci_upper


def test_quadrature_is_accurate_and_mixture_is_a_distribution():
    res = bayes_meta_analysis(Y4, V4, tau_prior=turner_prior("pain", "nonpharma-placebo"))
    assert res.converged and res.quadrature_error < 1e-8 and QUAD_TOL <= 1e-9
    assert np.all(res.support_weight >= 0)
    assert res.support_weight.sum() == pytest.approx(1.0, abs=1e-14)
    assert np.all(np.diff(res.tau_grid) > 0) and np.all(res.tau_density >= 0)
    assert integrate.trapezoid(res.mu_density, res.mu_grid) == pytest.approx(1.0, abs=2e-3)


def test_conditional_posterior_pure_function():
    tau = np.array([0.0, 0.3])
    mean, var, ll = conditional_posterior(tau, Y4, V4)
    for i, t in enumerate(tau):
        re = meta_analysis(Y4, V4, tau2=t * t)
        assert mean[i] == pytest.approx(re.estimate, rel=1e-12)
        assert var[i] == pytest.approx(re.se ** 2, rel=1e-12)
    # the flat-prior marginal likelihood equals the REML likelihood up to log|X'X| = log k
    re = meta_analysis(Y4, V4, tau2=0.09, method="REML")
    assert ll[1] == pytest.approx(re.loglik - 0.5 * math.log(4), rel=1e-12)


def test_plot_posterior_returns_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = bayes_meta_analysis(Y4, V4, measure="SMD")
    for which in ("mu", "tau"):
        ax = res.plot_posterior(which=which)
        assert ax.get_xlabel() and ax.get_ylabel() == "posterior density"
        assert len(ax.lines) >= 2
        plt.close(ax.figure)
    fig, ax = plt.subplots()
    assert fit_quiet([0.1], [0.01], tau_prior="fixed", tau_prior_scale=0.1).plot_posterior(
        ax, which="tau") is ax
    plt.close(fig)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 3), st.floats(0.001, 1.0)), min_size=2, max_size=12),
       st.sampled_from(["half-normal", "half-cauchy", "turner", "rhodes"]))
def test_properties(rows, prior):
    y = np.array([r[0] for r in rows])
    v = np.array([r[1] for r in rows])
    res = bayes_meta_analysis(y, v, tau_prior=prior, tau_prior_scale=0.5)
    assert y.min() - 1e-9 <= res.median <= y.max() + 1e-9
    assert res.ci_lower <= res.median <= res.ci_upper
    assert res.pi_lower <= res.ci_lower + 1e-9 and res.ci_upper <= res.pi_upper + 1e-9
    assert res.tau_ci_lower <= res.tau_median <= res.tau_ci_upper
    assert 0.0 <= res.tau_hpd_lower <= res.tau_median <= res.tau_hpd_upper + 1e-12
    assert res.quadrature_error < 1e-7 and res.converged
    assert 0 <= res.prob_benefit(0.1) <= 1
    if math.isfinite(res.estimate):
        assert y.min() - 1e-9 <= res.estimate <= y.max() + 1e-9


def test_tau_prior_object_is_frozen_and_described():
    p = half_normal_prior(0.5)
    assert isinstance(p, TauPrior) and str(p) == "half-normal(scale=0.5)"
    with pytest.raises(AttributeError):
        p.scale = 1.0
    assert p.to_dict()["parameters"] == {"scale": 0.5}


@pytest.mark.parametrize("y", [[-5.0, 5.0], [0.2, 0.2, 0.2]], ids=["symmetric", "identical"])
def test_degenerate_means_converge(y):
    # E[mu] is 0 (symmetric) or every conditional mean is equal (identical): the error of the
    # mean integrand must be judged against the posterior scale, not against ~0.
    res = bayes_meta_analysis(y, [0.001] * len(y))
    assert res.converged and res.quadrature_error < 1e-8 and res.n_support < 5000
    assert res.estimate == pytest.approx(float(np.mean(y)), abs=1e-12)
    assert res.median == pytest.approx(float(np.mean(y)), abs=1e-9)
