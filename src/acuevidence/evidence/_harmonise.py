"""Harmonisation of registry rows for analysis sets: instruments and their ranges, the common
0-100 pain scale, the sign rule, and SDs / SEs derived with :mod:`acuevidence.conversions`.

Rules (each one is logged by :mod:`acuevidence.evidence.analysis_sets`):

* **Instrument and range.** The instrument is read from the ``scale`` text (VAS, NRS, RMDQ, ODI,
  HFAQ, WOMAC ...); the range from ``scale_min``/``scale_max``, else from the text ("0-10",
  "0-100", "mm" = 0-100). A range the curation only presumed ("0-10 presumed") is used and said so.
* **The 0-100 pain scale.** Pain intensity on a 0-10 or 0-100 scale (VAS, NRS, CPGS pain intensity,
  SF-36 bodily pain, symptom bothersomeness) forms one family; 0-10 values (means, SDs, SEs, CIs,
  medians, quartiles, contrast estimates) are multiplied by 10 for mean differences. PROMIS
  T-scores, areas under the curve, WOMAC pain subscales and percentage changes are not on it.
* **Sign.** Continuous outcomes are oriented so that a NEGATIVE effect favours acupuncture:
  values of a ``higher_better`` row (function scores, SF-36, improvement or reduction scores) are
  multiplied by -1; SDs and SEs keep their sign.
* **Percentage changes** ("% reduction", "% improvement") are not scores and never enter.
* **Dispersion.** SD as given; else from the SE (``sd_from_se``), the CI of the mean
  (``sd_from_ci``) or the median with quartiles (``mean_sd_from_quartiles``); each derived value
  is marked.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from .. import conversions as conv

__all__ = [
    "PAIN_100",
    "Instrument",
    "instrument_of",
    "ArmStats",
    "arm_stats",
    "is_percentage_change",
    "higher_better",
    "combine_means",
]

PAIN_100 = "pain 0-100"
# Pain intensity instruments that may be put on one 0-100 scale when their range is 0-10 or 0-100.
_PAIN_INTENSITY = ("VAS", "NRS", "CPGS pain", "SF-36 bodily pain", "bothersomeness")

_INSTRUMENTS: tuple[tuple[str, str], ...] = (
    (r"\bauc\b|area under", "AUC"),
    (r"promis", "PROMIS"),
    (r"t-score", "T-score"),
    (r"womac\s+pain", "WOMAC pain"),
    (r"womac\s+(disability|function|physical)", "WOMAC function"),
    (r"womac\s+(global|total)", "WOMAC total"),
    (r"womac\s+stiffness", "WOMAC stiffness"),
    (r"lequesne", "Lequesne"),
    (r"sf-?36\s+bodily\s+pain", "SF-36 bodily pain"),
    (r"sf-?36\s+(pcs|physical)", "SF-36 PCS"),
    (r"sf-?36\s+(mcs|mental)", "SF-36 MCS"),
    (r"sf-?12\s+(pcs|physical)", "SF-12 PCS"),
    (r"sf-?12\s+(mcs|mental)", "SF-12 MCS"),
    (r"eq-?5d", "EQ-5D"),
    (r"cpgs|von korff", "CPGS pain"),
    (r"bothersomeness", "bothersomeness"),
    (r"pain disability index", "Pain Disability Index"),
    (r"\bmodified\s+rmdq|\bm-?rmdq", "modified RMDQ"),
    (r"\brmdq\b|roland", "RMDQ"),
    (r"\bodi\b|\bodq\b|oswestry", "ODI"),
    (r"hfaq|ffbh|hannover", "HFAQ"),
    (r"\bjoa\b", "JOA"),
    (r"back pain functional scale|\bbpfs\b", "BPFS"),
    (r"pgic|global impression", "PGIC"),
    (r"\bnrs\b|\bnprs\b|numeric", "NRS"),
    (r"\bvas\b|visual analog", "VAS"),
)
_RANGE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(\d+(?:\.\d+)?)(?![\d.])")
_PRESUMED = re.compile(r"presum|suggest|likely|\?|not stated", re.I)
_PERCENT_CHANGE = re.compile(r"%\s*(reduction|improvement|decrease|change)|percent(age)?\s+"
                             r"(reduction|improvement|decrease|change)", re.I)


@dataclass(frozen=True)
class Instrument:
    """An instrument read from a row: its name (``key``), range and whether it is on the common
    0-100 pain scale (``family`` = :data:`PAIN_100`; else the family is the instrument and range).
    ``factor`` converts its values to the family's scale (10 for 0-10 pain)."""

    key: str
    low: float | None
    high: float | None
    range_note: str
    family: str
    factor: float

    @property
    def range_text(self) -> str:
        if self.low is None or self.high is None:
            return "range unknown"
        return f"{self.low:g}-{self.high:g}"


def is_percentage_change(scale: str | None) -> bool:
    """A percentage change from baseline (not a score)."""
    return bool(_PERCENT_CHANGE.search(scale or ""))


