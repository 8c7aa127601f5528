"""Claims in a page: efficacy, numeric and safety statements and citations, with their spans.

Rule-based and explainable: the clean text (:mod:`._text`) is split into sentences; each sentence
is read with the phrase lists of :mod:`._lexicon`. A sentence is an **efficacy claim** when it says
that acupuncture (or "it", "this therapy" right after acupuncture was named) has an effect
("effective", "reduces pain", "relief", "better than") or that the evidence is unclear; questions,
headings (short lines without a verb), mechanisms (qi, endorphins, circulation), the page talking
about itself ("this guide will ...") and sentences inside citations are not claims. What the claim
is about is read from the sentence (condition, comparator after "than"/"compared with", outcome,
time frame, strength and hedging words); a missing condition is taken from the sentence before in
the same paragraph, else from the citation whose summary the sentence is in, else from the page's
topic, and the claim records which.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ._citations import CitationBlock, _Spans, find_citations
from ._lexicon import (
    ADD_ON,
    CERTAINTY_BOASTS,
    COMPARABLE,
    COMPARATOR_CLAUSE_END,
    COMPARATOR_PATTERNS,
    COMPARATOR_TRIGGER,
    CONDITION_PATTERNS,
    DOSE,
    EFFECT_WORDS,
    FAMILY_OF,
    HEDGES,
    INTERVENTION,
    LBP_FAMILY,
    MAGNITUDE_BOASTS,
    MECHANISM,
    NO_BENEFIT,
    OUTCOME_PATTERNS,
    PREVALENCE,
    REPORTING,
    SAFETY,
    TITLE_BODY_PARTS,
    UNCERTAINTY,
    WINDOW_PATTERNS,
)
from ._text import Page, Sentence, sentences
from .claims import Citation, EfficacyClaim, NumericClaim, SafetyClaim, Topic

__all__ = ["Extraction", "extract", "page_topic"]

_VERB = re.compile(
    r"\b(?:is|are|was|were|be|been|has|have|had|can|could|may|might|will|would|does|do|did|"
    r"show\w*|found|provid\w+|reduc\w+|help\w*|improv\w+|work\w*|reliev\w+|suggest\w*|appear\w*|"
    r"seem\w*|indicat\w+|promot\w+|enhanc\w+|support\w*|revealed|concluded|discovered|supplied|"
    r"observed|respond\w*|experienced|reported|showcase\w*|consist\w*|yield\w*|remain\w*|should|"
    r"must|offer\w*|produc\w+|mak\w+|giv\w+)\b", re.IGNORECASE)
_HEADING_START = re.compile(r"^\W*(?:importance|explanation|discussion|recap|overview|summary|"
                            r"introduction|conclusion|research on|factors|final thoughts|brief "
                            r"explanation|causes of|how|what|why|when|who|which)\b", re.IGNORECASE)
_META = re.compile(r"\bthis (?:complete )?guide\b|\bwe will\b|\byou[’']ll (?:discover|learn)\b|"
                   r"\bin this (?:article|post|guide|blog)\b|\bget in touch\b|\bcontact us\b|"
                   r"\bbook (?:an|your) appointment\b|\bcall us\b", re.IGNORECASE)
_ASSERTION = re.compile(r"\b(?:can|could|may|might|will|does|do|did|is|are|was|were)\s+(?:also\s+)?"
                        r"(?:help\s+(?:to\s+)?)?(?:reduce|relieve|improve|provide|be effective|work)\b",
                        re.IGNORECASE)
# Effect words used as topics, not assertions: "the effectiveness of", "whether acupuncture works".
_NOT_ASSERTED = re.compile(
    r"(?<!showcase )(?<!showed )(?<!shows )(?<!show )(?<!demonstrated )(?<!proved )"
    r"(?<!confirmed )(?<!supports )\b(?:the|its|their) (?:potential |overall |clinical )?"
    r"(?:effectiveness|efficacy)(?: and safety)? of\b|"
    r"\bits (?:potential |overall |clinical )?(?:effectiveness|efficacy)\b|"
    r"\b(?:whether|if) (?:or not )?acupuncture (?:really )?(?:works?|is effective|helps?)\b|"
    r"\b(?:for|about|on|of|in) (?:back )?pain relief\b|\bfor (?:the )?relief of\b|"
    r"\bin order to (?:reduce|relieve|alleviate|improve)\b",
    re.IGNORECASE)
_STRONG_EFFECT = re.compile(
    r"\beffective\w*\b|\befficac\w+\b|\bworks? for\b|\buseful\b|\bvaluable\b|\breduc\w+\b|"
    r"\breliev\w+\b|\brelief\b|\bimprov\w+\b|\bsuperior\b|\bbetter\b|\badvantages?\b|"
    r"\bfavou?rable\b|\bpositive (?:results?|assessment|effects?)\b|\bpromising\b|"
    r"\bencouraging\b|\bsuccess\b|\brespond\w*\b|\bless\b(?=[\w -]{0,30}\bpain\b)|"
    r"\bspeed up\b|\benhance\b|\bregression\b|\bpromot\w+\b|\brecovery\b|\bequal to\b|\bcomparable\b|\bviable option\b|"
    r"\bcur(?:es?|ed)\b|"
    r"\bhelps?\b(?=\s+(?:to\s+)?(?:reduce|relieve|manage|ease|treat|with|people|patients|you|"
    r"chronic|acute|low|lower|back|sciatica|knee|hip|neck|pain))", re.IGNORECASE)
_PRONOUN = re.compile(r"\bit\b|\bthis (?:therapy|technique|treatment)\b|\bthe therapy\b|"
                      r"\bthe practice\b", re.IGNORECASE)
_BLOCK_SUBJECT = re.compile(r"\bpatients?\b|\btreatments?\b|\bstudy\b|\breview\b|\bresults?\b",
                            re.IGNORECASE)
_PAIN_EFFECT = re.compile(r"\b(?:reduc\w+|reliev\w+|relief from|less|control\w*|manag\w+)\s+"
                          r"(?:(?:the|your|their|chronic|acute|low(?:er)?|back|leg|knee|level of)\s+)"
                          r"{0,3}pain\b", re.IGNORECASE)
_SHORT_AND_LONG = re.compile(r"\bshort and long[- ]term\b|\bshort- and long-term\b", re.IGNORECASE)
_ALL_STAGES = re.compile(r"\ball stages\b", re.IGNORECASE)
_CHRONIC_CONDITIONS = re.compile(r"\bchronic conditions?\b", re.IGNORECASE)
_CONCESSIVE_CLAUSE = re.compile(r"(?:^|[.•]\s*)(?:although|though|while|despite|even though)\b"
                                r"[^,;]*[,;]", re.IGNORECASE)
_COUNT = re.compile(
    r"(?<![\w.,:;])(\d{1,3}(?:[ ,]\d{3})+|\d+)\s+((?:(?:high-quality|published|randomi[sz]ed|"
    r"controlled|clinical|systematic|individual|different|separate|eligible|small|large|"
    r"independent)\s+){0,4})(trials|RCTs|studies|reviews|meta-analyses|participants|patients|"
    r"people|individuals|subjects|adults)\b", re.IGNORECASE)
_PERCENT = re.compile(r"(?:\b(over|up to|more than|about|nearly|almost|approximately|around|at "
                      r"least)\s+)?(\d+(?:\.\d+)?)\s?(%|percent\b)", re.IGNORECASE)
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
# The clause that reports a finding: its comparators are the claim's (the clause before it often
# lists every comparison the review made).
_FINDING = re.compile(r"\b(?:found|concluded|showed|revealed|reported|suggested?) that\b",
                      re.IGNORECASE)


_WORD = re.compile(r"[A-Za-z]{3,}")
_ANY_CONDITION = re.compile("|".join(f"(?:{t.pattern.pattern})" for t in CONDITION_PATTERNS)
                            + r"|\bchronic conditions?\b", re.IGNORECASE)


@dataclass(frozen=True)
class Extraction:
    """Everything read from the page, before matching."""

    sentences: tuple[Sentence, ...]
    citations: tuple[Citation, ...]
    blocks: tuple[CitationBlock, ...]
    claims: tuple[EfficacyClaim | NumericClaim | SafetyClaim, ...]
    topic: Topic


@dataclass(frozen=True)
class _Mention:
    terms: tuple[str, ...]
    label: str
    start: int
    end: int


def _find(patterns, text: str, masked: list[tuple[int, int]] | None = None) -> list[_Mention]:
    """Non-overlapping mentions, earlier (more specific) patterns first."""
    taken = _Spans()
    for a, b in masked or []:
        taken.add(a, b)
    out: list[_Mention] = []
    for term in patterns:
        for m in term.pattern.finditer(text):
            if taken.overlaps(m.start(), m.end()):
                continue
            taken.add(m.start(), m.end())
            out.append(_Mention(term.terms, term.label, m.start(), m.end()))
    return sorted(out, key=lambda x: x.start)


def page_topic(title: str, text: str, citations: tuple[Citation, ...]) -> Topic:
    """The page's topic: body regions named in its title, else the most mentioned condition."""
    families: list[str] = []
    for pattern, fam in TITLE_BODY_PARTS:
        if pattern.search(title or "") and fam not in families:
            families.append(fam)
    body = text
    for c in citations:  # what the page's own text talks about, not its references
        body = body[:c.start] + " " * (c.end - c.start) + body[c.end:]
    counts: Counter[str] = Counter()
    for m in _find(CONDITION_PATTERNS, body[:200_000]):
        for t in m.terms[:1]:
            counts[FAMILY_OF.get(t, "general")] += 1
    if families and counts:
        # A region named in the title counts when the page's own text talks about it too
        # ("Back, Hip & Leg Pain" over a text about back troubles is a back pain page).
        supported = [f for f in families if counts.get(f)]
        families = supported or families
    if families:
        reason = f"named in the page title ({title!r}) and discussed in its text"
    elif counts:
        fam, n = counts.most_common(1)[0]
        families = [fam]
        reason = f"the condition the page's text mentions most ({n} times)"
    else:
        return Topic((), "not stated", "no condition named in the title or the text")
    conds: list[str] = []
    if "back" in families:
        conds.extend(LBP_FAMILY)
    for t, fam in FAMILY_OF.items():
        if fam in families and fam != "back" and not t.startswith("none:") and t not in conds:
            conds.append(t)
    label = " and ".join(("back pain" if f == "back" else f"{f} pain") for f in families)
    if families == ["back"] and re.search(r"\bleg\b", title or "", re.IGNORECASE):
        label = "back pain (with the leg pain that comes from it)"
    return Topic(tuple(families), label, reason, tuple(conds))


