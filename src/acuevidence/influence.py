"""Influence and sensitivity analyses (metafor's ``leave1out``, ``influence``, ``cumul``,
``gosh`` and the numbers behind ``baujat``).

Each function takes a fitted :class:`~acuevidence.results.MetaResult` (or effect sizes with
``vi``/``sei`` and options) and refits the same model (method, test, level, fixed tau^2) to
subsets of the studies. Results are frozen, with a per-study (or per-subset) ``table``,
``to_frame()``, ``to_dict()`` and ``summary()``.

Map from metafor's column names:

==========================  ===========================================================
metafor                     acuevidence
==========================  ===========================================================
``estimate, se, zval/tval`` ``estimate, se, statistic``
``pval, ci.lb, ci.ub``      ``p_value, ci_lower, ci_upper``
``Q, Qp, tau2, I2, H2``     ``q, q_p_value, tau2, i2, h2``
``rstudent, dffits``        ``rstudent, dffits``
``cook.d, cov.r``           ``cooks_distance, cov_ratio``
``tau2.del, QE.del``        ``tau2_deleted, q_deleted``
``hat, weight``             ``hat, weight`` (weight in percent)
``dfbs$intrcpt``            ``dfbetas``
``inf == "*"``              ``influential``
``gosh()$res``              ``GoshResult.table``: ``k, q, i2, h2, tau2, estimate``
``baujat()`` x, y           ``BaujatResult.table``: ``q_contribution, influence``
==========================  ===========================================================

References
----------
Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for meta-analysis.
    Res Synth Methods 1:112-125.
Olkin I, Dahabreh IJ, Trikalinos TA (2012). GOSH - a graphical display of study heterogeneity.
    Res Synth Methods 3:214-223.
Baujat B, Mahé C, Pignon J-P, Hill C (2002). A graphical method for exploring heterogeneity in
    meta-analyses: application to a meta-analysis of 65 trials. Stat Med 21:2641-2652.
Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis of therapeutic
    trials for myocardial infarction. N Engl J Med 327:248-254.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._refit import ModelSpec, resolve_model
from ._validate import format_rows, positive_int
from .errors import EvidenceWarning, InputError
from .meta import COMMON
from .printer import Report, fmt_number
from .results import MetaResult, json_safe
from .tau2 import estimate_tau2

__all__ = [
    "BaujatResult",
    "CumulativeResult",
    "GoshResult",
    "InfluenceResult",
    "LeaveOneOutResult",
    "SubsetSamplingWarning",
    "baujat",
    "cumulative",
    "gosh",
    "gosh_closed_form",
    "influence",
    "influence_diagnostics",
    "leave_one_out",
]

# metafor's gosh() enumerates every subset up to this many; above it, it samples.
GOSH_MAX_EXACT = 10**6
# Subsets processed per vectorised block (bounds memory at about 8 * GOSH_BLOCK * k bytes).
GOSH_BLOCK = 50_000
# Residuals below this many machine epsilons are set to 0, as metafor does for rstudent.
_RESID_ZERO = 100 * np.finfo(float).eps

FIT_COLUMNS = ("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "q",
               "q_p_value", "tau2", "i2", "h2")


class SubsetSamplingWarning(EvidenceWarning):
    """GOSH: too many subsets to enumerate, a random sample of subsets was used."""


def _fit_row(r: MetaResult) -> dict[str, Any]:
    return {"estimate": r.estimate, "se": r.se, "statistic": r.statistic,
            "p_value": r.p_value, "ci_lower": r.ci_lower, "ci_upper": r.ci_upper, "q": r.q,
            "q_p_value": r.q_p_value, "tau2": r.tau2, "i2": r.i2, "h2": r.h2}


def _need_k(spec: ModelSpec, what: str, k_min: int = 2) -> None:
    if spec.k < k_min:
        raise InputError(f"{what} needs at least {k_min} studies; got k = {spec.k}.",
                         column="yi")


@dataclass(frozen=True, eq=False, repr=False)
class _TableResult:
    """A per-study (or per-subset) table with the options of the model refitted."""

    table: pd.DataFrame
    k: int
    method: str
    test: str
    level: float
    warnings: tuple[str, ...] = field(default=())

    _title = "Table"

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy), one row per study or subset."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary: options, the table as records and the warnings."""
        return json_safe({"k": self.k, "method": self.method, "test": self.test,
                          "level": self.level, "rows": self.table.to_dict(orient="records"),
                          "warnings": list(self.warnings)})

    def summary(self, fmt: str = "text") -> str:
        """Readable summary as ``"text"``, ``"markdown"`` or ``"html"``."""
        rep = Report(f"{self._title} (k = {self.k}; method: {self.method}; test: {self.test})")
        frame = self.table.copy()
        for c in frame.columns:
            if frame[c].dtype.kind == "f":
                frame[c] = frame[c].map(lambda x: fmt_number(x))
        rep.add_table("", frame)
        rep.notes.extend(self.warnings)
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(k={self.k}, method={self.method!r}, rows={len(self.table)})"


