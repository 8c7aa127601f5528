"""Consistency of a network: design-by-treatment interaction, node-splitting, net heat.

* :func:`design_by_treatment` — the global test. Cochran's Q of the network splits into
  heterogeneity *within* designs and inconsistency *between* designs (Krahn 2013; netmeta's
  ``decomp.design``); the full design-by-treatment interaction model (Higgins 2012) gives a
  Wald test of the inconsistency parameters under random effects, with tau^2 estimated in that
  model by the result's method (REML/ML as ``rma.mv``) and, as netmeta's ``Q.inc.random``,
  with the method-of-moments tau^2 of the interaction model (Jackson 2012). Its design table
  is the tabular net heat display: each design's within-design Q, its contribution to the
  between-design Q, the between-design Q after detaching it, and the matrix of changes in every
  design's contribution when one design is detached (Krahn 2013's net heat plot, in numbers).
* :func:`node_split` — direct against indirect evidence for every comparison that has both.
  ``method="side"`` (default) fits the node-splitting model that separates the direct evidence
  (Dias 2010; White 2015's SIDE split): in every study that includes both treatments of the
  comparison, the arm of the second treatment gets an extra parameter, which is the
  direct-minus-indirect difference; tau^2 is re-estimated in each split model by the result's
  method. ``method="back-calculation"`` is netsplit's approach (König 2013): the direct
  estimate from the studies that include both treatments (tau^2 of the network), the indirect
  one back-calculated from network and direct estimate as if they were independent.

References
----------
Higgins JPT, Jackson D, Barrett JK, Lu G, Ades AE, White IR (2012). Consistency and
    inconsistency in network meta-analysis: concepts and models for multi-arm studies. Res Synth
    Methods 3:98-110.
Jackson D, Barrett JK, Rice S, White IR, Higgins JPT (2014). A design-by-treatment interaction
    model for network meta-analysis with random inconsistency effects. Stat Med 33:3639-3654.
Jackson D, White IR, Riley RD (2012). Quantifying the impact of between-study heterogeneity in
    multivariate meta-analyses. Stat Med 31:3805-3820.
Krahn U, Binder H, König J (2013). A graphical tool for locating inconsistency in network
    meta-analyses. BMC Med Res Methodol 13:35.
Dias S, Welton NJ, Caldwell DM, Ades AE (2010). Checking consistency in mixed treatment
    comparison meta-analysis. Stat Med 29:932-944.
White IR (2015). Network meta-analysis. Stata J 15:951-985.
König J, Krahn U, Binder H (2013). Visualizing the flow of evidence in network meta-analysis and
    characterizing mixed treatment comparisons. Stat Med 32:5414-5429.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..printer import Report, fmt_number, fmt_p
from ..results import frozen_array, json_safe
from . import _core
from .model import LOG_MEASURES, NetworkResult, _design_ids

__all__ = [
    "SPLIT_METHODS",
    "InconsistencyResult",
    "NodeSplitResult",
    "design_by_treatment",
    "node_split",
]

SPLIT_METHODS = ("side", "back-calculation")


def _p(q: float, df: int) -> float | None:
    return float(stats.chi2.sf(q, df)) if df > 0 else None



# ---------------------------------------------------------------------------------------------
# Design-by-treatment interaction
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class InconsistencyResult:
    """Global inconsistency assessment of a network (design-by-treatment interaction).

    ``q``/``q_within``/``q_between`` (with ``_df``, ``_p_value``): the common-effect
    decomposition (netmeta's ``Q.decomp``). ``statistic``/``df``/``p_value``: Wald test of the
    interaction parameters in the full design-by-treatment model with tau^2 (``dbt_tau2``)
    estimated there by ``dbt_method`` (for a common-effect network this equals ``q_between``).
    ``tau2_within``, ``q_between_random`` (``_df``, ``_p_value``): netmeta's ``Q.inc.random``,
    tau^2 by the method of moments in the interaction model. ``designs`` and the ``design_*``
    arrays form the design table (:meth:`to_frame`); ``heat[e, d]`` is the contribution of
    design e to the between-design Q minus its contribution after detaching design d (positive:
    detaching d removes inconsistency seen in e; NaN where detaching d changes nothing).
    """

    dbt_method: str
    q: float
    q_df: int
    q_p_value: float | None
    q_within: float
    q_within_df: int
    q_within_p_value: float | None
    q_between: float
    q_between_df: int
    q_between_p_value: float | None
    statistic: float
    df: int
    p_value: float | None
    dbt_tau2: float
    tau2_within: float
    q_between_random: float
    q_between_random_df: int
    q_between_random_p_value: float | None
    designs: tuple[str, ...]
    design_k: tuple[int, ...]
    design_q_within: np.ndarray
    design_q_within_df: tuple[int, ...]
    design_q_contribution: np.ndarray
    design_q_detached: np.ndarray
    design_q_detached_df: tuple[int, ...]
    heat: np.ndarray
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("design_q_within", "design_q_contribution", "design_q_detached", "heat"):
            object.__setattr__(self, name, frozen_array(getattr(self, name)))

    def to_frame(self) -> pd.DataFrame:
        """The design table: one row per design (the tabular net heat display)."""
        rows = []
        for i, d in enumerate(self.designs):
            dfw, dfd = self.design_q_within_df[i], self.design_q_detached_df[i]
            rows.append({
                "design": d, "k": self.design_k[i],
                "q_within": self.design_q_within[i] if dfw > 0 else math.nan, "q_within_df": dfw,
                "q_within_p_value": _p(self.design_q_within[i], dfw) if dfw > 0 else math.nan,
                "q_contribution": self.design_q_contribution[i],
                "q_between_detached": self.design_q_detached[i], "q_between_detached_df": dfd,
                "q_between_detached_p_value": (_p(self.design_q_detached[i], dfd)
                                               if dfd > 0 and math.isfinite(
                                                   self.design_q_detached[i]) else math.nan),
            })
        return pd.DataFrame(rows)

    def heat_frame(self) -> pd.DataFrame:
        """The net heat matrix: rows = design whose contribution changes, columns = detached."""
        return pd.DataFrame(self.heat, index=list(self.designs), columns=list(self.designs))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the tests, the design table and the heat matrix."""
        keys = ("dbt_method", "q", "q_df", "q_p_value", "q_within", "q_within_df",
                "q_within_p_value", "q_between", "q_between_df", "q_between_p_value",
                "statistic", "df", "p_value", "dbt_tau2", "tau2_within", "q_between_random",
                "q_between_random_df", "q_between_random_p_value")
        out: dict[str, Any] = {k: getattr(self, k) for k in keys}
        out["designs"] = self.to_frame().to_dict(orient="records")
        out["heat"] = {"designs": list(self.designs), "values": self.heat}
        out["notes"] = list(self.notes)
        return json_safe(out)

    def summary(self, fmt: str = "text") -> str:
        rep = Report("Design-by-treatment interaction (global inconsistency)")
        rep.add_table("Q decomposition (common-effect model)", pd.DataFrame([
            {"": "Total", "Q": self.q, "df": self.q_df, "p_value": fmt_p(self.q_p_value)},
            {"": "Within designs", "Q": self.q_within, "df": self.q_within_df,
             "p_value": fmt_p(self.q_within_p_value)},
            {"": "Between designs", "Q": self.q_between, "df": self.q_between_df,
             "p_value": fmt_p(self.q_between_p_value)}]))
        lines = [("Wald test, full interaction model",
                  (f"chi2 = {fmt_number(self.statistic)} (df = {self.df}, p = "
                  f"{fmt_p(self.p_value)}); tau^2 = {fmt_number(self.dbt_tau2)} "
                  f"({self.dbt_method})")),
                 ("Between designs, random effects (netmeta)",
                  (f"Q = {fmt_number(self.q_between_random)} (df = {self.q_between_random_df}, "
                  f"p = {fmt_p(self.q_between_random_p_value)}); tau^2 within designs = "
                  f"{fmt_number(self.tau2_within)}"))]
        rep.add_section("Random-effects tests", lines)
        frame = self.to_frame()
        for c in ("q_within_p_value", "q_between_detached_p_value"):
            frame[c] = [fmt_p(v) if math.isfinite(v) else "-" for v in frame[c]]
        rep.add_table("Designs (where inconsistency comes from)", frame)
        rep.notes.append("q_contribution: the design's share of the between-design Q; "
                         "q_between_detached: the between-design Q when the design gets its own "
                         "parameters (a large drop points at that design).")
        rep.notes.extend(self.notes)
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()


def _contributions(b: np.ndarray, cov_dbt: np.ndarray, keys, design_base, est, D) -> np.ndarray:
    """Q contribution of each design: (b_d - X_d theta)' Cov_d^-1 (b_d - X_d theta)."""
    out = np.zeros(D)
    for d in range(D):
        idx = [j for j, (dd, _) in enumerate(keys) if dd == d]
        diff = np.array([b[j] - (est[keys[j][1]] - est[design_base[d]]) for j in idx])
        C = cov_dbt[np.ix_(idx, idx)]
        out[d] = float(diff @ np.linalg.solve(C, diff))
    return out


def design_by_treatment(result: NetworkResult) -> InconsistencyResult:
    """Global test of inconsistency: Q decomposition and the design-by-treatment model.

    Parameters
    ----------
    result : NetworkResult
        A fitted network; its method sets how tau^2 of the interaction model is estimated
        (REML/ML as ``rma.mv``; DL by the method of moments; common effect: none).

    Returns
    -------
    InconsistencyResult

    References
    ----------
    .. [1] Higgins JPT et al. (2012). Consistency and inconsistency in network meta-analysis:
       concepts and models for multi-arm studies. Res Synth Methods 3:98-110.
    .. [2] Krahn U, Binder H, König J (2013). A graphical tool for locating inconsistency in
       network meta-analyses. BMC Med Res Methodol 13:35.
    .. [3] Jackson D, White IR, Riley RD (2012). Quantifying the impact of between-study
       heterogeneity in multivariate meta-analyses. Stat Med 31:3805-3820.
    """
    net = result.network
    T = net.n_treatments
    ref = result.index(result.reference)
    X = _core.treatment_matrix(net.row_treat, net.row_base, T, ref)
    K = net.K()
    y, V = net.y, net.V
    p = X.shape[1]
    sd = _design_ids(net)
    D = max(sd) + 1
    design_studies: list[list[int]] = [[] for _ in range(D)]
    for s, d in enumerate(sd):
        design_studies[d].append(s)
    labels = tuple(net.design_label(ss[0]) for ss in design_studies)
    design_base = [net.study_arms[ss[0]][0] for ss in design_studies]
    Z, keys = _core.design_matrix(net.row_study, net.row_treat, sd)
    cons = _core.gls(y, V, K, X, 0.0)
    dbt = _core.gls(y, V, K, Z, 0.0)
    n_rows = y.shape[0]
    q_within_df = n_rows - Z.shape[1]
    q_between_df = Z.shape[1] - p
    q_between = max(0.0, cons.rss - dbt.rss)
    notes: list[str] = []
    if q_between_df == 0:
        notes.append("The network has no closed loop of different designs: consistency cannot "
                     "be tested (between-design Q has 0 degrees of freedom).")

    # Within-design Q per design: residual Q of the interaction fit, study rows of that design.
    row_design = np.array([sd[s] for s in net.row_study])
    q_w = np.zeros(D)
    q_w_df = []
    for d in range(D):
        rows = np.flatnonzero(row_design == d)
        Vd, Kd = V[np.ix_(rows, rows)], K[np.ix_(rows, rows)]
        cols = np.array([j for j, (dd, _) in enumerate(keys) if dd == d], dtype=int)
        fd = _core.gls(y[rows], Vd, Kd, Z[np.ix_(rows, cols)], 0.0)
        q_w[d] = fd.rss
        q_w_df.append(len(rows) - len(cols))

    est = np.zeros(T)
    est[[t for t in range(T) if t != ref]] = cons.beta
    contrib = _contributions(dbt.beta, dbt.vcov, keys, design_base, est, D)

    detached = np.full(D, np.nan)
    detached_df = []
    heat = np.full((D, D), np.nan)
    for d in range(D):
        Zd = Z[:, [j for j, (dd, _) in enumerate(keys) if dd == d]]
        keep = _core.independent_columns(X, Zd)
        if keep.size == 0:
            detached_df.append(0)
            continue
        Xd = np.column_stack([X, Zd[:, keep]])
        fd = _core.gls(y, V, K, Xd, 0.0)
        detached[d] = max(0.0, fd.rss - dbt.rss)
        detached_df.append(q_between_df - keep.size)
        est_d = np.zeros(T)
        est_d[[t for t in range(T) if t != ref]] = fd.beta[:p]
        after = _contributions(dbt.beta, dbt.vcov, keys, design_base, est_d, D)
        after[d] = 0.0
        heat[:, d] = contrib - after

    # Random effects: interaction model with tau^2 by the result's method ...
    method = result.method
    if method == "FE":
        dbt_tau2 = 0.0
    elif result.tau2_fixed:
        dbt_tau2 = result.tau2
    elif method == "DL":
        dbt_tau2 = _core.tau2_dl(y, V, K, Z)
    else:
        dbt_tau2 = _core.tau2_likelihood(y, V, K, Z, reml=(method == "REML")).tau2
    wald, wdf = _core.wald_between(y, V, K, X, Z, dbt_tau2)
    # ... and netmeta's Q.inc.random: method-of-moments tau^2 within designs.
    tau2_w = _core.tau2_dl(y, V, K, Z)
    q_rand, _ = _core.wald_between(y, V, K, X, Z, tau2_w)
    return InconsistencyResult(
        dbt_method=method, q=cons.rss, q_df=n_rows - p, q_p_value=_p(cons.rss, n_rows - p),
        q_within=dbt.rss, q_within_df=q_within_df, q_within_p_value=_p(dbt.rss, q_within_df),
        q_between=q_between, q_between_df=q_between_df,
        q_between_p_value=_p(q_between, q_between_df),
        statistic=wald, df=wdf, p_value=_p(wald, wdf), dbt_tau2=dbt_tau2,
        tau2_within=tau2_w, q_between_random=q_rand, q_between_random_df=q_between_df,
        q_between_random_p_value=_p(q_rand, q_between_df), designs=labels,
        design_k=tuple(len(s) for s in design_studies), design_q_within=q_w,
        design_q_within_df=tuple(q_w_df), design_q_contribution=contrib,
        design_q_detached=detached, design_q_detached_df=tuple(detached_df), heat=heat,
        notes=tuple(notes))


# ---------------------------------------------------------------------------------------------
# Node-splitting
# ---------------------------------------------------------------------------------------------
SPLIT_COLUMNS = ("treat1", "treat2", "k_direct", "splittable", "direct", "direct_se",
                 "direct_ci_lower", "direct_ci_upper", "indirect", "indirect_se",
                 "indirect_ci_lower", "indirect_ci_upper", "network", "network_se", "difference",
                 "difference_se", "ci_lower", "ci_upper", "statistic", "p_value", "tau2")


@dataclass(frozen=True, eq=False)
class NodeSplitResult:
    """Direct vs indirect evidence for every directly compared pair (node-splitting).

    One row per comparison with direct evidence (:data:`SPLIT_COLUMNS`): ``treat1`` minus
    ``treat2`` estimated directly, indirectly and by the network; ``difference`` = direct minus
    indirect with its CI, z ``statistic`` and ``p_value``. ``splittable`` is False where the
    comparison has no indirect evidence (its indirect columns are NaN). ``tau2`` is the
    split model's tau^2 (side) or the network's (back-calculation).
    """

    method: str
    model_method: str
    level: float
    table: pd.DataFrame
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"method": self.method, "model_method": self.model_method,
                          "level": self.level,
                          "comparisons": self.table.to_dict(orient="records"),
                          "notes": list(self.notes)})

    def summary(self, fmt: str = "text") -> str:
        how = ("node-splitting model separating the direct evidence (SIDE)"
               if self.method == "side" else "back-calculation (netsplit)")
        rep = Report(f"Direct vs indirect evidence: {how}")
        t = self.table
        show = pd.DataFrame({
            "comparison": [f"{a} vs {b}" for a, b in zip(t["treat1"], t["treat2"], strict=True)],
            "k": t["k_direct"], "direct": t["direct"], "indirect": t["indirect"],
            "network": t["network"], "difference": t["difference"],
            "ci": [f"[{fmt_number(lo)}, {fmt_number(hi)}]" if math.isfinite(lo) else "-"
                   for lo, hi in zip(t["ci_lower"], t["ci_upper"], strict=True)],
            "p_value": [fmt_p(p) if math.isfinite(p) else "-" for p in t["p_value"]]})
        rep.add_table("", show)
        rep.notes.append("difference = direct minus indirect; comparisons without indirect "
                         "evidence show '-'.")
        rep.notes.extend(self.notes)
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()


