"""Estimators of the between-study variance tau^2 (pure numeric layer).

Every function takes validated float arrays: effect sizes ``y`` (k,), sampling variances ``v``
(k,), all > 0, and a full-rank design matrix ``X`` (k, p) (a column of ones for a plain
random-effects model), and returns plain numbers. The formulas follow metafor's ``rma.uni``
(version 3.8) so that results agree to rounding; where metafor iterates to a loose threshold
(1e-5), these functions solve the same equation to 1e-10 or better.

References
----------
DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin Trials 7:177-188.
Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis. Academic Press.
Hunter JE, Schmidt FL (2004). Methods of Meta-Analysis. 2nd ed. Sage.
Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for meta-analysis.
    J R Stat Soc C 54:367-384.
Paule RC, Mandel J (1982). Consensus values and weighting factors. J Res Natl Bur Stand 87:377-385.
Morris CN (1983). Parametric empirical Bayes inference. J Am Stat Assoc 78:47-55.
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the
    random-effects model. J Educ Behav Stat 30:261-293.
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
DerSimonian R, Kacker R (2007). Random-effects model for meta-analysis of clinical trials: an
    update. Contemp Clin Trials 28:105-114.
Veroniki AA et al. (2016). Methods to estimate the between-study variance and its uncertainty in
    meta-analysis. Res Synth Methods 7:55-79.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from .errors import ConvergenceError

__all__ = [
    "CODES",
    "Tau2Fit",
    "estimate_tau2",
    "loglik",
    "projection",
    "rss",
]

# Iterative estimators are solved to this accuracy on the tau^2 scale (relative to max(1, tau2)).
TAU2_TOL = 1e-12
# Iteration cap before a solver falls back to its next path.
MAX_ITER = 200
# Step halvings allowed per Fisher-scoring / Newton step before giving up on that path.
MAX_HALVINGS = 60

# metafor code -> readable description (used in messages and summaries).
CODES: dict[str, str] = {
    "EE": "equal effects",
    "FE": "fixed effects",
    "CE": "common effect",
    "DL": "DerSimonian-Laird",
    "DLIT": "iterated DerSimonian-Laird",
    "HE": "Hedges",
    "HS": "Hunter-Schmidt",
    "HSk": "Hunter-Schmidt (k-corrected)",
    "SJ": "Sidik-Jonkman",
    "SJIT": "iterated Sidik-Jonkman",
    "ML": "maximum likelihood",
    "REML": "restricted maximum likelihood",
    "EB": "empirical Bayes",
    "PM": "Paule-Mandel",
    "PMM": "median-unbiased Paule-Mandel",
    "GENQ": "generalized Q-statistic",
}


@dataclass(frozen=True)
class Tau2Fit:
    """Outcome of a tau^2 estimator: the value, its SE, and how it was reached."""

    tau2: float
    se: float
    converged: bool = True
    iterations: int = 0
    path: str = "closed-form"


# ---------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------
def projection(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Return P = W - W X (X'WX)^-1 X'W for weights ``w``.

    P is the matrix of the weighted residual quadratic form: y'Py is the weighted residual sum
    of squares of the weighted least-squares fit of y on X.
    """
    WX = w[:, None] * X
    XtWX = X.T @ WX
    return np.diag(w) - WX @ np.linalg.solve(XtWX, WX.T)


def rss(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Generalized Q: weighted residual sum of squares y'P(tau2)y with weights 1/(v + tau2)."""
    w = 1.0 / (v + tau2)
    WX = w[:, None] * X
    beta = np.linalg.solve(X.T @ WX, WX.T @ y)
    e = y - X @ beta
    return float(np.sum(w * e * e))


def loglik(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray, reml: bool) -> float:
    """Log-likelihood (ML) or restricted log-likelihood (REML) at ``tau2``, beta profiled out.

    Same constants as metafor's ``fit.stats`` (REML without the optional log|X'X| term).
    """
    k, p = X.shape
    s = v + tau2
    w = 1.0 / s
    WX = w[:, None] * X
    XtWX = X.T @ WX
    beta = np.linalg.solve(XtWX, WX.T @ y)
    e = y - X @ beta
    r = float(np.sum(w * e * e))
    if reml:
        _, logdet = np.linalg.slogdet(XtWX)
        return -0.5 * (k - p) * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(s))) \
            - 0.5 * logdet - 0.5 * r
    return -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(s))) - 0.5 * r


