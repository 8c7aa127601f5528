"""Follow-up windows of analysis sets: which time points belong to which window, and which one a
study contributes.

Time points in the registry are weeks after randomisation (``timepoint_weeks``). The windows follow
the Cochrane Back and Neck Group (Furlan et al. 2009; Furlan et al. 2005, CD001351):

==============  ===================================================  ======================
window          time points it holds (weeks after randomisation)     centre (weeks)
==============  ===================================================  ======================
immediate       ``T - 1 <= t <= T + 1`` with ``T`` the study's       ``T``
                treatment length (``treatment_weeks``; else
                ``n_sessions / sessions_per_week``), or a label
                that says "end of treatment" / "post-treatment"
short           ``0 < t <= 13`` (up to 3 months)                     6.5
intermediate    ``13 < t <= 52`` (over 3 up to 12 months)            32.5
long            ``t > 52`` (over 12 months)                          104 (2 years)
==============  ===================================================  ======================

* The immediate window overlaps the short one, as in the Cochrane reviews: an end-of-treatment
  assessment at week 6 serves both. The week of tolerance *before* ``T`` absorbs treatment lengths
  that the curation derived from sessions per week (GERAC: 10 sessions at about 2 a week = 5 weeks,
  assessed at week 6); assessments earlier during treatment are not "immediate".
* 3 months = 13 weeks and 12 months = 52 weeks (months x 52 / 12), the conversion the curation
  uses. The long window has no upper end; its nominal centre is 2 years, the usual long-term
  assessment.
* Baseline (week 0) belongs to no window.
* A row whose ``timepoint_weeks`` is blank is placed by its ``timepoint_label`` when the label says
  clearly when it was measured: "end of treatment", "post-treatment", "6 months", "week 4",
  "24 months", "48 h", "5.5 to 7 years" (a range: its midpoint), "2 weeks after treatment" (with a
  known treatment length). Anything else ("whole trial", "end of follow-up (...; see notes)") is
  excluded with the reason.

One time point per study and window: the one closest to the window's centre (``"centre"``; a tie
goes to the later one), or the ``"latest"`` or ``"earliest"`` in the window.

References
----------
Furlan AD, Pennick V, Bombardier C, van Tulder M (2009). 2009 updated method guidelines for
    systematic reviews in the Cochrane Back Review Group. Spine 34:1929-1941.
Furlan AD, van Tulder MW, Cherkin DC, et al. (2005). Acupuncture and dry-needling for low back
    pain. Cochrane Database Syst Rev CD001351.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "WINDOWS",
    "WEEKS_PER_MONTH",
    "SHORT_UPPER_WEEKS",
    "INTERMEDIATE_UPPER_WEEKS",
    "LONG_CENTRE_WEEKS",
    "IMMEDIATE_TOLERANCE_WEEKS",
    "TIMEPOINT_RULES",
    "Timepoint",
    "treatment_weeks",
    "resolve_timepoint",
    "in_window",
    "window_centre",
    "main_window",
    "choose_timepoint",
]

WINDOWS: tuple[str, ...] = ("immediate", "short", "intermediate", "long")
TIMEPOINT_RULES: tuple[str, ...] = ("centre", "latest", "earliest")
# Months -> weeks as the curation converts them: 3 mo = 13, 6 mo = 26, 12 mo = 52.
WEEKS_PER_MONTH = 52.0 / 12.0
SHORT_UPPER_WEEKS = 13.0
INTERMEDIATE_UPPER_WEEKS = 52.0
# The long window is open-ended; 2 years is its nominal centre (the usual long-term assessment).
LONG_CENTRE_WEEKS = 104.0
# "Immediate" = up to 1 week after the end of treatment; the same tolerance before the end absorbs
# treatment lengths derived from sessions per week.
IMMEDIATE_TOLERANCE_WEEKS = 1.0


@dataclass(frozen=True)
class Timepoint:
    """Where a row sits in time: ``weeks`` after randomisation (None if unknown), whether it is an
    end-of-treatment assessment, and how the weeks were obtained (``how``: empty when the row's
    own ``timepoint_weeks`` was used)."""

    weeks: float | None
    end_of_treatment: bool
    how: str = ""


def treatment_weeks(study: dict[str, Any]) -> tuple[float | None, str]:
    """The study's treatment length in weeks and where it came from."""
    tw = study.get("treatment_weeks")
    if tw is not None and tw > 0:
        return float(tw), "treatment_weeks"
    ns, spw = study.get("n_sessions"), study.get("sessions_per_week")
    if ns and spw and ns > 0 and spw > 0:
        return float(ns) / float(spw), f"n_sessions / sessions_per_week = {ns:g} / {spw:g}"
    return None, ""


