"""ML / REML estimation of tau^2 in the batch kernels, with a proof of the global maximum.

See :mod:`acuevidence.batch.kernels` for the method; the single engine's counterpart is
``acuevidence.tau2._likelihood``.
"""

from __future__ import annotations

import math

from numba import njit

from ._sums import _abcd, _abcd_proof, _loglik, _moments

# Same accuracy as the single engine (acuevidence.tau2.TAU2_TOL): steps below this, relative to
# max(1, tau^2), end an iteration.
TAU2_TOL = 1e-12
# A Newton step (where the likelihood is concave) smaller than this relative to tau^2 + v_min
# ends the iteration: convergence is quadratic, so the error left is of order 1e-16.
NEWTON_FINAL = 1e-8
# Relative safety margin of every inequality of the global-maximum proof (rounding of sums).
PROOF_MARGIN = 1e-9
# Likelihood evaluations a proof may spend before the row falls back to the grid scan.
PROOF_BUDGET = 40
# The single engine's grid (tau2._search_grid): 0 and 121 points over 12 decades.
GRID_POINTS = 121
EPS = 2.220446049250313e-16
# Relative size below which the score (A - B)/2 is rounding noise of A and B.
NOISE = 64 * EPS
# Newton steps before the solver switches to bisection (noise can stall Newton).
NEWTON_PATIENCE = 40


@njit(cache=True, error_model="numpy")
def _newton_step(t, lo, hi, it, s0, a, d3, trp, trp2, w2, reml, vmin, v0):
    """One safeguarded Newton iteration of :func:`_newton_from` from the moments at t.

    Returns (done, t_next, lo, hi, score_scale): when done, t_next is the estimate.
    ``score_scale`` is B, the positive part of the score at t (for the ladder's tail guess).
    """
    if reml:
        b, cc = trp, trp2
    else:
        b, cc = s0, w2
    score = 0.5 * (a - b)
    curv = 0.5 * cc - d3  # second derivative of the (restricted) log-likelihood
    if abs(score) <= NOISE * (a + b):  # A - B at the rounding noise of A and B
        return True, t, lo, hi, b
    if score > 0.0:
        lo = t
    else:
        hi = t
    tn = t - score / curv if curv < 0.0 else math.nan
    if not (tn >= lo and tn <= hi) or (it > NEWTON_PATIENCE and hi < math.inf):
        tn = 0.5 * (lo + hi) if hi < math.inf else 2.0 * t + 1e-3 * (v0 + t)
    step = abs(tn - t)
    # Newton converges quadratically: once a Newton step is below NEWTON_FINAL relative to
    # the scale of tau^2 + v, the point it lands on is exact to ~NEWTON_FINAL^2.
    if (curv < 0.0 and step <= NEWTON_FINAL * (tn + vmin)) \
            or step <= TAU2_TOL * max(1.0, t) or (hi < math.inf and hi - lo <= 4.0 * EPS * hi):
        return True, tn, lo, hi, b
    return False, tn, lo, hi, b


@njit(cache=True, error_model="numpy")
def _newton_from(ys, vs, n, c, reml, t, lo, hi, it0, max_iter, vmin):
    """Safeguarded Newton for a root of the score inside (lo, hi) with s(lo) > 0, going on
    after ``it0`` iterations from t with centre c. Returns (t, converged, iterations).
    ``hi`` may be inf (no upper bound known yet).
    """
    for it in range(it0 + 1, max_iter + 1):
        s0, m, _q, a, d3, trp, trp2, w2 = _moments(ys, vs, n, t, c)
        c += m  # centre the next sums on this weighted mean: no cancellation near the root
        done, tn, lo, hi, _b = _newton_step(t, lo, hi, it, s0, a, d3, trp, trp2, w2, reml, vmin,
                                           vs[0])
        if done:
            return tn, True, it
        t = tn
    return t, False, max_iter


@njit(cache=True, error_model="numpy")
def _newton_lik(ys, vs, n, c, reml, t0, lo, hi, max_iter, vmin):
    """Safeguarded Newton for a root of the score inside (lo, hi) with s(lo) > 0.

    Returns (t, converged, iterations). ``hi`` may be inf (no upper bound known yet).
    """
    return _newton_from(ys, vs, n, c, reml, t0, lo, hi, 0, max_iter, vmin)


