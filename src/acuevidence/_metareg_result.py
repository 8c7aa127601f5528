"""Frozen results of a meta-regression, and of the tests run on it (Wald, likelihood ratio).

Map from metafor (``rma.uni`` with ``mods``) to the attribute names here:

==================================  ============================================================
metafor                             acuevidence (``MetaRegressionResult``)
==================================  ============================================================
``coef()``, ``se``, ``zval``,       ``estimate``, ``se``, ``statistic``, ``p_value``,
``pval``, ``ci.lb``, ``ci.ub``      ``ci_lower``, ``ci_upper`` (arrays, one per ``terms``)
``vcov()``                          ``vcov``
``tau2``, ``se.tau2``, ``confint``  ``tau2``, ``tau2_se``, ``tau2_ci_lower``/``tau2_ci_upper``
``I2``, ``H2``, ``R2``              ``i2``, ``h2``, ``r2`` (residual I^2/H^2; pseudo-R^2 in %)
``QE``, ``QEp``                     ``q``, ``q_p_value`` (``q_df`` = k - p)
``QM``, ``QMdf``, ``QMp``, ``btt``  ``qm``, ``qm_df``/``qm_df2``, ``qm_p_value``, ``btt`` (0-based)
``s2w``, ``parms``                  ``s2w``, ``parms``
``fitstats()``                      ``loglik``, ``deviance``, ``aic``, ``bic``, ``aicc``
``anova(res, btt=)``, ``anova(res,  ``wald(btt)``, ``wald(L=...)``
X=L)``
``anova(full, reduced)``            ``anova(other)`` (likelihood-ratio test)
``predict(res, newmods=)``          ``predict(newmods)``
``permutest()``                     ``permutation_test()``
==================================  ============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from ._metareg_design import INTERCEPT, Design, new_rows
from ._validate import check_level
from .errors import InputError
from .printer import Report, fmt_number, fmt_p
from .results import frozen_array, json_safe

if TYPE_CHECKING:  # pragma: no cover
    from ._metareg_perm import PermutationResult

__all__ = ["SUMMARY_FIELDS", "LikelihoodRatioTest", "MetaRegressionResult", "WaldTest"]

COMMON = ("EE", "FE", "CE")
TDIST = ("t", "knha", "adhoc")
_PI_TYPES = ("default", "riley", "t", "simple")

SUMMARY_FIELDS: tuple[str, ...] = (
    "k", "p", "method", "test", "level", "df",
    "tau2", "tau2_se", "tau2_ci_lower", "tau2_ci_upper", "tau2_ci_method", "tau",
    "i2", "h2", "r2", "q", "q_df", "q_p_value",
    "qm", "qm_df", "qm_df2", "qm_p_value",
    "s2w", "parms", "loglik", "deviance", "aic", "bic", "aicc",
    "tau2_fixed", "converged", "iterations", "path", "intercept",
)
COEF_FIELDS: tuple[str, ...] = ("term", "estimate", "se", "statistic", "p_value", "ci_lower",
                                "ci_upper")



def _stat_label(test: str, df1: int, df2: int | None) -> str:
    return f"QM (chi2, df = {df1})" if df2 is None else f"F (df = {df1}, {df2})"


@dataclass(frozen=True, eq=False)
class WaldTest:
    """Wald test of coefficients (``btt``) or of linear combinations ``L beta = rhs``.

    ``statistic`` is chi-square with ``df`` degrees of freedom (z tests) or F with
    (``df``, ``df2``) (t-type tests), as metafor's ``anova(res, btt=)`` / ``anova(res, X=)``.
    For linear combinations ``table`` holds each combination's estimate, se, statistic and
    p_value.
    """

    statistic: float | None
    df: int
    df2: int | None
    p_value: float | None
    distribution: str
    hypotheses: tuple[str, ...]
    btt: tuple[int, ...] | None = None
    table: pd.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"statistic": self.statistic, "df": self.df, "df2": self.df2,
               "p_value": self.p_value, "distribution": self.distribution,
               "hypotheses": list(self.hypotheses),
               "btt": list(self.btt) if self.btt is not None else None}
        if self.table is not None:
            out["combinations"] = self.table.to_dict(orient="records")
        return json_safe(out)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{k: v for k, v in self.to_dict().items()
                              if k not in ("combinations", "hypotheses", "btt")}])

    def summary(self, fmt: str = "text") -> str:
        rep = Report("Wald test")
        rep.add_section("Hypotheses", [(str(i + 1), h) for i, h in enumerate(self.hypotheses)])
        if self.table is not None:
            rep.add_table("Linear combinations", self.table)
        label = "QM" if self.distribution == "chi2" else "F"
        dfs = f"df = {self.df}" if self.df2 is None else f"df = {self.df}, {self.df2}"
        line = f"{fmt_number(self.statistic)} ({dfs}), p = {fmt_p(self.p_value)}"
        rep.add_section("Omnibus test", [(label, line)])
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, eq=False)
class LikelihoodRatioTest:
    """Likelihood-ratio test of a reduced model against a full model (metafor's ``anova``).

    ``fit`` has one row per model (``full``, ``reduced``) with parms, loglik, deviance, aic,
    bic, aicc, q and tau2; ``r2`` is the proportional reduction in tau^2 (in %).
    """

    statistic: float
    df: int
    p_value: float
    method: str
    fit: pd.DataFrame
    r2: float | None

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"statistic": self.statistic, "df": self.df, "p_value": self.p_value,
                          "method": self.method, "r2": self.r2,
                          "models": self.fit.to_dict(orient="records")})

    def to_frame(self) -> pd.DataFrame:
        out = self.fit.copy()
        out["statistic"] = [None, self.statistic]
        out["df"] = [None, self.df]
        out["p_value"] = [None, self.p_value]
        return out

    def summary(self, fmt: str = "text") -> str:
        rep = Report(f"Likelihood-ratio test ({self.method})")
        rep.add_table("Models", self.fit)
        lrt = f"{fmt_number(self.statistic)} (df = {self.df}), p = {fmt_p(self.p_value)}"
        r2 = "-" if self.r2 is None else f"{fmt_number(self.r2, 2)}%"
        rep.add_section("Test", [("LRT", lrt), ("R^2", r2)])
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, eq=False)
class MetaRegressionResult:
    """Result of a meta-regression (mixed- or fixed-effects), with every number computed.

    Coefficient quantities are arrays in the order of ``terms``; ``to_frame()`` gives them as
    a table. See the module docstring for the map from metafor's names.
    """

    k: int
    p: int
    method: str
    test: str
    level: float
    terms: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    vcov: np.ndarray
    df: int | None
    tau2: float
    tau2_se: float | None
    tau2_ci_lower: float | None
    tau2_ci_upper: float | None
    tau2_ci_method: str | None
    tau: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p_value: float
    qm: float
    qm_df: int
    qm_df2: int | None
    qm_p_value: float
    btt: tuple[int, ...]
    r2: float | None
    s2w: float
    parms: int
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    tau2_fixed: bool
    converged: bool
    iterations: int
    path: str
    intercept: bool
    yi: np.ndarray
    vi: np.ndarray
    weights: np.ndarray
    fitted: np.ndarray
    labels: tuple[str, ...]
    design: Design = field(repr=False)
    user_weights: np.ndarray | None = field(default=None, repr=False)
    fit_stats_all: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)
    tau2_ci_option: str | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "vcov",
                     "yi", "vi", "weights", "fitted"):
            object.__setattr__(self, name, frozen_array(getattr(self, name)))
        if self.user_weights is not None:
            object.__setattr__(self, "user_weights", frozen_array(self.user_weights))

    # -- export ---------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The coefficient table: term, estimate, se, statistic, p_value, ci_lower, ci_upper."""
        return pd.DataFrame({
            "term": list(self.terms), "estimate": self.estimate, "se": self.se,
            "statistic": self.statistic, "p_value": self.p_value,
            "ci_lower": self.ci_lower, "ci_upper": self.ci_upper,
        })

    def study_frame(self) -> pd.DataFrame:
        """One row per study: label, yi, vi, weight (%), fitted value and the design columns."""
        out = pd.DataFrame({"label": list(self.labels), "yi": self.yi, "vi": self.vi,
                            "weight": self.weights, "fitted": self.fitted})
        for j, t in enumerate(self.terms):
            if t != INTERCEPT:
                out[t] = self.design.X[:, j]
        return out

    def to_dict(self, studies: bool = False) -> dict[str, Any]:
        """JSON-safe dictionary: summary fields, ``coefficients``, ``vcov``, tested terms."""
        out: dict[str, Any] = {name: getattr(self, name) for name in SUMMARY_FIELDS}
        out["terms"] = list(self.terms)
        out["btt"] = list(self.btt)
        out["btt_terms"] = [self.terms[j] for j in self.btt]
        out["coefficients"] = self.to_frame().to_dict(orient="records")
        out["vcov"] = self.vcov.tolist()
        out["warnings"] = list(self.warnings)
        if studies:
            out["studies"] = self.study_frame().to_dict(orient="records")
        return json_safe(out)

    def summary(self, fmt: str = "text") -> str:
        """Readable summary as ``"text"``, ``"markdown"`` or ``"html"``."""
        common = self.method in COMMON
        kind = "Fixed-effects" if common else "Mixed-effects"
        rep = Report(f"{kind} meta-regression (k = {self.k}; method: {self.method}; "
                     f"test: {self.test})")
        het = [("QE (residual heterogeneity)",
                f"{fmt_number(self.q)} (df = {self.q_df}, p = {fmt_p(self.q_p_value)})")]
        if not common:
            ci = ("" if self.tau2_ci_lower is None else
                  f"  [{fmt_number(self.tau2_ci_lower)}, {fmt_number(self.tau2_ci_upper)}]")
            se = "" if self.tau2_se is None else f" (SE = {fmt_number(self.tau2_se)})"
            het = [("tau^2 (residual)", fmt_number(self.tau2) + se + ci)] + het
        het += [("I^2 (residual)", f"{fmt_number(self.i2, 2)}%"),
                ("H^2 (residual)", fmt_number(self.h2))]
        if self.r2 is not None:
            het.append(("R^2 (explained)", f"{fmt_number(self.r2, 2)}%"))
        rep.add_section("Heterogeneity", het)
        tested = ", ".join(self.terms[j] for j in self.btt)
        rep.add_section("Test of moderators", [
            (_stat_label(self.test, self.qm_df, self.qm_df2),
             f"{fmt_number(self.qm)}, p = {fmt_p(self.qm_p_value)}"),
            ("coefficients tested", tested),
        ])
        rep.add_table(f"Coefficients ({100 * self.level:g}% CI)", self.to_frame())
        rep.add_section("Fit", [("logLik", fmt_number(self.loglik)), ("AIC", fmt_number(self.aic)),
                                ("BIC", fmt_number(self.bic)), ("AICc", fmt_number(self.aicc))])
        rep.notes.extend(self.warnings)
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"MetaRegressionResult(k={self.k}, p={self.p}, method={self.method!r}, "
                f"terms={self.terms!r}, tau2={self.tau2:.4g}, qm={self.qm:.4g})")

    # -- tests ------------------------------------------------------------------------------
    def _crit_df(self) -> int | None:
        return self.k - self.p if self.test in TDIST else None

    def wald(self, btt: Any = None, *, L: Any = None, rhs: Any = 0.0) -> WaldTest:
        """Wald test of the coefficients ``btt`` (default: the model's), or of ``L beta = rhs``.

        ``btt`` takes 0-based positions, term names or a text matched against the terms (as in
        :func:`meta_regression`). ``L`` is a matrix with one row per linear combination (p
        columns, or p - 1 when the model has an intercept and the intercept column is left out).
        """
        from .metareg import resolve_btt

        df2 = self._crit_df()
        dist = "chi2" if df2 is None else "F"
        beta, vb = np.asarray(self.estimate), np.asarray(self.vcov)
        if L is None:
            idx = resolve_btt(btt, self.terms, self.intercept) if btt is not None else self.btt
            r = np.broadcast_to(np.asarray(rhs, float), (len(idx),))
            b = beta[list(idx)] - r
            q = float(b @ np.linalg.solve(vb[np.ix_(idx, idx)], b))
            m = len(idx)
            hyp = tuple(f"{self.terms[j]} = {r[i]:g}" for i, j in enumerate(idx))
            return self._wald_out(q, m, df2, dist, hyp, tuple(idx), None)
        Lm = np.atleast_2d(np.asarray(L, dtype=float))
        if self.intercept and Lm.shape[1] == self.p - 1:
            Lm = np.column_stack([np.ones(Lm.shape[0]), Lm])
        if Lm.shape[1] != self.p:
            raise InputError(f"'L' has {Lm.shape[1]} columns; the model has {self.p} coefficients "
                             f"({', '.join(self.terms)}).", column="L")
        m = Lm.shape[0]
        r = np.broadcast_to(np.asarray(rhs, float), (m,))
        Lb = Lm @ beta - r
        V = Lm @ vb @ Lm.T
        se = np.sqrt(np.diag(V))
        z = Lb / se
        if df2 is None:
            pv = 2 * stats.norm.sf(np.abs(z))
        else:
            pv = 2 * stats.t.sf(np.abs(z), df2)
        table = pd.DataFrame({"estimate": Lb, "se": se, "statistic": z, "p_value": pv})
        hyp = tuple(_combination(row, self.terms) + f" = {r[i]:g}" for i, row in enumerate(Lm))
        q: float | None = None
        if np.linalg.matrix_rank(Lm) == m:
            q = float(Lb @ np.linalg.solve(V, Lb))
        return self._wald_out(q, m, df2, dist, hyp, None, table)

    def _wald_out(self, q, m, df2, dist, hyp, idx, table) -> WaldTest:
        if q is None:
            return WaldTest(None, m, df2, None, dist, hyp, idx, table)
        if df2 is None:
            return WaldTest(q, m, None, float(stats.chi2.sf(q, m)), dist, hyp, idx, table)
        f = q / m
        return WaldTest(f, m, df2, float(stats.f.sf(f, m, df2)), dist, hyp, idx, table)

    def anova(self, other: MetaRegressionResult) -> LikelihoodRatioTest:
        """Likelihood-ratio test between this model and a nested one (metafor's ``anova``).

        Both models must be fitted to the same yi and vi, both by ML or both by REML (or
        fixed-effects); REML fits must have the same fixed effects (only tau^2 may differ), as
        REML likelihoods of different fixed effects are not comparable: refit with
        ``method="ML"`` to compare moderators.
        """
        if not isinstance(other, MetaRegressionResult):
            raise InputError("anova() compares two meta-regression results; got "
                             f"{type(other).__name__}.", column="other")
        return _lrt(self, other)

    def permutation_test(self, n_perm: int = 1000, seed: int | None = None,
                         exact: bool | str = "auto") -> PermutationResult:
        """Permutation p-values for each coefficient and for QM (metafor's ``permutest``).

        See :func:`acuevidence._metareg_perm.permutation_test`.
        """
        from ._metareg_perm import permutation_test

        return permutation_test(self, n_perm=n_perm, seed=seed, exact=exact)

    # -- prediction ---------------------------------------------------------------------------
    def predict(self, newmods: Any = None, level: float | None = None,
                pi_type: str = "default") -> pd.DataFrame:
        """Predicted effects at new moderator values, with CI and prediction interval.

        ``newmods``: a DataFrame (or dict) of the moderator variables for formula and column
        models (coded through the model's formula), or a matrix of moderator values (without
        the intercept column, or with it). None gives the fitted values of the studies.
        ``pi_type``: ``"default"`` (same critical value as the CIs), ``"riley"`` (t with
        k - p - 1 df), ``"t"`` (t with k - p df) or ``"simple"`` (z, ignoring the SE of the
        prediction). Fixed-effects models have no prediction interval (NaN).
        """
        lv = self.level if level is None else check_level(level)
        pit = str(pi_type).strip().lower()
        if pit not in _PI_TYPES:
            raise InputError(f"Unknown pi_type {pi_type!r}; choose one of "
                             f"{', '.join(_PI_TYPES)}.", column="pi_type")
        Xn = new_rows(self.design, newmods)
        beta, vb = np.asarray(self.estimate), np.asarray(self.vcov)
        pred = Xn @ beta
        vpred = np.einsum("ij,jk,ik->i", Xn, vb, Xn)
        se = np.sqrt(np.maximum(vpred, 0.0))
        alpha = 1.0 - lv
        df = self.k - self.p
        crit = (float(stats.t.isf(alpha / 2, df)) if self.test in TDIST
                else float(stats.norm.isf(alpha / 2)))
        out = pd.DataFrame({"pred": pred, "se": se, "ci_lower": pred - crit * se,
                            "ci_upper": pred + crit * se})
        if self.method in COMMON:
            out["pi_lower"] = out["pi_upper"] = np.nan
        else:
            pv = vpred
            if pit == "simple":
                pcrit, pv = float(stats.norm.isf(alpha / 2)), np.zeros_like(vpred)
            elif pit in ("riley", "t"):
                pdf = df - self.parms + self.p if pit == "riley" else df
                pcrit = float(stats.t.isf(alpha / 2, max(pdf, 1)))
            else:
                pcrit = crit
            half = pcrit * np.sqrt(pv + self.tau2)
            out["pi_lower"], out["pi_upper"] = pred - half, pred + half
        if newmods is None:
            out.index = list(self.labels)
        return out

    # -- plot ---------------------------------------------------------------------------------
    def plot_bubble(self, term: str | None = None, ax: Any = None, *, ci: bool = True,
                    n_points: int = 100) -> Any:
        """Bubble plot: yi against a continuous moderator, bubble area ~ weight, with the
        regression line and its confidence band; returns the matplotlib Axes.

        Other moderators are held at their mean (numeric) or most frequent level (categorical).
        """
        from ._metareg_plot import bubble

        return bubble(self, term=term, ax=ax, ci=ci, n_points=n_points)