def extract(page: Page) -> Extraction:
    """Read every claim and citation of a page (see the module docstring for the rules)."""
    text = page.text
    sents = sentences(text)
    cites, blocks = find_citations(text, sents)
    topic = page_topic(page.title, text, tuple(cites))
    cite_spans = sorted((c.start, c.end) for c in cites)
    by_id = {c.id: c for c in cites}
    claims: list[EfficacyClaim | NumericClaim | SafetyClaim] = []
    prev_conditions: dict[int, tuple[tuple[str, ...], ...]] = {}
    acu_recent: list[int] = []  # indexes of sentences that named acupuncture
    last_claim_paragraph: int | None = None
    import bisect

    starts = [a for a, _ in cite_spans]

    def in_citation(s: Sentence) -> bool:
        """The whole sentence is a citation (a title, a reference line)."""
        k = bisect.bisect_right(starts, s.start) - 1
        return k >= 0 and s.end <= cite_spans[k][1] + 2

    def overlaps_citation(a: int, b: int) -> bool:
        k = bisect.bisect_right(starts, b) - 1
        return k >= 0 and a < cite_spans[k][1] and cite_spans[k][0] < b

    blocks = sorted(blocks, key=lambda b: b.start)
    block_starts = [b.start for b in blocks]
    cite_starts = [c.start for c in cites]
    line_spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        line_spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    for s in sents:
        low = s.text
        if len(low) < 12 or not _WORD.search(low):
            continue  # "•", "2.", "Comments": nothing to read
        names_acu = bool(INTERVENTION.search(low)) and not _PRONOUN_ONLY(low)
        if re.search(r"acupunct|needling", low, re.IGNORECASE):
            acu_recent.append(s.index)
        context_acu = any(s.index - k <= 2 for k in acu_recent[-3:] if k < s.index)
        block = _block_of(blocks, block_starts, s)
        citation = by_id.get(block.citation_id) if block else None
        if not citation:
            citation = _citation_after(cites, cite_starts, s)
        conds_here = _conditions(s.text, topic)
        if in_citation(s) or _is_heading(s, text, line_spans[s.line]):
            prev_conditions[s.paragraph] = conds_here or prev_conditions.get(s.paragraph, ())
            continue
        meta = bool(_META.search(low)) and not _ASSERTION.search(low)
        # Numbers.
        research_percent = False
        if not meta:
            for claim in _numbers(s, len(claims), conds_here, citation):
                if overlaps_citation(claim.start, claim.end):
                    continue  # page numbers, volumes, years of a reference
                claims.append(claim)
                research_percent |= claim.unit == "percent" and claim.kind == "research"
        # Safety.
        safety_topic = re.search(r"(?:efficacy|effectiveness) and safety of|safety considerations",
                                 low, re.IGNORECASE)
        if not meta and SAFETY.search(low) and not safety_topic and (
                re.search(r"acupunct", low, re.IGNORECASE) or block
                or (_PRONOUN.search(low) and context_acu)):
            claims.append(SafetyClaim(
                id=f"k{len(claims) + 1}", text=s.text, start=s.start, end=s.end,
                conditions=conds_here or prev_conditions.get(s.paragraph, ())
                or _citation_conditions(citation) or _topic_slots(topic),
                comparator_text=tuple(m.label for m in _comparators(s.text)),
                cue=SAFETY.search(low).group(0),
                citation_id=citation.id if citation else None))
        # Efficacy.
        if not meta and not research_percent:
            claim = _efficacy(s, len(claims), names_acu, context_acu, block is not None,
                              conds_here, prev_conditions.get(s.paragraph, ()),
                              last_claim_paragraph == s.paragraph, citation, topic)
            if claim is not None:
                claims.append(claim)
                last_claim_paragraph = s.paragraph
        if conds_here:
            prev_conditions[s.paragraph] = conds_here
    return Extraction(tuple(sents), tuple(cites), tuple(blocks), tuple(claims), topic)


