"""Small-study effects and publication bias (metafor's ``regtest``, ``ranktest``, ``trimfill``,
``fsn``; PET-PEESE).

Each analysis takes a fitted :class:`~acuevidence.results.MetaResult` or effect sizes ``yi`` with
``vi``/``sei`` plus model options, and returns a frozen result with ``to_dict()``, ``to_frame()``
and ``summary()``. Trim and fill is implemented in ``_trimfill.py`` (re-exported here), the
selection model in :mod:`acuevidence.selection`, the weighted regressions in ``_regression.py``.

Map from metafor's names:

=====================================  ===============================================
metafor                                acuevidence
=====================================  ===============================================
``regtest(x, model, predictor)``       :func:`regtest` (``zval``/``pval``/``ddf`` ->
                                       ``statistic``/``p_value``/``df``; ``est``,
                                       ``ci.lb``, ``ci.ub`` -> ``limit_estimate``,
                                       ``limit_ci_lower``, ``limit_ci_upper``)
``ranktest(x)``                        :func:`ranktest` (``tau``, ``pval`` -> ``p_value``)
``trimfill(x, side, estimator)``       :func:`trimfill` (``k0``, ``se.k0`` -> ``k0_se``,
                                       ``p.k0`` -> ``k0_p_value``)
``fsn(yi, vi, type, target)``          :func:`fsn` (``fsnum`` -> ``fsn``, ``meanes`` ->
                                       ``mean_effect``)
(no metafor function)                  :func:`pet_peese`
=====================================  ===============================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._refit import ModelSpec, opt_float, resolve_model, resolve_ni
from ._regression import LinearFit, check_k, linear_fit
from ._trimfill import TRIMFILL_ESTIMATORS, TrimFillResult, trimfill
from ._validate import finite_number
from .errors import InputError
from .printer import Report, fmt_number, fmt_p
from .results import MetaResult, json_safe

__all__ = [
    "TRIMFILL_ESTIMATORS",
    "FailSafeNResult",
    "LinearFit",
    "PetPeeseResult",
    "RankTestResult",
    "RegressionTestResult",
    "TrimFillResult",
    "fsn",
    "kendall_exact_cdf",
    "kendall_tau_b",
    "linear_fit",
    "pet_peese",
    "ranktest",
    "regtest",
    "trimfill",
]

PREDICTORS: tuple[str, ...] = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")
# Predictors that go to 0 as the study grows: their intercept is the "limit" estimate (an
# infinitely large study), as metafor reports it.
LIMIT_PREDICTORS: tuple[str, ...] = ("sei", "vi", "ninv", "sqrtninv")
FSN_TYPES: tuple[str, ...] = ("rosenthal", "orwin", "rosenberg")


def _predictor_column(predictor: str, v: np.ndarray, ni: np.ndarray | None) -> np.ndarray:
    if predictor == "sei":
        return np.sqrt(v)
    if predictor == "vi":
        return v.copy()
    assert ni is not None
    return {"ni": ni, "ninv": 1.0 / ni, "sqrtni": np.sqrt(ni),
            "sqrtninv": 1.0 / np.sqrt(ni)}[predictor]


def _section_rows(pairs: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    return [(k, v if isinstance(v, str) else fmt_number(v)) for k, v in pairs]


class _ResultMixin:
    """to_dict/to_frame/summary for the flat results of this module."""

    _scalar_fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the result's numbers."""
        out = {name: getattr(self, name) for name in self._scalar_fields}
        out["warnings"] = list(getattr(self, "warnings", ()))
        return json_safe(out)

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of the scalar fields."""
        return pd.DataFrame([{name: getattr(self, name) for name in self._scalar_fields}])

    def summary(self, fmt: str = "text") -> str:
        """Readable summary as ``"text"``, ``"markdown"`` or ``"html"``."""
        return self._report().render(fmt)

    def __str__(self) -> str:
        return self.summary()

    def _report(self) -> Report:  # pragma: no cover - overridden
        raise NotImplementedError


# ======================================================================================
# Egger's regression test
# ======================================================================================
@dataclass(frozen=True, eq=False, repr=False)
class RegressionTestResult(_ResultMixin):
    """Regression test for funnel-plot asymmetry (metafor's ``regtest``).

    ``statistic``/``p_value``/``df`` test the slope on the predictor (H0: no small-study
    effect). ``limit_estimate`` is the intercept: the predicted effect of a study with
    predictor 0 (an infinitely large study); it is None for the predictors ``ni``/``sqrtni``.
    """

    model: str
    predictor: str
    method: str
    test: str
    level: float
    k: int
    statistic: float
    p_value: float
    df: int | None
    slope: float
    slope_se: float
    limit_estimate: float | None
    limit_se: float | None
    limit_ci_lower: float | None
    limit_ci_upper: float | None
    tau2: float
    dispersion: float
    warnings: tuple[str, ...] = field(default=())

    _scalar_fields = ("model", "predictor", "method", "test", "level", "k", "statistic",
                      "p_value", "df", "slope", "slope_se", "limit_estimate", "limit_se",
                      "limit_ci_lower", "limit_ci_upper", "tau2", "dispersion")

    def __repr__(self) -> str:
        return (f"RegressionTestResult(model={self.model!r}, predictor={self.predictor!r}, "
                f"statistic={self.statistic:.4f}, p_value={self.p_value:.4g})")

    def _report(self) -> Report:
        kind = ("mixed-effects meta-regression" if self.model == "rma"
                else "weighted regression with multiplicative dispersion")
        rep = Report(f"Regression test for funnel plot asymmetry (k = {self.k})")
        dist = "z" if self.df is None else f"t({self.df})"
        lines: list[tuple[str, Any]] = [
            ("model", kind if self.model == "lm" else f"{kind} ({self.method}, test {self.test})"),
            ("predictor", self.predictor),
            (f"statistic ({dist})", self.statistic),
            ("p_value", fmt_p(self.p_value)),
        ]
        if self.limit_estimate is not None:
            lv = f"{100 * self.level:g}%"
            lines.append(("limit estimate (as the predictor -> 0)",
                          (f"{fmt_number(self.limit_estimate)} ({lv} CI "
                           f"{fmt_number(self.limit_ci_lower)} to "
                           f"{fmt_number(self.limit_ci_upper)})")))
        rep.add_section("Test of the slope (H0: no small-study effect)", _section_rows(lines))
        rep.notes.extend(self.warnings)
        return rep


def regtest(
    x: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    ni: Any = None,
    data: pd.DataFrame | None = None,
    model: str = "rma",
    predictor: str = "sei",
    method: str | None = None,
    test: str | None = None,
    level: float | None = None,
) -> RegressionTestResult:
    """Egger's regression test for funnel-plot asymmetry (metafor's ``regtest``).

    Parameters
    ----------
    x : MetaResult or array-like
        A fitted model, or the effect sizes ``yi`` (then give ``vi`` or ``sei``).
    ni : array-like, optional
        Sample sizes, needed for the predictors ``"ni"``, ``"ninv"``, ``"sqrtni"``,
        ``"sqrtninv"``.
    model : {"rma", "lm"}
        ``"rma"`` (default, as metafor): mixed-effects meta-regression of yi on the predictor with
        the model's tau^2 estimator and test. ``"lm"``: the classic Egger test, a weighted linear
        regression with weights 1/vi and a multiplicative dispersion (t-test, k - 2 df).
    predictor : {"sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv"}
        The measure of precision regressed on (standard error by default).
    method, test, level : optional
        Override the options of a MetaResult (defaults for arrays: REML, z, 0.95).

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected by a
        simple, graphical test. BMJ 315:629-634.
    Sterne JAC, Egger M (2005). Regression methods to detect publication and other bias in
        meta-analysis. In: Rothstein HR et al. (eds), Publication Bias in Meta-Analysis. Wiley.
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
        36(3).
    """
    spec = resolve_model(x, vi, sei=sei, data=data, method=method, test=test, level=level,
                         what="regtest")
    mdl = str(model).lower()
    if mdl not in ("rma", "lm"):
        raise InputError(f"Unknown model {model!r}; choose 'rma' (mixed-effects meta-regression) "
                         "or 'lm' (classic Egger: weighted regression).", column="model")
    pred = str(predictor).lower()
    if pred not in PREDICTORS:
        raise InputError(f"Unknown predictor {predictor!r}; choose one of "
                         f"{', '.join(PREDICTORS)}.", column="predictor")
    check_k(spec.k, "Egger's regression test")
    n = None
    if pred in ("ni", "ninv", "sqrtni", "sqrtninv"):
        if ni is None:
            raise InputError(f"The predictor {pred!r} needs the sample sizes: pass 'ni' (one per "
                             "study), or use predictor='sei'.", column="ni")
        n = resolve_ni(ni, data, spec.k, f"predictor {pred!r}")
    col = _predictor_column(pred, spec.v, n)
    if np.ptp(col) <= 1e-12 * max(1.0, float(np.max(np.abs(col)))):
        raise InputError(f"The predictor {pred!r} is the same for every study, so the regression "
                         "slope is not defined; small-study effects cannot be tested with it.",
                         column=pred)
    X = np.column_stack([np.ones(spec.k), col])
    fit = linear_fit(spec.y, spec.v, X, model=mdl, method=spec.method, test=spec.test,
                     level=spec.level, tau2=spec.tau2_fixed)
    has_limit = pred in LIMIT_PREDICTORS
    notes: list[str] = []
    if mdl == "lm" and fit.dispersion <= 1e-20 * float(np.mean(spec.y**2 / spec.v) + 1e-300):
        # R's summary.lm warns "essentially perfect fit: summary may be unreliable".
        notes.append("The regression fits the effect sizes exactly (no residual variation): "
                     "the test statistic reflects rounding only and is not informative.")
    return RegressionTestResult(
        model=mdl, predictor=pred, method=spec.method if mdl == "rma" else "WLS",
        test=spec.test if mdl == "rma" else "t", level=spec.level, k=spec.k,
        statistic=float(fit.statistic[1]), p_value=float(fit.p_value[1]), df=fit.df,
        slope=float(fit.beta[1]), slope_se=float(fit.se[1]),
        limit_estimate=float(fit.beta[0]) if has_limit else None,
        limit_se=float(fit.se[0]) if has_limit else None,
        limit_ci_lower=float(fit.ci_lower[0]) if has_limit else None,
        limit_ci_upper=float(fit.ci_upper[0]) if has_limit else None,
        tau2=fit.tau2, dispersion=fit.dispersion, warnings=tuple(notes),
    )


# ======================================================================================
# Begg's rank correlation test
# ======================================================================================
def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b of two vectors (R's ``cor(x, y, method = "kendall")``)."""
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(x.shape[0], 1)
    s = float(np.sum(dx[iu] * dy[iu]))
    n0 = iu[0].shape[0]
    tx = float(np.sum(dx[iu] == 0))
    ty = float(np.sum(dy[iu] == 0))
    denom = math.sqrt((n0 - tx) * (n0 - ty))
    return s / denom if denom > 0 else math.nan


