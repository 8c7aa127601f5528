"""Controlled vocabularies of the evidence base.

Every coded column of the evidence CSV files (``docs/evidence-schema.md``) takes its values from one
of the vocabularies below. Each vocabulary is a ``*_LABELS`` dict (term -> readable label, in a fixed
order, for reports) and a tuple of its terms (``CONDITIONS = tuple(CONDITION_LABELS)``), so the order
of the tuple is the order of the dict.

:func:`check_term` validates a value and, for an unknown one, names the closest terms;
:func:`term_label` gives the readable label of a term.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType

from acuevidence.errors import InputError

__all__ = [
    "ACUPUNCTURE_TYPES",
    "ACUPUNCTURE_TYPE_LABELS",
    "ARM_TYPES",
    "ARM_TYPE_LABELS",
    "CONDITIONS",
    "CONDITION_LABELS",
    "CONFIDENCE",
    "CONFIDENCE_LABELS",
    "DIRECTIONS",
    "DIRECTION_LABELS",
    "LABELS",
    "MEASURES",
    "MEASURE_LABELS",
    "OUTCOMES",
    "OUTCOME_LABELS",
    "P_VALUE_QUALIFIERS",
    "P_VALUE_QUALIFIER_LABELS",
    "ROB_JUDGEMENTS",
    "ROB_JUDGEMENT_LABELS",
    "ROB_TOOLS",
    "ROB_TOOL_LABELS",
    "SHAM_TYPES",
    "SHAM_TYPE_LABELS",
    "SOURCE_KINDS",
    "SOURCE_KIND_LABELS",
    "STATUS",
    "STATUS_LABELS",
    "VALUE_TYPES",
    "VALUE_TYPE_LABELS",
    "VOCABULARIES",
    "WINDOWS",
    "WINDOW_BOUNDS_WEEKS",
    "WINDOW_LABELS",
    "check_term",
    "term_label",
]

CONDITION_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "chronic_nonspecific_lbp": "Chronic non-specific low back pain",
        "subacute_nonspecific_lbp": "Subacute non-specific low back pain",
        "acute_nonspecific_lbp": "Acute non-specific low back pain",
        "lbp_unspecified": "Low back pain (duration or type not stated)",
        "sciatica": "Sciatica",
        "lumbar_disc_herniation": "Lumbar disc herniation",
        "spinal_stenosis": "Lumbar spinal stenosis",
        "hip_oa": "Hip osteoarthritis",
        "knee_oa": "Knee osteoarthritis",
        "knee_or_hip_oa": "Knee or hip osteoarthritis",
        "plantar_fasciitis": "Plantar fasciitis",
        "ankle_sprain": "Ankle sprain",
        "myofascial_pain": "Myofascial pain",
        "mixed_spinal_pain": "Mixed spinal pain (low back and neck)",
        "carpal_tunnel_syndrome": "Carpal tunnel syndrome",
        "mixed_chronic_pain": "Mixed chronic pain conditions",
        "other": "Other condition",
    }
)
"""Condition (population) of a trial or a pooled result -> readable label.

``lbp_unspecified`` is used when the duration or the non-specific nature of the low back pain is
not stated; the curated free text is kept in ``condition_detail``."""

CONDITIONS: tuple[str, ...] = tuple(CONDITION_LABELS)
"""Terms of :data:`CONDITION_LABELS`."""

ARM_TYPE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "acupuncture": "Acupuncture",
        "sham": "Sham (placebo) acupuncture",
        "usual_care": "Usual or routine care",
        "no_treatment": "No treatment",
        "waitlist": "Waiting list",
        "nsaid": "NSAID",
        "other_medication": "Other medication",
        "physiotherapy": "Physiotherapy",
        "exercise": "Exercise",
        "tens": "TENS",
        "conventional": "Guideline-based conventional therapy",
        "massage": "Massage",
        "self_care": "Self-care education",
        "other": "Other",
    }
)
"""Role of a trial arm -> readable label. In add-on designs (acupuncture + X vs X) the X-only arm
takes X's type (for example ``exercise``)."""

