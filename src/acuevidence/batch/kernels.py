"""Numba kernels of the batch engine: one meta-analysis per row of a (B, k) array.

The kernels reproduce :func:`acuevidence.meta_analysis` (intercept-only ``rma.uni``) row by row:
the same estimators of tau^2 (see :mod:`acuevidence.tau2` for the formulas and references), the
same pooled estimate, tests, heterogeneity statistics and prediction interval. They differ only
in how the iterative estimators reach their answer, which is fast here and unique there:

* ML / REML: safeguarded Newton on the score with the exact (observed) Hessian, started at the
  DerSimonian-Laird estimate and kept inside a bracket [lo, hi] on which the score changes sign
  (a step leaving the bracket, or taken where the likelihood is not concave, becomes a
  bisection). The single engine then scans a grid for a higher maximum (the restricted
  likelihood can be bimodal). Scanning 122 points per row would cost more than the fit, so the
  kernel first tries to *prove* the maximum global, and scans only rows where the proof fails:
  the score is s(t) = (A(t) - B(t)) / 2 with A = y'P^2y and B = tr P (REML) or sum w (ML), both
  decreasing in t, so on [a, b] the score lies in [(A(b) - B(a))/2, (A(a) - B(b))/2]; the
  second derivative is C(t)/2 - D(t) with C = tr P^2 (REML) or sum w^2 (ML) and D = y'P^3y,
  again both decreasing. A concave interval around the root, a chain of intervals with a
  positive score to its left, a chain with a negative score to its right and an analytic bound
  for the tail (A <= SS/(v_min + t)^2, B >= k/(v_max + t) - 1/(v_min + t)) prove that no
  grid point can beat the root. Rows without a proof get the single engine's grid scan and
  bracketed search, vectorised over rows.
* PM, EB, SJIT (all roots of the generalised Q-statistic equation Q(t) = k - 1; EB and SJIT
  are fixed-point iterations with that fixed point) and PMM (Q(t) = median of chi^2_{k-1}):
  Newton on Q(t) - target, which is convex and decreasing, inside a bracket.
* DLIT: the fixed-point iteration of the single engine itself (its limit is what the single
  engine reports), with the same stopping rule and the same bracketing fallback.

Every row is independent; rows are processed in blocks by ``numba.prange`` with per-block
scratch arrays, so memory is the inputs plus the outputs.

References
----------
See :mod:`acuevidence.tau2` (one reference per estimator) and :mod:`acuevidence.meta`.
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the
    random-effects model. J Educ Behav Stat 30:261-293. (Fisher scoring / Newton for REML)
Moore RE (1966). Interval Analysis. Prentice-Hall. (bounds from monotone parts)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._likelihood import (  # noqa: F401  (re-exported for tests and tools)
    PROOF_MARGIN,
    TAU2_TOL,
    _certify,
    _left_chain,
    _likelihood,
    _neg_on,
    _newton_lik,
    _pos_on,
    _right_chain,
    _ss,
    _tail_ok,
)
from ._special import chi2_sf, norm_p2, t_p2
from ._sums import _abcd, _light, _loglik, _moments, _pquad  # noqa: F401

# --- codes shared with api.py --------------------------------------------------------------
M_COMMON, M_DL, M_DLIT, M_HE, M_HS, M_HSK, M_SJ, M_SJIT = 0, 1, 2, 3, 4, 5, 6, 7
M_ML, M_REML, M_EB, M_PM, M_PMM, M_GENQ = 8, 9, 10, 11, 12, 13
T_Z, T_T, T_KNHA, T_ADHOC = 0, 1, 2, 3
S_OK, S_TOO_FEW, S_NOT_CONVERGED, S_NAN, S_NONPOS_V, S_EMPTY, S_NONPOS_W = 0, 1, 2, 3, 4, 5, 6

# Row-level float outputs (rows of ``rowf``) and per-test outputs (second axis of ``testf``).
ROW_FIELDS = ("tau2", "tau2_se", "q", "q_p_value", "i2", "h2")
TEST_FIELDS = ("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "pi_lower",
               "pi_upper")

EPS = np.finfo(np.float64).eps
# Relative size below which an estimating equation's residual is rounding noise.
NOISE = 64 * EPS
# Newton steps before a bracketed solver switches to bisection (noise can stall Newton).
NEWTON_PATIENCE = 40


# ------------------------------------------------------------------------------------------
# Estimating equations: PM / EB / SJIT / PMM and DLIT
# ------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _q_root(ys, vs, n, c, target, q0, t_start, max_iter):
    """Root of Q(t) = target (Q convex and decreasing): returns (t, converged, iterations)."""
    if q0 <= target:
        return 0.0, True, 0
    lo = 0.0
    hi = math.inf
    t = max(t_start, 0.0)
    for it in range(1, max_iter + 1):
        s0, m, q, a, d3, trp, trp2, w2 = _moments(ys, vs, n, t, c)
        c += m  # centre the next sums on this weighted mean: no cancellation near the root
        f = q - target
        # Q is known to a few ulp of its size: below that the root is as good as it gets
        if abs(f) <= NOISE * (q + target):
            return t, True, it
        if f > 0.0:
            lo = t
        else:
            hi = t
        tn = t + f / a if a > 0.0 else math.nan
        if not (tn >= lo and tn <= hi) or (it > NEWTON_PATIENCE and hi < math.inf):
            tn = 0.5 * (lo + hi) if hi < math.inf else 2.0 * t + vs[0]
        if abs(tn - t) <= TAU2_TOL * max(1.0, t) or (hi < math.inf and hi - lo <= 4.0 * EPS * hi):
            return tn, True, it
        t = tn
    return t, False, max_iter


@njit(cache=True, error_model="numpy")
def _dlit_step(ys, vs, n, c, t):
    s0, m, q, w2 = _light(ys, vs, n, t, c)
    return max(0.0, (q - (n - 1)) / (s0 - w2 / s0))


@njit(cache=True, error_model="numpy")
def _dlit(ys, vs, n, c, max_iter):
    """Iterated DerSimonian-Laird as tau2._dlit: returns (tau2, se, converged, iterations)."""
    t = 0.0
    conv = False
    it = 0
    for it in range(1, max_iter + 1):
        tn = _dlit_step(ys, vs, n, c, t)
        if abs(tn - t) <= TAU2_TOL * max(1.0, t):
            t = tn
            conv = True
            break
        t = tn
    if not conv:
        # Root of g(s) = step(s) - s, bracketed from [0, hi] (the single engine uses brentq).
        if _dlit_step(ys, vs, n, c, 0.0) <= 0.0:
            t = 0.0
        else:
            hi = max(t, 1.0)
            for _ in range(200):
                if _dlit_step(ys, vs, n, c, hi) - hi < 0.0:
                    break
                hi *= 2.0
            lo = 0.0
            for _ in range(400):
                mid = 0.5 * (lo + hi)
                if _dlit_step(ys, vs, n, c, mid) - mid > 0.0:
                    lo = mid
                else:
                    hi = mid
                it += 1
                if hi - lo <= TAU2_TOL * 1e-2 * max(1.0, lo):
                    break
            t = 0.5 * (lo + hi)
        conv = True
    s0, m, q, w2 = _light(ys, vs, n, t, c)
    trp = s0 - w2 / s0
    s0b, mb, qb, ab, db, trpb, trp2, w2b = _moments(ys, vs, n, t, c)
    se = math.sqrt((2.0 * (n - 1) + 4.0 * t * trp + 2.0 * t * t * trp2) / (trp * trp))
    return t, se, conv, it


# ------------------------------------------------------------------------------------------
# One row
# ------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _gather(y, v, mask, a, has_w, b, ys, vs, ws):
    """Copy row b's masked-in entries to ys/vs/ws; returns their number."""
    n = 0
    for j in range(y.shape[1]):
        if mask[b, j]:
            ys[n] = y[b, j]
            vs[n] = v[b, j]
            if has_w:
                ws[n] = a[b, j]
            n += 1
    return n


