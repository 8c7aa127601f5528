"""Meta-regression: mixed-effects and fixed-effects models with moderators (metafor's ``rma.uni``
with ``mods``).

:class:`MetaRegression` holds the options; :meth:`MetaRegression.fit` validates the data and the
moderators once and returns a frozen :class:`~acuevidence._metareg_result.MetaRegressionResult`
(coefficient table, omnibus test, residual heterogeneity, pseudo-R^2, fit statistics, and the
methods ``wald``, ``predict``, ``anova``, ``permutation_test`` and ``plot_bubble``).
:func:`meta_regression` is the one-call form.

Conventions kept from metafor 3.8 (so that numbers agree): tau^2 estimators and the test for
residual heterogeneity QE use the mean-centred effect sizes (identical to the uncentred ones
whenever the design contains an intercept, or any coding whose columns span the constant);
the Q-profile CI for tau^2 and the coefficients use the effect sizes as given. The pseudo-R^2
compares tau^2 with that of the intercept-only model fitted with the same method.

References
----------
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
Thompson SG, Higgins JPT (2002). How should meta-regression analyses be undertaken and
    interpreted? Stat Med 21:1559-1573.
Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In: Cooper H, Hedges LV,
    Valentine JC (eds). The Handbook of Research Synthesis and Meta-Analysis, 2nd ed. (pseudo-R^2)
Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single
    covariate. Stat Med 22:2693-2710.
Viechtbauer W, López-López JA, Sánchez-Meca J, Marín-Martínez F (2015). A comparison of
    procedures to test for moderators in mixed-effects meta-regression models. Psychol Methods
    20:360-374. (Knapp-Hartung and permutation tests)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._metareg_design import Design, build_design
from ._metareg_kernel import batch_coefficients, tau2_basis
from ._metareg_result import MetaRegressionResult
from .errors import InputError, SmallSampleWarning
from .heterogeneity import cochran_q, tau2_ci
from .meta import COMMON, _prepare, check_model_options
from .tau2 import Tau2Fit, estimate_tau2

__all__ = ["MetaRegression", "meta_regression", "resolve_btt"]



@dataclass(frozen=True)
class MetaRegression:
    """Options of a meta-regression; :meth:`fit` returns a :class:`MetaRegressionResult`.

    Parameters
    ----------
    method : str
        ``"REML"`` (default) or any tau^2 estimator of :func:`acuevidence.meta_analysis`
        (``"ML"``, ``"DL"``, ``"PM"``, ``"HE"``, ``"SJ"``, ``"EB"``, ...) for a mixed-effects
        model; ``"FE"``/``"EE"``/``"CE"`` for a fixed-effects meta-regression.
    test : str
        ``"z"`` (default), ``"t"`` (t and F tests with k - p df), ``"knha"`` (Knapp-Hartung:
        the covariance scaled by s2w = RSS/(k - p)) or ``"adhoc"`` (s2w truncated below at 1).
    level : float
        Confidence level (0.95; 95 is read as 95%).
    tau2 : float, optional
        Fix tau^2 instead of estimating it.
    tau2_ci : str or None
        ``"QP"`` (Q-profile, default), ``"PL"`` (profile likelihood; ML/REML) or None.
    """

    method: str = "REML"
    test: str = "z"
    level: float = 0.95
    tau2: float | None = None
    tau2_ci: str | None = "QP"

    def __post_init__(self) -> None:
        check_model_options(self)

    def fit(
        self,
        yi: Any,
        vi: Any = None,
        mods: Any = None,
        *,
        data: pd.DataFrame | None = None,
        sei: Any = None,
        intercept: bool = True,
        btt: Any = None,
        weights: Any = None,
        labels: Any = None,
    ) -> MetaRegressionResult:
        """Fit the model; see :func:`meta_regression` for the arguments."""
        y, v, a, lab = _prepare(yi, vi, sei, weights, labels, data)
        if self.method == "GENQ" and a is None:
            raise InputError("method='GENQ' needs 'weights' (the weights of the generalized Q "
                             "statistic, e.g. 1/vi or sample sizes).", column="weights")
        design = build_design(mods, data, bool(intercept), y.shape[0])
        return fit_design(self, y, v, a, lab, design, btt)


def meta_regression(
    yi: Any,
    vi: Any = None,
    mods: Any = None,
    *,
    data: pd.DataFrame | None = None,
    sei: Any = None,
    intercept: bool = True,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    btt: Any = None,
    weights: Any = None,
    tau2: float | None = None,
    tau2_ci: str | None = "QP",
    labels: Any = None,
) -> MetaRegressionResult:
    """Meta-regression of effect sizes on moderators (metafor's ``rma(yi, vi, mods = ...)``).

    Parameters
    ----------
    yi, vi, sei : array-like or str
        Effect sizes and their sampling variances (or standard errors); column names of
        ``data`` when it is given.
    mods : str, array-like, DataFrame or list of str, optional
        The moderators: a formula on ``data`` (``"sessions + C(comparator)"``; a leading ``~`` is
        optional, ``factor(x)`` is read as ``C(x)``, interactions ``a*b``, transforms
        ``np.log(x)`` and ``- 1`` work as in R), a design matrix or DataFrame of numeric
        moderators (an intercept column is added unless ``intercept=False``), or a column name /
        list of column names of ``data`` (numeric). None fits the intercept-only model.
    data : DataFrame, optional
        The study table.
    intercept : bool
        Include an intercept (default). With a formula, ``intercept=False`` appends ``- 1``.
    method, test, level, tau2, tau2_ci
        See :class:`MetaRegression`.
    btt : int, str or sequence, optional
        Coefficients of the omnibus test QM: 0-based positions (metafor counts from 1), term
        names, or a text matched against the term names (as metafor's ``btt = "alloc"``).
        Default: every coefficient except the intercept.
    weights : array-like or str, optional
        User weights (weighted least squares with a sandwich covariance, as metafor).
    labels : array-like or str, optional
        Study labels.

    Returns
    -------
    MetaRegressionResult

    Raises
    ------
    InputError
        Missing or non-numeric moderator values (naming rows and column), unknown formula
        variables, collinear moderators (naming the terms; metafor would drop them with a
        warning), or too few studies for the number of coefficients.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"yi": [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79],
    ...                   "vi": [0.33, 0.19, 0.42, 0.02, 0.05, 0.01],
    ...                   "lat": [44, 55, 42, 52, 13, 44]})
    >>> res = meta_regression("yi", "vi", "lat", data=d, method="REML")
    >>> res.terms
    ('intercept', 'lat')
    """
    model = MetaRegression(method=method, test=test, level=level, tau2=tau2, tau2_ci=tau2_ci)
    return model.fit(yi, vi, mods, data=data, sei=sei, intercept=intercept, btt=btt,
                     weights=weights, labels=labels)


# ----------------------------------------------------------------------------------------
def resolve_btt(btt: Any, terms: Sequence[str], has_intercept: bool) -> tuple[int, ...]:
    """0-based coefficient positions for a ``btt`` argument (None: all but the intercept)."""
    p = len(terms)
    if btt is None:
        if p == 1:
            return (0,)
        return tuple(range(1, p)) if has_intercept else tuple(range(p))
    items = [btt] if isinstance(btt, str | int | np.integer) else list(btt)
    if not items:
        raise InputError("'btt' is empty; name at least one coefficient to test.", column="btt")
    out: set[int] = set()
    for it in items:
        if isinstance(it, bool | np.bool_):
            raise InputError(f"'btt' must hold positions or term names; got {it!r}.",
                             column="btt")
        if isinstance(it, int | np.integer):
            j = int(it)
            if not -p <= j < p:
                raise InputError(f"'btt' position {j} does not exist: the model has {p} "
                                 f"coefficients (0-based positions 0 to {p - 1}: "
                                 f"{', '.join(terms)}).", column="btt")
            out.add(j % p)
        elif isinstance(it, str):
            if it in terms:
                out.add(list(terms).index(it))
            else:
                hits = [j for j, t in enumerate(terms) if it in t]
                if not hits:
                    raise InputError(f"'btt' = {it!r} matches no coefficient; the terms are "
                                     f"{', '.join(terms)}.", column="btt")
                out.update(hits)
        else:
            raise InputError(f"'btt' must hold positions or term names; got {it!r}.",
                             column="btt")
    return tuple(sorted(out))


def _fixed_effects_r2(y: np.ndarray, X: np.ndarray, w: np.ndarray) -> float:
    """metafor's R^2 for fixed-effects models: the adjusted R^2 of weighted least squares."""
    k, p = X.shape
    if np.all(y == y[0]):
        return 0.0
    WX = w[:, None] * X
    beta = np.linalg.solve(X.T @ WX, WX.T @ y)
    f = X @ beta
    rss = float(np.sum(w * (y - f) ** 2))
    fbar = float(np.sum(w * f) / np.sum(w))
    mss = float(np.sum(w * (f - fbar) ** 2))
    r2 = mss / (mss + rss)
    adj = 1.0 - (1.0 - r2) * (k - 1) / (k - p)
    return max(0.0, 100.0 * adj)