def instrument_of(row: dict[str, Any], outcome: str) -> Instrument:
    """The instrument of an outcome or contrast row (see the module docstring)."""
    text = row.get("scale") or row.get("outcome_detail") or ""
    low_text = text.lower()
    key = next((name for pat, name in _INSTRUMENTS if re.search(pat, low_text)), None)
    if key is None:
        key = re.split(r"[(,;:]|\s\d", text, maxsplit=1)[0].strip() or "unnamed scale"
    lo, hi = row.get("scale_min"), row.get("scale_max")
    note = "scale_min/scale_max"
    if lo is None or hi is None:
        m = _RANGE.search(text)
        if m:
            lo, hi = float(m.group(1)), float(m.group(2))
            note = "range read from the scale text"
        elif re.search(r"\bmm\b", low_text):
            lo, hi = 0.0, 100.0
            note = "range read from the scale text (mm: 0-100)"
        else:
            lo = hi = None
            note = "range unknown"
        if lo is not None and _PRESUMED.search(text):
            note += ", presumed by the curation"
    family = f"{key} {lo:g}-{hi:g}" if lo is not None and hi is not None else key
    factor = 1.0
    if (outcome == "pain" and key in _PAIN_INTENSITY and lo == 0 and hi in (10.0, 100.0)
            and not is_percentage_change(text)):
        family = PAIN_100
        factor = 100.0 / hi
    return Instrument(key, lo, hi, note, family, factor)


def higher_better(row: dict[str, Any]) -> bool:
    """Whether the row's numbers are higher-is-better (they are flipped)."""
    return (row.get("direction") or "lower_better") == "higher_better"


@dataclass
class ArmStats:
    """Mean, SD and n of one arm on the analysis scale (flipped, rescaled), with the derivations."""

    n: float | None
    mean: float | None
    sd: float | None
    derivations: list[str] = field(default_factory=list)
    problem: str = ""


def _finite(x: Any) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(float(x))


def arm_stats(row: dict[str, Any], *, factor: float, flip: bool) -> ArmStats:
    """Mean/SD/n of a continuous outcome row on the analysis scale; SD derived when needed."""
    n = row.get("n")
    derivations: list[str] = []
    mean, sd = row.get("mean"), row.get("sd")
    if not _finite(n):
        return ArmStats(None, None, None, [], "no n for the arm")
    n = float(n)
    if n < 2:
        return ArmStats(n, None, None, [], f"n = {n:g} is too small")
    if not _finite(sd) or sd <= 0:
        se, lo, hi = row.get("se"), row.get("ci_lb"), row.get("ci_ub")
        med, q1, q3 = row.get("median"), row.get("q1"), row.get("q3")
        if _finite(sd) and sd <= 0:
            return ArmStats(n, None, None, [], f"SD = {sd:g} (not usable)")
        if _finite(se) and se > 0:
            sd = float(conv.sd_from_se(se, n))
            derivations.append(f"SD = SE x sqrt(n) = {se:g} x sqrt({n:g}) = {sd:.4g} "
                               "(sd_from_se)")
        elif _finite(lo) and _finite(hi) and hi > lo:
            level = row.get("ci_level") or 0.95
            sd = float(conv.sd_from_ci(lo, hi, n, level=level))
            derivations.append(f"SD from the {level:.0%} CI of the mean {lo:g} to {hi:g}, n = "
                               f"{n:g}: {sd:.4g} (sd_from_ci, t quantile for n < 60)")
            if not _finite(mean):
                mean = (lo + hi) / 2.0
                derivations.append(f"mean = CI midpoint {mean:.4g}")
        elif _finite(med) and _finite(q1) and _finite(q3) and q3 > q1:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                est = conv.mean_sd_from_quartiles(med, q1, q3, n)
            mean, sd = float(est["mean"].iloc[0]), float(est["sd"].iloc[0])
            derivations.append(f"mean, SD from median {med:g} (IQR {q1:g} to {q3:g}), n = {n:g}:"
                               f" {mean:.4g}, {sd:.4g} (mean_sd_from_quartiles, Luo/Wan)")
            derivations.extend(str(w.message) for w in caught)
        else:
            return ArmStats(n, None, None, [], "no SD, SE, CI or quartiles")
    if not _finite(mean):
        if _finite(row.get("median")):
            return ArmStats(n, None, None, [], "median without quartiles")
        return ArmStats(n, None, None, [], "no mean")
    mean, sd = float(mean) * factor, float(sd) * factor
    if flip:
        mean = -mean
    return ArmStats(n, mean, sd, derivations)


def combine_means(ns: list[float], means: list[float],
                  sds: list[float]) -> tuple[float, float, float]:
    """Merge groups into one: Cochrane Handbook 6.5.2.10 (Table 6.5.a), applied pairwise.

    ``N = N1 + N2``, ``M = (N1 M1 + N2 M2) / N``,
    ``SD = sqrt(((N1 - 1) SD1^2 + (N2 - 1) SD2^2 + N1 N2 / N (M1^2 + M2^2 - 2 M1 M2)) / (N - 1))``.
    """
    n, m, s = ns[0], means[0], sds[0]
    for n2, m2, s2 in zip(ns[1:], means[1:], sds[1:], strict=True):
        tot = n + n2
        var = ((n - 1) * s * s + (n2 - 1) * s2 * s2 + n * n2 / tot * (m - m2) ** 2) / (tot - 1)
        m = (n * m + n2 * m2) / tot
        n, s = tot, math.sqrt(var)
    return n, m, s
