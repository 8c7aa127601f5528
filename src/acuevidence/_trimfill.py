"""Trim and fill (metafor's ``trimfill``); public through :mod:`acuevidence.bias`.

Map from metafor's names: ``k0``, ``se.k0`` -> ``k0_se``, ``p.k0`` -> ``k0_p_value``, ``fill`` ->
``filled``; the refitted model is ``TrimFillResult.result`` (a MetaResult).

References
----------
Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing and
    adjusting for publication bias in meta-analysis. Biometrics 56:455-463.
Duval S, Tweedie R (2000). A nonparametric "trim and fill" method of accounting for
    publication bias in meta-analysis. J Am Stat Assoc 95:89-98.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._refit import pooled_estimate, resolve_model
from ._regression import check_k, linear_fit
from .errors import ConvergenceWarning, InputError
from .printer import Report, fmt_number, fmt_p
from .results import MetaResult, json_safe

__all__ = ["TRIMFILL_ESTIMATORS", "TrimFillResult", "trimfill"]

TRIMFILL_ESTIMATORS: tuple[str, ...] = ("L0", "R0", "Q0")


@dataclass(frozen=True, eq=False, repr=False)
class TrimFillResult:
    """Trim-and-fill analysis (metafor's ``trimfill``).

    ``result`` is the model refitted to the observed plus the ``k0`` filled studies (same method,
    test and level as the input model); ``filled`` marks the filled rows of ``yi``/``vi``.
    """

    k0: int
    k0_se: float | None
    k0_p_value: float | None
    side: str
    estimator: str
    iterations: int
    converged: bool
    original: MetaResult
    result: MetaResult
    yi: np.ndarray
    vi: np.ndarray
    filled: np.ndarray
    labels: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    _scalar_fields = ("k0", "k0_se", "k0_p_value", "side", "estimator", "iterations", "converged")

    @property
    def estimate(self) -> float:
        """Pooled estimate after filling."""
        return self.result.estimate

    def study_frame(self) -> pd.DataFrame:
        """Observed and filled studies: label, yi, vi, filled."""
        return pd.DataFrame({"label": list(self.labels), "yi": self.yi, "vi": self.vi,
                             "filled": self.filled})

    def to_frame(self) -> pd.DataFrame:
        """One row: k0 etc. and the summary fields of the filled model (prefix-free)."""
        row = {name: getattr(self, name) for name in self._scalar_fields}
        row.update(self.result.to_frame().iloc[0].to_dict())
        return pd.DataFrame([row])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary: trim-and-fill fields, the filled model and the studies."""
        out: dict[str, Any] = {name: getattr(self, name) for name in self._scalar_fields}
        out["result"] = self.result.to_dict(studies=False)
        out["original_estimate"] = self.original.estimate
        out["studies"] = self.study_frame().to_dict(orient="records")
        out["warnings"] = list(self.warnings)
        return json_safe(out)

    def summary(self, fmt: str = "text") -> str:
        """Readable summary as ``"text"``, ``"markdown"`` or ``"html"``."""
        r = self.result
        rep = Report(f"Trim-and-fill analysis ({self.estimator}, side: {self.side})")
        lv = f"{100 * r.level:g}%"
        rep.add_section("Missing studies", [
            ("k0 (filled)", str(self.k0)),
            ("SE of k0", fmt_number(self.k0_se)),
        ] + ([("p-value (H0: k0 = 0)", fmt_p(self.k0_p_value))]
             if self.k0_p_value is not None else []))
        rep.add_section("Pooled effect", [
            ("observed studies", (f"{fmt_number(self.original.estimate)} ({lv} CI "
             f"{fmt_number(self.original.ci_lower)} to {fmt_number(self.original.ci_upper)})")),
            ("with filled studies", (f"{fmt_number(r.estimate)} ({lv} CI {fmt_number(r.ci_lower)} "
             f"to {fmt_number(r.ci_upper)}), k = {r.k}")),
            ("tau^2 (filled)", fmt_number(r.tau2)),
        ])
        rep.notes.extend(self.warnings)
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"TrimFillResult(k0={self.k0}, side={self.side!r}, "
                f"estimate={self.result.estimate:.4f})")