def loglik_grid(grid: np.ndarray, y: np.ndarray, v: np.ndarray, X: np.ndarray,
                reml: bool) -> np.ndarray:
    """:func:`loglik` at many tau^2 values at once (vectorised for an intercept-only X)."""
    k, p = X.shape
    if p != 1 or not np.all(X == 1.0):
        return np.array([loglik(t, y, v, X, reml) for t in grid])
    s = v[:, None] + grid[None, :]
    w = 1.0 / s
    sw = w.sum(axis=0)
    mu = (w * y[:, None]).sum(axis=0) / sw
    r = (w * (y[:, None] - mu) ** 2).sum(axis=0)
    out = -0.5 * np.log(s).sum(axis=0) - 0.5 * r
    if reml:
        return out - 0.5 * (k - p) * math.log(2 * math.pi) - 0.5 * np.log(sw)
    return out - 0.5 * k * math.log(2 * math.pi)


def _ols_projection(X: np.ndarray) -> np.ndarray:
    k = X.shape[0]
    return np.eye(k) - X @ np.linalg.solve(X.T @ X, X.T)


# ---------------------------------------------------------------------------------------
# Closed-form estimators
# ---------------------------------------------------------------------------------------
def _dl(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Fit:
    k, p = X.shape
    P = projection(1.0 / v, X)
    trP = float(np.trace(P))
    tau2 = max(0.0, (float(y @ P @ y) - (k - p)) / trP)
    se = math.sqrt((2 * (k - p) + 4 * tau2 * trP + 2 * tau2**2 * float(np.sum(P * P))) / trP**2)
    return Tau2Fit(tau2, se)


def _he(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Fit:
    k, p = X.shape
    P = _ols_projection(X)
    PV = P * v[None, :]
    trPV = float(np.trace(PV))
    tau2 = max(0.0, (float(y @ P @ y) - trPV) / (k - p))
    se = math.sqrt(
        (2 * float(np.sum(PV * PV.T)) + 4 * tau2 * trPV + 2 * tau2**2 * (k - p)) / (k - p) ** 2
    )
    return Tau2Fit(tau2, se)


def _hs(y: np.ndarray, v: np.ndarray, X: np.ndarray, k_corrected: bool) -> Tau2Fit:
    k, p = X.shape
    w = 1.0 / v
    P = projection(w, X)
    r = float(y @ P @ y)
    sw = float(np.sum(w))
    factor = k / (k - p) if k_corrected else 1.0
    tau2 = max(0.0, (factor * r - k) / sw)
    se = factor * math.sqrt(
        (2 * (k - p) + 4 * tau2 * float(np.trace(P)) + 2 * tau2**2 * float(np.sum(P * P))) / sw**2
    )
    return Tau2Fit(tau2, se)


def _sj(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Fit:
    k, p = X.shape
    ymc = y - y.mean()
    tau2_0 = float(np.sum(ymc * ymc)) / k  # var(y) * (k-1)/k, metafor's starting value
    if tau2_0 <= 0:
        # All effects identical: the SJ ratio is 0/0; the only sensible answer is no heterogeneity.
        return Tau2Fit(0.0, 0.0)
    P = projection(1.0 / (v + tau2_0), X)
    tau2 = max(0.0, tau2_0 * float(y @ P @ y) / (k - p))
    PV = P * v[None, :]
    se = math.sqrt(
        tau2_0**2 / (k - p) ** 2
        * (2 * float(np.sum(PV * PV.T)) + 4 * tau2 * float(np.sum(PV * P))
           + 2 * tau2**2 * float(np.sum(P * P)))
    )
    return Tau2Fit(tau2, se)


def _genq(y: np.ndarray, v: np.ndarray, X: np.ndarray, a: np.ndarray) -> Tau2Fit:
    P = projection(a, X)
    PV = P * v[None, :]
    trP = float(np.trace(P))
    trPV = float(np.trace(PV))
    tau2 = max(0.0, (float(y @ P @ y) - trPV) / trP)
    se = math.sqrt(
        (2 * float(np.sum(PV * PV.T)) + 4 * tau2 * float(np.sum(PV * P))
         + 2 * tau2**2 * float(np.sum(P * P))) / trP**2
    )
    return Tau2Fit(tau2, se)


# ---------------------------------------------------------------------------------------
# Estimating-equation estimators (PM, PMM, EB, SJIT, DLIT): roots of monotone functions
# ---------------------------------------------------------------------------------------
def _upper_bracket(f, start: float) -> float:
    """Smallest doubling of ``start`` at which the decreasing function ``f`` is negative."""
    hi = max(start, 1.0)
    while math.isfinite(hi):  # up to the float range: tau^2 may be ~y^2 for y of any scale
        if f(hi) < 0:
            return hi
        hi *= 2.0
    raise ConvergenceError("no finite upper bound for tau^2 was found (the data look "
                           "degenerate: check for near-zero sampling variances)")


def _root_decreasing(f, start: float) -> tuple[float, int]:
    """Root of a decreasing function on [0, inf) (0 when f(0) <= 0), to TAU2_TOL."""
    if f(0.0) <= 0:
        return 0.0, 0
    hi = _upper_bracket(f, start)
    root, res = optimize.brentq(f, 0.0, hi, xtol=TAU2_TOL, rtol=4 * np.finfo(float).eps,
                                full_output=True, maxiter=500)
    return float(root), int(res.iterations)


def _se_pm(v: np.ndarray, tau2: float, k: int, p: int) -> float:
    # metafor's approximation, used for EB, PM, PMM and SJIT alike.
    w = 1.0 / (v + tau2)
    return math.sqrt(2 * k**2 / (k - p) / float(np.sum(w)) ** 2)


def _pm(y: np.ndarray, v: np.ndarray, X: np.ndarray, target: float, label: str) -> Tau2Fit:
    k, p = X.shape
    ymc = y - y.mean()
    start = float(np.sum(ymc * ymc)) / max(k - 1, 1)
    tau2, it = _root_decreasing(lambda t: rss(t, y, v, X) - target, start)
    return Tau2Fit(tau2, _se_pm(v, tau2, k, p), True, it, "brent-root")


def _sjit(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Fit:
    # Fixed point of tau2 <- tau2 * Q(tau2)/(k-p): for tau2 > 0 this is Q(tau2) = k - p, the
    # Paule-Mandel equation; when Q(0) < k - p the iteration decays towards 0.
    k, p = X.shape
    ymc = y - y.mean()
    start = float(np.sum(ymc * ymc)) / k
    if start <= 0:
        return Tau2Fit(0.0, _se_pm(v, 0.0, k, p))
    tau2, it = _root_decreasing(lambda t: rss(t, y, v, X) - (k - p), start)
    return Tau2Fit(tau2, _se_pm(v, tau2, k, p), True, it, "brent-root")


def _dlit(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Fit:
    # metafor iterates tau2 <- max(0, (Q_w - (k-p)) / tr(P_w)) with weights w = 1/(v + tau2),
    # starting at 0. We run that map, and if it has not settled, solve its fixed-point equation
    # g(t) = (Q_w(t) - (k-p)) / tr(P_w(t)) - t = 0 by bracketing.
    k, p = X.shape

    def step(t: float) -> tuple[float, np.ndarray]:
        P = projection(1.0 / (v + t), X)
        return max(0.0, (float(y @ P @ y) - (k - p)) / float(np.trace(P))), P

    t = 0.0
    path = "fixed-point"
    for it in range(1, MAX_ITER + 1):
        t_new, P = step(t)
        if abs(t_new - t) <= TAU2_TOL * max(1.0, t):
            t = t_new
            break
        t = t_new
    else:
        path = "brent-root"
        g = lambda s: step(s)[0] - s
        t, it = _root_decreasing(g, t)
    _, P = step(t)
    trP = float(np.trace(P))
    se = math.sqrt((2 * (k - p) + 4 * t * trP + 2 * t**2 * float(np.sum(P * P))) / trP**2)
    return Tau2Fit(t, se, True, it, path)


# ---------------------------------------------------------------------------------------
# Likelihood estimators (ML, REML): safeguarded Newton / Fisher scoring, then bracketing
# ---------------------------------------------------------------------------------------
def _score_info(t: float, y: np.ndarray, v: np.ndarray, X: np.ndarray, reml: bool):
    """Score, Fisher information and observed information of (RE)ML in tau^2."""
    w = 1.0 / (v + t)
    P = projection(w, X)
    Py = P @ y
    PPy = P @ Py
    yPPy = float(Py @ Py)
    yPPPy = float(Py @ PPy)
    if reml:
        PP = P @ P
        trP = float(np.trace(P))
        trPP = float(np.trace(PP))
        score = 0.5 * (yPPy - trP)
        fisher = 0.5 * trPP
        observed = -0.5 * trPP + yPPPy
    else:
        sw = float(np.sum(w))
        sw2 = float(np.sum(w * w))
        score = 0.5 * (yPPy - sw)
        fisher = 0.5 * sw2
        observed = -0.5 * sw2 + yPPPy
    return score, fisher, observed, P


def _likelihood(y: np.ndarray, v: np.ndarray, X: np.ndarray, reml: bool) -> Tau2Fit:
    k, p = X.shape
    ll = lambda t: loglik(t, y, v, X, reml)
    t = _he(y, v, X).tau2  # metafor's starting value
    path = "newton"
    converged = False
    it = 0
    halved = False
    ll_t = ll(t)
    for it in range(1, MAX_ITER + 1):
        score, fisher, observed, _ = _score_info(t, y, v, X, reml)
        if t <= 0.0 and score <= 0.0:
            converged = True  # maximum on the boundary
            t = 0.0
            break
        # Newton where the likelihood is locally concave, Fisher scoring elsewhere.
        step = score / observed if observed > 0 else score / fisher
        # Convergence is judged on the full step (the distance to the maximum Newton predicts),
        # never on a halved one: a step shrunk by halving can be tiny far from the maximum.
        full = abs(max(0.0, t + step) - t)
        if full <= TAU2_TOL * max(1.0, t):
            t = max(0.0, t + step)
            converged = True
            break
        for _ in range(MAX_HALVINGS):
            cand = max(0.0, t + step)
            ll_c = ll(cand)
            if ll_c >= ll_t - 1e-13 * max(1.0, abs(ll_t)):
                break
            step *= 0.5
            halved = True
        else:
            break
        t, ll_t = cand, ll_c
    if halved and converged:
        path = "newton+step-halving"
    if not converged:
        path = "bracketed"
        t, extra = _bracketed_max(ll, y, v, X, reml)
        it += extra
        converged = True
    else:
        # The (restricted) likelihood can have two maxima, one at tau^2 = 0 and one inside;
        # a local search from one start can stop at the lower one (as metafor's Fisher scoring
        # does). A vectorised grid scan catches that and the bracketed search then polishes.
        grid = _search_grid(y, v)
        vals = loglik_grid(grid, y, v, X, reml)
        ll_t = ll(t)
        if float(np.max(vals)) > ll_t + 1e-10 * max(1.0, abs(ll_t)):
            t2, extra = _bracketed_max(ll, y, v, X, reml, grid, vals)
            if ll(t2) > ll_t:
                t, path = t2, path + "+global-search"
                it += extra
    w = 1.0 / (v + t)
    if reml:
        P = projection(w, X)
        se = math.sqrt(2.0 / float(np.sum(P * P)))
    else:
        se = math.sqrt(2.0 / float(np.sum(w * w)))
    return Tau2Fit(t, se, converged, it, path)


def _search_grid(y: np.ndarray, v: np.ndarray) -> np.ndarray:
    ymc = y - y.mean()
    scale = max(float(np.sum(ymc * ymc)) / max(len(y) - 1, 1), float(np.max(v)), 1e-12)
    return np.concatenate([[0.0], scale * np.logspace(-8, 4, 121)])


def _bracketed_max(ll, y, v, X, reml: bool, grid: np.ndarray | None = None,
                   vals: np.ndarray | None = None) -> tuple[float, int]:
    """Maximise the (restricted) likelihood over tau^2 >= 0 without relying on a start value.

    Scans a log-spaced grid for the best cell, then finds the root of the score inside it
    (Brent), or maximises with bounded Brent when the score does not change sign there.
    """
    if grid is None or vals is None:
        grid = _search_grid(y, v)
        vals = loglik_grid(grid, y, v, X, reml)
    i = int(np.argmax(vals))
    lo = float(grid[max(i - 1, 0)])
    hi = float(grid[min(i + 1, len(grid) - 1)])
    if i == 0 and _score_info(0.0, y, v, X, reml)[0] <= 0:
        return 0.0, len(grid)
    sc = lambda t: _score_info(t, y, v, X, reml)[0]
    s_lo, s_hi = sc(lo), sc(hi)
    if s_lo > 0 > s_hi:
        root, res = optimize.brentq(sc, lo, hi, xtol=TAU2_TOL, rtol=4 * np.finfo(float).eps,
                                    full_output=True)
        return float(root), len(grid) + int(res.iterations)
    res = optimize.minimize_scalar(lambda t: -ll(t), bounds=(lo, hi), method="bounded",
                                   options={"xatol": TAU2_TOL})
    if not res.success or not np.isfinite(res.x):
        raise ConvergenceError(
            ("restricted maximum likelihood" if reml else "maximum likelihood")
            + " found no maximum of the likelihood for tau^2; try method='PM' or 'DL'",
            estimator="REML" if reml else "ML")
    return float(res.x), len(grid) + int(res.nfev)


def _eb(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2Fit:
    # Morris' empirical Bayes update tau2 <- tau2 + (Q * k/(k-p) - k)/sum(w) has the fixed point
    # Q(tau2) = k - p: the Paule-Mandel equation, solved here by bracketing.
    k, p = X.shape
    fit = _pm(y, v, X, float(k - p), "EB")
    return fit


# ---------------------------------------------------------------------------------------
# Dispatcher
# ---------------------------------------------------------------------------------------
def estimate_tau2(
    method: str,
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray,
    weights: np.ndarray | None = None,
) -> Tau2Fit:
    """Estimate tau^2 with a metafor method code (see :data:`CODES`).

    Parameters
    ----------
    method : str
        A canonical metafor code: DL, DLIT, HE, HS, HSk, SJ, SJIT, ML, REML, EB, PM, PMM, GENQ.
    y, v : ndarray
        Effect sizes and sampling variances (v > 0), shape (k,).
    X : ndarray
        Design matrix (k, p) of full column rank, k > p.
    weights : ndarray, optional
        User weights, required for GENQ.
    """
    if method == "DL":
        return _dl(y, v, X)
    if method == "HE":
        return _he(y, v, X)
    if method == "HS":
        return _hs(y, v, X, k_corrected=False)
    if method == "HSk":
        return _hs(y, v, X, k_corrected=True)
    if method == "SJ":
        return _sj(y, v, X)
    if method == "REML":
        return _likelihood(y, v, X, reml=True)
    if method == "ML":
        return _likelihood(y, v, X, reml=False)
    if method == "EB":
        return _eb(y, v, X)
    if method == "PM":
        k, p = X.shape
        return _pm(y, v, X, float(k - p), "PM")
    if method == "PMM":
        k, p = X.shape
        return _pm(y, v, X, float(stats.chi2.ppf(0.5, k - p)), "PMM")
    if method == "SJIT":
        return _sjit(y, v, X)
    if method == "DLIT":
        return _dlit(y, v, X)
    if method == "GENQ":
        if weights is None:
            raise ValueError("GENQ needs weights")
        return _genq(y, v, X, weights)
    raise ValueError(f"unknown tau^2 method {method!r}")
