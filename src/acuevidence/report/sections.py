"""Report sections that summarise the registry rather than one pooled analysis.

* how many sessions the trials gave (the distribution; the effect against sessions needs a
  meta-regression, shown when enough trials report both);
* safety: adverse events as the trials report them (events / total per arm, with provenance);
* published reviews next to our pooled result for the same question, with the reasons they differ.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from ..evidence.vocabulary import term_label

__all__ = ["MIN_K_PER_MODERATOR", "adverse_events", "reviews_side_by_side", "sessions_regressions",
           "sessions_table"]

# Cochrane Handbook 10.11.5.1: meta-regression needs at least ~10 trials per moderator.
MIN_K_PER_MODERATOR = 10

# Review comparison text -> our comparator group, when the review names it.
_REVIEW_COMPARATOR = {
    "sham": ("sham",), "no_treatment": ("no_treatment", "waitlist"),
    "waitlist": ("no_treatment", "waitlist"), "usual_care": ("usual_care",),
    "conventional": ("conventional",), "nsaid": ("nsaid", "other_medication"),
    "other_medication": ("nsaid", "other_medication"), "physiotherapy": ("physiotherapy",
                                                                         "exercise"),
    "exercise": ("physiotherapy", "exercise"), "tens": ("tens",),
}
_REVIEW_OUTCOME = {"pain": "pain", "function": "function", "response": "response"}


def sessions_table(tables: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Number of planned sessions per trial, by condition: rows and a summary per condition."""
    rows = []
    for s in sorted(tables["studies"], key=lambda s: (s["condition"], s["study_id"])):
        if s["status"] != "active":
            continue
        rows.append({"study_id": s["study_id"], "label": s["label"], "condition": s["condition"],
                     "n_sessions": s.get("n_sessions"), "sessions_text": s.get("sessions_text"),
                     "treatment_weeks": s.get("treatment_weeks")})
    by_cond: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["n_sessions"] is not None:
            by_cond[r["condition"]].append(float(r["n_sessions"]))
    summary = []
    for cond in sorted(by_cond):
        xs = sorted(by_cond[cond])
        n = len(xs)
        med = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
        summary.append({"condition": cond, "label": term_label("CONDITIONS", cond), "trials": n,
                        "min": xs[0], "median": med, "max": xs[-1]})
    all_x = sorted(x for xs in by_cond.values() for x in xs)
    bins = [(1, 5), (6, 10), (11, 15), (16, 20), (21, 1000)]
    hist = [{"range": f"{a}-{b}" if b < 1000 else f">{a - 1}",
             "trials": sum(1 for x in all_x if a <= x <= b)} for a, b in bins]
    return {"rows": rows, "summary": summary, "histogram": hist,
            "with_sessions": len(all_x), "trials": len(rows)}


