"""Lane kernels: LANES rows fitted side by side, for the common case of the batch engine.

A group of LANES rows is copied study-major (``yT[j, l]`` = study j of row l) so that every sum
over studies runs over LANES rows at once in SIMD registers (:func:`._sums._lane_sums9`); the
per-row logic (closed forms, Newton steps, proofs, tests) is the row kernels' own code
(:mod:`._rows`, :mod:`._likelihood`, :mod:`._special`), run lane by lane, so a lane gives the
same bits as the row kernel for its row:

* common effect, DL, HS, HSk: two passes (the sums at tau^2 = 0, then at tau^2);
* ML, REML: the sums at 0, rounds of Newton steps for all the group's rows (a row that has
  converged waits for the others), the proof of the global maximum on a ladder of points
  (:func:`._likelihood._ladder_proof`), a last pass for the pooled estimate and the SE;
* PM, EB, SJIT (Q(t) = k - 1) and PMM (Q(t) = median of chi^2_{k-1}): rounds of Newton steps
  on Q(t) - target as :func:`._rows._q_root`.

Rows the lanes do not finish take the row kernels: bad rows (status codes), k = 1, Newton past
LANE_ROUNDS rounds (continued where it stopped), no proof on the ladder (the adaptive proof,
then the single engine's grid check). Custom weights and the other estimators always take the
row kernels.

Everything a group holds per lane lives in one array ``W`` (rows named R_*, lanes along the
second axis; counts and flags as floats): a loop over lanes that writes to a single array is
one the compiler can prove free of aliasing, so it runs on SIMD vectors too.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._likelihood import (
    LADDER,
    _global_check,
    _ladder_points,
    _ladder_proof,
    _ladder_tail,
    _newton_from,
    _newton_step,
    _ss,
)
from ._rows import (
    M_COMMON,
    M_DL,
    M_EB,
    M_HS,
    M_HSK,
    M_ML,
    M_PM,
    M_PMM,
    M_REML,
    M_SJIT,
    S_NOT_CONVERGED,
    S_OK,
    T_Z,
    _fit_row,
    _heterogeneity,
    _pvalues_rows,
    _q_from,
    _q_step,
    _row_length,
    _tau2_closed,
    _test_p,
    _test_stat,
)
from ._special import lane_chi2_sf, lane_norm_p2
from ._stores import store_fence, stream_copy
from ._sums import (
    LANES,
    _derive5,
    _lane_derive,
    _lane_plain,
    _lane_sums5,
    _lane_sums9,
)

# Newton rounds a group runs in lock-step; rows still iterating then go on one by one (the
# rows of a group wait for the slowest, so a long tail would cost the whole group).
LANE_ROUNDS = 6

# Rows of the work array W: the sums (R_S .. R_S + 8, derived in place by _lane_derive), then
# the per-lane state.
R_S = 0
R_C = 9  # centre of the sums: the row's first effect
R_VMIN = 10
R_VMAX = 11
R_ZERO = 12  # zeros: tau^2 = 0 for every lane
R_T = 13  # tau^2 (the Newton iterate, then the estimate)
R_CN = 14  # Newton's running centre
R_LO = 15
R_HI = 16
R_CP = 17  # centre of the pooled sums: c + the fixed-effect mean
R_S0 = 18
R_M0 = 19
R_Q0 = 20
R_TRP0 = 21
R_TRP20 = 22
R_A0 = 23
R_D0 = 24
R_W20 = 25
R_SE = 26
R_TAIL = 27  # Q / B at the last Newton iterate (where the ladder ends)
R_TARGET = 28
R_EST = 29
R_VAR = 30
R_RSS = 31
R_ARG = 32  # arguments of the tail probabilities
R_PV = 33  # tail probabilities
R_N = 34  # number of studies
R_LANE = 35  # 1: the row is fitted in the lane; 0: by the row kernel (or an idle lane)
R_ACTIVE = 36  # 1 while Newton iterates
R_IT = 37
R_CONV = 38
R_DF = 39
R_WORK = 40  # 4 rows of scratch for lane_chi2_sf
NW = 44


@njit(cache=True, error_model="numpy")
def lane_method(method):
    """True for the estimators with a lane kernel."""
    return (method == M_COMMON or method == M_DL or method == M_HS or method == M_HSK
            or method == M_ML or method == M_REML or method == M_PM or method == M_EB
            or method == M_SJIT or method == M_PMM)


@njit(cache=True, error_model="numpy")
def _valid(yr, vr, n):
    """True when the n values pass the checks of _moments0 (finite, v > 0)."""
    ok = True
    for j in range(n):
        # no branch and no early exit: the loop vectorises
        ok &= (abs(yr[j]) < math.inf) & (vr[j] > 0.0) & (vr[j] < math.inf)
    return ok


@njit(cache=True, error_model="numpy")
def _load_group(y, v, mask, has_mask, b0, nl, yT, vT, W):
    """Rows b0 .. b0 + nl - 1 into lanes 0 .. nl - 1; returns the largest lane length.

    Lane l holds its row's valid studies in order (as the row kernel sees them), then padding
    with y = its first effect and v = inf (weight 0: every sum gets exact zeros). Rows the lanes
    cannot fit (k < 2, a missing or infinite value, a variance <= 0: the checks of _moments0;
    idle lanes) get R_LANE = 0 and neutral data.
    """
    kmax = y.shape[1]
    nall = 0
    for l in range(LANES):
        n = 0
        if l < nl:
            b = b0 + l
            if has_mask:
                for j in range(kmax):
                    if mask[b, j]:
                        yT[n, l] = y[b, j]
                        vT[n, l] = v[b, j]
                        n += 1
            else:
                n = _row_length(y, v, b)
                yr = y[b]
                vr = v[b]
                for j in range(n):
                    yT[j, l] = yr[j]
                    vT[j, l] = vr[j]
        W[R_N, l] = n
        W[R_ZERO, l] = 0.0  # also the count of bad values, just below
        nall = max(nall, n)
    # the checks of _moments0: finite y and v, v > 0. Full rows without a mask (the common
    # case) are contiguous: one vectorised pass over the group's block of the input.
    full = not has_mask and nall == kmax
    for l in range(nl):
        full &= W[R_N, l] == kmax
    if not (full and _valid(y[b0:b0 + nl].reshape(-1), v[b0:b0 + nl].reshape(-1), nl * kmax)):
        # lane by lane (vectorised across lanes), counting bad values in R_ZERO
        for j in range(nall):
            for l in range(LANES):
                vj = vT[j, l]
                ok = (abs(yT[j, l]) < math.inf) & (vj > 0.0) & (vj < math.inf)
                W[R_ZERO, l] += 0.0 if ok or j >= W[R_N, l] else 1.0
    nmax = 0
    for l in range(LANES):
        ok = W[R_N, l] >= 2.0 and W[R_ZERO, l] == 0.0
        W[R_LANE, l] = 1.0 if ok else 0.0
        W[R_C, l] = yT[0, l] if ok else 0.0
        W[R_ZERO, l] = 0.0
        if ok:
            nmax = max(nmax, int(W[R_N, l]))
    for l in range(LANES):
        if W[R_LANE, l] == 1.0:
            c = W[R_C, l]
            for j in range(int(W[R_N, l]), nmax):
                yT[j, l] = c
                vT[j, l] = math.inf
        else:
            for j in range(nmax):
                yT[j, l] = 0.0
                vT[j, l] = 1.0
    return nmax


@njit(cache=True, error_model="numpy")
def _lane_vrange(vT, nmax, W):
    """Smallest and largest variance of each lane (as _vrange; padding v = inf left out)."""
    for l in range(LANES):
        W[R_VMIN, l] = math.inf
        W[R_VMAX, l] = 0.0
    for j in range(nmax):
        for l in range(LANES):
            vj = vT[j, l]
            W[R_VMIN, l] = min(W[R_VMIN, l], vj)
            W[R_VMAX, l] = max(W[R_VMAX, l], vj if vj < math.inf else 0.0)


@njit(cache=True, error_model="numpy")
def _row_data(y, v, mask, has_mask, b, ys, vs):
    """Row b's valid studies as contiguous arrays (for the row kernels' fallbacks)."""
    if has_mask:
        n = 0
        for j in range(y.shape[1]):
            if mask[b, j]:
                ys[n] = y[b, j]
                vs[n] = v[b, j]
                n += 1
        return ys, vs
    return y[b], v[b]


@njit(cache=True, error_model="numpy")
def _fixed_effect(W, w3row):
    """The sums at tau^2 = 0 (sum w^3 in row ``w3row``: 4 after _lane_sums5, 6 after
    _lane_sums9) into the fixed-effect rows of W, as _moments0."""
    for l in range(LANES):
        s0, m0, q0, trp0, trp20 = _derive5(W[0, l], W[1, l], W[2, l], W[3, l], W[w3row, l])
        W[R_S0, l] = s0
        W[R_M0, l] = m0
        W[R_Q0, l] = q0
        W[R_TRP0, l] = trp0
        W[R_TRP20, l] = trp20
        W[R_CP, l] = W[R_C, l] + m0


@njit(cache=True, error_model="numpy")
def _closed_group(method, nmax, yT, vT, W):
    """Common effect, DL, HS, HSk: tau2 and its SE from the sums at 0."""
    _lane_sums5(yT, vT, nmax, W[R_ZERO], W[R_C], W[R_S:R_S + 5])
    _fixed_effect(W, 4)
    for l in range(LANES):
        t, se = _tau2_closed(method, W[R_N, l], W[R_S0, l], W[R_Q0, l], W[R_TRP0, l],
                             W[R_TRP20, l])
        W[R_T, l] = t
        W[R_SE, l] = se
        W[R_IT, l] = 0.0
        W[R_CONV, l] = 1.0


@njit(cache=True, error_model="numpy")
def _likelihood_group(b0, reml, max_iter, nmax, y, v, mask, has_mask, yT, vT, W, vals, pts,
                      ys, vs):
    """ML / REML for the group's lane rows (as _rows._likelihood row by row)."""
    S = W[R_S:R_S + 9]
    _lane_vrange(vT, nmax, W)
    _lane_sums9(yT, vT, nmax, W[R_ZERO], W[R_C], S)
    _fixed_effect(W, 6)
    _lane_derive(S)
    for l in range(LANES):
        # S: s0, m, q, A, D, tr P, tr P^2, sum w^2 at 0
        b0_ = W[5, l] if reml else W[0, l]
        W[R_A0, l] = W[3, l]
        W[R_D0, l] = W[4, l]
        W[R_W20, l] = W[7, l]
        W[R_CN, l] = W[R_C, l]
        W[R_LO, l] = 0.0
        W[R_HI, l] = math.inf
        W[R_TAIL, l] = W[2, l] / b0_
        W[R_CONV, l] = 1.0
        # score > 0 at 0: Newton from DL; else the maximum is on the boundary (1 iteration)
        go = W[R_LANE, l] == 1.0 and W[3, l] - b0_ > 0.0
        W[R_ACTIVE, l] = 1.0 if go else 0.0
        W[R_IT, l] = 0.0 if go else 1.0
        W[R_T, l] = max(max(0.0, (W[2, l] - (W[R_N, l] - 1)) / W[5, l]), 0.0) if go else 0.0
    rounds = 0
    active = True
    while active and rounds < LANE_ROUNDS:
        _lane_sums9(yT, vT, nmax, W[R_T], W[R_CN], S)
        _lane_derive(S)
        rounds += 1
        active = False
        for l in range(LANES):
            if W[R_ACTIVE, l] == 0.0:
                continue
            it = W[R_IT, l] + 1.0
            W[R_IT, l] = it
            W[R_CN, l] += W[1, l]
            done, tn, lo, hi, bb = _newton_step(W[R_T, l], W[R_LO, l], W[R_HI, l], it, W[0, l],
                                                W[3, l], W[4, l], W[5, l], W[6, l], W[7, l],
                                                reml, W[R_VMIN, l], vT[0, l])
            W[R_T, l] = tn
            W[R_LO, l] = lo
            W[R_HI, l] = hi
            W[R_TAIL, l] = W[2, l] / bb
            if done or it >= max_iter:
                W[R_ACTIVE, l] = 0.0
                W[R_CONV, l] = 1.0 if done else 0.0
            else:
                active = True
    if active:
        for l in range(LANES):
            if W[R_ACTIVE, l] == 1.0:
                yr, vr = _row_data(y, v, mask, has_mask, b0 + l, ys, vs)
                t, conv, it = _newton_from(yr, vr, int(W[R_N, l]), W[R_CN, l], reml, W[R_T, l],
                                           W[R_LO, l], W[R_HI, l], int(W[R_IT, l]), max_iter,
                                           W[R_VMIN, l])
                W[R_T, l] = t
                W[R_CONV, l] = 1.0 if conv else 0.0
                W[R_IT, l] = it
                W[R_ACTIVE, l] = 0.0
    # --- the global maximum: proof on the ladder, else the row kernel's checks ----------
    _lane_plain(yT, nmax, W[R_C], S)
    for l in range(LANES):
        n = max(W[R_N, l], 2.0)
        s2 = (W[1, l] - W[0, l] * W[0, l] / n) / (n - 1.0)
        _ladder_points(W[R_T, l], _ladder_tail(s2, W[R_TAIL, l], W[R_VMIN, l]), W[R_VMIN, l],
                       pts, l)
    for r in range(LADDER):
        _lane_sums9(yT, vT, nmax, pts[r], W[R_C], S)
        _lane_derive(S)
        for l in range(LANES):
            vals[r, 0, l] = W[3, l]
            vals[r, 1, l] = W[5, l] if reml else W[0, l]
            vals[r, 2, l] = W[6, l] if reml else W[7, l]
            vals[r, 3, l] = W[4, l]
            vals[r, 4, l] = W[2, l]
            vals[r, 5, l] = pts[r, l]
    for l in range(LANES):
        if W[R_LANE, l] == 0.0:
            continue
        t = W[R_T, l]
        conv = W[R_CONV, l] == 1.0
        a0 = W[R_A0, l]
        b0_ = W[R_TRP0, l] if reml else W[R_S0, l]
        c0_ = W[R_TRP20, l] if reml else W[R_W20, l]
        if conv and _ladder_proof(vals, l, t, a0, b0_, c0_, W[R_D0, l], W[R_Q0, l],
                                  W[R_VMIN, l]):
            continue
        yr, vr = _row_data(y, v, mask, has_mask, b0 + l, ys, vs)
        t, conv, it = _global_check(yr, vr, int(W[R_N, l]), W[R_C, l], reml, t, conv,
                                    int(W[R_IT, l]), a0, b0_, c0_, W[R_D0, l], W[R_Q0, l],
                                    W[R_VMIN, l], W[R_VMAX, l], max_iter)
        W[R_T, l] = t
        W[R_CONV, l] = 1.0 if conv else 0.0
        W[R_IT, l] = it
    # --- the pooled sums at tau2 (and tr P^2 or sum w^2 for the SE) ----------------------
    _lane_sums9(yT, vT, nmax, W[R_T], W[R_CP], S)
    for l in range(LANES):
        # tr P^2 and sum w^2 from the raw sums, as _derive9 (S keeps them for the pooling)
        s0 = W[0, l]
        w2 = W[3, l]
        r = w2 / s0
        trp2 = w2 - 2.0 * W[6, l] / s0 + r * r
        W[R_SE, l] = math.sqrt(2.0 / trp2) if reml else math.sqrt(2.0 / w2)