def _PRONOUN_ONLY(text: str) -> bool:
    """True when the only intervention word is a pronoun or "the practice" (needs context)."""
    return not re.search(r"acupunct|needling|this (?:ancient )?(?:chinese )?(?:technique|therapy|"
                         r"treatment)|this treatment mode", text, re.IGNORECASE)


def _block_of(blocks: list[CitationBlock], starts: list[int], s: Sentence) -> CitationBlock | None:
    import bisect

    k = bisect.bisect_right(starts, s.start) - 1
    return blocks[k] if k >= 0 and blocks[k].start <= s.start < blocks[k].end else None


def _citation_after(cites: list[Citation], starts: list[int], s: Sentence) -> Citation | None:
    """A citation that closes the sentence's own line ("... claim. Title of report")."""
    import bisect

    k = bisect.bisect_left(starts, s.end)
    if k < len(cites) and cites[k].start - s.end <= 3 and cites[k].style == "block":
        return cites[k]
    return None


def _citation_conditions(c: Citation | None) -> tuple[tuple[str, ...], ...]:
    return (tuple(c.conditions),) if c is not None and c.conditions else ()


def _topic_slots(topic: Topic) -> tuple[tuple[str, ...], ...]:
    return (topic.conditions,) if topic.conditions else ()


def _is_heading(s: Sentence, text: str, line_span: tuple[int, int]) -> bool:
    t = s.text.strip("•·-–— ")
    words = t.split()
    if not words or t.endswith("?"):
        return True
    if t.endswith(":") and len(words) <= 25:
        return True
    if line_span[1] - line_span[0] > len(s.text) + 8:
        return False  # the line holds more than this sentence
    whole_line = text[line_span[0]:line_span[1]].strip()
    own_line = whole_line.strip("•·-–— .") == t.rstrip(".")
    if not own_line:
        return False
    terminal = t.rstrip("\"'\u201d\u2019)]").endswith((".", "!", "…", ",", ";"))
    if not terminal and len(words) <= 16:
        return True
    caps = [w for w in words if len(w) > 3]
    if caps and sum(w[0].isupper() for w in caps) / len(caps) >= 0.6 and len(words) <= 12:
        return True
    return bool(_HEADING_START.match(t) and len(words) <= 14 and not _VERB.search(t))


