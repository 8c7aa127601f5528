"""Tail probabilities the batch kernels need, compiled with Numba.

SciPy's special functions are single-threaded ufuncs and cannot be called from a Numba kernel,
so the kernel evaluates the three tail probabilities of a meta-analysis itself:

* two-sided normal p-value ``2 * (1 - Phi(|z|)) = erfc(|z| / sqrt(2))`` (as SciPy's ``ndtr``);
* chi-square upper tail for an integer number of degrees of freedom (Cochran's Q), by the
  finite Poisson-type sums that exist for integer and half-integer shapes (every term is
  positive, so there is no cancellation), falling back to the series / continued fraction of
  the regularized incomplete gamma function where ``exp(-x/2)`` would underflow;
* Student t two-sided p-value for an integer df, ``I_{df/(df+t^2)}(df/2, 1/2)``, by the
  continued fraction of the regularized incomplete beta function (modified Lentz).

Each agrees with SciPy to a relative 1e-13 or better over the range a meta-analysis produces
(tested in ``tests/test_batch.py``). Quantiles (critical values, PMM's chi-square median) depend
on the degrees of freedom only, so they are tabulated with SciPy outside the kernel.

References
----------
Abramowitz M, Stegun IA (1964). Handbook of Mathematical Functions, 6.5.13, 26.4.4-26.4.5.
Press WH, Teukolsky SA, Vetterling WT, Flannery BP (2007). Numerical Recipes, 3rd ed., 6.2-6.4.
Lentz WJ (1976). Generating Bessel functions in Mie scattering calculations using continued
    fractions. Appl Opt 15:668-671.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Continued fractions stop when a factor is this close to 1 (a few ulp).
_CF_EPS = 1e-16
# Lentz's guard against a zero denominator.
_TINY = 1e-300
_CF_MAX_ITER = 10_000
_SQRT1_2 = 0.7071067811865476
_TWO_OVER_SQRT_PI = 1.1283791670955126
# Finite sums are used up to this many degrees of freedom; reciprocals of their term indices are
# tabulated so that the running product is a chain of multiplications, not divisions.
_FINITE_DF = 400
_INV_J = 1.0 / np.arange(1, _FINITE_DF // 2 + 2, dtype=np.float64)
_INV_J_HALF = 1.0 / (np.arange(0, _FINITE_DF // 2 + 2, dtype=np.float64) + 1.5)


@njit(cache=True, error_model="numpy")
def norm_p2(z: float) -> float:
    """Two-sided normal p-value of a statistic ``z`` (NaN stays NaN)."""
    return math.erfc(abs(z) * _SQRT1_2)


@njit(cache=True, error_model="numpy")
def _gamma_p_series(a: float, x: float) -> float:
    # Regularized lower incomplete gamma P(a, x) by its power series (x < a + 1).
    ap = a
    term = 1.0 / a
    total = term
    for _ in range(_CF_MAX_ITER):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _CF_EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


@njit(cache=True, error_model="numpy")
def _gamma_q_cf(a: float, x: float) -> float:
    # Regularized upper incomplete gamma Q(a, x) by its continued fraction (x >= a + 1).
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _CF_MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _CF_EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


@njit(cache=True, error_model="numpy")
def gamma_q(a: float, x: float) -> float:
    """Regularized upper incomplete gamma function Q(a, x) for a > 0, x >= 0."""
    if x <= 0.0:
        return 1.0
    if x < a + 1.0:
        return 1.0 - _gamma_p_series(a, x)
    return _gamma_q_cf(a, x)


@njit(cache=True, error_model="numpy")
def chi2_sf(x: float, df: int) -> float:
    """Upper tail P(X > x) of a chi-square with an integer ``df`` >= 1."""
    if math.isnan(x):
        return math.nan
    if x <= 0.0:
        return 1.0
    h = 0.5 * x
    if h < 700.0 and df <= _FINITE_DF:
        if df % 2 == 0:
            # Q(m, h) = exp(-h) * sum_{j<m} h^j / j!  (A&S 26.4.5); terms are Poisson pmfs <= 1.
            term = math.exp(-h)
            total = term
            for j in range(1, df // 2):
                term *= h * _INV_J[j - 1]
                total += term
            return total
        # Q(m + 1/2, h) = erfc(sqrt h) + sum_{j<m} h^(j+1/2) exp(-h) / Gamma(j + 3/2)  (26.4.4)
        sh = math.sqrt(h)
        total = math.erfc(sh)
        term = math.exp(-h) * sh * _TWO_OVER_SQRT_PI
        for j in range((df - 1) // 2):
            total += term
            term *= h * _INV_J_HALF[j]
        return total
    return gamma_q(0.5 * df, h)


@njit(cache=True, error_model="numpy")
def _beta_cf(a: float, b: float, x: float) -> float:
    # Continued fraction of the incomplete beta function (Numerical Recipes betacf), by Lentz.
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1.0 / d
    h = d
    for m in range(1, _CF_MAX_ITER):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _CF_EPS:
            break
    return h


@njit(cache=True, error_model="numpy")
def beta_inc(a: float, b: float, x: float, xc: float) -> float:
    """Regularized incomplete beta I_x(a, b); ``xc`` is 1 - x computed without cancellation."""
    if x <= 0.0:
        return 0.0
    if xc <= 0.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) \
        + b * math.log(xc)
    bt = math.exp(lbt)
    if x < (a + 1.0) / (a + b + 2.0):
        return bt * _beta_cf(a, b, x) / a
    return 1.0 - bt * _beta_cf(b, a, xc) / b


@njit(cache=True, error_model="numpy")
def t_p2(t: float, df: int) -> float:
    """Two-sided Student t p-value 2 * P(T_df > |t|) for an integer ``df`` >= 1."""
    if math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 0.0
    t2 = t * t
    den = df + t2
    return beta_inc(0.5 * df, 0.5, df / den, t2 / den)