def _split_column(net, a: int, b: int) -> np.ndarray:
    """Node-split column: arm b shifted in every study that includes both a and b."""
    both = np.array([a in arms and b in arms for arms in net.study_arms])
    z = np.zeros(net.n_rows)
    mask = both[net.row_study]
    z[mask & (net.row_treat == b)] = -1.0
    z[mask & (net.row_base == b)] = 1.0
    return z


def node_split(result: NetworkResult, method: str = "side") -> NodeSplitResult:
    """Direct and indirect estimates and their difference for every comparison with both.

    Parameters
    ----------
    result : NetworkResult
    method : {"side", "back-calculation"}
        ``"side"``: the node-splitting model (one extra parameter for the direct evidence,
        tau^2 re-estimated by the result's method; ``rma.mv`` with the split column added).
        ``"back-calculation"``: netsplit's separation (direct from the studies that include
        both treatments with the network's tau^2; indirect = (est/v - est_d/v_d) /
        (1/v - 1/v_d)). With multi-arm studies the two differ, and back-calculation treats
        direct and indirect evidence as independent although multi-arm studies link them.

    Returns
    -------
    NodeSplitResult

    References
    ----------
    .. [1] Dias S, Welton NJ, Caldwell DM, Ades AE (2010). Checking consistency in mixed
       treatment comparison meta-analysis. Stat Med 29:932-944.
    .. [2] König J, Krahn U, Binder H (2013). Visualizing the flow of evidence in network
       meta-analysis and characterizing mixed treatment comparisons. Stat Med 32:5414-5429.
    .. [3] van Valkenhoef G, Dias S, Ades AE, Welton NJ (2016). Automated generation of
       node-splitting models for assessment of inconsistency in network meta-analysis. Res
       Synth Methods 7:80-93.
    """
    if method not in SPLIT_METHODS:
        raise InputError(f"The 'method' parameter must be one of {', '.join(SPLIT_METHODS)}. "
                         f"Got {method!r} instead.", column="method")
    net = result.network
    T = net.n_treatments
    ref = result.index(result.reference)
    X = _core.treatment_matrix(net.row_treat, net.row_base, T, ref)
    K = net.K()
    y, V = net.y, net.V
    counts = net.study_counts()
    z = result.crit
    cols = [t for t in range(T) if t != ref]

    def lvec(a: int, b: int) -> np.ndarray:
        v = np.zeros(len(cols))
        if a != ref:
            v[cols.index(a)] += 1.0
        if b != ref:
            v[cols.index(b)] -= 1.0
        return v

    rows = []
    for a in range(T):
        for b in range(a + 1, T):
            if counts[a, b] == 0:
                continue
            net_est = float(result.pairwise_estimate[a, b])
            net_se = float(result.pairwise_se[a, b])
            row: dict[str, Any] = dict.fromkeys(SPLIT_COLUMNS, math.nan)
            row.update(treat1=net.treatments[a], treat2=net.treatments[b],
                       k_direct=int(counts[a, b]), network=net_est, network_se=net_se)
            if method == "side":
                row.update(_side(net, a, b, X, K, y, V, result, lvec(a, b)))
            else:
                row.update(_back(net, a, b, K, result, net_est, net_se))
            d_, i_, df_ = row["direct"], row["indirect"], row["difference"]
            for key, est, se in (("direct", d_, row["direct_se"]),
                                 ("indirect", i_, row["indirect_se"])):
                row[f"{key}_ci_lower"], row[f"{key}_ci_upper"] = est - z * se, est + z * se
            if row["splittable"]:
                row["ci_lower"] = df_ - z * row["difference_se"]
                row["ci_upper"] = df_ + z * row["difference_se"]
                row["statistic"] = df_ / row["difference_se"]
                row["p_value"] = float(2 * stats.norm.sf(abs(row["statistic"])))
            rows.append(row)
    table = pd.DataFrame(rows, columns=list(SPLIT_COLUMNS))
    table["splittable"] = table["splittable"].astype(bool)
    notes = []
    if not bool(table["splittable"].any()):
        notes.append("No comparison has both direct and indirect evidence (the network has no "
                     "closed loop): nothing to split.")
    if (result.measure or "").upper() in LOG_MEASURES:
        notes.append(f"Estimates and differences are on the log scale (log {result.measure}).")
    if method == "back-calculation" and any(len(arms) > 2 for arms in net.study_arms):
        notes.append("Back-calculation treats direct and indirect evidence as independent; "
                     "multi-arm studies make them correlated, so the split is approximate.")
    return NodeSplitResult(method=method, model_method=result.method, level=result.level,
                           table=table, notes=tuple(notes))


