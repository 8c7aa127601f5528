"""Step-function selection models (metafor's ``selmodel(x, type = "stepfun", steps = ...)``).

The default is the three-parameter selection model (3PSM): a random-effects model whose studies
are published with relative probability 1 when their one-sided p-value is <= 0.025 and with
probability ``delta`` (estimated) otherwise. Parameters (mu, tau^2, delta) are estimated by
maximum likelihood; their standard errors come from the numerical Hessian of the
log-likelihood, computed as metafor does (Richardson extrapolation, numDeriv's ``hessian`` with
r = 6), so that they agree with metafor's.

References
----------
Hedges LV (1992). Modeling publication selection effects in meta-analysis. Stat Sci 7:246-255.
Vevea JL, Hedges LV (1995). A general linear model for estimating effect size in the presence of
    publication bias. Psychometrika 60:419-435.
McShane BB, Böckenholt U, Hansen KT (2016). Adjusting for publication bias in meta-analysis: an
    evaluation of selection methods and some cautionary notes. Perspect Psychol Sci 11:730-749.
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ._refit import opt_float, resolve_model
from .errors import ConvergenceWarning, InputError
from .meta import COMMON
from .printer import Report, fmt_number, fmt_p
from .results import json_safe

__all__ = ["SelectionModelResult", "richardson_hessian", "selection_model", "stepfun_loglik"]

ALTERNATIVES = ("greater", "less", "two-sided")
# metafor's bounds for the step weights (delta.min = 0, delta.max = 100).
DELTA_MAX = 100.0
DELTA_MIN = 1e-10
# Gradient norm at which the Newton polish stops.
GRAD_TOL = 1e-9
_EPS10 = 10 * np.finfo(float).eps
_SQRT_2PI = math.sqrt(2 * math.pi)


# ======================================================================================
# Pure numeric layer
# ======================================================================================
def _cutpoints(v: np.ndarray, steps: np.ndarray, alternative: str) -> np.ndarray:
    """Effect-size cut points (k, J-1): the yi at which the p-value equals each step."""
    sd = np.sqrt(v)[:, None]
    s = steps[None, :-1]
    if alternative == "greater":
        return sd * stats.norm.isf(s)
    if alternative == "less":
        return sd * stats.norm.ppf(s)
    return sd * stats.norm.isf(s / 2)


def _interval_probs(mu: float, tau2: float, v: np.ndarray, cut: np.ndarray, alternative: str,
                    grad: bool = False):
    """P(p-value in interval j) for each study (k, J) and, optionally, d/dmu and d/dtau2."""
    # scipy.special.ndtr rather than scipy.stats.norm: the same function without the
    # distribution machinery, which dominates the cost of the many likelihood evaluations.
    s2 = v + tau2
    s = np.sqrt(s2)[:, None]
    z = (cut - mu) / s
    if alternative == "greater":
        F = special.ndtr(-z)
        last = special.ndtr(z[:, -1])
    elif alternative == "less":
        F = special.ndtr(z)
        last = special.ndtr(-z[:, -1])
    else:
        z2 = (-cut - mu) / s
        F = special.ndtr(-z) + special.ndtr(z2)
        last = special.ndtr(z[:, -1]) - special.ndtr(z2[:, -1])
    P = np.empty((v.shape[0], cut.shape[1] + 1))
    P[:, 0] = F[:, 0]
    P[:, 1:-1] = F[:, 1:] - F[:, :-1]
    P[:, -1] = last
    if not grad:
        return P
    phi = np.exp(-0.5 * z * z) / _SQRT_2PI
    if alternative == "greater":
        dmu, dt = phi / s, phi * z / (2 * s * s)
    elif alternative == "less":
        dmu, dt = -phi / s, -phi * z / (2 * s * s)
    else:
        phi2 = np.exp(-0.5 * z2 * z2) / _SQRT_2PI
        dmu = (phi - phi2) / s
        dt = (phi * z - phi2 * z2) / (2 * s * s)

    def to_p(dF: np.ndarray) -> np.ndarray:
        out = np.empty_like(P)
        out[:, 0] = dF[:, 0]
        out[:, 1:-1] = dF[:, 1:] - dF[:, :-1]
        out[:, -1] = -dF[:, -1]
        return out

    return P, to_p(dmu), to_p(dt)


def stepfun_loglik(mu: float, tau2: float, delta: np.ndarray, y: np.ndarray, v: np.ndarray,
                   group: np.ndarray, cut: np.ndarray, alternative: str) -> float:
    """Log-likelihood of the step-function selection model (metafor's ``.selmodel.ll.stepfun``).

    ``delta`` holds the weight of every interval (the first is 1); ``group`` the 0-based
    interval of each study's p-value. tau^2 below 10 machine epsilons counts as 0, as metafor
    has it (this matters only for the numerical Hessian at the boundary).
    """
    t2 = 0.0 if tau2 < _EPS10 else tau2
    s2 = v + t2
    P = _interval_probs(mu, t2, v, cut, alternative)
    A = P @ delta
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = (np.log(delta[group]) - 0.5 * np.log(2 * np.pi * s2) - 0.5 * (y - mu) ** 2 / s2
              - np.log(A))
    out = float(np.sum(ll))
    return out if math.isfinite(out) else -math.inf


def _loglik_grad(mu: float, tau2: float, delta: np.ndarray, y, v, group, cut, alternative):
    s2 = v + tau2
    P, dPm, dPt = _interval_probs(mu, tau2, v, cut, alternative, grad=True)
    A = P @ delta
    g_mu = float(np.sum((y - mu) / s2 - (dPm @ delta) / A))
    g_t = float(np.sum(-0.5 / s2 + 0.5 * (y - mu) ** 2 / s2**2 - (dPt @ delta) / A))
    counts = np.bincount(group, minlength=delta.shape[0]).astype(float)
    with np.errstate(divide="ignore"):
        g_d = counts / delta - (P / A[:, None]).sum(axis=0)
    return g_mu, g_t, g_d


def richardson_hessian(f, x: np.ndarray, d: float = 0.1, eps: float = 1e-4, r: int = 6,
                       v: float = 2.0) -> np.ndarray:
    """Hessian of a scalar function by Richardson extrapolation (numDeriv's ``hessian``).

    A port of numDeriv's ``genD`` (the algorithm metafor uses for the SEs of selection models,
    with ``r = 6``), so that standard errors agree with metafor's beyond the error of a plain
    finite difference.

    References
    ----------
    Gilbert P, Varadhan R (2019). numDeriv: Accurate Numerical Derivatives. R package 2016.8-1.1.
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    zero_tol = math.sqrt(np.finfo(float).eps / 7e-7)
    f0 = f(x)
    h0 = np.abs(d * x) + eps * (np.abs(x) < zero_tol)
    H = np.zeros((n, n))

    def extrapolate(a: np.ndarray) -> float:
        a = a.copy()
        for m in range(1, r):
            for k in range(r - m):
                a[k] = (a[k + 1] * 4.0**m - a[k]) / (4.0**m - 1)
        return float(a[0])

    for i in range(n):
        h = h0.copy()
        approx = np.empty(r)
        for k in range(r):
            e = np.zeros(n)
            e[i] = h[i]
            approx[k] = (f(x + e) - 2 * f0 + f(x - e)) / h[i] ** 2
            h = h / v
        H[i, i] = extrapolate(approx)
    for i in range(n):
        for j in range(i):
            h = h0.copy()
            approx = np.empty(r)
            for k in range(r):
                e = np.zeros(n)
                e[i], e[j] = h[i], h[j]
                approx[k] = ((f(x + e) - 2 * f0 + f(x - e) - H[i, i] * h[i] ** 2
                              - H[j, j] * h[j] ** 2) / (2 * h[i] * h[j]))
                h = h / v
            H[i, j] = H[j, i] = extrapolate(approx)
    return H


# ======================================================================================
# Result
# ======================================================================================
@dataclass(frozen=True, eq=False, repr=False)
class SelectionModelResult:
    """Step-function selection model fit.

    ``estimate``/``se``/``statistic``/``p_value``/``ci_*`` refer to the adjusted mean effect
    mu (z-test); ``delta`` holds the relative publication probability of each p-value interval
    (the first fixed at 1), with SEs and tests of H0: delta = 1. ``lrt`` compares the selection
    model with the unadjusted ML (or common-effect) model; ``lrt_tau2`` tests tau^2 = 0 within
    the selection model.
    """

    k: int
    method: str
    alternative: str
    steps: tuple[float, ...]
    k_per_interval: tuple[int, ...]
    level: float
    estimate: float
    se: float | None
    statistic: float | None
    p_value: float | None
    ci_lower: float | None
    ci_upper: float | None
    tau2: float
    tau2_se: float | None
    tau2_ci_lower: float | None
    tau2_ci_upper: float | None
    delta: tuple[float, ...]
    delta_se: tuple[float | None, ...]
    delta_ci_lower: tuple[float | None, ...]
    delta_ci_upper: tuple[float | None, ...]
    delta_statistic: tuple[float | None, ...]
    delta_p_value: tuple[float | None, ...]
    lrt: float
    lrt_df: int
    lrt_p_value: float
    lrt_tau2: float | None
    lrt_tau2_p_value: float | None
    loglik: float
    loglik_unadjusted: float
    unadjusted_estimate: float
    unadjusted_tau2: float
    converged: bool
    warnings: tuple[str, ...] = field(default=())

    _scalar_fields = ("k", "method", "alternative", "level", "estimate", "se", "statistic",
                      "p_value", "ci_lower", "ci_upper", "tau2", "tau2_se", "tau2_ci_lower",
                      "tau2_ci_upper", "lrt", "lrt_df", "lrt_p_value", "lrt_tau2",
                      "lrt_tau2_p_value", "loglik", "loglik_unadjusted", "unadjusted_estimate",
                      "unadjusted_tau2", "converged")

    def interval_frame(self) -> pd.DataFrame:
        """One row per p-value interval: bounds, number of studies, weight with SE, CI, test."""
        lo = (0.0,) + self.steps[:-1]
        return pd.DataFrame({
            "p_lower": lo, "p_upper": self.steps, "k": self.k_per_interval,
            "delta": self.delta, "delta_se": self.delta_se, "delta_ci_lower": self.delta_ci_lower,
            "delta_ci_upper": self.delta_ci_upper, "delta_statistic": self.delta_statistic,
            "delta_p_value": self.delta_p_value,
        })

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of the scalar fields, plus ``delta_2``... for the weights."""
        row = {name: getattr(self, name) for name in self._scalar_fields}
        for j, d in enumerate(self.delta[1:], start=2):
            row[f"delta_{j}"] = d
        return pd.DataFrame([row])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary: the scalar fields, the interval table and the warnings."""
        out: dict[str, Any] = {name: getattr(self, name) for name in self._scalar_fields}
        out["steps"] = list(self.steps)
        out["intervals"] = self.interval_frame().to_dict(orient="records")
        out["warnings"] = list(self.warnings)
        return json_safe(out)

    def summary(self, fmt: str = "text") -> str:
        """Readable summary as ``"text"``, ``"markdown"`` or ``"html"``."""
        lv = f"{100 * self.level:g}%"
        rep = Report(f"Step-function selection model (k = {self.k}; {self.method}; "
                     f"p-values: {self.alternative})")
        rep.add_section("Adjusted pooled effect", [
            ("estimate", fmt_number(self.estimate)),
            ("se", fmt_number(self.se)),
            (f"{lv} CI", f"{fmt_number(self.ci_lower)} to {fmt_number(self.ci_upper)}"),
            ("p_value", fmt_p(self.p_value)),
            ("tau^2", fmt_number(self.tau2) + (f" (SE = {fmt_number(self.tau2_se)})"
                                               if self.tau2_se is not None else "")),
            ("unadjusted estimate", fmt_number(self.unadjusted_estimate)),
        ])
        rep.add_section("Test for selection (LRT)", [
            ("LRT", f"{fmt_number(self.lrt)} (df = {self.lrt_df}, p = {fmt_p(self.lrt_p_value)})"),
        ])
        frame = self.interval_frame()[["p_lower", "p_upper", "k", "delta", "delta_se",
                                       "delta_p_value"]]
        rep.add_table("Selection weights", frame)
        rep.notes.extend(self.warnings)
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"SelectionModelResult(estimate={self.estimate:.4f}, tau2={self.tau2:.4f}, "
                f"delta={tuple(round(d, 4) for d in self.delta)})")


