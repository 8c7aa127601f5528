"""Citations in page text: reference-list lines, title blocks and inline mentions.

Three shapes are read, as health pages print them:

* **reference lines** — one line with a journal name and a year ("Title. Authors. Journal. 2015;
  425108." or "Name et al Journal. 2020 Mar; 66(3): 186-187."); a following PubMed link adds the
  PMID;
* **title blocks** — a title on a line of its own (it names acupuncture and a study design, has no
  verb, or stands between two copies of the journal's name), with the journal on the lines around
  it and a "2020, Jun 25 • Authors" line closing the block; the text in between is the block's
  summary and its claims are linked to the citation;
* **inline** — "a 2013 review published by the British Medical Journal", "(Smith et al., 2019)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._lexicon import CONDITION_PATTERNS, journal_key
from ._text import Sentence
from .claims import Citation

__all__ = ["CitationBlock", "find_citations", "first_author"]

_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_TITLE_DESIGN = re.compile(r"systematic review|meta-?analys[ie]s|randomi[sz]ed (?:controlled|"
                           r"clinical) trial|controlled (?:clinical )?trials?|review and analysis|"
                           r"clinical trial|pilot study|overview of", re.IGNORECASE)
_ACU = re.compile(r"acupunct|needling", re.IGNORECASE)
_VERB = re.compile(
    r"\b(?:is|are|was|were|be|been|has|have|had|can|could|may|might|will|would|should|does|do|"
    r"did|showed?|shows|found|provid\w+|reduc(?:es|ed)|helps?|improv(?:es|ed)|works|relieves?|"
    r"suggest\w*|appears?|seems?|indicates?|promotes?|enhances?|supports?|revealed|concluded|"
    r"discovered|supplied|observed|responds?|experienced|reported|showcase\w*|looked|gathered|"
    r"outlined|contained|included|analysed|analyzed)\b", re.IGNORECASE)
_DATE_AUTHORS = re.compile(r"^\s*((?:19|20)\d{2})\s*,?\s*(?:[A-Z][a-z]{2,8}\.?\s*\d{0,2})?\s*"
                           r"[\u2022\u00b7|]\s*(.+?)\s*(?:Full Article)?\s*$")
_INLINE = re.compile(
    r"\b(?:[Aa]n?|[Tt]he|[Oo]ne)\s+(?:comprehensive\s+|recent\s+|large\s+|new\s+)?"
    r"((?:19|20)\d{2})\s+(?:systematic\s+)?(?:review|study|meta-analysis|overview|trial|analysis)"
    r"(?:\s+paper)?\s+published\s+(?:in|by)\s+(?:the\s+)?(?:journal\s+)?"
    r"((?:[A-Z][\w'\u2019&-]*)(?:\s+(?:[A-Z][\w'\u2019&-]*|and|of|in|for|&))*)")
_PAREN = re.compile(r"\(([A-Z][A-Za-z'\u2019-]+)(?: et al\.?| and [A-Z][A-Za-z'-]+)?,? "
                    r"((?:19|20)\d{2})\)|\b([A-Z][A-Za-z'\u2019-]+) et al\.? \(((?:19|20)\d{2})\)")
_AUTHOR_LIST = re.compile(r"^(?:(?:van |de |der |von )?[A-Z][\w'\u2019-]+ [A-Z]{1,3}(?:,\s*|\.\s*|$))+")
_HONORIFIC = re.compile(r"^(?:Dr|Prof|Mr|Mrs|Ms)\.?\s+", re.IGNORECASE)
_INITIALS = re.compile(r"^(?:[A-Z][a-z]?\.?){1,3}[A-Z]?\.?$|^[A-Z]{1,3}$")
_PMID_URL = re.compile(r"pubmed(?:\.ncbi\.nlm\.nih\.gov)?/(\d{6,9})|/pubmed/(\d{6,9})")
_ARTICLE = re.compile(r"\b(?:19|20)\d{2}\s*;\s*(\d{5,7})\b|\b\d{1,3}\s*:\s*(\d{5,7})\b")
_DOI = re.compile(r"\bdoi:?\s*(10\.\d{4,9}/[^\s;,]+)", re.IGNORECASE)
_COCHRANE_ID = re.compile(r"\b(CD\d{6})\b")


_BLOCK_LINES = 30  # a title block's summary is a few lines; never scan the rest of the page


class _Spans:
    """Non-overlapping character intervals with a logarithmic membership test."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        import bisect

        k = bisect.bisect_left(self.starts, start)
        self.starts.insert(k, start)
        self.ends.insert(k, end)

    def overlaps(self, start: int, end: int) -> bool:
        import bisect

        k = bisect.bisect_left(self.starts, end) - 1
        return k >= 0 and self.ends[k] > start

    def covers(self, pos: int) -> bool:
        import bisect

        k = bisect.bisect_right(self.starts, pos) - 1
        return k >= 0 and pos < self.ends[k]


