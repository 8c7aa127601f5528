"""Sums over one row of the batch kernels (pure Numba functions of the gathered row).

Every quadratic form is taken around a centre ``c`` inside the data (the row's first value) so
that sums of squares do not cancel; P = W - ww'/sum w is the weighted residual projection of
an intercept-only model (see :mod:`acuevidence.tau2`).
"""

from __future__ import annotations

import math
import types

from numba import njit

LOG_2PI = math.log(2.0 * math.pi)


@njit(cache=True, error_model="numpy")
def _light(ys, vs, n, t, c):
    """sum w, weighted mean - c, Q(t) = sum w (y - mu)^2 and sum w^2 for w = 1/(v + t)."""
    s0 = 0.0
    s1 = 0.0
    sdd = 0.0
    w2 = 0.0
    for i in range(n):
        w = 1.0 / (vs[i] + t)
        d = ys[i] - c
        wd = w * d
        s0 += w
        s1 += wd
        sdd += wd * d
        w2 += w * w
    m = s1 / s0
    return s0, m, max(sdd - m * s1, 0.0), w2


@njit(cache=True, error_model="numpy")
def _derive5(s0, s1, w1dd, w2, w3):
    """(sum w, mu - c, Q, tr P, tr P^2) from sum w, sum w d, sum w d^2, sum w^2, sum w^3."""
    m = s1 / s0
    r = w2 / s0
    return s0, m, max(w1dd - m * s1, 0.0), s0 - r, w2 - 2.0 * w3 / s0 + r * r


@njit(cache=True, error_model="numpy")
def _derive9(s0, s1, w1dd, w2, w2d, w2dd, w3, w3d, w3dd):
    """(sum w, mu - c, Q, A, D, tr P, tr P^2, sum w^2) from the nine sums of :func:`_moments`
    (shared by the row and lane kernels, so both give the same bits)."""
    m = s1 / s0
    q = max(w1dd - m * s1, 0.0)
    a = max(w2dd - 2.0 * m * w2d + m * m * w2, 0.0)
    e2 = w2d - m * w2
    d3 = max(w3dd - 2.0 * m * w3d + m * m * w3 - e2 * e2 / s0, 0.0)
    r = w2 / s0
    trp = s0 - r
    trp2 = w2 - 2.0 * w3 / s0 + r * r
    return s0, m, q, a, d3, trp, trp2, w2


@njit(cache=True, error_model="numpy", inline="always")
def _add9(a0, a1, a2, a3, a4, a5, a6, a7, a8, w, d):
    """The nine running sums of :func:`_moments` with one more study (weight w, d = y - c).
    Inlined into its callers (Numba IR), so their flags and vectorisation apply to it."""
    wd = w * d
    ww = w * w
    wwd = ww * d
    www = ww * w
    wwwd = www * d
    return (a0 + w, a1 + wd, a2 + wd * d, a3 + ww, a4 + wwd, a5 + wwd * d, a6 + www,
            a7 + wwwd, a8 + wwwd * d)


@njit(cache=True, error_model="numpy", inline="always")
def _add5(a0, a1, a2, a3, a4, w, d):
    """The five running sums of :func:`_lane_sums5` (and ``_moments0``) with one more study."""
    wd = w * d
    ww = w * w
    return a0 + w, a1 + wd, a2 + wd * d, a3 + ww, a4 + ww * w


def _sums9_source(ys, vs, n, t, c):
    """The nine sums behind :func:`_moments` at tau^2 = t around c (w = 1/(v + t), d = y - c):
    sum w, w d, w d^2, w^2, w^2 d, w^2 d^2, w^3, w^3 d, w^3 d^2, added in row order."""
    s0 = s1 = w1dd = w2 = w2d = w2dd = w3 = w3d = w3dd = 0.0
    for i in range(n):
        s0, s1, w1dd, w2, w2d, w2dd, w3, w3d, w3dd = _add9(
            s0, s1, w1dd, w2, w2d, w2dd, w3, w3d, w3dd, 1.0 / (vs[i] + t), ys[i] - c)
    return s0, s1, w1dd, w2, w2d, w2dd, w3, w3d, w3dd


def _renamed(func, name):
    """A copy of the plain function ``func`` called ``name``. Numba names its on-disk cache
    after the function's qualified name and does not key it on flags such as ``fastmath``: two
    compilations of one source with different flags need two names."""
    twin = types.FunctionType(func.__code__, func.__globals__, name, func.__defaults__,
                              func.__closure__)
    twin.__qualname__ = name
    return twin


