"""Mapping rules used by ``import_shared_evidence.py`` (curated text -> controlled vocabularies).

Every rule is a small pure function that returns the mapped value **and** the reason, so the
converter can log each decision (IMPORT_LOG.md). None of them touches a number: they map codes
and free text, and parse counts only out of text that the schema keeps verbatim next to them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from acuevidence.evidence.vocabulary import (
    ACUPUNCTURE_TYPES,
    ARM_TYPES,
    CONDITIONS,
    OUTCOMES,
)

# --------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------

_NONSPECIFIC = re.compile(r"non-?specific", re.IGNORECASE)
# In titles and notes "non-specific" must qualify the back pain ("non-specific points" of a
# sham does not count).
_NONSPECIFIC_LBP = re.compile(r"non-?specific (?:acute )?(?:low[- ]back|LBP|back)", re.IGNORECASE)
# "non-specific not stated" mentions the word but says the opposite.
_NONSPECIFIC_NEGATED = re.compile(r"non-?specific not stated", re.IGNORECASE)
_BACK_PAIN = re.compile(r"\bLBP\b|low back|back pain|lumbar", re.IGNORECASE)


def map_condition(raw: str, context: str) -> tuple[str, str, str]:
    """Map a curated condition to :data:`CONDITIONS`.

    Parameters
    ----------
    raw : str
        The curated ``condition`` cell (a term, ``acute_lbp`` or ``other:<text>``).
    context : str
        Title and notes of the study, searched for "non-specific" when the curated term is
        ``acute_lbp``.

    Returns
    -------
    tuple of str
        ``(term, condition_detail, rule)``.
    """
    if raw in CONDITIONS:
        return raw, "", "curated term kept"
    if raw == "acute_lbp":
        # The vocabulary has one acute term. The curators' acute_lbp category (CURATION.md
        # section 1 lists its trials) maps to it; whether the trial itself says "non-specific"
        # is logged, so the mapping can be revisited per trial.
        stated = bool(_NONSPECIFIC_LBP.search(context))
        why = "non-specific stated in title/notes" if stated else (
            "non-specific not stated in title/notes; curated acute LBP category mapped to the "
            "only acute LBP term"
        )
        return "acute_nonspecific_lbp", "acute_lbp", f"acute_lbp -> acute_nonspecific_lbp ({why})"
    if not raw.startswith("other:"):
        raise ValueError(f"condition {raw!r} is neither a vocabulary term nor 'other:<text>'")
    text = raw[len("other:"):].strip()
    low = text.lower()
    if "myofascial" in low:
        return "myofascial_pain", text, "'myofascial' in text"
    if "knee_or_hip_oa" in low or ("knee" in low and "hip" in low and
                                   ("oa" in low or "osteoarthritis" in low)):
        return "knee_or_hip_oa", text, "knee and hip osteoarthritis named"
    if "neck" in low and ("back" in low or "spinal" in low):
        return "mixed_spinal_pain", text, "low back and neck (spinal) pain named together"
    if _BACK_PAIN.search(text):
        nonspecific = bool(_NONSPECIFIC.search(text)) and not _NONSPECIFIC_NEGATED.search(text)
        if nonspecific and "chronic" in low:
            return "chronic_nonspecific_lbp", text, "chronic and non-specific both stated"
        if nonspecific and "subacute" in low:
            return "subacute_nonspecific_lbp", text, "subacute and non-specific both stated"
        if nonspecific and "acute" in low:
            return "acute_nonspecific_lbp", text, "acute and non-specific both stated"
        missing = []
        if not nonspecific:
            missing.append("non-specific not stated")
        if not re.search(r"\b(sub)?acute\b|chronic", low):
            missing.append("duration category not stated" + (
                " (range spans categories)" if re.search(r"\d+\s*-\s*\d+\s*weeks", low) else ""))
        return "lbp_unspecified", text, "low back pain; " + "; ".join(missing)
    return "other", text, "no vocabulary term fits"


# --------------------------------------------------------------------------------------------
# Acupuncture type
# --------------------------------------------------------------------------------------------

# Refinements of the main folder's acupuncture_type 'other' (CURATION.md section 3 lists what
# 'other' stands for); searched in title + notes, first match wins.
_OTHER_REFINEMENTS: tuple[tuple[str, str, str], ...] = (
    (r"laser", "laser", "laser acupuncture"),
    (r"fire needle", "fire_needle", "fire-needle acupuncture"),
    (r"trigger point", "trigger_point", "trigger-point needling"),
    (r"scalp acupuncture|YNSA", "scalp", "Yamamoto New Scalp Acupuncture"),
)
_OTHER_DETAILS: tuple[tuple[str, str], ...] = (
    (r"buccal", "buccal (cheek) acupuncture"),
    (r"manual \+ electro pooled", "manual and electroacupuncture arms pooled"),
    (r"acupuncture AND medicine", "acupuncture combined with (unspecified) medicine"),
)
# Free-text types of leg/studies.csv: the earliest-named needling kind decides (the text names
# the experimental intervention first). 'acupuncture' not preceded by a letter or hyphen, so
# that the word inside 'electroacupuncture' does not count as plain acupuncture.
_FREE_TEXT_KINDS: tuple[tuple[str, str], ...] = (
    ("electro", r"electro-?acupuncture|\bEA\b"),
    ("laser", r"(?<!needle and )laser acupuncture"),
    ("manual", r"manual|needle|needling|\bTCM\b|traditional Chinese|(?<![a-z-])acupuncture"),
)


def map_acupuncture_type(raw: str, context: str) -> tuple[str, str, str]:
    """Map a curated acupuncture type to :data:`ACUPUNCTURE_TYPES`.

    Parameters
    ----------
    raw : str
        The curated ``acupuncture_type`` cell: a term, or free text (``leg/`` folder).
    context : str
        Title and notes of the study (used to refine ``other``).

    Returns
    -------
    tuple of str
        ``(term, acupuncture_detail, rule)``.
    """
    if raw == "other":
        for pattern, term, detail in _OTHER_REFINEMENTS:
            if re.search(pattern, context, re.IGNORECASE):
                return term, detail, f"curated 'other'; '{pattern}' in title/notes"
        for pattern, detail in _OTHER_DETAILS:
            if re.search(pattern, context, re.IGNORECASE):
                return "other", detail, f"curated 'other' kept; '{pattern}' in notes"
        return "other", "", "curated 'other' kept; no refinement found"
    if raw in ACUPUNCTURE_TYPES:
        return raw, "", "curated term kept"
    hits = []
    for term, pattern in _FREE_TEXT_KINDS:
        m = re.search(pattern, raw, re.IGNORECASE)
        if m:
            hits.append((m.start(), term, m.group(0)))
    if not hits:
        return "other", raw, "free text names no needling kind"
    _, term, word = min(hits)
    rule = f"free text; earliest-named kind '{word}' -> {term}"
    if term == "manual" and word.lower() == "acupuncture":
        rule += " (plain 'acupuncture', no electrical stimulation stated, read as manual)"
    return term, raw, rule


# --------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------


def parse_sessions(text: str) -> tuple[str, str]:
    """Base number of planned sessions from the curated sessions text.

    Parameters
    ----------
    text : str
        Curated ``n_sessions`` text, e.g. ``"10 (+5 for partial responders)"``.

    Returns
    -------
    tuple of str
        ``(n_sessions, rule)``; ``n_sessions`` is the digits as printed, or blank.
    """
    t = text.strip()
    if not t:
        return "", "blank"
    if re.fullmatch(r"\d+", t):
        return t, "plain number"
    m = re.fullmatch(r"(\d+)\s*\(.*\)", t)
    if m:
        return m.group(1), "number before the parenthesis (extras not counted)"
    m = re.fullmatch(r"up to (\d+)", t)
    if m:
        return m.group(1), "'up to N': N planned at most"
    m = re.match(r"(\d+)\s*-\s*\d+", t)
    if m:
        return m.group(1), "range: lower bound taken as the base course"
    return "", "not numeric"


# --------------------------------------------------------------------------------------------
# Outcomes and scales
# --------------------------------------------------------------------------------------------

# 'other:<text>' outcome names that a vocabulary term covers; the rest stay 'other'.
_OTHER_OUTCOMES: dict[str, tuple[str, str]] = {
    "quality_of_life_mental": ("quality_of_life_mental", "vocabulary term"),
    "global_impression": ("global_impression", "vocabulary term"),
    "analgesic_use": ("analgesic_use", "vocabulary term"),
    "global_transition": ("global_impression", "global transition = patient's rating of change"),
    "patient global assessment": ("global_impression", "patient global assessment of change"),
    "overall pain": ("pain", "a pain rating"),
    "back pain": ("pain", "a pain intensity rating (back pain NRS)"),
    "TUG responder": ("response", "a responder definition (Timed Up and Go)"),
}


def map_outcome(raw: str) -> tuple[str, str, str]:
    """Map a curated outcome name to :data:`OUTCOMES`.

    Parameters
    ----------
    raw : str
        Curated ``outcome`` cell.

    Returns
    -------
    tuple of str
        ``(term, outcome_detail, rule)``.
    """
    if raw in OUTCOMES:
        return raw, "", "curated term kept"
    if raw.startswith("other:"):
        text = raw[len("other:"):]
        if text in _OTHER_OUTCOMES:
            term, why = _OTHER_OUTCOMES[text]
            return term, text, f"other:{text} -> {term} ({why})"
        return "other", text, f"other:{text} kept as other (no term fits without reinterpretation)"
    raise ValueError(f"outcome {raw!r} is neither a vocabulary term nor 'other:<text>'")


_RANGE = re.compile(r"(?<![\d.])(\d+)\s*-\s*(\d+)(?![\d.])")


def scale_range(scale: str) -> tuple[str, str, str]:
    """Instrument range printed in the scale text ("VAS 0-100 mm" -> 0, 100).

    Parameters
    ----------
    scale : str
        Curated ``scale`` cell.

    Returns
    -------
    tuple of str
        ``(scale_min, scale_max, rule)``; blank bounds when the text gives no single range or
        says the range is presumed.
    """
    if re.search(r"presum|suggest|not stated|\?", scale, re.IGNORECASE):
        return "", "", "range presumed/not stated in the text"
    if re.search(r"\bAUC\b", scale):
        return "", "", "AUC: the printed range belongs to the underlying VAS, not to the value"
    ranges = _RANGE.findall(scale)
    if len(ranges) != 1:
        return "", "", "no single range in the text" if not ranges else "several ranges"
    lo, hi = ranges[0]
    if int(lo) >= int(hi):
        return "", "", "not an instrument range"
    return lo, hi, "single 'a-b' range in the scale text"


def ci_level(text: str) -> tuple[str, str]:
    """Confidence level of a row's interval (0.95 unless the locator states another level).

    Parameters
    ----------
    text : str
        Locator and notes of the row.

    Returns
    -------
    tuple of str
        ``(ci_level, rule)``.
    """
    m = re.search(r"(\d{2}(?:\.\d)?)\s*%\s*(?:CI|confidence)", text, re.IGNORECASE)
    if m and m.group(1) != "95":
        return str(float(m.group(1)) / 100), f"{m.group(1)}% stated"
    return "0.95", "default 0.95"


# --------------------------------------------------------------------------------------------
# Arms
# --------------------------------------------------------------------------------------------

# Ordered keyword rules for the kind of sham (first match wins), applied to the arm's own label
# and description only: a study-level text also describes the verum arm ("superficial
# acupuncture" in Macdonald 1983 is the treatment, not the placebo).
_SHAM_RULES: tuple[tuple[str, str], ...] = (
    ((r"streitberger|non-?penetrating|toothpick|non-?insertive|without insertion|guide tube|"
     r"park sham"), "non_penetrating"),
    (r"laser|\bTENS\b|patch electrodes|dummy|dead-battery", "non_needle"),
    ((r"superficial|minimal|non-?acupoint|non-acupuncture point|unspecific needling|"
     r"non-specific points|without electrical stimulation"), "penetrating"),
)


def sham_type(arm_text: str) -> tuple[str, str]:
    """Kind of sham by explicit keyword rules.

    Parameters
    ----------
    arm_text : str
        Label and description (the quoted notes) of the sham arm.

    Returns
    -------
    tuple of str
        ``(sham_type, rule)``.
    """
    # A sham that mixes penetrating and non-penetrating needles (Berman 2004) is unclear.
    if re.search(r"(?<!non-)(?<!non)\bpenetrating\b", arm_text, re.IGNORECASE) and re.search(
        r"non-?penetrating", arm_text, re.IGNORECASE
    ):
        return "unclear", "arm text names both penetrating and non-penetrating sham"
    for pattern, term in _SHAM_RULES:
        m = re.search(pattern, arm_text, re.IGNORECASE)
        if m:
            return term, f"'{m.group(0)}' in arm text -> {term}"
    return "unclear", "no keyword in the arm's label or description"


def normalise_arm_type(curated: str, label: str) -> tuple[str, str]:
    """Arm type of the vocabulary from the curated one (massage / self-care split out of other).

    Parameters
    ----------
    curated : str
        Curated ``arm_type``.
    label : str
        Arm label.

    Returns
    -------
    tuple of str
        ``(arm_type, rule)``.
    """
    if curated == "other":
        if re.search(r"massage", label, re.IGNORECASE):
            return "massage", "curated other; label names massage"
        if re.search(r"self-?care", label, re.IGNORECASE):
            return "self_care", "curated other; label names self-care"
    if curated not in ARM_TYPES:
        raise ValueError(f"arm_type {curated!r} is not in ARM_TYPES")
    return curated, "curated term kept"


# --------------------------------------------------------------------------------------------
# Contrasts
# --------------------------------------------------------------------------------------------

_CONFIDENCE_RULES: tuple[tuple[str, str, str], ...] = (
    (r"unverified|could not (?:be )?verif", "low", "unverified"),
    (r"\bderived\b", "medium", "estimate derived"),
    ((r"sign inferred|restored by analogy|signed figure itself was not seen|"
     r"sign convention (?:not stated|per paper|as the paper gives it)"), "medium",
     "sign inferred / not stated"),
    (r"\bAHRQ\b|secondary source|read on a news summary|from a news summary", "medium",
     "secondary/tertiary source named for the value"),
)


def contrast_confidence(text: str) -> tuple[str, str]:
    """Confidence of a contrast (the source has no column): ``high`` unless the row says why not.

    Parameters
    ----------
    text : str
        Scale, time point label, locator and notes of the row.

    Returns
    -------
    tuple of str
        ``(confidence, rule)``.
    """
    for pattern, level, why in _CONFIDENCE_RULES:
        m = re.search(pattern, text, re.IGNORECASE)
        if m:
            return level, f"{why} ('{m.group(0)}')"
    return "high", "read as printed"


_ARM_SEGMENT = r"{arm}\s*(?:=|\()\s*([^,;)]*)"
_SIGN_UNKNOWN = re.compile(r"sign convention (?:not stated|per paper|as the paper gives it)", re.IGNORECASE)


def arm_segment(text: str, arm: str) -> str:
    """Description of ``arm1``/``arm2`` in a contrast's text ("arm1 = Hegu acupuncture")."""
    m = re.search(_ARM_SEGMENT.format(arm=arm), text, re.IGNORECASE)
    return m.group(1).strip() if m else ""


