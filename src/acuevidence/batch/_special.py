"""Tail probabilities the batch kernels need, compiled with Numba.

SciPy's special functions are single-threaded ufuncs and cannot be called from a Numba kernel,
so the kernel evaluates the three tail probabilities of a meta-analysis itself:

* two-sided normal p-value ``2 * (1 - Phi(|z|)) = erfc(|z| / sqrt(2)) = exp(-z^2/2) *
  erfcx(|z| / sqrt(2))``, with z^2 split exactly (Dekker) so that the exponential is as
  accurate as ``exp`` itself;
* chi-square upper tail for an integer number of degrees of freedom (Cochran's Q), by the
  finite Poisson-type sums that exist for integer and half-integer shapes (every term is
  positive, so there is no cancellation): ``exp(-h) * sum_{j<m} h^j/j!`` for even df and
  ``exp(-h) * (erfcx(sqrt h) + sum ...)`` for odd df (one exponential per call), falling back
  to the series / continued fraction of the regularized incomplete gamma function where
  ``exp(-x/2)`` would underflow;
* Student t two-sided p-value for an integer df, ``I_{df/(df+t^2)}(df/2, 1/2)``, by the
  continued fraction of the regularized incomplete beta function (modified Lentz).

``erfcx(x) = exp(x^2) erfc(x)`` is a Chebyshev series in ``t = (x - 4)/(x + 4)`` of
``(1 + 2x) erfcx(x)`` (smooth on [0, inf], between 1 and 2/sqrt(pi)), as Shepherd and
Laframboise (1981); its 26 coefficients were computed with mpmath at 40 digits (Gauss-Chebyshev
quadrature on 240 nodes) and truncated where they fall below 1e-18: the relative error is
below 6e-16 on [0, inf) (tested against SciPy). No branch and no libm call: it vectorises.

Each agrees with SciPy to a relative 1e-13 or better over the range a meta-analysis produces
(tested in ``tests/test_batch.py``). Quantiles (critical values, PMM's chi-square median) depend
on the degrees of freedom only, so they are tabulated with SciPy outside the kernel.

References
----------
Abramowitz M, Stegun IA (1964). Handbook of Mathematical Functions, 6.5.13, 26.4.4-26.4.5.
Press WH, Teukolsky SA, Vetterling WT, Flannery BP (2007). Numerical Recipes, 3rd ed., 6.2-6.4.
Shepherd MM, Laframboise JG (1981). Chebyshev approximation of (1 + 2x) exp(x^2) erfc x in
    0 <= x < infinity. Math Comp 36:249-253.
Dekker TJ (1971). A floating-point technique for extending the available precision. Numer
    Math 18:224-242.
Lentz WJ (1976). Generating Bessel functions in Mie scattering calculations using continued
    fractions. Appl Opt 15:668-671.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._sums import LANES

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
# Chebyshev coefficients of (1 + 2x) erfcx(x) in t = (x - K)/(x + K) (module docstring).
_ERFCX_K = 4.0
_ERFCX_C = np.array([
    2.3549664010748974, -0.007260796620301901, -0.081265123236185, 0.06009212804122225,
    -0.02875393558027666, 0.01059566336347286, -0.003136927294554264, 0.0007456494372536184,
    -0.0001369696503010054, 1.7183861600300937e-05, -7.158364623450346e-07,
    -2.4261399442449534e-07, 5.5765709395703566e-08, -2.1057869513809494e-09,
    -1.1717889351884957e-09, 1.9098355172456688e-10, 1.408871764208813e-11,
    -6.901108320480815e-12, 9.167958364111294e-14, 2.1454508286554553e-13,
    -1.4716575027010623e-14, -6.668675118770408e-15, 7.504598509880082e-16,
    2.22009300666632e-16, -3.17048989563309e-17, -8.19357030988434e-18,
])
# Beyond this |z| the two-sided normal p-value underflows to 0 (erfc(40/sqrt 2) < 1e-340).
_Z_UNDERFLOW = 40.0
# Veltkamp's splitter 2^27 + 1: z = hi + lo with hi * hi exact.
_SPLIT = 134217729.0


@njit(cache=True, error_model="numpy")
def erfcx(x: float) -> float:
    """Scaled complementary error function exp(x^2) erfc(x) for x >= 0."""
    t = (x - _ERFCX_K) / (x + _ERFCX_K)
    # Clenshaw's recurrence for sum' c_j T_j(t)
    b1 = 0.0
    b2 = 0.0
    for j in range(_ERFCX_C.shape[0] - 1, 0, -1):
        b0 = 2.0 * t * b1 - b2 + _ERFCX_C[j]
        b2 = b1
        b1 = b0
    return (t * b1 - b2 + 0.5 * _ERFCX_C[0]) / (1.0 + 2.0 * x)


@njit(cache=True, error_model="numpy")
def _exp_half_square(z: float) -> float:
    """exp(-z^2 / 2) with z^2 = p + e split exactly (Dekker), as accurate as exp itself."""
    p = z * z
    c = _SPLIT * z
    hi = c - (c - z)
    lo = z - hi
    e = ((hi * hi - p) + 2.0 * hi * lo) + lo * lo
    return math.exp(-0.5 * p) * (1.0 - 0.5 * e)


@njit(cache=True, error_model="numpy")
def norm_p2(z: float) -> float:
    """Two-sided normal p-value of a statistic ``z`` (NaN stays NaN)."""
    a = abs(z)
    if not a < _Z_UNDERFLOW:
        return math.nan if math.isnan(z) else 0.0
    return _exp_half_square(a) * erfcx(a * _SQRT1_2)


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
def _chi2_finite(x, df):
    """True where :func:`chi2_sf` uses its finite sums (else the incomplete gamma function)."""
    return 0.0 < x < 1400.0 and df <= _FINITE_DF


@njit(cache=True, error_model="numpy")
def _chi2_start(h, df, erx):
    """(total, term, count) of the finite sum for the upper tail at h = x/2 with df degrees of
    freedom: Q = exp(-h) * (total + the next ``count`` terms, each the last one times
    h * _INV_J[j] (even df) or h * _INV_J_HALF[j] (odd df)); ``erx`` = erfcx(sqrt h) (odd df).
    """
    if df % 2 == 0:
        # Q(m, h) = exp(-h) * sum_{j<m} h^j / j!  (A&S 26.4.5)
        return 1.0, 1.0, df // 2 - 1
    # Q(m + 1/2, h) = erfc(sqrt h) + exp(-h) sum_{j<m} h^(j+1/2) / Gamma(j + 3/2)  (26.4.4)
    #              = exp(-h) * (erfcx(sqrt h) + 2 sqrt(h / pi) sum_{j<m} h^j / (3/2)_j)
    if df == 1:
        return erx, 0.0, 0
    term = math.sqrt(h) * _TWO_OVER_SQRT_PI
    return erx + term, term, (df - 1) // 2 - 1


@njit(cache=True, error_model="numpy")
def chi2_sf(x: float, df: int) -> float:
    """Upper tail P(X > x) of a chi-square with an integer ``df`` >= 1."""
    if math.isnan(x):
        return math.nan
    if x <= 0.0:
        return 1.0
    h = 0.5 * x
    if _chi2_finite(x, df):
        erx = erfcx(math.sqrt(h)) if df % 2 == 1 else 0.0
        total, term, count = _chi2_start(h, df, erx)
        inv = _INV_J if df % 2 == 0 else _INV_J_HALF
        for j in range(count):
            term *= h * inv[j]
            total += term
        return math.exp(-h) * total
    return gamma_q(0.5 * df, h)


@njit(cache=True, error_model="numpy")
def lane_chi2_sf(W, rx, rdf, rout, rwork):
    """W[rout, l] = chi2_sf(W[rx, l], W[rdf, l]) for LANES lanes at once: the operations of
    chi2_sf and _chi2_start, written as selects so that the loops vectorise across lanes (the
    same bits). W[rwork : rwork + 4] is scratch; every row lives in the one array W so that the
    loops are free of aliasing."""
    total = rwork
    term = rwork + 1
    count = rwork + 2
    mult = rwork + 3
    for l in range(LANES):
        W[rout, l] = erfcx(math.sqrt(max(0.5 * W[rx, l], 0.0)))  # erfcx(sqrt h), for odd df
    for l in range(LANES):
        x = W[rx, l]
        d = W[rdf, l]
        h = 0.5 * x
        even = d - 2.0 * math.floor(0.5 * d) == 0.0
        finite = (x > 0.0) & (x < 1400.0) & (d <= _FINITE_DF)
        # odd df: erfcx(sqrt h) + the first term 2 sqrt(h / pi) (df > 1); even df: 1
        erx = W[rout, l]
        t0 = math.sqrt(max(h, 0.0)) * _TWO_OVER_SQRT_PI
        W[total, l] = 1.0 if even else (erx if d == 1.0 else erx + t0)
        W[term, l] = 1.0 if even else t0
        c = (0.5 * d - 1.0) if even else (0.5 * (d - 1.0) - 1.0)
        W[count, l] = max(c, 0.0) if finite else 0.0
        W[mult, l] = h if even else -h  # the sign says which table the terms use
    mcount = 0
    for l in range(LANES):
        mcount = max(mcount, int(W[count, l]))
    for j in range(mcount):
        ie = _INV_J[j]
        io = _INV_J_HALF[j]
        for l in range(LANES):
            m = W[mult, l]
            tm = W[term, l] * (m * ie if m >= 0.0 else -m * io)
            on = j < W[count, l]
            W[term, l] = tm if on else W[term, l]
            W[total, l] = W[total, l] + tm if on else W[total, l]
    for l in range(LANES):
        W[rout, l] = math.exp(-(0.5 * W[rx, l])) * W[total, l]
    for l in range(LANES):
        x = W[rx, l]
        d = int(W[rdf, l])
        if not _chi2_finite(x, d):
            W[rout, l] = chi2_sf(x, d)


@njit(cache=True, error_model="numpy")
def lane_norm_p2(W, rz, rout):
    """W[rout, l] = norm_p2(W[rz, l]) for LANES lanes at once (same bits, vectorised)."""
    for l in range(LANES):
        a = abs(W[rz, l])
        W[rout, l] = erfcx(a * _SQRT1_2) if a < _Z_UNDERFLOW else 0.0
    for l in range(LANES):
        a = abs(W[rz, l])
        if a < _Z_UNDERFLOW:
            W[rout, l] *= _exp_half_square(a)
        elif math.isnan(a):
            W[rout, l] = math.nan


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
