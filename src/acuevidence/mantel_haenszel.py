"""Mantel-Haenszel and Peto pooling of 2x2 tables and person-time data.

A port of metafor's ``rma.mh`` (measures OR, RR, RD, IRR, IRD) and ``rma.peto``. The pooled
estimate comes from the raw tables; the heterogeneity test (Q, I^2, H^2) is computed, as metafor
does, from the study-level estimates ``yi``/``vi`` (``escalc`` with the first ``add``/``to``/
``drop00`` values) around the pooled estimate. The exact conditional MLE of the common odds
ratio is not offered.

The result fields and their metafor names are listed under :class:`MHResult`.

References
----------
Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748. (MH estimator and test)
Robins J, Breslow N, Greenland S (1986). Biometrics 42:311-323. (variance of the MH OR)
Greenland S, Robins JM (1985). Biometrics 41:55-68. (variances of the MH RR, RD, IRR, IRD)
Sato T, Greenland S, Robins JM (1989). Biometrics 45:1323-1324. (variance of the MH RD)
Sato T (1990). Biometrics 46:71-80. (confidence limits for the MH OR)
Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Prog Cardiovasc Dis 27:335-371. (Peto)
Tarone RE (1985). Biometrika 72:91-95. (corrected Breslow-Day homogeneity test)
Breslow NE, Day NE (1980). Statistical Methods in Cancer Research, Vol. I. IARC, Lyon.
Viechtbauer W (2010). J Stat Softw 36(3). (metafor)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._validate import as_float_array, check_level, check_nonnegative, check_positive, format_rows
from .effect_sizes import effect_sizes
from .errors import EvidenceWarning, InputError, ZeroCellWarning
from .printer import Report, fmt_number, fmt_p
from .results import json_safe

__all__ = ["mantel_haenszel", "peto", "MHResult"]

MEASURES_2X2 = ("OR", "RR", "RD")
MEASURES_PT = ("IRR", "IRD")
MEASURES = MEASURES_2X2 + MEASURES_PT
RATIO_MEASURES = ("OR", "RR", "IRR", "PETO")
TEST_FIELDS = ("cmh_statistic", "cmh_p_value", "cochran_statistic", "cochran_p_value",
               "breslow_day_statistic", "breslow_day_p_value", "tarone_statistic",
               "tarone_p_value")
TO_OPTIONS = ("only0", "all", "if0all", "none")

# Friendly argument names -> metafor's. events_1/events_2 mean x1i/x2i for person-time measures.
ALIASES_2X2 = {"events_1": "ai", "nonevents_1": "bi", "events_2": "ci", "nonevents_2": "di",
               "n_1": "n1i", "n_2": "n2i"}
ALIASES_PT = {"events_1": "x1i", "events_2": "x2i", "time_1": "t1i", "time_2": "t2i"}

MEASURE_LABELS = {"OR": "odds ratio", "RR": "risk ratio", "RD": "risk difference",
                  "IRR": "incidence rate ratio", "IRD": "incidence rate difference",
                  "PETO": "Peto odds ratio"}


# -- Numeric layer: validated float arrays in, arrays/floats out ------------------------------

def zero_rows(measure: str, cells: Sequence[np.ndarray]) -> np.ndarray:
    """Rows metafor calls double-zero (``drop00``).

    For 2x2 tables: no events in either arm, or no non-events in either arm. For person-time
    data: no events in either arm.
    """
    a, b, c, d = cells
    if measure in MEASURES_PT:  # (x1i, t1i, x2i, t2i)
        return (a == 0) & (c == 0)
    return ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))


def add_to_cells(
    measure: str, cells: Sequence[np.ndarray], keep: np.ndarray, add: float, to: str
) -> tuple[list[np.ndarray], np.ndarray]:
    """Add ``add`` to the count cells of the rows that ``to`` selects among ``keep``.

    For person-time data only the event counts get ``add``; for 2x2 tables all four cells.
    Returns the new cells and the mask of rows that received a non-zero ``add``.
    """
    count_idx = (0, 2) if measure in MEASURES_PT else (0, 1, 2, 3)
    id0 = np.any(np.vstack([cells[i] == 0 for i in count_idx]), axis=0) & keep
    rows = {"all": keep, "only0": id0, "if0all": keep & bool(id0.any())}.get(to, keep & False)
    out = [np.where(rows, c + add, c) if i in count_idx else c.copy() for i, c in enumerate(cells)]
    return out, rows & (add != 0)


def study_effects(
    measure: str, cells: Sequence[np.ndarray], add: float, to: str, drop00: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Study-level ``yi``, ``vi`` as metafor's ``escalc`` computes them inside ``rma.mh``.

    Delegates to :func:`acuevidence.effect_sizes.effect_sizes` (whose zero-cell warnings are
    replaced by this module's own). Returns ``(yi, vi, dropped00, corrected)``; ``yi``/``vi`` are
    ``NaN`` for dropped double-zero studies and where the arithmetic is undefined (0/0).
    """
    names = ("x1i", "t1i", "x2i", "t2i") if measure in MEASURES_PT else ("ai", "bi", "ci", "di")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvidenceWarning)
        es = effect_sizes(measure, add=add, to=to, drop00=drop00,
                          **dict(zip(names, cells, strict=True)))
    dropped = zero_rows(measure, cells) if drop00 else np.zeros(cells[0].shape[0], dtype=bool)
    _, corrected = add_to_cells(measure, cells, ~dropped, add, to)
    return es["yi"].to_numpy(dtype=float), es["vi"].to_numpy(dtype=float), dropped, corrected