def contrast_direction(scale: str, context: str, arm1_text: str, arm2_text: str, measure: str,
                       outcome: str, arm_rows: list[str]) -> tuple[str, str]:
    """Whether higher or lower values of a contrast's scale are better.

    Parameters
    ----------
    scale : str
        Curated scale text of the contrast.
    context : str
        Locator, notes and study-level caveats of the row (searched for an unknown sign).
    arm1_text, arm2_text : str
        Labels (and segment text) of the two arms.
    measure : str
        Effect measure.
    outcome : str
        Vocabulary outcome.
    arm_rows : list of str
        Directions of the same study's arm-level rows with the same outcome and scale text.

    Returns
    -------
    tuple of str
        ``(direction, rule)``; blank direction when the text leaves it open.
    """
    s = scale.lower()
    m = _SIGN_UNKNOWN.search(scale + " " + context)
    if m:
        return "", f"'{m.group(0)}': the sign convention of the estimate is not known"
    m = re.search(r"(positive|negative) favours ([\w-]+)", s)
    if m:
        word = m.group(2)
        # The arm named after "favours" is looked up in arm1's description first: "positive
        # favours acupuncture" with arms "Acupuncture" and "Minimal acupuncture" means arm1.
        seg1 = (arm_segment(scale, "arm1") or arm1_text).lower()
        seg2 = (arm_segment(scale, "arm2") or arm2_text).lower()
        named = re.compile(rf"\b{re.escape(word)}\b")
        favoured = 0
        if word == "arm1" or named.search(seg1):
            favoured = 1
        elif word == "arm2" or named.search(seg2):
            favoured = 2
        if favoured:
            positive_is_better_for_arm1 = (m.group(1) == "positive") == (favoured == 1)
            term = "higher_better" if positive_is_better_for_arm1 else "lower_better"
            return term, f"'{m.group(0)}' with '{word}' = arm{favoured}"
    if re.search(r"higher\s*(?:=\s*)?better", s):
        return "higher_better", "'higher better' in scale"
    if re.search(r"lower\s*(?:=\s*)?better|higher worse", s):
        return "lower_better", "'lower better'/'higher worse' in scale"
    if re.search(r"improvement|reduction|decrease", s):
        return "higher_better", "scale counts improvement/reduction (positive = better)"
    if measure in ("RR", "RD", "OR") and outcome == "response":
        return "higher_better", "responder measure: more responders is better"
    if len(set(arm_rows)) == 1:
        return arm_rows[0], "same as the study's arm rows on this scale"
    if re.search(r"\bVAS\b|\bNRS\b|\bODI\b|RMDQ|WOMAC|pain disability|NPRS|kinesiophobia|"
                 r"Swiss Spinal Stenosis", scale, re.IGNORECASE):
        return "lower_better", "symptom/disability scale (lower = better)"
    if re.search(r"SF-36|SF-12|HFAQ|FFbH|EQ-5D|JOA", scale, re.IGNORECASE):
        return "higher_better", "health/function score (higher = better)"
    return "", "not determinable from the text"


