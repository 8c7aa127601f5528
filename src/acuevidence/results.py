"""Frozen result objects of the meta-analysis engine.

Every number is computed when the result is built; the object never changes afterwards. The same
names serve as attribute, DataFrame column and JSON key. Map from metafor's names:

============================  ==========================================
metafor (``rma.uni``)         acuevidence (``MetaResult``)
============================  ==========================================
``b`` / ``beta``              ``estimate``
``se``                        ``se``
``zval``                      ``statistic``
``pval``                      ``p_value``
``ci.lb``, ``ci.ub``          ``ci_lower``, ``ci_upper``
``ddf``                       ``df``
``tau2``, ``se.tau2``         ``tau2``, ``tau2_se``
``confint()$random``          ``tau2_ci_lower``/``tau2_ci_upper``, ``tau_ci_*``, ``i2_ci_*``, ``h2_ci_*``
``I2``, ``H2``                ``i2``, ``h2``
``QE``, ``QEp``               ``q``, ``q_p_value`` (``q_df`` = k - p)
``predict()$pi.lb/pi.ub``     ``pi_lower``, ``pi_upper``
``k``                         ``k``
``method``, ``test``          ``method``, ``test``
``s2w``                       ``s2w`` (Knapp-Hartung scale factor)
``logLik()``, ``AIC()`` ...   ``loglik``, ``aic``, ``bic``, ``aicc``
``weights()``                 ``study_frame()['weight']`` (percent)
``blup()``                    ``study_frame()['blup']``, ``blup_se``, ``blup_pi_lower``, ...
============================  ==========================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from .printer import Report, fmt_number, fmt_p

__all__ = ["SUMMARY_FIELDS", "MetaResult", "json_safe"]

SUMMARY_FIELDS: tuple[str, ...] = (
    "k", "method", "test", "level", "measure",
    "estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "df",
    "tau2", "tau2_se", "tau2_ci_lower", "tau2_ci_upper", "tau2_ci_method",
    "tau", "tau_ci_lower", "tau_ci_upper",
    "i2", "i2_ci_lower", "i2_ci_upper", "h2", "h2_ci_lower", "h2_ci_upper",
    "q", "q_df", "q_p_value",
    "pi_lower", "pi_upper", "pi_type",
    "s2w", "loglik", "aic", "bic", "aicc",
    "tau2_fixed", "converged", "iterations", "path", "evidence_version",
)

STUDY_FIELDS: tuple[str, ...] = (
    "label", "yi", "vi", "weight", "blup", "blup_se", "blup_pi_lower", "blup_pi_upper",
)


def json_safe(value: Any) -> Any:
    """Convert numpy scalars/arrays and non-finite floats to JSON-safe Python values."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


