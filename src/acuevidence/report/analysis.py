"""One question, answered: analysis set -> pooled result -> certainty -> statement -> absolute effects.

:func:`analyze` is what ``acuevidence analyze`` prints and what every Summary-of-Findings row of the
report is built from, so the report's numbers are the library's numbers by construction.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..evidence.vocabulary import term_label
from ..results import MetaResult, json_safe
from .certainty import DEFAULT_MID, TYPICAL_SD_0_100, Certainty, assess
from .statements import statement

__all__ = ["OUTCOME_PHRASES", "WINDOW_PHRASES", "Finding", "analyze", "comparator_label"]

WINDOW_PHRASES = {
    "immediate": "at the end of treatment",
    "short": "up to 3 months",
    "intermediate": "at 3 to 12 months",
    "long": "after more than 12 months",
    None: "at any follow-up",
}
OUTCOME_PHRASES = {
    "pain": "pain",
    "function": "disability (loss of function)",
    "response": "the chance of a meaningful improvement",
    "quality_of_life": "quality of life",
    "adverse_events": "adverse events",
}
BENEFIT_NEGATIVE = {"pain": True, "function": True}


def comparator_label(comparator: str | tuple[str, ...] | list[str]) -> str:
    """Readable name of a comparator term or group: ``("nsaid", "other_medication")`` ->
    "NSAIDs or other medication"."""
    terms = [comparator] if isinstance(comparator, str) else list(comparator)
    labels = []
    for t in terms:
        base, _, sub = t.partition(":")
        lab = term_label("ARM_TYPES", base)
        if sub:
            lab += f" ({term_label('SHAM_TYPES', sub).lower()})"
        labels.append(lab[0].lower() + lab[1:] if lab[:2] != "NS" and lab[:4] != "TENS" else lab)
    return " or ".join(labels)


@dataclass(frozen=True, eq=False)
class Finding:
    """The answer to one question, with everything a Summary-of-Findings row needs."""

    condition: str
    comparator: str | tuple[str, ...]
    outcome: str
    window: str | None
    aset: Any = None  # AnalysisSet
    result: MetaResult | None = None
    certainty: Certainty | None = None
    statement: str = ""
    empty_message: str | None = None
    n_participants: int | None = None
    absolute: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        return self.result is not None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "condition": self.condition,
            "comparator": self.comparator if isinstance(self.comparator, str)
            else list(self.comparator),
            "outcome": self.outcome, "window": self.window, "available": self.available,
            "statement": self.statement, "empty_message": self.empty_message,
            "n_participants": self.n_participants, "absolute": self.absolute,
            "notes": list(self.notes),
        }
        if self.result is not None:
            out["result"] = self.result.to_dict()
            out["certainty"] = self.certainty.to_dict() if self.certainty else None
            out["analysis_set"] = self.aset.to_dict()
        return json_safe(out)


def analyze(
    source: Any,
    *,
    condition: str,
    comparator: str | tuple[str, ...],
    outcome: str = "pain",
    window: str | None = "short",
    method: str = "REML",
    test: str = "z",
    measure: str | None = None,
    mid: float | None = None,
    override: tuple[str, str] | None = None,
    multi_arm: str = "split",
    include_low_confidence: bool = False,
) -> Finding:
    """Answer one question from the registry (``source``: a Registry or its typed tables).

    An empty selection is not an error here: the finding carries the registry's message ("no
    trials compare X with Y for Z; nearest available: ...") so reports can show it.
    """
    from ..evidence.analysis_sets import select

    try:
        aset = select(source, condition=condition, comparator=comparator, outcome=outcome,
                      window=window, measure=measure, multi_arm=multi_arm,
                      include_low_confidence=include_low_confidence)
    except InputError as e:
        if "no trials compare" not in str(e):
            raise
        return Finding(condition, comparator, outcome, window, empty_message=str(e))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = aset.pool(method=method, test=test)
    notes = tuple(str(w.message) for w in caught)
    d = aset.data
    n = _participants(d)
    m = aset.measure
    cert_measure = m if m in DEFAULT_MID else "MD"
    cmid = mid if mid is not None else DEFAULT_MID.get(cert_measure)
    indirect = []
    if not isinstance(comparator, str) and len(comparator) > 1:
        kinds = sorted({str(a) for a in d.get("arm_2_type", [])} - {"nan"}) if "arm_2_type" in d \
            else []
        if len(kinds) != 1:
            indirect.append(f"Different comparators are pooled together "
                            f"({comparator_label(comparator)}).")
    certainty = assess(result, measure=cert_measure, outcome=outcome,
                       comparator=comparator if isinstance(comparator, str) else comparator[0],
                       n_participants=n, mid=cmid, indirectness=tuple(indirect),
                       egger_p=_egger_p(result), override=override)
    benefit_negative = BENEFIT_NEGATIVE.get(outcome, m not in ("RR", "OR"))
    text = statement(intervention="Acupuncture", comparator=comparator_label(comparator),
                     outcome=OUTCOME_PHRASES.get(outcome, outcome.replace("_", " ")),
                     timeframe=WINDOW_PHRASES.get(window, ""), estimate=result.estimate,
                     measure=cert_measure, certainty=certainty, mid=cmid,
                     benefit_is_negative=benefit_negative)
    return Finding(condition, comparator, outcome, window, aset=aset, result=result,
                   certainty=certainty, statement=text, n_participants=n,
                   absolute=_absolute(result, aset), notes=notes)


def _participants(d) -> int | None:
    total = 0
    for _, row in d.iterrows():
        n1 = row.get("n_1") if row.get("n_1") == row.get("n_1") else row.get("total_1")
        n2 = row.get("n_2") if row.get("n_2") == row.get("n_2") else row.get("total_2")
        if n1 is None or n2 is None or n1 != n1 or n2 != n2:
            return None
        total += int(n1) + int(n2)
    return total


def _egger_p(result: MetaResult) -> float | None:
    """Egger's regression test (classic weighted regression on the SE) for k >= 10."""
    if result.k < 10:
        return None
    from ..bias import regtest

    return float(regtest(result, model="lm").p_value)