@njit(cache=True, error_model="numpy")
def _neg_on(x, ax, bx, cx, y, ay, by, cy):
    """True when the score is proven negative on [x, y] from the values at both ends.

    A and B are decreasing and convex (A' = -2y'P^3y, A'' = 6y'P^4y; B' = -C, B'' = 2 tr P^3
    or 2 sum w^3), so A lies below its chord and B above its tangents at x and y: A - B is
    bounded above by a concave piecewise-linear function whose maximum is at x, y or the kink.
    """
    if not (ax < bx * (1.0 - PROOF_MARGIN) and ay < by * (1.0 - PROOF_MARGIN)):
        return False
    if cx <= cy:
        return True
    tc = (bx - by + cx * x - cy * y) / (cx - cy)
    if not (tc > x and tc < y):
        return True
    chord = ax + (ay - ax) * (tc - x) / (y - x)
    tangent = bx - cx * (tc - x)
    return chord < tangent - PROOF_MARGIN * (abs(tangent) + abs(chord))


@njit(cache=True, error_model="numpy")
def _pos_on(x, ax, bx, dx, y, ay, by, dy):
    """True when the score is proven positive on [x, y] (A above its tangents, B below its
    chord; mirror image of :func:`_neg_on`)."""
    if not (ax > bx * (1.0 + PROOF_MARGIN) and ay > by * (1.0 + PROOF_MARGIN)):
        return False
    sx = 2.0 * dx  # -A'(x)
    sy = 2.0 * dy
    if sx <= sy:
        return True
    tc = (ax - ay + sx * x - sy * y) / (sx - sy)
    if not (tc > x and tc < y):
        return True
    tangent = ax - sx * (tc - x)
    chord = bx + (by - bx) * (tc - x) / (y - x)
    return tangent > chord + PROOF_MARGIN * (abs(tangent) + abs(chord))


@njit(cache=True, error_model="numpy")
def _tail_ok(t, b, q, vmin):
    # For t' >= t every weight shrinks by at least rho = (vmin + t)/(vmin + t') and the
    # normalised weights become more equal, so B(t') >= rho B(t) (REML too: tr P =
    # sum w (1 - sum u^2), u = w/sum w, and sum u^2 decreases); A(t') <= w_max(t') Q(t') <=
    # Q(t)/(vmin + t'). Hence the score is negative on [t, inf) once Q(t) < (vmin + t) B(t).
    return q < (vmin + t) * b * (1.0 - PROOF_MARGIN)


@njit(cache=True, error_model="numpy")
def _right_chain(ys, vs, n, c, reml, x, ax, bx, cx, qx, vmin, evals):
    """Prove s < 0 on [x, inf) given s(x) < 0; returns (proved, evaluations used)."""
    g = 4.0
    while not _tail_ok(x, bx, qx, vmin):
        if evals >= PROOF_BUDGET:
            return False, evals
        y = x * g if x > 0.0 else g * 1e-2 * vmin
        ay, by, cy, dy, qy = _abcd_proof(ys, vs, n, y, c, reml)
        evals += 1
        if ay > by:
            return False, evals  # the score turns positive again: a second maximum
        if _neg_on(x, ax, bx, cx, y, ay, by, cy):
            x, ax, bx, cx, qx = y, ay, by, cy, qy
            g = min(g * g, 1e6)
        else:
            g = math.sqrt(g) if x > 0.0 else 0.1 * g
            if x > 0.0 and g < 1.0 + 1e-3:
                return False, evals
    return True, evals


@njit(cache=True, error_model="numpy")
def _left_chain(ys, vs, n, c, reml, y, ay, by, dy, a0, b0, d0, evals):
    """Prove s > 0 on [0, y] given s(y) > 0; returns (proved, evaluations used)."""
    f = 0.25
    while not _pos_on(0.0, a0, b0, d0, y, ay, by, dy):
        if evals >= PROOF_BUDGET:
            return False, evals
        x = y * f
        ax, bx, cx, dx, qx = _abcd_proof(ys, vs, n, x, c, reml)
        evals += 1
        if ax < bx:
            return False, evals  # the score turns negative again: a second maximum
        if _pos_on(x, ax, bx, dx, y, ay, by, dy):
            y, ay, by, dy = x, ax, bx, dx
            f = f * f
        else:
            f = math.sqrt(f)
            if f > 1.0 - 1e-3:
                return False, evals
    return True, evals


