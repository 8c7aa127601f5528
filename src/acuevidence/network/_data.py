"""Input of a network meta-analysis: contrasts or arms in, validated basic contrasts out.

Every study ends up as its *basic contrasts*: each of its arms against the study's baseline arm
(the arm whose treatment comes first in the network's treatment order), with the full
covariance matrix of those contrasts. This is the parametrisation of metafor's contrast-based
``rma.mv`` model; netmeta's all-pairs form with reduced weights (Rücker 2012) is the same model.

Accepted inputs
---------------
* **Contrasts** (``study, treat1, treat2, estimate, se``), ``estimate`` = effect of ``treat1``
  minus effect of ``treat2`` (netmeta's ``TE``). A multi-arm study is given as *all* its
  k(k-1)/2 pairs; the covariance of its contrasts then follows from the pairwise variances alone
  (``cov(y_ij, y_kl) = (v_il + v_jk - v_ik - v_jl) / 2``, the identity behind Rücker's
  electrical-network representation), and its estimates must add up around every loop
  (``TE_AB + TE_BC = TE_AC`` within ``tol_multiarm``). Alternatively pass ``cov``: the
  block-diagonal covariance matrix of the rows (metafor's ``V``); each multi-arm study then gives
  k - 1 contrasts that connect its arms.
* **Arms** (``study, treatment, n`` and ``events`` or ``mean``/``sd``): the basic contrasts are
  computed with :func:`acuevidence.effect_sizes` (metafor's ``escalc``) and their covariance is
  the variance of the shared baseline arm (Gleser & Olkin 2009): ``sd_b^2 / n_b`` (MD),
  ``1/x_b + 1/(n_b - x_b)`` (log OR), ``1/x_b - 1/n_b`` (log RR), ``p_b (1 - p_b) / n_b`` (RD),
  and for SMD ``1/n_b + g_j g_l / (2 N)`` with N the study's total sample size.

References
----------
Rücker G (2012). Network meta-analysis, electrical networks and graph theory. Res Synth Methods
    3:312-324.
Gleser LJ, Olkin I (2009). Stochastically dependent effect sizes. In: Cooper H, Hedges LV,
    Valentine JC (eds), The Handbook of Research Synthesis and Meta-Analysis, 2nd ed., 357-376.
Salanti G, Higgins JPT, Ades AE, Ioannidis JPA (2008). Evaluation of networks of randomized
    trials. Stat Methods Med Res 17:279-301.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._validate import as_float_array, check_positive, format_rows, resolve_column
from ..errors import InputError, ZeroCellWarning

__all__ = ["ARM_MEASURES", "NetworkData", "components", "from_arms", "from_contrasts"]

ARM_MEASURES = ("MD", "SMD", "OR", "RR", "RD")
BINARY = ("OR", "RR", "RD")
# netmeta's default tolerance for the loop check of multi-arm studies (tol.multiarm = 0.001).
TOL_MULTIARM = 1e-3
# Relative tolerance for the diagonal of a user-given covariance against the given SEs.
TOL_COV_DIAG = 1e-8


@dataclass(frozen=True, eq=False)
class NetworkData:
    """Validated network: basic contrasts of every study with their covariance.

    ``row_study[r]``, ``row_treat[r]``, ``row_base[r]`` give study and treatment indices of basic
    contrast r (``y[r]`` = effect of ``row_treat`` minus effect of ``row_base``); ``V`` is the
    block-diagonal covariance; ``study_arms[s]`` the treatment indices of study s, baseline first;
    ``arm_n[s]`` the participants per arm (NaN where unknown).
    """

    treatments: tuple[str, ...]
    studies: tuple[str, ...]
    row_study: np.ndarray
    row_treat: np.ndarray
    row_base: np.ndarray
    y: np.ndarray
    V: np.ndarray
    study_arms: tuple[tuple[int, ...], ...]
    arm_n: tuple[tuple[float, ...], ...]
    measure: str | None
    input_kind: str
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("row_study", "row_treat", "row_base", "y", "V"):
            a = np.array(getattr(self, name), copy=True)
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    @property
    def n_rows(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_treatments(self) -> int:
        return len(self.treatments)

    def design_of(self, s: int) -> tuple[int, ...]:
        """Sorted treatment indices of study s (its design)."""
        return tuple(sorted(self.study_arms[s]))

    def design_label(self, s: int) -> str:
        return ":".join(self.treatments[t] for t in self.design_of(s))

    def K(self) -> np.ndarray:
        """Structure of the random effects: tau^2 * K is their covariance.

        Each arm of a study carries an independent random effect of variance tau^2 / 2, so a
        contrast has variance tau^2 and two contrasts of one study sharing the baseline arm
        have covariance tau^2 / 2 (rma.mv's ``random = ~ comp | study, rho = 1/2``).
        """
        same = self.row_study[:, None] == self.row_study[None, :]
        t, b = self.row_treat, self.row_base
        k = 0.5 * ((t[:, None] == t[None, :]).astype(float) - (t[:, None] == b[None, :])
                   - (b[:, None] == t[None, :]) + (b[:, None] == b[None, :]))
        return np.where(same, k, 0.0)

    def participants(self) -> np.ndarray:
        """Participants per treatment over all studies (NaN when some arm's n is unknown)."""
        out = np.zeros(self.n_treatments)
        for arms, ns in zip(self.study_arms, self.arm_n, strict=True):
            for t, n in zip(arms, ns, strict=True):
                out[t] += n
        return out

    def study_counts(self) -> np.ndarray:
        """Number of studies comparing each pair directly (T x T, symmetric)."""
        T = self.n_treatments
        out = np.zeros((T, T), dtype=int)
        for arms in self.study_arms:
            for i, a in enumerate(arms):
                for b in arms[i + 1:]:
                    out[a, b] += 1
                    out[b, a] += 1
        return out


# ---------------------------------------------------------------------------------------------
# Shared checks
# ---------------------------------------------------------------------------------------------
def _labels(value: Any, data: pd.DataFrame | None, name: str) -> list[str]:
    value = resolve_column(value, data, name)
    if isinstance(value, str) or value is None:
        raise InputError(
            f"'{name}' must be a column of 'data' or one label per row; got {value!r}. Pass "
            f"data= with a column named {value!r}, or the labels themselves.", column=name)
    raw = list(value.tolist() if hasattr(value, "tolist") else value)
    bad = [i for i, v in enumerate(raw)
           if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == ""]
    if bad:
        raise InputError(f"'{name}' is missing in row(s) {format_rows(bad)}; every row needs a "
                         "label.", column=name, rows=bad)
    return [str(v).strip() for v in raw]


def _order(found: Sequence[str], treatments: Sequence[str] | None) -> tuple[str, ...]:
    if treatments is None:
        return tuple(sorted(set(found)))
    order = [str(t) for t in treatments]
    if len(set(order)) != len(order):
        raise InputError("'treatments' lists a treatment twice; give each label once.",
                         column="treatments")
    unknown = sorted(set(found) - set(order))
    if unknown:
        raise InputError(
            f"'treatments' leaves out {', '.join(map(repr, unknown))}, which the data use; list "
            f"every treatment of the network: {', '.join(sorted(set(found)))}.",
            column="treatments")
    extra = sorted(set(order) - set(found))
    if extra:
        raise InputError(
            f"'treatments' names {', '.join(map(repr, extra))}, which no study has; the network's "
            f"treatments are {', '.join(sorted(set(found)))}.", column="treatments")
    return tuple(order)


def components(n_treatments: int, study_arms: Sequence[Sequence[int]]) -> list[list[int]]:
    """Connected components of the network (lists of treatment indices, sorted)."""
    parent = list(range(n_treatments))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for arms in study_arms:
        for t in arms[1:]:
            ra, rb = find(arms[0]), find(t)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for t in range(n_treatments):
        groups.setdefault(find(t), []).append(t)
    return sorted(groups.values(), key=lambda g: g[0])


def _check_connected(treatments: tuple[str, ...], studies: Sequence[str],
                     study_arms: Sequence[Sequence[int]]) -> None:
    comps = components(len(treatments), study_arms)
    if len(comps) <= 1:
        return
    parts = []
    for i, comp in enumerate(comps, 1):
        members = set(comp)
        studs = [s for s, arms in zip(studies, study_arms, strict=True) if arms[0] in members]
        shown = ", ".join(studs[:6]) + (f" and {len(studs) - 6} more" if len(studs) > 6 else "")
        parts.append(f"sub-network {i}: treatments {', '.join(treatments[t] for t in comp)} "
                     f"(studies {shown})")
    raise InputError(
        "The network is disconnected; no study links these sub-networks, so their treatments "
        "cannot be compared: " + "; ".join(parts) + ". Analyse each sub-network separately, or "
        "add studies that connect them.", column="treatments")


def _check_treatments(treatments: tuple[str, ...]) -> None:
    if len(treatments) < 2:
        raise InputError(
            f"A network needs at least 2 treatments; the data have {len(treatments)} "
            f"({', '.join(treatments) or 'none'}).", column="treatments")


# ---------------------------------------------------------------------------------------------
# Contrasts
# ---------------------------------------------------------------------------------------------
def from_contrasts(data: pd.DataFrame | None, *, study: Any, treat1: Any, treat2: Any,
                   estimate: Any, se: Any, cov: Any = None, n1: Any = None, n2: Any = None,
                   treatments: Sequence[str] | None = None, measure: str | None = None,
                   tol_multiarm: float = TOL_MULTIARM) -> NetworkData:
    """Validate contrast rows (one per pair of arms) and turn them into basic contrasts."""
    stud = _labels(study, data, "study")
    t1 = _labels(treat1, data, "treat1")
    t2 = _labels(treat2, data, "treat2")
    y_in = as_float_array(resolve_column(estimate, data, "estimate"), "estimate")
    m = len(stud)
    if cov is not None:
        C = np.asarray(cov, dtype=float)
        if C.shape != (m, m):
            raise InputError(f"'cov' must be a {m} x {m} matrix (one row and column per contrast "
                             f"row); got shape {C.shape}.", column="cov")
        if not np.all(np.isfinite(C)):
            raise InputError("'cov' has missing or infinite entries.", column="cov")
        if not np.allclose(C, C.T, rtol=1e-10, atol=1e-12):
            raise InputError("'cov' is not symmetric.", column="cov")
        v_in = np.diag(C).copy()
        if se is not None and not (isinstance(se, str) and data is not None
                                   and se not in data.columns):
            s_arr = as_float_array(resolve_column(se, data, "se"), "se")
            if s_arr.shape[0] == m and not np.allclose(s_arr ** 2, v_in, rtol=TOL_COV_DIAG):
                bad = np.flatnonzero(~np.isclose(s_arr ** 2, v_in, rtol=TOL_COV_DIAG)).tolist()
                raise InputError(f"'se' squared differs from the diagonal of 'cov' in row(s) "
                                 f"{format_rows(bad)}; give one of them, or make them agree.",
                                 column="se", rows=bad)
    else:
        s_arr = as_float_array(resolve_column(se, data, "se"), "se")
        check_positive(s_arr, "se", "must be positive (a standard error of 0 would give the row "
                       "infinite weight)")
        C = None
        v_in = s_arr ** 2
    for name, arr in (("treat1", t1), ("treat2", t2), ("estimate", y_in), ("se", v_in)):
        if len(arr) != m:
            raise InputError(f"'{name}' has {len(arr)} values but 'study' has {m}; give one "
                             "value per contrast row.", column=name)
    if C is not None:
        check_positive(v_in, "cov", "must have a positive diagonal (a variance of 0 would give "
                       "the row infinite weight)")
    same = [i for i in range(m) if t1[i] == t2[i]]
    if same:
        i = same[0]
        raise InputError(
            f"Row(s) {format_rows(same)} compare a treatment with itself (study {stud[i]!r}: "
            f"{t1[i]!r} vs {t2[i]!r}). A contrast needs two different treatments; merge arms of "
            "the same treatment before the analysis.", column="treat2", rows=same)
    n1a = (as_float_array(resolve_column(n1, data, "n1"), "n1", allow_nan=True)
           if n1 is not None else np.full(m, np.nan))
    n2a = (as_float_array(resolve_column(n2, data, "n2"), "n2", allow_nan=True)
           if n2 is not None else np.full(m, np.nan))
    tr = _order(t1 + t2, treatments)
    _check_treatments(tr)
    index = {t: i for i, t in enumerate(tr)}
    studies = tuple(dict.fromkeys(stud))
    by_study: dict[str, list[int]] = {s: [] for s in studies}
    for i, s in enumerate(stud):
        by_study[s].append(i)
    if C is not None:
        off = np.ones((m, m), dtype=bool)
        for rows in by_study.values():
            off[np.ix_(rows, rows)] = False
        if np.any(np.abs(C[off]) > 0):
            r, c = np.argwhere(off & (np.abs(C) > 0))[0]
            raise InputError(
                f"'cov' links rows {r + 1} and {c + 1} of different studies ({stud[r]!r}, "
                f"{stud[c]!r}); contrasts of different studies are independent, so 'cov' must "
                "be block-diagonal by study.", column="cov", rows=[int(r), int(c)])

    row_study, row_treat, row_base, ys, blocks, arms_all, n_all = [], [], [], [], [], [], []
    for s_idx, s in enumerate(studies):
        rows = by_study[s]
        pairs = [(index[t1[i]], index[t2[i]]) for i in rows]
        seen: dict[frozenset[int], int] = {}
        for i, p in zip(rows, pairs, strict=True):
            key = frozenset(p)
            if key in seen:
                raise InputError(
                    f"Study {s!r} gives the comparison {t1[i]} vs {t2[i]} twice (rows "
                    f"{seen[key] + 1} and {i + 1}); give each pair of arms once (pool or choose "
                    "one result).", column="study", rows=[seen[key], i])
            seen[key] = i
        arms = sorted({t for p in pairs for t in p})
        k = len(arms)
        pos = {t: j for j, t in enumerate(arms)}
        D = np.zeros((len(rows), k))
        for r, (a, b) in enumerate(pairs):
            D[r, pos[a]], D[r, pos[b]] = 1.0, -1.0
        y_s = y_in[rows]
        if np.linalg.matrix_rank(D) != k - 1:
            raise InputError(
                f"The contrasts of study {s!r} (rows {format_rows(rows)}) do not connect all its "
                f"arms ({', '.join(tr[t] for t in arms)}); give every pair of a multi-arm study, "
                "or k - 1 contrasts that link its arms together with 'cov'.",
                column="study", rows=rows)
        # Basic contrasts: every arm against the baseline (first arm in treatment order).
        B = np.zeros((k - 1, k))
        B[:, 0] = -1.0
        B[np.arange(k - 1), np.arange(1, k)] = 1.0
        if C is not None:
            if len(rows) != k - 1:
                raise InputError(
                    f"Study {s!r} has {k} arms and {len(rows)} contrast rows; with 'cov' give "
                    f"k - 1 = {k - 1} contrasts that connect its arms (all pairs would make the "
                    "covariance matrix singular).", column="cov", rows=rows)
            M = B @ np.linalg.pinv(D)
            yb = M @ y_s
            Vb = M @ C[np.ix_(rows, rows)] @ M.T
        else:
            if k > 2 and len(rows) != k * (k - 1) // 2:
                missing = [f"{tr[arms[a]]} vs {tr[arms[b]]}" for a in range(k)
                           for b in range(a + 1, k) if frozenset((arms[a], arms[b])) not in seen]
                raise InputError(
                    f"Multi-arm study {s!r} ({k} arms: {', '.join(tr[t] for t in arms)}) gives "
                    f"{len(rows)} of its {k * (k - 1) // 2} pairs (missing: "
                    f"{', '.join(missing)}). Give all pairs, the arm-level data, or k - 1 "
                    "contrasts with their covariance matrix 'cov'.", column="study", rows=rows)
            theta, *_ = np.linalg.lstsq(D, y_s, rcond=None)
            resid = y_s - D @ theta
            if k > 2 and np.max(np.abs(resid)) > tol_multiarm:
                raise InputError(_loop_message(s, rows, pairs, y_s, tr, tol_multiarm),
                                 column="estimate", rows=rows)
            yb = B @ theta
            R = np.zeros((k, k))
            for r, (a, b) in enumerate(pairs):
                R[pos[a], pos[b]] = R[pos[b], pos[a]] = v_in[rows[r]]
            # cov(y_0j, y_0l) = (v_0j + v_0l - v_jl) / 2
            Vb = 0.5 * (R[0, 1:][:, None] + R[0, 1:][None, :] - R[1:, 1:])
            np.fill_diagonal(Vb, R[0, 1:])
        _check_pd(Vb, s, rows)
        for j in range(1, k):
            row_study.append(s_idx)
            row_treat.append(arms[j])
            row_base.append(arms[0])
        ys.append(yb)
        blocks.append(Vb)
        arms_all.append(tuple(arms))
        n_all.append(_arm_n(arms, rows, pairs, n1a, n2a))
    _check_connected(tr, studies, arms_all)
    return NetworkData(
        treatments=tr, studies=studies, row_study=np.array(row_study, dtype=int),
        row_treat=np.array(row_treat, dtype=int), row_base=np.array(row_base, dtype=int),
        y=np.concatenate(ys), V=_block_diag(blocks), study_arms=tuple(arms_all),
        arm_n=tuple(n_all), measure=measure, input_kind="contrasts")


def _loop_message(s: str, rows: list[int], pairs: list[tuple[int, int]], y: np.ndarray,
                  tr: tuple[str, ...], tol: float) -> str:
    lookup = {p: y[r] for r, p in enumerate(pairs)}
    lookup.update({(b, a): -v for (a, b), v in list(lookup.items())})
    arms = sorted({t for p in pairs for t in p})
    for i, a in enumerate(arms):
        for j, b in enumerate(arms[i + 1:], i + 1):
            for c in arms[j + 1:]:
                lhs = lookup[(a, b)] + lookup[(b, c)]
                if abs(lhs - lookup[(a, c)]) > tol:
                    return (f"Multi-arm study {s!r} is inconsistent: TE({tr[a]} vs {tr[b]}) + "
                            f"TE({tr[b]} vs {tr[c]}) = {lhs:.6g}, but TE({tr[a]} vs {tr[c]}) = "
                            f"{lookup[(a, c)]:.6g} (difference {lhs - lookup[(a, c)]:.3g}, "
                            f"tolerance {tol:g}). Estimates of one study must add up around "
                            "every loop; check signs and arm order (TE = treat1 minus treat2), "
                            "or give the arm-level data.")
    return (f"Multi-arm study {s!r} (rows {format_rows(rows)}): its contrasts do not add up "
            f"within {tol:g}; check signs and arm order.")


_PD_HINT = {
    "contrasts": ("For a multi-arm study given as all pairs, the variances of its contrasts are "
                  "incompatible (one pair's variance exceeds what the others allow); check the "
                  "standard errors, or give 'cov'."),
    "arms": ("Two of its arms have a variance of 0 (e.g. no events or only events with "
             "measure RD and to='none'); use a continuity correction or another measure."),
}


def _check_pd(Vb: np.ndarray, s: str, rows: list[int], kind: str = "contrasts") -> None:
    try:
        np.linalg.cholesky(Vb)
    except np.linalg.LinAlgError:
        raise InputError(
            f"The covariance matrix of study {s!r} is not positive definite (eigenvalues "
            f"{', '.join(f'{e:.3g}' for e in np.linalg.eigvalsh(Vb))}). " + _PD_HINT[kind],
            column="se" if kind == "contrasts" else "study", rows=rows) from None


def _arm_n(arms: list[int], rows: list[int], pairs: list[tuple[int, int]], n1: np.ndarray,
           n2: np.ndarray) -> tuple[float, ...]:
    out = {t: math.nan for t in arms}
    for r, (a, b) in zip(rows, pairs, strict=True):
        for t, v in ((a, n1[r]), (b, n2[r])):
            if math.isnan(out[t]) and not math.isnan(v):
                out[t] = float(v)
    return tuple(out[t] for t in arms)


def _block_diag(blocks: list[np.ndarray]) -> np.ndarray:
    n = sum(b.shape[0] for b in blocks)
    out = np.zeros((n, n))
    i = 0
    for b in blocks:
        j = i + b.shape[0]
        out[i:j, i:j] = b
        i = j
    return out


# ---------------------------------------------------------------------------------------------
# Arms
# ---------------------------------------------------------------------------------------------
def from_arms(data: pd.DataFrame | None, *, study: Any, treatment: Any, measure: str, n: Any,
              events: Any = None, mean: Any = None, sd: Any = None,
              treatments: Sequence[str] | None = None, add: float = 0.5,
              to: str = "only0") -> NetworkData:
    """Validate arm-level rows and compute each study's basic contrasts and their covariance."""
    from ..effect_sizes import effect_sizes

    code = str(measure).upper() if measure is not None else ""
    if code not in ARM_MEASURES:
        raise InputError(f"The 'measure' parameter must be one of {', '.join(ARM_MEASURES)} for "
                         f"arm-level data. Got {measure!r} instead.", column="measure")
    if to not in ("only0", "all", "none"):
        raise InputError(f"The 'to' parameter must be 'only0', 'all' or 'none'. Got {to!r} "
                         "instead.", column="to")
    stud = _labels(study, data, "study")
    trt = _labels(treatment, data, "treatment")
    m = len(stud)
    nn = as_float_array(resolve_column(n, data, "n"), "n")
    check_positive(nn, "n")
    binary = code in BINARY
    if binary:
        if events is None:
            raise InputError(f"measure '{code}' needs 'events' (and 'n') per arm.",
                             column="events")
        ev = as_float_array(resolve_column(events, data, "events"), "events")
        bad = np.flatnonzero((ev < 0) | (ev > nn)).tolist()
        if bad:
            raise InputError(f"'events' must lie between 0 and 'n'; row(s) {format_rows(bad)} "
                             "do not.", column="events", rows=bad)
    else:
        if mean is None or sd is None:
            raise InputError(f"measure '{code}' needs 'mean', 'sd' and 'n' per arm.",
                             column="mean" if mean is None else "sd")
        mu = as_float_array(resolve_column(mean, data, "mean"), "mean")
        sdv = as_float_array(resolve_column(sd, data, "sd"), "sd")
        check_positive(sdv, "sd")
    for name, arr in (("treatment", trt), ("n", nn)):
        if len(arr) != m:
            raise InputError(f"'{name}' has {len(arr)} values but 'study' has {m}; give one value "
                             "per arm.", column=name)
    tr_found = _order(trt, treatments)
    studies_all = tuple(dict.fromkeys(stud))
    rows_of: dict[str, list[int]] = {s: [] for s in studies_all}
    for i, s in enumerate(stud):
        rows_of[s].append(i)
    notes: list[str] = []
    kept: list[str] = []
    for s in studies_all:
        rows = rows_of[s]
        if len(rows) < 2:
            raise InputError(f"Study {s!r} has one arm (row {rows[0] + 1}); a study needs at "
                             "least two arms to contribute a comparison.", column="study",
                             rows=rows)
        labs = [trt[i] for i in rows]
        dup = sorted({t for t in labs if labs.count(t) > 1})
        if dup:
            raise InputError(
                f"Study {s!r} has several arms of treatment {', '.join(map(repr, dup))} (rows "
                f"{format_rows(rows)}); a study compares different treatments. Combine arms of "
                "one treatment first (Cochrane Handbook 6.5.2.10) or label them differently.",
                column="treatment", rows=rows)
        if binary and (np.all(ev[rows] == 0) or np.all(ev[rows] == nn[rows])):
            notes.append(f"study {s!r} left out: {'no' if ev[rows[0]] == 0 else 'all'} "
                         "participants had the event in every arm, so it says nothing about "
                         "relative effects")
            continue
        kept.append(s)
    if notes:
        warnings.warn("; ".join(notes) + ".", ZeroCellWarning, stacklevel=3)
    used = {trt[i] for s in kept for i in rows_of[s]}
    tr = tuple(t for t in tr_found if t in used)
    if len(tr) < len(tr_found):
        notes.append("treatment(s) " + ", ".join(t for t in tr_found if t not in used)
                     + " left the network with the studies left out")
    _check_treatments(tr)
    index = {t: i for i, t in enumerate(tr)}

    # Pass 1: arms in treatment order, continuity corrections; one effect_sizes call for all
    # basic contrasts (arm j against the study's baseline arm b).
    row_study, row_treat, row_base, arms_all, n_all = [], [], [], [], []
    j_idx: list[int] = []
    b_idx: list[int] = []
    extra = np.zeros(m)
    corrected: list[str] = []
    for s_idx, s in enumerate(kept):
        rows = sorted(rows_of[s], key=lambda i: index[trt[i]])
        if binary:
            zero = bool(np.any(ev[rows] == 0) or np.any(ev[rows] == nn[rows]))
            a = add if (to == "all" or (to == "only0" and zero)) else 0.0
            if zero and a == 0 and code != "RD":
                raise InputError(
                    f"Study {s!r} has an arm with no events (or only events); measure '{code}' "
                    "needs a continuity correction there. Use to='only0' (default) or 'all'.",
                    column="events", rows=rows)
            if a > 0:
                corrected.append(s)
                extra[rows] = a
        for i in rows[1:]:
            row_study.append(s_idx)
            row_treat.append(index[trt[i]])
            row_base.append(index[trt[rows[0]]])
            j_idx.append(i)
            b_idx.append(rows[0])
        arms_all.append(tuple(index[trt[i]] for i in rows))
        n_all.append(tuple(float(nn[i]) for i in rows))
    if corrected:
        shown = ", ".join(corrected[:8]) + (f" and {len(corrected) - 8} more"
                                            if len(corrected) > 8 else "")
        notes.append(f"{add:g} added to every cell of every arm of {len(corrected)} "
                     f"stud{'y' if len(corrected) == 1 else 'ies'} ({shown}; to={to!r})")
    J, Bx = np.array(j_idx, dtype=int), np.array(b_idx, dtype=int)
    if binary:
        x, nt = ev + extra, nn + 2 * extra
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ZeroCellWarning)
            es = effect_sizes(code, ai=x[J], n1i=nt[J], ci=x[Bx], n2i=nt[Bx], add=0, to="none")
        # variance of each arm's log odds / log risk / risk (only the measure's: the others
        # may divide by a zero cell)
        if code == "OR":
            arm_var = 1 / x + 1 / (nt - x)
        elif code == "RR":
            arm_var = 1 / x - 1 / nt
        else:
            arm_var = (x / nt) * (1 - x / nt) / nt
    else:
        es = effect_sizes(code, m1i=mu[J], sd1i=sdv[J], n1i=nn[J], m2i=mu[Bx], sd2i=sdv[Bx],
                          n2i=nn[Bx])
    y_all = es["yi"].to_numpy(float)
    v_all = es["vi"].to_numpy(float)
    # Pass 2: covariance blocks (the shared baseline arm's variance off the diagonal).
    ys, blocks = [], []
    row_study_a = np.array(row_study, dtype=int)
    for s_idx, s in enumerate(kept):
        sel = np.flatnonzero(row_study_a == s_idx)
        yb, b = y_all[sel], int(Bx[sel[0]])
        if binary:
            Vb = np.full((sel.size, sel.size), arm_var[b])
        elif code == "MD":
            Vb = np.full((sel.size, sel.size), sdv[b] ** 2 / nn[b])
        else:
            total = float(np.sum(nn[rows_of[s]]))
            Vb = 1.0 / nn[b] + np.outer(yb, yb) / (2.0 * total)
        np.fill_diagonal(Vb, v_all[sel])
        rows = rows_of[s]
        if not np.all(np.isfinite(yb)) or not np.all(np.isfinite(Vb)):
            raise InputError(f"The effect sizes of study {s!r} could not be computed (rows "
                             f"{format_rows(rows)}); check its arm data.", column="study",
                             rows=rows)
        _check_pd(Vb, s, rows, "arms")
        ys.append(yb)
        blocks.append(Vb)
    _check_connected(tr, kept, arms_all)
    return NetworkData(
        treatments=tr, studies=tuple(kept), row_study=np.array(row_study, dtype=int),
        row_treat=np.array(row_treat, dtype=int), row_base=np.array(row_base, dtype=int),
        y=np.concatenate(ys), V=_block_diag(blocks), study_arms=tuple(arms_all),
        arm_n=tuple(n_all), measure=code, input_kind="arms", notes=tuple(notes))