def fit_stats(y, v, X, tau2, rss_f, logdet_w, parms) -> dict[str, dict[str, float]]:
    """metafor's ``fitstats``: logLik, deviance, AIC, BIC, AICc for the ML and REML flavours."""
    k, p = X.shape
    slog = float(np.sum(np.log(v + tau2)))
    ll_ml = -0.5 * k * math.log(2 * math.pi) - 0.5 * slog - 0.5 * rss_f
    _, logdet_xx = np.linalg.slogdet(X.T @ X)
    ll_reml = (-0.5 * (k - p) * math.log(2 * math.pi) + 0.5 * float(logdet_xx) - 0.5 * slog
               - 0.5 * logdet_w - 0.5 * rss_f)
    sat = float(np.sum(-0.5 * np.log(2 * math.pi * v)))  # saturated model: dnorm(yi, yi, sqrt(vi))
    out = {}
    for name, ll, n, dev in (("ML", ll_ml, k, -2 * (ll_ml - sat)),
                             ("REML", ll_reml, k - p, -2 * ll_reml)):
        m = max(n, parms + 2)
        out[name] = {
            "loglik": ll, "deviance": dev, "aic": -2 * ll + 2 * parms,
            "bic": -2 * ll + parms * math.log(n) if n > 0 else math.nan,
            "aicc": -2 * ll + 2 * parms * m / (m - parms - 1),
        }
    return out