@njit(cache=True, error_model="numpy")
def _certify(ys, vs, n, c, reml, t, a0, b0, c0, d0, q0, vmin, vmax):
    """(proved, evaluations): proved when l(t') <= l(t) for every t' >= 0 (module docstring)."""
    evals = 0
    if t > 0.0:
        # concave on [x, y] around t when C(x)/2 < D(y) (l'' = C/2 - D, C and D decreasing);
        # the score is then positive left of x and negative right of y by chains of intervals
        for r in (1.2, 1.05):
            x = t / r
            y = t * r
            ay, by, cy, dy, qy = _abcd_proof(ys, vs, n, y, c, reml)
            ax, bx, cx, dx, qx = _abcd_proof(ys, vs, n, x, c, reml)
            evals += 2
            evals += 1
            if 0.5 * cx < dy * (1.0 - PROOF_MARGIN) and ax > bx and ay < by:
                ok, evals = _left_chain(ys, vs, n, c, reml, x, ax, bx, dx, a0, b0, d0, evals)
                if not ok:
                    return False, evals
                ok, evals = _right_chain(ys, vs, n, c, reml, y, ay, by, cy, qy, vmin, evals)
                return ok, evals
        return False, evals
    # maximum on the boundary (s(0) <= 0)
    if a0 < b0 * (1.0 - 1e-6):
        ok, evals = _right_chain(ys, vs, n, c, reml, 0.0, a0, b0, c0, q0, vmin, evals)
        if ok:
            return True, evals
    for y in (vmax, vmin, 0.1 * vmin, 0.01 * vmin):
        ay, by, cy, dy, qy = _abcd_proof(ys, vs, n, y, c, reml)
        evals += 1
        if 0.5 * c0 < dy * (1.0 - PROOF_MARGIN) and ay < by:
            ok, evals = _right_chain(ys, vs, n, c, reml, y, ay, by, cy, qy, vmin, evals)
            return ok, evals
    return False, evals


@njit(cache=True, error_model="numpy")
def _grid_point(j, scale):
    if j == 0:
        return 0.0
    return scale * 10.0 ** (-8.0 + (j - 1) * 0.1)


@njit(cache=True, error_model="numpy")
def _golden_max(ys, vs, n, c, reml, lo, hi):
    # Bounded maximisation of the log-likelihood on [lo, hi] (cf. scipy's bounded Brent).
    gr = 0.5 * (math.sqrt(5.0) - 1.0)
    x1 = hi - gr * (hi - lo)
    x2 = lo + gr * (hi - lo)
    f1 = _loglik(ys, vs, n, x1, c, reml)
    f2 = _loglik(ys, vs, n, x2, c, reml)
    it = 0
    while hi - lo > TAU2_TOL and it < 500:
        it += 1
        if f1 >= f2:
            hi = x2
            x2 = x1
            f2 = f1
            x1 = hi - gr * (hi - lo)
            f1 = _loglik(ys, vs, n, x1, c, reml)
        else:
            lo = x1
            x1 = x2
            f1 = f2
            x2 = lo + gr * (hi - lo)
            f2 = _loglik(ys, vs, n, x2, c, reml)
    return 0.5 * (lo + hi), it


@njit(cache=True, error_model="numpy")
def _ss(ys, n):
    """Sum of squares around the plain mean."""
    mean = 0.0
    for i in range(n):
        mean += ys[i]
    mean /= n
    ss = 0.0
    for i in range(n):
        ss += (ys[i] - mean) ** 2
    return ss


@njit(cache=True, error_model="numpy")
def _grid_scan(ys, vs, n, c, reml, vmax):
    """The single engine's grid (tau2._search_grid): (scale, best index, best value)."""
    scale = max(_ss(ys, n) / max(n - 1, 1), vmax, 1e-12)
    best = -math.inf
    ib = 0
    for j in range(GRID_POINTS + 1):
        val = _loglik(ys, vs, n, _grid_point(j, scale), c, reml)
        if val > best:
            best = val
            ib = j
    return scale, ib, best