# ======================================================================================
# Leave-one-out
# ======================================================================================
@dataclass(frozen=True, eq=False, repr=False)
class LeaveOneOutResult(_TableResult):
    """Each study omitted in turn (metafor's ``leave1out``): row i = the fit without study i."""

    _title = "Leave-one-out analysis"


def leave_one_out(x: Any, vi: Any = None, *, sei: Any = None, data: pd.DataFrame | None = None,
                  labels: Any = None, method: str | None = None, test: str | None = None,
                  level: float | None = None) -> LeaveOneOutResult:
    """Refit the model leaving out each study in turn (metafor's ``leave1out``).

    Columns of ``table``: ``label`` (the study left out), ``estimate``, ``se``, ``statistic``,
    ``p_value``, ``ci_lower``, ``ci_upper``, ``q``, ``q_p_value``, ``tau2``, ``i2``, ``h2``.

    References
    ----------
    Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for meta-analysis.
        Res Synth Methods 1:112-125.
    """
    spec = resolve_model(x, vi, sei=sei, data=data, labels=labels, method=method, test=test,
                         level=level, what="leave_one_out")
    _need_k(spec, "A leave-one-out analysis")
    rows = []
    for i in range(spec.k):
        r = spec.fit(np.delete(np.arange(spec.k), i))
        rows.append({"label": spec.labels[i], **_fit_row(r)})
    notes = []
    if spec.k == 2:
        notes.append("With k = 2 each leave-one-out fit is a single study.")
    return LeaveOneOutResult(table=pd.DataFrame(rows), k=spec.k, method=spec.method,
                             test=spec.test, level=spec.level, warnings=tuple(notes))


# ======================================================================================
# Influence diagnostics
# ======================================================================================
@dataclass(frozen=True, eq=False, repr=False)
class InfluenceResult(_TableResult):
    """Case-deletion diagnostics (metafor's ``influence.rma.uni``), one row per study.

    ``influential`` flags a study as metafor marks it with ``*``: |dffits| > 3 sqrt(p/(k - p)),
    or the chi^2(1) CDF of Cook's distance > 0.5, or hat > 3 p / k, or |dfbetas| > 1.
    """

    _title = "Influence diagnostics"

    @property
    def influential_labels(self) -> tuple[str, ...]:
        """Labels of the studies flagged as influential."""
        return tuple(self.table.loc[self.table["influential"], "label"])


def influence_diagnostics(x: Any, vi: Any = None, *, sei: Any = None,
                          data: pd.DataFrame | None = None, labels: Any = None,
                          method: str | None = None, test: str | None = None,
                          level: float | None = None) -> InfluenceResult:
    """Outlier and influence diagnostics of each study (metafor's ``influence``).

    Columns of ``table``: ``label``, ``rstudent`` (externally standardized residual),
    ``dffits``, ``cooks_distance``, ``cov_ratio``, ``tau2_deleted``, ``q_deleted``, ``hat``,
    ``weight`` (percent), ``dfbetas`` and ``influential`` (bool).

    References
    ----------
    Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for meta-analysis.
        Res Synth Methods 1:112-125.
    """
    spec = resolve_model(x, vi, sei=sei, data=data, labels=labels, method=method, test=test,
                         level=level, what="influence")
    _need_k(spec, "Influence diagnostics")
    full = spec.full()
    k, p = spec.k, 1
    y, v = spec.y, spec.v
    vb_full = full.se ** 2
    w_full = 1.0 / (v + full.tau2)
    hat = w_full / w_full.sum()
    rows = []
    for i in range(k):
        r = spec.fit(np.delete(np.arange(k), i))
        t2d, s2w = r.tau2, r.s2w
        vb_del = r.se ** 2
        diff = full.estimate - r.estimate
        with np.errstate(divide="ignore", invalid="ignore"):
            dffits = diff / math.sqrt(s2w * hat[i] * (t2d + v[i])) if s2w > 0 else math.nan
            vb_all = 1.0 / float(np.sum(1.0 / (v + t2d)))
            dfbetas = diff / math.sqrt(s2w * vb_all) if s2w > 0 else math.nan
            resid = y[i] - r.estimate
            if abs(resid) < _RESID_ZERO:
                resid = 0.0
            se_resid = math.sqrt(v[i] * s2w + vb_del + t2d * s2w)
            rstudent = resid / se_resid if se_resid > 0 else math.nan
        rows.append({
            "label": spec.labels[i], "rstudent": rstudent, "dffits": dffits,
            "cooks_distance": diff * diff / vb_full, "cov_ratio": vb_del / vb_full,
            "tau2_deleted": t2d, "q_deleted": r.q, "hat": hat[i],
            "weight": float(full.weights[i]), "dfbetas": dfbetas,
        })
    table = pd.DataFrame(rows)
    with np.errstate(invalid="ignore"):
        flag = ((np.abs(table["dffits"]) > 3 * math.sqrt(p / (k - p)))
                | (stats.chi2.cdf(table["cooks_distance"], 1) > 0.5)
                | (table["hat"] > 3 * p / k) | (np.abs(table["dfbetas"]) > 1))
    table["influential"] = flag.fillna(False).astype(bool)
    return InfluenceResult(table=table, k=k, method=spec.method, test=spec.test,
                           level=spec.level)