@njit(cache=True, error_model="numpy")
def _q_group(b0, method, targets, max_iter, nmax, y, v, mask, has_mask, yT, vT, W, ys, vs):
    """PM, EB, SJIT, PMM for the group's lane rows (as _rows._q_root row by row); the last
    pass leaves _light's sums at tau2 in the first rows of W."""
    S = W[R_S:R_S + 9]
    _lane_sums5(yT, vT, nmax, W[R_ZERO], W[R_C], S)
    _fixed_effect(W, 4)
    for l in range(LANES):
        W[R_CN, l] = W[R_C, l]
        W[R_LO, l] = 0.0
        W[R_HI, l] = math.inf
        W[R_IT, l] = 0.0
        W[R_CONV, l] = 1.0
        W[R_ACTIVE, l] = 0.0
        W[R_T, l] = 0.0
    active = False
    for l in range(LANES):
        if W[R_LANE, l] == 0.0:
            continue
        n = int(W[R_N, l])
        target = targets[n - 1] if method == M_PMM else n - 1.0
        W[R_TARGET, l] = target
        # SJIT: the row kernel's guard (no spread in the effects: tau2 = 0 without iterating)
        if method == M_SJIT and _ss(yT[:, l], n) <= 0.0:
            continue
        if W[R_Q0, l] <= target:
            continue
        W[R_T, l] = max(max(0.0, (W[R_Q0, l] - (n - 1)) / W[R_TRP0, l]), 0.0)
        W[R_ACTIVE, l] = 1.0
        active = True
    rounds = 0
    while active and rounds < LANE_ROUNDS:
        _lane_sums9(yT, vT, nmax, W[R_T], W[R_CN], S)
        _lane_derive(S)
        rounds += 1
        active = False
        for l in range(LANES):
            if W[R_ACTIVE, l] == 0.0:
                continue
            it = W[R_IT, l] + 1.0
            W[R_IT, l] = it
            W[R_CN, l] += W[1, l]
            done, tn, lo, hi = _q_step(W[R_T, l], W[R_LO, l], W[R_HI, l], it, W[2, l], W[3, l],
                                       W[R_TARGET, l], vT[0, l])
            W[R_T, l] = tn
            W[R_LO, l] = lo
            W[R_HI, l] = hi
            if done or it >= max_iter:
                W[R_ACTIVE, l] = 0.0
                W[R_CONV, l] = 1.0 if done else 0.0
            else:
                active = True
    if active:
        for l in range(LANES):
            if W[R_ACTIVE, l] == 1.0:
                yr, vr = _row_data(y, v, mask, has_mask, b0 + l, ys, vs)
                t, conv, it = _q_from(yr, vr, int(W[R_N, l]), W[R_CN, l], W[R_TARGET, l],
                                      W[R_T, l], W[R_LO, l], W[R_HI, l], int(W[R_IT, l]),
                                      max_iter)
                W[R_T, l] = t
                W[R_CONV, l] = 1.0 if conv else 0.0
                W[R_IT, l] = it
                W[R_ACTIVE, l] = 0.0
    # the pooled sums at tau2 give the SE too (sum w at tau2)
    _lane_sums5(yT, vT, nmax, W[R_T], W[R_CP], S)
    for l in range(LANES):
        n = max(W[R_N, l], 2.0)
        s0t = W[0, l]
        W[R_SE, l] = math.sqrt(2.0 * n * n / (n - 1.0) / (s0t * s0t))