def split_p_value(raw: str) -> tuple[str, str]:
    """Split a printed p-value into value and qualifier ("<0.001" -> "0.001", "<").

    Parameters
    ----------
    raw : str
        Curated ``p_value`` cell.

    Returns
    -------
    tuple of str
        ``(p_value, p_value_qualifier)``; the digits are kept exactly as printed.
    """
    m = re.fullmatch(r"\s*(<=|>=|<|>)?\s*([0-9.]*)\s*", raw)
    if not m:
        raise ValueError(f"p-value {raw!r} is not a number with an optional qualifier")
    return m.group(2), m.group(1) or ""


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------

# Host patterns -> kind, first match wins; the reason goes into sources.csv 'note'.
_SOURCE_RULES: tuple[tuple[str, str, str], ...] = (
    (r"ncbi\.nlm\.nih\.gov\.?/books|chiro\.org", "secondary",
     "NCBI Bookshelf AHRQ evidence report (or a mirror of it)"),
    (r"pmc\.ncbi\.nlm\.nih\.gov/articles/PMC\d+/table/CD\d+", "secondary",
     "Cochrane review table (PMC copy)"),
    (r"ichgcp\.net/.*/publications/", "primary", "abstract of a publication (mirror)"),
    (r"crd\.york\.ac\.uk|cochrane|hkiim\.cuhk", "secondary",
     "database synopsis / structured abstract of a review"),
    (r"ichgcp\.net|meddatax\.com|vellito\.com|clinicaltrials\.gov", "registry",
     "trial registry record or a rendering of one"),
    ((r"pubmed|pmc\.ncbi|ncbi\.nlm\.nih\.gov|47\.251\.13\.51|togows|suppr\.wilddata|ebusca|"
     r"unboundmedicine|ai-bt\.com|curehunter|weglot|mdsite\.deno|metajournal|pedro\.org|"
     r"wprim|napstic|mendeley|crossref"), "primary",
     "PubMed/PMC record, abstract database or bibliographic mirror"),
    ((r"jamanetwork|bmj\.com|biomedcentral|lww\.com|elsevier|wiley|hindawi|brieflands|"
     r"jamdsr|jcmp\.yzu|journal-jams|zhenciyanjiu|zhqkyx|deepdyve"), "primary",
     "journal or publisher page"),
    (r"scribd|yumpu|vdocuments|pdfslide|fdokumen|readkong|ilovetranslation", "primary",
     "copy of the article on a document-sharing site"),
    ((r"epocrates|2minutemedicine|clinicalpainadvisor|neurologyadvisor|mdedge|painpluscpn|"
     r"positivehealth|paperexplained|biocloudy|sbinnerweb"), "tertiary",
     "news, summary or aggregator site"),
    ((r"shlhzj|heatonacupuncture|integrative-archives|qimed|chpgroup|painscience|belonismos|"
     r"wizedu"), "tertiary", "forum, blog, practice or Q&A site"),
)


