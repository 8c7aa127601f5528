"""Effect sizes from event counts over person-time (IRR, IRD, IRSD; IR, IRLN, IRS, IRFT) and
from correlations (COR, UCOR, ZCOR).

Pure array functions; inputs are validated by :mod:`acuevidence.effect_sizes`. Formulas follow
metafor 3.8 ``escalc`` line by line (same order of operations, so results agree to rounding).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.special import gammaln

from ._es_binary import ZeroReport
from ._es_common import Raw, apply_add, wmean

__all__ = ["two_rates", "one_rate", "correlation"]


def two_rates(
    measure: str,
    x1i: np.ndarray,
    x2i: np.ndarray,
    t1i: np.ndarray,
    t2i: np.ndarray,
    *,
    add: float,
    to: str,
    drop00: bool,
) -> tuple[Raw, ZeroReport]:
    """Incidence rate ratio/difference of two groups (``x`` events over person-time ``t``).

    ``drop00`` blanks studies with no events in either group; ``add`` goes to both event counts
    of the rows ``to`` selects (rows with a zero count for ``"only0"``).
    """
    k = x1i.shape[0]
    zero = (x1i == 0) | (x2i == 0)
    dropped = ((x1i == 0) & (x2i == 0)) if drop00 else np.zeros(k, dtype=bool)
    x1i, x2i = (np.where(dropped, np.nan, x) for x in (x1i, x2i))
    (x1i, x2i), corrected = apply_add([x1i, x2i], zero & ~dropped, add, to)
    corrected = corrected & ~dropped & (add != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ir1i = x1i / t1i
        ir2i = x2i / t2i
        if measure == "IRR":
            yi = np.log(ir1i) - np.log(ir2i)
            vi = 1 / x1i + 1 / x2i
        elif measure == "IRD":
            yi = ir1i - ir2i
            vi = ir1i / t1i + ir2i / t2i
        elif measure == "IRSD":
            yi = np.sqrt(ir1i) - np.sqrt(ir2i)
            vi = 1 / (4 * t1i) + 1 / (4 * t2i)
        else:  # pragma: no cover - guarded by the caller
            raise ValueError(measure)
    return (
        Raw(yi, vi, dropped & np.isnan(yi), dropped & np.isnan(vi)),
        ZeroReport(zero, corrected, dropped),
    )


def one_rate(
    measure: str, xi: np.ndarray, ti: np.ndarray, *, add: float, to: str
) -> tuple[Raw, ZeroReport]:
    """Incidence rate of one group (``xi`` events over person-time ``ti``); ``add`` goes to
    ``xi`` in the rows ``to`` selects (rows with ``xi == 0`` for ``"only0"``)."""
    k = xi.shape[0]
    zero = xi == 0
    (xi,), corrected = apply_add([xi], zero, add, to)
    corrected = corrected & (add != 0)
    none = np.zeros(k, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        iri = xi / ti
        if measure == "IR":
            yi = iri
            vi = iri / ti
        elif measure == "IRLN":
            yi = np.log(iri)
            vi = 1 / xi
        elif measure == "IRS":
            yi = np.sqrt(iri)
            vi = 1 / (4 * ti)
        elif measure == "IRFT":
            yi = 0.5 * (np.sqrt(iri) + np.sqrt(iri + 1 / ti))
            vi = 1 / (4 * ti)
        else:  # pragma: no cover - guarded by the caller
            raise ValueError(measure)
    return Raw(yi, vi, none, none.copy()), ZeroReport(zero, corrected, none.copy())


def _hyp2f1(a: float, b: float, c: float, x: float) -> float:
    """Gauss hypergeometric function 2F1(a, b; c; x) for 0 <= x <= 1, c > a + b, a, b > 0.

    scipy's ``hyp2f1`` returns NaN for large ``c`` with ``x`` near 1 (r near 0), so: the power
    series where it converges fast (x < 0.8, or c >= 12, where (c)_n makes the terms fall
    quickly); otherwise Euler's integral
    ``Gamma(c) / (Gamma(b) Gamma(c-b)) * int_0^1 t^(b-1) (1-t)^(c-b-1) (1-xt)^(-a) dt``,
    on [0, 1/2] with t = sin^2(theta) and on [1/2, 1] with 1 - t = exp(-w), which keeps the
    integrand smooth as x -> 1. Checked against mpmath to 2e-15 (relative) over the range
    UCOR uses.
    """
    if x < 0.8 or c >= 12:
        term, total, n = 1.0, 1.0, 0
        while abs(term) > 1e-17 * abs(total) and n < 100_000:
            term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * x
            total += term
            n += 1
        return total
    eps = 1.0 - x

    def near0(th: float) -> float:
        s, co = math.sin(th), math.cos(th)
        return 2 * s ** (2 * b - 1) * co ** (2 * c - 2 * b - 1) * (1 - x * s * s) ** (-a)

    def near1(w: float) -> float:
        e = math.exp(-w)
        return (1 - e) ** (b - 1) * math.exp(-w * (c - b)) * (e + eps * (1 - e)) ** (-a)

    i1 = quad(near0, 0, math.pi / 4, epsabs=0, epsrel=1e-12, limit=200)[0]
    w_max = math.log(2) + 40 / (c - a - b) + 40
    points = [-math.log(eps)] if eps > 0 and -math.log(eps) < w_max else None
    i2 = quad(near1, math.log(2), w_max, epsabs=0, epsrel=1e-12, limit=500, points=points)[0]
    return math.exp(gammaln(c) - gammaln(b) - gammaln(c - b)) * (i1 + i2)


def _fcalc(a: float, b: float, g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gauss hypergeometric 2F1(a, b; g; x), NA where ``g <= a + b`` (metafor's ``.Fcalc``)."""
    out = np.full(g.shape[0], np.nan)
    for i in np.flatnonzero((g > a + b) & ~np.isnan(x)):
        out[i] = _hyp2f1(a, b, float(g[i]), float(x[i]))
    return out


def correlation(measure: str, ri: np.ndarray, ni: np.ndarray, *, vtype: np.ndarray) -> Raw:
    """Correlation coefficients: raw (COR), unbiased (UCOR, Olkin & Pratt 1958) and Fisher's z
    (ZCOR). As in metafor, ``vi`` is left missing (``NA``) when ``ni <= 3``."""
    k = ri.shape[0]
    na_yi = np.zeros(k, dtype=bool)
    na_vi = np.zeros(k, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure in ("COR", "UCOR"):
            if measure == "COR":
                yi = ri.copy()
            else:
                f = _fcalc(0.5, 0.5, (ni - 2) / 2, 1 - ri**2)
                na_yi = np.isnan(f)
                yi = ri * f
            mnwyi = wmean(yi, ni)
            f_ub = _fcalc(1.0, 1.0, ni / 2, 1 - ri**2)
            ub = yi**2 - (1 - (ni - 3) / (ni - 2) * (1 - ri**2) * f_ub)
            vi = np.select(
                [vtype == "UB", vtype == "AV"],
                [ub, (1 - mnwyi**2) ** 2 / (ni - 1)],
                default=(1 - yi**2) ** 2 / (ni - 1),
            )
            na_vi = (na_yi | ((vtype == "UB") & np.isnan(f_ub))) & np.isnan(vi)
        elif measure == "ZCOR":
            yi = 0.5 * np.log((1 + ri) / (1 - ri))
            vi = 1 / (ni - 3)
        else:  # pragma: no cover - guarded by the caller
            raise ValueError(measure)
    small = ni <= 3
    vi = np.where(small, np.nan, vi)
    return Raw(yi, vi, na_yi, na_vi | small)
