"""Heterogeneity statistics and confidence intervals for tau^2 (pure numeric layer).

References
----------
Cochran WG (1954). The combination of estimates from different experiments. Biometrics 10:101-129.
Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. Stat Med 21:1539-1558.
Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in meta-analysis.
    Stat Med 26:37-52. (Q-profile and profile-likelihood intervals.)
Hardy RJ, Thompson SG (1996). A likelihood approach to meta-analysis with random effects.
    Stat Med 15:619-629.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from .tau2 import loglik, projection, rss

__all__ = [
    "Heterogeneity",
    "TauCI",
    "cochran_q",
    "tau2_ci_profile_likelihood",
    "tau2_ci_qprofile",
    "typical_variance",
]

# Root-finding accuracy for interval bounds on the tau^2 scale.
CI_XTOL = 1e-12


@dataclass(frozen=True)
class Heterogeneity:
    """Cochran's Q and the typical within-study variance of a fit."""

    q: float
    q_df: int
    q_p_value: float
    vt: float  # "typical" within-study variance (Higgins & Thompson), metafor's vt

    def i2_h2(self, tau2: float, common: bool) -> tuple[float, float]:
        """I^2 (%) and H^2 as metafor reports them: from Q for a common-effect fit, else from
        tau^2 and the typical variance (Higgins & Thompson 2002); 0 and 1 without residual df."""
        if self.q_df == 0:
            return 0.0, 1.0
        if common:
            i2 = max(0.0, 100.0 * (self.q - self.q_df) / self.q) if self.q > 0 else 0.0
            return i2, self.q / self.q_df
        return 100.0 * tau2 / (self.vt + tau2), tau2 / self.vt + 1.0


@dataclass(frozen=True)
class TauCI:
    """A confidence interval for tau^2; ``*_note`` says when a bound sits at the search limit."""

    lower: float
    upper: float
    method: str
    lower_note: str = ""
    upper_note: str = ""


def cochran_q(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Heterogeneity:
    """Cochran's Q with fixed-effect weights, its p-value and metafor's typical variance."""
    k, p = X.shape
    if k <= p:
        return Heterogeneity(0.0, 0, 1.0, 0.0)
    P = projection(1.0 / v, X)
    ymc = y - y.mean()
    q = max(0.0, float(ymc @ P @ ymc))
    df = k - p
    return Heterogeneity(q, df, float(stats.chi2.sf(q, df)), df / float(np.trace(P)))


def typical_variance(v: np.ndarray, X: np.ndarray) -> float:
    """(k - p) / tr(P): the within-study variance used for I^2 and H^2 (metafor's i2def 1)."""
    k, p = X.shape
    return (k - p) / float(np.trace(projection(1.0 / v, X)))


def _decreasing_root(f, lo: float, start_hi: float) -> tuple[float, bool]:
    """Root of f, decreasing on [lo, inf) with f(lo) >= 0; the bracket grows by doubling."""
    hi = max(start_hi, 2.0 * lo, lo + 1.0)
    for _ in range(200):
        if f(hi) < 0:
            break
        lo, hi = hi, 2.0 * hi
    else:
        return math.inf, False
    return float(optimize.brentq(f, lo, hi, xtol=CI_XTOL, rtol=4 * np.finfo(float).eps)), True


def tau2_ci_qprofile(y: np.ndarray, v: np.ndarray, X: np.ndarray, level: float,
                     tau2_hat: float) -> TauCI:
    """Q-profile interval: tau^2 values at which Q(tau^2) equals the chi-square quantiles.

    Q(tau^2) = y'P(tau^2)y is decreasing in tau^2 and ~ chi2(k - p) at the true value. Unlike
    metafor, which stops at ``tau2.max = max(100, 10 tau2)``, the search extends until the bound
    is found, so bounds above 100 are returned exactly.
    """
    k, p = X.shape
    alpha = 1.0 - level
    crit_u = float(stats.chi2.isf(alpha / 2, k - p))  # upper quantile -> lower bound
    crit_l = float(stats.chi2.ppf(alpha / 2, k - p))  # lower quantile -> upper bound
    q0 = rss(0.0, y, v, X)
    start = max(100.0, 10 * tau2_hat)
    lower_note = upper_note = ""
    if q0 < crit_l:
        # Even tau^2 = 0 makes the data look too homogeneous: the interval is the null set {0}.
        return TauCI(0.0, 0.0, "QP", "<", "<")
    if q0 < crit_u:
        lower = 0.0
    else:
        lower, _ = _decreasing_root(lambda t: rss(t, y, v, X) - crit_u, 0.0, start)
    upper, ok = _decreasing_root(lambda t: rss(t, y, v, X) - crit_l, lower, start)
    if not ok:
        upper_note = ">"
    return TauCI(lower, upper, "QP", lower_note, upper_note)


def tau2_ci_profile_likelihood(y: np.ndarray, v: np.ndarray, X: np.ndarray, level: float,
                               tau2_hat: float, reml: bool) -> TauCI:
    """Profile-likelihood interval: tau^2 where the likelihood-ratio statistic equals chi2_1(level).

    Uses the restricted likelihood for REML fits and the likelihood for ML fits, profiling the
    fixed effects out, as metafor's ``confint(type = "PL")`` does.
    """
    crit = float(stats.chi2.ppf(level, 1))
    ll_hat = loglik(tau2_hat, y, v, X, reml)

    def f(t: float) -> float:
        return crit - (-2.0 * (loglik(t, y, v, X, reml) - ll_hat))

    # Lower bound: f is positive at tau2_hat and (if the bound is inside) negative at 0.
    if f(0.0) >= 0:
        lower = 0.0
    else:
        lower = float(optimize.brentq(f, 0.0, tau2_hat, xtol=CI_XTOL))
    upper, ok = _decreasing_root(f, tau2_hat, max(100.0, 10 * tau2_hat))
    return TauCI(lower, upper, "PL", "", "" if ok else ">")


def tau2_ci(kind: str, method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray, level: float,
            tau2_hat: float) -> TauCI:
    """The CI for tau^2 of a fit: ``"QP"`` (Q-profile) or ``"PL"`` (profile likelihood, ML/REML)."""
    if kind == "QP":
        return tau2_ci_qprofile(y, v, X, level, tau2_hat)
    if method not in ("ML", "REML"):
        from .errors import InputError

        raise InputError(
            f"A profile-likelihood CI for tau^2 needs method 'ML' or 'REML' (got {method!r}); "
            "use tau2_ci='QP' for other estimators.", column="tau2_ci")
    return tau2_ci_profile_likelihood(y, v, X, level, tau2_hat, reml=method == "REML")