def _conditions(text: str, topic: Topic) -> tuple[tuple[str, ...], ...]:
    """Condition slots named in the text (concessive clauses dropped when the rest names one)."""
    if not _ANY_CONDITION.search(text):
        return ()
    mentions = _find(CONDITION_PATTERNS, text)
    if _CHRONIC_CONDITIONS.search(text) and "back" in topic.families:
        m = _CHRONIC_CONDITIONS.search(text)
        mentions.append(_Mention(("chronic_nonspecific_lbp",), "chronic (back) conditions",
                                 m.start(), m.end()))
    conc = [(m.start(), m.end()) for m in _CONCESSIVE_CLAUSE.finditer(text)]
    if conc:
        outside = [m for m in mentions if not any(a <= m.start < b for a, b in conc)]
        if outside:
            mentions = outside
    if _ALL_STAGES.search(text) and any(set(m.terms) & set(LBP_FAMILY) for m in mentions):
        return (("acute_nonspecific_lbp",), ("subacute_nonspecific_lbp",),
                ("chronic_nonspecific_lbp",))
    slots: list[tuple[str, ...]] = []
    for m in mentions:
        if m.terms not in slots:
            slots.append(m.terms)
    return tuple(slots)


def _comparators(text: str) -> list[_Mention]:
    out: list[_Mention] = []
    for n, trig in enumerate(COMPARATOR_TRIGGER.finditer(text)):
        if n >= 8:  # a sentence compares with a handful of things; more is noise
            break
        region_end = min(len(text), trig.end() + 400)
        end = COMPARATOR_CLAUSE_END.search(text, trig.end())
        if end:
            region_end = end.start()
        semi = text.find(";", trig.end())
        if 0 <= semi < region_end:
            region_end = semi
        region = text[trig.end():region_end]
        for m in _find(COMPARATOR_PATTERNS, region):
            if not any(x.terms == m.terms for x in out):
                out.append(_Mention(m.terms, m.label, m.start + trig.end(), m.end + trig.end()))
    return out