# metafor's name. Exported at package level as influence_diagnostics only: a package attribute
# named like this module would shadow it for ``import acuevidence.influence as m``.
influence = influence_diagnostics


# ======================================================================================
# Cumulative meta-analysis
# ======================================================================================
@dataclass(frozen=True, eq=False, repr=False)
class CumulativeResult(_TableResult):
    """Cumulative meta-analysis (metafor's ``cumul``): row j = the fit of the first j studies."""

    _title = "Cumulative meta-analysis"


def cumulative(x: Any, vi: Any = None, *, sei: Any = None, data: pd.DataFrame | None = None,
               labels: Any = None, order: Any = None, decreasing: bool = False,
               method: str | None = None, test: str | None = None,
               level: float | None = None) -> CumulativeResult:
    """Add the studies one at a time in the given order and refit (metafor's ``cumul``).

    Parameters
    ----------
    order : array-like or str, optional
        A sort key, one per study (e.g. publication year; with ``data``, a column name). Studies
        are added in increasing order of the key (``decreasing=True``: decreasing); ties keep the
        input order, as R's ``order``. Default: the input order.

    Columns of ``table``: ``label`` (the study added), ``k``, ``order`` (its key, when given),
    and the fit columns ``estimate`` ... ``h2`` of the first ``k`` studies.

    References
    ----------
    Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis of therapeutic
        trials for myocardial infarction. N Engl J Med 327:248-254.
    """
    spec = resolve_model(x, vi, sei=sei, data=data, labels=labels, method=method, test=test,
                         level=level, what="cumulative")
    _need_k(spec, "A cumulative meta-analysis", 1)
    key = None
    if order is None:
        idx = np.arange(spec.k)
    else:
        raw = data[order] if (data is not None and isinstance(order, str)) else order
        key = pd.Series(list(raw.tolist() if hasattr(raw, "tolist") else raw))
        if key.shape[0] != spec.k:
            raise InputError(f"'order' has {key.shape[0]} entries but there are {spec.k} "
                             "studies; give one sort key per study.", column="order")
        missing = np.flatnonzero(key.isna().to_numpy()).tolist()
        if missing:
            raise InputError(f"'order' is missing in row(s) {format_rows(missing)}; give every "
                             "study a sort key.", column="order", rows=missing)
        codes, _ = pd.factorize(key, sort=True)
        idx = np.argsort(-codes if decreasing else codes, kind="stable")
    rows = []
    for j in range(1, spec.k + 1):
        r = spec.fit(idx[:j])
        row: dict[str, Any] = {"label": spec.labels[idx[j - 1]], "k": j}
        if key is not None:
            row["order"] = key.iloc[idx[j - 1]]
        row.update(_fit_row(r))
        rows.append(row)
    return CumulativeResult(table=pd.DataFrame(rows), k=spec.k, method=spec.method,
                            test=spec.test, level=spec.level)


