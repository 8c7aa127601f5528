"""Candidate comparisons of analysis sets: every (acupuncture arm, control arm, time point,
instrument) pair a study can contribute, built from arm-level rows (``outcomes``) and from published
between-arm estimates (``contrasts``), each with the reasons why rows could not be used.

:mod:`acuevidence.evidence.analysis_sets` then chooses among the candidates (measure, value type,
instrument, time point) and handles multi-arm trials.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from .. import conversions as conv
from ._harmonise import (
    ArmStats,
    Instrument,
    arm_stats,
    higher_better,
    instrument_of,
    is_percentage_change,
)
from ._windows import Timepoint, resolve_timepoint, treatment_weeks

__all__ = ["Candidate", "Comparator", "StudyCandidates", "study_candidates", "CONFIDENCE_RANK",
           "BINARY_MEASURES", "CONTINUOUS_MEASURES"]

CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}
BINARY_MEASURES = ("RR", "OR", "RD")
CONTINUOUS_MEASURES = ("MD", "SMD")
# The curation flags an unlabelled "±" that is probably an SE in the notes (Delavar 2021).
_PROBABLY_SE = re.compile(r"(probably|likely|possibly)\s+(an?\s+)?(ses?|sems?|standard errors?)\b"
                          r"|unlabell?ed\s*(±|\+/-|plus.minus)", re.I)
_DERIVED_NOTE = re.compile(r"\bderived\b|\bround\(", re.I)
_CHANGE_TEXT = re.compile(r"change|reduction|improvement|decrease", re.I)
_FINAL_TEXT = re.compile(r"final value|post-treatment (value|score)|score at", re.I)


@dataclass(frozen=True)
class Comparator:
    """A comparator: an arm type, optionally refined by a sham type (``"sham:penetrating"``)."""

    arm_type: str
    sham_type: str | None = None

    def matches(self, arm: dict[str, Any]) -> bool:
        if arm.get("arm_type") != self.arm_type:
            return False
        return self.sham_type is None or arm.get("sham_type") == self.sham_type

    def __str__(self) -> str:
        return self.arm_type + (f":{self.sham_type}" if self.sham_type else "")


@dataclass
class Candidate:
    """One possible comparison of an acupuncture arm with a control arm at one time point."""

    study_id: str
    acup: str
    ctrl: str
    kind: str  # "arm" | "contrast"
    tp: Timepoint
    tp_label: str
    value_type: str  # final | change | events | contrast
    base_type: str  # final | change | events | unknown (what a contrast is a difference of)
    instrument: Instrument | None
    choice_key: str  # instrument / definition used to choose one per study
    rows: list[dict[str, Any]]
    confidence: str
    derivations: list[str] = field(default_factory=list)
    registry_derived: bool = False
    # continuous, arm-level (analysis sign, raw scale)
    s1: ArmStats | None = None
    s2: ArmStats | None = None
    # binary, arm-level
    e1: float | None = None
    t1: float | None = None
    e2: float | None = None
    t2: float | None = None
    # contrasts (analysis orientation, raw scale; log scale for ratios)
    c_measure: str | None = None
    estimate: float | None = None
    se: float | None = None
    n1: float | None = None
    n2: float | None = None
    flipped: bool = False
    harmonised: list[str] = field(default_factory=list)

    @property
    def derived(self) -> bool:
        return self.registry_derived or bool(self.derivations)

    @property
    def weeks(self) -> float | None:
        return self.tp.weeks


@dataclass
class StudyCandidates:
    study: dict[str, Any]
    treatment: float | None
    treatment_how: str
    candidates: list[Candidate]
    log: list[tuple[str, str]]  # (action, reason)


def scale_key(scale: str | None) -> str:
    """The scale text without parenthetical remarks, lower case: rows of one instrument or event
    definition that the curation annotated differently still pair up."""
    return re.sub(r"\s+", " ", re.sub(r"\([^)]*\)", " ", scale or "")).strip(" ;,").lower()


def _min_conf(rows: list[dict[str, Any]]) -> str:
    return min((r.get("confidence") or "low" for r in rows),
               key=lambda c: CONFIDENCE_RANK.get(c, 0))


def _row_label(row: dict[str, Any]) -> str:
    return str(row.get("value_id") or row.get("contrast_id"))


def _quality_problem(row: dict[str, Any], include_low: bool, include_derived: bool) -> str:
    if row.get("status") == "retracted":
        return "retracted"
    if not include_low:
        if row.get("confidence") == "low":
            return "confidence = low (include_low_confidence=True to use it)"
        if _PROBABLY_SE.search(row.get("notes") or ""):
            return ("the curation says its '±' is probably an SE, not an SD "
                    "(include_low_confidence=True to use it)")
    if not include_derived and _DERIVED_NOTE.search(row.get("notes") or ""):
        return "its numbers were derived by the curation (include_derived=False)"
    return ""


def study_candidates(study: dict[str, Any], arms: list[dict[str, Any]],
                     outcomes: list[dict[str, Any]], contrasts: list[dict[str, Any]], *,
                     outcome: str, acup_types: tuple[str, ...], comparators: tuple[Comparator, ...],
                     include_low: bool, include_derived: bool) -> StudyCandidates:
    """All candidate comparisons of one study for one outcome (every time point)."""
    tw, tw_how = treatment_weeks(study)
    out = StudyCandidates(study, tw, tw_how, [], [])
    acup = {a["arm_id"]: a for a in arms if a.get("arm_type") in acup_types}
    ctrl = {a["arm_id"]: a for a in arms
            if a["arm_id"] not in acup and any(c.matches(a) for c in comparators)}
    if not acup or not ctrl:
        have = ", ".join(sorted({str(a.get("arm_type")) + (f":{a['sham_type']}" if a.get(
            "sham_type") else "") for a in arms})) or "none recorded"
        missing = "acupuncture" if not acup else " or ".join(str(c) for c in comparators)
        out.log.append(("excluded", f"no {missing} arm (arms: {have})"))
        return out
    rows = [r for r in outcomes if r.get("outcome") == outcome
            and r.get("arm_id") in acup.keys() | ctrl.keys()]
    crows = [r for r in contrasts if r.get("outcome") == outcome]
    if not rows and not crows:
        out.log.append(("excluded", f"no {outcome} values recorded"))
        return out
    _arm_candidates(out, rows, acup, ctrl, outcome, include_low, include_derived, outcomes)
    _contrast_candidates(out, crows, acup, ctrl, outcome, include_low, include_derived)
    if not include_derived:
        for c in [c for c in out.candidates if c.derived]:
            ids = ", ".join(_row_label(r) for r in c.rows)
            entry = ("excluded", f"{ids}: needs derived numbers ({'; '.join(c.derivations)}); "
                     "include_derived=False")
            if entry not in out.log:
                out.log.append(entry)
        out.candidates = [c for c in out.candidates if not c.derived]
    return out


# ---------------------------------------------------------------------------------------------
def _place(out: StudyCandidates, row: dict[str, Any]) -> Timepoint | None:
    tp, why = resolve_timepoint(row.get("timepoint_weeks"), row.get("timepoint_label"),
                                out.treatment)
    if tp is None:
        out.log.append(("excluded", f"{_row_label(row)}: {why}"))
    return tp


def _arm_candidates(out: StudyCandidates, rows: list[dict[str, Any]], acup: dict, ctrl: dict,
                    outcome: str, include_low: bool, include_derived: bool,
                    all_rows: list[dict[str, Any]]) -> None:
    groups: dict[tuple, dict[str, tuple[dict[str, Any], Timepoint]]] = {}
    for row in sorted(rows, key=lambda r: r["value_id"]):
        why = _quality_problem(row, include_low, include_derived)
        if not why and is_percentage_change(row.get("scale")):
            why = "a percentage change from baseline, not a score"
        if not why and row.get("value_type") == "events" and (
                row.get("events") is None or not row.get("total")):
            why = "events row without events/total"
        if why:
            out.log.append(("excluded", f"{_row_label(row)}: {why}"))
            continue
        tp = _place(out, row)
        if tp is None or (tp.weeks is not None and tp.weeks <= 0):
            continue  # baseline rows describe the groups; they are no outcome
        key = (scale_key(row.get("scale")), row.get("direction"), row.get("value_type"),
               tp.weeks, tp.end_of_treatment)
        arms_here = groups.setdefault(key, {})
        prev = arms_here.get(row["arm_id"])
        if prev is not None:
            # Two values for one arm and time point: keep the more trusted one.
            keep = max((prev[0], row), key=lambda r: (CONFIDENCE_RANK.get(r["confidence"], 0),
                                                      r.get("n") or 0))
            drop = row if keep is prev[0] else prev[0]
            out.log.append(("excluded", f"{_row_label(drop)}: a second value for the same arm "
                            f"and time point ({_row_label(keep)} kept)"))
            arms_here[row["arm_id"]] = (keep, tp)
            continue
        arms_here[row["arm_id"]] = (row, tp)
    for arms_here in groups.values():
        a_ids = [a for a in sorted(arms_here) if a in acup]
        c_ids = [c for c in sorted(arms_here) if c in ctrl]
        for a in a_ids:
            for c in c_ids:
                cand = _arm_pair(out, arms_here[a][0], arms_here[c][0], arms_here[a][1], outcome,
                                 {**acup, **ctrl}, all_rows)
                if cand is not None:
                    out.candidates.append(cand)


def _fallback_n(row: dict[str, Any], arm: dict[str, Any],
                all_rows: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """A row without n borrows the arm's randomised n, else the n of the same arm at the nearest
    other time point of the study (said in the derivation)."""
    if row.get("n") or row.get("value_type") == "events":
        return row, ""
    if arm.get("n_randomized"):
        n = arm["n_randomized"]
        return {**row, "n": n}, f"n = {n} randomised (arms.csv; the row gives no n)"
    week = row.get("timepoint_weeks")
    others = [r for r in all_rows if r.get("arm_id") == row["arm_id"] and r.get("n")
              and r.get("status") != "retracted"]
    if not others:
        return row, ""
    best = min(others, key=lambda r: (abs((r.get("timepoint_weeks") or 0) - (week or 0)),
                                      r["value_id"]))
    n = best["n"]
    return {**row, "n": n}, (f"n = {n} taken from {best['value_id']} (same arm, week "
                             f"{best.get('timepoint_weeks')}; the row gives no n)")


def _arm_pair(out: StudyCandidates, r1: dict[str, Any], r2: dict[str, Any], tp: Timepoint,
              outcome: str, arms: dict[str, dict[str, Any]],
              all_rows: list[dict[str, Any]]) -> Candidate | None:
    vt = "change" if r1["value_type"] == "change_from_baseline" else r1["value_type"]
    rows = [r1, r2]
    reg_derived = any(_DERIVED_NOTE.search(r.get("notes") or "") for r in rows)
    base = dict(study_id=out.study["study_id"], acup=r1["arm_id"], ctrl=r2["arm_id"], kind="arm",
                tp=tp, tp_label=r1.get("timepoint_label") or "", rows=rows,
                confidence=_min_conf(rows), registry_derived=reg_derived)
    if vt == "events":
        return Candidate(value_type="events", base_type="events", instrument=None,
                         choice_key=scale_key(r1.get("scale")), e1=float(r1["events"]),
                         t1=float(r1["total"]), e2=float(r2["events"]), t2=float(r2["total"]),
                         **base)
    inst = instrument_of(r1, outcome)
    flip = higher_better(r1)
    (r1n, how1), (r2n, how2) = (_fallback_n(r, arms[r["arm_id"]], all_rows) for r in rows)
    s1 = arm_stats(r1n, factor=1.0, flip=flip)
    s2 = arm_stats(r2n, factor=1.0, flip=flip)
    bad = [(r, s) for r, s in ((r1, s1), (r2, s2)) if s.problem]
    if bad:
        for r, s in bad:
            entry = ("excluded", f"{_row_label(r)}: {s.problem}")
            if entry not in out.log:
                out.log.append(entry)
        return None
    derivations = [f"{_row_label(r)}: {d}" for r, s, how in ((r1, s1, how1), (r2, s2, how2))
                   for d in ([how] if how else []) + s.derivations]
    return Candidate(value_type=vt, base_type=vt, instrument=inst, choice_key=inst.family,
                     s1=s1, s2=s2, derivations=derivations, flipped=flip, **base)


def _contrast_candidates(out: StudyCandidates, crows: list[dict[str, Any]], acup: dict,
                         ctrl: dict, outcome: str, include_low: bool,
                         include_derived: bool) -> None:
    for row in sorted(crows, key=lambda r: r["contrast_id"]):
        a1, a2 = row.get("arm1_id"), row.get("arm2_id")
        if a1 in acup and a2 in ctrl:
            acup_id, ctrl_id, reverse = a1, a2, False
        elif a2 in acup and a1 in ctrl:
            acup_id, ctrl_id, reverse = a2, a1, True
        else:
            continue  # another pair of arms (e.g. sham vs usual care)
        why = _quality_problem(row, include_low, include_derived)
        measure = row.get("measure")
        if not why and measure not in BINARY_MEASURES + CONTINUOUS_MEASURES:
            why = f"measure {measure} has no place in analysis sets"
        if not why and row.get("estimate") is None:
            why = "no estimate"
        if not why and is_percentage_change(row.get("scale")):
            why = "a percentage change from baseline, not a score"
        if why:
            out.log.append(("excluded", f"{_row_label(row)}: {why}"))
            continue
        tp = _place(out, row)
        if tp is None or (tp.weeks is not None and tp.weeks <= 0):
            continue
        cand = _contrast(out, row, acup_id, ctrl_id, reverse, tp, outcome)
        if cand is None:
            continue
        for side, arm in (("n1", acup[acup_id]), ("n2", ctrl[ctrl_id])):
            if getattr(cand, side) is None and arm.get("n_randomized"):
                setattr(cand, side, float(arm["n_randomized"]))
                cand.derivations.append(f"{_row_label(row)}: {side} = {arm['n_randomized']} "
                                        f"randomised to {arm['arm_id']} (arms.csv; the contrast "
                                        "gives no n)")
        out.candidates.append(cand)


def _contrast(out: StudyCandidates, row: dict[str, Any], acup_id: str, ctrl_id: str,
              reverse: bool, tp: Timepoint, outcome: str) -> Candidate | None:
    measure = row["measure"]
    est = float(row["estimate"])
    lo, hi, p = row.get("ci_lb"), row.get("ci_ub"), row.get("p_value")
    level = row.get("ci_level") or 0.95
    qual = row.get("p_value_qualifier")
    ratio = measure in ("RR", "OR")
    derivations: list[str] = []
    label = _row_label(row)
    if ratio and est <= 0:
        out.log.append(("excluded", f"{label}: ratio estimate {est:g} is not positive"))
        return None
    y = math.log(est) if ratio else est
    if lo is not None and hi is not None and hi > lo and (not ratio or lo > 0):
        se = float(conv.se_from_ci(lo, hi, level, log_scale=ratio))
        derivations.append(f"{label}: SE from the {level:.0%} CI {lo:g} to {hi:g}"
                           f"{' (log scale)' if ratio else ''} = {se:.4g} (se_from_ci)")
    elif p is not None and qual in (None, "<", "<=") and 0 < p < 1 and y != 0:
        se = float(conv.se_from_p(y, p))
        bound = (" (p given as an upper bound, so the SE is an upper bound: conservative)"
                 if qual else "")
        derivations.append(f"{label}: SE from p = {p:g}{bound}: |{y:.4g}| / z = {se:.4g} "
                           "(se_from_p)")
    else:
        what = ("p given only as a lower bound" if qual in (">", ">=")
                else "no CI and no usable p-value")
        out.log.append(("excluded", f"{label}: {what}, so no SE"))
        return None
    # Orientation: acupuncture minus control; for continuous outcomes negative favours
    # acupuncture (higher_better rows are flipped).
    if reverse:
        y = -y
    flip = False
    if measure in CONTINUOUS_MEASURES:
        if not row.get("direction"):
            out.log.append(("excluded", f"{label}: no direction recorded, so which sign favours "
                            "acupuncture is unknown"))
            return None
        flip = higher_better(row)
        inst = instrument_of(row, outcome)
        # What the contrast is a difference of: said in its scale text, else unknown (it then
        # joins either kind of value; adjusted estimates are often neither).
        base_type = "change" if _CHANGE_TEXT.search(row.get("scale") or "") else (
            "final" if _FINAL_TEXT.search(row.get("scale") or "") else "unknown")
        choice_key = inst.family
    else:
        inst = None
        base_type = "events"
        choice_key = scale_key(row.get("scale"))
    if flip:
        y = -y
    return Candidate(
        study_id=out.study["study_id"], acup=acup_id, ctrl=ctrl_id, kind="contrast", tp=tp,
        tp_label=row.get("timepoint_label") or "", value_type="contrast", base_type=base_type,
        instrument=inst, choice_key=choice_key, rows=[row],
        confidence=row.get("confidence") or "low", derivations=derivations,
        registry_derived=bool(_DERIVED_NOTE.search(row.get("notes") or "")),
        c_measure=measure, estimate=y, se=se, flipped=flip,
        n1=_num(row.get("n2" if reverse else "n1")), n2=_num(row.get("n1" if reverse else "n2")),
    )


def _num(x: Any) -> float | None:
    return float(x) if x is not None and x > 0 else None