def _efficacy(s: Sentence, n: int, names_acu: bool, context_acu: bool, in_block: bool,
              conds_here, conds_before, continues: bool, citation: Citation | None,
              topic: Topic) -> EfficacyClaim | None:
    text = s.text
    if MECHANISM.search(text) and not REPORTING.search(text):
        return None
    if not _VERB.search(text):
        return None
    asserted = _NOT_ASSERTED.sub(lambda m: " " * len(m.group(0)), text)
    uncertain = bool(UNCERTAINTY.search(text))
    dose = bool(DOSE.search(text))
    strong_effect = bool(_STRONG_EFFECT.search(asserted))
    weak_effect = bool(EFFECT_WORDS.search(asserted)) and bool(conds_here)
    if not (strong_effect or weak_effect or uncertain or dose or NO_BENEFIT.search(text)):
        return None
    pronoun = bool(_PRONOUN.search(text)) and context_acu
    continuation = continues and bool(conds_here) and strong_effect
    if not (names_acu or pronoun or (in_block and _BLOCK_SUBJECT.search(text))
            or ((uncertain or dose) and context_acu) or continuation):
        return None
    # Direction.
    direction = "benefit"
    if uncertain:
        conc = [(m.start(), m.end()) for m in _CONCESSIVE_CLAUSE.finditer(text)]
        unc = [m.start() for m in UNCERTAINTY.finditer(text)]
        all_conc = conc and all(any(a <= u < b for a, b in conc) for u in unc)
        outside_effect = any(not any(a <= m.start() < b for a, b in conc)
                             for m in _STRONG_EFFECT.finditer(asserted))
        if not (all_conc and outside_effect):
            direction = "uncertain"
    if direction == "benefit" and NO_BENEFIT.search(text):
        direction = "no_benefit"
    if direction == "benefit" and COMPARABLE.search(text):
        direction = "comparable"
    # What it is about.
    if conds_here:
        conditions, source = conds_here, "sentence"
    elif conds_before:
        conditions, source = conds_before, "context"
    elif citation is not None and citation.conditions:
        conditions, source = (tuple(citation.conditions),), "citation"
    else:
        conditions, source = _topic_slots(topic), "page topic"
    cond_mentions = _find(CONDITION_PATTERNS, text)
    masked = [(m.start, m.end) for m in cond_mentions]
    finding = _FINDING.search(text)
    comps = (_comparators(text[finding.end():]) if finding else []) or _comparators(text)
    comps = [c for c in comps if c.label != "medication" or not any(
        x.label == "NSAIDs" for x in comps) or _medication_is_general(text)]
    outcomes = _find(OUTCOME_PATTERNS, text, masked)
    windows = _find(WINDOW_PATTERNS, text, masked)
    design = "dose" if dose else "add_on" if ADD_ON.search(text) else "head_to_head"
    mags = [m.group(0) for m in MAGNITUDE_BOASTS.finditer(text)]
    certs = [m.group(0) for m in CERTAINTY_BOASTS.finditer(text)]
    hedges = [m.group(0) for m in HEDGES.finditer(text)]
    if mags or (certs and not hedges):
        strength = "strong"
    elif hedges:
        strength = "hedged"
    else:
        strength = "plain"
    comp_slots: list[tuple[str, ...]] = []
    for c in comps:
        if c.terms not in comp_slots:
            comp_slots.append(c.terms)
    if any(c.label == "NSAIDs" for c in comps) and any(c.label == "medication" for c in comps):
        comp_slots = [("nsaid", "other_medication")] + [
            t for t in comp_slots if t not in (("nsaid",), ("nsaid", "other_medication"))]
    out_slots: list[tuple[str, ...]] = []
    for o in outcomes:
        if o.terms not in out_slots:
            out_slots.append(o.terms)
    if out_slots and ("pain",) not in out_slots and _PAIN_EFFECT.search(text):
        out_slots.insert(0, ("pain",))
    win_slots: list[tuple[str, ...]] = []
    if _SHORT_AND_LONG.search(text):
        win_slots.append(("short",))
    for w in windows:
        if w.terms not in win_slots:
            win_slots.append(w.terms)
    return EfficacyClaim(
        id=f"k{n + 1}", text=text, start=s.start, end=s.end,
        conditions=tuple(conditions), condition_text=tuple(m.label for m in cond_mentions),
        condition_source=source, comparators=tuple(comp_slots),
        comparator_text=tuple(c.label for c in comps), comparators_named=bool(comp_slots),
        outcomes=tuple(out_slots), outcome_text=tuple(o.label for o in outcomes),
        outcomes_named=bool(out_slots), windows=tuple(win_slots),
        time_text=tuple(w.label for w in windows), direction=direction, strength=strength,
        strength_words=tuple(mags + certs), hedges=tuple(hedges), design=design,
        citation_id=citation.id if citation else None)