def _z_inference(beta: float, se: float, level: float) -> tuple[float, float, float, float]:
    with np.errstate(divide="ignore", invalid="ignore"):
        z = float(np.float64(beta) / np.float64(se))
    crit = float(stats.norm.isf((1 - level) / 2))
    p = float(2 * stats.norm.sf(abs(z))) if not math.isnan(z) else math.nan
    return z, p, beta - crit * se, beta + crit * se


def _chi2_sf(x: float, df: float) -> float:
    return float(stats.chi2.sf(x, df)) if not math.isnan(x) else math.nan


def pool_mh_2x2(measure: str, a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray,
                correct: bool = True) -> dict[str, float]:
    """Mantel-Haenszel pooled OR, RR or RD from 2x2 tables, with the tests metafor reports.

    OR: Robins-Breslow-Greenland variance, Cochran and Cochran-Mantel-Haenszel tests,
    Breslow-Day and Tarone homogeneity tests. RR: Greenland-Robins variance. RD: the variance of
    Sato, Greenland & Robins (1989), as metafor. Log scale for OR and RR.
    """
    nan = math.nan
    n1, n2 = a + b, c + d
    n = n1 + n2
    out: dict[str, float] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            P, Q = a / n + d / n, b / n + c / n
            R_i, S_i = (a / n) * d, (b / n) * c
            R, S = float(R_i.sum()), float(S_i.sum())
            if R == 0 or S == 0:
                psi = beta = se = nan
            else:
                psi = R / S
                beta = math.log(psi)
                se = math.sqrt(0.5 * (float((P * R_i).sum()) / R**2
                                      + float((P * S_i + Q * R_i).sum()) / (R * S)
                                      + float((Q * S_i).sum()) / S**2))
            xt, yt = a + c, b + d
            cont = 0.5 if correct else 0.0
            if xt.sum() == 0 or yt.sum() == 0:
                co = mh = nan
            else:
                num = (abs(float((a - (n1 / n) * xt).sum())) - cont) ** 2
                co = num / float(((n1 / n) * (n2 / n) * (xt * (yt / n))).sum())
                mh = num / float(((n1 / n) * (n2 / n) * (xt * (yt / (n - 1)))).sum())
            out.update(cochran_statistic=co, cochran_p_value=_chi2_sf(co, 1),
                       cmh_statistic=mh, cmh_p_value=_chi2_sf(mh, 1))
            out.update(_breslow_day(a, n1, n2, n, xt, yt, psi))
        elif measure == "RR":
            R = float((a * (n2 / n)).sum())
            S = float((c * (n1 / n)).sum())
            if a.sum() == 0 or c.sum() == 0:
                beta = se = nan
            else:
                beta = math.log(R / S)
                se = math.sqrt(float(((n1 / n) * (n2 / n) * (a + c) - (a / n) * c).sum())
                               / (R * S))
        else:  # RD
            w = float((n1 * (n2 / n)).sum())
            beta = float((a * (n2 / n) - c * (n1 / n)).sum()) / w
            var = (beta * float((c * (n1 / n) ** 2 - a * (n2 / n) ** 2
                                 + (n1 / n) * (n2 / n) * (n2 - n1) / 2).sum())
                   + float((a * (n2 - c) / n + c * (n1 - a) / n).sum()) / 2) / w**2
            se = math.sqrt(var) if var >= 0 else nan
    out.update(estimate=beta, se=se)
    return out