ARM_TYPES: tuple[str, ...] = tuple(ARM_TYPE_LABELS)
"""Terms of :data:`ARM_TYPE_LABELS`."""

SHAM_TYPE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "penetrating": "Penetrating sham (superficial, minimal or non-acupoint needling)",
        "non_penetrating": "Non-penetrating sham needle (Streitberger, Park, toothpick)",
        "non_needle": "Non-needle sham (sham laser, sham TENS, inactive electrodes)",
        "unclear": "Sham of unclear type",
    }
)
"""Kind of sham control -> readable label; only filled for arms of type ``sham``."""

SHAM_TYPES: tuple[str, ...] = tuple(SHAM_TYPE_LABELS)
"""Terms of :data:`SHAM_TYPE_LABELS`."""

ACUPUNCTURE_TYPE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "manual": "Manual needle acupuncture",
        "electro": "Electroacupuncture",
        "auricular": "Auricular acupuncture",
        "laser": "Laser acupuncture",
        "motion_style": "Motion-style acupuncture",
        "fire_needle": "Fire-needle acupuncture",
        "trigger_point": "Trigger-point needling",
        "scalp": "Scalp acupuncture",
        "other": "Other acupuncture type",
    }
)
"""Type of the (main) acupuncture intervention of a trial -> readable label."""

ACUPUNCTURE_TYPES: tuple[str, ...] = tuple(ACUPUNCTURE_TYPE_LABELS)
"""Terms of :data:`ACUPUNCTURE_TYPE_LABELS`."""

OUTCOME_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "pain": "Pain",
        "function": "Function / disability",
        "response": "Responders",
        "quality_of_life": "Quality of life (physical or overall)",
        "quality_of_life_mental": "Quality of life (mental)",
        "adverse_events": "Adverse events",
        "global_impression": "Global impression of change",
        "analgesic_use": "Analgesic use",
        "other": "Other outcome",
    }
)
"""Outcome domain -> readable label; ``outcome_detail`` keeps the curated text."""

OUTCOMES: tuple[str, ...] = tuple(OUTCOME_LABELS)
"""Terms of :data:`OUTCOME_LABELS`."""

VALUE_TYPE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "final": "Value at the time point",
        "change_from_baseline": "Change from baseline",
        "events": "Events / total",
    }
)
"""Kind of an arm-level value -> readable label. Baseline rows are ``final`` at week 0."""

VALUE_TYPES: tuple[str, ...] = tuple(VALUE_TYPE_LABELS)
"""Terms of :data:`VALUE_TYPE_LABELS`."""

DIRECTION_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "lower_better": "Lower values are better",
        "higher_better": "Higher values are better",
    }
)
"""Sign convention of a row's numbers -> readable label."""

DIRECTIONS: tuple[str, ...] = tuple(DIRECTION_LABELS)
"""Terms of :data:`DIRECTION_LABELS`."""

CONFIDENCE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "high": "High: read verbatim and checked",
        "medium": "Medium: derived, secondary or partly verified",
        "low": "Low: unverified or doubtful",
    }
)
"""Confidence in a curated value -> readable label."""

CONFIDENCE: tuple[str, ...] = tuple(CONFIDENCE_LABELS)
"""Terms of :data:`CONFIDENCE_LABELS`."""

MEASURE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "MD": "Mean difference",
        "SMD": "Standardized mean difference",
        "RR": "Risk ratio",
        "OR": "Odds ratio",
        "RD": "Risk difference (proportion)",
        "HR": "Hazard ratio",
    }
)
"""Effect measure of a contrast or pooled result -> readable label. Risk differences are
proportions (0.034 = 3.4 percentage points)."""

MEASURES: tuple[str, ...] = tuple(MEASURE_LABELS)
"""Terms of :data:`MEASURE_LABELS`."""