@dataclass(frozen=True)
class CitationBlock:
    """Where a block citation's summary lies: claims inside ``[start, end)`` are linked to it."""

    citation_id: str
    start: int
    end: int


def first_author(authors: str) -> str | None:
    """The first author's surname from an author string in any of the common shapes."""
    s = re.sub(r"\bet al\.?", "", authors).strip(" ,;.")
    if not s:
        return None
    chunk = re.split(r";", s)[0]
    # "Wang, Tt., Liu, Y." (surname, initials) vs "Tang S, Mo Z" vs "Shujie Tang, Zhuomao Mo".
    pieces = [p.strip() for p in chunk.split(",") if p.strip()]
    first = pieces[0] if pieces else chunk
    first = _HONORIFIC.sub("", first)
    tokens = [t for t in re.split(r"\s+", first) if t and not re.fullmatch(
        r"(?:PhD|MD|BD|MSc|BSc|MPH|RN|DO)\w{0,2}", t)]
    if not tokens:
        return None
    if len(tokens) == 1:
        return tokens[0].strip(".")
    names = [t for t in tokens if not _INITIALS.match(t)]
    if len(names) < len(tokens):  # "Tang S", "Furlan AD": the surname is the non-initial token
        return names[0].strip(".") if names else tokens[0]
    return tokens[-1].strip(".")


def _conditions(text: str) -> tuple[str, ...]:
    """Conditions a title names; a specific phrase masks the generic ones inside it ("knee
    osteoarthritis" is not also "osteoarthritis")."""
    taken: list[tuple[int, int]] = []
    found: list[str] = []
    for term in CONDITION_PATTERNS:
        for m in term.pattern.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            found.extend(t for t in term.terms if t not in found)
    return tuple(found)


def _is_title(s: str) -> bool:
    body = s.strip().rstrip(".")
    if len(body) < 20 or len(body) > 300 or body.endswith("?"):
        return False
    return bool(_ACU.search(body) and _TITLE_DESIGN.search(body) and not _VERB.search(body))