# ======================================================================================
# GOSH
# ======================================================================================
def gosh_closed_form(y: np.ndarray, v: np.ndarray, incl: np.ndarray,
                     random: bool) -> dict[str, np.ndarray]:
    """Common-effect or DerSimonian-Laird fits of many subsets at once.

    ``incl`` is a boolean (n, k) matrix, one subset per row. Returns arrays of length n: ``k``,
    ``q``, ``i2``, ``h2``, ``tau2``, ``estimate``, with metafor's gosh conventions (a subset of
    one study has Q = 0, I^2 = 0, H^2 = 1; I^2 and H^2 from Q, H^2 = Q/(k - 1) even below 1).
    """
    m = incl.astype(float)
    w = 1.0 / v
    kk = m.sum(axis=1)
    sw = m @ w
    est = (m @ (w * y)) / sw
    q = np.einsum("ij,ij->i", m * w, (y[None, :] - est[:, None]) ** 2)
    multi = kk > 1
    q = np.where(multi, q, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(multi & (q > 0), np.maximum(0.0, 100 * (q - (kk - 1)) / q), 0.0)
        h2 = np.where(multi, q / np.maximum(kk - 1, 1), 1.0)
    tau2 = np.zeros_like(q)
    if random:
        c = sw - (m @ (w * w)) / sw
        with np.errstate(divide="ignore", invalid="ignore"):
            tau2 = np.where(multi, np.maximum(0.0, (q - (kk - 1)) / c), 0.0)
        wt = m / (v[None, :] + tau2[:, None])
        est = (wt @ y) / wt.sum(axis=1)
    return {"k": kk.astype(int), "q": q, "i2": i2, "h2": h2, "tau2": tau2, "estimate": est}


def _gosh_iterative(spec: ModelSpec, incl: np.ndarray) -> dict[str, np.ndarray]:
    n = incl.shape[0]
    out = {name: np.empty(n) for name in ("q", "i2", "h2", "tau2", "estimate")}
    for r in range(n):
        idx = np.flatnonzero(incl[r])
        y, v = spec.y[idx], spec.v[idx]
        kk = idx.size
        X = np.ones((kk, 1))
        w = 1.0 / v
        if kk == 1:
            out["q"][r], out["i2"][r], out["h2"][r], out["tau2"][r] = 0.0, 0.0, 1.0, 0.0
            out["estimate"][r] = y[0]
            continue
        sw = w.sum()
        mu_fe = float(np.sum(w * y) / sw)
        q = float(np.sum(w * (y - mu_fe) ** 2))
        if spec.tau2_fixed is not None:
            t2 = spec.tau2_fixed
        else:
            t2 = estimate_tau2(spec.method, y, v, X).tau2
        vt = (kk - 1) / (sw - float(np.sum(w * w)) / sw)
        wt = 1.0 / (v + t2)
        out["q"][r] = q
        out["tau2"][r] = t2
        out["i2"][r] = 100 * t2 / (vt + t2)
        out["h2"][r] = t2 / vt + 1
        out["estimate"][r] = float(np.sum(wt * y) / wt.sum())
    out["k"] = incl.sum(axis=1).astype(int)
    return out


@dataclass(frozen=True, eq=False, repr=False)
class GoshResult(_TableResult):
    """GOSH: the model fitted to (all or a random sample of) subsets of the studies.

    ``table`` has one row per subset: ``k``, ``q``, ``i2``, ``h2``, ``tau2``, ``estimate``;
    ``incl`` is the boolean (subsets x studies) inclusion matrix; ``exact`` says whether every
    subset was fitted.
    """

    incl: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))
    labels: tuple[str, ...] = ()
    exact: bool = True

    _title = "GOSH analysis"

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["exact"] = self.exact
        out["labels"] = list(self.labels)
        out["incl"] = self.incl.astype(int).tolist()
        return out

    def summary(self, fmt: str = "text") -> str:
        rep = Report(f"GOSH analysis (k = {self.k}; method: {self.method}; "
                     f"{len(self.table)} {'' if self.exact else 'randomly sampled '}subsets)")
        desc = self.table[["estimate", "i2", "tau2", "q"]].describe(
            percentiles=[0.025, 0.5, 0.975]).T
        desc = desc.reset_index().rename(columns={"index": "quantity"})
        rep.add_table("Distribution over subsets", desc)
        rep.notes.extend(self.warnings)
        return rep.render(fmt)