# ======================================================================================
# Estimator
# ======================================================================================
def selection_model(
    x: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    data: pd.DataFrame | None = None,
    steps: Any = (0.025,),
    alternative: str = "greater",
    method: str | None = None,
    level: float | None = None,
) -> SelectionModelResult:
    """Fit a step-function selection model (metafor's ``selmodel(type = "stepfun")``).

    Parameters
    ----------
    x : MetaResult or array-like
        A fitted model without moderators, or the effect sizes (then give ``vi`` or ``sei``).
    steps : sequence of float
        Cut points of the p-value intervals (1 is added). The default (0.025,) with
        ``alternative="greater"`` is the three-parameter selection model (3PSM): significant
        positive results (one-sided p <= .025) versus all others.
    alternative : {"greater", "less", "two-sided"}
        Direction of the p-values: "greater" when positive effects are the ones favoured for
        publication, "less" when negative effects are (e.g. log risk ratios of a beneficial
        treatment).
    method : str, optional
        Random-effects models are fitted by maximum likelihood whatever their tau^2 estimator
        (as metafor refits them with method = "ML"); a common-effect model ("FE"/"EE"/"CE")
        keeps tau^2 = 0.

    Raises
    ------
    InputError
        When a p-value interval contains no study (its weight cannot be estimated), or when
        there are fewer studies than parameters.

    Notes
    -----
    The likelihood is maximised with scipy's TNC (analytic gradient, bounds tau^2 >= 0 and
    0 < delta <= 100 as metafor's), from several starting points, then polished by Newton steps.
    When no start converges, a Nelder-Mead search follows; if that fails too, the best point
    found is returned with ``converged=False`` and a
    :class:`~acuevidence.errors.ConvergenceWarning`.

    References
    ----------
    Vevea JL, Hedges LV (1995). A general linear model for estimating effect size in the
        presence of publication bias. Psychometrika 60:419-435.
    McShane BB, Böckenholt U, Hansen KT (2016). Adjusting for publication bias in
        meta-analysis: an evaluation of selection methods and some cautionary notes.
        Perspect Psychol Sci 11:730-749.
    """
    spec = resolve_model(x, vi, sei=sei, data=data, method=method, level=level,
                         what="selection_model")
    alt = str(alternative).lower().replace("_", "-").replace(".", "-")
    if alt == "two-sided" or alt == "twosided":
        alt = "two-sided"
    if alt not in ALTERNATIVES:
        raise InputError(f"Unknown alternative {alternative!r}; choose 'greater', 'less' or "
                         "'two-sided'.", column="alternative")
    try:
        st = np.atleast_1d(np.asarray(steps, dtype=float))
    except (TypeError, ValueError):
        raise InputError(f"'steps' must be p-value cut points in (0, 1], e.g. [0.025] or "
                         f"[0.025, 0.5]; got {steps!r}.", column="steps") from None
    if st.ndim != 1 or st.size == 0 or np.any(~np.isfinite(st)) or np.any((st <= 0) | (st > 1)):
        raise InputError(f"'steps' must be p-value cut points in (0, 1]; got {steps!r}.",
                         column="steps")
    st = np.unique(st)
    if st[-1] != 1.0:
        st = np.append(st, 1.0)
    if st.size < 2:
        raise InputError("'steps' must contain at least one cut point below 1 (e.g. 0.025).",
                         column="steps")
    notes: list[str] = []
    y, v, k = spec.y, spec.v, spec.k
    common = spec.method in COMMON
    tau2_fixed = 0.0 if common else spec.tau2_fixed
    base_method = spec.method if common else "ML"
    if not common and spec.method != "ML":
        notes.append(f"The {spec.method} model was refitted by maximum likelihood (as metafor's "
                     "selmodel does): the selection model and its LRT are likelihood based.")
    base_spec = type(spec)(y=y, v=v, labels=spec.labels, method=base_method, test="z",
                           level=spec.level, tau2_fixed=spec.tau2_fixed, pi_type="default",
                           measure=spec.measure, result=None)
    base = base_spec.fit()

    pvals = _pvalues(y, v, alt)
    group = np.searchsorted(st, pvals, side="left")
    J = st.size
    counts = np.bincount(group, minlength=J)
    empty = [j for j in range(J) if counts[j] == 0]
    if empty:
        lo = [0.0] + list(st[:-1])
        which = ", ".join(f"({lo[j]:g}, {st[j]:g}]" for j in empty)
        raise InputError(
            f"The p-value interval(s) {which} contain no study, so their selection weight cannot "
            f"be estimated (one-sided p-values, alternative='{alt}'). Use fewer or other cut "
            "points in 'steps'" + (", or alternative='less' if the favoured effects are "
                                   "negative" if alt == "greater" else "") + ".", column="steps")
    n_par = 1 + (0 if tau2_fixed is not None else 1) + (J - 1)
    if k < n_par:
        raise InputError(f"The selection model has {n_par} parameters but there are only "
                         f"k = {k} studies; it cannot be fitted.", column="yi")
    cut = _cutpoints(v, st, alt)
    fitter = _Fitter(y, v, group, cut, alt, J)
    mu, t2, dl, conv = fitter.fit(base.estimate, base.tau2, tau2_fixed)
    if not conv:
        msg = ("The selection model likelihood could not be maximised to full accuracy; the best "
               "point found is reported. Treat the results with caution.")
        notes.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    delta = np.concatenate([[1.0], dl])
    ll = stepfun_loglik(mu, t2, delta, y, v, group, cut, alt)
    if np.any(dl <= DELTA_MIN * 10) or np.any(dl >= DELTA_MAX - 100 * np.finfo(float).eps ** 0.25):
        notes.append("One or more selection weights are (almost) at their bound (0 or 100); "
                     "treat the results with caution.")

    # --- standard errors from the numerical Hessian (metafor's choice of parameters) -------
    est_tau2 = tau2_fixed is None

    def nll(par: np.ndarray) -> float:
        m = par[0]
        t = par[1] if est_tau2 else t2
        d = np.concatenate([[1.0], par[2:] if est_tau2 else par[1:]])
        return -stepfun_loglik(m, t, d, y, v, group, cut, alt)

    par = np.concatenate([[mu], [t2] if est_tau2 else [], dl])
    cov = None
    try:
        H = richardson_hessian(nll, par)
        L = np.linalg.cholesky(H)
        Linv = np.linalg.inv(L)
        cov = Linv.T @ Linv
        if not np.all(np.isfinite(cov)):
            cov = None
    except np.linalg.LinAlgError:
        cov = None
    if cov is None:
        notes.append("The Hessian of the log-likelihood could not be inverted: no standard "
                     "errors (the model is probably not identified by these data).")
    alpha = 1.0 - spec.level
    crit = float(stats.norm.isf(alpha / 2))

    def sd(i: int) -> float | None:
        if cov is None or cov[i, i] < 0:
            return None
        return math.sqrt(cov[i, i])

    se = sd(0)
    stat = mu / se if se else None
    tau2_se = sd(1) if est_tau2 else None
    off = 2 if est_tau2 else 1
    d_se: list[float | None] = [None]
    d_se.extend(sd(off + j) for j in range(J - 1))
    d_lo: list[float | None] = [None]
    d_hi: list[float | None] = [None]
    d_z: list[float | None] = [None]
    d_p: list[float | None] = [None]
    for j in range(1, J):
        s_j = d_se[j]
        if s_j:
            d_lo.append(max(0.0, delta[j] - crit * s_j))
            d_hi.append(delta[j] + crit * s_j)
            z = (delta[j] - 1.0) / s_j
            d_z.append(z)
            d_p.append(float(2 * stats.norm.sf(abs(z))))
        else:
            for lst in (d_lo, d_hi, d_z, d_p):
                lst.append(None)

    # --- likelihood-ratio tests -------------------------------------------------------------
    ll0 = base.loglik
    lrt = max(0.0, -2 * (ll0 - ll))
    lrt_df = J - 1
    lrt_tau2 = lrt_tau2_p = None
    if est_tau2:
        m0, _, d0, _ = fitter.fit(mu, 0.0, 0.0, delta_start=dl)
        ll_t0 = stepfun_loglik(m0, 0.0, np.concatenate([[1.0], d0]), y, v, group, cut, alt)
        lrt_tau2 = max(0.0, -2 * (ll_t0 - ll))
        lrt_tau2_p = float(stats.chi2.sf(lrt_tau2, 1))
    return SelectionModelResult(
        k=k, method=base_method, alternative=alt, steps=tuple(float(s) for s in st),
        k_per_interval=tuple(int(c) for c in counts), level=spec.level,
        estimate=mu, se=se, statistic=stat,
        p_value=float(2 * stats.norm.sf(abs(stat))) if stat is not None else None,
        ci_lower=mu - crit * se if se else None, ci_upper=mu + crit * se if se else None,
        tau2=t2, tau2_se=tau2_se,
        tau2_ci_lower=max(0.0, t2 - crit * tau2_se) if tau2_se else None,
        tau2_ci_upper=t2 + crit * tau2_se if tau2_se else None,
        delta=tuple(float(d) for d in delta), delta_se=tuple(d_se),
        delta_ci_lower=tuple(d_lo), delta_ci_upper=tuple(d_hi),
        delta_statistic=tuple(d_z), delta_p_value=tuple(d_p),
        lrt=lrt, lrt_df=lrt_df, lrt_p_value=float(stats.chi2.sf(lrt, lrt_df)),
        lrt_tau2=opt_float(lrt_tau2), lrt_tau2_p_value=lrt_tau2_p,
        loglik=ll, loglik_unadjusted=ll0, unadjusted_estimate=base.estimate,
        unadjusted_tau2=base.tau2, converged=conv, warnings=tuple(notes),
    )