def _tau2_for(method: str, fixed: float | None, y, V, K, X) -> float:
    if method == "FE":
        return 0.0
    if fixed is not None:
        return fixed
    if method == "DL":
        return _core.tau2_dl(y, V, K, X)
    return _core.tau2_likelihood(y, V, K, X, reml=(method == "REML")).tau2


def _side(net, a, b, X, K, y, V, result: NetworkResult, L: np.ndarray) -> dict[str, Any]:
    zc = _split_column(net, a, b)
    if _core.independent_columns(X, zc[:, None]).size == 0:
        direct = float(result.pairwise_estimate[a, b])
        return {"splittable": False, "direct": direct,
                "direct_se": float(result.pairwise_se[a, b])}
    Xs = np.column_stack([X, zc])
    t2 = _tau2_for(result.method, result.tau2 if result.tau2_fixed else None, y, V, K, Xs)
    f = _core.gls(y, V, K, Xs, t2)
    p = X.shape[1]
    L_ind = np.append(L, 0.0)
    L_dir = np.append(L, 1.0)
    ind = float(L_ind @ f.beta)
    dire = float(L_dir @ f.beta)
    return {"splittable": True, "direct": dire,
            "direct_se": math.sqrt(float(L_dir @ f.vcov @ L_dir)), "indirect": ind,
            "indirect_se": math.sqrt(float(L_ind @ f.vcov @ L_ind)),
            "difference": float(f.beta[p]), "difference_se": math.sqrt(float(f.vcov[p, p])),
            "tau2": t2}


