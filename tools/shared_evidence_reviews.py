"""Mapping rules for the published pooled results (``reviews.csv``) of the curated folder.

Used by ``import_shared_evidence.py``: each ``map_*`` function returns the mapped value and the
reason, which :func:`convert_reviews` logs once per distinct curated text.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import shared_evidence_rules as rules


def map_review_condition(text: str) -> tuple[str, str, str]:
    """Condition of a pooled result -> ``CONDITIONS``.

    Parameters
    ----------
    text : str
        Curated ``condition`` text of the review row.

    Returns
    -------
    tuple of str
        ``(term, condition_detail, rule)``; the detail keeps the text when it says more than the
        term.
    """
    low = text.lower()

    def done(term: str, why: str) -> tuple[str, str, str]:
        return term, ("" if text == term else text), why

    if re.search(r"^chronic pain\b|mixed|disease-related|musculoskeletal pain", low):
        return done("mixed_chronic_pain", "several pain conditions pooled")
    if "back" in low and "neck" in low:
        return done("mixed_spinal_pain", "back and neck pain pooled")
    if "headache" in low:
        return done("other", "headache is outside the condition vocabulary")
    if "ankle sprain" in low:
        return done("ankle_sprain", "ankle sprain named")
    if "sciatica" in low:
        return done("sciatica", "sciatica named (disc herniation kept in the detail)")
    if "disc herniation" in low:
        return done("lumbar_disc_herniation", "lumbar disc herniation named")
    if re.match(r"(chronic )?knee", low):
        return done("knee_oa", "knee osteoarthritis / chronic knee pain")
    if "osteoarthritis" in low:
        return done("knee_or_hip_oa", "osteoarthritis not limited to the knee (generic, "
                    "peripheral-joint or 'mostly knee'): closest term; the detail keeps the text")
    if "low back" in low:
        term, _, why = rules.map_condition("other:" + text, "")
        return done(term, why)
    return done("other", "no vocabulary term fits")


# Ordered rules on the comparator (text after the first " vs "); first match wins.
_COMPARATOR_RULES: tuple[tuple[str, str, str], ...] = (
    (r"/|mixed|pooled|, or |alone or combined|control \(", "other",
     "mixed or pooled controls"),
    (r"high-intensity", "other", "active (high-intensity) no-acupuncture control"),
    (r"no acupuncture|no treatment|no additional treatment|no intervention", "no_treatment",
     "no (additional) acupuncture or treatment"),
    (r"sham", "sham", "sham control"),
    (r"usual care|standard care", "usual_care", "usual / standard care"),
    (r"traction", "physiotherapy", "lumbar traction (a physical therapy)"),
    (r"ibuprofen|diclofenac|meloxicam|nsaid|celecoxib", "nsaid", "an NSAID named"),
    (r"analgesic|medicine|drug", "other_medication", "medication not limited to NSAIDs"),
    (r"conventional acupuncture", "acupuncture", "another form of acupuncture"),
    (r"other treatments", "other", "add-on design: other treatments only"),
    (r"^control$", "other", "unspecified control"),
)


def map_comparator(comparison: str) -> tuple[str, str]:
    """Comparator arm type of a pooled comparison ("acupuncture vs sham" -> ``sham``).

    Parameters
    ----------
    comparison : str
        Curated ``comparison`` text.

    Returns
    -------
    tuple of str
        ``(arm_type, rule)``; blank for a difference between two control types.
    """
    if "(difference" in comparison:
        return "", "difference between control types, not a comparison with one comparator"
    comparator = comparison.split(" vs ", 1)[1] if " vs " in comparison else comparison
    for pattern, term, why in _COMPARATOR_RULES:
        if re.search(pattern, comparator, re.IGNORECASE):
            return term, why
    return "other", "no rule matched"


def map_review_outcome(text: str) -> tuple[str, str, str]:
    """Outcome of a pooled result -> ``OUTCOMES``.

    Parameters
    ----------
    text : str
        Curated ``outcome`` text.

    Returns
    -------
    tuple of str
        ``(term, outcome_detail, rule)``.
    """
    low = text.lower()
    if low.startswith("other:"):
        return rules.map_outcome(text)
    for pattern, term in ((r"^pain", "pain"), (r"^(function|disability)", "function"),
                          (r"^response", "response"), (r"^quality_of_life$", "quality_of_life")):
        if re.search(pattern, low):
            return term, ("" if text == term else text), f"text starts with '{term}' wording"
    return "other", text, "no vocabulary term fits"


_WEEKS_PER_MONTH = 52 / 12


def _weeks(number: str, unit: str) -> float:
    """A printed duration in weeks."""
    return float(number) * (_WEEKS_PER_MONTH if unit.startswith("month") else 1.0)


def _window_of(weeks: float) -> str:
    """Cochrane window of a follow-up at ``weeks`` (3 months = 13 weeks, 12 months = 52)."""
    if weeks <= 1:
        return "immediate"
    if weeks <= 13:
        return "short"
    if weeks <= 52:
        return "intermediate"
    return "long"


def map_window(label: str) -> tuple[str, str]:
    """Follow-up window (``WINDOWS``) of a pooled result's time-point label, when it is clear.

    Parameters
    ----------
    label : str
        Curated ``timepoint_label``.

    Returns
    -------
    tuple of str
        ``(window, rule)``; blank window when the label does not place the result in one
        Cochrane window.
    """
    low = label.lower()
    if re.search(r"immediate|end of treatment|<7 days after end", low):
        return "immediate", "immediately after / at the end of treatment"
    lower_bound = re.search(r"(\d+)\s*-\s*<\s*(\d+)\s*(weeks?|months?)", low)
    if lower_bound:
        lo = _window_of(_weeks(lower_bound.group(1), lower_bound.group(3)) + 0.01)
        hi = _window_of(_weeks(lower_bound.group(2), lower_bound.group(3)) - 0.01)
        if lo == hi:
            return lo, f"range {lower_bound.group(0)} lies in one window"
        return "", f"range {lower_bound.group(0)} spans {lo} and {hi} windows"
    at_least = re.search(r">=\s*(\d+)\s*(weeks?|months?)", low)
    if at_least:
        w = _weeks(at_least.group(1), at_least.group(2))
        return ("long", f"{at_least.group(0)}: 12 months or more") if w >= 52 else (
            "", f"{at_least.group(0)}: open range")
    single = re.search(r"(?:up to |\()?(\d+)\s*(weeks?|months?)\)?", low)
    if single and not re.search(r"~|primary endpoint", low):
        w = _weeks(single.group(1), single.group(2))
        window = _window_of(w)
        return window, f"{single.group(1)} {single.group(2)} -> {window} (Cochrane definitions)"
    for word in ("short", "intermediate", "long"):
        if re.search(rf"\b{word}\b", low):
            return word, f"'{word}' term named without a duration"
    return "", "no time frame that maps to one window"


_MEASURE = re.compile(r"^(SMD|WMD|MD|RR|OR|RD|HR)\b")


def map_measure(text: str) -> tuple[str, str, str]:
    """Effect measure of a pooled result -> ``MEASURES`` (WMD -> MD).

    Parameters
    ----------
    text : str
        Curated ``measure`` text, e.g. ``"SMD (positive favours acupuncture)"``.

    Returns
    -------
    tuple of str
        ``(measure, measure_note, rule)``; the note keeps the curated text when it differs.
    """
    m = _MEASURE.match(text.strip())
    if not m:
        raise ValueError(f"measure {text!r} has no known effect measure")
    measure = "MD" if m.group(1) == "WMD" else m.group(1)
    note = "" if text == measure else text
    why = "weighted mean difference is a mean difference" if m.group(1) == "WMD" else (
        "leading measure code" + ("; qualifier kept in measure_note" if note else ""))
    return measure, note, why


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def convert_reviews(reviews: list[Any], source_of: dict[str, str],
                    log: Callable[[str, str], None],
                    prov: dict[str, str]) -> list[dict[str, str]]:
    """reviews.csv rows: vocabulary condition, comparator, outcome, window and measure.

    Parameters
    ----------
    reviews : list of Row
        Curated review rows (``.data`` dict and ``.where`` file:line).
    source_of : dict
        source_url -> source_id.
    log : callable
        ``log(section, message)`` of the converter.
    prov : dict
        Provenance map to extend (``reviews/<result_id>`` -> file:line).

    Returns
    -------
    list of dict
        Output rows (numbers copied as read).
    """
    out = []
    counter: dict[str, int] = defaultdict(int)
    seen: dict[str, set[str]] = defaultdict(set)
    for r in reviews:
        d = r.data
        counter[d["review_id"]] += 1
        rid = f"{d['review_id']}:r{counter[d['review_id']]:02d}"
        cond, cdetail, crule = map_review_condition(d["condition"])
        comp, comp_rule = map_comparator(d["comparison"])
        outcome, odetail, orule = map_review_outcome(d["outcome"])
        window, wrule = map_window(d["timepoint_label"])
        measure, mnote, mrule = map_measure(d["measure"])
        i2 = d["i2"]
        if i2 and not _NUMBER.fullmatch(i2):
            # i2 is numeric in the store; a printed bound (">50") moves, verbatim, to the note.
            mnote = (mnote + "; " if mnote else "") + f"I2 printed as '{i2}'"
            log("Reviews", f"`{rid}`: i2 '{i2}' is a bound, not a value: column left blank, "
                "text kept in measure_note")
            i2 = ""
        for kind, raw, value, why in (("condition", d["condition"], cond, crule),
                                      ("comparator", d["comparison"], comp, comp_rule),
                                      ("outcome", d["outcome"], outcome, orule),
                                      ("window", d["timepoint_label"], window, wrule),
                                      ("measure", d["measure"], measure, mrule)):
            if raw not in seen[kind]:
                seen[kind].add(raw)
                log("Reviews", f"{kind} '{raw}' -> {value or 'blank'} ({why})")
        out.append({
            "result_id": rid, "review_id": d["review_id"], "review_label": d["review_label"],
            "year": d["year"], "condition": cond, "condition_detail": cdetail,
            "comparison": d["comparison"], "comparator": comp, "outcome": outcome,
            "outcome_detail": odetail, "timepoint_label": d["timepoint_label"],
            "window": window, "measure": measure, "measure_note": mnote, "scale": d["scale"],
            "estimate": d["estimate"], "ci_lb": d["ci_lb"], "ci_ub": d["ci_ub"],
            "k_studies": d["k_studies"], "n_participants": d["n_participants"], "i2": i2,
            "model": d["model"], "certainty": d["certainty"],
            "source_id": source_of[d["source_url"]], "locator": d["locator"],
        })
        prov[f"reviews/{rid}"] = r.where
    return out
