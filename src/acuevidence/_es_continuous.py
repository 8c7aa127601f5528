"""Effect sizes from means and standard deviations: two groups (MD, SMD, SMDH, ROM) and one
group (MN, MNLN, CVLN, SDLN, SMN).

Pure array functions; inputs are validated by :mod:`acuevidence.effect_sizes`. Formulas follow
metafor 3.8 ``escalc`` line by line (same order of operations, so results agree to rounding).
"""

from __future__ import annotations

import numpy as np

from ._es_common import Raw, cmi, wmean

__all__ = ["two_group", "one_group"]


def two_group(
    measure: str,
    m1i: np.ndarray,
    m2i: np.ndarray,
    sd1i: np.ndarray,
    sd2i: np.ndarray,
    n1i: np.ndarray,
    n2i: np.ndarray,
    *,
    vtype: np.ndarray,
) -> Raw:
    """Two-group outcome measures of metafor's ``escalc``.

    For SMD computed from a standardized difference ``d`` (or a t statistic), the caller passes
    ``m1i = d``, ``m2i = 0``, ``sd1i = sd2i = 1``, exactly as metafor substitutes them.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ni = n1i + n2i
        mi = ni - 2
        sdpi = np.sqrt(((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / mi)
        npi = ni
        di = (m1i - m2i) / sdpi
        na_rows = np.zeros(ni.shape[0], dtype=bool)
        if measure == "MD":
            yi = m1i - m2i
            vi = np.where(
                vtype == "HO",
                sdpi**2 * (1 / n1i + 1 / n2i),
                sd1i**2 / n1i + sd2i**2 / n2i,
            )
        elif measure == "SMD":
            c = cmi(mi)
            na_rows = np.isnan(c)
            yi = c * di
            mnwyi = wmean(yi, ni)
            base = 1 / n1i + 1 / n2i
            vi = np.select(
                [vtype == "UB", vtype == "AV", vtype == "LS2"],
                [
                    base + (1 - (mi - 2) / (mi * c**2)) * yi**2,
                    base + mnwyi**2 / (2 * npi),
                    c**2 * (base + di**2 / (2 * npi)),
                ],
                default=base + yi**2 / (2 * npi),
            )
        elif measure == "SMDH":
            c = cmi(mi)
            na_rows = np.isnan(c)
            s2 = sd1i**2 + sd2i**2
            si = np.sqrt(s2 / 2)
            yi = c * (m1i - m2i) / si
            if vtype[0] == "LS2":
                vi = (
                    yi**2 * sd1i**2 / (2 * n1i * s2**2)
                    + yi**2 * sd2i**2 / (2 * n2i * s2**2)
                    + 2 * sd1i**2 / (n1i * s2)
                    + 2 * sd2i**2 / (n2i * s2)
                )
            else:
                vi = yi**2 * (sd1i**4 / (n1i - 1) + sd2i**4 / (n2i - 1)) / (2 * s2**2) + (
                    sd1i**2 / (n1i - 1) + sd2i**2 / (n2i - 1)
                ) / (s2 / 2)
                vi = c**2 * vi
        elif measure == "ROM":
            yi = np.log(m1i / m2i)
            cv1 = sd1i / m1i
            cv2 = sd2i / m2i
            mn1wcvi = wmean(cv1, n1i)
            mn2wcvi = wmean(cv2, n2i)
            ok = ~(np.isnan(n1i) | np.isnan(n2i) | np.isnan(cv1) | np.isnan(cv2))
            mnwcvi = (np.sum(n1i[ok] * cv1[ok]) + np.sum(n2i[ok] * cv2[ok])) / np.sum(
                (n1i + n2i)[ok]
            )
            vi = np.select(
                [vtype == "HO", vtype == "AV", vtype == "AVHO"],
                [
                    sdpi**2 / (n1i * m1i**2) + sdpi**2 / (n2i * m2i**2),
                    mn1wcvi**2 / n1i + mn2wcvi**2 / n2i,
                    mnwcvi**2 * (1 / n1i + 1 / n2i),
                ],
                default=sd1i**2 / (n1i * m1i**2) + sd2i**2 / (n2i * m2i**2),
            )
        else:  # pragma: no cover - guarded by the caller
            raise ValueError(measure)
    # Hedges' correction is NA (not NaN) for m <= 1; it spreads only where it is used.
    return Raw(yi, vi, na_rows & np.isnan(yi), na_rows & np.isnan(vi))


def one_group(measure: str, mi: np.ndarray, sdi: np.ndarray, ni: np.ndarray) -> Raw:
    """One-group outcome measures (means and standard deviations) of metafor's ``escalc``."""
    na_rows = np.zeros(ni.shape[0], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "MN":
            yi = mi.copy()
            vi = sdi**2 / ni
        elif measure == "MNLN":
            yi = np.log(mi)
            vi = sdi**2 / (ni * mi**2)
        elif measure == "CVLN":
            yi = np.log(sdi / mi) + 1 / (2 * (ni - 1))
            vi = 1 / (2 * (ni - 1)) + sdi**2 / (ni * mi**2)
        elif measure == "SDLN":
            yi = np.log(sdi) + 1 / (2 * (ni - 1))
            vi = 1 / (2 * (ni - 1)) + 0 * sdi
        elif measure == "SMN":
            c = cmi(ni - 1)
            na_rows = np.isnan(c)
            yi = c * mi / sdi
            vi = 1 / ni + yi**2 / (2 * ni)
        else:  # pragma: no cover - guarded by the caller
            raise ValueError(measure)
    return Raw(yi, vi, na_rows & np.isnan(yi), na_rows & np.isnan(vi))