def adverse_events(tables: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Adverse-event rows per trial and arm, and a descriptive sentence."""
    studies = {s["study_id"]: s for s in tables["studies"]}
    arms = {a["arm_id"]: a for a in tables["arms"]}
    rows = []
    for v in sorted(tables["outcomes"], key=lambda r: (r["study_id"], r["arm_id"], r["value_id"])):
        if v["status"] != "active" or v["outcome"] != "adverse_events":
            continue
        if v.get("events") is None or v.get("total") is None:
            continue
        s, a = studies[v["study_id"]], arms.get(v["arm_id"], {})
        rows.append({"study_id": v["study_id"], "label": s["label"],
                     "condition": s["condition"], "arm": a.get("label", v["arm_id"]),
                     "arm_type": a.get("arm_type"), "events": v["events"], "total": v["total"],
                     "definition": v.get("scale") or v.get("outcome_detail") or "adverse events",
                     "source_id": v["source_id"], "locator": v["locator"],
                     "confidence": v["confidence"]})
    acu = [r for r in rows if r["arm_type"] == "acupuncture"]
    serious = [r for r in acu if "serious" in str(r["definition"]).lower()]
    trials = sorted({r["study_id"] for r in rows})
    sentence = (f"{len(trials)} trial(s) report adverse events as counts. In the acupuncture arms, "
                f"{sum(r['events'] for r in acu)} of {sum(r['total'] for r in acu)} participants "
                f"had an adverse event as defined by each trial")
    if serious:
        sentence += (f"; of the {sum(r['total'] for r in serious)} participants in trials "
                     f"counting serious events, {sum(r['events'] for r in serious)} had one")
    sentence += (". Most trials do not count minor events (bruising, soreness), so these numbers "
                 "describe what was reported, not the true rate.")
    return {"rows": rows, "sentence": sentence, "trials": trials}


def reviews_side_by_side(report: Any) -> list[dict[str, Any]]:
    """Each published pooled result next to our finding for the same question, with reasons."""
    ours = {}
    for f in report.findings():
        if f.available:
            ours[(f.condition, tuple(f.comparator), f.outcome, f.window)] = f
    out = []
    for r in sorted(report.tables["reviews"], key=lambda r: r["result_id"]):
        comp = _REVIEW_COMPARATOR.get(r.get("comparator") or "")
        outcome = _REVIEW_OUTCOME.get(r.get("outcome") or "")
        match = None
        if comp and outcome and r.get("condition"):
            windows = [r.get("window")] if r.get("window") else ["immediate", "short",
                                                                 "intermediate", "long"]
            for w in windows:
                match = ours.get((r["condition"], comp, outcome, w))
                if match:
                    break
        reasons = _reasons(r, match)
        out.append({"review": r, "ours": match, "reasons": reasons})
    return out


def _reasons(r: dict[str, Any], f: Any) -> list[str]:
    if f is None:
        return ["We have no pooled result for the same condition, comparator, outcome and window "
                "in the registry (its trials lack usable numbers or are not in it)."]
    out = []
    k_theirs = r.get("k_studies")
    if k_theirs is not None and k_theirs != f.result.k:
        out.append(f"Different trials: the review pooled {k_theirs}, we pool {f.result.k} "
                   "with usable numbers in the registry.")
    m = (r.get("measure") or "").upper()
    if m and m != f.aset.measure:
        out.append(f"Different measure: {m} in the review, {f.aset.measure} here.")
    if not r.get("window"):
        out.append(f"The review's time frame ({r.get('timepoint_label') or 'not stated'}) does "
                   f"not map to one of our windows; compared with our '{f.window}' window.")
    if r.get("estimate") is not None and f.result is not None and m == f.aset.measure:
        theirs = r["estimate"]
        mine = f.result.estimate if m not in ("RR", "OR") else math.exp(f.result.estimate)
        if (theirs < (1 if m in ("RR", "OR") else 0)) != (mine < (1 if m in ("RR", "OR") else 0)):
            out.append("The direction differs: check the sign convention of the review "
                       f"({r.get('measure_note') or 'not stated'}).")
    if not out:
        out.append("Same question and measure; the estimates can be compared directly.")
    return out


def sessions_regressions(report: Any) -> dict[str, Any]:
    """Meta-regression of the effect on the number of sessions, where a comparison allows it.

    Only comparisons with at least :data:`MIN_K_PER_MODERATOR` trials that report the number of
    sessions are analysed; the others are counted so the report can say why none was run.
    """
    import warnings

    from ..metareg import meta_regression

    sessions = {s["study_id"]: s.get("n_sessions") for s in report.tables["studies"]}
    rows, best = [], 0
    for f in report.findings():
        if not f.available:
            continue
        d = f.aset.data
        x = [sessions.get(sid) for sid in d["study_id"]]
        k = sum(v is not None for v in x)
        best = max(best, k)
        if k < MIN_K_PER_MODERATOR or k < len(x):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reg = meta_regression(d["yi"].to_numpy(float), d["vi"].to_numpy(float),
                                  mods=[[float(v)] for v in x], method=report.method)
        coef = reg.to_frame().iloc[-1]
        rows.append({"finding": f, "k": k, "slope": float(coef["estimate"]),
                     "ci_lower": float(coef["ci_lower"]), "ci_upper": float(coef["ci_upper"]),
                     "p_value": float(coef["p_value"])})
    return {"rows": rows, "largest_k": best, "min_k": MIN_K_PER_MODERATOR}