_sums9 = njit(cache=True, error_model="numpy")(_renamed(_sums9_source, "_sums9"))
# The same sums added in any order (partial sums in SIMD registers): about twice as fast for
# one row, and as accurate, but not the same bits; used only where no output depends on them.
_sums9_any_order = njit(cache=True, error_model="numpy", fastmath={"reassoc"})(
    _renamed(_sums9_source, "_sums9_any_order"))


@njit(cache=True, error_model="numpy")
def _moments(ys, vs, n, t, c):
    """Everything the likelihood needs at tau^2 = t (w = 1/(v + t), P = W - ww'/sum w).

    Returns (sum w, mu - c, Q = y'Py, A = y'P^2y, D = y'P^3y, tr P, tr P^2, sum w^2).
    Sums are taken around c (a value inside the data) so that the quadratic forms do not cancel.
    """
    return _derive9(*_sums9(ys, vs, n, t, c))


@njit(cache=True, error_model="numpy")
def _pquad(ys, vs, ws, n, mode, t, c):
    """Quadratic forms of P = W - ww'/sum w for the closed-form estimators.

    ``mode`` 0: w = 1/(v + t); 1: w = ws (GENQ's weights); 2: w = 1 (ordinary least squares).
    Returns (y'Py, tr P, tr PV, sum(PV * PV'), sum(PV * P), sum(P * P)), V = diag(v).
    """
    s = 0.0
    s1 = 0.0
    sdd = 0.0
    s2 = 0.0
    s3 = 0.0
    sv = 0.0
    s2v = 0.0
    s3v = 0.0
    s2vv = 0.0
    s3vv = 0.0
    for i in range(n):
        if mode == 0:
            w = 1.0 / (vs[i] + t)
        elif mode == 1:
            w = ws[i]
        else:
            w = 1.0
        d = ys[i] - c
        vi = vs[i]
        wd = w * d
        ww = w * w
        www = ww * w
        s += w
        s1 += wd
        sdd += wd * d
        s2 += ww
        s3 += www
        sv += w * vi
        s2v += ww * vi
        s3v += www * vi
        s2vv += ww * vi * vi
        s3vv += www * vi * vi
    m = s1 / s
    ypy = max(sdd - m * s1, 0.0)
    trp = s - s2 / s
    trpv = sv - s2v / s
    fvv = s2vv - 2.0 * s3vv / s + (s2v / s) ** 2
    f1v = s2v - 2.0 * s3v / s + s2 * s2v / (s * s)
    f11 = s2 - 2.0 * s3 / s + (s2 / s) ** 2
    return ypy, trp, trpv, fvv, f1v, f11


@njit(cache=True, error_model="numpy")
def _loglik(ys, vs, n, t, c, reml):
    """(Restricted) log-likelihood at t, as tau2.loglik for an intercept-only model."""
    s0, m, q, w2 = _light(ys, vs, n, t, c)
    # sum log(v + t) as the log of a product, renormalised before it can overflow: one
    # logarithm per ~20 studies instead of one per study (this runs 122 times per grid scan)
    sl = 0.0
    prod = 1.0
    for i in range(n):
        prod *= vs[i] + t
        if prod > 1e150 or prod < 1e-150:
            sl += math.log(prod)
            prod = 1.0
    sl += math.log(prod)
    if reml:
        return -0.5 * (n - 1) * LOG_2PI - 0.5 * sl - 0.5 * math.log(s0) - 0.5 * q
    return -0.5 * n * LOG_2PI - 0.5 * sl - 0.5 * q


@njit(cache=True, error_model="numpy")
def _abcd_proof(ys, vs, n, t, c, reml):
    """:func:`_abcd` for the inequalities of the proof of a global maximum only: every one of
    them has a relative margin (PROOF_MARGIN = 1e-9) far above the rounding of the sums, so
    their order does not matter, and no output depends on these bits."""
    s0, _m, q, a, d3, trp, trp2, w2 = _derive9(*_sums9_any_order(ys, vs, n, t, c))
    if reml:
        return a, trp, trp2, d3, q
    return a, s0, w2, d3, q


@njit(cache=True, error_model="numpy")
def _abcd(ys, vs, n, t, c, reml):
    """Monotone parts of the score (A, B) and of the second derivative (C, D), and Q, at t."""
    s0, m, q, a, d3, trp, trp2, w2 = _moments(ys, vs, n, t, c)
    if reml:
        return a, trp, trp2, d3, q
    return a, s0, w2, d3, q