def _pvalues(y: np.ndarray, v: np.ndarray, alternative: str) -> np.ndarray:
    z = y / np.sqrt(v)
    if alternative == "greater":
        return stats.norm.sf(z)
    if alternative == "less":
        return stats.norm.cdf(z)
    return 2 * stats.norm.sf(np.abs(z))


class _Fitter:
    """Maximises the selection-model likelihood over (mu, tau^2, delta_2..J)."""

    def __init__(self, y, v, group, cut, alternative, J):
        self.y, self.v, self.group, self.cut, self.alt, self.J = y, v, group, cut, alternative, J

    def _unpack(self, par, tau2_fixed):
        if tau2_fixed is None:
            return par[0], max(par[1], 0.0), par[2:]
        return par[0], tau2_fixed, par[1:]

    def _objective(self, par, tau2_fixed):
        mu, t2, dl = self._unpack(par, tau2_fixed)
        delta = np.concatenate([[1.0], dl])
        ll = stepfun_loglik(mu, t2, delta, self.y, self.v, self.group, self.cut, self.alt)
        if not math.isfinite(ll):
            return 1e300, np.zeros_like(par)
        g_mu, g_t, g_d = _loglik_grad(mu, t2, delta, self.y, self.v, self.group, self.cut,
                                      self.alt)
        g = [g_mu] + ([g_t] if tau2_fixed is None else []) + list(g_d[1:])
        return -ll, -np.asarray(g)

    def fit(self, mu0: float, tau2_0: float, tau2_fixed: float | None,
            delta_start: np.ndarray | None = None):
        bounds = [(None, None)] + ([(0.0, None)] if tau2_fixed is None else []) \
            + [(DELTA_MIN, DELTA_MAX)] * (self.J - 1)
        starts = []
        d_inits = [np.ones(self.J - 1), np.full(self.J - 1, 0.3), np.full(self.J - 1, 3.0)]
        if delta_start is not None:
            d_inits.insert(0, np.asarray(delta_start, float))
        for d0 in d_inits:
            for t0 in ([tau2_0, 2 * tau2_0 + 0.01] if tau2_fixed is None else [None]):
                starts.append(np.concatenate([[mu0], [t0] if t0 is not None else [], d0]))
        best_x, best_f = starts[0], math.inf
        for s in starts:
            with np.errstate(all="ignore"):
                res = optimize.minimize(self._objective, s, args=(tau2_fixed,), jac=True,
                                        method="TNC", bounds=bounds,
                                        options={"maxfun": 5000, "ftol": 1e-15, "gtol": 1e-11})
            if math.isfinite(res.fun) and res.fun < best_f:
                best_x, best_f = res.x, float(res.fun)
        par = self._polish(best_x, tau2_fixed, bounds)
        conv = self._converged(par, tau2_fixed, bounds)
        if not conv:
            # Fallback: derivative-free simplex search (bounds by clipping), then polish again.
            def clipped(p: np.ndarray) -> float:
                q = np.array([min(max(p[i], lo if lo is not None else -np.inf),
                                  hi if hi is not None else np.inf)
                              for i, (lo, hi) in enumerate(bounds)])
                return float(self._objective(q, tau2_fixed)[0])

            with np.errstate(all="ignore"):
                nm = optimize.minimize(clipped, par, method="Nelder-Mead",
                                       options={"maxiter": 20000, "xatol": 1e-10,
                                                "fatol": 1e-14})
            cand = np.array([min(max(nm.x[i], lo if lo is not None else -np.inf),
                                 hi if hi is not None else np.inf)
                             for i, (lo, hi) in enumerate(bounds)])
            cand = self._polish(cand, tau2_fixed, bounds)
            if self._objective(cand, tau2_fixed)[0] <= self._objective(par, tau2_fixed)[0]:
                par = cand
            conv = self._converged(par, tau2_fixed, bounds)
        mu, t2, dl = self._unpack(par, tau2_fixed)
        return float(mu), float(t2), np.asarray(dl, float), conv

    def _converged(self, par, tau2_fixed, bounds) -> bool:
        f, g = self._objective(par, tau2_fixed)
        free = self._free(par, bounds, g)
        return bool(f < 1e299 and np.all(np.abs(g[free]) < 1e-5 * max(1.0, abs(f))))

    @staticmethod
    def _free(par, bounds, g) -> np.ndarray:
        # A parameter at a bound with the gradient pushing outwards is not free (KKT).
        free = np.ones(par.shape[0], bool)
        for i, (lo, hi) in enumerate(bounds):
            if lo is not None and par[i] <= lo + 1e-12 and g[i] > 0:
                free[i] = False
            if hi is not None and par[i] >= hi - 1e-12 and g[i] < 0:
                free[i] = False
        return free

    def _polish(self, par, tau2_fixed, bounds):
        """Newton steps on the free parameters (Hessian from differences of the gradient)."""
        par = par.copy()
        f, g = self._objective(par, tau2_fixed)
        for _ in range(50):
            free = self._free(par, bounds, g)
            if not np.any(free) or np.max(np.abs(g[free])) < GRAD_TOL:
                break
            idx = np.flatnonzero(free)
            H = np.empty((idx.size, idx.size))
            for a, i in enumerate(idx):
                h = 1e-6 * max(1.0, abs(par[i]))
                if bounds[i][0] is not None:
                    h = min(h, max(par[i] - bounds[i][0], 1e-12)) if par[i] - h < bounds[i][0] \
                        else h
                e = np.zeros_like(par)
                e[i] = h
                g1 = self._objective(par + e, tau2_fixed)[1]
                g2 = self._objective(par - e, tau2_fixed)[1]
                H[:, a] = ((g1 - g2) / (2 * h))[idx]
            H = 0.5 * (H + H.T)
            try:
                step = np.linalg.solve(H, g[idx])
            except np.linalg.LinAlgError:
                break
            t = 1.0
            improved = False
            for _ in range(40):
                cand = par.copy()
                cand[idx] -= t * step
                for i, (lo, hi) in enumerate(bounds):
                    if lo is not None:
                        cand[i] = max(cand[i], lo)
                    if hi is not None:
                        cand[i] = min(cand[i], hi)
                fc, gc = self._objective(cand, tau2_fixed)
                if fc <= f + 1e-13 * abs(f):
                    par, f, g = cand, fc, gc
                    improved = True
                    break
                t /= 2
            if not improved:
                break
        return par
