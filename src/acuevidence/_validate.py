"""Validation at the boundary: turn user input into checked float arrays.

Past these functions the engine sees only finite, correctly shaped numpy arrays. Every error
names the argument (column) and the offending rows (1-based in messages, as a spreadsheet user
counts them; 0-based in ``InputError.rows``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = [
    "as_float_array",
    "resolve_column",
    "check_same_length",
    "check_positive",
    "check_nonnegative",
    "check_finite",
    "check_level",
    "format_rows",
    "effect_inputs",
]

_MAX_ROWS_SHOWN = 8


def format_rows(rows: Sequence[int]) -> str:
    """Format 0-based row positions as a short 1-based list for a message."""
    shown = ", ".join(str(r + 1) for r in rows[:_MAX_ROWS_SHOWN])
    more = len(rows) - _MAX_ROWS_SHOWN
    return shown + (f" (and {more} more)" if more > 0 else "")


def resolve_column(value: Any, data: pd.DataFrame | None, name: str) -> Any:
    """Return ``data[value]`` when ``value`` names a column of ``data``, else ``value`` itself."""
    if data is not None and isinstance(value, str):
        if value not in data.columns:
            raise InputError(
                f"'{name}' refers to column '{value}', which is not in the data; "
                f"available columns: {', '.join(map(str, data.columns))}.",
                column=name,
            )
        return data[value]
    return value


def as_float_array(value: Any, name: str, *, allow_nan: bool = False) -> np.ndarray:
    """Convert ``value`` (scalar, sequence, Series) to a 1-D float64 array.

    Raises
    ------
    InputError
        When a value is not numeric (naming the rows) or, unless ``allow_nan``, missing.
    """
    if isinstance(value, pd.Series | pd.Index):
        raw = value.to_numpy()
    else:
        raw = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
    raw = np.atleast_1d(raw)
    if raw.ndim != 1:
        raise InputError(f"'{name}' must be one-dimensional; got shape {raw.shape}.", column=name)
    if raw.dtype.kind in "fiub":
        arr = raw.astype(np.float64)
    else:
        arr = np.empty(raw.shape[0], dtype=np.float64)
        bad: list[int] = []
        for i, item in enumerate(raw):
            if item is None or (isinstance(item, float) and np.isnan(item)):
                arr[i] = np.nan
                continue
            if isinstance(item, bool | np.bool_):
                arr[i] = float(item)
                continue
            try:
                arr[i] = float(item)
            except (TypeError, ValueError):
                bad.append(i)
        if bad:
            examples = ", ".join(repr(raw[i]) for i in bad[:3])
            raise InputError(
                f"'{name}' must be numeric; row(s) {format_rows(bad)} hold non-numeric values "
                f"({examples}). Fix or remove those rows.",
                column=name,
                rows=bad,
            )
    if not allow_nan:
        missing = np.flatnonzero(np.isnan(arr)).tolist()
        if missing:
            raise InputError(
                f"'{name}' is missing in row(s) {format_rows(missing)}. "
                "Fill in the value or drop those rows before the analysis.",
                column=name,
                rows=missing,
            )
    inf = np.flatnonzero(np.isinf(arr)).tolist()
    if inf:
        raise InputError(
            f"'{name}' is infinite in row(s) {format_rows(inf)}; a finite value is needed.",
            column=name,
            rows=inf,
        )
    return arr


def check_same_length(arrays: dict[str, np.ndarray]) -> int:
    """Check that all arrays have one length; return it (scalars of length 1 are not broadcast)."""
    lengths = {name: a.shape[0] for name, a in arrays.items()}
    distinct = set(lengths.values())
    if len(distinct) > 1:
        desc = ", ".join(f"{n}={m}" for n, m in lengths.items())
        raise InputError(
            f"Arguments have different lengths ({desc}); give one value per study for each.",
            column=next(iter(lengths)),
        )
    return distinct.pop() if distinct else 0


def check_positive(arr: np.ndarray, name: str, what: str = "must be positive") -> None:
    """Raise when any finite element is <= 0."""
    bad = np.flatnonzero(~(arr > 0) & ~np.isnan(arr)).tolist()
    if bad:
        vals = ", ".join(f"{arr[i]:g}" for i in bad[:3])
        raise InputError(
            f"'{name}' {what}; row(s) {format_rows(bad)} have {vals}.", column=name, rows=bad
        )


def check_nonnegative(arr: np.ndarray, name: str) -> None:
    """Raise when any finite element is < 0."""
    bad = np.flatnonzero(arr < 0).tolist()
    if bad:
        vals = ", ".join(f"{arr[i]:g}" for i in bad[:3])
        raise InputError(
            f"'{name}' must not be negative; row(s) {format_rows(bad)} have {vals}.",
            column=name,
            rows=bad,
        )


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise when any element is NaN or infinite."""
    bad = np.flatnonzero(~np.isfinite(arr)).tolist()
    if bad:
        raise InputError(
            f"'{name}' is missing or not finite in row(s) {format_rows(bad)}.",
            column=name,
            rows=bad,
        )


def check_level(level: float, name: str = "level") -> float:
    """Accept a confidence level in (0, 1) or, as metafor does, in (1, 100) as a percentage."""
    try:
        lv = float(level)
    except (TypeError, ValueError):
        raise InputError(f"The '{name}' parameter must be a number in (0, 1); got {level!r}.",
                         column=name) from None
    if 1 < lv < 100:
        lv /= 100.0
    if not 0 < lv < 1:
        raise InputError(f"The '{name}' parameter must be in (0, 1); got {level!r} instead.",
                         column=name)
    return lv


def effect_inputs(yi: Any, vi: Any, sei: Any, data: pd.DataFrame | None
                  ) -> tuple[np.ndarray, np.ndarray, str]:
    """Validated effect sizes and sampling variances from ``vi`` or ``sei`` (or data columns).

    Returns ``(y, v, named)`` where ``named`` is the argument the variances came from (for
    messages). Lengths are not checked here (callers add their own arrays to that check).
    """
    if data is not None and not isinstance(data, pd.DataFrame):
        raise InputError("'data' must be a pandas DataFrame.", column="data")
    if vi is None and sei is None:
        raise InputError("Give the sampling variances 'vi' (or the standard errors 'sei').",
                         column="vi")
    if vi is not None and sei is not None:
        raise InputError("Give either 'vi' or 'sei', not both.", column="sei")
    y = as_float_array(resolve_column(yi, data, "yi"), "yi")
    if vi is not None:
        return y, as_float_array(resolve_column(vi, data, "vi"), "vi"), "vi"
    s = as_float_array(resolve_column(sei, data, "sei"), "sei")
    check_positive(s, "sei", "must be positive (a standard error of 0 gives infinite weight)")
    return y, s * s, "sei"
