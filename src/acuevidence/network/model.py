"""Frequentist network meta-analysis: the contrast-based (graph-theoretical) model.

:func:`network_meta_analysis` fits the consistency model to contrasts or arm-level data and
returns a frozen :class:`NetworkResult`: every treatment against the reference and every pair
against every other, heterogeneity, and the design-based decomposition of Q. The model is
metafor's contrast-based ``rma.mv`` (treatment contrasts as moderators without intercept,
``random = ~ comp | study, rho = 1/2``) and netmeta's graph-theoretical model; multi-arm
studies enter with the covariance of contrasts that share an arm.

Map from R
----------
=======================================  ===========================================
metafor / netmeta                        acuevidence
=======================================  ===========================================
``rma.mv(..., method="REML")``           ``method="REML"`` (default)
``rma.mv(..., method="ML")``             ``method="ML"``
``rma.mv`` without ``random``            ``method="common"`` (code ``"FE"``)
netmeta random effects (tau^2 DL-type)   ``method="DL"``
``rma.mv(..., tau2 = x)``                ``tau2=x`` (fixed)
``coef()``, ``se``, ``ci.lb/ci.ub``      ``estimate``, ``se``, ``ci_lower``/``ci_upper``
``predict()$pi.lb/pi.ub``                ``pi_lower``, ``pi_upper``
``QE`` / netmeta ``Q``                   ``q`` (common-effect fit), ``q_df``, ``q_p_value``
netmeta ``Q.heterogeneity``              ``q_within`` (within designs)
netmeta ``Q.inconsistency``              ``q_between`` (between designs)
netmeta ``I2``                           ``i2`` = max(0, (Q - df) / Q), in percent
=======================================  ===========================================

References
----------
Rücker G (2012). Network meta-analysis, electrical networks and graph theory. Res Synth Methods
    3:312-324.
Salanti G (2012). Indirect and mixed-treatment comparison, network, or multiple-treatments
    meta-analysis. Res Synth Methods 3:80-97.
Jackson D, White IR, Riley RD (2012). Quantifying the impact of between-study heterogeneity in
    multivariate meta-analyses. Stat Med 31:3805-3820.
Higgins JPT, Jackson D, Barrett JK, Lu G, Ades AE, White IR (2012). Consistency and
    inconsistency in network meta-analysis: concepts and models for multi-arm studies. Res Synth
    Methods 3:98-110.
Krahn U, Binder H, König J (2013). A graphical tool for locating inconsistency in network
    meta-analyses. BMC Med Res Methodol 13:35.
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import V_MAX, check_level, finite_number
from ..errors import InputError
from ..meta import canonical_method
from ..printer import Report, fmt_number, fmt_p
from ..results import frozen_array, json_safe
from . import _core
from ._data import TOL_MULTIARM, NetworkData, from_arms, from_contrasts

__all__ = ["METHODS", "NetworkResult", "network_meta_analysis", "treatment_index"]

METHODS: dict[str, str] = {
    "FE": "common effect",
    "REML": "random effects, restricted maximum likelihood tau^2",
    "ML": "random effects, maximum likelihood tau^2",
    "DL": "random effects, DerSimonian-Laird-type tau^2 (Jackson 2012; netmeta's default)",
}
LOG_MEASURES = ("OR", "RR", "HR", "IRR", "ROM")

SUMMARY_FIELDS: tuple[str, ...] = (
    "method", "measure", "level", "reference", "k", "n_treatments", "n_contrasts", "n_pairs",
    "n_designs", "n_multiarm", "tau2", "tau", "i2", "h2", "q", "q_df", "q_p_value",
    "q_within", "q_within_df", "q_within_p_value", "q_between", "q_between_df",
    "q_between_p_value", "loglik", "aic", "bic", "tau2_fixed", "converged", "iterations", "path",
)


def _canonical(method: str) -> str:
    code = canonical_method(method)
    if code in ("EE", "FE", "CE"):
        return "FE"
    if code not in METHODS:
        raise InputError(
            f"Network meta-analysis supports the methods 'common' (FE), 'REML', 'ML' and 'DL'; "
            f"got {method!r}.", column="method")
    return code


def treatment_index(treatments: Sequence[str], label: Any, name: str = "treatment") -> int:
    """Position of ``label`` among ``treatments``; InputError listing the labels otherwise."""
    lab = str(label)
    if lab not in treatments:
        raise InputError(
            f"Unknown treatment {label!r} for '{name}'; the network's treatments are "
            f"{', '.join(map(repr, treatments))}.", column=name)
    return list(treatments).index(lab)



@dataclass(frozen=True, eq=False)
class NetworkResult:
    """Result of a network meta-analysis (consistency model).

    Arrays indexed by treatment follow :attr:`treatments`; ``estimate[i]`` is the effect of
    treatment i minus that of :attr:`reference` (0 for the reference, whose ``se`` and
    intervals are NaN). ``pairwise_estimate[i, j]`` is treatment i minus treatment j, with
    ``pairwise_se``. ``q``, ``i2`` and ``h2`` come from the common-effect fit, as in netmeta;
    ``q_within`` + ``q_between`` = ``q`` is the design-based decomposition (Krahn 2013).
    """

    treatments: tuple[str, ...]
    reference: str
    method: str
    measure: str | None
    level: float
    k: int
    n_treatments: int
    n_contrasts: int
    n_pairs: int
    n_designs: int
    n_multiarm: int
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    pi_lower: np.ndarray
    pi_upper: np.ndarray
    vcov: np.ndarray
    pairwise_estimate: np.ndarray
    pairwise_se: np.ndarray
    tau2: float
    tau: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p_value: float | None
    q_within: float
    q_within_df: int
    q_within_p_value: float | None
    q_between: float
    q_between_df: int
    q_between_p_value: float | None
    loglik: float | None
    aic: float | None
    bic: float | None
    tau2_fixed: bool
    converged: bool
    iterations: int
    path: str
    network: NetworkData = field(repr=False)
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper",
                     "pi_lower", "pi_upper", "vcov", "pairwise_estimate", "pairwise_se"):
            object.__setattr__(self, name, frozen_array(getattr(self, name)))

    # -- lookups -------------------------------------------------------------------------
    @property
    def is_random(self) -> bool:
        return self.method != "FE"

    @property
    def crit(self) -> float:
        return float(stats.norm.isf((1 - self.level) / 2))

    def index(self, label: Any, name: str = "treatment") -> int:
        """Position of a treatment label (InputError naming the labels when unknown)."""
        return treatment_index(self.treatments, label, name)

    def compare(self, treat1: str, treat2: str) -> dict[str, Any]:
        """Network estimate of ``treat1`` minus ``treat2`` with CI, p-value and PI."""
        i, j = self.index(treat1, "treat1"), self.index(treat2, "treat2")
        if i == j:
            raise InputError(f"compare() needs two different treatments; got {treat1!r} twice.",
                             column="treat2")
        return self._pair(i, j)

    def _pair(self, i: int, j: int) -> dict[str, Any]:
        est, se = float(self.pairwise_estimate[i, j]), float(self.pairwise_se[i, j])
        z = self.crit
        counts = self.network.study_counts()
        out = {"treat1": self.treatments[i], "treat2": self.treatments[j], "estimate": est,
               "se": se, "statistic": est / se, "p_value": float(2 * stats.norm.sf(abs(est / se))),
               "ci_lower": est - z * se, "ci_upper": est + z * se,
               "pi_lower": math.nan, "pi_upper": math.nan, "k_direct": int(counts[i, j])}
        if self.is_random:
            half = z * math.sqrt(se * se + self.tau2)
            out["pi_lower"], out["pi_upper"] = est - half, est + half
        return out

    # -- export --------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One row per treatment other than the reference: the treatment minus the reference."""
        ref = self.index(self.reference)
        counts = self.network.study_counts()
        parts = self.network.participants()
        rows = []
        for i, t in enumerate(self.treatments):
            if i == ref:
                continue
            rows.append({"treatment": t, "reference": self.reference,
                         "estimate": self.estimate[i], "se": self.se[i],
                         "statistic": self.statistic[i], "p_value": self.p_value[i],
                         "ci_lower": self.ci_lower[i], "ci_upper": self.ci_upper[i],
                         "pi_lower": self.pi_lower[i], "pi_upper": self.pi_upper[i],
                         "k_direct": int(counts[i, ref]), "n_participants": parts[i]})
        return pd.DataFrame(rows)

    def pairwise_frame(self) -> pd.DataFrame:
        """Every pair i < j (treatment order): treat1 minus treat2, with CI, PI and k_direct."""
        T = self.n_treatments
        return pd.DataFrame([self._pair(i, j) for i in range(T) for j in range(i + 1, T)])

    def study_frame(self) -> pd.DataFrame:
        """The basic contrasts analysed: study, design, treat1 (arm), treat2 (baseline), yi, vi."""
        net = self.network
        return pd.DataFrame({
            "study": [net.studies[s] for s in net.row_study],
            "design": [net.design_label(s) for s in net.row_study],
            "treat1": [net.treatments[t] for t in net.row_treat],
            "treat2": [net.treatments[t] for t in net.row_base],
            "yi": net.y, "vi": np.diag(net.V)})

    def design_frame(self) -> pd.DataFrame:
        """One row per design: its treatments, studies and number of studies."""
        net = self.network
        designs: dict[str, list[str]] = {}
        for s, name in enumerate(net.studies):
            designs.setdefault(net.design_label(s), []).append(name)
        return pd.DataFrame([{"design": d, "n_arms": d.count(":") + 1, "k": len(v),
                              "studies": ", ".join(v)} for d, v in designs.items()])

    def to_dict(self, studies: bool = True) -> dict[str, Any]:
        """JSON-safe dictionary: summary fields, treatments, estimates, pairwise, designs."""
        out: dict[str, Any] = {name: getattr(self, name) for name in SUMMARY_FIELDS}
        out["treatments"] = list(self.treatments)
        out["estimates"] = self.to_frame().to_dict(orient="records")
        out["pairwise"] = self.pairwise_frame().to_dict(orient="records")
        out["designs"] = self.design_frame().to_dict(orient="records")
        out["participants"] = dict(zip(self.treatments, self.network.participants(),
                                       strict=True))
        out["warnings"] = list(self.warnings)
        if studies:
            out["studies"] = self.study_frame().to_dict(orient="records")
        return json_safe(out)

    def summary(self, fmt: str = "text") -> str:
        """Readable summary as ``"text"``, ``"markdown"`` or ``"html"``."""
        return self._report().render(fmt)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"NetworkResult(method={self.method!r}, treatments={self.n_treatments}, "
                f"studies={self.k}, reference={self.reference!r}, tau2={self.tau2:.4g})")

    def _report(self) -> Report:
        rep = Report(f"Network meta-analysis ({METHODS[self.method]}; {self.k} studies, "
                     f"{self.n_treatments} treatments)")
        lv = f"{100 * self.level:g}%"
        rep.add_section("Network", [
            ("treatments", ", ".join(self.treatments)),
            ("reference", self.reference),
            ("studies", f"{self.k} ({self.n_multiarm} multi-arm)"),
            ("pairwise comparisons", str(self.n_pairs)),
            ("designs", str(self.n_designs)),
            ("measure", self.measure or "-"),
        ])
        het = [("tau^2", fmt_number(self.tau2) + (" (fixed)" if self.tau2_fixed else "")),
               ("tau", fmt_number(self.tau)), ("I^2", f"{fmt_number(self.i2, 1)}%")]
        rep.add_section("Heterogeneity / inconsistency", het)
        rep.add_table("Tests of heterogeneity (within designs) and inconsistency (between "
                      "designs), common-effect model", pd.DataFrame([
                          {"": "Total", "Q": self.q, "df": self.q_df,
                           "p_value": fmt_p(self.q_p_value)},
                          {"": "Within designs", "Q": self.q_within, "df": self.q_within_df,
                           "p_value": fmt_p(self.q_within_p_value)},
                          {"": "Between designs", "Q": self.q_between, "df": self.q_between_df,
                           "p_value": fmt_p(self.q_between_p_value)}]))
        frame = self.to_frame()
        show = frame[["treatment", "estimate", "se", "ci_lower", "ci_upper"]].copy()
        if self.measure in LOG_MEASURES:
            for c in ("estimate", "ci_lower", "ci_upper"):
                show[c] = np.exp(show[c])
            show = show.rename(columns={"estimate": self.measure, "se": "se (log)"})
        show = show.rename(columns={"ci_lower": f"{lv} CI lower", "ci_upper": f"{lv} CI upper"})
        show["p_value"] = [fmt_p(p) for p in frame["p_value"]]
        if self.is_random:
            lo, hi = frame["pi_lower"], frame["pi_upper"]
            if self.measure in LOG_MEASURES:
                lo, hi = np.exp(lo), np.exp(hi)
            show[f"{lv} PI lower"], show[f"{lv} PI upper"] = lo, hi
        show["k_direct"] = frame["k_direct"]
        rep.add_table(f"Each treatment vs {self.reference}", show)
        if self.loglik is not None:
            rep.add_section("Fit", [("loglik", fmt_number(self.loglik)),
                                    ("AIC", fmt_number(self.aic)), ("BIC", fmt_number(self.bic)),
                                    ("tau^2 solver", f"{self.path} ({self.iterations} steps)")])
        rep.notes.extend(self.warnings)
        return rep


