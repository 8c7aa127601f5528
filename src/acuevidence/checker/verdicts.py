"""Verdicts: each claim judged against the evidence, with its reason and the evidence shown.

Verdicts (:data:`VERDICTS`):

``supported``
    The evidence agrees with the claim's direction and strength.
``overstated``
    The direction agrees but the claim says more than the evidence: strong words ("highly
    effective", "clinically superior", "consistently", "has been shown") where the effect is at
    most slight (below the minimal important difference), or the certainty is low or very low, or
    only moderate for an unhedged strong claim; any benefit claim where the evidence is very
    uncertain or, at low certainty, suggests little or no difference.
``contradicted``
    The evidence favours the comparator, or shows with moderate or high certainty that there is
    little or no difference (below half the minimal important difference); an "evidence is
    unclear" claim where the evidence is of moderate or high certainty.
``off_topic_citation``
    The cited work is about another condition (body region) than the page's topic, or than the
    claim it supports; the reason says which, and whether it matches the other.
``duplicate_citation``
    The same work cited again on the page.
``unverifiable_number``
    A number about research (trials, participants, an effect in %) that matches no review or trial
    in the registry (or only ones of another year or condition).
``not_assessable``
    Nothing in the evidence base answers the claim (no trials for that condition, comparator or
    outcome; an add-on or dose comparison; a number about prevalence; a citation not in the
    registry), or the claim's strength cannot be checked because the certainty is not graded.
    Never a guess presented as a verdict.

How a claim's question is filled in: named dimensions (conditions, comparators, outcomes, time
frames) must each hold — the least favourable verdict across them counts; where the page names no
comparator (or names a family of conditions such as "back pain"), every candidate with data is
tried and the most favourable verdict counts (benefit of the doubt), and the evidence shown lists
what was tried. No outcome named: pain, else function, else responders; no time frame named: the
short term, else the nearest window with data. A claim that summarises a cited review is
judged against that review's registered results first; otherwise against the registry's pooled
analysis of the trials, then published reviews of the same condition.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from ..results import json_safe
from ._lexicon import (
    FAMILY_OF,
    LBP_FAMILY,
    UNSPECIFIED_COMPARATORS,
    UNSPECIFIED_OUTCOMES,
    WINDOW_ORDER,
)
from .claims import Citation, EfficacyClaim, NumericClaim, SafetyClaim, Topic
from .match import CitationMatch, EvidenceBase, EvidenceItem

__all__ = ["VERDICTS", "Verdict", "judge_citations", "judge_efficacy", "judge_number",
           "judge_safety"]

VERDICTS = ("supported", "overstated", "contradicted", "off_topic_citation", "duplicate_citation",
            "unverifiable_number", "not_assessable")
# "Benefit of the doubt" order (best first) and "each must hold" order (worst first).
# A definite finding (even an unfavourable one) ranks above "the strength cannot be checked".
_BEST = {"supported": 0, "overstated": 1, "contradicted": 2, "not_assessable_strength": 3,
         "not_assessable": 4}
_WORST = {"contradicted": 0, "overstated": 1, "not_assessable": 2, "not_assessable_strength": 3,
          "supported": 4}
_CERT = {"very_low": "very low"}


@dataclass(frozen=True)
class Verdict:
    """The verdict on one claim: what, why, and the evidence it rests on."""

    claim_id: str
    verdict: str
    reason: str
    evidence: tuple[EvidenceItem, ...] = ()
    match: CitationMatch | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "claim_id": self.claim_id, "verdict": self.verdict, "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
            "match": self.match.to_dict() if self.match else None, "notes": list(self.notes),
        })


# ---------------------------------------------------------------------------------------------
# One claim against one pooled result
# ---------------------------------------------------------------------------------------------
def _judge_item(claim: EfficacyClaim, e: EvidenceItem) -> tuple[str, str]:
    cert = e.certainty
    c_txt = _CERT.get(cert or "", cert or "not graded")
    mag = e.magnitude
    size = {"none": "little or no difference", "slight": "a slight effect",
            "moderate": "a moderate effect", "large": "a large effect", None: "an effect of "
            "unknown size (scale not stated)"}[mag]
    where = f"{size}, certainty {c_txt}"
    if claim.direction == "uncertain":
        if cert in ("low", "very_low"):
            return "supported", f"the evidence is of {c_txt} certainty ({size})"
        if cert is None:
            return "not_assessable", "the certainty of this result is not graded"
        return "contradicted", f"the evidence is of {c_txt} certainty ({size})"
    if claim.direction == "no_benefit":
        if e.favours and e.significant and mag not in ("none", None) and cert in ("high",
                                                                                 "moderate"):
            return "contradicted", f"acupuncture is better ({where})"
        if mag == "none" and cert in ("high", "moderate"):
            return "supported", where
        if cert in ("low", "very_low"):
            return "overstated", f"the evidence is uncertain ({where})"
        return "not_assessable", where
    # benefit or comparable
    if not e.favours and e.significant:
        return "contradicted", f"the comparator does better ({where})"
    comparable = claim.direction == "comparable"
    if mag == "none" and cert in ("high", "moderate") and not comparable:
        return "contradicted", where
    if cert == "very_low":
        return "overstated", f"the evidence is very uncertain ({size})"
    if cert == "low" and mag == "none" and not comparable:
        return "overstated", f"acupuncture may make little or no difference (certainty {c_txt})"
    if cert is None and not e.significant and not comparable:
        return "overstated", "the published result is not statistically significant"
    if not e.favours and not comparable:
        return "overstated", f"the estimate does not favour acupuncture ({where})"
    if claim.strength == "strong":
        words = ", ".join(f"'{w}'" for w in claim.strength_words) or "strong wording"
        if mag in ("none", "slight") and not comparable:
            return "overstated", f"{words} but the effect is {size} ({c_txt} certainty)"
        if cert in ("low", "very_low"):
            return "overstated", f"{words} but the certainty is {c_txt}"
        if cert == "moderate" and not claim.hedges:
            return "overstated", f"{words} but the certainty is only moderate"
        if cert is None or mag is None:
            return "not_assessable_strength", (f"{words} cannot be checked: "
                                               f"{'certainty not graded' if cert is None else 'effect size on an unknown scale'}")
    return "supported", where


# ---------------------------------------------------------------------------------------------
# Efficacy claims
# ---------------------------------------------------------------------------------------------
def judge_efficacy(claim: EfficacyClaim, ev: EvidenceBase, match: CitationMatch | None,
                   topic: Topic) -> Verdict:
    """Judge an efficacy claim (see the module docstring for how the question is filled in)."""
    notes: list[str] = []
    if claim.design == "add_on":
        return Verdict(claim.id, "not_assessable", "An add-on claim (acupuncture together with "
                       "another treatment vs that treatment alone): the registry does not "
                       "separate add-on designs, so it cannot be checked.")
    if claim.design == "dose":
        return Verdict(claim.id, "not_assessable", "A claim about the number or length of "
                       "sessions: the registry holds no comparisons of doses.")
    if claim.condition_source != "sentence":
        notes.append(f"Condition taken from the {claim.condition_source}.")
    cond_slots = list(claim.conditions) or [()]
    comp_slots = list(claim.comparators) if claim.comparators_named else [
        tuple(UNSPECIFIED_COMPARATORS)]
    out_slots = list(claim.outcomes) if claim.outcomes_named else [tuple(UNSPECIFIED_OUTCOMES)]
    win_slots = list(claim.windows) if claim.windows else [None]
    cited = ev.review_rows(match.id, cited=True) if match and match.kind == "review" else []
    shown: list[EvidenceItem] = []
    slot_results: list[tuple[str, str]] = []
    missing: list[str] = []
    for cslot, kslot, oslot, wslot in itertools.product(cond_slots, comp_slots, out_slots,
                                                        win_slots):
        comps = kslot if claim.comparators_named is False else (kslot,)
        alternatives: list[tuple[str, str]] = []
        # A summary of a cited review is checked against that review's own results first.
        rows = [r for r in cited if _row_fits(r, comps if claim.comparators_named else None,
                                              oslot if claim.outcomes_named else None, wslot)]
        if rows:
            groups: dict[tuple, list[EvidenceItem]] = {}
            for r in rows:
                groups.setdefault((r.comparator, r.outcome, r.window), []).append(r)
            for items in groups.values():
                judged = [(_judge_item(claim, r), r) for r in items]
                (v, why), r = max(judged, key=lambda x: -_WORST[x[0][0]])
                alternatives.append((v, f"{r.describe()}: {why}"))
                shown.extend(items)
        else:
            # The registry's own pooled analyses first; published reviews of the same question
            # only when no trial in the registry answers any alternative of this slot.
            # No outcome named: pain, else function, else responders (the first with data).
            found: list[EvidenceItem] = []
            for out_group in ([oslot] if claim.outcomes_named else [(o,) for o in oslot]):
                for cond in cslot:
                    for comp in comps:
                        for out in out_group:
                            item = _analysis(ev, cond, comp, out, wslot)
                            if item is not None:
                                found.append(item)
                if found:
                    break
            if not found:
                found = [r for cond in cslot for r in ev.review_rows(condition=cond)
                         if any(_row_fits(r, (comp,), (out,), wslot)
                                for comp in comps for out in oslot)]
            for it in found:
                v, why = _judge_item(claim, it)
                alternatives.append((v, f"{it.describe()}: {why}"))
                shown.append(it)
        if not alternatives:
            missing.append(_describe_slot(cslot, comps, oslot, wslot, claim))
            slot_results.append(("not_assessable", "no evidence for "
                                 + _describe_slot(cslot, comps, oslot, wslot, claim)))
            continue
        slot_results.append(min(alternatives, key=lambda a: _BEST[a[0]]))
    verdict, why = min(slot_results, key=lambda a: _WORST[a[0]])
    if verdict == "not_assessable_strength":
        verdict = "not_assessable"
    if verdict == "not_assessable" and not shown:
        reason = "Nothing in the evidence base answers it: " + "; ".join(dict.fromkeys(missing))
        reason += "."
    elif verdict == "not_assessable" and missing:
        found = "; ".join(dict.fromkeys(w for v, w in slot_results if v != "not_assessable"))
        reason = ("Not assessable: part of the claim has no evidence (" +
                  "; ".join(dict.fromkeys(missing)) + ")." +
                  (f" For the rest: {found}." if found else ""))
    else:
        prefix = {"supported": "Supported", "overstated": "Overstated",
                  "contradicted": "Contradicted", "not_assessable": "Not assessable"}[verdict]
        reason = f"{prefix}: {why}."
    if not claim.comparators_named:
        notes.append("No comparator named: every comparison with data was tried and the most "
                     "favourable one counts.")
    if claim.condition_source == "sentence" and topic.families and not (
            {FAMILY_OF.get(t, "general") for s in claim.conditions for t in s}
            & (set(topic.families) | {"general"})):
        notes.append(f"This claim is about another condition than the page's topic "
                     f"({topic.label}).")
    return Verdict(claim.id, verdict, reason, tuple(dict.fromkeys(shown)), match, tuple(notes))


def _analysis(ev: EvidenceBase, cond: str, comp: tuple[str, ...], out: str,
              wslot: tuple[str, ...] | None) -> EvidenceItem | None:
    if wslot is None:  # no time frame named: short term, else the nearest window with data
        for w in WINDOW_ORDER:
            item = ev.analysis(cond, comp, out, w)
            if item is not None:
                return item
        return None
    best = None
    for w in wslot:
        item = ev.analysis(cond, comp, out, w)
        if item is not None and (best is None or _BEST_ORDER(item) < _BEST_ORDER(best)):
            best = item
    return best


def _BEST_ORDER(item: EvidenceItem) -> int:
    return {"high": 0, "moderate": 1, "low": 2, "very_low": 3}.get(item.certainty or "", 4)


def _row_fits(r: EvidenceItem, comps: tuple[tuple[str, ...], ...] | tuple[str, ...] | None,
              outs: tuple[str, ...] | None, wslot: tuple[str, ...] | None) -> bool:
    if comps is not None:
        flat = {t for c in comps for t in (c if isinstance(c, tuple) else (c,))}
        if r.comparator not in flat:
            return False
    if outs is not None:
        ok = False
        for o in outs:
            if o.startswith("other:"):
                ok |= r.outcome == "other" and o.split(":", 1)[1] in r.detail.lower()
            else:
                ok |= r.outcome == o
        if not ok:
            return False
    return wslot is None or not r.window or r.window in wslot


def _term_name(t: str) -> str:
    from ..evidence.vocabulary import ARM_TYPE_LABELS, CONDITION_LABELS, OUTCOME_LABELS

    if t.startswith(("none:", "other:")):
        return t.split(":", 1)[1]
    for labels in (CONDITION_LABELS, ARM_TYPE_LABELS, OUTCOME_LABELS):
        if t in labels:
            return labels[t].lower() if not labels[t].startswith(("NSAID", "TENS")) else labels[t]
    return t.replace("_", " ")


def _names(xs) -> str:
    flat: list[str] = []
    for x in xs:
        group = x if isinstance(x, tuple) else (x,)
        if set(group) == set(LBP_FAMILY):
            name = "low back pain (any duration)"
            if name not in flat:
                flat.append(name)
            continue
        for t in group:
            name = _term_name(t)
            if name not in flat:
                flat.append(name)
    return " / ".join(flat)


def _describe_slot(cslot, comps, oslot, wslot, claim: EfficacyClaim) -> str:
    parts = [_names((cslot,)) if cslot else "the condition"]
    parts.append("vs " + (_names(comps) if claim.comparators_named else "any comparator"))
    parts.append(_names(oslot) if claim.outcomes_named else "pain, function or responders")
    if wslot:
        parts.append(_names(wslot) + " term" if wslot != ("immediate",) else
                     "end of treatment")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# Safety and numbers
# ---------------------------------------------------------------------------------------------
def judge_safety(claim: SafetyClaim, ev: EvidenceBase) -> Verdict:
    """Safety claims are reported as not assessable, saying which trials recorded harms.

    A statement that a treatment is "safe" is a judgement of acceptability that no pooled estimate
    settles, and the registry's adverse-event data are counts from a few trials, too sparse to
    pool; the checker says so rather than guessing.
    """
    conds = {t for slot in claim.conditions for t in slot}
    trials = sorted({t for c, t in ev.harm_reports() if c in conds})
    have = (f" Trials of this condition that recorded adverse events: {', '.join(trials[:8])}"
            f"{' ...' if len(trials) > 8 else ''}." if trials else "")
    return Verdict(claim.id, "not_assessable", "No pooled adverse-event results in the registry "
                   "for this condition, so the safety claim cannot be checked." + have)


def judge_number(claim: NumericClaim, ev: EvidenceBase, match: CitationMatch | None) -> Verdict:
    """Research numbers must trace to the registry; prevalence figures are outside it."""
    if claim.kind == "prevalence":
        return Verdict(claim.id, "not_assessable", f"'{claim.text}' is a prevalence figure; the "
                       "evidence base holds trials of acupuncture, not epidemiology.")
    if claim.unit == "percent":
        return Verdict(claim.id, "unverifiable_number", f"'{claim.text}': no trial or review in "
                       "the registry reports this percentage, and the page does not say which "
                       "study it comes from.")
    trace = ev.trace_number(claim)
    if match is not None:
        own = [m for m in trace.matches if m.startswith(match.id)]
        if own:
            return Verdict(claim.id, "supported", f"'{claim.text}' matches the cited record: "
                           f"{own[0]}.", match=match)
    if trace.matches:
        return Verdict(claim.id, "supported", f"'{claim.text}' matches "
                       f"{'; '.join(trace.matches[:2])}.", match=match)
    extra = (" Ruled out: " + "; ".join(trace.ruled_out[:3]) + ".") if trace.ruled_out else ""
    what = {"participants": "participants", "percent": "%"}.get(claim.unit, claim.unit)
    return Verdict(claim.id, "unverifiable_number", f"'{claim.text}': no review or trial in the "
                   f"registry has {claim.value_text} {what}.{extra}", match=match)


# ---------------------------------------------------------------------------------------------
# Citations
# ---------------------------------------------------------------------------------------------
def judge_citations(cites: tuple[Citation, ...], matches: dict[str, tuple[CitationMatch | None,
                                                                              str]],
                    linked: dict[str, list[EfficacyClaim]], topic: Topic) -> list[Verdict]:
    """Duplicates first, then topic (page and the claims it supports), then registry presence."""
    out: list[Verdict] = []
    seen: list[tuple[Citation, CitationMatch | None]] = []
    from rapidfuzz import fuzz

    for c in cites:
        match, note = matches.get(c.id, (None, ""))
        dup = None
        for prev, pm in seen:
            same_record = match is not None and pm is not None and pm.id == match.id
            same_title = bool(c.title and prev.title and fuzz.ratio(c.title.lower(),
                                                                     prev.title.lower()) >= 95
                              and (not c.year or not prev.year or abs(c.year - prev.year) <= 1))
            if same_record or same_title:
                dup = prev
                break
        seen.append((c, match))
        name = _cite_name(c)
        if dup is not None:
            out.append(Verdict(c.id, "duplicate_citation", f"{name} is cited again: the same "
                               f"work as the citation at '{_short(dup.text)}' earlier on the "
                               "page.", match=match))
            continue
        conds = tuple(match.conditions) if match and match.conditions else tuple(c.conditions)
        fams = {FAMILY_OF.get(t, "general") for t in conds} - {"general"}
        page_fams = set(topic.families)
        claim_fams = set()
        for cl in linked.get(c.id, []):
            if cl.condition_source == "sentence":
                claim_fams |= {FAMILY_OF.get(t, "general") for s in cl.conditions for t in s}
        claim_fams -= {"general"}
        about = ", ".join(sorted(fams)) if fams else ""
        if fams and page_fams and not (fams & page_fams) and not _partly(fams, page_fams):
            matches_claim = bool(claim_fams & fams) if claim_fams else None
            tail = ("; it does match the claim it supports, so the page offers evidence about "
                    "another condition as if it were about its topic" if matches_claim else
                    "; it does not match the claim it supports either" if matches_claim is False
                    else "")
            out.append(Verdict(c.id, "off_topic_citation", f"{name} is about {about}; the page "
                               f"is about {topic.label}{tail}.", match=match))
            continue
        if fams and claim_fams and not (fams & claim_fams) and not _partly(fams, claim_fams):
            out.append(Verdict(c.id, "off_topic_citation", f"{name} is about {about}, which "
                               f"matches the page's topic but not the claim it supports (about "
                               f"{', '.join(sorted(claim_fams))}).", match=match))
            continue
        if match is not None:
            cav = f" Note: {match.caveat}." if match.caveat else ""
            out.append(Verdict(c.id, "supported", f"{name} is in the registry as {match.id} "
                               f"({', '.join(match.agree)} agree)"
                               f"{'; on topic' if fams else ''}.{cav}", match=match))
        else:
            near = f" Near candidates ruled out: {note}." if note else ""
            out.append(Verdict(c.id, "not_assessable", f"{name} is not in the registry, so what "
                               f"it reports cannot be checked.{near}"))
    return out


def _partly(a: set[str], b: set[str]) -> bool:
    """'knee or hip' overlaps 'knee' and 'hip'."""
    return any(x in y or y in x for x in a for y in b)


def _cite_name(c: Citation) -> str:
    who = c.first_author or (c.journal or "").strip() or "The cited work"
    year = f" {c.year}" if c.year else ""
    what = f" ('{_short(c.title)}')" if c.title else ""
    return f"{who}{year}{what}"


def _short(s: str | None, n: int = 70) -> str:
    s = " ".join((s or "").split())
    return s if len(s) <= n else s[: n - 1] + "\u2026"