@njit(cache=True, error_model="numpy")
def _bracketed_max(ys, vs, n, c, reml, scale, ib, max_iter):
    """The single engine's tau2._bracketed_max from the best grid cell ``ib``: a root of the
    score inside the cell, or else a bounded maximisation. Returns (t, converged, iterations).
    """
    lo = _grid_point(max(ib - 1, 0), scale)
    hi = _grid_point(min(ib + 1, GRID_POINTS), scale)
    a_lo, b_lo, cl, dl, ql = _abcd(ys, vs, n, lo, c, reml)
    if ib == 0 and a_lo - b_lo <= 0.0:
        return 0.0, True, GRID_POINTS + 1
    a_hi, b_hi, ch, dh, qh = _abcd(ys, vs, n, hi, c, reml)
    if a_lo - b_lo > 0.0 and a_hi - b_hi < 0.0:
        t, conv, it = _newton_lik(ys, vs, n, c, reml, 0.5 * (lo + hi), lo, hi, max_iter,
                                  0.0)
        return t, conv, GRID_POINTS + 1 + it
    t, it = _golden_max(ys, vs, n, c, reml, lo, hi)
    return t, True, GRID_POINTS + 1 + it


@njit(cache=True, error_model="numpy")
def _global_check(ys, vs, n, c, reml, t, conv, it, a0, b0, c0, d0, q0, vmin, vmax, max_iter):
    """After Newton: the grid search when it failed, else the proof of the global maximum and,
    without a proof, the single engine's grid check. Returns (t, converged, iterations)."""
    if not conv:
        scale, ib, best = _grid_scan(ys, vs, n, c, reml, vmax)
        t, conv, extra = _bracketed_max(ys, vs, n, c, reml, scale, ib, max_iter)
        it += extra
    elif not _certify(ys, vs, n, c, reml, t, a0, b0, c0, d0, q0, vmin, vmax)[0]:
        # No proof that t is the global maximum: the single engine's grid check, as it is.
        ll_t = _loglik(ys, vs, n, t, c, reml)
        scale, ib, best = _grid_scan(ys, vs, n, c, reml, vmax)
        if best > ll_t + 1e-10 * max(1.0, abs(ll_t)):
            t2, conv2, extra = _bracketed_max(ys, vs, n, c, reml, scale, ib, max_iter)
            if _loglik(ys, vs, n, t2, c, reml) > ll_t:
                t = t2
                conv = conv2
                it += extra
    return t, conv, it


@njit(cache=True, error_model="numpy")
def _likelihood(ys, vs, n, c, reml, t_start, a0, b0, c0, d0, q0, vmin, vmax, max_iter):
    """ML / REML estimate of tau^2: returns (tau2, se, converged, iterations)."""
    if a0 - b0 <= 0.0:
        t, conv, it = 0.0, True, 1  # score <= 0 at 0: maximum on the boundary
    else:
        t, conv, it = _newton_lik(ys, vs, n, c, reml, max(t_start, 0.0), 0.0, math.inf,
                                  max_iter, vmin)
    t, conv, it = _global_check(ys, vs, n, c, reml, t, conv, it, a0, b0, c0, d0, q0, vmin, vmax,
                                max_iter)
    s0, m, q, a, d3, trp, trp2, w2 = _moments(ys, vs, n, t, c)
    se = math.sqrt(2.0 / trp2) if reml else math.sqrt(2.0 / w2)
    return t, se, conv, it


# ------------------------------------------------------------------------------------------
# The proof on a fixed ladder of points (lane kernels)
# ------------------------------------------------------------------------------------------
# The lane kernels evaluate A, B, C, D, Q of every lane at LADDER points chosen before any is
# seen (each round is one vectorised pass over a group of rows), then run the proof of
# _certify on them: a concave interval [t/1.2, 1.2 t] around the root, a chain of intervals
# with a positive score from 0 to t/1.2 (directly, or through t/4.8 and t/76.8) and a chain
# with a negative score from 1.2 t through LADDER_RIGHT points to where the tail bound holds.
# Rows without a proof on the ladder (a few percent) get the adaptive _certify.
LADDER_RIGHT = 3
LADDER_LEFT = 1
LADDER = 2 + LADDER_RIGHT + LADDER_LEFT
# The tail bound holds beyond about max(sample variance, Q/B) - v_min; aim a little past it.
LADDER_REACH = 1.2


