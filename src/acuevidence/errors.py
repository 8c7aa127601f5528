"""Exceptions and warnings of acuevidence.

One root, :class:`EvidenceError`; every subclass also inherits the built-in exception that
callers already catch (``ValueError`` for bad input, ``RuntimeError`` for numerical failure), so
``except ValueError`` keeps working for code that does not know this package.
"""

from __future__ import annotations

__all__ = [
    "EvidenceError",
    "InputError",
    "ConvergenceError",
    "EvidenceWarning",
    "ConvergenceWarning",
    "ZeroCellWarning",
    "SmallSampleWarning",
]


class EvidenceError(Exception):
    """Root of every error raised by acuevidence."""


class InputError(EvidenceError, ValueError):
    """Input data or an option is invalid.

    The message names the offending row and column (or option) and says how to fix it.
    ``rows`` holds the 0-based positions of the offending rows where there are any, ``column``
    the column or argument name.
    """

    def __init__(self, message: str, *, column: str | None = None, rows: list[int] | None = None):
        super().__init__(message)
        self.column = column
        self.rows = list(rows) if rows is not None else []


class ConvergenceError(EvidenceError, RuntimeError):
    """An iterative estimator found no solution although every fallback was tried."""

    def __init__(self, message: str, *, estimator: str | None = None):
        super().__init__(message)
        self.estimator = estimator


class EvidenceWarning(UserWarning):
    """Root of every warning issued by acuevidence."""


class ConvergenceWarning(EvidenceWarning):
    """An iterative estimator needed a fallback path, or stopped short of full accuracy."""


class ZeroCellWarning(EvidenceWarning):
    """Studies with zero cells were corrected or dropped."""


class SmallSampleWarning(EvidenceWarning):
    """Too few studies for a quantity to be estimated well (k = 1, k = 2, ...)."""
