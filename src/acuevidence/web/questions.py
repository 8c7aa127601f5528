"""The home page: the questions patients ask, answered from the analyses.

The questions are the ones the health pages in ``../shared/seeds`` ask (their wording, the page
they come from); every answer is computed from the registry — the Key-answers logic of
:func:`acuevidence.report.builder.build_report` (per comparison, the pain result of the earliest
follow-up window with data), the sessions and safety sections of the report — and each answer
links to its analysis. Nothing in an answer is typed in by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..evidence.vocabulary import WINDOWS, term_label
from ..report.analysis import WINDOW_PHRASES, Finding, comparator_label
from ..results import json_safe
from .service import AnalysisParams

__all__ = ["QUESTIONS", "Question", "home_answers"]

MID_POINTS = 10.0
_LBP = ("chronic_nonspecific_lbp", "subacute_nonspecific_lbp", "acute_nonspecific_lbp",
        "lbp_unspecified")
_HIP_LEG = ("sciatica", "lumbar_disc_herniation", "spinal_stenosis", "hip_oa", "knee_oa",
            "knee_or_hip_oa", "plantar_fasciitis")
# The pages the questions come from (the seed pages' titles).
PAGES = {
    "000": "Acupuncture for Back, Hip & Leg Pain",
    "001": "Acupuncture for Back Pain - All Your Questions Answered",
    "002": "Does acupuncture work for back pain? (a complete guide)",
    "003": "Is acupuncture effective in improving pain relief for low back pain? (blog)",
    "004": "How Does Acupuncture for Back Pain Work?",
}


@dataclass(frozen=True)
class Question:
    """A question of the pages and which analyses answer it."""

    id: str
    text: str
    pages: tuple[str, ...]
    kind: str  # key_answers | over_time | comparator | sessions | safety
    conditions: tuple[str, ...] = ()
    comparators: tuple[tuple[str, ...], ...] = ()


QUESTIONS: tuple[Question, ...] = (
    Question("back-pain", "Does acupuncture work for back pain?", ("001", "002", "004"),
             "key_answers", _LBP),
    Question("low-back-vs-sham-usual-care",
             "Is acupuncture effective in improving pain relief for low back pain, compared with "
             "sham acupuncture, usual care or no treatment?", ("003",), "key_answers",
             ("chronic_nonspecific_lbp", "acute_nonspecific_lbp"),
             (("sham",), ("usual_care",), ("no_treatment", "waitlist"))),
    Question("hip-leg", "Is acupuncture effective for hip and leg pain?", ("000",),
             "key_answers", _HIP_LEG),
    Question("drugs", "Is acupuncture equal to or better than drug therapy?", ("001", "000"),
             "comparator", (), (("nsaid", "other_medication"),)),
    Question("lasting", "Does the relief last after the treatment ends?", ("002", "003"),
             "over_time", ("chronic_nonspecific_lbp", "knee_oa")),
    Question("sessions", "How many sessions of acupuncture are needed for back pain?",
             ("001", "002"), "sessions"),
    Question("safety", "What are the risks? Is acupuncture safe?", ("002",), "safety"),
)


def finding_dict(f: Finding) -> dict[str, Any]:
    comp = tuple(f.comparator) if not isinstance(f.comparator, str) else (f.comparator,)
    params = AnalysisParams(condition=f.condition, comparator=comp, outcome=f.outcome,
                            window=f.window or "short")
    pts = f.absolute.get("points")
    return {
        "condition": f.condition, "condition_label": term_label("CONDITIONS", f.condition),
        "comparator": "+".join(comp), "comparator_label": comparator_label(comp),
        "outcome": f.outcome, "window": f.window, "window_label": WINDOW_PHRASES[f.window],
        "statement": f.statement, "absolute": f.absolute.get("text"), "points": pts,
        "k": f.result.k, "participants": f.n_participants, "certainty": f.certainty.label,
        "certainty_level": f.certainty.level, "query": params.query(),
    }


def _summary(items: list[dict[str, Any]]) -> str:
    """One sentence over the answers: how many reach the MID, and how sure the evidence is."""
    pain = [a for a in items if a["outcome"] == "pain" and a["points"] is not None]
    if not items:
        return "The registry has no trials with usable numbers for this question."
    parts = []
    if pain:
        big = sum(1 for a in pain if a["points"] <= -MID_POINTS)
        small = sum(1 for a in pain if -MID_POINTS < a["points"] < 0)
        none = len(pain) - big - small
        pieces = [f"by at least the {MID_POINTS:g} points people notice in {big}" if big else "",
                  f"by less in {small}" if small else "", f"not at all in {none}" if none else ""]
        pieces = [x for x in pieces if x]
        said = ", ".join(pieces[:-1]) + (" and " if len(pieces) > 1 else "") + pieces[-1]
        parts.append(f"In {len(pain)} comparison{'s' if len(pain) != 1 else ''} with pain on a "
                     f"0-100 scale, acupuncture lowered pain {said}.")
    levels: dict[str, int] = {}
    for a in items:
        levels[a["certainty"]] = levels.get(a["certainty"], 0) + 1
    order = ["High", "Moderate", "Low", "Very low"]
    cert = ", ".join(f"{levels[lv]} {lv.lower()}" for lv in order if lv in levels)
    parts.append(f"Certainty of the evidence across the {len(items)} answer"
                 f"{'s' if len(items) != 1 else ''}: {cert}.")
    return " ".join(parts)


def home_answers(report: Any) -> dict[str, Any]:
    """Every question with its answers, from a :class:`~acuevidence.report.builder.Report`."""
    from ..report.sections import adverse_events, sessions_table

    out = []
    for q in QUESTIONS:
        entry: dict[str, Any] = {"id": q.id, "question": q.text,
                                 "pages": [PAGES[p] for p in q.pages], "kind": q.kind,
                                 "answers": [], "missing": []}
        if q.kind in ("key_answers", "comparator"):
            for f in report.key_answers:
                if q.conditions and f.condition not in q.conditions:
                    continue
                if q.comparators and tuple(f.comparator) not in q.comparators:
                    continue
                entry["answers"].append(finding_dict(f))
            if q.kind == "comparator":
                # Against drugs the headline is the pain result wherever there is one.
                entry["answers"] = []
                for c in report.comparisons:
                    if tuple(c.comparator) in q.comparators:
                        pain = [f for f in c.available if f.outcome == "pain"]
                        f = pain[0] if pain else c.available[0]
                        entry["answers"].append(finding_dict(f))
            for cond, labels in report.missing.items():
                if q.conditions and cond not in q.conditions:
                    continue
                wanted = [comparator_label(c) for c in q.comparators] if q.comparators else None
                miss = [lab for lab in labels if wanted is None
                        or any(lab.startswith(w) for w in wanted)]
                if miss:
                    entry["missing"].append({"condition": cond, "condition_label":
                                             term_label("CONDITIONS", cond), "comparators": miss})
            entry["summary"] = _summary(entry["answers"])
        elif q.kind == "over_time":
            entry["windows"] = [{"window": w, "label": WINDOW_PHRASES[w]} for w in WINDOWS]
            entry["table"] = []
            for c in report.comparisons:
                if c.condition not in q.conditions:
                    continue
                pain = {f.window: finding_dict(f) for f in c.available if f.outcome == "pain"}
                if len(pain) < 2:
                    continue
                entry["answers"].extend(pain.values())
                cells = []
                for w in WINDOWS:
                    a = pain.get(w)
                    cells.append(None if a is None else {
                        **a, "text": _points(a["points"]) if a["points"] is not None
                        else a["absolute"]})
                entry["table"].append({"label": f"{term_label('CONDITIONS', c.condition)}: "
                                                f"vs {comparator_label(c.comparator)}",
                                       "cells": cells})
            entry["summary"] = _lasting_summary(entry["answers"])
        elif q.kind == "sessions":
            s = sessions_table(report.tables)
            entry["sessions"] = s["summary"]
            entry["histogram"] = s["histogram"]
            entry["summary"] = _sessions_summary(s)
        elif q.kind == "safety":
            ae = adverse_events(report.tables)
            entry["summary"] = ae["sentence"]
            entry["trials"] = len(ae["trials"])
        out.append(entry)
    return json_safe({"evidence_version": report.evidence_version, "method": report.method,
                      "test": report.test, "questions": out})


def _points(x: float) -> str:
    return f"{abs(x):.0f} points {'lower' if x < 0 else 'higher'}"


def _lasting_summary(items: list[dict[str, Any]]) -> str:
    if not items:
        return ("No comparison in the registry has pain results at two or more follow-up times, "
                "so whether the effect lasts cannot be answered from these trials.")
    late = [a for a in items if a["window"] in ("intermediate", "long") and a["points"] is not None]
    if not late:
        return ("The trials report pain mostly at the end of treatment or up to 3 months; "
                "there are no results after 3 months.")
    big = sum(1 for a in late if a["points"] <= -MID_POINTS)
    return (f"{len(late)} result{'s' if len(late) != 1 else ''} after 3 months: acupuncture "
            f"lowered pain by at least {MID_POINTS:g} points in {big} of them.")


def _sessions_summary(s: dict[str, Any]) -> str:
    rows = s["summary"]
    if not rows:
        return "No trial in the registry states the number of sessions."
    lbp = [r for r in rows if r["condition"] in _LBP]
    base = (f"{s['with_sessions']} of {s['trials']} trials state the number of sessions they "
            "gave.")
    if lbp:
        lo = min(r["min"] for r in lbp)
        hi = max(r["max"] for r in lbp)
        med = ", ".join(f"{r['label'].lower()}: median {r['median']:g}" for r in lbp)
        base += (f" In the back-pain trials it ranged from {lo:g} to {hi:g} sessions ({med}). "
                 "The trials tested these courses; they do not show how many sessions one "
                 "person needs.")
    return base