@njit(cache=True, error_model="numpy")
def _ladder_points(t, tail, vmin, pts, l):
    """The ladder of a root t (t = 0: a maximum on the boundary) into pts[:, l]: for t > 0,
    t/1.2, 1.2 t, LADDER_RIGHT points from 1.2 t up to ``tail`` (geometric), LADDER_LEFT
    points t/4.8, t/76.8, ...; for t = 0, LADDER points from 0.04 v_min up to ``tail``."""
    if t > 0.0:
        pts[0, l] = t / 1.2
        base = t * 1.2
        pts[1, l] = base
        top = max(tail, 2.0 * base)
        ratio = math.exp(math.log(top / base) / LADDER_RIGHT)
        p = base
        for r in range(2, 2 + LADDER_RIGHT):
            p *= ratio
            pts[r, l] = p
        f = 4.8
        for r in range(2 + LADDER_RIGHT, LADDER):
            pts[r, l] = t / f
            f *= 16.0
    else:
        base = 0.04 * vmin
        top = max(tail, 5.0 * base)
        ratio = math.exp(math.log(top / base) / (LADDER - 1))
        p = base
        for r in range(LADDER):
            pts[r, l] = p
            p *= ratio
    for r in range(LADDER):
        if not (pts[r, l] > 0.0 and pts[r, l] < math.inf):
            pts[r, l] = 1.0  # an idle lane (no proof is read from it)


@njit(cache=True, error_model="numpy")
def _ladder_tail(s2, qb, vmin):
    """Where the tail bound should hold: a guess from the sample variance and Q/B at the root."""
    return LADDER_REACH * max(s2, qb) - vmin


@njit(cache=True, error_model="numpy")
def _ladder_proof(vals, l, t, a0, b0, c0, d0, q0, vmin):
    """The proof of _certify from the ladder values vals[r, (A, B, C, D, Q, point), l]: True
    when l(t) is proven the global maximum (l(t') <= l(t) for every t' >= 0)."""
    if t > 0.0:
        x0, ax, bx, cx, dx = vals[0, 5, l], vals[0, 0, l], vals[0, 1, l], vals[0, 2, l], \
            vals[0, 3, l]
        y0, ay, by, cy, qy = vals[1, 5, l], vals[1, 0, l], vals[1, 1, l], vals[1, 2, l], \
            vals[1, 4, l]
        # concave on [x0, y0] (l'' = C/2 - D, C and D decreasing) with the root inside
        if not (0.5 * cx < vals[1, 3, l] * (1.0 - PROOF_MARGIN) and ax > bx and ay < by):
            return False
        # a positive score on [0, x0], through t/4.8 (t/76.8, ...) when not at once
        x, ac, bc, dc = x0, ax, bx, dx
        r = 2 + LADDER_RIGHT
        while not _pos_on(0.0, a0, b0, d0, x, ac, bc, dc):
            if r >= LADDER:
                return False
            p, ap, bp, dp = vals[r, 5, l], vals[r, 0, l], vals[r, 1, l], vals[r, 3, l]
            if not (ap > bp and _pos_on(p, ap, bp, dp, x, ac, bc, dc)):
                return False
            x, ac, bc, dc = p, ap, bp, dp
            r += 1
        x, ac, bc, cc, qc = y0, ay, by, cy, qy
        r, last = 2, 2 + LADDER_RIGHT
    else:
        x, ac, bc, cc, qc = 0.0, a0, b0, c0, q0
        r, last = 0, LADDER
    # a negative score from x on: a chain of intervals up the ladder, then the tail bound
    while not _tail_ok(x, bc, qc, vmin):
        if r >= last:
            return False
        p, ap, bp, cp, qp = vals[r, 5, l], vals[r, 0, l], vals[r, 1, l], vals[r, 2, l], \
            vals[r, 4, l]
        if not (ap < bp and _neg_on(x, ac, bc, cc, p, ap, bp, cp)):
            return False
        x, ac, bc, cc, qc = p, ap, bp, cp, qp
        r += 1
    return True
