"""Effect sizes from counts: 2x2 tables (RR, OR, RD, AS, PETO) and single proportions
(PR, PLN, PLO, PAS, PFT), with metafor's zero-cell handling.

Pure array functions; inputs are validated by :mod:`acuevidence.effect_sizes`. Formulas follow
metafor 3.8 ``escalc`` line by line (same order of operations, so results agree to rounding).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._es_common import Raw, apply_add, wmean

__all__ = ["ZeroReport", "two_by_two", "proportion"]


class ZeroReport(NamedTuple):
    """Which rows had zero cells, which were corrected with ``add``, which were dropped."""

    zero: np.ndarray
    corrected: np.ndarray
    dropped: np.ndarray


def two_by_two(
    measure: str,
    ai: np.ndarray,
    bi: np.ndarray,
    ci: np.ndarray,
    di: np.ndarray,
    *,
    add: float,
    to: str,
    drop00: bool,
    vtype: np.ndarray,
) -> tuple[Raw, ZeroReport]:
    """Outcome measures of a 2x2 table (group 1: ``ai`` events, ``bi`` non-events; group 2:
    ``ci``, ``di``), as metafor's ``escalc``.

    ``drop00`` blanks studies with no events or no non-events in both groups; ``add`` is then
    added to all four cells of the rows ``to`` selects (rows with any zero cell for
    ``"only0"``).
    """
    k = ai.shape[0]
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    no_events = (ai == 0) & (ci == 0)
    no_nonevents = (bi == 0) & (di == 0)
    dropped = (no_events | no_nonevents) if drop00 else np.zeros(k, dtype=bool)
    ai, bi, ci, di = (np.where(dropped, np.nan, x) for x in (ai, bi, ci, di))
    id0 = zero & ~dropped
    (ai, bi, ci, di), corrected = apply_add([ai, bi, ci, di], id0, add, to)
    corrected = corrected & ~dropped & (add != 0)

    with np.errstate(divide="ignore", invalid="ignore"):
        n1i = ai + bi
        n2i = ci + di
        ni = n1i + n2i
        p1i = ai / n1i
        p2i = ci / n2i
        if measure == "RR":
            yi = np.log(p1i) - np.log(p2i)
            vi = 1 / ai - 1 / n1i + 1 / ci - 1 / n2i
        elif measure == "OR":
            yi = np.log(p1i / (1 - p1i)) - np.log(p2i / (1 - p2i))
            vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
        elif measure == "RD":
            yi = p1i - p2i
            mnwp1i = wmean(p1i, n1i)
            mnwp2i = wmean(p2i, n2i)
            vi = np.where(
                vtype == "UB",
                p1i * (1 - p1i) / (n1i - 1) + p2i * (1 - p2i) / (n2i - 1),
                np.where(
                    vtype == "AV",
                    mnwp1i * (1 - mnwp1i) / n1i + mnwp2i * (1 - mnwp2i) / n2i,
                    p1i * (1 - p1i) / n1i + p2i * (1 - p2i) / n2i,
                ),
            )
        elif measure == "PETO":
            xt = ai + ci
            yt = bi + di
            ei = xt * n1i / ni
            big_vi = xt * yt * (n1i / ni) * (n2i / ni) / (ni - 1)
            yi = (ai - ei) / big_vi
            vi = 1 / big_vi
        elif measure == "AS":
            yi = np.arcsin(np.sqrt(p1i)) - np.arcsin(np.sqrt(p2i))
            vi = 1 / (4 * n1i) + 1 / (4 * n2i)
        else:  # pragma: no cover - guarded by the caller
            raise ValueError(measure)
    # R's NA spreads through the arithmetic of a dropped study; a computed NaN elsewhere is NaN.
    return (
        Raw(yi, vi, dropped & np.isnan(yi), dropped & np.isnan(vi)),
        ZeroReport(zero, corrected, dropped),
    )


def proportion(
    measure: str,
    xi: np.ndarray,
    mi: np.ndarray,
    *,
    add: float,
    to: str,
    vtype: np.ndarray,
) -> tuple[Raw, ZeroReport]:
    """Outcome measures of a single proportion (``xi`` events, ``mi`` non-events), as
    metafor's ``escalc``; ``add`` goes to both cells of the rows ``to`` selects (rows with
    ``xi == 0`` or ``mi == 0`` for ``"only0"``). metafor has no ``drop00`` here.
    """
    k = xi.shape[0]
    zero = (xi == 0) | (mi == 0)
    (xi, mi), corrected = apply_add([xi, mi], zero, add, to)
    corrected = corrected & (add != 0)
    none = np.zeros(k, dtype=bool)

    with np.errstate(divide="ignore", invalid="ignore"):
        ni = xi + mi
        pri = xi / ni
        if measure == "PR":
            yi = pri
            mnw = wmean(pri, ni)
            vi = np.where(
                vtype == "UB",
                pri * (1 - pri) / (ni - 1),
                np.where(vtype == "AV", mnw * (1 - mnw) / ni, pri * (1 - pri) / ni),
            )
        elif measure == "PLN":
            yi = np.log(pri)
            mnw = wmean(pri, ni)
            vi = np.where(vtype == "AV", 1 / (mnw * ni) - 1 / ni, 1 / xi - 1 / ni)
        elif measure == "PLO":
            yi = np.log(pri / (1 - pri))
            mnw = wmean(pri, ni)
            vi = np.where(vtype == "AV", 1 / (mnw * ni) + 1 / ((1 - mnw) * ni), 1 / xi + 1 / mi)
        elif measure == "PAS":
            yi = np.arcsin(np.sqrt(pri))
            vi = 1 / (4 * ni)
        elif measure == "PFT":
            yi = 0.5 * (np.arcsin(np.sqrt(xi / (ni + 1))) + np.arcsin(np.sqrt((xi + 1) / (ni + 1))))
            vi = 1 / (4 * ni + 2)
        else:  # pragma: no cover - guarded by the caller
            raise ValueError(measure)
    return Raw(yi, vi, none, none.copy()), ZeroReport(zero, corrected, none.copy())
