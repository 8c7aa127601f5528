"""Subgroup analysis: pooled result per subgroup and the test for subgroup differences.

Two models, as reviewers use them:

* ``tau2="separate"`` (default; RevMan's and metafor's usual approach): each subgroup is pooled on
  its own with its own tau^2; the test for subgroup differences is Cochran's Q across the
  subgroup estimates, Q_between = sum_g w_g (mu_g - mu_bar)^2 with w_g = 1/se_g^2, on G - 1 df
  (metafor: ``rma(est, sei=se, method="FE")``).
* ``tau2="common"``: one tau^2 shared by all subgroups, i.e. a meta-regression on the subgroup
  factor (metafor: ``rma(yi, vi, mods = ~ factor(group))``); the test is its omnibus Wald test
  of the group terms (chi-square, or F under t-type tests), and the subgroup estimates come from
  the same model without an intercept.

References
----------
Borenstein M, Higgins JPT (2013). Meta-analysis and subgroups. Prev Sci 14:134-143.
Deeks JJ, Higgins JPT, Altman DG (2023). Analysing data and undertaking meta-analyses. In:
    Cochrane Handbook for Systematic Reviews of Interventions, version 6.4, section 10.11.3.
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._validate import as_float_array, check_same_length, resolve_column
from .errors import InputError
from .heterogeneity import cochran_q
from .meta import COMMON, MetaAnalysis
from .printer import Report, fmt_number, fmt_p
from .results import MetaResult, json_safe
from .tau2 import estimate_tau2

__all__ = ["SubgroupResult", "subgroup_analysis"]

_TAU2_MODELS = ("separate", "common")


@dataclass(frozen=True, eq=False)
class SubgroupResult:
    """Subgroup estimates, the overall pooled result and the test for subgroup differences.

    ``table`` has one row per subgroup (columns: group, k, estimate, se, ci_lower, ci_upper,
    p_value, tau2, i2, q); ``subgroups`` holds each subgroup's full :class:`MetaResult` when tau^2
    is estimated separately.
    """

    method: str
    test: str
    level: float
    tau2_model: str
    groups: tuple[str, ...]
    table: pd.DataFrame
    overall: MetaResult
    q_between: float
    q_between_df: int
    q_between_p_value: float
    q_between_distribution: str  # "chi2" or "F"
    q_between_df2: int | None = None
    tau2: float | None = None  # the common tau^2 (tau2_model = "common")
    subgroups: dict[str, MetaResult] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The subgroup table with an ``overall`` row appended."""
        o = self.overall
        overall = pd.DataFrame([{"group": "overall", "k": o.k, "estimate": o.estimate, "se": o.se,
                                 "ci_lower": o.ci_lower, "ci_upper": o.ci_upper,
                                 "p_value": o.p_value, "tau2": o.tau2, "i2": o.i2, "q": o.q}])
        return pd.concat([self.table, overall], ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary with the table, the overall result and the between-group test."""
        return json_safe({
            "method": self.method, "test": self.test, "level": self.level,
            "tau2_model": self.tau2_model, "groups": list(self.groups),
            "subgroups": self.table.to_dict(orient="records"),
            "overall": self.overall.to_dict(studies=False),
            "q_between": self.q_between, "q_between_df": self.q_between_df,
            "q_between_df2": self.q_between_df2,
            "q_between_p_value": self.q_between_p_value,
            "q_between_distribution": self.q_between_distribution,
            "tau2": self.tau2, "warnings": list(self.warnings),
        })

    def summary(self, fmt: str = "text") -> str:
        rep = Report(f"Subgroup analysis ({self.tau2_model} tau^2; method: {self.method}; "
                     f"test: {self.test})")
        rep.add_table("Subgroups", self.to_frame())
        stat = ("Q_between" if self.q_between_distribution == "chi2" else "F_between")
        df = (f"df = {self.q_between_df}" if self.q_between_df2 is None
              else f"df = {self.q_between_df}, {self.q_between_df2}")
        rep.add_section("Test for subgroup differences", [
            (stat, f"{fmt_number(self.q_between)} ({df}), p = {fmt_p(self.q_between_p_value)}"),
        ])
        rep.notes.extend(self.warnings)
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()


def subgroup_analysis(
    yi: Any,
    vi: Any = None,
    groups: Any = None,
    *,
    data: pd.DataFrame | None = None,
    sei: Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    tau2: str = "separate",
    labels: Any = None,
) -> SubgroupResult:
    """Pool each subgroup and test whether the subgroup effects differ.

    Parameters
    ----------
    yi, vi, sei, data, labels
        As in :func:`acuevidence.meta_analysis` (column names when ``data`` is given).
    groups
        The subgroup of every study (or a column name of ``data``); no missing values.
    method, test, level
        Model options, as in :func:`acuevidence.meta_analysis`.
    tau2 : {"separate", "common"}
        Estimate tau^2 within each subgroup, or one tau^2 shared across subgroups.
    """
    model = MetaAnalysis(method=method, test=test, level=level, tau2_ci=None)
    if tau2 not in _TAU2_MODELS:
        raise InputError(f"tau2 must be 'separate' or 'common'; got {tau2!r}.", column="tau2")
    if groups is None:
        raise InputError("Give 'groups': the subgroup of each study.", column="groups")
    raw = resolve_column(groups, data, "groups")
    g = pd.Series(raw.tolist() if hasattr(raw, "tolist") else list(raw), dtype=object)
    missing = [i for i, x in enumerate(g) if x is None or (isinstance(x, float) and math.isnan(x))]
    if missing:
        raise InputError(f"'groups' is missing in row(s) {', '.join(str(i + 1) for i in missing)};"
                         " give every study a subgroup (or drop it).", column="groups",
                         rows=missing)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        overall = model.fit(yi, vi, data=data, sei=sei, labels=labels)
    y, v = np.asarray(overall.yi), np.asarray(overall.vi)
    check_same_length({"yi": y, "groups": as_float_array(np.zeros(len(g)), "groups")})
    names = tuple(str(x) for x in pd.unique(g.astype(str)))
    gstr = g.astype(str).to_numpy()
    notes = [str(w.message) for w in caught]
    if len(names) < 2:
        raise InputError(f"Subgroup analysis needs at least two subgroups; all studies are in "
                         f"{names[0]!r}.", column="groups")
    if tau2 == "separate":
        return _separate(model, y, v, gstr, names, overall, overall.labels, notes)
    return _common(model, y, v, gstr, names, overall, notes)


def _separate(model, y, v, gstr, names, overall, labels, notes) -> SubgroupResult:
    subs: dict[str, MetaResult] = {}
    rows = []
    for name in names:
        idx = np.flatnonzero(gstr == name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = model.fit(y[idx], v[idx], labels=[labels[i] for i in idx])
        notes.extend(f"subgroup {name!r}: {w.message}" for w in caught)
        subs[name] = res
        rows.append({"group": name, "k": res.k, "estimate": res.estimate, "se": res.se,
                     "ci_lower": res.ci_lower, "ci_upper": res.ci_upper, "p_value": res.p_value,
                     "tau2": res.tau2, "i2": res.i2, "q": res.q})
    est = np.array([r["estimate"] for r in rows])
    se = np.array([r["se"] for r in rows])
    if not np.all(np.isfinite(se)) or np.any(se <= 0):
        raise InputError("A subgroup has no finite standard error (k = 1 with a t-type test?); "
                         "use test='z' or merge small subgroups.", column="groups")
    het = cochran_q(est, se**2, np.ones((len(est), 1)))
    return SubgroupResult(
        method=model.method, test=model.test, level=model.level, tau2_model="separate",
        groups=names, table=pd.DataFrame(rows), overall=overall, q_between=het.q,
        q_between_df=het.q_df, q_between_p_value=het.q_p_value, q_between_distribution="chi2",
        subgroups=subs, warnings=tuple(notes),
    )


def _wls(y, v, X, tau2):
    w = 1.0 / (v + tau2)
    WX = w[:, None] * X
    vb = np.linalg.inv(X.T @ WX)
    beta = vb @ (WX.T @ y)
    return beta, vb, float(np.sum(w * (y - X @ beta) ** 2))


def _common(model, y, v, gstr, names, overall, notes) -> SubgroupResult:
    k = len(y)
    G = len(names)
    D = np.column_stack([(gstr == n).astype(float) for n in names])  # cell-means coding
    if k <= G and model.method not in COMMON:
        raise InputError(f"A common tau^2 needs more studies than subgroups (k = {k}, "
                         f"{G} subgroups).", column="groups")
    if model.method in COMMON:
        t2 = 0.0
    else:
        # tau^2 from the model with the subgroup factor (identical for any coding of it).
        t2 = estimate_tau2(model.method, y, v, D).tau2
    beta, vb, rss = _wls(y, v, D, t2)
    s2w = 1.0
    tdist = model.test in ("t", "knha", "adhoc")
    if model.test in ("knha", "adhoc"):
        s2w = rss / (k - G) if k > G and rss > np.finfo(float).eps else 0.0
        if model.test == "adhoc":
            s2w = max(s2w, 1.0)
    vb = vb * s2w
    se = np.sqrt(np.diag(vb))
    alpha = 1.0 - model.level
    if tdist:
        df2 = k - G
        crit = float(stats.t.isf(alpha / 2, df2)) if df2 > 0 else math.nan
        pv = 2 * stats.t.sf(np.abs(beta / se), df2) if df2 > 0 else np.full(G, np.nan)
    else:
        df2 = None
        crit = float(stats.norm.isf(alpha / 2))
        pv = 2 * stats.norm.sf(np.abs(beta / se))
    rows = [{"group": n, "k": int(D[:, j].sum()), "estimate": float(beta[j]), "se": float(se[j]),
             "ci_lower": float(beta[j] - crit * se[j]), "ci_upper": float(beta[j] + crit * se[j]),
             "p_value": float(pv[j]), "tau2": t2, "i2": math.nan, "q": math.nan}
            for j, n in enumerate(names)]
    # Omnibus test that all subgroup means are equal: contrasts of each group with the first.
    C = np.column_stack([-np.ones(G - 1), np.eye(G - 1)])
    cb = C @ beta
    stat = float(cb @ np.linalg.solve(C @ vb @ C.T, cb))
    if tdist:
        stat /= G - 1
        p = float(stats.f.sf(stat, G - 1, df2)) if df2 and df2 > 0 else math.nan
        dist = "F"
    else:
        p = float(stats.chi2.sf(stat, G - 1))
        dist = "chi2"
    return SubgroupResult(
        method=model.method, test=model.test, level=model.level, tau2_model="common",
        groups=names, table=pd.DataFrame(rows), overall=overall, q_between=stat,
        q_between_df=G - 1, q_between_p_value=p, q_between_distribution=dist,
        q_between_df2=df2, tau2=t2, warnings=tuple(notes),
    )
