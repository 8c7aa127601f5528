"""Validation at the boundary: turn user input into checked float arrays.

Past these functions the engine sees only finite, correctly shaped numpy arrays. Every error
names the argument (column) and the offending rows (1-based in messages, as a spreadsheet user
counts them; 0-based in ``InputError.rows``).
"""

from __future__ import annotations

import math
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
    "finite_number",
    "positive_int",
    "check_magnitude",
    "Y_MAX",
    "V_MIN",
    "V_MAX",
    "V_RATIO_MAX",
    "check_variance_spread",
]

_MAX_ROWS_SHOWN = 8

# Range of effect sizes and sampling variances the engine handles in double precision. The
# estimators square tau^2 (~ y^2) and the variances, so y^4 and v^2 must stay below the float
# maximum (1.8e308): |y| <= 1e75 and v <= 1e150 keep them there, v >= 1e-75 keeps the weights
# 1/v and their squares finite. Real data are far inside; anything else must be rescaled.
Y_MAX = 1e75
V_MIN = 1e-75
V_MAX = 1e150
# Largest ratio of two sampling variances in one analysis: beyond 1 / machine epsilon (4.5e15)
# the weight of the smaller study vanishes against the larger one in every sum, and weighted
# fits with moderators become numerically singular. Such a spread is almost always a unit error.
V_RATIO_MAX = 1e16


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


