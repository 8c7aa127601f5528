"""Pairwise meta-analysis: common-effect and random-effects models (metafor's ``rma.uni``).

:class:`MetaAnalysis` holds the options only; :meth:`MetaAnalysis.fit` validates the data once
and returns a frozen :class:`~acuevidence.results.MetaResult`. :func:`meta_analysis` is the
one-call form.

References
----------
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
Hartung J, Knapp G (2001). A refined method for the meta-analysis of controlled clinical trials
    with binary outcome. Stat Med 20:3875-3889.
Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single
    covariate. Stat Med 22:2693-2710.
Röver C, Knapp G, Friede T (2015). Hartung-Knapp-Sidik-Jonkman approach and its modification for
    random-effects meta-analysis with few studies. BMC Med Res Methodol 15:99. (``adhoc`` test)
Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of random-effects
    meta-analysis. J R Stat Soc A 172:137-159. (prediction interval)
Riley RD, Higgins JPT, Deeks JJ (2011). Interpretation of random effects meta-analyses.
    BMJ 342:d549. (prediction interval with k - 2 degrees of freedom)
Robinson GK (1991). That BLUP is a good thing: the estimation of random effects.
    Stat Sci 6:15-32.
"""

from __future__ import annotations

import difflib
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._validate import (
    as_float_array,
    effect_inputs,
    check_level,
    check_positive,
    check_same_length,
    finite_number,
    resolve_column,
    V_MAX,
)
from .errors import InputError, SmallSampleWarning
from .heterogeneity import cochran_q, tau2_ci
from .results import MetaResult
from .tau2 import CODES, Tau2Fit, estimate_tau2

__all__ = [
    "METHODS",
    "TESTS",
    "MetaAnalysis",
    "canonical_method",
    "canonical_test",
    "meta_analysis",
]

COMMON = ("EE", "FE", "CE")
METHODS: tuple[str, ...] = tuple(CODES)

_METHOD_ALIASES: dict[str, str] = {
    **{code.lower(): code for code in CODES},
    "mp": "PM",
    "equal-effects": "EE", "fixed": "FE", "fixed-effect": "FE", "fixed-effects": "FE",
    "common": "CE", "common-effect": "CE",
    "dersimonian-laird": "DL", "iterated-dersimonian-laird": "DLIT",
    "hedges": "HE", "hunter-schmidt": "HS", "hunter-schmidt-k": "HSk",
    "sidik-jonkman": "SJ", "iterated-sidik-jonkman": "SJIT",
    "maximum-likelihood": "ML", "restricted-maximum-likelihood": "REML",
    "empirical-bayes": "EB", "paule-mandel": "PM", "median-unbiased-paule-mandel": "PMM",
    "paule-mandel-median": "PMM", "generalized-q": "GENQ", "generalised-q": "GENQ",
}

TESTS: tuple[str, ...] = ("z", "t", "knha", "adhoc")
_TEST_ALIASES: dict[str, str] = {
    "z": "z", "t": "t", "knha": "knha", "knapp-hartung": "knha", "hartung-knapp": "knha",
    "hksj": "knha", "adhoc": "adhoc", "knapp-hartung-adhoc": "adhoc", "knha-adhoc": "adhoc",
}
_PI_TYPES = ("default", "riley", "t", "simple")
_TAU2_CI = {"qp": "QP", "q-profile": "QP", "pl": "PL", "profile-likelihood": "PL"}


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


