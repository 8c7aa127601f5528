"""Shared input handling of the sensitivity analyses (bias, influence, cumulative, GOSH).

Every function there accepts either a fitted :class:`~acuevidence.results.MetaResult` (the data
and model options are taken from it) or raw effect sizes with ``vi``/``sei`` plus options. Both
end in one :class:`ModelSpec`: validated arrays and the options needed to refit the same model to
any subset of the studies.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._validate import (
    as_float_array,
    check_level,
    check_positive,
    check_same_length,
    resolve_column,
)
from .errors import InputError
from .meta import COMMON, MetaAnalysis, _prepare, canonical_method, canonical_test
from .results import MetaResult
from .tau2 import estimate_tau2

__all__ = ["ModelSpec", "pooled_estimate", "resolve_model", "resolve_ni"]


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """Validated data and the options of the model to refit on subsets."""

    y: np.ndarray
    v: np.ndarray
    labels: tuple[str, ...]
    method: str
    test: str
    level: float
    tau2_fixed: float | None
    pi_type: str
    measure: str | None
    result: MetaResult | None

    @property
    def k(self) -> int:
        return int(self.y.shape[0])

    @property
    def common(self) -> bool:
        return self.method in COMMON

    def options(self) -> MetaAnalysis:
        return MetaAnalysis(method=self.method, test=self.test, level=self.level,
                            tau2=self.tau2_fixed, tau2_ci=None, pi_type=self.pi_type)

    def fit(self, index: Any = None, *, y: np.ndarray | None = None, v: np.ndarray | None = None,
            labels: Any = None) -> MetaResult:
        """Refit the model to the studies ``index`` (or to new data ``y``, ``v``), quietly.

        Warnings of the refits (k = 1, ...) are not repeated once per subset; callers say once
        what matters.
        """
        if y is None:
            idx = np.arange(self.k) if index is None else np.asarray(index)
            y, v = self.y[idx], self.v[idx]
            labels = [self.labels[i] for i in idx]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.options().fit(y, v, labels=labels, measure=self.measure)

    def full(self) -> MetaResult:
        """The model fitted to all studies (the given result where there is one)."""
        return self.result if self.result is not None else self.fit()


def resolve_model(
    x: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    data: pd.DataFrame | None = None,
    labels: Any = None,
    method: str | None = None,
    test: str | None = None,
    level: float | None = None,
    what: str = "this analysis",
) -> ModelSpec:
    """Build a :class:`ModelSpec` from a MetaResult or from ``yi`` with ``vi``/``sei``.

    With a MetaResult, ``method``/``test``/``level`` override its options (as metafor's ``...``
    does in ``regtest``); ``vi``/``sei``/``data`` must then be left out.
    """
    if isinstance(x, MetaResult):
        if vi is not None or sei is not None or data is not None:
            raise InputError(f"{what}: give either a fitted MetaResult or 'yi' with 'vi'/'sei', "
                             "not both (the result already holds the data).", column="vi")
        _reject_custom_weights(x, what)
        lab = tuple(labels) if labels is not None else tuple(x.labels)
        if len(lab) != x.k:
            raise InputError(f"'labels' has {len(lab)} entries but the result has {x.k} studies.",
                             column="labels")
        return ModelSpec(
            y=np.array(x.yi, dtype=float), v=np.array(x.vi, dtype=float), labels=lab,
            method=canonical_method(method) if method is not None else x.method,
            test=canonical_test(test) if test is not None else x.test,
            level=check_level(level) if level is not None else x.level,
            tau2_fixed=x.tau2 if x.tau2_fixed else None, pi_type=x.pi_type, measure=x.measure,
            result=x if method is None and test is None and level is None else None,
        )
    if isinstance(x, str) and data is None:
        raise InputError(f"{what}: 'yi' is the column name {x!r} but no 'data' was given.",
                         column="yi")
    y, v, _, lab = _prepare(x, vi, sei, None, labels, data)
    code = canonical_method(method if method is not None else "REML")
    if code == "GENQ":
        raise InputError(f"{what}: method 'GENQ' needs study weights, which this analysis does "
                         "not take; choose another estimator (e.g. 'REML' or 'DL').",
                         column="method")
    return ModelSpec(y=y, v=v, labels=lab, method=code,
                     test=canonical_test(test if test is not None else "z"),
                     level=check_level(level if level is not None else 0.95), tau2_fixed=None,
                     pi_type="default", measure=None, result=None)


def _reject_custom_weights(res: MetaResult, what: str) -> None:
    # MetaResult keeps the study weights (percent) but not the user's weights option. With the
    # standard inverse-variance weights they equal 100 w / sum(w), w = 1 / (vi + tau2); anything
    # else means custom weights, which metafor's leave1out/trimfill/... would carry along and the
    # refits here cannot.
    w = 1.0 / (res.vi + res.tau2)
    std = 100.0 * w / w.sum()
    if res.method == "GENQ" or not np.allclose(res.weights, std, rtol=1e-8, atol=1e-12):
        raise InputError(f"{what} needs a model with the standard inverse-variance weights; this "
                         "result was fitted with custom weights (or method 'GENQ'). Refit it "
                         "without 'weights' first.", column="weights")


def resolve_ni(ni: Any, data: pd.DataFrame | None, k: int, what: str) -> np.ndarray:
    """Validate sample sizes: one positive number per study."""
    arr = as_float_array(resolve_column(ni, data, "ni"), "ni")
    check_same_length({"ni": arr, "yi": np.empty(k)})
    check_positive(arr, "ni", f"must be positive (sample sizes, needed for {what})")
    return arr


def pooled_estimate(y: np.ndarray, v: np.ndarray, method: str, tau2_fixed: float | None) -> float:
    """Pooled estimate only (no SE, no heterogeneity): the inner step of trim-and-fill."""
    if method in COMMON or y.shape[0] == 1:
        tau2 = 0.0
    elif tau2_fixed is not None:
        tau2 = tau2_fixed
    else:
        tau2 = estimate_tau2(method, y, v, np.ones((y.shape[0], 1))).tau2
    w = 1.0 / (v + tau2)
    return float(np.sum(w * y) / np.sum(w))


def opt_float(x: float | None) -> float | None:
    """None for missing/non-finite numbers (the JSON-safe convention of the results)."""
    if x is None:
        return None
    xf = float(x)
    return xf if math.isfinite(xf) else None
