"""Conversions that systematic reviewers need before a meta-analysis.

Three families, all vectorised (a scalar in gives a ``float`` out, array-likes give numpy
arrays; scalars broadcast against arrays):

* **Standard errors and SDs from what papers report**: a confidence interval, a p-value, a
  t or z statistic (:func:`se_from_ci`, :func:`se_from_p`, :func:`se_from_t`,
  :func:`se_from_z`), and the SD of a group from its SE or CI (:func:`sd_from_se`,
  :func:`sd_from_ci`, :func:`sd_from_se_difference`). These cover what metafor's
  ``conv.wald()`` does, plus the t-based variants of the Cochrane Handbook (section 6.5.2).
* **Means and SDs from medians** (min/median/max, q1/median/q3 or all five):
  :func:`mean_sd_from_median` and its one-scenario shortcuts, with the methods of metafor's
  ``conv.fivenum()`` (Luo, Wan, Shi, Hozo, Bland, Walter & Yao), its test for skewness and its
  log-normal variant. (Implemented in :mod:`acuevidence._fivenum`.)
* **Change from baseline**: :func:`sd_change` and its inverse :func:`corr_from_sds`
  (Cochrane Handbook section 6.5.2.8).

Bad input raises :class:`acuevidence.errors.InputError` naming the argument and the rows
(1-based in the message, 0-based in ``InputError.rows``).

References
----------
Higgins JPT, Li T, Deeks JJ (eds) (2023). Chapter 6: Choosing effect measures and computing
    estimates of effect. In: Cochrane Handbook for Systematic Reviews of Interventions,
    version 6.4, sections 6.5.2.2, 6.5.2.3 and 6.5.2.8.
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
    36(3):1-48. (``conv.wald``, ``conv.fivenum`` in metafor >= 4.0.)
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from ._convert_input import (
    FloatOrArray,
    arrays,
    check_bounds,
    check_corr,
    check_df,
    check_n,
    check_sd,
    crit,
    fail,
    out,
)
from ._fivenum import (
    mean_sd_from_fivenum,
    mean_sd_from_median,
    mean_sd_from_quartiles,
    mean_sd_from_range,
)
from ._validate import check_level, format_rows
from .errors import EvidenceWarning

__all__ = [
    "se_from_ci",
    "se_from_p",
    "se_from_t",
    "se_from_z",
    "sd_from_se",
    "sd_from_ci",
    "sd_from_se_difference",
    "mean_sd_from_median",
    "mean_sd_from_range",
    "mean_sd_from_quartiles",
    "mean_sd_from_fivenum",
    "sd_change",
    "corr_from_sds",
]

# metafor's conv.wald flags an estimate that is off the CI's midpoint by more than this share of
# the CI width (its ``cifac``): the interval is then probably not a symmetric Wald interval.
ASYMMETRY_TOLERANCE = 0.1
# Correlations recovered by corr_from_sds may overshoot +-1 by rounding alone. The numerator
# sd_b^2 + sd_f^2 - sd_c^2 cancels, so the rounding error scales with
# (sd_b^2 + sd_f^2 + sd_c^2) / (2 sd_b sd_f); beyond this many units of that scale the three SDs
# are inconsistent.
CORR_ROUNDING = 1e-12
# The Cochrane Handbook (6.5.2.2) switches from the t to the normal distribution at n = 60.
HANDBOOK_SMALL_SAMPLE = 60


# --------------------------------------------------------------------------------------------
# standard errors and SDs (Wald-type back-calculation)


def se_from_ci(
    lower: ArrayLike,
    upper: ArrayLike,
    level: float = 0.95,
    *,
    log_scale: bool = False,
    df: ArrayLike | None = None,
    estimate: ArrayLike | None = None,
) -> FloatOrArray:
    """Standard error from a symmetric (Wald-type) confidence interval.

    ``se = (upper - lower) / (2 * crit)`` with ``crit`` the ``(1 + level) / 2`` quantile of
    the standard normal distribution, or of the t distribution with ``df`` degrees of freedom.
    For ratios (odds, risk, hazard ratios) set ``log_scale=True``: the interval is symmetric on
    the log scale, and the SE returned is that of the log ratio.

    Parameters
    ----------
    lower, upper : float or array-like
        Bounds of the interval, on the scale it was reported on.
    level : float, default 0.95
        Confidence level, in (0, 1) or as a percentage (95).
    log_scale : bool, default False
        Take logs of the bounds first (both must then be positive).
    df : float or array-like, optional
        Degrees of freedom of a t-based interval; the normal distribution when omitted.
    estimate : float or array-like, optional
        The point estimate (on the reported scale). When given, an :class:`EvidenceWarning`
        names the rows where it is off the interval's midpoint by more than 10 % of the width,
        as metafor's ``conv.wald`` warns: such an interval is probably not Wald-type.

    Returns
    -------
    float or numpy.ndarray
        The standard error (of the log ratio when ``log_scale``).

    Raises
    ------
    InputError
        Missing bounds, ``lower > upper``, non-positive bounds with ``log_scale``, a level
        outside (0, 1), non-positive ``df`` or arguments of different lengths.

    Notes
    -----
    metafor: ``conv.wald(ci.lb=, ci.ub=, level=, transf=log)`` returns ``vi = se**2``.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds) (2023). Cochrane Handbook, section 6.5.2.2 and 6.3.1.
    Viechtbauer W (2010). metafor, ``conv.wald``.
    """
    lv = check_level(level)
    arr, scalar = arrays({"lower": lower, "upper": upper, "df": df, "estimate": estimate},
                         optional=("df", "estimate"))
    lo, up = arr["lower"], arr["upper"]
    check_bounds(lo, up)
    if "df" in arr:
        check_df(arr["df"])
    est = arr.get("estimate")
    if log_scale:
        fail(~(lo > 0), "lower", "must be positive with log_scale=True",
              "Ratio bounds are positive; give the bounds on the ratio scale.", lo)
        if est is not None:
            fail(~(est > 0), "estimate", "must be positive with log_scale=True",
                  "Give the ratio, not its logarithm.", est)
            est = np.log(est)
        lo, up = np.log(lo), np.log(up)
    se = (up - lo) / (2.0 * crit(lv, arr.get("df"), lo.shape[0]))
    if est is not None:
        _warn_asymmetric(lo, up, est)
    return out(se, scalar)


def _warn_asymmetric(lo: np.ndarray, up: np.ndarray, est: np.ndarray) -> None:
    width = up - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.abs((lo + up) / 2.0 - est) / width
    rows = np.flatnonzero((width > 0) & (off > ASYMMETRY_TOLERANCE)).tolist()
    if rows:
        warnings.warn(
            f"The estimate is not about halfway between the CI bounds in row(s) "
            f"{format_rows(rows)}; the interval may not be a Wald interval (or it is on another "
            "scale: try log_scale=True for ratios), so the SE from it is doubtful.",
            EvidenceWarning,
            stacklevel=3,
        )


def se_from_p(
    estimate: ArrayLike,
    p_value: ArrayLike,
    *,
    two_sided: bool = True,
    df: ArrayLike | None = None,
) -> FloatOrArray:
    """Standard error from an estimate and the p-value of its Wald test.

    The p-value is turned into the test statistic (``z = Phi^-1(1 - p/2)`` when two-sided,
    ``Phi^-1(1 - p)`` when one-sided; the t distribution with ``df`` when given), and
    ``se = |estimate / z|``. Ratios must be given on the log scale.

    Parameters
    ----------
    estimate : float or array-like
        The effect estimate (log scale for ratios); must not be 0.
    p_value : float or array-like
        Exact p-values in (0, 1). A reported "p < 0.001" is not exact: plugging in the
        threshold gives an upper bound for the SE.
    two_sided : bool, default True
        Whether the p-values are two-sided.
    df : float or array-like, optional
        Degrees of freedom of a t test; the normal distribution when omitted.

    Returns
    -------
    float or numpy.ndarray
        The standard error.

    Raises
    ------
    InputError
        A p-value outside (0, 1) (p = 1 says nothing about the SE; p = 0 is not a p-value),
        a one-sided p of exactly 0.5, an estimate of 0, missing values or non-positive ``df``.

    Notes
    -----
    metafor: ``conv.wald(out=, pval=)`` (two-sided, normal only).

    References
    ----------
    Altman DG, Bland JM (2011). How to obtain the confidence interval from a P value. BMJ
        343:d2090.
    Higgins JPT, Li T, Deeks JJ (eds) (2023). Cochrane Handbook, section 6.3.2.
    """
    arr, scalar = arrays({"estimate": estimate, "p_value": p_value, "df": df}, optional=("df",))
    est, p = arr["estimate"], arr["p_value"]
    fail((p <= 0) | (p > 1), "p_value", "must be in (0, 1]",
          "Give the p-value as a proportion (0.03, not 3).", p)
    fail(p == 1, "p_value", "is 1", "A p-value of 1 says nothing about the standard error; "
          "use the CI or the SE instead.", p)
    if not two_sided:
        fail(p == 0.5, "p_value", "is 0.5 (one-sided)",
              "That is a test statistic of 0, which says nothing about the standard error.", p)
    fail(est == 0, "estimate", "is 0", "An SE cannot be recovered from a p-value when the "
          "estimate is 0; use the CI or the SE instead.", est)
    if "df" in arr:
        check_df(arr["df"])
    tail = p / 2.0 if two_sided else p
    stat = stats.norm.isf(tail) if "df" not in arr else stats.t.isf(tail, arr["df"])
    return out(np.abs(est / np.asarray(stat, dtype=np.float64)), scalar)


def se_from_t(estimate: ArrayLike, t: ArrayLike) -> FloatOrArray:
    """Standard error from an estimate and its t statistic: ``se = |estimate / t|``.

    Parameters
    ----------
    estimate : float or array-like
        The effect estimate (log scale for ratios).
    t : float or array-like
        Its test statistic (estimate / SE); must not be 0.

    Returns
    -------
    float or numpy.ndarray
        The standard error.

    Raises
    ------
    InputError
        A statistic or estimate of 0, missing values, mismatched lengths.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds) (2023). Cochrane Handbook, section 6.3.2.
    """
    return _se_from_stat(estimate, t, "t")


def se_from_z(estimate: ArrayLike, z: ArrayLike) -> FloatOrArray:
    """Standard error from an estimate and its z (Wald) statistic: ``se = |estimate / z|``.

    Parameters
    ----------
    estimate : float or array-like
        The effect estimate (log scale for ratios).
    z : float or array-like
        Its Wald statistic; must not be 0.

    Returns
    -------
    float or numpy.ndarray
        The standard error.

    Raises
    ------
    InputError
        A statistic or estimate of 0, missing values, mismatched lengths.

    Notes
    -----
    metafor: ``conv.wald(out=, zval=)``.

    References
    ----------
    Viechtbauer W (2010). metafor, ``conv.wald``.
    """
    return _se_from_stat(estimate, z, "z")


def _se_from_stat(estimate: ArrayLike, stat: ArrayLike, name: str) -> FloatOrArray:
    arr, scalar = arrays({"estimate": estimate, name: stat}, optional=())
    est, s = arr["estimate"], arr[name]
    fail(s == 0, name, "is 0", "A statistic of 0 says nothing about the standard error.", s)
    fail(est == 0, "estimate", "is 0",
          "An estimate of 0 has a statistic of 0; check the values.", est)
    return out(np.abs(est / s), scalar)


def sd_from_se(se: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """SD of a group from the standard error of its mean: ``sd = se * sqrt(n)``.

    Parameters
    ----------
    se : float or array-like
        Standard error of the group mean (not of a difference between groups; see
        :func:`sd_from_se_difference`).
    n : float or array-like
        Number of participants in the group (at least 2).

    Returns
    -------
    float or numpy.ndarray
        The standard deviation.

    Raises
    ------
    InputError
        Negative SE, ``n < 2``, missing values, mismatched lengths.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds) (2023). Cochrane Handbook, section 6.5.2.2.
    """
    arr, scalar = arrays({"se": se, "n": n}, optional=())
    check_sd(arr["se"], "se")
    check_n(arr["n"])
    return out(arr["se"] * np.sqrt(arr["n"]), scalar)


def sd_from_ci(
    lower: ArrayLike,
    upper: ArrayLike,
    n: ArrayLike,
    level: float = 0.95,
    *,
    df: ArrayLike | None = None,
    small_sample: float = HANDBOOK_SMALL_SAMPLE,
) -> FloatOrArray:
    """SD of a group from the confidence interval of its mean.

    ``sd = sqrt(n) * (upper - lower) / (2 * crit)``. Following the Cochrane Handbook
    (6.5.2.2), ``crit`` is the t quantile with ``n - 1`` degrees of freedom when
    ``n < small_sample`` (60), else the normal quantile (3.92 = 2 x 1.96 for a 95 % CI).

    Parameters
    ----------
    lower, upper : float or array-like
        Bounds of the CI of the group mean.
    n : float or array-like
        Number of participants in the group (at least 2).
    level : float, default 0.95
        Confidence level, in (0, 1) or as a percentage.
    df : float or array-like, optional
        Degrees of freedom of the t quantile, overriding the rule above.
    small_sample : float, default 60
        Groups with ``n`` below this use the t distribution. ``0`` always uses the normal
        distribution (metafor's ``conv.wald``), ``math.inf`` always the t distribution.

    Returns
    -------
    float or numpy.ndarray
        The standard deviation.

    Raises
    ------
    InputError
        ``lower > upper``, ``n < 2``, a level outside (0, 1), missing values, mismatched
        lengths.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds) (2023). Cochrane Handbook, section 6.5.2.2.
    """
    lv = check_level(level)
    arr, scalar = arrays({"lower": lower, "upper": upper, "n": n, "df": df}, optional=("df",))
    lo, up, nn = arr["lower"], arr["upper"], arr["n"]
    check_bounds(lo, up)
    check_n(nn)
    tail = (1.0 - lv) / 2.0
    if "df" in arr:
        check_df(arr["df"])
        q = np.asarray(stats.t.isf(tail, arr["df"]), dtype=np.float64)
    else:
        q = np.where(nn < small_sample, stats.t.isf(tail, nn - 1.0), stats.norm.isf(tail))
    return out(np.sqrt(nn) * (up - lo) / (2.0 * q), scalar)


def sd_from_se_difference(se: ArrayLike, n1: ArrayLike, n2: ArrayLike) -> FloatOrArray:
    """Pooled within-group SD from the SE of a difference in means.

    ``sd = se / sqrt(1/n1 + 1/n2)``: the SD that, assumed equal in both groups, gives this
    SE. Get the SE first from a CI, t or p-value of the difference (:func:`se_from_ci`, ...).

    Parameters
    ----------
    se : float or array-like
        Standard error of the mean difference.
    n1, n2 : float or array-like
        Group sizes (at least 2 each).

    Returns
    -------
    float or numpy.ndarray
        The pooled standard deviation, to be used for both groups.

    Raises
    ------
    InputError
        Negative SE, group sizes below 2, missing values, mismatched lengths.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds) (2023). Cochrane Handbook, section 6.5.2.3.
    """
    arr, scalar = arrays({"se": se, "n1": n1, "n2": n2}, optional=())
    check_sd(arr["se"], "se")
    check_n(arr["n1"], "n1")
    check_n(arr["n2"], "n2")
    return out(arr["se"] / np.sqrt(1.0 / arr["n1"] + 1.0 / arr["n2"]), scalar)


# --------------------------------------------------------------------------------------------
# change from baseline


def sd_change(sd_baseline: ArrayLike, sd_final: ArrayLike, corr: ArrayLike) -> FloatOrArray:
    """SD of the change from baseline, imputed from the baseline and final SDs.

    ``sd_change = sqrt(sd_baseline**2 + sd_final**2 - 2 * corr * sd_baseline * sd_final)``.

    Parameters
    ----------
    sd_baseline, sd_final : float or array-like
        SDs at baseline and at the end of follow-up (not negative).
    corr : float or array-like
        Correlation between baseline and final values, in [-1, 1]; typically imputed from
        another trial with :func:`corr_from_sds`.

    Returns
    -------
    float or numpy.ndarray
        The SD of the change scores.

    Raises
    ------
    InputError
        A negative SD, a correlation outside [-1, 1], missing values, mismatched lengths.

    Notes
    -----
    The same quantity as metafor's ``escalc(measure="MC")`` sampling variance times ``ni``.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds) (2023). Cochrane Handbook, section 6.5.2.8.
    Follmann D, Elliott P, Suh I, Cutler J (1992). Variance imputation for overviews of
        clinical trials with continuous response. J Clin Epidemiol 45:769-773.
    """
    arr, scalar = arrays({"sd_baseline": sd_baseline, "sd_final": sd_final, "corr": corr},
                         optional=())
    sb, sf, r = arr["sd_baseline"], arr["sd_final"], arr["corr"]
    check_sd(sb, "sd_baseline")
    check_sd(sf, "sd_final")
    check_corr(r)
    # With corr = 1 and equal SDs the variance is 0 up to rounding: clip tiny negatives.
    var = np.maximum(sb * sb + sf * sf - 2.0 * r * sb * sf, 0.0)
    return out(np.sqrt(var), scalar)


def corr_from_sds(
    sd_baseline: ArrayLike, sd_final: ArrayLike, sd_change: ArrayLike
) -> FloatOrArray:
    """Correlation between baseline and final values from the three SDs a trial reports.

    ``corr = (sd_baseline**2 + sd_final**2 - sd_change**2) / (2 * sd_baseline * sd_final)``,
    the inverse of :func:`sd_change`: compute it in a trial that reports all three SDs and
    impute it in trials that report only baseline and final SDs.

    Parameters
    ----------
    sd_baseline, sd_final : float or array-like
        SDs at baseline and at follow-up (positive).
    sd_change : float or array-like
        SD of the change from baseline (not negative).

    Returns
    -------
    float or numpy.ndarray
        The correlation, in [-1, 1].

    Raises
    ------
    InputError
        Non-positive baseline or final SDs, a negative change SD, SDs that cannot belong
        together (``sd_change`` outside ``[|sd_b - sd_f|, sd_b + sd_f]``, i.e. a correlation
        outside [-1, 1]), missing values, mismatched lengths.

    References
    ----------
    Higgins JPT, Li T, Deeks JJ (eds) (2023). Cochrane Handbook, section 6.5.2.8.
    """
    arr, scalar = arrays({"sd_baseline": sd_baseline, "sd_final": sd_final,
                          "sd_change": sd_change}, optional=())
    sb, sf, sc = arr["sd_baseline"], arr["sd_final"], arr["sd_change"]
    for name in ("sd_baseline", "sd_final"):
        fail(~(arr[name] > 0), name, "must be positive",
              "A correlation needs SDs above 0 at baseline and follow-up.", arr[name])
    check_sd(sc, "sd_change")
    denom = 2.0 * sb * sf
    r = (sb * sb + sf * sf - sc * sc) / denom
    slack = CORR_ROUNDING * (sb * sb + sf * sf + sc * sc) / denom
    fail(np.abs(r) > 1.0 + slack, "sd_change", "is inconsistent with the baseline "
          "and final SDs (it must lie between |sd_baseline - sd_final| and "
          "sd_baseline + sd_final)", "Check that all three SDs come from the same groups and "
          "time points.", sc)
    return out(np.clip(r, -1.0, 1.0), scalar)