def gosh(x: Any, vi: Any = None, *, sei: Any = None, data: pd.DataFrame | None = None,
         labels: Any = None, subsets: int | None = None, seed: int | None = None,
         method: str | None = None) -> GoshResult:
    """Graphical display of study heterogeneity: fit every subset of the studies.

    All 2^k - 1 non-empty subsets are fitted when there are at most ``subsets`` of them
    (default 10^6, as metafor); otherwise ``subsets`` random subsets (each non-empty subset
    equally likely, drawn with a ``seed``-ed generator) with a :class:`SubsetSamplingWarning`.
    Common-effect and DerSimonian-Laird models are fitted in closed form for all subsets at once
    (metafor does the same); other estimators are fitted subset by subset.

    The order of the rows is metafor's: subsets sorted by size, and within a size in the order
    of R's ``expand.grid`` (study 1 varies fastest).

    References
    ----------
    Olkin I, Dahabreh IJ, Trikalinos TA (2012). GOSH - a graphical display of study
        heterogeneity. Res Synth Methods 3:214-223.
    """
    spec = resolve_model(x, vi, sei=sei, data=data, labels=labels, method=method, what="gosh")
    _need_k(spec, "A GOSH analysis")
    k = spec.k
    limit = GOSH_MAX_EXACT if subsets is None else positive_int(
        subsets, "subsets", minimum=2, what="the number of subsets to fit")
    n_all = 2**k - 1
    notes: list[str] = []
    if n_all <= limit:
        exact = True
        codes = np.arange(1, n_all + 1, dtype=np.int64)
        bits = ((codes[:, None] >> np.arange(k)) & 1).astype(bool)
        order = np.argsort(bits.sum(axis=1), kind="stable")
        incl = bits[order]
    else:
        exact = False
        try:
            rng = np.random.default_rng(seed)
        except (TypeError, ValueError):
            raise InputError(f"The 'seed' parameter must be a non-negative whole number (or "
                             f"None); got {seed!r}.", column="seed") from None
        msg = (f"k = {k} studies have {n_all:.3g} subsets, more than subsets = {limit}: a random "
               f"sample of {limit} subsets is used (seed = {seed}). Pass 'seed' to make it "
               "reproducible.")
        notes.append(msg)
        warnings.warn(msg, SubsetSamplingWarning, stacklevel=2)
        incl = rng.random((limit, k)) < 0.5
        empty = ~incl.any(axis=1)
        while empty.any():
            incl[empty] = rng.random((int(empty.sum()), k)) < 0.5
            empty = ~incl.any(axis=1)
        incl = incl[np.argsort(incl.sum(axis=1), kind="stable")]
    if spec.method in COMMON or (spec.method == "DL" and spec.tau2_fixed is None):
        parts = [gosh_closed_form(spec.y, spec.v, incl[s:s + GOSH_BLOCK], spec.method == "DL")
                 for s in range(0, incl.shape[0], GOSH_BLOCK)]
        res = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    else:
        res = _gosh_iterative(spec, incl)
    table = pd.DataFrame({name: res[name] for name in ("k", "q", "i2", "h2", "tau2",
                                                        "estimate")})
    return GoshResult(table=table, k=k, method=spec.method, test=spec.test, level=spec.level,
                      warnings=tuple(notes), incl=incl, labels=tuple(spec.labels), exact=exact)


# ======================================================================================
# Baujat
# ======================================================================================
@dataclass(frozen=True, eq=False, repr=False)
class BaujatResult(_TableResult):
    """Numbers of a Baujat plot: each study's contribution to Q and influence on the estimate.

    ``q_contribution`` = (yi - estimate)^2 / (vi + tau2) (the squared Pearson residual; its sum
    is Q for a common-effect model); ``influence`` = (estimate_(-i) - estimate)^2 / var(estimate_(-i)).
    """

    _title = "Baujat diagnostics"


def baujat(x: Any, vi: Any = None, *, sei: Any = None, data: pd.DataFrame | None = None,
           labels: Any = None, method: str | None = None, test: str | None = None,
           level: float | None = None) -> BaujatResult:
    """The x and y coordinates of metafor's ``baujat`` plot, one row per study.

    References
    ----------
    Baujat B, Mahé C, Pignon J-P, Hill C (2002). A graphical method for exploring heterogeneity
        in meta-analyses. Stat Med 21:2641-2652.
    """
    spec = resolve_model(x, vi, sei=sei, data=data, labels=labels, method=method, test=test,
                         level=level, what="baujat")
    _need_k(spec, "A Baujat plot")
    full = spec.full()
    rows = []
    for i in range(spec.k):
        r = spec.fit(np.delete(np.arange(spec.k), i))
        rows.append({
            "label": spec.labels[i],
            "q_contribution": (spec.y[i] - full.estimate) ** 2 / (full.tau2 + spec.v[i]),
            "influence": (r.estimate - full.estimate) ** 2 / r.se**2 if r.se > 0 else math.nan,
        })
    return BaujatResult(table=pd.DataFrame(rows), k=spec.k, method=spec.method, test=spec.test,
                        level=spec.level)