def _back(net, a, b, K, result: NetworkResult, net_est: float, net_se: float) -> dict[str, Any]:
    studies = [s for s, arms in enumerate(net.study_arms) if a in arms and b in arms]
    rows = np.flatnonzero(np.isin(net.row_study, studies))
    present = sorted({t for s in studies for t in net.study_arms[s]})
    sub_t = np.searchsorted(present, net.row_treat[rows])
    sub_b = np.searchsorted(present, net.row_base[rows])
    ia = present.index(a)
    Xs = _core.treatment_matrix(sub_t, sub_b, len(present), ia)
    f = _core.gls(net.y[rows], net.V[np.ix_(rows, rows)], K[np.ix_(rows, rows)], Xs, result.tau2)
    jb = present.index(b)
    cols = [t for t in range(len(present)) if t != ia]
    j = cols.index(jb)
    direct, v_dir = -float(f.beta[j]), float(f.vcov[j, j])
    v_net = net_se ** 2
    out: dict[str, Any] = {"direct": direct, "direct_se": math.sqrt(v_dir),
                           "tau2": result.tau2}
    # Direct evidence only (the proportion of direct evidence is 1): nothing indirect.
    if v_dir <= v_net * (1 + 1e-9):
        out["splittable"] = False
        return out
    v_ind = 1.0 / (1.0 / v_net - 1.0 / v_dir)
    ind = v_ind * (net_est / v_net - direct / v_dir)
    out.update(splittable=True, indirect=ind, indirect_se=math.sqrt(v_ind),
               difference=direct - ind, difference_se=math.sqrt(v_dir + v_ind))
    return out