@njit(cache=True, error_model="numpy")
def _row_length(y, v, b):
    """Valid length of row b without a mask: up to the last position where y or v is not NaN
    (trailing NaN in both is padding)."""
    stop = y.shape[1]
    while stop > 0 and math.isnan(y[b, stop - 1]) and math.isnan(v[b, stop - 1]):
        stop -= 1
    return stop


@njit(cache=True, error_model="numpy")
def _moments0(ys, vs, n, c):
    """At tau^2 = 0 (w = 1/v), checking the data on the way.

    Returns (sum w, mu - c, Cochran's Q, tr P, tr P^2, status): S_NAN for a missing or
    infinite value, S_NONPOS_V for a variance <= 0, else S_OK (the sums are then valid).
    """
    s0 = 0.0
    s1 = 0.0
    w1dd = 0.0
    w2 = 0.0
    w3 = 0.0
    bad_nan = False
    bad_v = False
    for i in range(n):
        yi = ys[i]
        vi = vs[i]
        if not (abs(yi) < math.inf and abs(vi) < math.inf):
            bad_nan = True
        elif not vi > 0.0:
            bad_v = True
        w = 1.0 / vi
        d = yi - c
        wd = w * d
        ww = w * w
        s0 += w
        s1 += wd
        w1dd += wd * d
        w2 += ww
        w3 += ww * w
    m = s1 / s0
    r = w2 / s0
    status = S_NAN if bad_nan else (S_NONPOS_V if bad_v else S_OK)
    return s0, m, max(w1dd - m * s1, 0.0), s0 - r, w2 - 2.0 * w3 / s0 + r * r, status