def trimfill(
    x: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    data: pd.DataFrame | None = None,
    labels: Any = None,
    side: str | None = None,
    estimator: str = "L0",
    maxiter: int = 100,
    ilim: tuple[float, float] | None = None,
    method: str | None = None,
    test: str | None = None,
    level: float | None = None,
) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill method (metafor's ``trimfill``).

    Parameters
    ----------
    x : MetaResult or array-like
        A fitted model without moderators, or the effect sizes (then give ``vi`` or ``sei``).
    side : {"left", "right"} or None
        Side of the funnel plot on which studies are missing. None (default) chooses as metafor:
        "right" when the slope of the regression of yi on sqrt(vi) (same tau^2 estimator) is
        negative, else "left".
    estimator : {"L0", "R0", "Q0"}
        Estimator of the number of missing studies k0.
    maxiter : int
        Iterations of the trim/re-estimate loop; when they run out the last k0 is used with a
        :class:`~acuevidence.errors.ConvergenceWarning` (metafor stops with an error).
    ilim : (float, float), optional
        Limits imposed on the filled effect sizes.

    References
    ----------
    Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing and
        adjusting for publication bias in meta-analysis. Biometrics 56:455-463.
    Duval S, Tweedie R (2000). A nonparametric "trim and fill" method of accounting for
        publication bias in meta-analysis. J Am Stat Assoc 95:89-98.
    Duval S (2005). The trim and fill method. In: Rothstein HR et al. (eds), Publication Bias in
        Meta-Analysis. Wiley.
    """
    spec = resolve_model(x, vi, sei=sei, data=data, labels=labels, method=method, test=test,
                         level=level, what="trimfill")
    est_name = str(estimator).upper()
    if est_name not in TRIMFILL_ESTIMATORS:
        raise InputError(f"Unknown estimator {estimator!r}; choose 'L0', 'R0' or 'Q0'.",
                         column="estimator")
    check_k(spec.k, "Trim and fill")
    notes: list[str] = []
    y0, v0 = spec.y, spec.v
    if side is None:
        if np.ptp(v0) <= 1e-12 * np.max(v0):  # sqrt(v) constant: Egger's slope does not exist
            raise InputError(
                "Trim and fill cannot choose the side to fill when every study has the same "
                "sampling variance (the funnel has no small-study slope to read). Pass "
                "side='left' or side='right'.", column="side")
        X = np.column_stack([np.ones(spec.k), np.sqrt(v0)])
        fit = linear_fit(y0, v0, X, model="rma", method=spec.method, tau2=spec.tau2_fixed)
        side_ = "right" if fit.beta[1] < 0 else "left"
    else:
        side_ = str(side).lower()
        if side_ not in ("left", "right"):
            raise InputError(f"Unknown side {side!r}; choose 'left', 'right' or None (automatic).",
                             column="side")
    yy = -y0 if side_ == "right" else y0.copy()
    # A stable sort, as R's sort(..., index.return = TRUE) (radix) keeps ties in input order.
    ix = np.argsort(yy, kind="stable")
    yy, vv = yy[ix], v0[ix]
    k = spec.k
    k0, k0_prev, it = 0, -1, 0
    se_k0: float | None = 0.0
    beta = 0.0
    converged = True
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            converged = False
            msg = (f"Trim and fill did not settle on k0 within {maxiter} iterations; the last "
                   f"value (k0 = {k0}) is used.")
            notes.append(msg)
            warnings.warn(msg, ConvergenceWarning, stacklevel=2)
            break
        beta = pooled_estimate(yy[: k - k0], vv[: k - k0], spec.method, spec.tau2_fixed)
        yc = yy - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(yc) * ranks
        if est_name == "R0":
            neg = signed[signed < 0]
            k0_raw = (k - (np.max(-neg) if neg.size else -math.inf)) - 1
            k0_raw = float(k0_raw) if math.isfinite(k0_raw) else float(k - 1)
            se_raw = math.sqrt(2 * max(0.0, k0_raw) + 2)
        else:
            sr = float(np.sum(signed[signed > 0]))
            if est_name == "L0":
                k0_raw = (4 * sr - k * (k + 1)) / (2 * k - 1)
            else:
                disc = 2 * k * k - 4 * sr + 0.25
                if disc < 0:
                    raise InputError(
                        "The Q0 estimator of trim and fill is not defined for these data (the "
                        "positive ranks sum to more than about k^2/2: the funnel is very "
                        f"asymmetric, side '{side_}'). Use estimator='L0' or 'R0'.",
                        column="estimator")
                k0_raw = k - 0.5 - math.sqrt(disc)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0_raw**3 + 27 * k0_raw**2 + 17 * k0_raw
                      - 18 * k * k0_raw**2 - 18 * k * k0_raw + 6 * k * k * k0_raw) / 24
            # A negative variance estimate (far from the model's assumptions) leaves the SE
            # undefined, as in metafor (NaN there, None here).
            root = math.sqrt(var_sr) if var_sr >= 0 else math.nan
            if est_name == "L0":
                se_raw = 4 * root / (2 * k - 1)
            else:
                den = (k - 0.5) ** 2 - k0_raw * (2 * k - k0_raw - 1)
                se_raw = 2 * root / math.sqrt(den) if den > 0 else math.nan
        k0 = max(0, int(_round_half_even(k0_raw)))
        k0 = min(k0, k - 1)
        se_k0 = max(0.0, se_raw) if math.isfinite(se_raw) else None
    full = spec.full()
    if k0 > 0:
        yc = yy - beta
        mirror = -(yc - beta) if side_ == "right" else yc - beta
        fill_y = -mirror[k - k0:]
        if ilim is not None:
            lo, hi = sorted(float(b) for b in ilim)
            fill_y = np.clip(fill_y, lo, hi)
        y_all = np.concatenate([y0, fill_y])
        v_all = np.concatenate([v0, vv[k - k0:]])
        labs = tuple(spec.labels) + tuple(f"Filled {i + 1}" for i in range(k0))
        refit = spec.fit(y=y_all, v=v_all, labels=labs)
    else:
        y_all, v_all, labs, refit = y0.copy(), v0.copy(), tuple(spec.labels), full
    p_k0 = 0.5 ** (k0 + 1) if est_name == "R0" else None
    return TrimFillResult(
        k0=k0, k0_se=se_k0, k0_p_value=p_k0, side=side_, estimator=est_name, iterations=it,
        converged=converged, original=full, result=refit, yi=y_all, vi=v_all,
        filled=np.concatenate([np.zeros(spec.k, bool), np.ones(k0, bool)]), labels=labs,
        warnings=tuple(notes),
    )


def _round_half_even(x: float) -> float:
    # R's round() rounds halves to even (IEC 60559), as Python's round() does.
    return float(round(x))