def kendall_exact_cdf(n: int) -> np.ndarray:
    """P(T <= q), q = 0..n(n-1)/2, for T the number of concordant pairs of n untied values.

    T has the distribution of the number of inversions of a random permutation; built by the
    recursion p_n(q) = (1/n) sum_{j<n} p_{n-1}(q - j), in probabilities so nothing overflows.
    """
    p = np.array([1.0])
    for m in range(2, n + 1):
        c = np.concatenate([[0.0], np.cumsum(p)])
        size = p.shape[0] + m - 1
        q = np.arange(size)
        hi = np.minimum(q, p.shape[0] - 1) + 1
        lo = np.maximum(q - m + 1, 0)
        p = (c[hi] - c[lo]) / m
    return np.minimum(np.cumsum(p), 1.0)


@dataclass(frozen=True, eq=False, repr=False)
class RankTestResult(_ResultMixin):
    """Begg and Mazumdar's rank correlation test (metafor's ``ranktest``)."""

    k: int
    tau: float
    statistic: float
    p_value: float
    exact: bool
    warnings: tuple[str, ...] = field(default=())

    _scalar_fields = ("k", "tau", "statistic", "p_value", "exact")

    def __repr__(self) -> str:
        return f"RankTestResult(tau={self.tau:.4f}, p_value={self.p_value:.4g})"

    def _report(self) -> Report:
        rep = Report(f"Rank correlation test for funnel plot asymmetry (k = {self.k})")
        rep.add_section("Kendall's tau between standardized effects and variances", [
            ("tau", fmt_number(self.tau)),
            ("statistic", f"{fmt_number(self.statistic)} ({'exact T' if self.exact else 'z'})"),
            ("p_value", fmt_p(self.p_value)),
        ])
        rep.notes.extend(self.warnings)
        return rep