def _medication_is_general(text: str) -> bool:
    return bool(re.search(r"medical treatments|drug managements|medications\b", text, re.IGNORECASE))


def _numbers(s: Sentence, n: int, conds, citation: Citation | None) -> list[NumericClaim]:
    out: list[NumericClaim] = []
    text = s.text
    years = [int(y) for y in _YEAR.findall(text)]
    prevalence = bool(PREVALENCE.search(text))
    flat = tuple(t for slot in conds for t in slot)
    for m in _COUNT.finditer(text):
        raw = m.group(1)
        value = float(re.sub(r"[ ,]", "", raw))
        unit = m.group(3).lower()
        unit = {"rcts": "trials", "meta-analyses": "reviews", "patients": "participants",
                "people": "participants", "individuals": "participants",
                "subjects": "participants", "adults": "participants"}.get(unit, unit)
        if 1900 <= value <= 2100 and unit in ("trials", "studies", "reviews"):
            continue  # "a 2015 study"
        year = next((y for y in years if str(y) != raw), None)
        out.append(NumericClaim(
            id=f"k{n + len(out) + 1}", text=text[m.start():m.end()], start=s.start + m.start(),
            end=s.start + m.end(), value=value, value_text=raw, unit=unit,
            kind="prevalence" if prevalence and unit == "participants" else "research",
            year=year, conditions=flat, citation_id=citation.id if citation else None))
    for m in _PERCENT.finditer(text):
        value = float(m.group(2))
        out.append(NumericClaim(
            id=f"k{n + len(out) + 1}", text=text[m.start():m.end()], start=s.start + m.start(),
            end=s.start + m.end(), value=value, value_text=m.group(0).strip(), unit="percent",
            kind="prevalence" if prevalence else "research", year=years[0] if years else None,
            conditions=flat, citation_id=citation.id if citation else None))
    return out