@njit(cache=True, error_model="numpy")
def _vrange(vs, n):
    vmin = math.inf
    vmax = 0.0
    for i in range(n):
        vmin = min(vmin, vs[i])
        vmax = max(vmax, vs[i])
    return vmin, vmax


@njit(cache=True, error_model="numpy")
def _tau2_row(ys, vs, ws, n, method, target, max_iter, c, s0, q0, trp0, trp20):
    """tau^2 of one row (n >= 2): returns (tau2, se, converged, iterations)."""
    if method == M_COMMON:
        return 0.0, math.nan, True, 0
    if method == M_DL:
        t = max(0.0, (q0 - (n - 1)) / trp0)
        se = math.sqrt((2.0 * (n - 1) + 4.0 * t * trp0 + 2.0 * t * t * trp20) / (trp0 * trp0))
        return t, se, True, 0
    if method == M_HE:
        ypy, trp, trpv, fvv, f1v, f11 = _pquad(ys, vs, ws, n, 2, 0.0, c)
        df = n - 1.0
        t = max(0.0, (ypy - trpv) / df)
        se = math.sqrt((2.0 * fvv + 4.0 * t * trpv + 2.0 * t * t * df) / (df * df))
        return t, se, True, 0
    if method == M_HS or method == M_HSK:
        factor = n / (n - 1.0) if method == M_HSK else 1.0
        t = max(0.0, (factor * q0 - n) / s0)
        se = factor * math.sqrt((2.0 * (n - 1) + 4.0 * t * trp0 + 2.0 * t * t * trp20)
                                / (s0 * s0))
        return t, se, True, 0
    if method == M_SJ:
        t0 = _ss(ys, n) / n
        if t0 <= 0.0:
            return 0.0, 0.0, True, 0
        ypy, trp, trpv, fvv, f1v, f11 = _pquad(ys, vs, ws, n, 0, t0, c)
        df = n - 1.0
        t = max(0.0, t0 * ypy / df)
        se = math.sqrt(t0 * t0 / (df * df) * (2.0 * fvv + 4.0 * t * f1v + 2.0 * t * t * f11))
        return t, se, True, 0
    if method == M_GENQ:
        ypy, trp, trpv, fvv, f1v, f11 = _pquad(ys, vs, ws, n, 1, 0.0, c)
        t = max(0.0, (ypy - trpv) / trp)
        se = math.sqrt((2.0 * fvv + 4.0 * t * f1v + 2.0 * t * t * f11) / (trp * trp))
        return t, se, True, 0
    t_dl = max(0.0, (q0 - (n - 1)) / trp0)
    if method == M_ML or method == M_REML:
        reml = method == M_REML
        vmin, vmax = _vrange(vs, n)
        s0_, m_, q_, a0, d0, trp_, trp2_, w20 = _moments(ys, vs, n, 0.0, c)  # + A, D at 0
        b0 = trp0 if reml else s0
        cc0 = trp20 if reml else w20
        return _likelihood(ys, vs, n, c, reml, t_dl, a0, b0, cc0, d0, q0, vmin, vmax,
                           max_iter)
    if method == M_DLIT:
        return _dlit(ys, vs, n, c, max_iter)
    # PM, EB, SJIT (target k - 1) and PMM (target: median of chi^2_{k-1})
    if method == M_SJIT and _ss(ys, n) <= 0.0:
        t = 0.0
        conv = True
        it = 0
    else:
        t, conv, it = _q_root(ys, vs, n, c, target, q0, t_dl, max_iter)
    s0t, mt, qt, w2t = _light(ys, vs, n, t, c)
    se = math.sqrt(2.0 * n * n / (n - 1.0) / (s0t * s0t))
    return t, se, conv, it


