"""Numerical core of :mod:`acuevidence.bayes`: pure functions and the tau integration.

Arrays in, arrays out: the conditional posterior of mu given tau (with the marginal likelihood
of tau), normal-mixture CDF/density/quantiles, shortest intervals, and :class:`_TauPosterior`,
which integrates the marginal posterior of tau by adaptive Gauss-Kronrod quadrature on log(tau).
See :mod:`acuevidence.bayes` for the method and references.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import optimize, special

from .bayes_priors import TauPrior

__all__ = ["conditional_posterior", "mixture_cdf", "mixture_pdf", "mixture_ppf",
           "shortest_interval", "QUAD_TOL", "TAIL_TOL", "TAU_LO_FACTOR"]

LOG_2PI = math.log(2.0 * math.pi)
#: Relative error target of the adaptive quadrature (per integrand, against its L1 norm).
QUAD_TOL = 1e-10
#: The upper end of the tau range is extended until the mass beyond it is below this fraction.
TAIL_TOL = 1e-14
#: Below tau_lo = TAU_LO_FACTOR * min(sqrt(v)), L(tau) equals L(0) to ~1e-16 relative.
TAU_LO_FACTOR = 1e-8
_U_CAP = 340.0          # log(tau) never above this: tau^2 ~ 1e295 is still a finite double
_MAX_ROUNDS = 60
_MAX_PANELS = 20000

# Gauss-Kronrod 7/15 nodes on [-1, 1] (QUADPACK's qk15), ascending; the Gauss nodes are the
# odd positions.
_XK_HALF = np.array([0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                     0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                     0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                     0.207784955007898467600689403773245, 0.0])
_WK_HALF = np.array([0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                     0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                     0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                     0.204432940075298892414161999234649, 0.209482141084727828012999174891714])
_WG_HALF = np.array([0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
                     0.381830050505118944950369775488975, 0.417959183673469387755102040816327])
XK = np.concatenate([-_XK_HALF[:-1], _XK_HALF[::-1]])
WK = np.concatenate([_WK_HALF[:-1], _WK_HALF[::-1]])
GIDX = np.arange(1, 15, 2)
WG = np.concatenate([_WG_HALF[:-1], _WG_HALF[::-1]])


# ------------------------------------------------------------------------ pure numerics
def conditional_posterior(tau: np.ndarray, y: np.ndarray, v: np.ndarray,
                          mu_prior_mean: float | None = None,
                          mu_prior_sd: float | None = None) -> tuple[np.ndarray, ...]:
    """Conditional posterior of mu given tau, and the marginal log-likelihood of tau.

    Parameters
    ----------
    tau : array, shape (n,)
        Heterogeneity SDs.
    y, v : array, shape (k,)
        Effect sizes and sampling variances.
    mu_prior_mean, mu_prior_sd : float, optional
        Normal prior for mu; None for the flat prior.

    Returns
    -------
    mean, var, loglik : arrays, shape (n,)
        mu | tau, y ~ N(mean, var); ``loglik`` = log p(y | tau) with mu integrated out (for the
        flat prior: against a unit density, as bayesmeta's ``likelihood(tau=)``).
    """
    t = np.asarray(tau, dtype=float).reshape(-1)
    s = v[None, :] + (t * t)[:, None]
    w = 1.0 / s
    sw = w.sum(axis=1)
    swy = w @ y
    normal = mu_prior_sd is not None
    if normal:
        p0 = 1.0 / float(mu_prior_sd) ** 2
        sw = sw + p0
        swy = swy + p0 * float(mu_prior_mean)
    mean = swy / sw
    resid = np.sum(w * (y[None, :] - mean[:, None]) ** 2, axis=1)
    n = y.shape[0]
    extra = 0.0
    if normal:
        resid = resid + p0 * (float(mu_prior_mean) - mean) ** 2
        n += 1
        extra = math.log(float(mu_prior_sd) ** 2)
    loglik = -0.5 * ((n - 1) * LOG_2PI + np.log(s).sum(axis=1) + extra + resid + np.log(sw))
    return mean, 1.0 / sw, loglik


def mixture_cdf(x: Any, w: np.ndarray, m: np.ndarray, s: np.ndarray) -> np.ndarray:
    """CDF of the normal mixture sum_j w_j N(m_j, s_j^2) at ``x``."""
    xs = np.atleast_1d(np.asarray(x, dtype=float))
    return special.ndtr((xs[:, None] - m[None, :]) / s[None, :]) @ w


def mixture_pdf(x: Any, w: np.ndarray, m: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Density of the normal mixture at ``x``."""
    xs = np.atleast_1d(np.asarray(x, dtype=float))
    z = (xs[:, None] - m[None, :]) / s[None, :]
    return np.exp(-0.5 * z * z - 0.5 * LOG_2PI) / s[None, :] @ w


def mixture_ppf(p: float, w: np.ndarray, m: np.ndarray, s: np.ndarray) -> float:
    """Quantile of the normal mixture (bracketed root of the CDF, ~1e-13 absolute)."""
    if not 0.0 < p < 1.0:
        return -math.inf if p <= 0 else math.inf
    # Start from the weighted medians of the means and SDs (robust to far-out components
    # that carry little weight) and double the bracket until it holds the quantile.
    # The first step is at least a few units in the last place of c: a smaller one leaves
    # c + d == c, and the doubling below would then never move the bracket.
    c = _weighted_median(m, w)
    d = max(_weighted_median(s, w), 4.0 * float(np.spacing(abs(c))), 1e-300)

    def f(x: float) -> float:
        return float(mixture_cdf(x, w, m, s)[0]) - p

    lo, hi = c - d, c + d
    while f(lo) > 0:
        lo, d = lo - 2 * d, 2 * d
        if not math.isfinite(lo):
            return -math.inf
    d = hi - c
    while f(hi) < 0:
        hi, d = hi + 2 * d, 2 * d
        if not math.isfinite(hi):
            return math.inf
    return float(optimize.brentq(f, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps,
                                 maxiter=2000))


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    order = np.argsort(x)
    i = min(int(np.searchsorted(np.cumsum(w[order]), 0.5)), x.size - 1)
    return float(x[order][i])


def shortest_interval(ppf: Callable[[float], float], pdf: Callable[[float], float], level: float,
                      *, lower_bounded: bool = False) -> tuple[float, float]:
    """Shortest interval with probability ``level`` of a unimodal distribution.

    The endpoints have equal density; when the density at the lower end of the support is at
    least that at the ``level`` quantile (``lower_bounded`` distributions with the mode at the
    boundary, such as tau), the interval is one-sided.
    """
    if lower_bounded and pdf(ppf(0.0)) >= pdf(ppf(level)):
        return ppf(0.0), ppf(level)
    eps = 1e-10

    def phi(p: float) -> float:
        return pdf(ppf(p)) - pdf(ppf(p + level))

    a, b = (0.0 if lower_bounded else eps), 1.0 - level - eps
    fa, fb = phi(a), phi(b)
    if fa >= 0:
        return ppf(a), ppf(a + level)
    if fb <= 0:
        return ppf(b), ppf(b + level)
    p = optimize.brentq(phi, a, b, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=300)
    return ppf(p), ppf(p + level)


# ------------------------------------------------------------------ posterior of tau
class _TauPosterior:
    """Marginal posterior of tau by adaptive Gauss-Kronrod quadrature on u = log(tau).

    Masses are kept on a common scale exp(-shift) so nothing overflows; ``z`` is the scaled
    normalising constant (lump on [0, tau_lo] + panels + tail remainder).
    """

    def __init__(self, prior: TauPrior, y: np.ndarray, v: np.ndarray,
                 m0: float | None, s0: float | None):
        self.prior, self.y, self.v, self.m0, self.s0 = prior, y, v, m0, s0
        k = y.shape[0]
        beta = float(k - 1 if s0 is None else k)       # L(tau) ~ tau^-beta for large tau
        self.finite = {m: prior.moment_finite(m, beta) for m in (1, 2)}
        self.notes: list[str] = []
        upper = prior.upper
        self.tau_lo = TAU_LO_FACTOR * float(np.sqrt(v.min()))
        if math.isfinite(upper):
            self.tau_lo = min(self.tau_lo, upper * TAU_LO_FACTOR)
        ll0 = float(self._loglik(np.array([0.0]))[0])
        self.ll0 = ll0
        below = prior.mass_below(self.tau_lo)
        self.log_lump = ll0 + (math.log(below) if below > 0 else -math.inf)
        u_lo = math.log(self.tau_lo)
        if math.isfinite(upper):
            u_hi = math.log(upper)
        else:
            spread = float(np.ptp(y)) if k > 1 else 0.0
            ref = max(float(np.sqrt(v.max())), spread, prior.typical_scale
                      if math.isfinite(prior.typical_scale) else 0.0)
            u_hi = math.log(10.0 * ref) + 1.0
        u_hi = max(u_hi, u_lo + 1.0)
        self.tail_tau = math.inf
        self.log_tail = -math.inf
        if not math.isfinite(upper):
            u_hi = self._extend(u_lo, u_hi)
        n = max(math.ceil(u_hi - u_lo), 1)
        edges = np.linspace(u_lo, u_hi, n + 1)
        self._refine(edges[:-1], edges[1:])

    # -- evaluation ----------------------------------------------------------------------
    def _loglik(self, tau: np.ndarray) -> np.ndarray:
        return conditional_posterior(tau, self.y, self.v, self.m0, self.s0)[2]

    def _logg(self, u: np.ndarray) -> np.ndarray:
        """log of the integrand in u: log p(tau) + log L(tau) + u, tau = exp(u)."""
        tau = np.exp(u)
        return self._loglik(tau) + self.prior.logpdf(tau) + u

    def _moments(self) -> list[int]:
        return [0] + [m for m in (1, 2) if self.finite[m]]

    def _extend(self, u_lo: float, u_hi: float) -> float:
        """Move the upper end out until the tail beyond it holds < TAIL_TOL of each moment."""
        edges = np.linspace(u_lo, u_hi, max(math.ceil(u_hi - u_lo), 1) + 1)
        a, b = edges[:-1], edges[1:]
        u = (0.5 * (a + b))[:, None] + (0.5 * (b - a))[:, None] * XK[None, :]
        lg = self._logg(u.ravel()).reshape(u.shape)
        log_i = {}
        for m in self._moments():
            lf = lg + m * u
            top = max(float(lf.max()), self.log_lump if m == 0 else -math.inf)
            mass = float(np.sum(np.exp(lf - top) * WK * (0.5 * (b - a))[:, None]))
            log_i[m] = top + math.log(mass) if mass > 0 else top
        step = 2.0
        while True:
            pts = np.array([u_hi - 1.0, u_hi])
            lg2 = self._logg(pts)
            done = True
            for m, li in log_i.items():
                lf = lg2 + m * pts
                lam = float(lf[0] - lf[1])
                if not (lam > 0.05 and lf[1] - math.log(lam) < math.log(TAIL_TOL) + li):
                    done = False
            if done:
                return u_hi
            if u_hi >= _U_CAP:
                break
            u_hi = min(u_hi + step, _U_CAP)
            step *= 1.25
        # Still heavy at tau ~ 1e147 (e.g. a log-t prior with k = 1): keep the rest of the mass
        # as one component at that tau, bounded by L(T) * prior mass above T (exact when L is
        # flat), and say so.
        t_cap = math.exp(u_hi)
        above = self.prior.mass_above(t_cap)
        self.tail_tau = t_cap
        self.log_tail = (float(self._loglik(np.array([t_cap]))[0]) + math.log(above)
                         if 0 < above < math.inf else -math.inf)
        return u_hi

    def _panel_values(self, a: np.ndarray, b: np.ndarray):
        u = (0.5 * (a + b))[:, None] + (0.5 * (b - a))[:, None] * XK[None, :]
        tau = np.exp(u)
        mean, var, ll = conditional_posterior(tau.ravel(), self.y, self.v, self.m0, self.s0)
        lg = (ll + self.prior.logpdf(tau.ravel())).reshape(u.shape) + u
        return u, tau, mean.reshape(u.shape), var.reshape(u.shape), lg

    def _integrands(self, e, tau, mean, var):
        """Integrands under error control, and the magnitudes their errors are judged against.

        The mean of mu may be ~0 (symmetric data), so its error is measured against
        E[|mu_hat| + sqrt(V)] rather than against itself, which would chase rounding noise.
        """
        cols, mags = [e], [e]
        for m, col in ((1, e * tau), (2, e * tau * tau)):
            if self.finite[m]:
                cols.append(col)
                mags.append(col)
        cols.append(e * mean)
        mags.append(e * (np.abs(mean) + np.sqrt(var)))
        if self.finite[2] or self.s0 is not None:
            cols.append(e * (mean * mean + var))
            mags.append(cols[-1])
        return np.stack(cols, axis=-1), np.stack(mags, axis=-1)

    def _refine(self, a: np.ndarray, b: np.ndarray) -> None:
        u, tau, mean, var, lg = self._panel_values(a, b)
        self.converged = False
        for rounds in range(_MAX_ROUNDS):
            shift = max(float(lg.max()), self.log_lump, self.log_tail)
            with np.errstate(under="ignore"):
                e = np.exp(lg - shift)
            hw = 0.5 * (b - a)
            f, mag = self._integrands(e, tau, mean, var)            # (P, 15, J)
            kr = np.einsum("pnj,n->pj", f, WK) * hw[:, None]
            ga = np.einsum("pnj,n->pj", f[:, GIDX, :], WG) * hw[:, None]
            l1 = np.einsum("pnj,n->pj", mag, WK) * hw[:, None]
            err = np.abs(kr - ga)
            scale = l1.sum(axis=0)
            scale[0] += math.exp(self.log_lump - shift) + math.exp(self.log_tail - shift)
            total = err.sum(axis=0)
            rel = np.divide(total, scale, out=np.zeros_like(total), where=scale > 0)
            self.rounds, self.quad_error = rounds, float(np.max(rel))
            if np.all(total <= QUAD_TOL * scale):
                self.converged = True
                break
            bad = np.any(err > 0.25 * QUAD_TOL * scale[None, :] / a.size, axis=1)
            bad &= (b - a) > 1e-12
            if not bad.any() or a.size + bad.sum() > _MAX_PANELS:
                break
            mid = 0.5 * (a[bad] + b[bad])
            na = np.concatenate([a[~bad], a[bad], mid])
            nb = np.concatenate([b[~bad], mid, b[bad]])
            nu, nt, nm, nv, nl = self._panel_values(np.concatenate([a[bad], mid]),
                                                    np.concatenate([mid, b[bad]]))
            keep = ~bad
            u = np.concatenate([u[keep], nu])
            tau = np.concatenate([tau[keep], nt])
            mean = np.concatenate([mean[keep], nm])
            var = np.concatenate([var[keep], nv])
            lg = np.concatenate([lg[keep], nl])
            a, b = na, nb
        if not self.converged:
            self.notes.append(f"The tau integration stopped at a relative error of "
                              f"{self.quad_error:.2g} (target {QUAD_TOL:g}).")
        order = np.argsort(a)
        self.a, self.b = a[order], b[order]
        self.u, self.tau, self.mean, self.var, self.lg = (x[order] for x in (u, tau, mean, var,
                                                                             lg))
        self.shift = max(float(self.lg.max()), self.log_lump, self.log_tail)
        with np.errstate(under="ignore"):
            e = np.exp(self.lg - self.shift)
        self.wk = e * WK * (0.5 * (self.b - self.a))[:, None]
        self.wg = e[:, GIDX] * WG * (0.5 * (self.b - self.a))[:, None]
        self.lump = math.exp(self.log_lump - self.shift)
        self.tail = math.exp(self.log_tail - self.shift)
        self.panel_mass = self.wk.sum(axis=1)
        self.z = self.lump + float(self.panel_mass.sum()) + self.tail
        self.log_z = self.shift + math.log(self.z)

    # -- the mixture -----------------------------------------------------------------------
    def mixture(self, gauss: bool = False) -> tuple[np.ndarray, ...]:
        """(tau, weight, mean, var) of every component: lump at 0, nodes, tail (if any)."""
        if gauss:
            t, w = self.tau[:, GIDX].ravel(), self.wg.ravel()
            m, var = self.mean[:, GIDX].ravel(), self.var[:, GIDX].ravel()
        else:
            t, w, m, var = self.tau.ravel(), self.wk.ravel(), self.mean.ravel(), self.var.ravel()
        extra_t = [0.0] + ([self.tail_tau] if self.tail > 0 else [])
        em, ev, _ = conditional_posterior(np.array(extra_t), self.y, self.v, self.m0, self.s0)
        ew = [self.lump] + ([self.tail] if self.tail > 0 else [])
        t = np.concatenate([[extra_t[0]], t, extra_t[1:]])
        w = np.concatenate([[ew[0]], w, ew[1:]])
        m = np.concatenate([[em[0]], m, em[1:]])
        var = np.concatenate([[ev[0]], var, ev[1:]])
        return t, w / w.sum(), m, var

    # -- tau: density, cdf, quantiles, mode --------------------------------------------------
    def log_density(self, t: np.ndarray) -> np.ndarray:
        tt = np.atleast_1d(np.asarray(t, dtype=float))
        return self.prior.logpdf(tt) + self._loglik(tt) - self.log_z

    def _partial(self, a: float, ub: float) -> float:
        if ub <= a:
            return 0.0
        _, _, _, _, lg = self._panel_values(np.array([a]), np.array([ub]))
        return float(np.sum(np.exp(lg[0] - self.shift) * WK) * 0.5 * (ub - a))

    def cdf(self, t: float) -> float:
        if t <= 0:
            return 0.0
        if t < self.tau_lo:
            below = self.prior.mass_below(self.tau_lo)
            return self.lump * self.prior.mass_below(t) / below / self.z if below > 0 else 0.0
        if t >= self.tail_tau:
            return 1.0
        ut = math.log(t)
        i = int(np.searchsorted(self.b, ut, side="right"))
        mass = self.lump + float(self.panel_mass[:i].sum())
        if i < self.a.size:
            mass += self._partial(float(self.a[i]), ut)
        return min(mass / self.z, 1.0)

    def ppf(self, p: float) -> float:
        target = p * self.z
        if p <= 0:
            return 0.0
        if target <= self.lump:
            return self.prior.tau_below(target / self.lump * self.prior.mass_below(self.tau_lo))
        cum = self.lump + np.cumsum(self.panel_mass)
        i = int(np.searchsorted(cum, target))
        if i >= self.a.size:
            return self.tail_tau if self.tail > 0 else float(np.exp(self.b[-1]))
        base = float(cum[i - 1]) if i > 0 else self.lump
        a, b = float(self.a[i]), float(self.b[i])

        def f(u: float) -> float:
            return base + self._partial(a, u) - target

        if f(b) <= 0:
            return math.exp(b)
        return math.exp(optimize.brentq(f, a, b, xtol=1e-14, rtol=4 * np.finfo(float).eps))

    def mode(self) -> float:
        lp0 = float(self.prior.logpdf(np.array([0.0]))[0])
        if lp0 == math.inf:
            return 0.0

        def h(t: float) -> float:
            return float(self.prior.logpdf(np.array([t]))[0] + self._loglik(np.array([t]))[0])

        t = self.tau.ravel()
        vals = self.lg.ravel() - self.u.ravel()
        order = np.argsort(t)
        t, vals = t[order], vals[order]
        j = int(np.argmax(vals))
        lo = t[j - 1] if j > 0 else 0.0
        hi = t[j + 1] if j + 1 < t.size else t[j]
        best_t, best = float(t[j]), float(vals[j])
        if hi > lo:
            r = optimize.minimize_scalar(lambda x: -h(x), bounds=(lo, hi), method="bounded",
                                         options={"xatol": 1e-12 * max(hi, 1e-300)})
            if -r.fun > best:
                best_t, best = float(r.x), float(-r.fun)
        if math.isfinite(self.prior.upper) and h(self.prior.upper) > best:
            best_t, best = self.prior.upper, h(self.prior.upper)
        # The density is flat at 0 (L is even in tau); a maximum within 1e-12 on the log scale
        # of the value at 0 is rounding, not a mode.
        if lp0 + self.ll0 >= best - 1e-12:
            return 0.0
        return best_t


class _FixedPosterior:
    """Point mass at a known tau (tau_prior='fixed')."""

    def __init__(self, tau0: float, y, v, m0, s0):
        self.tau0 = tau0
        mean, var, ll = conditional_posterior(np.array([tau0, 0.0]), y, v, m0, s0)
        self._m, self._v = mean[:1], var[:1]
        self.log_z, self.ll0 = float(ll[0]), float(ll[1])
        self.finite = {1: True, 2: True}
        self.notes: list[str] = []
        self.converged, self.quad_error, self.tail = True, 0.0, 0.0
        self.z = 1.0

    def mixture(self, gauss: bool = False):
        return np.array([self.tau0]), np.array([1.0]), self._m, self._v

    def cdf(self, t: float) -> float:
        return 1.0 if t >= self.tau0 else 0.0

    def ppf(self, p: float) -> float:
        return self.tau0

    def mode(self) -> float:
        return self.tau0

    def log_density(self, t):
        return np.full(np.atleast_1d(t).shape, -np.inf)