def ranktest(x: Any, vi: Any = None, *, sei: Any = None, data: pd.DataFrame | None = None,
             exact: bool = True) -> RankTestResult:
    """Begg's rank correlation test (metafor's ``ranktest``).

    Kendall's tau between the standardized effects (yi - theta_FE) / sqrt(vi - 1/sum(wi)) and
    the variances vi. With ``exact=True`` (metafor's default) and no ties the p-value comes from
    the exact null distribution of Kendall's statistic; otherwise (or with ties, as R's
    ``cor.test``) from the normal approximation with the tie-corrected variance.

    References
    ----------
    Begg CB, Mazumdar M (1994). Operating characteristics of a rank correlation test for
        publication bias. Biometrics 50:1088-1101.
    """
    spec = resolve_model(x, vi, sei=sei, data=data, what="ranktest")
    check_k(spec.k, "Begg's rank correlation test")
    y, v = spec.y, spec.v
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    vstar = v - 1.0 / np.sum(w)
    ystar = (y - theta) / np.sqrt(vstar)
    n = spec.k
    tau = kendall_tau_b(ystar, v)
    notes: list[str] = []
    ties = min(np.unique(ystar).size, np.unique(v).size) < n
    if not math.isfinite(tau):
        why, col = (("all studies have the same variance", "vi") if np.ptp(v) == 0 else
                    ("all effect sizes are equal (nothing to rank)", "yi"))
        raise InputError(f"Kendall's tau is not defined: {why}; the rank correlation test "
                         "cannot be done.", column=col)
    if exact and not ties:
        q = round((tau + 1) * n * (n - 1) / 4)
        cdf = kendall_exact_cdf(n)
        if q > n * (n - 1) / 4:
            p = 1.0 - cdf[q - 1]
        else:
            p = cdf[q]
        return RankTestResult(k=n, tau=tau, statistic=float(q), p_value=min(2 * float(p), 1.0),
                              exact=True)
    if exact and ties:
        notes.append("Ties among the standardized effects or variances: the exact p-value is not "
                     "available, the normal approximation is used (as R's cor.test).")
    _, xt = np.unique(ystar, return_counts=True)
    _, yt = np.unique(v, return_counts=True)
    xt, yt = xt[xt > 1].astype(float), yt[yt > 1].astype(float)
    t0 = n * (n - 1) / 2
    t1 = float(np.sum(xt * (xt - 1))) / 2
    t2 = float(np.sum(yt * (yt - 1))) / 2
    s = tau * math.sqrt((t0 - t1) * (t0 - t2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = float(np.sum(xt * (xt - 1) * (2 * xt + 5)))
    vu = float(np.sum(yt * (yt - 1) * (2 * yt + 5)))
    v1 = float(np.sum(xt * (xt - 1))) * float(np.sum(yt * (yt - 1)))
    v2 = float(np.sum(xt * (xt - 1) * (xt - 2))) * float(np.sum(yt * (yt - 1) * (yt - 2)))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    z = s / math.sqrt(var_s)
    p = 2 * min(stats.norm.cdf(z), stats.norm.sf(z))
    return RankTestResult(k=n, tau=tau, statistic=z, p_value=float(p), exact=False,
                          warnings=tuple(notes))


# ======================================================================================
# PET-PEESE
# ======================================================================================
@dataclass(frozen=True, eq=False, repr=False)
class PetPeeseResult(_ResultMixin):
    """PET-PEESE: precision-effect test and precision-effect estimate with standard error.

    ``pet`` regresses yi on sei, ``peese`` on vi (both weights 1/vi); ``chosen`` names the one
    whose intercept is reported as ``estimate`` (see :func:`pet_peese` for the rule).
    """

    pet: RegressionTestResult
    peese: RegressionTestResult
    chosen: str
    alpha: float
    direction: str
    pet_one_sided_p_value: float
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    statistic: float
    p_value: float
    df: int | None
    warnings: tuple[str, ...] = field(default=())

    _scalar_fields = ("chosen", "alpha", "direction", "pet_one_sided_p_value", "estimate", "se",
                      "ci_lower", "ci_upper", "statistic", "p_value", "df")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["pet"] = self.pet.to_dict()
        out["peese"] = self.peese.to_dict()
        return out

    def __repr__(self) -> str:
        return f"PetPeeseResult(chosen={self.chosen!r}, estimate={self.estimate:.4f})"

    def _report(self) -> Report:
        rep = Report(f"PET-PEESE (k = {self.pet.k}; chosen: {self.chosen})")
        lv = f"{100 * self.pet.level:g}%"
        for name, r in (("PET (yi on sei)", self.pet), ("PEESE (yi on vi)", self.peese)):
            rep.add_section(name, [
                ("intercept", (f"{fmt_number(r.limit_estimate)} ({lv} CI "
                 f"{fmt_number(r.limit_ci_lower)} to {fmt_number(r.limit_ci_upper)})")),
                ("slope", f"{fmt_number(r.slope)} (p = {fmt_p(r.p_value)})"),
            ])
        rep.add_section("Conditional estimate", [
            ("PET intercept, one-sided p", fmt_p(self.pet_one_sided_p_value)),
            ("rule", f"PEESE if that p < {self.alpha:g}, else PET"),
            ("estimate", (f"{fmt_number(self.estimate)} ({lv} CI {fmt_number(self.ci_lower)} to "
             f"{fmt_number(self.ci_upper)})")),
        ])
        rep.notes.extend(self.warnings)
        return rep


def pet_peese(x: Any, vi: Any = None, *, sei: Any = None, data: pd.DataFrame | None = None,
              alpha: float = 0.05, direction: str = "auto", model: str = "lm",
              level: float | None = None) -> PetPeeseResult:
    """PET-PEESE conditional estimator of the effect corrected for small-study effects.

    PET regresses yi on sei and PEESE on vi, by weighted least squares (weights 1/vi) with a
    multiplicative dispersion (``model="lm"``, as Stanley and Doucouliagos; ``"rma"`` uses the
    mixed-effects version). Their intercepts estimate the effect of a study with SE 0.

    Rule (Stanley & Doucouliagos 2014): test H0: intercept = 0 with the PET fit, one-sided at
    ``alpha`` (0.05) in the expected direction of the effect. If H0 is rejected (there is a
    genuine effect), report the PEESE intercept, which is less biased when the effect is not
    zero; otherwise report the PET intercept. ``direction`` is the expected sign: "positive",
    "negative" or "auto" (the sign of the PET intercept itself, i.e. two-sided p < 2 alpha).

    References
    ----------
    Stanley TD, Doucouliagos H (2014). Meta-regression approximations to reduce publication
        selection bias. Res Synth Methods 5:60-78.
    Stanley TD (2008). Meta-regression methods for detecting and estimating empirical effects
        in the presence of publication selection. Oxf Bull Econ Stat 70:103-127.
    """
    alpha = finite_number(alpha, "alpha", what="the significance level")
    if not 0 < alpha < 1:
        raise InputError(f"The 'alpha' parameter must be in (0, 1); got {alpha!r}.",
                         column="alpha")
    d = str(direction).lower()
    if d not in ("auto", "positive", "negative"):
        raise InputError(f"Unknown direction {direction!r}; choose 'auto', 'positive' or "
                         "'negative'.", column="direction")
    pet = regtest(x, vi, sei=sei, data=data, model=model, predictor="sei", level=level)
    peese = regtest(x, vi, sei=sei, data=data, model=model, predictor="vi", level=level)
    b0, se0 = float(pet.limit_estimate), float(pet.limit_se)  # type: ignore[arg-type]
    if se0 == 0.0 or float(peese.limit_se) == 0.0:  # type: ignore[arg-type]
        raise InputError(
            "PET-PEESE needs residual variation: the effects 'yi' lie exactly on the regression "
            "line (e.g. all equal), so its standard errors are 0 and no test is defined. "
            "Check the effect sizes; with identical effects there is no small-study effect "
            "to correct.", column="yi")
    t0 = b0 / se0
    sign = (1.0 if b0 >= 0 else -1.0) if d == "auto" else (1.0 if d == "positive" else -1.0)
    dist = stats.norm if pet.df is None else stats.t(pet.df)
    p1 = float(dist.sf(sign * t0))
    chosen = "PEESE" if p1 < alpha else "PET"
    c = peese if chosen == "PEESE" else pet
    stat = float(c.limit_estimate) / float(c.limit_se)  # type: ignore[arg-type]
    p_two = float(2 * (stats.norm if c.df is None else stats.t(c.df)).sf(abs(stat)))
    return PetPeeseResult(
        pet=pet, peese=peese, chosen=chosen, alpha=float(alpha), direction=d,
        pet_one_sided_p_value=p1, estimate=float(c.limit_estimate),  # type: ignore[arg-type]
        se=float(c.limit_se), ci_lower=float(c.limit_ci_lower),  # type: ignore[arg-type]
        ci_upper=float(c.limit_ci_upper), statistic=stat, p_value=p_two,  # type: ignore[arg-type]
        df=c.df,
    )


# ======================================================================================
# Fail-safe N
# ======================================================================================
@dataclass(frozen=True, eq=False, repr=False)
class FailSafeNResult(_ResultMixin):
    """Fail-safe N (metafor's ``fsn``): how many null studies would overturn the conclusion."""

    type: str
    fsn: float
    alpha: float
    p_value: float | None
    mean_effect: float | None
    target: float | None
    k: int
    test: str | None
    weighted: bool
    warnings: tuple[str, ...] = field(default=())

    _scalar_fields = ("type", "fsn", "alpha", "p_value", "mean_effect", "target", "k", "test",
                      "weighted")

    def __repr__(self) -> str:
        return f"FailSafeNResult(type={self.type!r}, fsn={self.fsn:g})"

    def _report(self) -> Report:
        title = {"rosenthal": "Rosenthal", "orwin": "Orwin", "rosenberg": "Rosenberg"}[self.type]
        rep = Report(f"Fail-safe N ({title} approach, k = {self.k})")
        lines = [("fail-safe N", "inf" if math.isinf(self.fsn) else f"{self.fsn:g}")]
        if self.p_value is not None:
            lines.append(("observed p-value", fmt_p(self.p_value)))
        if self.mean_effect is not None:
            lines.append(("mean effect", fmt_number(self.mean_effect)))
        if self.target is not None:
            lines.append(("target effect", fmt_number(self.target)))
        if self.type != "orwin":
            lines.append(("target significance level", f"{self.alpha:g}"))
        rep.add_section("", lines)
        rep.notes.append("Fail-safe N ignores heterogeneity and selection on effect size; prefer "
                         "regression tests and selection models for inference.")
        return rep


def fsn(x: Any, vi: Any = None, *, sei: Any = None, data: pd.DataFrame | None = None,
        type: str = "rosenthal", alpha: float = 0.05, target: float | None = None,
        weighted: bool = False, test: str = "stouffer") -> FailSafeNResult:
    """Fail-safe N (metafor's ``fsn``).

    Parameters
    ----------
    type : {"rosenthal", "orwin", "rosenberg"}
        Rosenthal: number of studies averaging a null result that would bring the combined
        one-sided p-value (Stouffer's, or Fisher's with ``test="fisher"``) above ``alpha``.
        Orwin: number of studies with effect 0 that would bring the (unweighted, or with
        ``weighted=True`` inverse-variance weighted) mean effect down to ``target`` (default
        half the mean; ``vi`` is only needed when weighted). Rosenberg: number of studies with
        effect 0 (and the average weight) that would make the common-effect z-test
        non-significant at two-sided ``alpha``.

    References
    ----------
    Rosenthal R (1979). The "file drawer problem" and tolerance for null results.
        Psychol Bull 86:638-641.
    Orwin RG (1983). A fail-safe N for effect size in meta-analysis. J Educ Stat 8:157-159.
    Rosenberg MS (2005). The file-drawer problem revisited: a general weighted method for
        calculating fail-safe numbers in meta-analysis. Evolution 59:464-468.
    """
    kind = str(type).lower()
    if kind not in FSN_TYPES:
        raise InputError(f"Unknown fail-safe N type {type!r}; choose 'rosenthal', 'orwin' or "
                         "'rosenberg'.", column="type")
    alpha = finite_number(alpha, "alpha", what="the significance level")
    if not 0 < alpha < 1:
        raise InputError(f"The 'alpha' parameter must be in (0, 1); got {alpha!r}.",
                         column="alpha")
    if target is not None:
        target = finite_number(target, "target", what="the effect size to reduce the mean to")
    tst = str(test).lower()
    if tst not in ("stouffer", "fisher"):
        raise InputError(f"Unknown test {test!r}; choose 'stouffer' or 'fisher'.", column="test")
    if kind == "orwin" and not weighted and vi is None and sei is None and \
            not isinstance(x, MetaResult):
        from ._validate import Y_MAX, as_float_array, check_magnitude, resolve_column

        y = as_float_array(resolve_column(x, data, "yi"), "yi", allow_bool=False)
        check_magnitude(y, "yi", maximum=Y_MAX)
        v = np.ones_like(y)
    else:
        spec: ModelSpec = resolve_model(x, vi, sei=sei, data=data, what="fsn")
        y, v = spec.y, spec.v
    k = int(y.shape[0])
    if k < 1:
        raise InputError("No studies (k = 0).", column="yi")
    p_value = mean = tgt = None
    if kind == "rosenthal":
        z = y / np.sqrt(v)
        if tst == "stouffer":
            z_avg = abs(float(np.sum(z)) / math.sqrt(k))
            p_value = float(stats.norm.sf(z_avg))
            n = max(0.0, k * (z_avg / float(stats.norm.isf(alpha))) ** 2 - k)
        else:
            pi = stats.norm.sf(np.abs(z))
            p_value = _fisher_p(0, pi)
            n = 0.0 if p_value >= alpha else _fisher_root(pi, alpha)
    elif kind == "orwin":
        mean = float(np.sum(y / v) / np.sum(1 / v)) if weighted else float(np.mean(y))
        tgt = mean / 2 if target is None else float(target)
        if tgt == 0:
            n = math.inf
        else:
            if np.sign(tgt) != np.sign(mean):
                tgt = -tgt
            n = max(0.0, k * (mean - tgt) / tgt)
    else:
        w = 1.0 / v
        mean = float(np.sum(w * y) / np.sum(w))
        zval = mean / math.sqrt(1.0 / np.sum(w))
        wp = (float(np.sum(w * y)) / float(stats.norm.isf(alpha / 2))) ** 2 - float(np.sum(w))
        p_value = float(2 * stats.norm.sf(abs(zval)))
        n = max(0.0, k * wp / float(np.sum(w)))
    if math.isfinite(n) and abs(n - round(n)) >= math.sqrt(np.finfo(float).eps):
        n = float(math.ceil(n))
    elif math.isfinite(n):
        n = float(round(n))
    return FailSafeNResult(type=kind, fsn=n, alpha=float(alpha), p_value=opt_float(p_value),
                           mean_effect=mean, target=tgt, k=k,
                           test=tst if kind == "rosenthal" else None,
                           weighted=bool(weighted) if kind == "orwin" else kind == "rosenberg")


def _fisher_p(n_null: int, pi: np.ndarray) -> float:
    # Fisher's combined p-value with n_null added studies of p = 0.5.
    x2 = -2 * (float(np.sum(np.log(pi))) + n_null * math.log(0.5))
    return float(stats.chi2.sf(x2, 2 * (pi.shape[0] + n_null)))


def _fisher_root(pi: np.ndarray, alpha: float) -> float:
    """Smallest whole number of null studies (p = 0.5) that lifts Fisher's p to >= alpha.

    Each added study raises the chi^2 statistic by 2 log 2 < 2 (its df by 2), so the p-value
    increases with n and integer bisection finds the threshold exactly.
    """
    lo, hi = 0, 1
    while _fisher_p(hi, pi) < alpha:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _fisher_p(mid, pi) < alpha:
            lo = mid
        else:
            hi = mid
    return float(hi)
