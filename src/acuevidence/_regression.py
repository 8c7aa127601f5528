"""Weighted regressions of effect sizes on a design matrix (pure numeric layer of the
small-study-effect methods: Egger's test, PET-PEESE, trim and fill's side choice).

References
----------
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single
    covariate. Stat Med 22:2693-2710.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .errors import InputError
from .meta import COMMON
from .tau2 import estimate_tau2

__all__ = ["MIN_K", "LinearFit", "check_k", "linear_fit"]

MIN_K = 3


@dataclass(frozen=True)
class LinearFit:
    """Coefficients of a weighted regression with their tests (one entry per column of X)."""

    beta: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    df: int | None
    tau2: float
    dispersion: float


def linear_fit(y: np.ndarray, v: np.ndarray, X: np.ndarray, *, model: str = "rma",
               method: str = "REML", test: str = "z", level: float = 0.95,
               tau2: float | None = None) -> LinearFit:
    """Weighted regression of ``y`` on the design matrix ``X`` (k, p).

    ``model="lm"``: weighted least squares with weights 1/v and a multiplicative dispersion
    estimated from the residuals (R's ``lm(y ~ X - 1, weights = 1/v)``; t-tests, k - p df).
    ``model="rma"``: mixed-effects meta-regression as metafor's ``rma.uni(y, v, mods = X,
    intercept = FALSE)``: residual tau^2 by ``method`` (or fixed ``tau2``), weights
    1/(v + tau2), and ``test`` z, t, knha (Knapp-Hartung) or adhoc.
    """
    k, p = X.shape
    alpha = 1.0 - level
    if model == "lm":
        w = 1.0 / v
        XtWX = X.T @ (w[:, None] * X)
        cov = np.linalg.inv(XtWX)
        beta = cov @ (X.T @ (w * y))
        e = y - X @ beta
        disp = float(np.sum(w * e * e)) / (k - p)
        se = np.sqrt(np.diag(cov) * disp)
        df: int | None = k - p
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = beta / se
        pval = 2 * stats.t.sf(np.abs(stat), df)
        crit = float(stats.t.isf(alpha / 2, df))
        return LinearFit(beta, se, stat, pval, beta - crit * se, beta + crit * se, df, 0.0, disp)
    if method in COMMON:
        t2 = 0.0
    elif tau2 is not None:
        t2 = float(tau2)
    else:
        t2 = estimate_tau2(method, y, v, X).tau2
    w = 1.0 / (v + t2)
    XtWX = X.T @ (w[:, None] * X)
    cov = np.linalg.inv(XtWX)
    beta = cov @ (X.T @ (w * y))
    s2w = 1.0
    if test in ("knha", "adhoc"):
        e = y - X @ beta
        rss = float(np.sum(w * e * e))
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        if test == "adhoc":
            s2w = max(s2w, 1.0)
    se = np.sqrt(np.diag(cov) * s2w)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    if test in ("t", "knha", "adhoc"):
        df = k - p
        pval = 2 * stats.t.sf(np.abs(stat), df)
        crit = float(stats.t.isf(alpha / 2, df))
    else:
        df = None
        pval = 2 * stats.norm.sf(np.abs(stat))
        crit = float(stats.norm.isf(alpha / 2))
    return LinearFit(beta, se, stat, pval, beta - crit * se, beta + crit * se, df, t2, s2w)


def check_k(k: int, what: str, need: int = MIN_K) -> None:
    """Raise InputError when there are fewer than ``need`` studies."""
    if k < need:
        raise InputError(f"{what} needs at least {need} studies; got k = {k}. With so few "
                         "studies small-study effects cannot be assessed: report the studies "
                         "and say so instead.", column="yi")
