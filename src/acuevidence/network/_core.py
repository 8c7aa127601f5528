"""Numeric layer of network meta-analysis: GLS fits and the between-study variance.

Pure functions of arrays: basic contrasts ``y`` (n,), their block-diagonal covariance ``V``
(n, n), the random-effects structure ``K`` (n, n; tau^2 * K is the covariance of the random
effects) and a full-rank design matrix ``X`` (n, p). The model is

    y ~ N(X beta, V + tau^2 K),

metafor's ``rma.mv(yi, V, mods = X - 1, random = ~ comp | study, rho = 1/2)`` and netmeta's
graph-theoretical model (Rücker 2012), which are the same weighted least-squares problem.

References
----------
Rücker G (2012). Network meta-analysis, electrical networks and graph theory. Res Synth Methods
    3:312-324.
Jackson D, White IR, Riley RD (2012). Quantifying the impact of between-study heterogeneity in
    multivariate meta-analyses. Stat Med 31:3805-3820. (the DerSimonian-Laird-type estimator)
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
Harville DA (1977). Maximum likelihood approaches to variance component estimation and to
    related problems. J Am Stat Assoc 72:320-338. (REML, Fisher scoring)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

from ..errors import ConvergenceError

__all__ = [
    "TAU2_TOL",
    "Fit",
    "Tau2Result",
    "design_matrix",
    "gls",
    "independent_columns",
    "loglik",
    "tau2_dl",
    "tau2_likelihood",
    "treatment_matrix",
    "wald_between",
]

# tau^2 is solved to this accuracy (relative to max(1, tau^2)); metafor's references were
# computed with rel.tol = 1e-12.
TAU2_TOL = 1e-12
MAX_ITER = 200
LOG2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Fit:
    """GLS fit at a given tau^2."""

    beta: np.ndarray
    vcov: np.ndarray
    rss: float          # y' P y: generalised Q of the fit at this tau^2
    logdet_s: float     # log |V + tau^2 K|
    logdet_xwx: float   # log |X' (V + tau^2 K)^-1 X|


@dataclass(frozen=True)
class Tau2Result:
    tau2: float
    converged: bool
    iterations: int
    path: str


def treatment_matrix(row_treat: np.ndarray, row_base: np.ndarray, n_treat: int,
                     reference: int) -> np.ndarray:
    """Design matrix of the consistency model: basic parameters d_t = theta_t - theta_ref.

    Row r (effect of ``row_treat[r]`` minus ``row_base[r]``) has +1 in the column of its
    treatment and -1 in that of its baseline; the reference has no column.
    """
    cols = [t for t in range(n_treat) if t != reference]
    pos = {t: j for j, t in enumerate(cols)}
    X = np.zeros((row_treat.shape[0], len(cols)))
    for r, (t, b) in enumerate(zip(row_treat, row_base, strict=True)):
        if t in pos:
            X[r, pos[t]] += 1.0
        if b in pos:
            X[r, pos[b]] -= 1.0
    return X


def _chol(S: np.ndarray) -> np.ndarray:
    try:
        return linalg.cholesky(S, lower=True)
    except linalg.LinAlgError:
        raise ConvergenceError("The covariance matrix V + tau^2 K is not positive definite.",
                               estimator="gls") from None


def gls(y: np.ndarray, V: np.ndarray, K: np.ndarray, X: np.ndarray, tau2: float) -> Fit:
    """Generalised least squares of y on X with covariance V + tau2 K."""
    L = _chol(V + tau2 * K)
    Xs = linalg.solve_triangular(L, X, lower=True)
    ys = linalg.solve_triangular(L, y, lower=True)
    xtx = Xs.T @ Xs
    Lx = _chol(xtx)
    vcov = linalg.cho_solve((Lx, True), np.eye(X.shape[1]))
    beta = vcov @ (Xs.T @ ys)
    e = ys - Xs @ beta
    return Fit(beta=beta, vcov=vcov, rss=float(e @ e),
               logdet_s=2.0 * float(np.sum(np.log(np.diag(L)))),
               logdet_xwx=2.0 * float(np.sum(np.log(np.diag(Lx)))))


def loglik(fit: Fit, n: int, p: int, reml: bool) -> float:
    """(Restricted) log-likelihood at the fit's tau^2.

    Same constants as metafor's ``rma.mv`` with ``control = list(REMLf = FALSE)``: the REML
    value leaves out ``log |X'X| / 2``, which depends on how the contrasts are parametrised
    (which arm is each study's baseline), so that the value is the same for every
    parametrisation of the same data.
    """
    if reml:
        return -0.5 * ((n - p) * LOG2PI + fit.logdet_s + fit.logdet_xwx + fit.rss)
    return -0.5 * (n * LOG2PI + fit.logdet_s + fit.rss)


def _projection(y, V, K, X, tau2):
    """P, Sigma^-1 and P y at tau2 (for scores and information)."""
    S = V + tau2 * K
    L = _chol(S)
    Si = linalg.cho_solve((L, True), np.eye(S.shape[0]))
    SiX = Si @ X
    A = np.linalg.solve(X.T @ SiX, SiX.T)
    P = Si - SiX @ A
    return P, Si, P @ y


def tau2_dl(y: np.ndarray, V: np.ndarray, K: np.ndarray, X: np.ndarray) -> float:
    """DerSimonian-Laird-type tau^2 of a network: max(0, (Q - df) / tr(P K)).

    Q is the generalised Q of the common-effect fit and P its residual projection; this is the
    method of moments of Jackson, White & Riley (2012), which netmeta computes on the all-pairs
    representation as ``(Q - df) / tr((I - H) (B B' * E / 2) W)`` (the same number). With
    df = 0 there is nothing to estimate from and tau^2 is 0.
    """
    n, p = X.shape
    df = n - p
    if df <= 0:
        return 0.0
    P, _, Py = _projection(y, V, K, X, 0.0)
    q = float(y @ Py)
    denom = float(np.sum(P * K))  # tr(P K), both symmetric
    if denom <= 0:
        return 0.0
    return max(0.0, (q - df) / denom)


def _score_info(t, y, V, K, X, reml):
    P, Si, Py = _projection(y, V, K, X, t)
    M = P if reml else Si
    MK = M @ K
    score = -0.5 * float(np.trace(MK)) + 0.5 * float(Py @ K @ Py)
    info = 0.5 * float(np.sum(MK * MK.T))
    return score, info


def tau2_likelihood(y: np.ndarray, V: np.ndarray, K: np.ndarray, X: np.ndarray,
                    reml: bool) -> Tau2Result:
    """(Restricted) maximum-likelihood tau^2 on [0, inf).

    A grid over tau^2 locates the global maximum (the likelihood of one variance component can
    have several local maxima), bounded Brent search refines it within its bracket, and Fisher
    scoring polishes the root of the score to ``TAU2_TOL``. A maximum at the boundary is
    reported as tau^2 = 0 when the score at 0 is not positive.
    """
    n, p = X.shape

    def ll(t: float) -> float:
        return loglik(gls(y, V, K, X, t), n, p, reml)

    scale = max(float(np.var(y)), float(np.mean(np.diag(V))), 1e-8)
    grid = np.concatenate([[0.0], scale * np.geomspace(1e-6, 1e3, 46)])
    vals = np.array([ll(t) for t in grid])
    iters = len(grid)
    while int(np.argmax(vals)) == len(grid) - 1:
        if grid[-1] > 1e12 * scale:
            raise ConvergenceError("The likelihood keeps increasing with tau^2; the data do not "
                                   "bound the between-study variance.", estimator="REML")
        more = grid[-1] * np.geomspace(2.0, 1e3, 10)
        grid = np.concatenate([grid, more])
        vals = np.concatenate([vals, [ll(t) for t in more]])
        iters += len(more)
    i = int(np.argmax(vals))
    lo, hi = grid[max(i - 1, 0)], grid[i + 1]
    path = "grid+brent"
    if i == 0:
        score0, _ = _score_info(0.0, y, V, K, X, reml)
        if score0 <= 0:
            return Tau2Result(0.0, True, iters, "boundary")
    res = optimize.minimize_scalar(lambda t: -ll(t), bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-10 * max(scale, 1e-12), "maxiter": 500})
    t = float(min(max(res.x, 0.0), hi))
    iters += int(res.nfev)
    best = ll(t)
    # Fisher scoring polish: the root of the score to TAU2_TOL.
    converged = False
    for _ in range(MAX_ITER):
        score, info = _score_info(t, y, V, K, X, reml)
        if info <= 0:
            break
        step = score / info
        new = t + step
        halvings = 0
        while (new < 0 or ll(new) < best - 1e-12 * max(1.0, abs(best))) and halvings < 40:
            step /= 2
            new = t + step
            halvings += 1
        iters += 1
        if new < 0:
            new = 0.0
        if abs(new - t) <= TAU2_TOL * max(1.0, t):
            t, converged = new, True
            break
        t, best = new, max(best, ll(new))
    if t <= 0 or (t < 1e-10 * scale and _score_info(0.0, y, V, K, X, reml)[0] <= 0):
        return Tau2Result(0.0, True, iters, "boundary")
    path += "+fisher-scoring"
    if not converged:
        # Brent's answer stands; it is accurate to its xatol.
        path += " (scoring did not settle; bounded search result kept)"
    return Tau2Result(t, True, iters, path)


def wald_between(y: np.ndarray, V: np.ndarray, K: np.ndarray, X_small: np.ndarray,
                 X_big: np.ndarray, tau2: float) -> tuple[float, int]:
    """Wald statistic for the columns of ``X_big`` beyond the span of ``X_small``.

    With a common covariance the Wald test of a linear hypothesis in GLS equals the difference
    of the residual quadratic forms of the nested fits; df is the difference of their ranks.
    """
    small = gls(y, V, K, X_small, tau2)
    big = gls(y, V, K, X_big, tau2)
    return max(0.0, small.rss - big.rss), X_big.shape[1] - X_small.shape[1]


def design_matrix(row_study: np.ndarray, row_treat: np.ndarray,
                  study_design: list[int]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Design-by-treatment interaction model: one parameter per design and non-baseline arm.

    Studies of one design share their baseline (the design's first treatment), so the column
    (design d, treatment t) is the d-specific effect of t against that baseline. Returns the
    matrix and the (design, treatment) key of every column.
    """
    keys: list[tuple[int, int]] = []
    pos: dict[tuple[int, int], int] = {}
    for s, t in zip(row_study, row_treat, strict=True):
        key = (study_design[int(s)], int(t))
        if key not in pos:
            pos[key] = len(keys)
            keys.append(key)
    order = sorted(range(len(keys)), key=lambda j: keys[j])
    keys = [keys[j] for j in order]
    pos = {k: j for j, k in enumerate(keys)}
    Z = np.zeros((row_study.shape[0], len(keys)))
    for r, (s, t) in enumerate(zip(row_study, row_treat, strict=True)):
        Z[r, pos[(study_design[int(s)], int(t))]] = 1.0
    return Z, keys


def independent_columns(X_base: np.ndarray, Z: np.ndarray, tol: float | None = None) -> np.ndarray:
    """Columns of Z, in order, that are linearly independent of X_base and of earlier ones.

    As metafor drops redundant predictors (pivoted QR in column order), so that a model given
    consistency columns plus interaction columns keeps all consistency columns.
    """
    keep = []
    cur = X_base.copy()
    rank = np.linalg.matrix_rank(cur, tol=tol) if cur.size else 0
    for j in range(Z.shape[1]):
        cand = np.column_stack([cur, Z[:, j]]) if cur.size else Z[:, [j]]
        r = np.linalg.matrix_rank(cand, tol=tol)
        if r > rank:
            keep.append(j)
            cur, rank = cand, r
    return np.array(keep, dtype=int)