@njit(cache=True, error_model="numpy")
def _finish_group(off, nl, method, tests, zcrit, tcrit, yT, vT, nmax, W, ob, pooled_done):
    """Pooled estimate and every output of the group's lane rows (R_T, R_SE, R_IT and R_CONV
    set), as _rows._fit_row and _rows._finish_row; ``pooled_done``: W's first rows already
    hold the sums at (tau2, c + mu_FE).

    The outputs go to columns off .. off + nl - 1 of the block buffer ``ob``: the float outputs
    of kernels.fit_rows (rowf, then testf test by test), then k, iterations and the converged
    flag (-1: the row kernel fits the row).
    """
    if not pooled_done:
        need = False
        for l in range(LANES):
            if W[R_LANE, l] == 1.0 and W[R_T, l] != 0.0:
                need = True
        if need:
            _lane_sums5(yT, vT, nmax, W[R_T], W[R_CP], W[R_S:R_S + 5])
    n_tests = tests.shape[0]
    # (each loop below writes to one array only: W or the block buffer; then it vectorises)
    for l in range(LANES):
        tau2 = W[R_T, l]
        # tau2 = 0: the fixed-effect sums already at hand; else _light's sums at tau2 around
        # c + mu_FE
        mw = W[1, l] / W[0, l]
        zero = tau2 == 0.0
        sw = W[R_S0, l] if zero else W[0, l]
        W[R_RSS, l] = W[R_Q0, l] if zero else max(W[2, l] - mw * W[1, l], 0.0)
        W[R_EST, l] = W[R_C, l] + W[R_M0, l] if zero else W[R_CP, l] + mw
        W[R_VAR, l] = 1.0 / sw
        W[R_ARG, l] = W[R_Q0, l] if W[R_N, l] > 1.0 else 0.0  # Cochran's Q
        W[R_DF, l] = max(W[R_N, l] - 1.0, 1.0)
    lane_chi2_sf(W, R_ARG, R_DF, R_PV, R_WORK)
    for l in range(nl):
        tau2 = W[R_T, l]
        q, i2, h2 = _heterogeneity(method, W[R_N, l], W[R_Q0, l], W[R_TRP0, l], tau2)
        ob[0, off + l] = tau2
        ob[1, off + l] = W[R_SE, l]
        ob[2, off + l] = q
        ob[3, off + l] = W[R_PV, l] if W[R_N, l] > 1.0 else 1.0
        ob[4, off + l] = i2
        ob[5, off + l] = h2
    for ti in range(n_tests):
        test = tests[ti]
        o = 6 + 8 * ti
        for l in range(nl):
            est = W[R_EST, l]
            se, stat, crit, half = _test_stat(test, int(W[R_N, l]), est, W[R_VAR, l],
                                              W[R_RSS, l], W[R_T, l], zcrit, tcrit)
            ob[o, off + l] = est
            ob[o + 1, off + l] = se
            ob[o + 2, off + l] = stat
            ob[o + 4, off + l] = est - crit * se
            ob[o + 5, off + l] = est + crit * se
            ob[o + 6, off + l] = est - half
            ob[o + 7, off + l] = est + half
        if test == T_Z:
            for l in range(LANES):
                W[R_ARG, l] = ob[o + 2, off + l] if l < nl else 0.0
            lane_norm_p2(W, R_ARG, R_PV)
            for l in range(nl):
                ob[o + 3, off + l] = W[R_PV, l] if math.isfinite(W[R_ARG, l]) else math.nan
        else:
            for l in range(nl):
                ob[o + 3, off + l] = _test_p(test, int(W[R_N, l]), ob[o + 2, off + l],
                                             ob[o + 1, off + l])
    nf = 6 + 8 * n_tests
    for l in range(nl):
        # a fit is usable when its estimate, variance, tau2 and Q are finite
        finite = math.isfinite(W[R_EST, l]) and math.isfinite(W[R_VAR, l]) \
            and math.isfinite(W[R_T, l]) and math.isfinite(ob[2, off + l])
        ok = W[R_CONV, l] == 1.0 and finite
        ob[nf + 2, off + l] = (1.0 if ok else 0.0) if W[R_LANE, l] == 1.0 else -1.0
    for l in range(nl):
        ob[nf, off + l] = W[R_N, l]
    for l in range(nl):
        ob[nf + 1, off + l] = W[R_IT, l]


