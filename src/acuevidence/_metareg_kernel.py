"""Batched meta-regression fits: B models with the same (y, v) layout fitted at once.

Pure numeric layer. Every function takes arrays with a leading batch axis: effect sizes ``Y``
(B, k), sampling variances ``v`` (k,) shared by all rows, design matrices ``X`` (B, k, p) and
optional user weights ``a`` (k,). One analysis is the B = 1 case; the permutation test fits all
permuted designs in one pass. Only p x p matrices are ever inverted (never k x k), with a
Cholesky factorisation written over the batch axis, because LAPACK's per-matrix call overhead
dominates for thousands of 2 x 2 or 3 x 3 systems.

tau^2 is estimated as :func:`acuevidence.tau2.estimate_tau2` does, row by row agreeing with it to
about 1e-10 (tests require 1e-8): closed forms directly; REML/ML by Newton (Fisher scoring where the likelihood is not
locally concave) with step halving, then the same grid check for a higher maximum; PM/EB/PMM/SJIT
by Newton on the convex, decreasing generalised Q. Rows that do not converge, or whose grid check
finds a higher maximum, are handed to the scalar estimator (bracketing fallback), so a batch row
equals the single fit.

References
----------
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the
    random-effects model. J Educ Behav Stat 30:261-293. (Fisher scoring, score equations)
Higgins JPT, Thompson SG (2004). Controlling the risk of spurious findings from meta-regression.
    Stat Med 23:1663-1682. (permutation test)
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .tau2 import MAX_HALVINGS, TAU2_TOL, estimate_tau2

__all__ = ["batch_coefficients", "batch_tau2", "chol_inverse", "logdet_quad", "pair_products",
           "tau2_basis"]

# Newton iterations before a row is handed to the scalar estimator.
MAX_NEWTON = 100
# Rows per pass of the likelihood grid check (see _grid_max).
GRID_ROWS = 128
# Above this many parameters LAPACK's batched routines beat the Python loop over p.
_LOOP_P_MAX = 8
_LOG2PI = math.log(2 * math.pi)
_EPS = np.finfo(float).eps


# ---------------------------------------------------------------------------------------
# Small batched linear algebra
# ---------------------------------------------------------------------------------------
def chol_inverse(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and log-determinant of symmetric positive definite matrices A (..., p, p).

    Rows that are not positive definite get NaN (callers treat them as failed).
    """
    p = A.shape[-1]
    if p > _LOOP_P_MAX:
        with np.errstate(invalid="ignore", divide="ignore"):
            finite = np.all(np.isfinite(A), axis=(-2, -1))
            safe = np.where(finite[..., None, None], A, np.eye(p))
            pd_ = finite & (np.linalg.eigvalsh(safe)[..., 0] > 0)
            safe = np.where(pd_[..., None, None], safe, np.eye(p))
            inv = np.where(pd_[..., None, None], np.linalg.inv(safe), np.nan)
            logdet = np.where(pd_, np.linalg.slogdet(safe)[1], np.nan)
        return inv, logdet
    if p == 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            a = A[..., 0, 0]
            a = np.where(a > 0, a, np.nan)
            inv = (1.0 / a)[..., None, None]
            logdet = np.log(a)
        return inv, logdet
    if p == 2:
        a, b, d = A[..., 0, 0], A[..., 0, 1], A[..., 1, 1]
        det = a * d - b * b
        with np.errstate(invalid="ignore", divide="ignore"):
            good = (a > 0) & (det > 0)
            r = 1.0 / np.where(good, det, np.nan)
            inv = np.empty_like(A)
            inv[..., 0, 0] = d * r
            inv[..., 1, 1] = a * r
            inv[..., 0, 1] = inv[..., 1, 0] = -b * r
            logdet = np.log(np.where(good, det, np.nan))
        return inv, logdet
    L = np.zeros_like(A)
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(p):
            s = A[..., j, j] - np.sum(L[..., j, :j] ** 2, axis=-1)
            L[..., j, j] = np.sqrt(np.where(s > 0, s, np.nan))
            for i in range(j + 1, p):
                L[..., i, j] = (A[..., i, j] - np.sum(L[..., i, :j] * L[..., j, :j], axis=-1)) \
                    / L[..., j, j]
        Li = np.zeros_like(A)
        for i in range(p):
            Li[..., i, i] = 1.0 / L[..., i, i]
            for j in range(i):
                Li[..., i, j] = -np.sum(L[..., i, j:i] * Li[..., j:i, j], axis=-1) / L[..., i, i]
        inv = np.swapaxes(Li, -1, -2) @ Li
        logdet = 2.0 * np.sum(np.log(np.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
    return inv, logdet


def logdet_quad(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log|A| and b'A^-1 b for SPD matrices A (..., p, p) and vectors b (..., p)."""
    p = A.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        if p == 1:
            a = A[..., 0, 0]
            return np.log(np.where(a > 0, a, np.nan)), b[..., 0] ** 2 / a
        if p == 2:
            a, c, d = A[..., 0, 0], A[..., 0, 1], A[..., 1, 1]
            det = a * d - c * c
            det = np.where((a > 0) & (det > 0), det, np.nan)
            b0, b1 = b[..., 0], b[..., 1]
            return np.log(det), (d * b0 * b0 - 2.0 * c * b0 * b1 + a * b1 * b1) / det
    inv, logdet = chol_inverse(A)
    return logdet, _quad(inv, b)


def _logdet_quad_first(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`logdet_quad` with the matrix axes first: A (n, p, p, G), b (n, p, G)."""
    p = A.shape[1]
    if p > 2:
        return logdet_quad(np.moveaxis(A, 3, 1), np.moveaxis(b, 2, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        if p == 1:
            a = A[:, 0, 0]
            return np.log(np.where(a > 0, a, np.nan)), b[:, 0] ** 2 / a
        a, c, d = A[:, 0, 0], A[:, 0, 1], A[:, 1, 1]
        det = a * d
        det -= c * c
        det[~((a > 0) & (det > 0))] = np.nan
        b0, b1 = b[:, 0], b[:, 1]
        q = d * b0 * b0
        q -= 2.0 * c * b0 * b1
        q += a * b1 * b1
        q /= det
        return np.log(det), q


def tau2_basis(X: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the design's column space, for estimating tau^2.

    Every tau^2 estimator depends on X only through its column space (through the projection
    P), so the estimate is unchanged; but raw moderators such as calendar years make X'WX
    ill-conditioned, and the rounding noise in the (restricted) likelihood can then stop a
    step-halving search short of the maximum. Q from a QR decomposition has Q'WQ conditioned
    like W. A row permutation of X permutes the rows of Q, so permuted fits use Q[perm].
    """
    return np.linalg.qr(X)[0]


def pair_products(X: np.ndarray) -> np.ndarray:
    """Z[b, i] = vec(x_bi x_bi'): X'WX = w @ Z as one contraction over the studies."""
    B, k, p = X.shape
    return (X[:, :, :, None] * X[:, :, None, :]).reshape(B, k, p * p)


def _weighted_cross(w: np.ndarray, Z: np.ndarray, p: int) -> np.ndarray:
    """X' diag(w_b) X for every row: w (B, k) or (B, n, k) -> (B, p, p) or (B, n, p, p)."""
    if w.ndim == 2:
        out = np.matmul(w[:, None, :], Z)[:, 0, :]
        return out.reshape(w.shape[0], p, p)
    out = np.matmul(w, Z)
    return out.reshape(w.shape[0], w.shape[1], p, p)


def _xt(X: np.ndarray, u: np.ndarray) -> np.ndarray:
    """X_b' u_b for every row: (B, k, p), (B, k) -> (B, p)."""
    return np.matmul(u[:, None, :], X)[:, 0, :]


def _quad(Ainv: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...i,...ij,...j->...", b, Ainv, b)


def _wls(w, Y, X, Z):
    """Weighted least squares per row: (A^-1, log|A|, beta, residuals, weighted RSS)."""
    p = X.shape[2]
    Ainv, logdet = chol_inverse(_weighted_cross(w, Z, p))
    beta = np.einsum("bij,bj->bi", Ainv, _xt(X, w * Y))
    e = Y - np.einsum("bkp,bp->bk", X, beta)
    return Ainv, logdet, beta, e, np.sum(w * e * e, axis=1)


# ---------------------------------------------------------------------------------------
# tau^2, batched
# ---------------------------------------------------------------------------------------
def batch_tau2(method: str, Yc: np.ndarray, v: np.ndarray, X: np.ndarray,
               a: np.ndarray | None = None, Z: np.ndarray | None = None) -> np.ndarray:
    """tau^2 of every row (B,) with a metafor method code, as ``estimate_tau2`` would give.

    ``Yc`` are the (mean-centred, as metafor uses them for tau^2) effect sizes of each row.
    """
    B, k, p = X.shape
    if Z is None:
        Z = pair_products(X)
    if method in ("EE", "FE", "CE"):
        return np.zeros(B)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if method in ("DL", "HS", "HSk"):
            w = np.broadcast_to(1.0 / v, (B, k))
            Ainv, _, _, _, q = _wls(w, Yc, X, Z)
            if method == "DL":
                trP = w.sum(1) - np.einsum("bij,bji->b", Ainv, _weighted_cross(w * w, Z, p))
                t = (q - (k - p)) / trP
            else:
                f = k / (k - p) if method == "HSk" else 1.0
                t = (f * q - k) / w.sum(1)
            t = np.maximum(0.0, t)
        elif method == "HE":
            t = _he(Yc, v, X, Z)
        elif method == "SJ":
            t0 = np.sum(Yc * Yc, axis=1) / k
            w = 1.0 / (v[None, :] + t0[:, None])
            q = _wls(w, Yc, X, Z)[4]
            t = np.where(t0 > 0, np.maximum(0.0, t0 * q / (k - p)), 0.0)
        elif method == "GENQ":
            if a is None:
                raise ValueError("GENQ needs weights")
            w = np.broadcast_to(a, (B, k))
            Ainv, _, _, _, q = _wls(w, Yc, X, Z)
            trP = w.sum(1) - np.einsum("bij,bji->b", Ainv, _weighted_cross(w * w, Z, p))
            trPV = np.sum(a * v) - np.einsum("bij,bji->b", Ainv,
                                             _weighted_cross(w * w * v, Z, p))
            t = np.maximum(0.0, (q - trPV) / trP)
        elif method in ("REML", "ML"):
            t, bad = _likelihood(Yc, v, X, Z, reml=method == "REML")
            return _fallback(t, bad, method, Yc, v, X, a)
        elif method in ("PM", "EB", "PMM", "SJIT"):
            target = float(stats.chi2.ppf(0.5, k - p)) if method == "PMM" else float(k - p)
            t, bad = _q_root(Yc, v, X, Z, target)
            return _fallback(t, bad, method, Yc, v, X, a)
        else:  # DLIT and anything without a batched path: the scalar estimator row by row
            t = np.full(B, np.nan)
    return _fallback(t, ~np.isfinite(t), method, Yc, v, X, a)


def _fallback(t, bad, method, Yc, v, X, a):
    for b in np.flatnonzero(bad):
        t[b] = estimate_tau2(method, Yc[b], v, X[b], a).tau2
    return t


def _he(Yc, v, X, Z):
    B, k, p = X.shape
    w = np.ones((B, k))
    Ainv, _, _, _, q = _wls(w, Yc, X, Z)
    trPV = np.sum(v) - np.einsum("bij,bji->b", Ainv, _weighted_cross(np.broadcast_to(v, (B, k)),
                                                                     Z, p))
    return np.maximum(0.0, (q - trPV) / (k - p))


def _q_root(Yc, v, X, Z, target):
    """Root of Q(t) = target: Q is decreasing and convex, so Newton from t = 0 climbs to it."""
    B = X.shape[0]
    t = np.zeros(B)
    done = np.zeros(B, bool)
    bad = np.zeros(B, bool)
    rows = np.arange(B)
    for it in range(MAX_NEWTON):
        if rows.size == 0:
            break
        Xr, Zr, Yr, tr = X[rows], Z[rows], Yc[rows], t[rows]
        w = 1.0 / (v[None, :] + tr[:, None])
        _, _, _, e, q = _wls(w, Yr, Xr, Zr)
        f = q - target
        if it == 0:
            zero = f <= 0  # Q(0) <= target: the estimate is 0
            done[rows[zero]] = True
        u = w * e
        slope = np.sum(u * u, axis=1)  # -dQ/dt = y'PPy
        step = f / slope
        new = tr + step
        # Convexity means no overshoot; only rounding can step back, by less than the tolerance.
        conv = np.abs(step) <= TAU2_TOL * np.maximum(1.0, np.abs(new))
        ok = np.isfinite(new) & ((new >= tr) | conv) & (new >= 0)
        live = ~done[rows]
        bad[rows[~ok & live]] = True
        t[rows] = np.where(ok & live, new, tr)
        done[rows[conv & ok]] = True
        rows = rows[~done[rows] & ~bad[rows]]
    bad[rows] = True
    return t, bad


def _evaluate(t, Yc, v, X, Z, reml):
    """(Restricted) log-likelihood, score, Fisher and observed information at t, per row."""
    _, k, p = X.shape
    s = v[None, :] + t[:, None]
    w = 1.0 / s
    Ainv, logdet, _, e, r = _wls(w, Yc, X, Z)
    ll = -0.5 * np.sum(np.log(s), axis=1) - 0.5 * r
    u = w * e  # P y
    yPPy = np.sum(u * u, axis=1)
    wu = w * u
    yPPPy = np.sum(wu * u, axis=1) - _quad(Ainv, _xt(X, wu))
    w2 = w * w
    sw2 = np.sum(w2, axis=1)
    if reml:
        ll = ll - 0.5 * (k - p) * _LOG2PI - 0.5 * logdet
        M = _weighted_cross(np.stack([w2, w2 * w], axis=1), Z, p)
        AM2 = Ainv @ M[:, 0]
        trP = np.sum(w, axis=1) - np.trace(AM2, axis1=1, axis2=2)
        trPP = sw2 - 2.0 * np.einsum("bij,bji->b", Ainv, M[:, 1]) \
            + np.einsum("bij,bji->b", AM2, AM2)
        return ll, 0.5 * (yPPy - trP), 0.5 * trPP, -0.5 * trPP + yPPPy
    ll = ll - 0.5 * k * _LOG2PI
    return ll, 0.5 * (yPPy - np.sum(w, axis=1)), 0.5 * sw2, -0.5 * sw2 + yPPPy


def _likelihood(Yc, v, X, Z, reml):
    """Vectorised version of tau2._likelihood: returns (tau2, rows needing the scalar path).

    Each iteration evaluates likelihood, score and information at the candidate together, so
    an accepted step costs one weighted least-squares pass per row.
    """
    B = X.shape[0]
    t = _he(Yc, v, X, Z)
    ll, score, fisher, observed = _evaluate(t, Yc, v, X, Z, reml)
    bad = ~np.isfinite(ll)
    done = np.zeros(B, bool)
    rows = np.flatnonzero(~bad)
    for _ in range(MAX_NEWTON):
        if rows.size == 0:
            break
        full = rows.size == B
        Xr, Zr, Yr = (X, Z, Yc) if full else (X[rows], Z[rows], Yc[rows])
        tr, llr, sc, fi, ob = t[rows], ll[rows], score[rows], fisher[rows], observed[rows]
        boundary = (tr <= 0.0) & (sc <= 0.0)
        # Newton where the likelihood is locally concave, Fisher scoring elsewhere.
        step = np.where(ob > 0, sc / np.where(ob > 0, ob, 1.0), sc / fi)
        cand = np.maximum(0.0, tr + step)
        ll_c, sc_c, fi_c, ob_c = _evaluate(cand, Yr, v, Xr, Zr, reml)
        floor = llr - 1e-13 * np.maximum(1.0, np.abs(llr))
        worse = ~(ll_c >= floor) & ~boundary
        halved = np.zeros(rows.size, bool)
        for _h in range(MAX_HALVINGS):
            if not worse.any():
                break
            idx = np.flatnonzero(worse)
            halved[idx] = True
            step[idx] *= 0.5
            cand[idx] = np.maximum(0.0, tr[idx] + step[idx])
            ll_c[idx] = _evaluate(cand[idx], Yr[idx], v, Xr[idx], Zr[idx], reml)[0]
            worse[idx] = ~(ll_c[idx] >= floor[idx])
        fail = (worse | ~np.isfinite(step)) & ~boundary
        conv = (np.abs(cand - tr) <= TAU2_TOL * np.maximum(1.0, cand)) & ~fail
        redo = np.flatnonzero(halved & ~fail & ~conv & ~boundary)
        if redo.size:  # information at the accepted (halved) step, for the next iteration
            _, sc_c[redo], fi_c[redo], ob_c[redo] = _evaluate(cand[redo], Yr[redo], v,
                                                              Xr[redo], Zr[redo], reml)
        move = ~boundary & ~fail
        t[rows] = np.where(boundary, 0.0, np.where(move, cand, tr))
        ll[rows] = np.where(move, ll_c, llr)
        score[rows], fisher[rows], observed[rows] = sc_c, fi_c, ob_c
        done[rows[boundary | conv]] = True
        bad[rows[fail]] = True
        rows = rows[~done[rows] & ~bad[rows]]
    bad[rows] = True
    # The same global check as the scalar estimator: a grid of tau^2 values; rows where the
    # grid beats the local maximum go to the scalar (bracketed) search.
    ok = np.flatnonzero(done & ~bad)
    if ok.size:
        full = ok.size == B
        grid_best = _grid_max(*((Yc, v, X, Z) if full else (Yc[ok], v, X[ok], Z[ok])), reml)
        lo = ll[ok]
        bad[ok[grid_best > lo + 1e-10 * np.maximum(1.0, np.abs(lo))]] = True
    return t, bad


def _grid_max(Yc, v, X, Z, reml):
    """Largest (restricted) log-likelihood over tau2._search_grid's grid, per row."""
    B, k, p = X.shape
    ss = np.sum((Yc - Yc.mean(axis=1, keepdims=True)) ** 2, axis=1) / max(k - 1, 1)
    scale = np.maximum(np.maximum(ss, float(np.max(v))), 1e-12)
    base = np.concatenate([[0.0], np.logspace(-8, 4, 121)])
    shared = bool(np.all(Yc == Yc[:1]))
    best = np.full(B, -np.inf)
    # Small chunks keep the (rows, grid) temporaries in cache and off fresh memory pages, which
    # is several times faster than one pass over all rows.
    step = GRID_ROWS if shared else max(1, GRID_ROWS * 8 // k)
    for s in range(0, B, step):
        sl = slice(s, min(B, s + step))
        if shared:
            grid = scale[0] * base  # (G,)
            Wt = np.ascontiguousarray((1.0 / (v[None, :] + grid[:, None])).T)  # (k, G)
            b = Z[sl].shape[0]
            # Two BLAS products, (rows * p^2, k) @ (k, G) and (rows * p, k) @ (k, G); the
            # results stay in (row, i, j, grid) layout so that the p x p algebra below runs
            # on contiguous (row, grid) slices.
            A = (np.swapaxes(Z[sl], 1, 2).reshape(-1, k) @ Wt).reshape(b, p, p, -1)
            yX = Yc[sl][:, :, None] * X[sl]
            XtWy = (np.swapaxes(yX, 1, 2).reshape(-1, k) @ Wt).reshape(b, p, -1)
            yWy = (Yc[sl] ** 2) @ Wt  # (b, G)
            slog = np.sum(np.log(v[None, :] + grid[:, None]), axis=1)[None, :]
            logdet, quad = _logdet_quad_first(A, XtWy)
        else:
            grid = scale[sl, None] * base[None, :]  # (b, G)
            W = 1.0 / (v[None, None, :] + grid[:, :, None])  # (b, G, k)
            A = _weighted_cross(W, Z[sl], p)
            XtWy = np.matmul(W * Yc[sl][:, None, :], X[sl])
            yWy = np.sum(W * Yc[sl][:, None, :] ** 2, axis=2)
            slog = np.sum(np.log(v[None, None, :] + grid[:, :, None]), axis=2)
            logdet, quad = logdet_quad(A, XtWy)
        r = yWy - quad
        ll = -0.5 * slog - 0.5 * r
        ll = ll - 0.5 * (k - p) * _LOG2PI - 0.5 * logdet if reml else ll - 0.5 * k * _LOG2PI
        best[sl] = np.max(np.where(np.isfinite(ll), ll, -np.inf), axis=1)
    return best


# ---------------------------------------------------------------------------------------
# Coefficients and tests, batched
# ---------------------------------------------------------------------------------------
def batch_coefficients(tau2: np.ndarray, Y: np.ndarray, v: np.ndarray, X: np.ndarray,
                       test: str, btt: np.ndarray, a: np.ndarray | None = None,
                       Z: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Estimates, covariance, Wald statistics and the omnibus QM for each row at its tau^2.

    As metafor's ``rma.uni``: inverse-variance weights 1/(v + tau^2), or user weights ``a``
    with the sandwich covariance; for ``knha``/``adhoc`` the covariance is scaled by
    s2w = RSS/(k - p) of the inverse-variance fit (truncated below at 1 for ``adhoc``).
    QM is divided by m = len(btt) for t-type tests (an F statistic).
    """
    B, k, p = X.shape
    if Z is None:
        Z = pair_products(X)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        w = 1.0 / (v[None, :] + tau2[:, None])
        Ainv, logdet_w, beta_w, e_w, rss_w = _wls(w, Y, X, Z)
        if a is None:
            beta, vb, e = beta_w, Ainv, e_w
        else:
            wa = np.broadcast_to(a, (B, k))
            Aa, _, beta, e, _ = _wls(wa, Y, X, Z)
            meat = _weighted_cross(wa * wa * (v[None, :] + tau2[:, None]), Z, p)
            vb = Aa @ meat @ Aa
        rss_f = np.sum(w * e * e, axis=1)
        s2w = np.ones(B)
        if test in ("knha", "adhoc"):
            s2w = np.where(rss_w <= _EPS, 0.0, rss_w / (k - p))
            if test == "adhoc":
                s2w = np.maximum(s2w, 1.0)
            vb = vb * s2w[:, None, None]
        se = np.sqrt(np.diagonal(vb, axis1=1, axis2=2))
        z = beta / se
        bt = beta[:, btt]
        vinv, _ = chol_inverse(vb[:, btt][:, :, btt])
        qm = _quad(vinv, bt)
        if test in ("t", "knha", "adhoc"):
            qm = qm / len(btt)
    return {"beta": beta, "vb": vb, "se": se, "statistic": z, "qm": qm, "s2w": s2w,
            "rss": rss_f, "logdet_w": logdet_w}