def _combination(row: np.ndarray, terms: tuple[str, ...]) -> str:
    parts = []
    for c, t in zip(row, terms, strict=True):
        if c == 0:
            continue
        coef = "" if c == 1 else ("-" if c == -1 else f"{c:g}*")
        parts.append(f"{coef}{t}")
    return " + ".join(parts).replace("+ -", "- ") or "0"


def _span_contains(A: np.ndarray, B: np.ndarray) -> bool:
    """Whether the column space of B lies inside that of A."""
    ra = np.linalg.matrix_rank(A)
    return bool(np.linalg.matrix_rank(np.column_stack([A, B])) == ra)


def _lrt(a: MetaRegressionResult, b: MetaRegressionResult) -> LikelihoodRatioTest:
    if a.parms == b.parms:
        raise InputError("The two models have the same number of parameters; a likelihood-ratio "
                         "test needs one model nested in the other.", column="other")
    full, red = (a, b) if a.parms > b.parms else (b, a)
    if not (np.array_equal(full.yi, red.yi) and np.array_equal(full.vi, red.vi)):
        raise InputError("The models were fitted to different data (yi or vi differ); compare "
                         "models of the same studies.", column="other")
    lik = ("ML", "REML") + COMMON
    for r in (full, red):
        if r.method not in lik:
            raise InputError(f"A likelihood-ratio test needs ML or REML fits; a model uses "
                             f"method={r.method!r}. Refit both with method='ML'.",
                             column="method")
    mf, mr = full.method, red.method
    if {mf, mr} == {"ML", "REML"}:
        raise InputError(f"One model is fitted by {mf} and the other by {mr}; refit both with "
                         "method='ML' (or both with 'REML' when only tau^2 differs).",
                         column="method")
    if mf in COMMON and mr not in COMMON:
        raise InputError("The full model is a fixed-effects model but the reduced one has tau^2; "
                         "the fixed-effects model cannot be the larger one.", column="method")
    Xf, Xr = full.design.X, red.design.X
    if not _span_contains(Xf, Xr):
        raise InputError("The models are not nested: the moderators of the smaller model are "
                         "not contained in those of the larger one.", column="other")
    flavour = "REML" if "REML" in (mf, mr) else "ML"
    if flavour == "REML" and not _span_contains(Xr, Xf):
        raise InputError("REML likelihoods of models with different moderators (fixed effects) "
                         "are not comparable; refit both models with method='ML' to test "
                         "moderators, or use wald().", column="method")
    ff, fr = full.fit_stats_all[flavour], red.fit_stats_all[flavour]
    lrt = max(0.0, fr["deviance"] - ff["deviance"])
    df = full.parms - red.parms
    if mf in COMMON:
        s2 = []
        for r in (full, red):
            w = r.user_weights if r.user_weights is not None else 1.0 / r.vi
            e = r.yi - r.fitted
            s2.append(float(np.sum(w * e * e)) / (r.k - r.p))
        r2 = 100.0 * max(0.0, (s2[1] - s2[0]) / s2[1]) if s2[1] > 0 else 0.0
    elif red.tau2 == 0:
        r2 = 0.0
    else:
        r2 = 100.0 * max(0.0, (red.tau2 - full.tau2) / red.tau2)
    rows = []
    for name, r, fs in (("full", full, ff), ("reduced", red, fr)):
        rows.append({"model": name, "parms": r.parms, "loglik": fs["loglik"],
                     "deviance": fs["deviance"], "aic": fs["aic"], "bic": fs["bic"],
                     "aicc": fs["aicc"], "q": r.q, "tau2": r.tau2})
    return LikelihoodRatioTest(lrt, df, float(stats.chi2.sf(lrt, df)), flavour,
                               pd.DataFrame(rows), r2)