def find_citations(text: str, sents: list[Sentence]) -> tuple[list[Citation], list[CitationBlock]]:
    """All citations of the page, in page order, and the summary blocks of title citations."""
    lines: list[tuple[int, str]] = []
    pos = 0
    for line in text.split("\n"):
        lines.append((pos, line))
        pos += len(line) + 1
    cites: list[Citation] = []
    blocks: list[CitationBlock] = []
    taken = _Spans()

    def add(start: int, end: int, **kw) -> Citation:
        c = Citation(id=f"c{len(cites) + 1}", text=text[start:end], start=start, end=end, **kw)
        cites.append(c)
        taken.add(start, end)
        return c

    nonempty = [i for i, (_, ln) in enumerate(lines) if ln.strip()]
    rank = {line_idx: k for k, line_idx in enumerate(nonempty)}
    title_lines = {s.line for s in sents if _is_title(s.text)}
    # 1. Reference lines.
    for n, i in enumerate(nonempty):
        start, line = lines[i]
        stripped = line.strip()
        jk = journal_key(stripped)
        years = _YEAR.findall(stripped)
        if not jk or not years or len(stripped.split()) > 80:
            continue
        if not (re.search(r"\bet al\b", stripped) or _AUTHOR_LIST.search(_after_title(stripped))
                or stripped.count(". ") >= 2):
            continue
        lead = len(line) - len(line.lstrip())
        title, authors = _split_reference(stripped)
        ids = _identifiers(stripped)
        nxt = lines[nonempty[n + 1]][1] if n + 1 < len(nonempty) else ""
        m = _PMID_URL.search(nxt)
        if m:
            ids = ids + (f"pmid:{m.group(1) or m.group(2)}",)
        add(start + lead, start + lead + len(stripped), title=title, journal=_journal_text(stripped),
            journal_key=jk, year=int(years[0]) if not title or years[0] not in (title or "")
            else int(years[-1]), authors=authors,
            first_author=first_author(", ".join(authors)) if authors else None,
            identifiers=ids, style="reference", conditions=_conditions(title or ""))
    # 2. Title blocks (a title sentence; journal lines around it; a date/authors line closing it).
    for sent in sents:
        if taken.covers(sent.start):
            continue
        i = sent.line
        pos_in = rank[i]
        prev_line = lines[nonempty[pos_in - 1]][1].strip() if pos_in > 0 else ""
        next_line = lines[nonempty[pos_in + 1]][1].strip() if pos_in + 1 < len(nonempty) else ""
        own_line = lines[i][1].strip() == sent.text
        sandwiched = own_line and prev_line and prev_line == next_line and len(prev_line) < 80 \
            and not _VERB.search(sent.text) and not sent.text.endswith((".", "?", "!"))
        if not (_is_title(sent.text) or sandwiched):
            continue
        journal = None
        if own_line and prev_line and len(prev_line) < 80 and not _is_title(prev_line) \
                and not _VERB.search(prev_line) and not prev_line.endswith((".", "?")):
            journal = prev_line
        if next_line and len(next_line) < 90 and (journal_key(next_line) or next_line == journal):
            journal = journal or next_line
        year = None
        authors: tuple[str, ...] = ()
        end_block = len(text)
        # The block runs to the date/authors line (or the next title).
        for j in nonempty[pos_in + 1:pos_in + 1 + _BLOCK_LINES]:
            ls, ln = lines[j]
            m = _DATE_AUTHORS.match(ln)
            if m:
                year = int(m.group(1))
                authors = tuple(a.strip() for a in re.split(r";|,(?=\s*[A-Z][a-z]+\s)", m.group(2))
                                if a.strip())
                end_block = ls + len(ln)
                authors_text = m.group(2)
                break
            if j in title_lines and j != i:
                end_block = ls
                authors_text = ""
                break
        else:
            authors_text = ""
        if year is None and own_line is False and next_line:
            # A title inside a line ("... . Acupuncture : review and analysis ...") with the
            # publisher and year on the next line.
            ys = _YEAR.findall(next_line)
            if ys and not _VERB.search(next_line):
                year = int(ys[-1])
                journal = journal or next_line
                end_block = sent.end
        if year is None and not journal:
            continue
        jk = journal_key(journal or "")
        c = add(sent.start, sent.end, title=sent.text.rstrip(". "), journal=journal,
                journal_key=jk, year=year, authors=authors,
                first_author=first_author(authors_text) if authors_text else None,
                identifiers=(), style="block", conditions=_conditions(sent.text))
        blocks.append(CitationBlock(c.id, sent.end, end_block))
    # 3. Inline mentions in prose.
    for m in _INLINE.finditer(text):
        if taken.covers(m.start()):
            continue
        journal = m.group(2).strip()
        add(m.start(), m.end(), title=None, journal=journal, journal_key=journal_key(journal),
            year=int(m.group(1)), authors=(), first_author=None, identifiers=(), style="inline")
    for m in _PAREN.finditer(text):
        if taken.covers(m.start()):
            continue
        name, year = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        add(m.start(), m.end(), title=None, journal=None, journal_key=None, year=int(year),
            authors=(name,), first_author=name, identifiers=(), style="inline")
    cites.sort(key=lambda c: c.start)
    renumber = {c.id: f"c{k + 1}" for k, c in enumerate(cites)}
    from dataclasses import replace

    cites = [replace(c, id=renumber[c.id]) for c in cites]
    blocks = [CitationBlock(renumber[b.citation_id], b.start, b.end) for b in blocks]
    return cites, blocks


def _after_title(line: str) -> str:
    parts = line.split(". ", 1)
    return parts[1] if len(parts) > 1 else ""


def _split_reference(line: str) -> tuple[str | None, tuple[str, ...]]:
    """(title, authors) of a reference line."""
    m = re.match(r"^(.*?)\s+et al\.?\s", line)
    if m and len(m.group(1).split()) <= 5:  # "Roselyn Clemente Fuentes et al Can Fam Physician."
        return None, (m.group(1).strip(),)
    parts = [p.strip() for p in re.split(r"(?<=[a-z\]\)A-Z])\.\s+", line) if p.strip()]
    if not parts:
        return None, ()
    if len(parts) > 1 and _AUTHOR_LIST.match(parts[0] + "."):
        # Vancouver style: "Zhang Z, Hu T, Huang P. Title. Journal. 2023;17:1097830."
        return parts[1].rstrip("."), tuple(a.strip() for a in parts[0].split(",") if a.strip())
    title = parts[0].rstrip(".")
    authors: tuple[str, ...] = ()
    if len(parts) > 1 and _AUTHOR_LIST.match(parts[1] + "."):
        authors = tuple(a.strip() for a in parts[1].split(",") if a.strip())
    if journal_key(title) and len(parts) == 1:
        return None, authors
    return title, authors


def _journal_text(line: str) -> str | None:
    from ._lexicon import JOURNALS

    for _, pattern in JOURNALS:
        m = pattern.search(line)
        if m:
            return m.group(0).strip()
    return None


def _identifiers(line: str) -> tuple[str, ...]:
    ids: list[str] = []
    for m in _ARTICLE.finditer(line):
        ids.append(f"article:{m.group(1) or m.group(2)}")
    for m in _DOI.finditer(line):
        ids.append(f"doi:{m.group(1).rstrip('.').lower()}")
    for m in _COCHRANE_ID.finditer(line):
        ids.append(f"cochrane:{m.group(1)}")
    return tuple(ids)