# ---------------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------------
def network_meta_analysis(
    data: pd.DataFrame | None = None,
    *,
    study: Any = "study",
    treat1: Any = "treat1",
    treat2: Any = "treat2",
    estimate: Any = "TE",
    se: Any = "seTE",
    cov: Any = None,
    n1: Any = None,
    n2: Any = None,
    treatment: Any = None,
    n: Any = None,
    events: Any = None,
    mean: Any = None,
    sd: Any = None,
    measure: str | None = None,
    method: str = "REML",
    tau2: float | None = None,
    reference: str | None = None,
    treatments: Sequence[str] | None = None,
    level: float = 0.95,
    add: float = 0.5,
    to: str = "only0",
    tol_multiarm: float = TOL_MULTIARM,
) -> NetworkResult:
    """Fit a frequentist network meta-analysis (consistency model).

    Parameters
    ----------
    data : pandas.DataFrame, optional
        When given, string arguments name its columns; otherwise pass arrays.
    study, treat1, treat2, estimate, se
        Contrast-level input (netmeta's ``studlab, treat1, treat2, TE, seTE``): ``estimate`` is
        the effect of ``treat1`` minus that of ``treat2``. A multi-arm study is given as all its
        pairs (their estimates must add up within ``tol_multiarm``), or as k - 1 contrasts with
        ``cov``.
    cov : array (m, m), optional
        Covariance matrix of the contrast rows, block-diagonal by study (metafor's ``V``).
    n1, n2 : optional
        Participants in the arms of ``treat1`` and ``treat2`` (for the network graph).
    treatment, n, events, mean, sd
        Arm-level input instead: one row per arm; ``events`` and ``n`` for ``measure`` OR, RR
        or RD, ``mean``, ``sd`` and ``n`` for MD or SMD. Effect sizes come from
        :func:`acuevidence.effect_sizes` (metafor's ``escalc``), the basic contrasts of a
        multi-arm study share the variance of its baseline arm.
    measure : str, optional
        Required with arm-level data (``"MD"``, ``"SMD"``, ``"OR"``, ``"RR"``, ``"RD"``); a label
        for contrasts (OR, RR, ... are then shown exponentiated).
    method : {"REML", "ML", "DL", "common"}
        How tau^2 is estimated: restricted or full maximum likelihood (as ``rma.mv``), the
        DerSimonian-Laird-type method of moments of netmeta (Jackson 2012), or no random
        effects (``"common"``, also ``"FE"``).
    tau2 : float, optional
        Fix tau^2 at this value instead of estimating it (``rma.mv(..., tau2 = x)``).
    reference : str, optional
        Treatment every other is compared with in :meth:`NetworkResult.to_frame` (default: the
        first treatment).
    treatments : sequence of str, optional
        Order of the treatments in every output (default: sorted labels).
    level : float
        Confidence level of CIs and prediction intervals.
    add, to
        Continuity correction of binary arm data: ``add`` is added to events and non-events of
        every arm of a study with a zero cell (``to="only0"``), of every study (``"all"``), or
        never (``"none"``). Applied per study, not per contrast, so that a shared arm has one
        value in all its contrasts. Studies without events (or only events) in every arm are
        left out with a warning.
    tol_multiarm : float
        Largest tolerated difference in the loop check of multi-arm contrasts.

    Returns
    -------
    NetworkResult

    Raises
    ------
    InputError
        Fewer than 2 treatments; a study comparing a treatment with itself; a disconnected
        network (the message names the sub-networks and their treatments); an unknown
        reference (the message lists the labels); a multi-arm study whose contrasts do not add
        up or whose covariance matrix is not positive definite; missing or invalid numbers.

    Notes
    -----
    Random effects: each study contrast has its own random effect with variance tau^2, two
    contrasts of one multi-arm study are correlated 1/2 (a common heterogeneity variance and
    the consistency model; ``rma.mv(..., random = ~ comp | study, rho = 1/2)``). Tests and
    intervals use the normal distribution; prediction intervals are ``estimate +- z sqrt(se^2 +
    tau^2)`` as ``predict.rma``.

    References
    ----------
    .. [1] Rücker G (2012). Network meta-analysis, electrical networks and graph theory. Res
       Synth Methods 3:312-324.
    .. [2] Jackson D, White IR, Riley RD (2012). Quantifying the impact of between-study
       heterogeneity in multivariate meta-analyses. Stat Med 31:3805-3820.
    .. [3] Higgins JPT et al. (2012). Consistency and inconsistency in network meta-analysis:
       concepts and models for multi-arm studies. Res Synth Methods 3:98-110.
    .. [4] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat
       Softw 36(3).
    """
    if data is not None and not isinstance(data, pd.DataFrame):
        raise InputError(f"'data' must be a pandas DataFrame (or None, with the columns passed "
                         f"as arrays); got {type(data).__name__}. Build one with "
                         "pandas.DataFrame(...), e.g. from a CSV with pandas.read_csv.",
                         column="data")
    code = _canonical(method)
    lv = check_level(level)
    if tau2 is not None:
        t = finite_number(tau2, "tau2", minimum=0.0, maximum=V_MAX, what="a fixed tau^2")
        tau2 = t
        if code == "FE" and t > 0:
            raise InputError("A common-effect model has no tau^2; leave 'tau2' out or choose a "
                             "random-effects method.", column="tau2")
    if treatment is not None:
        if measure is None:
            raise InputError("Arm-level data need 'measure' (MD, SMD, OR, RR or RD).",
                             column="measure")
        net = from_arms(data, study=study, treatment=treatment, measure=measure, n=n,
                        events=events, mean=mean, sd=sd, treatments=treatments, add=add, to=to)
    else:
        if data is None and any(isinstance(v, str) for v in (study, treat1, treat2, estimate)):
            raise InputError("Without 'data', pass the columns themselves (arrays) for study, "
                             "treat1, treat2, estimate and se.", column="data")
        se_arg = None if (cov is not None and isinstance(se, str)
                          and (data is None or se not in data.columns)) else se
        net = from_contrasts(data, study=study, treat1=treat1, treat2=treat2, estimate=estimate,
                             se=se_arg, cov=cov, n1=n1, n2=n2, treatments=treatments,
                             measure=None if measure is None else str(measure).upper(),
                             tol_multiarm=tol_multiarm)
    ref = net.treatments[0] if reference is None else reference
    treatment_index(net.treatments, ref, "reference")
    return fit_network(net, code, reference=str(ref), level=lv, tau2=tau2)