def _absolute(result: MetaResult, aset: Any) -> dict[str, Any]:
    """Effects on the scales patients know: points on 0-100, responders per 100."""
    m = aset.measure
    out: dict[str, Any] = {"measure": m}
    if m == "MD" and aset.scale and "0-100" in str(aset.scale):
        out.update(points=result.estimate, points_lower=result.ci_lower,
                   points_upper=result.ci_upper, scale="0-100",
                   text=_points_text(result.estimate, result.ci_lower, result.ci_upper))
    elif m == "MD":
        out.update(text=f"MD {result.estimate:.2f} on {aset.scale or 'the trials’ scale'}")
    elif m == "SMD":
        sd = TYPICAL_SD_0_100
        out.update(points=result.estimate * sd, points_lower=(result.ci_lower or math.nan) * sd,
                   points_upper=(result.ci_upper or math.nan) * sd, scale="0-100 (approx.)",
                   text=_points_text(result.estimate * sd, (result.ci_lower or math.nan) * sd,
                                     (result.ci_upper or math.nan) * sd)
                   + f" (SMD {result.estimate:.2f} re-expressed with a typical SD of {sd:g} "
                     "points)")
    elif m in ("RR", "OR"):
        d = aset.data
        ev, tot = d["events_2"].sum(skipna=True), d["total_2"].sum(skipna=True)
        rr = math.exp(result.estimate)
        out.update(ratio=rr, ratio_lower=math.exp(result.ci_lower or math.nan),
                   ratio_upper=math.exp(result.ci_upper or math.nan))
        if tot and tot > 0:
            cr = float(ev) / float(tot)
            if m == "RR":
                # A risk cannot exceed 1 however large the ratio's upper bound.
                with_acu = min(1.0, cr * rr)
                lo = min(1.0, cr * out["ratio_lower"])
                hi = min(1.0, cr * out["ratio_upper"])
            else:
                def odds(c: float, o: float) -> float:
                    return c * o / (1 - c + c * o)
                with_acu, lo, hi = (odds(cr, rr), odds(cr, out["ratio_lower"]),
                                    odds(cr, out["ratio_upper"]))
            out.update(control_per_100=100 * cr, acupuncture_per_100=100 * with_acu,
                       difference_per_100=100 * (with_acu - cr),
                       difference_lower=100 * (lo - cr), difference_upper=100 * (hi - cr),
                       text=f"{100 * with_acu:.0f} per 100 with acupuncture vs {100 * cr:.0f} "
                            f"per 100 with the comparator ({100 * (with_acu - cr):+.0f} per 100; "
                            f"95% CI {100 * (lo - cr):+.0f} to {100 * (hi - cr):+.0f})")
    return out


def _points_text(est: float, lo: float | None, hi: float | None) -> str:
    def f(x: float | None) -> str:
        return "-" if x is None or not math.isfinite(x) else f"{abs(x):.1f}"

    word = "lower" if est < 0 else "higher"
    return (f"{f(est)} points {word} on 0-100 (95% CI {f(lo)} "
            f"{'lower' if (lo or 0) < 0 else 'higher'} to {f(hi)} "
            f"{'lower' if (hi or 0) < 0 else 'higher'})")