def fit_design(opts: MetaRegression, y: np.ndarray, v: np.ndarray, a: np.ndarray | None,
               labels: tuple[str, ...], design: Design, btt: Any = None) -> MetaRegressionResult:
    """Fit validated arrays and a checked design (the core of :meth:`MetaRegression.fit`)."""
    X = design.X
    k, p = X.shape
    method, test = opts.method, opts.test
    common = method in COMMON
    if k <= p:
        raise InputError(
            f"Too few studies for the model: k = {k} studies but {p} coefficients "
            f"({', '.join(design.terms)}). A meta-regression needs at least p + 1 = {p + 1} "
            f"studies (more to estimate tau^2 well); use fewer moderators or add studies.",
            column="mods")
    btt_idx = resolve_btt(btt, design.terms, design.intercept)
    notes: list[str] = []

    def warn(msg: str) -> None:
        notes.append(msg)
        warnings.warn(msg, SmallSampleWarning, stacklevel=4)

    if common and test in ("knha", "adhoc"):
        warn(f"The Knapp-Hartung method is not meant for a fixed-effects ({method}) model.")

    # tau^2 and the omnibus heterogeneity use centred effect sizes, as metafor does.
    yc = y - y.mean()
    if common:
        fit = Tau2Fit(0.0, math.nan, True, 0, "common")
    elif opts.tau2 is not None:
        fit = Tau2Fit(opts.tau2, math.nan, True, 0, "fixed")
    else:
        fit = estimate_tau2(method, yc, v, tau2_basis(X), a)
    tau2 = fit.tau2

    c = batch_coefficients(np.array([tau2]), y[None, :], v, X[None], test,
                           np.asarray(btt_idx), a)
    beta, vb, se, z = c["beta"][0], c["vb"][0], c["se"][0], c["statistic"][0]
    s2w = float(c["s2w"][0])
    if test == "knha" and s2w == 0.0:
        warn("The moderators fit the effect sizes exactly (weighted RSS = 0), so the "
             "Knapp-Hartung factor s2w is 0 and every standard error is 0 (as in metafor); "
             "use test='adhoc' (s2w >= 1) or test='z'.")
    tdist = test in ("t", "knha", "adhoc")
    alpha = 1.0 - opts.level
    m = len(btt_idx)
    qm = float(c["qm"][0])
    df = k - p if tdist else None
    with np.errstate(invalid="ignore"):
        if tdist:
            pv = 2 * stats.t.sf(np.abs(z), k - p)
            crit = float(stats.t.isf(alpha / 2, k - p))
            qm_p = float(stats.f.sf(qm, m, k - p))
        else:
            pv = 2 * stats.norm.sf(np.abs(z))
            crit = float(stats.norm.isf(alpha / 2))
            qm_p = float(stats.chi2.sf(qm, m))

    het = cochran_q(y, v, X)  # centres y itself: metafor's QE
    i2, h2 = het.i2_h2(tau2, common)

    ci = None
    if opts.tau2_ci and not common and opts.tau2 is None:
        ci = tau2_ci(opts.tau2_ci, method, y, v, X, opts.level, tau2)
        if ci.upper_note == ">":
            notes.append("The upper bound of the tau^2 CI is unbounded in practice "
                         "(the search limit was reached).")

    r2 = None
    if design.intercept and p > 1:
        if common:
            r2 = _fixed_effects_r2(y, X, a if a is not None else 1.0 / v)
        else:
            tau2_0 = estimate_tau2(method, yc, v, np.ones((k, 1)), a).tau2
            r2 = 0.0 if tau2_0 == 0 else max(0.0, 100.0 * (tau2_0 - tau2) / tau2_0)

    parms = p + (0 if common or opts.tau2 is not None else 1)
    fs = fit_stats(y, v, X, tau2, float(c["rss"][0]), float(c["logdet_w"][0]), parms)
    flavour = fs["REML" if method == "REML" else "ML"]
    w_std = 1.0 / (v + tau2)
    study_w = a / a.sum() if a is not None else w_std / w_std.sum()
    fitted = X @ beta

    def opt(x: float | None) -> float | None:
        return None if x is None or not math.isfinite(x) else float(x)

    has_ci = ci is not None
    return MetaRegressionResult(
        k=k, p=p, method=method, test=test, level=opts.level, terms=design.terms,
        estimate=beta, se=se, statistic=z, p_value=pv, ci_lower=beta - crit * se,
        ci_upper=beta + crit * se, vcov=vb, df=df,
        tau2=tau2, tau2_se=opt(fit.se),
        tau2_ci_lower=ci.lower if has_ci else None,
        tau2_ci_upper=opt(ci.upper) if has_ci else None,
        tau2_ci_method=ci.method if has_ci else None,
        tau=math.sqrt(tau2), i2=i2, h2=h2,
        q=het.q, q_df=het.q_df, q_p_value=het.q_p_value,
        qm=qm, qm_df=m, qm_df2=df, qm_p_value=qm_p, btt=btt_idx,
        r2=r2, s2w=s2w, parms=parms,
        loglik=flavour["loglik"], deviance=flavour["deviance"], aic=flavour["aic"],
        bic=flavour["bic"], aicc=flavour["aicc"],
        tau2_fixed=opts.tau2 is not None, converged=fit.converged, iterations=fit.iterations,
        path=fit.path, intercept=design.intercept,
        yi=y, vi=v, weights=100.0 * study_w, fitted=fitted, labels=labels,
        design=design, user_weights=a, fit_stats_all=fs, tau2_ci_option=opts.tau2_ci,
        warnings=tuple(notes),
    )
