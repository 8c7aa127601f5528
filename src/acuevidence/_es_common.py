"""Shared numeric pieces of :func:`acuevidence.effect_sizes` (pure array functions).

metafor's ``escalc`` distinguishes R's ``NA`` (a value it set on purpose: a dropped study, a
small-sample correction that does not exist, a variance it will not estimate) from ``NaN`` (an
undefined computation such as 0/0). The distinction matters in its last step: a ``NaN`` or
``+-Inf`` in either ``yi`` or ``vi`` blanks both, an ``NA`` only blanks the value it sits in.
numpy has only ``NaN``, so every measure returns :class:`Raw` with two masks saying which
entries are R's ``NA``, and :func:`finish` applies metafor's rules.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import gammaln

__all__ = [
    "Raw",
    "finish",
    "wmean",
    "cmi",
    "apply_add",
]


class Raw(NamedTuple):
    """Effect sizes before metafor's final clean-up.

    ``na_yi``/``na_vi`` mark entries that are R's ``NA`` (set on purpose), as opposed to a
    ``NaN`` that came out of the arithmetic.
    """

    yi: np.ndarray
    vi: np.ndarray
    na_yi: np.ndarray
    na_vi: np.ndarray


def finish(raw: Raw) -> tuple[np.ndarray, np.ndarray]:
    """Apply metafor's last step of ``escalc`` and return ``(yi, vi)``.

    ``+-Inf`` or a computed ``NaN`` in ``yi`` or ``vi`` sets both to ``NaN`` (metafor: "Recoded
    to NAs"); a negative ``vi`` becomes ``NaN`` (``yi`` is kept).
    """
    yi = np.array(raw.yi, dtype=np.float64, copy=True)
    vi = np.array(raw.vi, dtype=np.float64, copy=True)
    yi[raw.na_yi] = np.nan
    vi[raw.na_vi] = np.nan
    inf = np.isinf(yi) | np.isinf(vi)
    nan = (np.isnan(yi) & ~raw.na_yi) | (np.isnan(vi) & ~raw.na_vi)
    blank = inf | nan
    yi[blank] = np.nan
    vi[blank] = np.nan
    vi[vi < 0] = np.nan
    return yi, vi


def wmean(x: np.ndarray, w: np.ndarray) -> float:
    """Weighted mean ignoring missing pairs (metafor's ``.wmean(x, w, na.rm = TRUE)``)."""
    keep = ~(np.isnan(x) | np.isnan(w))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(x[keep] * w[keep]) / np.sum(w[keep]))


def cmi(m: np.ndarray) -> np.ndarray:
    """Exact small-sample correction factor of Hedges (1981), metafor's ``.cmicalc``.

    ``c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``, computed on the log scale; ``NaN``
    (R's ``NA``) where ``m <= 1``, where it does not exist.
    """
    m = np.asarray(m, dtype=np.float64)
    ok = m > 1
    safe = np.where(ok, m, 2.0)
    out = np.exp(gammaln(safe / 2) - np.log(np.sqrt(safe / 2)) - gammaln((safe - 1) / 2))
    return np.where(ok, out, np.nan)


def apply_add(
    cells: list[np.ndarray], id0: np.ndarray, add: float, to: str
) -> tuple[list[np.ndarray], np.ndarray]:
    """Add ``add`` to the cells of the rows ``to`` selects, as metafor's ``escalc``.

    Parameters
    ----------
    cells
        The cell counts (each a float array; ``NaN`` for dropped studies).
    id0
        Rows that have a zero cell (dropped studies excluded).
    add, to
        metafor's ``add`` and ``to``: ``"all"`` (every row), ``"only0"`` (rows in ``id0``),
        ``"if0all"`` (every row if any row is in ``id0``), ``"none"``.

    Returns
    -------
    cells, corrected
        The corrected cells and the mask of rows that received ``add``.
    """
    k = cells[0].shape[0]
    if to == "all":
        rows = np.ones(k, dtype=bool)
    elif to == "only0":
        rows = id0.copy()
    elif to == "if0all":
        rows = np.full(k, bool(id0.any()))
    else:
        rows = np.zeros(k, dtype=bool)
    return [np.where(rows, c + add, c) for c in cells], rows