def source_kind(url: str) -> tuple[str, str]:
    """Kind of a source guessed from its address.

    Parameters
    ----------
    url : str
        Curated ``source_url`` (or a non-URL reference).

    Returns
    -------
    tuple of str
        ``(kind, rule)``.
    """
    if not re.match(r"https?://", url):
        return "tertiary", "not a URL: verbatim reference (development log) kept in note"
    for pattern, kind, why in _SOURCE_RULES:
        if re.search(pattern, url, re.IGNORECASE):
            return kind, why
    raise ValueError(f"no source-kind rule for {url!r}; add one to _SOURCE_RULES")


def source_slug(url: str) -> str:
    """Host part of a source id ("pmc.ncbi.nlm.nih.gov" -> "pmc_ncbi_nlm_nih_gov").

    Parameters
    ----------
    url : str
        Curated ``source_url``.

    Returns
    -------
    str
        Lowercase ASCII slug; ``github_log`` / ``ref`` for non-URL references.
    """
    if not re.match(r"https?://", url):
        return "github_log" if "github" in url.lower() else "ref"
    host = urlsplit(url).netloc.lower().split(":")[0].rstrip(".")
    host = re.sub(r"^www\.", "", host)
    return re.sub(r"[^a-z0-9]+", "_", host).strip("_")