def _breslow_day(a: np.ndarray, n1: np.ndarray, n2: np.ndarray, n: np.ndarray,
                 xt: np.ndarray, yt: np.ndarray, psi: float) -> dict[str, float]:
    """Breslow-Day test and Tarone's (1985) corrected version, as metafor computes them."""
    nan = math.nan
    if math.isnan(psi):
        return dict.fromkeys(TEST_FIELDS[4:], nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        if psi == 1.0:
            n11 = (n1 / n) * xt
        else:
            A = psi * (n1 + xt) + (n2 - xt)
            B = np.sqrt(A**2 - 4 * n1 * xt * psi * (psi - 1))
            n11 = (A - B) / (2 * (psi - 1))
        pos = (n11 > 0) & (xt > 0) & (yt > 0)
        k_pos = int(pos.sum())
        e11 = n11[pos]
        e12 = n1[pos] - e11
        e21 = xt[pos] - e11
        e22 = e11 - n1[pos] - xt[pos] + n[pos]
        inv = 1 / (1 / e11 + 1 / e12 + 1 / e21 + 1 / e22)
        dev = a[pos] - e11
        bd = max(0.0, float((dev**2 / inv).sum()))
        ta = max(0.0, bd - float(dev.sum()) ** 2 / float(inv.sum()))
    df = k_pos - 1  # metafor: p-values need two informative tables
    return dict(breslow_day_statistic=bd, breslow_day_p_value=_chi2_sf(bd, df) if df > 0 else nan,
                tarone_statistic=ta, tarone_p_value=_chi2_sf(ta, df) if df > 0 else nan)


def pool_mh_pt(measure: str, x1: np.ndarray, t1: np.ndarray, x2: np.ndarray, t2: np.ndarray,
               correct: bool = True) -> dict[str, float]:
    """Mantel-Haenszel pooled IRR (log scale, Greenland-Robins variance) or IRD, as metafor."""
    nan = math.nan
    T = t1 + t2
    out: dict[str, float] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "IRR":
            R = float((x1 * (t2 / T)).sum())
            S = float((x2 * (t1 / T)).sum())
            if x1.sum() == 0 or x2.sum() == 0:
                beta = se = nan
            else:
                beta = math.log(R / S)
                se = math.sqrt(float(((t1 / T) * (t2 / T) * (x1 + x2)).sum()) / (R * S))
            xt = x1 + x2
            if xt.sum() == 0:
                mh = nan
            else:
                mh = ((abs(float((x1 - xt * (t1 / T)).sum())) - (0.5 if correct else 0.0)) ** 2
                      / float((xt * (t1 / T) * (t2 / T)).sum()))
            out.update(cmh_statistic=mh, cmh_p_value=_chi2_sf(mh, 1))
        else:  # IRD
            w = float(((t1 / T) * t2).sum())
            beta = float(((x1 * t2 - x2 * t1) / T).sum()) / w
            se = math.sqrt(float((((t1 / T) * t2) ** 2 * (x1 / t1**2 + x2 / t2**2)).sum())) / w
    out.update(estimate=beta, se=se)
    return out


def pool_peto(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> dict[str, float]:
    """Peto's one-step log odds ratio (Yusuf et al. 1985) and its own heterogeneity statistic."""
    n1, n2 = a + b, c + d
    n = n1 + n2
    xt, yt = a + c, b + d
    with np.errstate(divide="ignore", invalid="ignore"):
        e = xt * n1 / n
        v = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
    sum_v = float(v.sum())
    beta = float((a - e).sum()) / sum_v
    pos = v > 0
    q = max(0.0, float(((a - e)[pos] ** 2 / v[pos]).sum())
            - float((a - e).sum()) ** 2 / float(v[pos].sum()))
    return dict(estimate=beta, se=math.sqrt(1 / sum_v), q_peto=q, k_pos=float(pos.sum()))


def q_statistic(yi: np.ndarray, vi: np.ndarray, beta: float) -> tuple[float, int, float, float,
                                                                       float]:
    """metafor's Q test of ``rma.mh``: study estimates around the pooled estimate.

    Returns ``(q, q_df, q_p_value, i2, h2)`` with I^2 in percent. With one estimate metafor
    reports Q = 0, p = 1, I^2 = 0, H^2 = 1.
    """
    ok = ~(np.isnan(yi) | np.isnan(vi))
    y, v = yi[ok], vi[ok]
    k = int(ok.sum())
    if k <= 1:
        return 0.0, 0, 1.0, 0.0, 1.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = float(np.maximum(0.0, np.sum((1 / v) * (y - beta) ** 2)))
    return (q, k - 1, _chi2_sf(q, k - 1)) + _i2_h2(q, k - 1)


def _i2_h2(q: float, df: int) -> tuple[float, float]:
    if math.isnan(q):
        return math.nan, math.nan
    i2 = max(0.0, 100 * (q - df) / q) if q > 0 else 0.0
    return i2, q / df


# -- Result -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MHResult:
    """Result of :func:`mantel_haenszel` or :func:`peto`; every number computed when built.

    ===============================  ==============================================================
    metafor                          acuevidence
    ===============================  ==============================================================
    ``b``, ``se``, ``zval``          ``estimate``, ``se``, ``statistic`` (log scale for ratios;
                                     ``estimate_exp``, ``ci_lower_exp``, ``ci_upper_exp``: ratio)
    ``pval``, ``ci.lb``, ``ci.ub``   ``p_value``, ``ci_lower``, ``ci_upper``
    ``QE``, ``QEp``, ``I2``, ``H2``  ``q``, ``q_p_value``, ``i2`` (percent), ``h2``; ``q_df``
    ``MH``, ``MHp``                  ``cmh_statistic``, ``cmh_p_value`` (OR, IRR)
    ``CO``, ``COp``                  ``cochran_statistic``, ``cochran_p_value`` (OR)
    ``BD``, ``BDp``                  ``breslow_day_statistic``, ``breslow_day_p_value`` (OR)
    ``TA``, ``TAp``                  ``tarone_statistic``, ``tarone_p_value`` (OR)
    ``k``, ``k.yi``, ``k.all``       ``k`` (tables pooled), ``k_yi`` (in Q), ``k_total``
    ===============================  ==============================================================

    ``k`` counts a double-zero table although it carries no information on a ratio, as metafor.
    ``dropped`` lists 0-based rows left out of some part of the analysis, ``dropped_reasons``
    says why; ``yi``/``vi`` are the study-level estimates of the Q test (``NaN`` if left out).
    A quantity the method does not define (Tarone's test for RR) is ``None``; one that these
    data leave undefined (an OR with no events in one arm) is ``NaN`` (``None`` in JSON).
    """

    measure: str
    method: str
    level: float
    estimate: float
    se: float
    statistic: float
    p_value: float
    ci_lower: float
    ci_upper: float
    estimate_exp: float | None
    ci_lower_exp: float | None
    ci_upper_exp: float | None
    q: float
    q_df: int
    q_p_value: float
    i2: float
    h2: float
    k: int
    k_yi: int
    k_total: int
    cmh_statistic: float | None
    cmh_p_value: float | None
    cochran_statistic: float | None
    cochran_p_value: float | None
    breslow_day_statistic: float | None
    breslow_day_p_value: float | None
    tarone_statistic: float | None
    tarone_p_value: float | None
    correct: bool | None
    add: tuple[float, float]
    to: tuple[str, str]
    drop00: tuple[bool, bool]
    dropped: tuple[int, ...]
    dropped_reasons: tuple[str, ...]
    labels: tuple[str, ...]
    yi: tuple[float, ...]
    vi: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-safe Python values (NaN and infinities become ``None``)."""
        return {f.name: json_safe(getattr(self, f.name)) for f in fields(self)}

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy DataFrame of the scalar results (the fields up to ``tarone_p_value``)."""
        return pd.DataFrame([{name: getattr(self, name) for name in SCALARS}], columns=SCALARS)

    def study_frame(self) -> pd.DataFrame:
        """One row per study: label, ``yi``, ``vi`` (of the Q test) and why it was left out."""
        reason = dict(zip(self.dropped, self.dropped_reasons, strict=True))
        return pd.DataFrame({
            "label": list(self.labels), "yi": list(self.yi), "vi": list(self.vi),
            "dropped": [reason.get(i, "") for i in range(self.k_total)],
        })

    def summary(self, fmt: str = "text") -> str:
        """Printable summary as ``"text"``, ``"markdown"`` or ``"html"``."""
        return self._report().render(fmt)

    def __str__(self) -> str:
        return self.summary("text")

    def _report(self) -> Report:
        name = "Mantel-Haenszel" if self.method == "MH" else "Peto"
        rep = Report(f"Fixed-effects model, {name} method ({MEASURE_LABELS[self.measure]})")
        lv, num = f"{100 * self.level:g}%", fmt_number
        rep.add_section("", [("Tables pooled", f"{self.k} of {self.k_total}"),
                             ("Estimates in the Q test", str(self.k_yi)),
                             ("Measure", self.measure), ("Level", lv)])
        scale = " (log scale)" if self.estimate_exp is not None else ""
        lines = [(f"Estimate{scale}", num(self.estimate)), ("SE", num(self.se)),
                 ("z", num(self.statistic)), ("p-value", fmt_p(self.p_value)),
                 (f"{lv} CI", f"[{num(self.ci_lower)}, {num(self.ci_upper)}]")]
        if self.estimate_exp is not None:
            lines += [(f"{self.measure} (exp)", num(self.estimate_exp)),
                      (f"{lv} CI (exp)", f"[{num(self.ci_lower_exp)}, {num(self.ci_upper_exp)}]")]
        rep.add_section("Pooled estimate", lines)
        rep.add_section("Heterogeneity", [
            ("Q", f"{num(self.q)} (df = {self.q_df}), {_p(self.q_p_value)}"),
            ("I^2", f"{num(self.i2, 2)}%"), ("H^2", num(self.h2))])
        tests = [(f"Cochran-Mantel-Haenszel ({'with' if self.correct else 'without'} continuity "
                  "correction)", self.cmh_statistic, self.cmh_p_value),
                 ("Tarone's test for heterogeneity", self.tarone_statistic, self.tarone_p_value)]
        if any(t[1] is not None for t in tests):
            rep.add_section("Tests", [(t, f"{num(x)}, {_p(p)}") for t, x, p in tests
                                      if x is not None])
        for i, why in zip(self.dropped, self.dropped_reasons, strict=True):
            rep.notes.append(f"Study {self.labels[i]} (row {i + 1}): {why}.")
        return rep


def _p(p: float | None) -> str:
    text = fmt_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


#: Scalar fields of :class:`MHResult`: the columns of :meth:`MHResult.to_frame`.
_FIELDS = [f.name for f in fields(MHResult)]
SCALARS = _FIELDS[: _FIELDS.index("correct")]


# -- Input boundary ---------------------------------------------------------------------------

def _pair(value: Any, second: Any, name: str) -> tuple[Any, Any]:
    """metafor's one-or-two-values options: a scalar means (value, default for the tables)."""
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        return value, second
    vals = list(value)
    if len(vals) not in (1, 2):
        raise InputError(f"The '{name}' parameter takes one or two values (the first for the "
                         f"study-level estimates, the second for the tables); got {value!r}.",
                         column=name)
    return vals[0], vals[1] if len(vals) == 2 else second


def _options(add: Any, to: Any, drop00: Any) -> tuple[tuple[float, float], tuple[str, str],
                                                      tuple[bool, bool]]:
    adds = _pair(add, 0.0, "add")
    try:
        add_t = (float(adds[0]), float(adds[1]))
    except (TypeError, ValueError):
        add_t = (math.nan, math.nan)
    if not all(math.isfinite(x) and x >= 0 for x in add_t):
        raise InputError(f"The 'add' parameter must be one or two finite numbers >= 0; got "
                         f"{add!r} instead.", column="add")
    to_t = _pair(to, "none", "to")
    if any(t not in TO_OPTIONS for t in to_t):
        raise InputError(f"The 'to' parameter must be one of {', '.join(TO_OPTIONS)}; got "
                         f"{to!r} instead.", column="to")
    d_t = _pair(drop00, False, "drop00")
    if not all(isinstance(x, bool | np.bool_) for x in d_t):
        raise InputError(f"The 'drop00' parameter must be True or False (or two of them); got "
                         f"{drop00!r} instead.", column="drop00")
    return add_t, (str(to_t[0]), str(to_t[1])), (bool(d_t[0]), bool(d_t[1]))


def _frame(data: Any) -> pd.DataFrame | None:
    return data if data is None or isinstance(data, pd.DataFrame) else pd.DataFrame(data)


def _resolve(measure: str, data: Any, given: dict[str, Any],
             aliases: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Map aliases to metafor names; return {name: (name to show, values)} of given inputs."""
    pt = measure in MEASURES_PT
    alias_map = ALIASES_PT if pt else ALIASES_2X2
    own = ("x1i", "t1i", "x2i", "t2i") if pt else ("ai", "bi", "ci", "di", "n1i", "n2i")
    unknown = sorted(set(aliases) - set(alias_map))
    if unknown:
        raise InputError(f"Unknown argument(s) {', '.join(map(repr, unknown))} for measure "
                         f"{measure!r}; use {', '.join(list(own) + sorted(alias_map))}.",
                         column=unknown[0])
    stray = [n for n, v in given.items() if v is not None and n not in own]
    if stray:
        raise InputError(f"Argument(s) {', '.join(stray)} do not apply to measure {measure!r}, "
                         f"which needs {', '.join(own)}.", column=stray[0])
    out = {n: (n, v) for n, v in given.items() if v is not None}
    for alias, value in aliases.items():
        if value is not None:
            if alias_map[alias] in out:
                raise InputError(f"Both '{alias}' and '{alias_map[alias]}' were given; they mean "
                                 "the same thing, give only one.", column=alias)
            out[alias_map[alias]] = (alias, value)
    frame = _frame(data)
    for name, (shown, value) in list(out.items()):
        if isinstance(value, str):
            if frame is None:
                raise InputError(f"'{shown}' names column '{value}', but no data were given; "
                                 "pass data=<DataFrame> or the values themselves.", column=shown)
            if value not in frame.columns:
                raise InputError(f"'{shown}' refers to column '{value}', which is not in the "
                                 f"data; available columns: "
                                 f"{', '.join(map(str, frame.columns))}.", column=shown)
            out[name] = (value, frame[value])
    return out


def _cells(measure: str, resolved: dict[str, tuple[str, Any]]) -> list[np.ndarray]:
    """Validated cells: (ai, bi, ci, di) for 2x2 tables, (x1i, t1i, x2i, t2i) for person-time."""
    pt = measure in MEASURES_PT
    need = [("x1i",), ("t1i",), ("x2i",), ("t2i",)] if pt else [("ai",), ("bi", "n1i"), ("ci",),
                                                                ("di", "n2i")]
    missing = [" or ".join(alts) for alts in need if not any(a in resolved for a in alts)]
    if missing:
        hint = ("x1i, t1i, x2i, t2i (aliases events_1, time_1, events_2, time_2)" if pt else
                "ai, bi, ci, di or ai, n1i, ci, n2i (aliases events_1, nonevents_1 or n_1, "
                "events_2, nonevents_2 or n_2)")
        raise InputError(f"Missing {', '.join(missing)}: measure {measure!r} needs {hint}.",
                         column=missing[0].split()[0])
    arr = {n: as_float_array(v, shown) for n, (shown, v) in resolved.items()}
    shown = {n: s for n, (s, _) in resolved.items()}
    lengths = {shown[n]: a.shape[0] for n, a in arr.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{n}={m}" for n, m in lengths.items())
        raise InputError(f"Arguments have different lengths ({desc}); give one value per study "
                         "for each.", column=next(iter(lengths)))
    if next(iter(lengths.values())) == 0:
        raise InputError("No studies were given; at least one is needed.", column=shown[need[0][0]])
    for n in arr:
        if n in ("t1i", "t2i"):
            check_positive(arr[n], shown[n], "(person-time) must be positive")
        else:
            check_nonnegative(arr[n], shown[n])
    if pt:
        return [arr["x1i"], arr["t1i"], arr["x2i"], arr["t2i"]]
    cells = []
    for ev, non, tot in (("ai", "bi", "n1i"), ("ci", "di", "n2i")):
        e = arr[ev]
        if tot in arr:
            over = np.flatnonzero(e > arr[tot]).tolist()
            if over:
                raise InputError(
                    f"'{shown[ev]}' exceeds the group size '{shown[tot]}' in row(s) "
                    f"{format_rows(over)} ({e[over[0]]:g} > {arr[tot][over[0]]:g}); events "
                    "cannot outnumber participants: check both columns.", column=shown[ev],
                    rows=over)
            if non in arr:
                bad = np.flatnonzero(np.abs(e + arr[non] - arr[tot]) > 1e-8).tolist()
                if bad:
                    raise InputError(
                        f"'{shown[tot]}' is not '{shown[ev]}' + '{shown[non]}' in row(s) "
                        f"{format_rows(bad)}; give either the non-events or the group size, or "
                        "correct them.", column=shown[tot], rows=bad)
        cells += [e, arr[non] if non in arr else arr[tot] - e]
        empty = np.flatnonzero(cells[-2] + cells[-1] == 0).tolist()
        if empty:
            col = shown[tot] if tot in arr else shown[non]
            raise InputError(f"Group {1 if ev == 'ai' else 2} has no participants in row(s) "
                             f"{format_rows(empty)} ('{shown[ev]}' and '{col}' are 0); remove "
                             "those studies or correct their counts.", column=col, rows=empty)
    return cells


def _labels(slab: Any, data: Any, k: int) -> tuple[str, ...]:
    if slab is None:
        return tuple(str(i + 1) for i in range(k))
    frame = _frame(data)
    if isinstance(slab, str) and frame is not None:
        if slab not in frame.columns:
            raise InputError(f"'slab' refers to column '{slab}', which is not in the data.",
                             column="slab")
        slab = frame[slab]
    labels = [str(s) for s in (slab.tolist() if hasattr(slab, "tolist") else list(slab))]
    if len(labels) != k:
        raise InputError(f"'slab' has {len(labels)} labels for {k} studies; give one per study.",
                         column="slab")
    return tuple(labels)


# -- Public API -------------------------------------------------------------------------------

def mantel_haenszel(
    measure: str = "OR",
    data: pd.DataFrame | Mapping[str, Any] | None = None,
    *,
    ai: Any = None, bi: Any = None, ci: Any = None, di: Any = None,
    n1i: Any = None, n2i: Any = None,
    x1i: Any = None, x2i: Any = None, t1i: Any = None, t2i: Any = None,
    add: float | Sequence[float] = 0.5,
    to: str | Sequence[str] = "only0",
    drop00: bool | Sequence[bool] = True,
    level: float = 0.95,
    correct: bool = True,
    slab: Any = None,
    **aliases: Any,
) -> MHResult:
    """Mantel-Haenszel fixed-effect pooling of 2x2 tables or person-time data (metafor ``rma.mh``).

    Parameters
    ----------
    measure : {"OR", "RR", "RD", "IRR", "IRD"}
        Odds ratio, risk ratio, risk difference (2x2 tables), incidence rate ratio or difference
        (events and person-time).
    data : DataFrame or mapping, optional
        When given, string arguments name its columns.
    ai, bi, ci, di : array-like or str
        Events and non-events in group 1 (``ai``, ``bi``) and group 2 (``ci``, ``di``); ``bi`` and
        ``di`` may be replaced by the group sizes ``n1i``, ``n2i``. Aliases: ``events_1``,
        ``nonevents_1``, ``events_2``, ``nonevents_2``, ``n_1``, ``n_2``.
    x1i, t1i, x2i, t2i : array-like or str
        Events and person-time per group (IRR, IRD). Aliases: ``events_1``, ``time_1``,
        ``events_2``, ``time_2``.
    add, to, drop00
        As metafor, one or two values. The first applies to the study-level estimates of the Q
        test (default: 0.5 added to all cells of studies with a zero cell, double-zero studies
        left out); the second to the tables pooled (default: nothing added, nothing dropped).
        ``to`` is one of ``"only0"``, ``"all"``, ``"if0all"``, ``"none"``.
    level : float
        Confidence level, in (0, 1) (or a percentage, as metafor).
    correct : bool
        Continuity correction of the Cochran-Mantel-Haenszel test (OR, IRR).
    slab : array-like or str, optional
        Study labels for summaries and messages.

    Returns
    -------
    MHResult

    Raises
    ------
    InputError
        Negative or missing counts, events above group size, unequal lengths, non-numeric
        values, an unknown measure or option, or no estimable table (every study without events
        for a ratio measure).

    Warns
    -----
    ZeroCellWarning
        When double-zero studies are left out or continuity corrections are applied.

    Notes
    -----
    Variances: Robins, Breslow & Greenland (1986) for OR, Greenland & Robins (1985) for RR, IRR,
    IRD, Sato, Greenland & Robins (1989) for RD, all as metafor. Tarone (1985) tests the OR's
    homogeneity; Q uses the study estimates with inverse-variance weights around the MH estimate.

    References
    ----------
    Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748.
    Robins J, Breslow N, Greenland S (1986). Biometrics 42:311-323.
    Greenland S, Robins JM (1985). Biometrics 41:55-68.
    Sato T, Greenland S, Robins JM (1989). Biometrics 45:1323-1324.
    Sato T (1990). Biometrics 46:71-80.
    Tarone RE (1985). Biometrika 72:91-95.
    Viechtbauer W (2010). J Stat Softw 36(3). (metafor)

    Examples
    --------
    >>> res = mantel_haenszel("OR", ai=[4, 6], n1i=[123, 306], ci=[11, 29], n2i=[139, 303])
    >>> round(res.estimate_exp, 3)
    0.241
    """
    m = str(measure).upper() if isinstance(measure, str) else measure
    if m not in MEASURES:
        hint = " For Peto's odds ratio call peto()." if m == "PETO" else ""
        raise InputError(f"Unknown measure {measure!r}; choose one of "
                         f"{', '.join(MEASURES)}.{hint}", column="measure")
    level = check_level(level)
    if not isinstance(correct, bool | np.bool_):
        raise InputError(f"The 'correct' parameter must be True or False; got {correct!r}.",
                         column="correct")
    add_t, to_t, drop_t = _options(add, to, drop00)
    given = dict(ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, x1i=x1i, x2i=x2i, t1i=t1i, t2i=t2i)
    cells = _cells(m, _resolve(m, data, given, aliases))
    return _fit(m, "MH", cells, add_t, to_t, drop_t, level, bool(correct),
                _labels(slab, data, cells[0].shape[0]))


def peto(
    data: pd.DataFrame | Mapping[str, Any] | None = None,
    *,
    ai: Any = None, bi: Any = None, ci: Any = None, di: Any = None,
    n1i: Any = None, n2i: Any = None,
    add: float | Sequence[float] = 0.5,
    to: str | Sequence[str] = "only0",
    drop00: bool | Sequence[bool] = True,
    level: float = 0.95,
    slab: Any = None,
    **aliases: Any,
) -> MHResult:
    """Peto's one-step pooled log odds ratio of 2x2 tables (metafor ``rma.peto``).

    Parameters
    ----------
    data, ai, bi, ci, di, n1i, n2i, add, to, drop00, level, slab
        As :func:`mantel_haenszel`. ``add``/``to``/``drop00`` matter for the study-level
        estimates (``yi``/``vi``, and ``k_yi``, the degrees of freedom of Q) and, by their second
        value, for the tables pooled.

    Returns
    -------
    MHResult
        ``method == "Peto"``, ``measure == "PETO"``; Q is Peto's own statistic
        ``sum((O - E)^2 / V) - (sum(O - E))^2 / sum(V)`` over the informative tables, with
        ``k_yi - 1`` degrees of freedom, as metafor.

    Raises
    ------
    InputError
        As :func:`mantel_haenszel`; also when one of the two outcomes occurs in no table.

    References
    ----------
    Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Prog Cardiovasc Dis 27:335-371.
    Viechtbauer W (2010). J Stat Softw 36(3). (metafor)
    """
    level = check_level(level)
    add_t, to_t, drop_t = _options(add, to, drop00)
    given = dict(ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i)
    cells = _cells("PETO", _resolve("PETO", data, given, aliases))
    return _fit("PETO", "Peto", cells, add_t, to_t, drop_t, level, None,
                _labels(slab, data, cells[0].shape[0]))


def _fit(measure: str, method: str, cells: list[np.ndarray],
         add: tuple[float, float], to: tuple[str, str], drop00: tuple[bool, bool],
         level: float, correct: bool | None, labels: tuple[str, ...]) -> MHResult:
    """Shared path of both public functions, on validated arrays."""
    k_total = cells[0].shape[0]
    yi, vi, drop_yi, corr_yi = study_effects(measure, cells, add[0], to[0], drop00[0])
    undefined_yi = np.isnan(yi) & ~drop_yi
    drop_tab = zero_rows(measure, cells) if drop00[1] else np.zeros(k_total, dtype=bool)
    keep = ~drop_tab
    if not keep.any():
        raise InputError(
            "k = 0 after dropping double-zero studies: all studies have zero events in both arms "
            "(or events in every participant); keep them in the tables with drop00=(True, False) "
            "and use measure='RD'.", column="drop00", rows=list(range(k_total)))
    tab, corr_tab = add_to_cells(measure, [c[keep] for c in cells], np.ones(int(keep.sum()), bool),
                                 add[1], to[1])
    _check_estimable(measure, tab, k_total)
    if measure == "PETO":
        pooled = pool_peto(*tab)
    elif measure in MEASURES_PT:
        pooled = pool_mh_pt(measure, *tab, correct=bool(correct))
    else:
        pooled = pool_mh_2x2(measure, *tab, correct=bool(correct))
    beta, se = pooled["estimate"], pooled["se"]
    z, p, lo, hi = _z_inference(beta, se, level)
    k_yi = int((~np.isnan(yi)).sum())
    if measure == "PETO":
        q = pooled["q_peto"]
        q_df, q_p, i2, h2 = 0, 1.0, 0.0, 1.0  # metafor, with fewer than 2 informative tables
        if pooled["k_pos"] > 1 and k_yi > 1:
            q_df, q_p = k_yi - 1, _chi2_sf(q, k_yi - 1)
            i2, h2 = _i2_h2(q, q_df)
    else:
        q, q_df, q_p, i2, h2 = q_statistic(yi, vi, beta)
    if math.isnan(beta):
        warnings.warn(f"The MH {MEASURE_LABELS[measure]} is undefined: one arm has no events "
                      "(or, for OR, only events) in every study; use measure='RD' (or 'IRD').",
                      ZeroCellWarning, stacklevel=3)
    corr_full = np.zeros(k_total, dtype=bool)
    corr_full[np.flatnonzero(keep)[corr_tab]] = True
    dropped, reasons = _report_zero_cells(measure, drop_yi, undefined_yi, drop_tab, corr_yi,
                                          corr_full, add, to)
    tests = {n: float(pooled[n]) if n in pooled else None for n in TEST_FIELDS}
    with np.errstate(over="ignore"):
        exp = [float(np.exp(x)) if measure in RATIO_MEASURES else None for x in (beta, lo, hi)]
    return MHResult(
        measure=measure, method=method, level=level, estimate=float(beta), se=float(se),
        statistic=z, p_value=p, ci_lower=float(lo), ci_upper=float(hi), estimate_exp=exp[0],
        ci_lower_exp=exp[1], ci_upper_exp=exp[2], q=float(q), q_df=int(q_df),
        q_p_value=float(q_p), i2=float(i2), h2=float(h2), k=int(keep.sum()), k_yi=k_yi,
        k_total=k_total, **tests, correct=correct, add=add, to=to, drop00=drop00,
        dropped=tuple(dropped), dropped_reasons=tuple(reasons), labels=labels,
        yi=tuple(float(x) for x in yi), vi=tuple(float(x) for x in vi),
    )


def _check_estimable(measure: str, tab: list[np.ndarray], k_total: int) -> None:
    """Raise where metafor would stop, or return NA because no table carries information."""
    if measure in ("RD", "IRD"):
        return
    alt = {"IRR": "measure='IRD'", "PETO": "mantel_haenszel(measure='RD')"}.get(measure,
                                                                              "measure='RD'")
    rows = list(range(k_total))
    if float((tab[0] + tab[2]).sum()) == 0:
        raise InputError(f"All studies have zero events in both arms, so no {measure} can be "
                         f"estimated (k = 0 after dropping double-zero studies); use {alt}, "
                         "which uses them.", column="x1i" if measure == "IRR" else "ai", rows=rows)
    if measure in ("OR", "PETO") and float((tab[1] + tab[3]).sum()) == 0:
        raise InputError(f"Every participant of every study had the event, so no {measure} can "
                         f"be estimated; use {alt}.", column="bi", rows=rows)
    if measure == "PETO":
        a, b, c, d = tab
        n = a + b + c + d
        with np.errstate(divide="ignore", invalid="ignore"):
            v = (a + c) * (b + d) * ((a + b) / n) * ((c + d) / n) / (n - 1)
        if not float(np.nansum(v)) > 0:
            raise InputError("No table has both outcomes (each has no events or only events), "
                             f"so Peto's method cannot be used; use {alt}.", column="ai",
                             rows=rows)


def _report_zero_cells(
    measure: str, drop_yi: np.ndarray, undefined_yi: np.ndarray, drop_tab: np.ndarray,
    corr_yi: np.ndarray, corr_tab: np.ndarray, add: tuple[float, float], to: tuple[str, str],
) -> tuple[list[int], list[str]]:
    """Warn (one ZeroCellWarning) about dropped and corrected rows; return (rows, reasons)."""
    what = "no events in either arm" if measure in MEASURES_PT else "double-zero study"
    notes = [
        (drop_tab, f"{what}: left out of the pooled estimate (drop00)"),
        (drop_yi, f"{what}: no study-level estimate, left out of the heterogeneity test"),
        (undefined_yi, f"study-level estimate undefined (zero cells, to={to[0]!r}): left out of "
         "the heterogeneity test"),
        (corr_yi, f"{add[0]:g} added to the cells for the study-level estimates (to={to[0]!r})"),
        (corr_tab, f"{add[1]:g} added to the cells of the pooled tables (to={to[1]!r})"),
    ]
    msgs = [f"Row(s) {format_rows(np.flatnonzero(m).tolist())}: {t}." for m, t in notes if m.any()]
    if msgs:
        warnings.warn(" ".join(msgs), ZeroCellWarning, stacklevel=4)
    dropped = np.flatnonzero(drop_tab | drop_yi | undefined_yi).tolist()
    reasons = ["; ".join(t for m, t in notes[:3] if m[i]) for i in dropped]
    return dropped, reasons