WINDOW_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "immediate": "Immediate (up to 1 week after the end of treatment)",
        "short": "Short term (up to 3 months after randomisation)",
        "intermediate": "Intermediate term (3 to 12 months after randomisation)",
        "long": "Long term (more than 12 months after randomisation)",
    }
)
"""Follow-up window (Cochrane Back and Neck group definitions) -> readable label. The immediate
window is anchored at the end of treatment, the others at randomisation, as the analysis sets
apply them (:mod:`acuevidence.evidence._windows`)."""

WINDOWS: tuple[str, ...] = tuple(WINDOW_LABELS)
"""Terms of :data:`WINDOW_LABELS`."""

WINDOW_BOUNDS_WEEKS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "immediate": (-1.0, 1.0),
        "short": (0.0, 13.0),
        "intermediate": (13.0, 52.0),
        "long": (52.0, float("inf")),
    }
)
"""Window -> (lower, upper] bounds in weeks: for ``immediate`` relative to the end of treatment
(one week either side), for the others after randomisation (3 months = 13 weeks, 12 months = 52
weeks, the conversion the curation uses). The immediate window overlaps the short one, as in the
Cochrane reviews."""

SOURCE_KIND_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "primary": "Primary: journal article, abstract or PubMed record (or a copy of one)",
        "secondary": "Secondary: review or evidence table, AHRQ, Cochrane, database synopsis",
        "tertiary": "Tertiary: news summary, blog, forum repost, development log",
        "registry": "Trial registry record",
    }
)
"""Kind of a source page -> readable label."""

SOURCE_KINDS: tuple[str, ...] = tuple(SOURCE_KIND_LABELS)
"""Terms of :data:`SOURCE_KIND_LABELS`."""

STATUS_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "active": "Active",
        "retracted": "Retracted",
    }
)
"""Status of a study or a value row -> readable label."""

STATUS: tuple[str, ...] = tuple(STATUS_LABELS)
"""Terms of :data:`STATUS_LABELS`."""

P_VALUE_QUALIFIER_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "<": "below (upper bound, e.g. P < .001)",
        "<=": "at most",
        ">": "above (lower bound, e.g. P > .2)",
        ">=": "at least",
    }
)
"""Qualifier of a printed p-value -> readable label; blank means the p-value is exact."""

P_VALUE_QUALIFIERS: tuple[str, ...] = tuple(P_VALUE_QUALIFIER_LABELS)
"""Terms of :data:`P_VALUE_QUALIFIER_LABELS`."""

ROB_TOOL_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "rob1": "Cochrane risk-of-bias tool (version 1)",
        "rob2": "Cochrane risk-of-bias tool (version 2)",
    }
)
"""Risk-of-bias tool -> readable label."""

ROB_TOOLS: tuple[str, ...] = tuple(ROB_TOOL_LABELS)
"""Terms of :data:`ROB_TOOL_LABELS`."""

ROB_JUDGEMENT_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "low": "Low risk of bias",
        "some_concerns": "Some concerns",
        "high": "High risk of bias",
        "unclear": "Unclear risk of bias",
    }
)
"""Risk-of-bias judgement -> readable label."""

ROB_JUDGEMENTS: tuple[str, ...] = tuple(ROB_JUDGEMENT_LABELS)
"""Terms of :data:`ROB_JUDGEMENT_LABELS`."""

LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "CONDITIONS": CONDITION_LABELS,
        "ARM_TYPES": ARM_TYPE_LABELS,
        "SHAM_TYPES": SHAM_TYPE_LABELS,
        "ACUPUNCTURE_TYPES": ACUPUNCTURE_TYPE_LABELS,
        "OUTCOMES": OUTCOME_LABELS,
        "VALUE_TYPES": VALUE_TYPE_LABELS,
        "DIRECTIONS": DIRECTION_LABELS,
        "CONFIDENCE": CONFIDENCE_LABELS,
        "MEASURES": MEASURE_LABELS,
        "WINDOWS": WINDOW_LABELS,
        "SOURCE_KINDS": SOURCE_KIND_LABELS,
        "STATUS": STATUS_LABELS,
        "P_VALUE_QUALIFIERS": P_VALUE_QUALIFIER_LABELS,
        "ROB_TOOLS": ROB_TOOL_LABELS,
        "ROB_JUDGEMENTS": ROB_JUDGEMENT_LABELS,
    }
)
"""Vocabulary name -> its term -> label mapping."""

VOCABULARIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {name: tuple(labels) for name, labels in LABELS.items()}
)
"""Vocabulary name (``"CONDITIONS"``, ``"ARM_TYPES"``, ...) -> its terms."""


def _vocabulary(vocabulary_name: str) -> tuple[str, tuple[str, ...]]:
    """Resolve a vocabulary name, case-insensitively (``"conditions"`` works too).

    Parameters
    ----------
    vocabulary_name : str
        Name of the vocabulary, e.g. ``"CONDITIONS"``.

    Returns
    -------
    tuple of (str, tuple of str)
        The canonical name and the terms.

    Raises
    ------
    InputError
        If no vocabulary has that name.
    """
    key = str(vocabulary_name).strip().upper()
    if key not in VOCABULARIES:
        close = difflib.get_close_matches(key, list(VOCABULARIES), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise InputError(
            f"Unknown vocabulary {vocabulary_name!r}.{hint} "
            f"Known vocabularies: {', '.join(VOCABULARIES)}.",
            column=str(vocabulary_name),
        )
    return key, VOCABULARIES[key]


def check_term(vocabulary_name: str, value: str) -> str:
    """Check that ``value`` is a term of a controlled vocabulary.

    Parameters
    ----------
    vocabulary_name : str
        Name of the vocabulary (``"CONDITIONS"``, ``"ARM_TYPES"``, ``"SHAM_TYPES"``,
        ``"ACUPUNCTURE_TYPES"``, ``"OUTCOMES"``, ``"VALUE_TYPES"``, ``"DIRECTIONS"``,
        ``"CONFIDENCE"``, ``"MEASURES"``, ``"WINDOWS"``, ``"SOURCE_KINDS"``, ``"STATUS"``,
        ``"P_VALUE_QUALIFIERS"``, ``"ROB_TOOLS"``, ``"ROB_JUDGEMENTS"``), case-insensitive.
    value : str
        The value to check. Terms are matched exactly (case and spelling).

    Returns
    -------
    str
        ``value`` unchanged, so the call can be used inline.

    Raises
    ------
    InputError
        If ``value`` is not a term of the vocabulary (the message names the closest terms and
        lists the allowed ones), or if the vocabulary does not exist.

    Examples
    --------
    >>> check_term("CONDITIONS", "knee_oa")
    'knee_oa'
    """
    name, terms = _vocabulary(vocabulary_name)
    if isinstance(value, str) and value in terms:
        return value
    # Matching close terms on the lower-cased text catches case slips ("MD" vs "md") too.
    lowered = {t.lower(): t for t in terms}
    probe = str(value).strip().lower()
    close = [lowered[c] for c in difflib.get_close_matches(probe, list(lowered), n=3, cutoff=0.6)]
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise InputError(
        f"{value!r} is not a term of {name}.{hint} Allowed: {', '.join(terms)}.",
        column=name,
    )


def term_label(vocabulary_name: str, value: str) -> str:
    """Readable label of a vocabulary term, for reports.

    Parameters
    ----------
    vocabulary_name : str
        Name of the vocabulary, as for :func:`check_term`.
    value : str
        A term of that vocabulary.

    Returns
    -------
    str
        The label, e.g. ``"Knee osteoarthritis"`` for ``("CONDITIONS", "knee_oa")``.

    Raises
    ------
    InputError
        If the term or the vocabulary is unknown.
    """
    name, _ = _vocabulary(vocabulary_name)
    return LABELS[name][check_term(name, value)]
