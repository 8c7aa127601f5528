"""Sums over one row of the batch kernels (pure Numba functions of the gathered row).

Every quadratic form is taken around a centre ``c`` inside the data (the row's first value) so
that sums of squares do not cancel; P = W - ww'/sum w is the weighted residual projection of
an intercept-only model (see :mod:`acuevidence.tau2`).
"""

from __future__ import annotations

import math

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
def _moments(ys, vs, n, t, c):
    """Everything the likelihood needs at tau^2 = t (w = 1/(v + t), P = W - ww'/sum w).

    Returns (sum w, mu - c, Q = y'Py, A = y'P^2y, D = y'P^3y, tr P, tr P^2, sum w^2).
    Sums are taken around c (the row's plain mean) so that the quadratic forms do not cancel.
    """
    s0 = 0.0
    s1 = 0.0
    w1dd = 0.0
    w2 = 0.0
    w2d = 0.0
    w2dd = 0.0
    w3 = 0.0
    w3d = 0.0
    w3dd = 0.0
    for i in range(n):
        w = 1.0 / (vs[i] + t)
        d = ys[i] - c
        wd = w * d
        ww = w * w
        wwd = ww * d
        www = ww * w
        wwwd = www * d
        s0 += w
        s1 += wd
        w1dd += wd * d
        w2 += ww
        w2d += wwd
        w2dd += wwd * d
        w3 += www
        w3d += wwwd
        w3dd += wwwd * d
    m = s1 / s0
    q = max(w1dd - m * s1, 0.0)
    a = max(w2dd - 2.0 * m * w2d + m * m * w2, 0.0)
    e2 = w2d - m * w2
    d3 = max(w3dd - 2.0 * m * w3d + m * m * w3 - e2 * e2 / s0, 0.0)
    r = w2 / s0
    trp = s0 - r
    trp2 = w2 - 2.0 * w3 / s0 + r * r
    return s0, m, q, a, d3, trp, trp2, w2


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
def _abcd(ys, vs, n, t, c, reml):
    """Monotone parts of the score (A, B) and of the second derivative (C, D), and Q, at t."""
    s0, m, q, a, d3, trp, trp2, w2 = _moments(ys, vs, n, t, c)
    if reml:
        return a, trp, trp2, d3, q
    return a, s0, w2, d3, q