def fit_network(net: NetworkData, method: str, *, reference: str, level: float = 0.95,
                tau2: float | None = None) -> NetworkResult:
    """Fit the consistency model to validated network data (the layer under the API)."""
    T = net.n_treatments
    ref = treatment_index(net.treatments, reference, "reference")
    X = _core.treatment_matrix(net.row_treat, net.row_base, T, ref)
    K = net.K()
    y, V = net.y, net.V
    n_rows, p = X.shape
    notes = list(net.notes)

    fe = _core.gls(y, V, K, X, 0.0)
    q, q_df = fe.rss, n_rows - p
    study_design = _design_ids(net)
    Z, _ = _core.design_matrix(net.row_study, net.row_treat, study_design)
    dbt = _core.gls(y, V, K, Z, 0.0)
    q_within, q_within_df = dbt.rss, n_rows - Z.shape[1]
    q_between, q_between_df = max(0.0, q - q_within), Z.shape[1] - p

    converged, iterations, path, fixed = True, 0, "closed-form", tau2 is not None
    if method == "FE":
        t2, path = 0.0, "common"
    elif tau2 is not None:
        t2, path = float(tau2), "fixed"
    elif q_df == 0:
        # Nothing replicated and no loop: the (restricted) likelihood is flat or maximal at 0.
        t2, path = 0.0, "not estimable (df = 0)"
        notes.append("Q has 0 degrees of freedom (no closed loop and no replicated "
                     "comparison), so tau^2 cannot be estimated; it is set to 0 and the "
                     "random-effects model equals the common-effect model.")
    elif method == "DL":
        t2 = _core.tau2_dl(y, V, K, X)
    else:
        res = _core.tau2_likelihood(y, V, K, X, reml=(method == "REML"))
        t2, converged, iterations, path = res.tau2, res.converged, res.iterations, res.path
    fit = _core.gls(y, V, K, X, t2)
    ll = aic = bic = None
    if method in ("REML", "ML") and q_df > 0:
        reml = method == "REML"
        ll = _core.loglik(fit, n_rows, p, reml)
        parms = p + (0 if fixed else 1)
        aic = -2 * ll + 2 * parms
        n_eff = n_rows - p if reml else n_rows
        bic = -2 * ll + parms * math.log(n_eff) if n_eff > 0 else math.nan

    z = float(stats.norm.isf((1 - level) / 2))
    cols = [t for t in range(T) if t != ref]
    est = np.zeros(T)
    cov = np.zeros((T, T))
    est[cols] = fit.beta
    cov[np.ix_(cols, cols)] = fit.vcov
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > 0, est / np.where(se > 0, se, 1.0), np.nan)
    pval = np.where(se > 0, 2 * stats.norm.sf(np.abs(np.nan_to_num(stat))), np.nan)
    se_out = np.where(se > 0, se, np.nan)
    pair_est = est[:, None] - est[None, :]
    pair_var = np.diag(cov)[:, None] + np.diag(cov)[None, :] - 2 * cov
    pair_se = np.sqrt(np.maximum(pair_var, 0.0))
    np.fill_diagonal(pair_se, np.nan)
    if method == "FE":
        pi_lo = pi_hi = np.full(T, np.nan)
    else:
        half = z * np.sqrt(se_out ** 2 + t2)
        pi_lo, pi_hi = est - half, est + half
    designs = {tuple(sorted(a)) for a in net.study_arms}
    n_multi = sum(1 for a in net.study_arms if len(a) > 2)
    return NetworkResult(
        treatments=net.treatments, reference=net.treatments[ref], method=method,
        measure=net.measure, level=level, k=len(net.studies), n_treatments=T,
        n_contrasts=n_rows, n_pairs=sum(len(a) * (len(a) - 1) // 2 for a in net.study_arms),
        n_designs=len(designs), n_multiarm=n_multi,
        estimate=est, se=se_out, statistic=stat, p_value=pval,
        ci_lower=est - z * se_out, ci_upper=est + z * se_out, pi_lower=pi_lo, pi_upper=pi_hi,
        vcov=fit.vcov, pairwise_estimate=pair_est, pairwise_se=pair_se,
        tau2=t2, tau=math.sqrt(t2), i2=100 * max(0.0, (q - q_df) / q) if q > 0 and q_df > 0
        else 0.0, h2=q / q_df if q_df > 0 else math.nan,
        q=q, q_df=q_df, q_p_value=_chi2_p(q, q_df),
        q_within=q_within, q_within_df=q_within_df,
        q_within_p_value=_chi2_p(q_within, q_within_df),
        q_between=q_between, q_between_df=q_between_df,
        q_between_p_value=_chi2_p(q_between, q_between_df),
        loglik=ll, aic=aic, bic=bic, tau2_fixed=fixed, converged=converged,
        iterations=iterations, path=path, network=net, warnings=tuple(notes))


def _design_ids(net: NetworkData) -> list[int]:
    ids: dict[tuple[int, ...], int] = {}
    out = []
    for s in range(len(net.studies)):
        d = net.design_of(s)
        out.append(ids.setdefault(d, len(ids)))
    return out


def _chi2_p(q: float, df: int) -> float | None:
    if df <= 0:
        return None
    return float(stats.chi2.sf(q, df))