_EOT = re.compile(r"\b(end of (the )?(treatment|therapy|intervention|sessions|course)|"
                  r"post[- ]?treatment|after (the )?(last|final) (session|treatment)|"
                  r"after (the )?(treatment|therapy|intervention)\b|"
                  r"immediately after (the )?(treatment|intervention|sessions?))\b", re.I)
_BASELINE = re.compile(r"\b(baseline|enrolment|enrollment|pre[- ]?treatment)\b", re.I)
_NUM = r"(\d+(?:\.\d+)?)"
_UNIT = (r"(h|hrs?|hours?|d|days?|wk|wks|weeks?|mo|mos|months?|y|yrs?|years?)\b")
_RANGE = re.compile(_NUM + r"\s*(?:to|-|–)\s*" + _NUM + r"[\s-]*" + _UNIT, re.I)
_AMOUNT = re.compile(_NUM + r"[\s-]*" + _UNIT, re.I)
_WEEK_N = re.compile(r"\bweek\s*" + _NUM, re.I)
_AFTER_TREATMENT = re.compile(_NUM + r"[\s-]*" + _UNIT + r"\s+(?:after|post)[- ]?(?:the\s+)?"
                              r"(?:end of\s+)?(?:treatment|therapy|intervention)", re.I)
_VAGUE = re.compile(r"see notes|whole trial|end of follow[- ]?up|during|throughout|various", re.I)


def _to_weeks(value: float, unit: str) -> float:
    u = unit.lower()
    if u.startswith("h"):
        return value / (7.0 * 24.0)
    if u.startswith("d"):
        return value / 7.0
    if u.startswith("w"):
        return value
    if u.startswith("m"):
        return value * WEEKS_PER_MONTH
    return value * 52.0


def resolve_timepoint(weeks: float | None, label: str | None,
                      treatment: float | None) -> tuple[Timepoint | None, str]:
    """Place a row in time from its ``timepoint_weeks`` and ``timepoint_label``.

    Returns the :class:`Timepoint`, or ``None`` and the reason it cannot be placed.
    """
    text = (label or "").strip()
    # "6 weeks post treatment" is a follow-up, not the end of treatment.
    eot = bool(_EOT.search(text)) and not _AFTER_TREATMENT.search(text)
    if weeks is not None:
        return Timepoint(float(weeks), eot), ""
    if not text:
        return None, "no time point (timepoint_weeks and timepoint_label blank)"
    if _BASELINE.search(text) and not _AMOUNT.search(text):
        return Timepoint(0.0, False, f"label {text!r} = baseline"), ""
    if _VAGUE.search(text):
        return None, f"time point unclear (timepoint_weeks blank, label {text!r})"
    m = _AFTER_TREATMENT.search(text)
    if m:
        if treatment is None:
            return None, (f"label {text!r} counts from the end of treatment, but the "
                          "treatment length is unknown")
        w = treatment + _to_weeks(float(m.group(1)), m.group(2))
        return Timepoint(w, False, f"label {text!r} = treatment {treatment:g} wk + "
                         f"{m.group(1)} {m.group(2)} = {w:g} wk"), ""
    if eot:
        if treatment is None:
            return Timepoint(None, True, f"label {text!r} = end of treatment"), ""
        return Timepoint(treatment, True, f"label {text!r} = end of treatment "
                         f"(week {treatment:g})"), ""
    m = _RANGE.search(text)
    if m:
        lo = _to_weeks(float(m.group(1)), m.group(3))
        hi = _to_weeks(float(m.group(2)), m.group(3))
        w = (lo + hi) / 2.0
        return Timepoint(w, False, f"label {text!r} = {lo:g} to {hi:g} wk, midpoint "
                         f"{w:g} wk"), ""
    found = {round(_to_weeks(float(a), u), 6) for a, u in _AMOUNT.findall(text)}
    found |= {float(a) for a in _WEEK_N.findall(text)}
    if len(found) == 1:
        w = found.pop()
        return Timepoint(w, False, f"label {text!r} = {w:g} wk"), ""
    if len(found) > 1:
        return None, f"time point ambiguous (timepoint_weeks blank, label {text!r})"
    return None, f"time point unclear (timepoint_weeks blank, label {text!r})"


