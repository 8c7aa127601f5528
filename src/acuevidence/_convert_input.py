"""Input checks shared by the conversion functions (:mod:`acuevidence.conversions`).

Scalars broadcast against arrays; every error names the argument and the rows (1-based in the
message, 0-based in ``InputError.rows``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from ._validate import as_float_array, format_rows
from .errors import InputError

FloatOrArray = float | NDArray[np.float64]


def is_scalar(value: Any) -> bool:
    return value is None or (np.ndim(value) == 0 and not isinstance(value, pd.Series | pd.Index))


def arrays(
    values: dict[str, Any], *, allow_nan: Sequence[str] = (), optional: Sequence[str] | None = None
) -> tuple[dict[str, np.ndarray], bool]:
    """Validate and broadcast the named inputs; return them and whether all were scalars.

    ``None`` values are left out; when ``optional`` is given, only the names in it may be
    ``None`` (the others are required). Arrays of length 1 broadcast to the common length; any
    other mismatch is an error naming every length.
    """
    if optional is not None:
        missing = [name for name, v in values.items() if v is None and name not in optional]
        if missing:
            names = " and ".join(repr(m) for m in missing)
            raise InputError(
                f"{names} {'is' if len(missing) == 1 else 'are'} required but got None; give "
                "a number, or one value per study.", column=missing[0])
    given = {name: v for name, v in values.items() if v is not None}
    scalar = all(is_scalar(v) for v in given.values())
    arrs = {name: as_float_array(v, name, allow_nan=name in allow_nan) for name, v in given.items()}
    lengths = {name: a.shape[0] for name, a in arrs.items()}
    distinct = {m for m in lengths.values() if m != 1}
    if len(distinct) > 1:
        desc = ", ".join(f"{n}={m}" for n, m in lengths.items())
        raise InputError(
            f"Arguments have different lengths ({desc}); give one value per study for each "
            "(or a single value to use for every study).",
            column=next(n for n, m in lengths.items() if m != 1),
        )
    k = distinct.pop() if distinct else (1 if arrs else 0)
    full = {n: (np.full(k, a[0]) if a.shape[0] == 1 and k != 1 else a) for n, a in arrs.items()}
    return full, scalar


def fail(
    mask: np.ndarray, name: str, problem: str, fix: str, shown: np.ndarray | None = None
) -> None:
    """Raise an InputError for the rows in ``mask`` (no-op when none)."""
    rows = np.flatnonzero(mask).tolist()
    if not rows:
        return
    have = ""
    if shown is not None:
        have = " (" + ", ".join(f"{shown[i]:g}" for i in rows[:3]) + ")"
    raise InputError(
        f"'{name}' {problem} in row(s) {format_rows(rows)}{have}. {fix}", column=name, rows=rows
    )


def check_n(n: np.ndarray, name: str = "n") -> None:
    fail(n < 2, name, "must be at least 2", "Give the number of participants in the group.", n)


def check_sd(sd: np.ndarray, name: str) -> None:
    fail(sd < 0, name, "must not be negative", "Check the sign; an SD is never negative.", sd)


def check_corr(r: np.ndarray, name: str = "corr") -> None:
    fail((r < -1) | (r > 1), name, "must lie in [-1, 1]",
          "Give a correlation coefficient, not a percentage or a covariance.", r)


def check_df(df: np.ndarray) -> None:
    fail(~(df > 0), "df", "must be positive", "Give the degrees of freedom of the t statistic.", df)


def check_bounds(lower: np.ndarray, upper: np.ndarray) -> None:
    rows = np.flatnonzero(lower > upper).tolist()
    if rows:
        pairs = ", ".join(f"({lower[i]:g}, {upper[i]:g})" for i in rows[:3])
        raise InputError(
            f"'lower' is above 'upper' in row(s) {format_rows(rows)} {pairs}. "
            "Swap the bounds or check the source.",
            column="lower",
            rows=rows,
        )


def out(x: np.ndarray, scalar: bool) -> FloatOrArray:
    return float(x[0]) if scalar else x


def crit(level: float, df: np.ndarray | None, k: int) -> np.ndarray:
    """Two-sided critical value: normal, or t with ``df`` (per row)."""
    tail = (1.0 - level) / 2.0
    if df is None:
        return np.full(k, stats.norm.isf(tail))
    return np.asarray(stats.t.isf(tail, df), dtype=np.float64)