@njit(cache=True, error_model="numpy")
def _fit_row(b, y, v, mask, a, has_mask, has_w, method, tests, zcrit, tcrit, targets, max_iter,
             ys, vs, ws, rowf, k_out, it_out, status_out, conv_out, testf):
    if has_mask:
        n = _gather(y, v, mask, a, has_w, b, ys, vs, ws)
        yr, vr, wr = ys, vs, ws
    else:
        # padding is at the end: the valid entries are the row's first n, used in place
        n = _row_length(y, v, b)
        yr = y[b]
        vr = v[b]
        wr = a[b] if has_w else ws
    k_out[b] = n
    status = S_EMPTY
    if n > 0:
        c = yr[0]  # centre of the sums (any value inside the data avoids cancellation)
        s0, m0, q0, trp0, trp20, status = _moments0(yr, vr, n, c)
        if status == S_OK and has_w:
            for i in range(n):
                if not abs(wr[i]) < math.inf:
                    status = S_NAN
                elif not wr[i] > 0.0 and status == S_OK:
                    status = S_NONPOS_W
    if status != S_OK:
        for f in range(rowf.shape[0]):
            rowf[f, b] = math.nan
        for ti in range(testf.shape[0]):
            for f in range(testf.shape[1]):
                testf[ti, f, b] = math.nan
        it_out[b] = 0
        conv_out[b] = False
        status_out[b] = status
        return
    if n == 1:
        status = S_TOO_FEW
    ys, vs, ws = yr, vr, wr
    target = targets[n - 1] if method == M_PMM else n - 1.0
    if n == 1:
        tau2, tau2_se, conv, iters = 0.0, math.nan, True, 0
    else:
        tau2, tau2_se, conv, iters = _tau2_row(ys, vs, ws, n, method, target, max_iter, c,
                                               s0, q0, trp0, trp20)
    # --- heterogeneity (Cochran's Q with fixed-effect weights) ----------------------------
    if n > 1:
        q = q0
        q_p = chi2_sf(q, n - 1)
        vt = (n - 1) / trp0
        if method == M_COMMON:
            i2 = max(0.0, 100.0 * (q - (n - 1)) / q) if q > 0.0 else 0.0
            h2 = q / (n - 1)
        else:
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
    else:
        q = 0.0
        q_p = 1.0
        i2 = 0.0
        h2 = 1.0
    rowf[0, b] = tau2
    rowf[1, b] = tau2_se
    rowf[2, b] = q
    rowf[3, b] = q_p
    rowf[4, b] = i2
    rowf[5, b] = h2
    # --- pooled estimate ------------------------------------------------------------------
    if tau2 == 0.0:
        sw, mw, rss_std = s0, m0, q0  # the fixed-effect sums already at hand
        est_std = c + mw
    else:
        # centred on the fixed-effect mean, close to the random-effects one
        sw, mw, rss_std, w2 = _light(ys, vs, n, tau2, c + m0)
        est_std = (c + m0) + mw
    if has_w:
        sa = 0.0
        say = 0.0
        saav = 0.0
        for i in range(n):
            sa += ws[i]
            say += ws[i] * ys[i]
            saav += ws[i] * ws[i] * (vs[i] + tau2)
        est = say / sa
        var = saav / (sa * sa)
    else:
        est = est_std
        var = 1.0 / sw
    finite = True
    for ti in range(tests.shape[0]):
        test = tests[ti]
        var_t = var
        if test == T_KNHA or test == T_ADHOC:
            if rss_std <= EPS:
                s2w = 0.0
            elif n > 1:
                s2w = rss_std / (n - 1)
            else:
                s2w = math.nan
            if test == T_ADHOC and s2w < 1.0:
                s2w = 1.0
            var_t = var * s2w if math.isfinite(s2w) else math.nan
        se = math.sqrt(var_t) if math.isfinite(var_t) else math.nan
        if test == T_Z:
            stat = est / se if se > 0.0 else math.nan
            p = norm_p2(stat) if math.isfinite(stat) else math.nan
            crit = zcrit
        else:
            df = n - 1
            if df > 0 and se > 0.0:
                stat = est / se
                p = t_p2(stat, df)
                crit = tcrit[df]
            else:
                stat = est / se if se > 0.0 else math.nan
                p = math.nan
                crit = math.nan
        half = crit * math.sqrt(var_t + tau2) if math.isfinite(var_t) else math.nan
        testf[ti, 0, b] = est
        testf[ti, 1, b] = se
        testf[ti, 2, b] = stat
        testf[ti, 3, b] = p
        testf[ti, 4, b] = est - crit * se
        testf[ti, 5, b] = est + crit * se
        testf[ti, 6, b] = est - half
        testf[ti, 7, b] = est + half
        if not (math.isfinite(est) and math.isfinite(var)):
            finite = False
    if not (math.isfinite(tau2) and math.isfinite(q)):
        finite = False
    it_out[b] = iters
    conv_out[b] = conv and finite
    if not conv or not finite:
        status_out[b] = S_NOT_CONVERGED
    else:
        status_out[b] = status


@njit(parallel=True, cache=True, error_model="numpy")
def fit_rows(y, v, mask, a, has_mask, has_w, method, tests, zcrit, tcrit, targets, max_iter,
             block, rowf, k_out, it_out, status_out, conv_out, testf):
    """Fit every row of (y, v) (see :func:`acuevidence.batch.meta_analysis`) into the outputs.

    ``rowf`` (6, B): tau2, tau2_se, q, q_p_value, i2, h2; ``testf`` (n_tests, 8, B): estimate,
    se, statistic, p_value, ci_lower, ci_upper, pi_lower, pi_upper for each test code in
    ``tests``; ``tcrit[df]`` and ``targets[df]`` are the t critical values and PMM targets.
    """
    nrows = y.shape[0]
    kmax = y.shape[1]
    nblocks = (nrows + block - 1) // block
    for blk in prange(nblocks):
        ys = np.empty(kmax)
        vs = np.empty(kmax)
        ws = np.empty(kmax)
        start = blk * block
        stop = min(nrows, start + block)
        for b in range(start, stop):
            _fit_row(b, y, v, mask, a, has_mask, has_w, method, tests, zcrit, tcrit, targets,
                     max_iter, ys, vs, ws, rowf, k_out, it_out, status_out, conv_out, testf)