def canonical_method(method: str) -> str:
    """Map a metafor code or readable name (``"paule-mandel"``) to the canonical code."""
    if not isinstance(method, str):
        raise InputError(f"The 'method' parameter must be a string; got {method!r}.",
                         column="method")
    code = _METHOD_ALIASES.get(_norm(method))
    if code is None:
        close = difflib.get_close_matches(_norm(method), list(_METHOD_ALIASES), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise InputError(
            f"Unknown method {method!r}.{hint} Choose one of {', '.join(METHODS)} "
            "(metafor's codes) or a readable name such as 'paule-mandel'.",
            column="method",
        )
    return code


def canonical_test(test: str) -> str:
    """Map ``"z"``, ``"t"``, ``"knha"``/``"knapp-hartung"`` or ``"adhoc"`` to the canonical code."""
    code = _TEST_ALIASES.get(_norm(str(test)))
    if code is None:
        raise InputError(
            f"Unknown test {test!r}. Choose 'z', 't', 'knapp-hartung' ('knha') or 'adhoc'.",
            column="test",
        )
    return code


def check_model_options(config: Any) -> None:
    """Validate and canonicalise, in place, the options a model configuration shares with
    :class:`acuevidence.metareg.MetaRegression`: method, test, level, a fixed tau^2 and the
    tau^2 CI type (``config`` is a frozen dataclass with those fields)."""
    def put(name: str, value: Any) -> None:
        object.__setattr__(config, name, value)

    put("method", canonical_method(config.method))
    put("test", canonical_test(config.test))
    put("level", check_level(config.level))
    if config.tau2 is not None:
        put("tau2", finite_number(config.tau2, "tau2", minimum=0.0, maximum=V_MAX,
                                  what="a fixed tau^2"))
    if config.tau2_ci is not None:
        ci = _TAU2_CI.get(_norm(str(config.tau2_ci)))
        if ci is None:
            raise InputError(f"Unknown tau2_ci {config.tau2_ci!r}; choose 'QP' (Q-profile), "
                             "'PL' (profile likelihood) or None.", column="tau2_ci")
        put("tau2_ci", ci)


@dataclass(frozen=True)
class MetaAnalysis:
    """Options of a pairwise meta-analysis; :meth:`fit` returns a :class:`MetaResult`.

    Parameters
    ----------
    method : str
        ``"EE"``/``"FE"``/``"CE"`` (common effect) or a tau^2 estimator: ``"DL"``, ``"DLIT"``,
        ``"HE"``, ``"HS"``, ``"HSk"``, ``"SJ"``, ``"SJIT"``, ``"ML"``, ``"REML"`` (default),
        ``"EB"``, ``"PM"``, ``"PMM"``, ``"GENQ"``; readable names are accepted.
    test : str
        ``"z"`` (default), ``"t"`` (t with k - 1 df), ``"knha"`` (Knapp-Hartung) or
        ``"adhoc"`` (Knapp-Hartung with its scale factor truncated below at 1).
    level : float
        Confidence level for CIs and the prediction interval (0.95; 95 is read as 95%).
    tau2 : float, optional
        Fix tau^2 at this value instead of estimating it.
    tau2_ci : str or None
        ``"QP"`` (Q-profile, default), ``"PL"`` (profile likelihood; ML/REML only) or None.
    pi_type : str
        ``"default"`` (z, or t(k - 1) under t-type tests, as metafor), ``"riley"`` (t with k - 2
        df), ``"t"`` (t with k - 1 df) or ``"simple"`` (z, ignoring the SE of the estimate).
    """

    method: str = "REML"
    test: str = "z"
    level: float = 0.95
    tau2: float | None = None
    tau2_ci: str | None = "QP"
    pi_type: str = "default"

    def __post_init__(self) -> None:
        check_model_options(self)
        pi = _norm(self.pi_type)
        if pi not in _PI_TYPES:
            raise InputError(f"Unknown pi_type {self.pi_type!r}; choose one of "
                             f"{', '.join(_PI_TYPES)}.", column="pi_type")
        object.__setattr__(self, "pi_type", pi)

    # ------------------------------------------------------------------------------------
    def fit(
        self,
        yi: Any,
        vi: Any = None,
        *,
        data: pd.DataFrame | None = None,
        sei: Any = None,
        weights: Any = None,
        labels: Any = None,
        measure: str | None = None,
        evidence_version: str | None = None,
    ) -> MetaResult:
        """Fit the model to effect sizes ``yi`` with variances ``vi`` (or standard errors ``sei``).

        With ``data``, ``yi``, ``vi``, ``sei``, ``weights`` and ``labels`` may name its columns.
        """
        y, v, a, lab = _prepare(yi, vi, sei, weights, labels, data)
        if self.method == "GENQ" and a is None:
            raise InputError("method='GENQ' needs 'weights' (the weights of the generalized Q "
                             "statistic, e.g. 1/vi or sample sizes).", column="weights")
        return _fit(self, y, v, a, lab, measure, evidence_version)


def meta_analysis(
    yi: Any,
    vi: Any = None,
    *,
    data: pd.DataFrame | None = None,
    sei: Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    weights: Any = None,
    tau2: float | None = None,
    tau2_ci: str | None = "QP",
    pi_type: str = "default",
    labels: Any = None,
    measure: str | None = None,
    evidence_version: str | None = None,
) -> MetaResult:
    """Pool effect sizes with a common-effect or random-effects model (metafor's ``rma``).

    Examples
    --------
    >>> res = meta_analysis([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.05, 0.04], method="REML")
    >>> round(res.estimate, 4)
    0.3068

    See :class:`MetaAnalysis` for the options and :class:`MetaResult` for the output.
    """
    model = MetaAnalysis(method=method, test=test, level=level, tau2=tau2, tau2_ci=tau2_ci,
                         pi_type=pi_type)
    return model.fit(yi, vi, data=data, sei=sei, weights=weights, labels=labels,
                     measure=measure, evidence_version=evidence_version)


# ----------------------------------------------------------------------------------------
def _prepare(yi, vi, sei, weights, labels, data):
    y, v, named = effect_inputs(yi, vi, sei, data)
    arrays = {"yi": y, named: v}
    a = None
    if weights is not None:
        a = as_float_array(resolve_column(weights, data, "weights"), "weights")
        arrays["weights"] = a
    check_same_length(arrays)
    k = y.shape[0]
    if k == 0:
        raise InputError("No studies to pool (k = 0): the data are empty.", column="yi")
    if named == "vi":
        check_positive(v, "vi", "must be positive (a variance of 0 or less is not a valid "
                       "sampling variance; check for an SE entered as 0 or a wrong column)")
    if a is not None:
        check_positive(a, "weights", "must be positive")
    if labels is None:
        if data is not None and isinstance(yi, str):
            lab = tuple(str(x) for x in data.index)
        else:
            lab = tuple(f"Study {i + 1}" for i in range(k))
    else:
        raw = resolve_column(labels, data, "labels")
        lab = tuple(str(x) for x in (raw.tolist() if hasattr(raw, "tolist") else list(raw)))
        if len(lab) != k:
            raise InputError(f"'labels' has {len(lab)} entries but there are {k} studies.",
                             column="labels")
    return y, v, a, lab


def _fit(opts: MetaAnalysis, y, v, a, labels, measure, evidence_version) -> MetaResult:
    k = y.shape[0]
    X = np.ones((k, 1))
    p = 1
    notes: list[str] = []

    def warn(msg: str, category=SmallSampleWarning) -> None:
        notes.append(msg)
        warnings.warn(msg, category, stacklevel=4)

    method = opts.method
    common = method in COMMON
    if k == 1:
        warn("Only one study (k = 1): the pooled estimate is that study's estimate; tau^2 is "
             "set to 0 and heterogeneity cannot be assessed.")
    if common and opts.test in ("knha", "adhoc"):
        warn(f"The Knapp-Hartung method is not meant for a common-effect ({method}) model.")

    # --- tau^2 -------------------------------------------------------------------------
    if common:
        fit = Tau2Fit(0.0, math.nan, True, 0, "common")
    elif opts.tau2 is not None:
        fit = Tau2Fit(opts.tau2, math.nan, True, 0, "fixed")
    elif k == 1:
        fit = Tau2Fit(0.0, math.nan, True, 0, "k=1")
    else:
        fit = estimate_tau2(method, y, v, X, a)
    tau2 = fit.tau2

    # --- pooled estimate ---------------------------------------------------------------
    w = 1.0 / (v + tau2)
    sw = float(np.sum(w))
    est_std = float(np.sum(w * y) / sw)
    rss_std = float(np.sum(w * (y - est_std) ** 2))
    if a is None:
        estimate = est_std
        var = 1.0 / sw
        study_w = w / sw
        rss_f = rss_std
    else:
        sa = float(np.sum(a))
        estimate = float(np.sum(a * y) / sa)
        var = float(np.sum(a * a * (v + tau2))) / sa**2
        study_w = a / sa
        rss_f = float(np.sum(w * (y - estimate) ** 2))
    s2w = 1.0
    if opts.test in ("knha", "adhoc"):
        # The Knapp-Hartung factor always uses the standard inverse-variance weights.
        if k <= p:
            # One study: nothing to estimate the Knapp-Hartung factor from. metafor's formula
            # gives s2w = 0 and an SE of 0; we leave the SE unscaled (and t with 0 df gives no
            # p-value or CI, as in metafor).
            s2w = 1.0
            notes.append("Knapp-Hartung needs at least two studies; the SE is not rescaled.")
        else:
            s2w = 0.0 if rss_std <= np.finfo(float).eps else rss_std / (k - p)
        if opts.test == "adhoc" and s2w < 1:
            s2w = 1.0
        var = var * s2w
    se = math.sqrt(var) if math.isfinite(var) else math.nan

    alpha = 1.0 - opts.level
    tdist = opts.test in ("t", "knha", "adhoc")
    df = k - p if tdist else None
    if tdist:
        if df and df > 0 and se > 0:
            statistic = estimate / se
            p_value = float(2 * stats.t.sf(abs(statistic), df))
            crit = float(stats.t.isf(alpha / 2, df))
        else:
            statistic = estimate / se if se > 0 else math.nan
            p_value = crit = math.nan
            if k == 1:
                notes.append("With k = 1 a t-type test has 0 degrees of freedom: no p-value or "
                             "confidence interval.")
    else:
        statistic = estimate / se if se > 0 else math.nan
        p_value = float(2 * stats.norm.sf(abs(statistic))) if math.isfinite(statistic) else math.nan
        crit = float(stats.norm.isf(alpha / 2))
    ci_lower = estimate - crit * se
    ci_upper = estimate + crit * se

    # --- heterogeneity -------------------------------------------------------------------
    het = cochran_q(y, v, X)  # q_df = 0 when k <= p: I^2 = 0, H^2 = 1
    i2, h2 = het.i2_h2(tau2, common)

    ci = None
    if opts.tau2_ci and not common and opts.tau2 is None and k > p:
        ci = tau2_ci(opts.tau2_ci, method, y, v, X, opts.level, tau2)
        if ci.upper_note == ">":
            notes.append("The upper bound of the tau^2 CI is unbounded in practice "
                         "(the search limit was reached).")

    def i2_of(t):
        return 100.0 * t / (het.vt + t)

    def h2_of(t):
        return t / het.vt + 1.0

    # --- prediction interval ---------------------------------------------------------
    parms = p + (0 if common or opts.tau2 is not None else 1)
    if opts.pi_type == "simple":
        pi_crit, pi_var = float(stats.norm.isf(alpha / 2)), 0.0
    elif opts.pi_type in ("riley", "t"):
        pi_df = (k - p) - parms + p if opts.pi_type == "riley" else k - p
        pi_df = max(pi_df, 1)
        pi_crit, pi_var = float(stats.t.isf(alpha / 2, pi_df)), var
    else:
        pi_crit, pi_var = crit, var
    pi_half = pi_crit * math.sqrt(pi_var + tau2) if math.isfinite(pi_var) else math.nan
    pi_lower, pi_upper = estimate - pi_half, estimate + pi_half

    # --- study level: BLUPs ------------------------------------------------------------
    if a is None:
        lam = tau2 / (tau2 + v)
        blup = lam * y + (1 - lam) * estimate
        blup_var = lam * v + (1 - lam) ** 2 * var
        with np.errstate(invalid="ignore"):
            blup_se = np.sqrt(blup_var)
        blup_lo, blup_hi = blup - crit * blup_se, blup + crit * blup_se
    else:
        blup = blup_se = blup_lo = blup_hi = np.full(k, np.nan)
        notes.append("BLUPs are not defined for custom weights (as in metafor).")

    # --- likelihood-based fit statistics ----------------------------------------------
    reml = method == "REML"
    s = v + tau2
    if reml:
        # metafor's REMLf = TRUE convention: + 1/2 log|X'X| (= log k for an intercept), which
        # makes the REML log-likelihood invariant to the coding of X.
        ll = (-0.5 * (k - p) * math.log(2 * math.pi) + 0.5 * math.log(k)
              - 0.5 * float(np.sum(np.log(s))) - 0.5 * math.log(sw) - 0.5 * rss_f)
        n_ic = k - p
    else:
        ll = -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(s))) - 0.5 * rss_f
        n_ic = k
    aic = -2 * ll + 2 * parms
    bic = -2 * ll + parms * math.log(n_ic) if n_ic > 0 else math.nan
    m = max(n_ic, parms + 2)
    aicc = -2 * ll + 2 * parms * m / (m - parms - 1)

    def opt(x: float) -> float | None:
        return None if x is None or not math.isfinite(x) else float(x)

    has_ci = ci is not None
    return MetaResult(
        k=k, method=method, test=opts.test, level=opts.level,
        estimate=estimate, se=se, statistic=opt(statistic), p_value=opt(p_value),
        ci_lower=opt(ci_lower), ci_upper=opt(ci_upper), df=df,
        tau2=tau2, tau2_se=opt(fit.se),
        tau2_ci_lower=ci.lower if has_ci else None,
        tau2_ci_upper=opt(ci.upper) if has_ci else None,
        tau2_ci_method=ci.method if has_ci else None,
        tau=math.sqrt(tau2),
        tau_ci_lower=math.sqrt(ci.lower) if has_ci else None,
        tau_ci_upper=opt(math.sqrt(ci.upper)) if has_ci else None,
        i2=i2, i2_ci_lower=i2_of(ci.lower) if has_ci else None,
        i2_ci_upper=opt(i2_of(ci.upper)) if has_ci else None,
        h2=h2, h2_ci_lower=h2_of(ci.lower) if has_ci else None,
        h2_ci_upper=opt(h2_of(ci.upper)) if has_ci else None,
        q=het.q, q_df=het.q_df, q_p_value=het.q_p_value,
        pi_lower=opt(pi_lower), pi_upper=opt(pi_upper), pi_type=opts.pi_type,
        s2w=s2w, loglik=ll, aic=aic, bic=bic, aicc=aicc,
        tau2_fixed=opts.tau2 is not None, converged=fit.converged, iterations=fit.iterations,
        path=fit.path,
        yi=y, vi=v, weights=100.0 * study_w, blup=blup, blup_se=blup_se,
        blup_pi_lower=blup_lo, blup_pi_upper=blup_hi, labels=labels,
        measure=measure, evidence_version=evidence_version, warnings=tuple(notes),
    )