# ------------------------------------------------------------------------------------------
# Lane kernels: the same sums for LANES rows side by side
# ------------------------------------------------------------------------------------------
# Rows fitted side by side. The data of a group of rows is stored study-major, yT[j, l] = study
# j of lane (row) l, so each sum over studies becomes LANES independent running sums that the
# compiler keeps in SIMD registers: every lane adds its studies in the row order of the kernels
# above, so lane and row kernels give the same bits, at a fraction of the cost (the divisions
# w = 1/(v + t) dominate and vectorise). Lanes shorter than the group are padded with
# y = the lane's centre and v = inf, which adds exact zeros to every sum. 32 = 4 AVX-512 or
# 8 AVX2 vectors: the loop has no remainder.
LANES = 32


@njit(cache=True, error_model="numpy")
def _lane_sums5(yT, vT, nmax, t, c, S):
    """S[:5, l] = sum w, sum w d, sum w d^2, sum w^2, sum w^3 over lane l's studies, with
    w = 1/(v + t[l]) and d = y - c[l] (the sums of :func:`_light` and ``_moments0``)."""
    for l in range(LANES):
        for f in range(5):
            S[f, l] = 0.0
    j = 0
    # two studies per sweep: half the loads and stores of the running sums
    while j + 1 < nmax:
        for l in range(LANES):
            tl = t[l]
            cl = c[l]
            a = _add5(S[0, l], S[1, l], S[2, l], S[3, l], S[4, l],
                      1.0 / (vT[j, l] + tl), yT[j, l] - cl)
            a = _add5(a[0], a[1], a[2], a[3], a[4], 1.0 / (vT[j + 1, l] + tl), yT[j + 1, l] - cl)
            S[0, l], S[1, l], S[2, l], S[3, l], S[4, l] = a
        j += 2
    if j < nmax:
        for l in range(LANES):
            a = _add5(S[0, l], S[1, l], S[2, l], S[3, l], S[4, l],
                      1.0 / (vT[j, l] + t[l]), yT[j, l] - c[l])
            S[0, l], S[1, l], S[2, l], S[3, l], S[4, l] = a


@njit(cache=True, error_model="numpy")
def _lane_sums9(yT, vT, nmax, t, c, S):
    """S[:9, l] = the nine sums of :func:`_moments` for lane l at t[l] around c[l]."""
    for l in range(LANES):
        for f in range(9):
            S[f, l] = 0.0
    j = 0
    while j + 1 < nmax:
        for l in range(LANES):
            tl = t[l]
            cl = c[l]
            a = _add9(S[0, l], S[1, l], S[2, l], S[3, l], S[4, l], S[5, l], S[6, l], S[7, l],
                      S[8, l], 1.0 / (vT[j, l] + tl), yT[j, l] - cl)
            a = _add9(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8],
                      1.0 / (vT[j + 1, l] + tl), yT[j + 1, l] - cl)
            S[0, l], S[1, l], S[2, l], S[3, l], S[4, l], S[5, l], S[6, l], S[7, l], S[8, l] = a
        j += 2
    if j < nmax:
        for l in range(LANES):
            a = _add9(S[0, l], S[1, l], S[2, l], S[3, l], S[4, l], S[5, l], S[6, l], S[7, l],
                      S[8, l], 1.0 / (vT[j, l] + t[l]), yT[j, l] - c[l])
            S[0, l], S[1, l], S[2, l], S[3, l], S[4, l], S[5, l], S[6, l], S[7, l], S[8, l] = a


@njit(cache=True, error_model="numpy")
def _lane_plain(yT, nmax, c, S):
    """S[0, l], S[1, l] = sum d, sum d^2 over lane l's studies, d = y - c[l] (unweighted)."""
    for l in range(LANES):
        S[0, l] = 0.0
        S[1, l] = 0.0
    for j in range(nmax):
        for l in range(LANES):
            d = yT[j, l] - c[l]
            S[0, l] += d
            S[1, l] += d * d


@njit(cache=True, error_model="numpy")
def _lane_derive(S):
    """S[:8, l] = :func:`_moments`'s result from the nine sums of :func:`_lane_sums9`, in place
    (one array read and written: the loop vectorises)."""
    for l in range(LANES):
        s0, m, q, a, d3, trp, trp2, w2 = _derive9(S[0, l], S[1, l], S[2, l], S[3, l], S[4, l],
                                                  S[5, l], S[6, l], S[7, l], S[8, l])
        S[0, l] = s0
        S[1, l] = m
        S[2, l] = q
        S[3, l] = a
        S[4, l] = d3
        S[5, l] = trp
        S[6, l] = trp2
        S[7, l] = w2