@njit(cache=True, error_model="numpy")
def fit_lanes(start, stop, y, v, mask, a, has_mask, method, tests, zcrit, tcrit, targets,
              max_iter, rowf, k_out, it_out, status_out, conv_out, testf, stream):
    """Fit rows start .. stop - 1 (no custom weights, ``lane_method(method)``), LANES at a
    time, into the outputs of :func:`acuevidence.batch.kernels.fit_rows`.

    The block's outputs are collected in a buffer and copied out column by column at the end,
    with streaming stores when ``stream`` (a batch larger than the caches): many short
    interleaved output streams are what makes memory, not arithmetic, the limit otherwise.
    """
    kmax = max(y.shape[1], 1)
    yT = np.empty((kmax, LANES))
    vT = np.empty((kmax, LANES))
    W = np.zeros((NW, LANES))
    vals = np.empty((LADDER, 6, LANES))
    pts = np.empty((LADDER, LANES))
    ys = np.empty(kmax)
    vs = np.empty(kmax)
    ws = np.empty(kmax)
    m = stop - start
    nf = 6 + 8 * tests.shape[0]
    ob = np.empty((nf + 3, m))
    reml = method == M_REML
    for b0 in range(start, stop, LANES):
        nl = min(LANES, stop - b0)
        nmax = _load_group(y, v, mask, has_mask, b0, nl, yT, vT, W)
        if nmax > 0:
            if method == M_ML or method == M_REML:
                _likelihood_group(b0, reml, max_iter, nmax, y, v, mask, has_mask, yT, vT, W,
                                  vals, pts, ys, vs)
                pooled = True  # the last pass was at (tau2, c + mu_FE)
            elif method == M_PM or method == M_EB or method == M_SJIT or method == M_PMM:
                _q_group(b0, method, targets, max_iter, nmax, y, v, mask, has_mask, yT, vT, W,
                         ys, vs)
                pooled = True
            else:
                _closed_group(method, nmax, yT, vT, W)
                pooled = False
            _finish_group(b0 - start, nl, method, tests, zcrit, tcrit, yT, vT, nmax, W, ob,
                          pooled)
        else:
            for l in range(nl):
                ob[nf + 2, b0 - start + l] = -1.0
    for f in range(6):
        stream_copy(rowf[f], start, ob[f], m, stream)
    for ti in range(tests.shape[0]):
        for f in range(8):
            stream_copy(testf[ti, f], start, ob[6 + 8 * ti + f], m, stream)
    stream_copy(k_out, start, ob[nf], m, stream)
    stream_copy(it_out, start, ob[nf + 1], m, stream)
    for i in range(m):
        conv_out[start + i] = ob[nf + 2, i] == 1.0
    for i in range(m):
        status_out[start + i] = S_OK if ob[nf + 2, i] == 1.0 else S_NOT_CONVERGED
    store_fence(stream)
    # rows the lanes did not take (bad rows, k < 2)
    for i in range(m):
        if ob[nf + 2, i] == -1.0:
            _fit_row(start + i, y, v, mask, a, has_mask, False, method, tests, zcrit, tcrit,
                     targets, max_iter, ys, vs, ws, rowf, k_out, it_out, status_out, conv_out,
                     testf)
            _pvalues_rows(start + i, 1, tests, rowf, k_out, status_out, testf, W)