def window_centre(window: str, treatment: float | None) -> float | None:
    """The centre of a window in weeks after randomisation (None: immediate, length unknown)."""
    if window == "immediate":
        return treatment
    if window == "short":
        return SHORT_UPPER_WEEKS / 2.0
    if window == "intermediate":
        return (SHORT_UPPER_WEEKS + INTERMEDIATE_UPPER_WEEKS) / 2.0
    return LONG_CENTRE_WEEKS


def in_window(tp: Timepoint, window: str, treatment: float | None) -> tuple[bool, str]:
    """Whether a time point belongs to ``window``; when not, the reason (for the log)."""
    w = tp.weeks
    if window == "immediate":
        if tp.end_of_treatment:
            return True, ""
        if treatment is None:
            return False, ("the treatment length is unknown and the label does not say "
                           "'end of treatment'")
        assert w is not None
        ok = treatment - IMMEDIATE_TOLERANCE_WEEKS <= w <= treatment + IMMEDIATE_TOLERANCE_WEEKS
        return ok, "" if ok else (f"week {w:g} is not within 1 week of the end of treatment "
                                  f"(week {treatment:g})")
    if w is None:
        return False, "weeks unknown"
    if w <= 0:
        return False, "baseline"
    if window == "short":
        ok = w <= SHORT_UPPER_WEEKS
    elif window == "intermediate":
        ok = SHORT_UPPER_WEEKS < w <= INTERMEDIATE_UPPER_WEEKS
    else:
        ok = w > INTERMEDIATE_UPPER_WEEKS
    return ok, "" if ok else f"week {w:g} is outside the {window} window"


def main_window(tp: Timepoint) -> str | None:
    """The one non-overlapping window (short/intermediate/long) of a time point."""
    w = tp.weeks
    if w is None or w <= 0:
        return None
    if w <= SHORT_UPPER_WEEKS:
        return "short"
    if w <= INTERMEDIATE_UPPER_WEEKS:
        return "intermediate"
    return "long"


def choose_timepoint(weeks: list[float], window: str, rule: str,
                     treatment: float | None) -> tuple[float, str]:
    """Pick one of the available time points (weeks) of a study; return it and the reason."""
    avail = sorted(set(weeks))
    if rule == "latest":
        return avail[-1], "latest in the window"
    if rule == "earliest":
        return avail[0], "earliest in the window"
    centre = window_centre(window, treatment)
    if centre is None or (isinstance(centre, float) and math.isnan(centre)):
        return avail[-1], "latest in the window (its centre is unknown)"
    # Ties go to the later time point (more follow-up), hence the key on -w.
    best = min(avail, key=lambda w: (abs(w - centre), -w))
    return best, f"closest to the window's centre (week {centre:g})"
