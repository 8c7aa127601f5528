"""Bayesian random-effects meta-analysis without MCMC (the approach of R's bayesmeta).

Model: y_i ~ N(mu, v_i + tau^2), with a flat (improper) or normal prior for mu and a prior for
tau (:mod:`acuevidence.bayes_priors`). Given tau, mu has a normal conditional posterior
N(mu_hat(tau), V(tau)), and mu can be integrated out in closed form, so the marginal posterior
of tau is known up to a constant: p(tau | y) ~ p(tau) * L(tau), with
L(tau) = prod N(y_i | mu_hat, v_i + tau^2) * sqrt(2 pi V(tau)) for the flat prior.
The posterior of mu (and of a new study's effect theta_new) is then the mixture of the
conditional normals over p(tau | y).

bayesmeta discretises tau on a grid with bounded divergence between neighbouring mixture
components (its DIRECT algorithm). Here the tau integral is done by adaptive Gauss-Kronrod
(15-point) quadrature on log(tau) with error control on the normalising constant and the first
two moments of tau and mu (relative error below :data:`QUAD_TOL`); the Kronrod nodes and
weights are the mixture. The stretch [0, tau_lo] near zero, where L is constant to 1e-16, is
integrated exactly through the prior's distribution function, and the upper end is extended
until the tail mass is below :data:`TAIL_TOL` (what is left is reported, never dropped). The
accuracy of the mixture for mu is checked a posteriori by comparing the Kronrod mixture with
the embedded Gauss mixture (``quadrature_error``).

References
----------
Röver C (2020). Bayesian random-effects meta-analysis using the bayesmeta R package.
    J Stat Softw 93(6):1-51. doi:10.18637/jss.v093.i06
Röver C, Friede T (2017). Discrete approximation of a mixture distribution via restricted
    divergence. J Comput Graph Stat 26(1):217-222. (the DIRECT algorithm)
Spiegelhalter DJ, Abrams KR, Myles JP (2004). Bayesian approaches to clinical trials and
    health-care evaluation. Wiley. (normal-normal hierarchical model)
Piessens R, de Doncker-Kapenga E, Überhuber CW, Kahaner DK (1983). QUADPACK. Springer.
    (the Gauss-Kronrod 7/15 rule)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._bayes_numeric import (
    QUAD_TOL,
    TAIL_TOL,
    _FixedPosterior,
    _TauPosterior,
    conditional_posterior,
    mixture_cdf,
    mixture_pdf,
    mixture_ppf,
    shortest_interval,
)
from ._validate import (
    check_level,
    effect_inputs,
    check_positive,
    check_same_length,
    finite_number,
    resolve_column,
)
from .bayes_priors import TauPrior, resolve_tau_prior
from .errors import ConvergenceWarning, EvidenceWarning, InputError, SmallSampleWarning
from .printer import Report, fmt_number
from .results import frozen_array, json_safe

__all__ = ["BayesMetaAnalysis", "BayesResult", "bayes_meta_analysis", "conditional_posterior",
           "mixture_cdf", "mixture_ppf", "QUAD_TOL", "TAIL_TOL"]


# ------------------------------------------------------------------------------- options
def _mu_prior(mu_prior: Any) -> tuple[float | None, float | None]:
    if mu_prior is None:
        return None, None
    try:
        m, s = (float(x) for x in mu_prior)
    except (TypeError, ValueError):
        raise InputError(f"'mu_prior' must be None (flat prior) or (mean, sd); got "
                         f"{mu_prior!r}.", column="mu_prior") from None
    if not (math.isfinite(m) and math.isfinite(s) and s > 0):
        raise InputError(f"'mu_prior' needs a finite mean and a finite sd > 0; got ({m!r}, "
                         f"{s!r}). Use None for the flat prior.", column="mu_prior")
    return m, s


@dataclass(frozen=True)
class BayesMetaAnalysis:
    """Options of a Bayesian random-effects meta-analysis; :meth:`fit` returns a result.

    Parameters
    ----------
    tau_prior : str or TauPrior
        ``"half-normal"`` (default), ``"half-cauchy"``, ``"uniform"``, ``"fixed"``,
        ``"turner"``/``"rhodes"`` (general-setting empirical priors) or a
        :class:`~acuevidence.bayes_priors.TauPrior`, e.g.
        ``turner_prior("pain", "nonpharma-placebo")`` or ``rhodes_prior("pain", "nonpharma")``.
    tau_prior_scale : float
        Scale of the half-normal/half-Cauchy prior, upper bound of the uniform prior
        (``math.inf``: improper flat prior) or the known tau of ``"fixed"`` (default 0.5).
    mu_prior : None or (mean, sd)
        None: flat (improper) prior on mu; otherwise a normal prior.
    level : float
        Probability of the credible and prediction intervals (0.95).
    """

    tau_prior: str | TauPrior = "half-normal"
    tau_prior_scale: float | None = 0.5
    mu_prior: tuple[float, float] | None = None
    level: float = 0.95

    def __post_init__(self) -> None:
        object.__setattr__(self, "tau_prior", resolve_tau_prior(self.tau_prior,
                                                                self.tau_prior_scale))
        m, s = _mu_prior(self.mu_prior)
        object.__setattr__(self, "mu_prior", None if m is None else (m, s))
        object.__setattr__(self, "level", check_level(self.level))

    def fit(self, yi: Any, vi: Any = None, *, data: pd.DataFrame | None = None, sei: Any = None,
            labels: Any = None, measure: str | None = None,
            evidence_version: str | None = None) -> BayesResult:
        """Fit the model to effect sizes ``yi`` with variances ``vi`` (or SEs ``sei``)."""
        y, v, lab = _prepare(yi, vi, sei, labels, data)
        return _fit(self, y, v, lab, measure, evidence_version)


def bayes_meta_analysis(
    yi: Any,
    vi: Any = None,
    *,
    data: pd.DataFrame | None = None,
    sei: Any = None,
    tau_prior: str | TauPrior = "half-normal",
    tau_prior_scale: float | None = 0.5,
    mu_prior: tuple[float, float] | None = None,
    level: float = 0.95,
    labels: Any = None,
    measure: str | None = None,
    evidence_version: str | None = None,
) -> BayesResult:
    """Bayesian random-effects meta-analysis by numerical integration (as R's bayesmeta).

    Examples
    --------
    >>> res = bayes_meta_analysis([-0.5, -0.2, -0.4, 0.1], [0.04, 0.02, 0.05, 0.03])
    >>> round(res.estimate, 3), round(res.prob_benefit(0.2), 3)
    (-0.231, 0.577)

    See :class:`BayesMetaAnalysis` for the options and :class:`BayesResult` for the output.
    """
    model = BayesMetaAnalysis(tau_prior=tau_prior, tau_prior_scale=tau_prior_scale,
                              mu_prior=mu_prior, level=level)
    return model.fit(yi, vi, data=data, sei=sei, labels=labels, measure=measure,
                     evidence_version=evidence_version)


def _prepare(yi, vi, sei, labels, data):
    y, v, named = effect_inputs(yi, vi, sei, data)
    check_same_length({"yi": y, named: v})
    k = y.shape[0]
    if k == 0:
        raise InputError("No studies to pool (k = 0): the data are empty.", column="yi")
    if named == "vi":
        check_positive(v, "vi", "must be positive (a variance of 0 or less is not a valid "
                       "sampling variance; check for an SE entered as 0 or a wrong column)")
    if labels is None:
        lab = (tuple(str(x) for x in data.index) if data is not None and isinstance(yi, str)
               else tuple(f"Study {i + 1}" for i in range(k)))
    else:
        raw = resolve_column(labels, data, "labels")
        lab = tuple(str(x) for x in (raw.tolist() if hasattr(raw, "tolist") else list(raw)))
        if len(lab) != k:
            raise InputError(f"'labels' has {len(lab)} entries but there are {k} studies.",
                             column="labels")
    return y, v, lab


_TURNER_MEASURES = ("OR",)
_RHODES_MEASURES = ("SMD", "SMDH", "SMD1", "SMD1H")


def _fit(opts: BayesMetaAnalysis, y, v, labels, measure, evidence_version) -> BayesResult:
    prior: TauPrior = opts.tau_prior            # type: ignore[assignment]
    m0, s0 = opts.mu_prior if opts.mu_prior is not None else (None, None)
    k = y.shape[0]
    notes: list[str] = []

    def warn(msg: str, category: type[Warning]) -> None:
        notes.append(msg)
        warnings.warn(msg, category, stacklevel=4)

    beta = k - 1 if s0 is None else k
    if not prior.proper and prior.tail_index + beta <= 1:
        need = 3 if s0 is None else 2
        raise InputError(f"The improper uniform prior for tau gives an improper posterior with "
                         f"k = {k} studies (it needs k >= {need}{' with a flat mu prior' if s0 is None else ''}). "
                         "Use a proper prior: a finite tau_prior_scale (upper bound) or "
                         "tau_prior='half-normal'.", column="tau_prior")
    if k == 1 and prior.family != "fixed":
        warn("Only one study (k = 1): the data say nothing about tau, so its posterior is "
             "(close to) the prior and the results rest on the tau prior.", SmallSampleWarning)
    if measure is not None and prior.source:
        expected = _TURNER_MEASURES if "Turner" in prior.source else _RHODES_MEASURES
        if str(measure).upper() not in expected:
            warn(f"The prior {prior.label!r} was derived for {'/'.join(expected)} meta-analyses; "
                 f"these data are on the {measure!r} scale, where its tau may not apply.",
                 EvidenceWarning)
    if prior.family == "fixed":
        post: Any = _FixedPosterior(prior.scale, y, v, m0, s0)
    else:
        with np.errstate(under="ignore"):
            post = _TauPosterior(prior, y, v, m0, s0)
    for n in post.notes:
        warn(n, ConvergenceWarning)
    tail_mass = post.tail / post.z
    if tail_mass > 1e-8:
        warn(f"The posterior of tau is extremely heavy-tailed: {tail_mass:.2g} of its mass lies "
             "beyond tau = 1e147 and is kept as one component there.", ConvergenceWarning)
    t, w, m, var = post.mixture()
    sd_c, sd_p = np.sqrt(var), np.sqrt(var + t * t)
    alpha = 1.0 - opts.level

    def q_mu(p: float) -> float:
        return mixture_ppf(p, w, m, sd_c)

    def q_pred(p: float) -> float:
        return mixture_ppf(p, w, m, sd_p)

    def d_mu(x: float) -> float:
        return float(mixture_pdf(x, w, m, sd_c)[0])

    def d_pred(x: float) -> float:
        return float(mixture_pdf(x, w, m, sd_p)[0])

    median, ci = q_mu(0.5), (q_mu(alpha / 2), q_mu(1 - alpha / 2))
    hpd = shortest_interval(q_mu, d_mu, opts.level)
    pred_median, pi = q_pred(0.5), (q_pred(alpha / 2), q_pred(1 - alpha / 2))
    mean_ok = s0 is not None or post.finite[1]
    var_ok = s0 is not None or post.finite[2]
    mu_mean = float(np.sum(w * m))
    estimate = mu_mean if mean_ok else median
    if not mean_ok:
        notes.append("The posterior mean of mu does not exist (E[tau] is infinite under this "
                     "prior and k); 'estimate' reports the posterior median.")
    sd = math.sqrt(float(np.sum(w * (var + (m - mu_mean) ** 2)))) if var_ok else math.inf
    pred_sd = (math.sqrt(float(np.sum(w * (var + t * t + (m - mu_mean) ** 2))))
               if post.finite[2] else math.inf)

    tau_mean = float(np.sum(w * t)) if post.finite[1] else math.inf
    tau2_mean = float(np.sum(w * t * t)) if post.finite[2] else math.inf
    tau_sd = math.sqrt(float(np.sum(w * (t - tau_mean) ** 2))) if post.finite[2] else math.inf
    if prior.family == "fixed":
        tau_q = (prior.scale,) * 4
        tau_hpd = (prior.scale, prior.scale)
    else:
        tau_q = (post.ppf(0.5), post.ppf(alpha / 2), post.ppf(1 - alpha / 2), post.mode())

        def d_tau(x: float) -> float:
            return float(np.exp(post.log_density(np.array([x]))[0]))

        tau_hpd = shortest_interval(post.ppf, d_tau, opts.level, lower_bounded=True)
    for name, val in (("tau", tau_mean), ("mu", sd), ("theta_new", pred_sd)):
        if not math.isfinite(val):
            notes.append(f"The posterior {'mean' if name == 'tau' else 'SD'} of {name} is "
                         "infinite (heavy-tailed posterior); quantiles remain valid.")

    # A posteriori check of the mixture: Kronrod against the embedded Gauss rule.
    qerr = 0.0
    if prior.family != "fixed":
        tg, wg, mg, vg = post.mixture(gauss=True)
        for xs, sg, sk in ((np.array([ci[0], median, ci[1]]), np.sqrt(vg), sd_c),
                           (np.array([pi[0], pred_median, pi[1]]), np.sqrt(vg + tg * tg), sd_p)):
            diff = mixture_cdf(xs, wg, mg, sg) - mixture_cdf(xs, w, m, sk)
            qerr = max(qerr, float(np.max(np.abs(diff))))

    log_bf = (post.ll0 - post.log_z) if prior.proper else None
    log_ml = post.log_z if (s0 is not None and prior.proper) else None

    if prior.family == "fixed":
        tau_grid = tau_dens = np.empty(0)
    else:
        tau_grid = np.linspace(0.0, max(post.ppf(0.995), 1e-12), 201)
        with np.errstate(over="ignore"):
            tau_dens = np.exp(post.log_density(tau_grid))
        ok = np.isfinite(tau_dens)
        tau_grid, tau_dens = tau_grid[ok], tau_dens[ok]
    lo = min(q_mu(0.001), q_pred(0.001))
    hi = max(q_mu(0.999), q_pred(0.999))
    mu_grid = np.linspace(lo, hi, 301)

    return BayesResult(
        k=k, level=opts.level, measure=measure,
        tau_prior=prior.label, mu_prior=("flat (improper)" if s0 is None
                                         else f"normal(mean={m0:g}, sd={s0:g})"),
        estimate=estimate, median=median, sd=sd, ci_lower=ci[0], ci_upper=ci[1],
        hpd_lower=hpd[0], hpd_upper=hpd[1],
        tau_mean=tau_mean, tau_median=tau_q[0], tau_mode=tau_q[3], tau_sd=tau_sd,
        tau_ci_lower=tau_q[1], tau_ci_upper=tau_q[2], tau_hpd_lower=tau_hpd[0],
        tau_hpd_upper=tau_hpd[1], tau2_mean=tau2_mean,
        pred_mean=estimate if post.finite[1] else pred_median, pred_median=pred_median,
        pred_sd=pred_sd, pi_lower=pi[0], pi_upper=pi[1],
        bayes_factor_tau0=math.exp(log_bf) if log_bf is not None and log_bf < 700 else
        (math.inf if log_bf is not None else None),
        log_bayes_factor_tau0=log_bf, log_marginal_likelihood=log_ml,
        n_support=int(t.size), quadrature_error=qerr, tail_mass=tail_mass,
        converged=bool(post.converged), evidence_version=evidence_version,
        yi=y, vi=v, labels=labels, prior=prior, mu_prior_mean=m0, mu_prior_sd=s0,
        support_tau=t, support_weight=w, support_mean=m, support_sd=sd_c,
        tau_grid=tau_grid, tau_density=tau_dens, mu_grid=mu_grid,
        mu_density=mixture_pdf(mu_grid, w, m, sd_c), pred_density=mixture_pdf(mu_grid, w, m, sd_p),
        warnings=tuple(notes), _posterior=post,
    )


# -------------------------------------------------------------------------------- result
SUMMARY_FIELDS: tuple[str, ...] = (
    "k", "method", "level", "measure", "tau_prior", "mu_prior",
    "estimate", "median", "sd", "ci_lower", "ci_upper", "hpd_lower", "hpd_upper",
    "tau_mean", "tau_median", "tau_mode", "tau_sd", "tau_ci_lower", "tau_ci_upper",
    "tau_hpd_lower", "tau_hpd_upper", "tau2_mean",
    "pred_mean", "pred_median", "pred_sd", "pi_lower", "pi_upper",
    "bayes_factor_tau0", "log_bayes_factor_tau0", "log_marginal_likelihood",
    "n_support", "quadrature_error", "tail_mass", "converged", "evidence_version",
)
_ARRAYS = ("yi", "vi", "support_tau", "support_weight", "support_mean", "support_sd",
           "tau_grid", "tau_density", "mu_grid", "mu_density", "pred_density")
_WHICH = ("mu", "predictive", "tau")



@dataclass(frozen=True, eq=False)
class BayesResult:
    """Posterior of a Bayesian random-effects meta-analysis (see :func:`bayes_meta_analysis`).

    mu: ``estimate`` (posterior mean), ``median``, ``sd``, equal-tailed credible interval
    ``ci_lower``/``ci_upper`` and shortest interval ``hpd_lower``/``hpd_upper``. tau: mean,
    median, mode, SD, equal-tailed and shortest intervals, and ``tau2_mean``. A new study's
    effect theta_new: ``pred_*`` and the equal-tailed prediction interval ``pi_lower``/
    ``pi_upper``. ``bayes_factor_tau0`` = p(y | tau = 0) / p(y) (evidence for homogeneity; None
    for an improper tau prior); ``log_marginal_likelihood`` needs proper priors for both
    parameters. Infinite moments are ``inf`` (``None`` in :meth:`to_dict`). The posterior of mu
    is the normal mixture ``support_*``; ``*_grid``/``*_density`` are for plots.

    Map from bayesmeta: ``summary["mean"/"median"/"sd", "mu"]`` -> estimate/median/sd;
    ``post.interval(mu.level=, method="central")`` -> ci_*; its default (shortest) -> hpd_*;
    ``summary[, "tau"]`` -> tau_*; ``summary[, "theta"]`` and ``post.interval(predict=TRUE)`` ->
    pred_*/pi_*; ``pposterior(mu=x)`` -> ``cdf(x)``; ``qposterior(mu.p=p)`` -> ``quantile(p)``;
    ``bayesfactor["actual", "tau=0"]`` -> bayes_factor_tau0; ``support`` -> support_*.
    """

    k: int
    level: float
    measure: str | None
    tau_prior: str
    mu_prior: str
    estimate: float
    median: float
    sd: float
    ci_lower: float
    ci_upper: float
    hpd_lower: float
    hpd_upper: float
    tau_mean: float
    tau_median: float
    tau_mode: float
    tau_sd: float
    tau_ci_lower: float
    tau_ci_upper: float
    tau_hpd_lower: float
    tau_hpd_upper: float
    tau2_mean: float
    pred_mean: float
    pred_median: float
    pred_sd: float
    pi_lower: float
    pi_upper: float
    bayes_factor_tau0: float | None
    log_bayes_factor_tau0: float | None
    log_marginal_likelihood: float | None
    n_support: int
    quadrature_error: float
    tail_mass: float
    converged: bool
    evidence_version: str | None
    yi: np.ndarray
    vi: np.ndarray
    labels: tuple[str, ...]
    prior: TauPrior
    mu_prior_mean: float | None
    mu_prior_sd: float | None
    support_tau: np.ndarray
    support_weight: np.ndarray
    support_mean: np.ndarray
    support_sd: np.ndarray
    tau_grid: np.ndarray
    tau_density: np.ndarray
    mu_grid: np.ndarray
    mu_density: np.ndarray
    pred_density: np.ndarray
    warnings: tuple[str, ...] = ()
    method: str = "bayes"
    _posterior: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in _ARRAYS:
            object.__setattr__(self, name, frozen_array(getattr(self, name)))

    # -- probabilities and quantiles --------------------------------------------------------
    def _sds(self, which: str) -> np.ndarray:
        if which == "mu":
            return self.support_sd
        return np.sqrt(self.support_sd ** 2 + self.support_tau ** 2)

    @staticmethod
    def _which(which: str) -> str:
        w = str(which).lower()
        w = {"theta": "predictive", "theta_new": "predictive", "pred": "predictive"}.get(w, w)
        if w not in _WHICH:
            raise InputError(f"Unknown which={which!r}; choose 'mu', 'predictive' or 'tau'.",
                             column="which")
        return w

    def cdf(self, x: float, which: str = "mu") -> float:
        """Posterior P(X <= x) for X = mu, the predictive theta_new or tau."""
        w = self._which(which)
        xf = finite_number(x, "x", allow_inf=True, what="the value whose probability is wanted")
        if w == "tau":
            return float(self._posterior.cdf(xf))
        return float(mixture_cdf(xf, self.support_weight, self.support_mean, self._sds(w))[0])

    def quantile(self, p: float, which: str = "mu") -> float:
        """Posterior quantile of mu, theta_new (``"predictive"``) or tau."""
        w = self._which(which)
        pf = finite_number(p, "p", minimum=0.0, maximum=1.0, what="a probability")
        if w == "tau":
            return float(self._posterior.ppf(pf))
        return mixture_ppf(pf, self.support_weight, self.support_mean, self._sds(w))

    def credible_interval(self, which: str = "mu", kind: str = "central",
                          level: float | None = None) -> tuple[float, float]:
        """Credible interval of mu, theta_new (``"predictive"``) or tau.

        ``kind="central"`` (equal tails) or ``"shortest"`` (highest density, for unimodal
        posteriors); ``level`` defaults to the fit's level.
        """
        w = self._which(which)
        lv = self.level if level is None else check_level(level)
        kd = str(kind).lower()
        if kd not in ("central", "shortest"):
            raise InputError(f"Unknown kind {kind!r}; choose 'central' or 'shortest'.",
                             column="kind")
        if w == "tau":
            post = self._posterior
            if kd == "central":
                return post.ppf((1 - lv) / 2), post.ppf((1 + lv) / 2)
            if self.prior.family == "fixed":
                return post.ppf(0.5), post.ppf(0.5)
            return shortest_interval(
                post.ppf, lambda x: float(np.exp(post.log_density(np.array([x]))[0])), lv,
                lower_bounded=True)
        sd = self._sds(w)
        args = (self.support_weight, self.support_mean, sd)
        if kd == "central":
            return mixture_ppf((1 - lv) / 2, *args), mixture_ppf((1 + lv) / 2, *args)
        return shortest_interval(lambda p: mixture_ppf(p, *args),
                                 lambda x: float(mixture_pdf(x, *args)[0]), lv)

    def prob_below(self, threshold: float, predictive: bool = False) -> float:
        """P(mu < threshold), or P(theta_new < threshold) with ``predictive=True``."""
        t = finite_number(threshold, "threshold", what="a value on the effect-size scale")
        return self.cdf(t, "predictive" if predictive else "mu")

    def prob_above(self, threshold: float, predictive: bool = False) -> float:
        """P(mu > threshold), or P(theta_new > threshold) with ``predictive=True``."""
        return 1.0 - self.prob_below(threshold, predictive)

    def prob_benefit(self, delta: float = 0.0, direction: str = "lower",
                     predictive: bool = False) -> float:
        """Probability of a benefit larger than the clinical threshold ``delta`` (>= 0).

        ``direction="lower"`` (lower values are better, e.g. pain scores or an SMD of pain):
        P(mu < -delta); ``"higher"``: P(mu > delta). ``predictive=True`` gives the same for the
        effect in a new setting, theta_new, the figure a patient decision aid needs.
        """
        try:
            d = float(delta) if not isinstance(delta, bool | np.bool_) else math.nan
        except (TypeError, ValueError):
            d = math.nan
        if not (math.isfinite(d) and d >= 0):
            raise InputError(f"'delta' is a threshold magnitude and must be finite and >= 0; "
                             f"got {delta!r} (use direction= for the side of benefit).",
                             column="delta")
        direc = str(direction).lower()
        if direc == "lower":
            return self.prob_below(-d, predictive)
        if direc == "higher":
            return self.prob_above(d, predictive)
        raise InputError(f"Unknown direction {direction!r}; choose 'lower' (lower values are "
                         "better) or 'higher'.", column="direction")

    # -- export -------------------------------------------------------------------------------
    def to_dict(self, grids: bool = False) -> dict[str, Any]:
        """JSON-safe dictionary of the summary fields, priors and warnings (and plot grids)."""
        out: dict[str, Any] = {name: getattr(self, name) for name in SUMMARY_FIELDS}
        out["tau_prior_spec"] = self.prior.to_dict()
        out["mu_prior_mean"], out["mu_prior_sd"] = self.mu_prior_mean, self.mu_prior_sd
        out["warnings"] = list(self.warnings)
        if grids:
            for name in ("tau_grid", "tau_density", "mu_grid", "mu_density", "pred_density"):
                out[name] = getattr(self, name)
        return json_safe(out)

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy DataFrame of the summary fields."""
        return pd.DataFrame([{name: getattr(self, name) for name in SUMMARY_FIELDS}])

    def summary(self, fmt: str = "text") -> str:
        """Readable summary as ``"text"``, ``"markdown"`` or ``"html"``."""
        lv = f"{100 * self.level:g}%"
        rng = (lambda a, b: f"{fmt_number(a)} to {fmt_number(b)}")
        rep = Report(f"Bayesian random-effects meta-analysis (k = {self.k})")
        rep.add_section("Priors", [("tau", self.tau_prior), ("mu", self.mu_prior)])
        rep.add_section("Effect mu", [
            ("posterior mean", fmt_number(self.estimate)), ("median", fmt_number(self.median)),
            ("sd", fmt_number(self.sd)), (f"{lv} credible interval", rng(self.ci_lower,
                                                                         self.ci_upper)),
            (f"{lv} shortest interval", rng(self.hpd_lower, self.hpd_upper)),
            ("P(mu < 0)", fmt_number(self.prob_below(0.0))),
        ])
        rep.add_section("Heterogeneity tau", [
            ("mean", fmt_number(self.tau_mean)), ("median", fmt_number(self.tau_median)),
            ("mode", fmt_number(self.tau_mode)),
            (f"{lv} credible interval", rng(self.tau_ci_lower, self.tau_ci_upper)),
            (f"{lv} shortest interval", rng(self.tau_hpd_lower, self.tau_hpd_upper)),
            ("Bayes factor for tau = 0", fmt_number(self.bayes_factor_tau0)),
        ])
        rep.add_section("New study theta_new", [
            ("median", fmt_number(self.pred_median)),
            (f"{lv} prediction interval", rng(self.pi_lower, self.pi_upper)),
        ])
        if self.evidence_version:
            rep.notes.append(f"evidence version {self.evidence_version}")
        rep.notes.extend(self.warnings)
        rep.notes.append(f"numerical integration: {self.n_support} mixture components, "
                         f"quadrature error {self.quadrature_error:.1g}")
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"BayesResult(k={self.k}, estimate={self.estimate:.4f}, "
                f"ci=({self.ci_lower:.4f}, {self.ci_upper:.4f}), "
                f"tau_median={self.tau_median:.4f}, tau_prior={self.tau_prior!r})")

    # -- plot -----------------------------------------------------------------------------------
    def plot_posterior(self, ax: Any = None, which: str = "mu", prior: bool = True) -> Any:
        """Plot the posterior density of mu (with the predictive density dashed) or of tau.

        Returns the matplotlib Axes (a new figure when ``ax`` is None). ``prior=True`` adds the
        prior density of tau (``which="tau"``). Needs the ``plots`` extra (matplotlib).
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:   # pragma: no cover - depends on the environment
            raise ImportError("plot_posterior needs matplotlib: pip install "
                              "'acuevidence[plots]'") from exc
        w = self._which(which)
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        if w == "tau":
            if self.tau_grid.size:
                ax.plot(self.tau_grid, self.tau_density, color="C0", label="posterior")
                ax.axvline(self.tau_median, color="C0", lw=0.8, ls=":")
                if prior and self.prior.family != "fixed":
                    pd_ = np.exp(self.prior.logpdf(self.tau_grid))
                    ok = np.isfinite(pd_)
                    ax.plot(self.tau_grid[ok], pd_[ok], color="grey", ls="--", label="prior")
            else:
                ax.axvline(self.tau_median, color="C0", label=f"fixed tau = {self.tau_median:g}")
            ax.set_xlabel("heterogeneity tau")
        else:
            ax.plot(self.mu_grid, self.mu_density, color="C0", label="effect mu")
            mask = (self.mu_grid >= self.ci_lower) & (self.mu_grid <= self.ci_upper)
            ax.fill_between(self.mu_grid[mask], self.mu_density[mask], color="C0", alpha=0.2,
                            label=f"{100 * self.level:g}% credible interval")
            ax.plot(self.mu_grid, self.pred_density, color="C1", ls="--",
                    label="new study theta_new")
            ax.axvline(0.0, color="grey", lw=0.8)
            ax.set_xlabel(f"effect ({self.measure})" if self.measure else "effect")
        ax.set_ylabel("posterior density")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False)
        return ax
