"""GRADE-style certainty of evidence, proposed from the statistics and shown with its reasons.

Evidence from randomized trials starts at *high* and is rated down one or two levels per domain:

* **Risk of bias** — where judgements exist: the share of the analysis weight that comes from trials
  at high risk (> 50 %: one level; > 75 % with the rest unclear: two). Where none are recorded and
  participants could not be blinded (comparator is not a sham) while the outcome is self-rated
  (pain, function, global impression), one level: patients who know their treatment rate their own
  pain. A sham comparison without judgements is not rated down, but the reason says so.
* **Inconsistency** — I^2 >= 50 % and a prediction interval that crosses the decision threshold
  (the null); two levels when I^2 >= 75 % and the prediction interval spans both an important
  benefit and an important harm.
* **Imprecision** — the CI crosses the minimal important difference (MID: 10 points on a 0-100
  pain scale by default; for SMD 0.5; for ratios 0.75 / 1.25) on one side of the null and a
  negligible effect, or contains both important benefit and important harm (two levels); or the
  number of participants is below the optimal information size (OIS).
* **Indirectness** — populations or comparators mixed in one analysis (the reasons are passed in).
* **Publication bias** — only assessed with >= 10 trials: Egger's test p < 0.10 rates down one level.

A review team may judge differently: :func:`assess` takes an ``override`` (level and reason), and the
result keeps the proposed rating next to the final one.

References
----------
Guyatt GH et al. (2011). GRADE guidelines: 4-8 (risk of bias, imprecision, inconsistency,
    indirectness, publication bias). J Clin Epidemiol 64:407-415, 1283-1316.
Schünemann HJ et al. (2023). Completing 'Summary of findings' tables and grading the certainty of
    the evidence. Cochrane Handbook, chapter 14.
Furlan AD et al. (2015). 2015 updated method guideline for systematic reviews in the Cochrane Back
    and Neck Group. Spine 40:1660-1673. (MID of 10-15 points on 0-100 pain scales)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..results import MetaResult, json_safe

__all__ = [
    "DEFAULT_MID",
    "LEVELS",
    "Certainty",
    "Downgrade",
    "assess",
    "optimal_information_size",
]

LEVELS = ("high", "moderate", "low", "very_low")
LEVEL_LABELS = {"high": "High", "moderate": "Moderate", "low": "Low", "very_low": "Very low"}
DEFAULT_MID = {"MD": 10.0, "SMD": 0.5, "RR": 0.25, "OR": 0.25}
SELF_RATED = {"pain", "function", "global_impression", "quality_of_life", "response"}
BLINDED_COMPARATORS = {"sham"}
# Typical SD of pain on a 0-100 scale in back-pain trials, for the optimal information size.
TYPICAL_SD_0_100 = 22.0
OIS_SMD = 400  # GRADE's rule of thumb for continuous outcomes analysed as SMD


@dataclass(frozen=True)
class Downgrade:
    """One GRADE domain: how many levels it rates down (0-2) and why, in one sentence."""

    domain: str
    levels: int
    reason: str


@dataclass(frozen=True)
class Certainty:
    """The certainty rating with its reasons; ``proposed`` is the rating before any override."""

    level: str
    proposed: str
    domains: tuple[Downgrade, ...]
    override_reason: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self.level]

    @property
    def reasons(self) -> list[str]:
        """The sentences of the domains that rated the evidence down."""
        return [d.reason for d in self.domains if d.levels > 0]

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "level": self.level, "label": self.label, "proposed": self.proposed,
            "override_reason": self.override_reason,
            "domains": [d.__dict__ for d in self.domains], "notes": list(self.notes),
        })


def optimal_information_size(measure: str, mid: float, sd: float = TYPICAL_SD_0_100,
                             alpha: float = 0.05, power: float = 0.8) -> int:
    """Participants needed by one adequately powered trial to detect ``mid`` (both arms)."""
    from scipy import stats

    z = float(stats.norm.isf(alpha / 2) + stats.norm.ppf(power))
    if measure == "MD":
        return int(math.ceil(2 * 2 * (z * sd / mid) ** 2))
    return OIS_SMD


def assess(
    result: MetaResult,
    *,
    measure: str,
    outcome: str,
    comparator: str,
    n_participants: int | None = None,
    mid: float | None = None,
    high_risk_weight: float | None = None,
    unclear_risk_weight: float | None = None,
    indirectness: tuple[str, ...] = (),
    egger_p: float | None = None,
    override: tuple[str, str] | None = None,
) -> Certainty:
    """Propose a GRADE certainty for one pooled result (see the module docstring for the rules).

    Parameters
    ----------
    result : MetaResult
        The pooled result, on the analysis scale (MD on 0-100 for pain, SMD, or log ratio).
    measure : {"MD", "SMD", "RR", "OR"}
    outcome, comparator : str
        Vocabulary terms (they decide whether blinding was possible and the outcome self-rated).
    n_participants : int, optional
        Participants in the analysis (for the optimal information size).
    mid : float, optional
        Minimal important difference on the analysis scale (default :data:`DEFAULT_MID`).
    high_risk_weight, unclear_risk_weight : float, optional
        Share (0-1) of the weight from trials judged at high / unclear risk of bias; None when no
        judgements are recorded.
    indirectness : tuple of str
        Sentences describing mixed populations / comparators (each rates down; max two levels).
    egger_p : float, optional
        p-value of Egger's test (only used when k >= 10).
    override : (level, reason), optional
        A review team's rating and its recorded reason.
    """
    if measure not in DEFAULT_MID:
        raise InputError(f"Certainty needs measure MD, SMD, RR or OR; got {measure!r}.",
                         column="measure")
    mid = float(DEFAULT_MID[measure] if mid is None else mid)
    if mid <= 0:
        raise InputError("The minimal important difference must be positive.", column="mid")
    notes: list[str] = []
    domains = [
        _risk_of_bias(high_risk_weight, unclear_risk_weight, outcome, comparator),
        _inconsistency(result, measure, mid),
        _imprecision(result, measure, mid, n_participants, notes),
        _indirectness(indirectness),
        _publication_bias(result, egger_p),
    ]
    total = sum(d.levels for d in domains)
    proposed = LEVELS[min(total, 3)]
    level, why = proposed, None
    if override is not None:
        level, why = override
        if level not in LEVELS:
            raise InputError(f"Unknown certainty level {level!r}; use one of {', '.join(LEVELS)}.",
                             column="override")
        if not why or not str(why).strip():
            raise InputError("An override needs its reason.", column="override")
    return Certainty(level, proposed, tuple(domains), why, tuple(notes))


def _risk_of_bias(high: float | None, unclear: float | None, outcome: str,
                  comparator: str) -> Downgrade:
    if high is not None:
        share = 100 * high
        if high > 0.75 or (high > 0.5 and (unclear or 0) + high > 0.95):
            return Downgrade("risk of bias", 2, f"{share:.0f}% of the weight comes from trials at "
                             "high risk of bias.")
        if high > 0.5:
            return Downgrade("risk of bias", 1, f"More than half of the weight ({share:.0f}%) "
                             "comes from trials at high risk of bias.")
        return Downgrade("risk of bias", 0, f"{share:.0f}% of the weight comes from trials at "
                         "high risk of bias.")
    if comparator.split(":")[0] not in BLINDED_COMPARATORS and outcome in SELF_RATED:
        return Downgrade("risk of bias", 1, "Participants knew which treatment they received and "
                         f"rated their own {outcome.replace('_', ' ')}, which can exaggerate "
                         "effects (no blinding is possible against this comparator).")
    return Downgrade("risk of bias", 0, "No risk-of-bias judgements are recorded for these "
                     "trials; the comparison was blinded (sham), so it was not rated down.")


def _favourable_threshold(measure: str, mid: float) -> tuple[float, float]:
    """Analysis-scale values of an important benefit (negative) and harm (positive)."""
    if measure in ("RR", "OR"):
        return math.log(1 - mid), math.log(1 + mid)
    return -mid, mid


def _inconsistency(r: MetaResult, measure: str, mid: float) -> Downgrade:
    if r.k < 2:
        return Downgrade("inconsistency", 0, "A single trial: consistency cannot be assessed.")
    benefit, harm = _favourable_threshold(measure, mid)
    if r.pi_lower is None or r.pi_upper is None:
        crosses = False
        both_important = False
    else:
        crosses = r.pi_lower < 0 < r.pi_upper
        both_important = r.pi_lower < benefit and r.pi_upper > harm
    if r.i2 >= 75 and both_important:
        return Downgrade("inconsistency", 2, f"The trials disagree a lot (I\u00b2 = {r.i2:.0f}%) "
                         "and the prediction interval spans both important benefit and harm.")
    if r.i2 >= 50 and crosses:
        return Downgrade("inconsistency", 1, f"The trials' results differ (I\u00b2 = {r.i2:.0f}%) "
                         "and a new trial could find no benefit (the prediction interval crosses "
                         "no effect).")
    return Downgrade("inconsistency", 0, f"The trials' results are consistent enough "
                     f"(I\u00b2 = {r.i2:.0f}%).")


def _imprecision(r: MetaResult, measure: str, mid: float, n: int | None,
                 notes: list[str]) -> Downgrade:
    benefit, harm = _favourable_threshold(measure, mid)
    lo, hi = r.ci_lower, r.ci_upper
    if lo is None or hi is None:
        return Downgrade("imprecision", 2, "No confidence interval could be computed.")
    if lo < benefit and hi > harm:
        return Downgrade("imprecision", 2, "The confidence interval includes both an important "
                         "benefit and an important harm.")
    ois = optimal_information_size(measure, mid) if measure in ("MD", "SMD") else None
    small = n is not None and ois is not None and n < ois
    if (lo < benefit < hi) or (lo < harm < hi):
        extra = f" and only {n} participants took part (fewer than the {ois} needed)" if small \
            else ""
        return Downgrade("imprecision", 2 if small else 1, "The confidence interval includes "
                         "both an important effect and a negligible one" + extra + ".")
    if small:
        return Downgrade("imprecision", 1, f"Only {n} participants took part, fewer than the "
                         f"{ois} an adequately powered trial would need.")
    if n is None and ois is not None:
        notes.append("The number of participants is unknown: the optimal information size "
                     "was not checked.")
    return Downgrade("imprecision", 0, "The confidence interval is narrow enough for a "
                     "conclusion.")


def _indirectness(reasons: tuple[str, ...]) -> Downgrade:
    if not reasons:
        return Downgrade("indirectness", 0, "The trials' populations and comparators match the "
                         "question.")
    return Downgrade("indirectness", min(len(reasons), 2), " ".join(reasons))


def _publication_bias(r: MetaResult, egger_p: float | None) -> Downgrade:
    if r.k < 10:
        return Downgrade("publication bias", 0, f"Not assessable with {r.k} trial(s) (a "
                         "small-study test needs at least 10).")
    if egger_p is None:
        return Downgrade("publication bias", 0, "No small-study test was run.")
    if egger_p < 0.10:
        return Downgrade("publication bias", 1, f"Smaller trials report larger effects (Egger's "
                         f"test p = {egger_p:.3f}), suggesting missing negative trials.")
    return Downgrade("publication bias", 0, f"No sign of small-study effects (Egger's test "
                     f"p = {egger_p:.2f}).")
