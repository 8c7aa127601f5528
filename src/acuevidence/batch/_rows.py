"""Row kernels of the batch engine: one meta-analysis at a time, for every method and input.

The general path of :func:`acuevidence.batch.kernels.fit_rows` (custom weights, masks, the
estimators without a lane kernel) and the fallback of the lane kernels (:mod:`._lanes`) for rows
they do not finish. See :mod:`acuevidence.batch.kernels` for the methods.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._likelihood import TAU2_TOL, _likelihood, _ss
from ._special import lane_chi2_sf, lane_norm_p2, norm_p2, t_p2
from ._sums import LANES, _add5, _derive5, _light, _moments, _pquad

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
def _q_step(t, lo, hi, it, q, a, target, v0):
    """One safeguarded Newton iteration of :func:`_q_from` from Q(t) and A(t) = -Q'(t).

    Returns (done, t_next, lo, hi): when done, t_next is the root.
    """
    f = q - target
    # Q is known to a few ulp of its size: below that the root is as good as it gets
    if abs(f) <= NOISE * (q + target):
        return True, t, lo, hi
    if f > 0.0:
        lo = t
    else:
        hi = t
    tn = t + f / a if a > 0.0 else math.nan
    if not (tn >= lo and tn <= hi) or (it > NEWTON_PATIENCE and hi < math.inf):
        tn = 0.5 * (lo + hi) if hi < math.inf else 2.0 * t + v0
    if abs(tn - t) <= TAU2_TOL * max(1.0, t) or (hi < math.inf and hi - lo <= 4.0 * EPS * hi):
        return True, tn, lo, hi
    return False, tn, lo, hi


@njit(cache=True, error_model="numpy")
def _q_from(ys, vs, n, c, target, t, lo, hi, it0, max_iter):
    """Newton on Q(t) = target after ``it0`` iterations, from t with centre c: returns
    (t, converged, iterations)."""
    for it in range(it0 + 1, max_iter + 1):
        s0, m, q, a, d3, trp, trp2, w2 = _moments(ys, vs, n, t, c)
        c += m  # centre the next sums on this weighted mean: no cancellation near the root
        done, tn, lo, hi = _q_step(t, lo, hi, it, q, a, target, vs[0])
        if done:
            return tn, True, it
        t = tn
    return t, False, max_iter


@njit(cache=True, error_model="numpy")
def _q_root(ys, vs, n, c, target, q0, t_start, max_iter):
    """Root of Q(t) = target (Q convex and decreasing): returns (t, converged, iterations)."""
    if q0 <= target:
        return 0.0, True, 0
    return _q_from(ys, vs, n, c, target, max(t_start, 0.0), 0.0, math.inf, 0, max_iter)


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
        s0, s1, w1dd, w2, w3 = _add5(s0, s1, w1dd, w2, w3, 1.0 / vi, yi - c)
    status = S_NAN if bad_nan else (S_NONPOS_V if bad_v else S_OK)
    s0, m, q, trp, trp2 = _derive5(s0, s1, w1dd, w2, w3)
    return s0, m, q, trp, trp2, status


@njit(cache=True, error_model="numpy")
def _vrange(vs, n):
    vmin = math.inf
    vmax = 0.0
    for i in range(n):
        vmin = min(vmin, vs[i])
        vmax = max(vmax, vs[i])
    return vmin, vmax


@njit(cache=True, error_model="numpy")
def _tau2_closed(method, n, s0, q0, trp0, trp20):
    """(tau2, se) of the estimators that need only the sums at tau^2 = 0: common effect, DL,
    HS and HSk."""
    if method == M_COMMON:
        return 0.0, math.nan
    if method == M_DL:
        t = max(0.0, (q0 - (n - 1)) / trp0)
        se = math.sqrt((2.0 * (n - 1) + 4.0 * t * trp0 + 2.0 * t * t * trp20) / (trp0 * trp0))
        return t, se
    factor = n / (n - 1.0) if method == M_HSK else 1.0
    t = max(0.0, (factor * q0 - n) / s0)
    se = factor * math.sqrt((2.0 * (n - 1) + 4.0 * t * trp0 + 2.0 * t * t * trp20) / (s0 * s0))
    return t, se


@njit(cache=True, error_model="numpy")
def _tau2_row(ys, vs, ws, n, method, target, max_iter, c, s0, q0, trp0, trp20):
    """tau^2 of one row (n >= 2): returns (tau2, se, converged, iterations)."""
    if method == M_COMMON or method == M_DL or method == M_HS or method == M_HSK:
        t, se = _tau2_closed(method, n, s0, q0, trp0, trp20)
        return t, se, True, 0
    if method == M_HE:
        ypy, trp, trpv, fvv, f1v, f11 = _pquad(ys, vs, ws, n, 2, 0.0, c)
        df = n - 1.0
        t = max(0.0, (ypy - trpv) / df)
        se = math.sqrt((2.0 * fvv + 4.0 * t * trpv + 2.0 * t * t * df) / (df * df))
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
def _nan_row(b, status, rowf, it_out, status_out, conv_out, testf):
    """Outputs of a row without a fit: NaN, not converged, its status."""
    for f in range(rowf.shape[0]):
        rowf[f, b] = math.nan
    for ti in range(testf.shape[0]):
        for f in range(testf.shape[1]):
            testf[ti, f, b] = math.nan
    it_out[b] = 0
    conv_out[b] = False
    status_out[b] = status


@njit(cache=True, error_model="numpy", inline="always")
def _heterogeneity(method, n, q0, trp0, tau2):
    """(q, i2, h2) of a fitted row: Cochran's Q (fixed-effect weights), I^2 and H^2 (from the
    typical within-study variance (k - 1)/tr P, or from Q for the common effect). Q's p-value is
    chi2_sf(q, n - 1) for n > 1, else 1."""
    if n > 1:
        q = q0
        vt = (n - 1) / trp0
        if method == M_COMMON:
            i2 = max(0.0, 100.0 * (q - (n - 1)) / q) if q > 0.0 else 0.0
            h2 = q / (n - 1)
        else:
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
        return q, i2, h2
    return 0.0, 0.0, 1.0


@njit(cache=True, error_model="numpy", inline="always")
def _test_stat(test, n, est, var, rss_std, tau2, zcrit, tcrit):
    """(se, statistic, crit, half) of one test: ``crit`` the critical value, ``half`` the
    half-width of the prediction interval; :func:`_test_p` gives the p-value."""
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
        crit = zcrit
    else:
        df = n - 1
        stat = est / se if se > 0.0 else math.nan
        crit = tcrit[df] if df > 0 and se > 0.0 else math.nan
    half = crit * math.sqrt(var_t + tau2) if math.isfinite(var_t) else math.nan
    return se, stat, crit, half


@njit(cache=True, error_model="numpy", inline="always")
def _test_p(test, n, stat, se):
    """Two-sided p-value of a test statistic (normal for z, Student t with n - 1 df else)."""
    if test == T_Z:
        return norm_p2(stat) if math.isfinite(stat) else math.nan
    df = n - 1
    if df > 0 and se > 0.0:
        return t_p2(stat, df)
    return math.nan


@njit(cache=True, error_model="numpy", inline="always")
def _finish_row(b, n, status, method, tests, zcrit, tcrit, tau2, tau2_se, conv, iters, q0, trp0,
                est, var, rss_std, rowf, it_out, status_out, conv_out, testf):
    """Heterogeneity statistics, tests, intervals and status of row b from its fit (inlined:
    a call with this many arrays costs as much as the work).

    ``q0`` and ``trp0``: Cochran's Q and tr P at tau^2 = 0; ``est`` and ``var``: the pooled
    estimate and its variance; ``rss_std``: the weighted residual sum of squares at tau2 (the
    Knapp-Hartung factor). Q's p-value and those of the z tests are left to
    :func:`_pvalues_rows`, which computes them for a group of rows at once (vectorised).
    """
    q, i2, h2 = _heterogeneity(method, n, q0, trp0, tau2)
    q_p = math.nan
    rowf[0, b] = tau2
    rowf[1, b] = tau2_se
    rowf[2, b] = q
    rowf[3, b] = q_p
    rowf[4, b] = i2
    rowf[5, b] = h2
    for ti in range(tests.shape[0]):
        se, stat, crit, half = _test_stat(tests[ti], n, est, var, rss_std, tau2, zcrit, tcrit)
        testf[ti, 0, b] = est
        testf[ti, 1, b] = se
        testf[ti, 2, b] = stat
        testf[ti, 3, b] = math.nan if tests[ti] == T_Z else _test_p(tests[ti], n, stat, se)
        testf[ti, 4, b] = est - crit * se
        testf[ti, 5, b] = est + crit * se
        testf[ti, 6, b] = est - half
        testf[ti, 7, b] = est + half
    # a fit is usable when its estimate, variance, tau2 and Q are finite
    finite = math.isfinite(est) and math.isfinite(var) and math.isfinite(tau2) \
        and math.isfinite(q)
    it_out[b] = iters
    conv_out[b] = conv and finite
    status_out[b] = status if conv and finite else S_NOT_CONVERGED


@njit(cache=True, error_model="numpy")
def _fit_row(b, y, v, mask, a, has_mask, has_w, method, tests, zcrit, tcrit, targets, max_iter,
             ys, vs, ws, rowf, k_out, it_out, status_out, conv_out, testf):
    """Fit row b on its own (every method, weights, masks; the lane kernels' fallback), all
    but the p-values of :func:`_pvalues_rows`."""
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
        _nan_row(b, status, rowf, it_out, status_out, conv_out, testf)
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
    _finish_row(b, n, status, method, tests, zcrit, tcrit, tau2, tau2_se, conv, iters, q0, trp0,
                est, var, rss_std, rowf, it_out, status_out, conv_out, testf)


# Rows of the work array of _pvalues_rows.
_P_Q, _P_DF, _P_QP, _P_WORK, _P_Z, _P_ZP = 0, 1, 2, 3, 7, 8


@njit(cache=True, error_model="numpy")
def _pvalues_rows(b0, nl, tests, rowf, k_out, status_out, testf, W):
    """The p-values :func:`_fit_row` leaves out, for rows b0 .. b0 + nl - 1 (nl <= LANES): Q's
    and those of the z tests, with the lane functions (vectorised; the same bits as chi2_sf and
    norm_p2). Rows without a fit (NaN outputs) are left alone. W: scratch of shape
    (9, LANES)."""
    for l in range(LANES):
        b = b0 + l
        use = l < nl and status_out[b] <= S_NOT_CONVERGED
        W[_P_Q, l] = rowf[2, b] if use else 0.0
        W[_P_DF, l] = max(k_out[b] - 1, 1) if use else 1.0
    lane_chi2_sf(W, _P_Q, _P_DF, _P_QP, _P_WORK)
    for l in range(nl):
        b = b0 + l
        if status_out[b] <= S_NOT_CONVERGED:
            rowf[3, b] = W[_P_QP, l] if k_out[b] > 1 else 1.0
    for ti in range(tests.shape[0]):
        if tests[ti] != T_Z:
            continue
        for l in range(LANES):
            b = b0 + l
            use = l < nl and status_out[b] <= S_NOT_CONVERGED
            W[_P_Z, l] = testf[ti, 2, b] if use else 0.0
        lane_norm_p2(W, _P_Z, _P_ZP)
        for l in range(nl):
            b = b0 + l
            if status_out[b] <= S_NOT_CONVERGED:
                testf[ti, 3, b] = W[_P_ZP, l] if math.isfinite(W[_P_Z, l]) else math.nan