def as_float_array(value: Any, name: str, *, allow_nan: bool = False,
                   allow_bool: bool = True) -> np.ndarray:
    """Convert ``value`` (scalar, sequence, Series) to a 1-D float64 array.

    Raises
    ------
    InputError
        When a value is not numeric (naming the rows), is a boolean and ``allow_bool`` is
        False, or, unless ``allow_nan``, missing.
    """
    if isinstance(value, pd.Series | pd.Index):
        raw = value.to_numpy()
    else:
        raw = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
    raw = np.atleast_1d(raw)
    if raw.ndim != 1:
        raise InputError(f"'{name}' must be one-dimensional; got shape {raw.shape}.", column=name)
    if raw.dtype.kind == "b" and not allow_bool:
        raise InputError(
            f"'{name}' must be numeric; got booleans (True/False). Give the numbers themselves; "
            "True/False would silently be read as 1/0.", column=name,
            rows=list(range(raw.shape[0])))
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
                if allow_bool:
                    arr[i] = float(item)
                else:
                    bad.append(i)
                continue
            try:
                arr[i] = float(item)
            except (TypeError, ValueError):
                bad.append(i)
        if bad:
            examples = ", ".join(repr(raw[i]) for i in bad[:3])
            bools = all(isinstance(raw[i], bool | np.bool_) for i in bad)
            raise InputError(
                f"'{name}' must be numeric; row(s) {format_rows(bad)} hold "
                + ("booleans" if bools else "non-numeric values")
                + f" ({examples}). "
                + ("Give the numbers themselves; True/False would silently be read as 1/0."
                   if bools else "Fix or remove those rows."),
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
    y = as_float_array(resolve_column(yi, data, "yi"), "yi", allow_bool=False)
    check_magnitude(y, "yi", maximum=Y_MAX)
    if vi is not None:
        v = as_float_array(resolve_column(vi, data, "vi"), "vi", allow_bool=False)
        check_magnitude(v, "vi", minimum=V_MIN, maximum=V_MAX)
        check_variance_spread(v, "vi")
        return y, v, "vi"
    s = as_float_array(resolve_column(sei, data, "sei"), "sei", allow_bool=False)
    check_positive(s, "sei", "must be positive (a standard error of 0 gives infinite weight)")
    check_magnitude(s, "sei", minimum=float(np.sqrt(V_MIN)), maximum=float(np.sqrt(V_MAX)))
    check_variance_spread(s * s, "sei")
    return y, s * s, "sei"


def check_variance_spread(v: np.ndarray, name: str) -> None:
    """Raise when the positive variances ``v`` span more than :data:`V_RATIO_MAX`.

    ``name`` is the argument they came from (``"sei"``: ``v`` holds the squared SEs).
    """
    pos = np.flatnonzero(v > 0)
    if pos.size < 2:
        return
    lo = int(pos[np.argmin(v[pos])])
    hi = int(pos[np.argmax(v[pos])])
    if v[hi] <= V_RATIO_MAX * v[lo]:
        return
    se = name == "sei"
    small, large = (f"{np.sqrt(v[i]) if se else v[i]:g}" for i in (lo, hi))
    what = "standard errors" if se else "sampling variances"
    rows = sorted((lo, hi))
    raise InputError(
        f"The {what} '{name}' are too far apart to be handled in double precision: "
        f"{small} in row {lo + 1} and {large} in row {hi + 1} (the variances may "
        f"differ by a factor of at most {V_RATIO_MAX:g}). Check those rows for a unit error "
        "(e.g. a variance entered as an SE, or in other units), or leave out the study with "
        "the tiny weight.", column=name, rows=rows)


def check_magnitude(arr: np.ndarray, name: str, *, minimum: float | None = None,
                    maximum: float | None = None) -> None:
    """Raise when a nonzero |value| is above ``maximum`` or (positive) below ``minimum``.

    Zeros and negatives are left to the sign checks (:func:`check_positive`), so that their
    own messages are given; this only catches magnitudes outside what double precision handles.
    """
    mag = np.abs(arr)
    if maximum is not None:
        big = np.flatnonzero(mag > maximum).tolist()
        if big:
            vals = ", ".join(f"{arr[i]:g}" for i in big[:3])
            raise InputError(
                f"'{name}' is too large to be handled in double precision in row(s) "
                f"{format_rows(big)} ({vals}); the limit is {maximum:g} in absolute value. "
                "Rescale the data (e.g. change the unit of the effect size) before the analysis.",
                column=name, rows=big)
    if minimum is not None:
        small = np.flatnonzero((arr > 0) & (arr < minimum)).tolist()
        if small:
            vals = ", ".join(f"{arr[i]:g}" for i in small[:3])
            raise InputError(
                f"'{name}' is too small to be handled in double precision in row(s) "
                f"{format_rows(small)} ({vals}); the limit is {minimum:g}. Rescale the data "
                "(e.g. change the unit of the effect size) before the analysis.",
                column=name, rows=small)


def finite_number(value: Any, name: str, *, minimum: float | None = None,
                  maximum: float | None = None, allow_inf: bool = False,
                  what: str = "") -> float:
    """``value`` as a float, checked to be a number (not a bool), finite and in range.

    ``what`` says what the number is, for the message (e.g. ``"a fixed tau^2"``).
    """
    desc = f" ({what})" if what else ""
    kind = "number" if allow_inf else "finite number"
    rng = ""
    if minimum == 0 and (maximum is None or maximum > 1e6):  # a bound, not a range
        kind = "non-negative " + kind
        rng = "" if maximum is None else f" (at most {maximum:g})"
    elif minimum is not None and maximum is not None:
        rng = f" in [{minimum:g}, {maximum:g}]"
    elif minimum is not None:
        rng = f" >= {minimum:g}"
    elif maximum is not None:
        rng = f" <= {maximum:g}"
    msg = f"The '{name}' parameter{desc} must be a {kind}{rng}; got {value!r}."
    if isinstance(value, bool | np.bool_) or value is None:
        raise InputError(msg, column=name)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(msg, column=name) from None
    if math.isnan(x) or (math.isinf(x) and not allow_inf):
        raise InputError(msg, column=name)
    if (minimum is not None and x < minimum) or (maximum is not None and x > maximum):
        raise InputError(msg, column=name)
    return x


def positive_int(value: Any, name: str, *, minimum: int = 1, what: str = "") -> int:
    """``value`` as an int >= ``minimum``; whole floats (``1e4``) pass, 2.5 or "x" do not."""
    desc = f" ({what})" if what else ""
    msg = f"The '{name}' parameter{desc} must be a whole number, at least {minimum}; got {value!r}."
    if isinstance(value, bool | np.bool_) or value is None:
        raise InputError(msg, column=name)
    if isinstance(value, int | np.integer):
        n = int(value)
    else:
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise InputError(msg, column=name) from None
        if not math.isfinite(x) or x != math.floor(x):
            raise InputError(msg, column=name)
        n = int(x)
    if n < minimum:
        raise InputError(msg, column=name)
    return n