def frozen_array(a: Any) -> np.ndarray:
    """A read-only float copy of ``a`` (result objects are frozen: so are their arrays)."""
    out = np.array(a, dtype=float, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class MetaResult:
    """Result of a pairwise meta-analysis (common-effect or random-effects model).

    Attributes use the project vocabulary (see the module docstring for the map from metafor).
    Optional quantities are ``None`` when they do not apply (e.g. ``df`` for a z-test,
    ``tau2_ci_lower`` for a common-effect model).
    """

    k: int
    method: str
    test: str
    level: float
    estimate: float
    se: float
    statistic: float | None
    p_value: float | None
    ci_lower: float | None
    ci_upper: float | None
    df: int | None
    tau2: float
    tau2_se: float | None
    tau2_ci_lower: float | None
    tau2_ci_upper: float | None
    tau2_ci_method: str | None
    tau: float
    tau_ci_lower: float | None
    tau_ci_upper: float | None
    i2: float
    i2_ci_lower: float | None
    i2_ci_upper: float | None
    h2: float
    h2_ci_lower: float | None
    h2_ci_upper: float | None
    q: float
    q_df: int
    q_p_value: float
    pi_lower: float | None
    pi_upper: float | None
    pi_type: str
    s2w: float
    loglik: float
    aic: float
    bic: float
    aicc: float
    tau2_fixed: bool
    converged: bool
    iterations: int
    path: str
    yi: np.ndarray
    vi: np.ndarray
    weights: np.ndarray
    blup: np.ndarray
    blup_se: np.ndarray
    blup_pi_lower: np.ndarray
    blup_pi_upper: np.ndarray
    labels: tuple[str, ...]
    measure: str | None = None
    evidence_version: str | None = None
    warnings: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("yi", "vi", "weights", "blup", "blup_se", "blup_pi_lower", "blup_pi_upper"):
            object.__setattr__(self, name, frozen_array(getattr(self, name)))

    # -- export ---------------------------------------------------------------------------
    def to_dict(self, studies: bool = True) -> dict[str, Any]:
        """JSON-safe dictionary: the summary fields, ``warnings`` and (optionally) ``studies``."""
        out: dict[str, Any] = {name: getattr(self, name) for name in SUMMARY_FIELDS}
        out["warnings"] = list(self.warnings)
        if studies:
            out["studies"] = self.study_frame().to_dict(orient="records")
        return json_safe(out)

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy DataFrame of the summary fields (columns named as the attributes)."""
        return pd.DataFrame([{name: getattr(self, name) for name in SUMMARY_FIELDS}])

    def study_frame(self) -> pd.DataFrame:
        """One row per study: label, yi, vi, weight (%), BLUP with SE and prediction interval."""
        return pd.DataFrame({
            "label": list(self.labels),
            "yi": self.yi,
            "vi": self.vi,
            "weight": self.weights,
            "blup": self.blup,
            "blup_se": self.blup_se,
            "blup_pi_lower": self.blup_pi_lower,
            "blup_pi_upper": self.blup_pi_upper,
        })

    def summary(self, fmt: str = "text", studies: bool = True) -> str:
        """Readable summary as ``"text"``, ``"markdown"`` or ``"html"``."""
        return self._report(studies).render(fmt)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"MetaResult(k={self.k}, method={self.method!r}, estimate={self.estimate:.4f}, "
                f"ci=({fmt_number(self.ci_lower)}, {fmt_number(self.ci_upper)}), "
                f"tau2={self.tau2:.4f})")

    def _report(self, studies: bool) -> Report:
        common = self.method in ("EE", "FE", "CE")
        title = ("Common-effect" if common else "Random-effects") + f" model (k = {self.k}; "
        title += f"method: {self.method}; test: {self.test})"
        rep = Report(title)
        lv = f"{100 * self.level:g}%"
        dist = "z" if self.df is None else f"t({self.df})"
        rep.add_section("Pooled effect", [
            ("estimate", fmt_number(self.estimate)),
            ("se", fmt_number(self.se)),
            (f"{lv} CI", f"{fmt_number(self.ci_lower)} to {fmt_number(self.ci_upper)}"),
            (f"statistic ({dist})", fmt_number(self.statistic)),
            ("p_value", fmt_p(self.p_value)),
        ] + ([] if common else [
            (f"{lv} prediction interval ({self.pi_type})",
             f"{fmt_number(self.pi_lower)} to {fmt_number(self.pi_upper)}"),
        ]))
        het = [("Q", f"{fmt_number(self.q)} (df = {self.q_df}, p = {fmt_p(self.q_p_value)})")]
        if common:
            het += [("I^2", f"{fmt_number(self.i2, 2)}%"), ("H^2", fmt_number(self.h2))]
        else:
            ci = self.tau2_ci_lower is not None
            rng = (lambda a, b, d=4: f"  [{fmt_number(a, d)}, {fmt_number(b, d)}]" if ci else "")
            het += [
                ("tau^2", fmt_number(self.tau2) + (f" (SE = {fmt_number(self.tau2_se)})"
                                                   if self.tau2_se is not None else "")
                 + rng(self.tau2_ci_lower, self.tau2_ci_upper)),
                ("tau", fmt_number(self.tau) + rng(self.tau_ci_lower, self.tau_ci_upper)),
                ("I^2", f"{fmt_number(self.i2, 2)}%" + rng(self.i2_ci_lower, self.i2_ci_upper, 2)),
                ("H^2", fmt_number(self.h2) + rng(self.h2_ci_lower, self.h2_ci_upper)),
            ]
            if ci:
                het.append(("tau^2 CI method", str(self.tau2_ci_method)))
        rep.add_section("Heterogeneity", het)
        if studies:
            frame = self.study_frame()[["label", "yi", "vi", "weight"]].rename(
                columns={"weight": "weight (%)"})
            rep.add_table("Studies", frame)
        if self.evidence_version:
            rep.notes.append(f"evidence version {self.evidence_version}")
        rep.notes.extend(self.warnings)
        if self.path not in ("closed-form", "fixed", "common"):
            rep.notes.append(f"tau^2 solver: {self.path} ({self.iterations} iterations)")
        return rep

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """All attribute names (summary and study-level)."""
        return tuple(f.name for f in fields(cls))
