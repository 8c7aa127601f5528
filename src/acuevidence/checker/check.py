"""``check_text``: the one entry point (CLI, web app and tests all go through it).

``check_text(text, content_type="text/html" | "text/plain")`` decodes and cleans the page, extracts
its claims and citations, matches them to the evidence base and returns a frozen
:class:`CheckReport`. Nothing is fetched: the page is what the caller passes (the web app's upload
or pasted text, the CLI's file).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from ..results import json_safe
from ._text import load_page
from .claims import Citation, EfficacyClaim, NumericClaim, SafetyClaim, Topic
from .extract import extract
from .match import EvidenceBase, bundled_evidence
from .verdicts import VERDICTS, Verdict, judge_citations, judge_efficacy, judge_number, judge_safety

__all__ = ["CheckReport", "check_file", "check_text"]

Claim = EfficacyClaim | NumericClaim | SafetyClaim | Citation


@dataclass(frozen=True, eq=False)
class CheckReport:
    """Claims of one page with their verdicts; ``text`` is the clean text the spans index."""

    source: str | None
    content_type: str
    title: str
    text: str
    topic: Topic
    claims: tuple[Claim, ...]
    verdicts: tuple[Verdict, ...]
    warnings: tuple[str, ...]
    evidence_version: str

    def verdict_of(self, claim_id: str) -> Verdict:
        for v in self.verdicts:
            if v.claim_id == claim_id:
                return v
        raise KeyError(claim_id)

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(v.verdict for v in self.verdicts)
        return {k: c.get(k, 0) for k in VERDICTS}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: every claim with its span, verdict, reason and evidence."""
        verdicts = {v.claim_id: v for v in self.verdicts}
        return json_safe({
            "source": self.source, "content_type": self.content_type, "title": self.title,
            "topic": self.topic.to_dict(), "evidence_version": self.evidence_version,
            "warnings": list(self.warnings), "counts": self.counts,
            "claims": [{**c.to_dict(), "verdict": verdicts[c.id].to_dict()}
                       for c in self.claims],
        })

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per claim: id, type, start, end, text, verdict, reason."""
        verdicts = {v.claim_id: v for v in self.verdicts}
        rows = [{"id": c.id, "type": c.type, "start": c.start, "end": c.end, "text": c.text,
                 "verdict": verdicts[c.id].verdict, "reason": verdicts[c.id].reason}
                for c in self.claims]
        return pd.DataFrame(rows, columns=["id", "type", "start", "end", "text", "verdict",
                                           "reason"])

    def summary(self, fmt: str = "text") -> str:
        """Claim by claim: ``"text"``, ``"markdown"``, ``"html"`` (the highlighted page) or
        ``"json"``."""
        from .render import render_html, render_markdown, render_text

        if fmt == "text":
            return render_text(self)
        if fmt == "markdown":
            return render_markdown(self)
        if fmt == "html":
            return render_html(self)
        if fmt == "json":
            return self.to_json()
        raise InputError(f"Unknown format {fmt!r}; choose text, markdown, html or json.",
                         column="fmt")

    def to_html(self) -> str:
        """A self-contained HTML page: the page's text with claims highlighted, verdicts beside."""
        return self.summary("html")

    def __str__(self) -> str:
        return self.summary("text")


def check_text(text: str | bytes, *, content_type: str = "text/html", source: str | None = None,
               evidence: EvidenceBase | None = None) -> CheckReport:
    """Check a page's claims against the evidence base.

    Parameters
    ----------
    text : str or bytes
        The page: HTML or plain text. Bytes are decoded (UTF-8, the page's declared charset, else
        Windows-1252 with a warning).
    content_type : {"text/html", "text/plain"}
    source : str, optional
        Where the page came from (a file name), reported back as is; never fetched.
    evidence : EvidenceBase, optional
        Defaults to the bundled registry.

    Returns
    -------
    CheckReport

    Raises
    ------
    InputError
        Too large (over 5 MiB, or over 1,000,000 characters of text), binary data, or an unknown
        content type.
    """
    page = load_page(text, content_type)
    ev = evidence if evidence is not None else bundled_evidence()
    ex = extract(page)
    memo: dict[tuple, tuple] = {}
    matches = {}
    for c in ex.citations:  # a page repeating one reference is matched once
        key = (c.title, c.journal_key, c.year, c.first_author, c.identifiers)
        if key not in memo:
            memo[key] = ev.match_citation(c)
        matches[c.id] = memo[key]
    linked: dict[str, list[EfficacyClaim]] = {}
    for cl in ex.claims:
        if isinstance(cl, EfficacyClaim) and cl.citation_id:
            linked.setdefault(cl.citation_id, []).append(cl)
    verdicts: list[Verdict] = judge_citations(ex.citations, matches, linked, ex.topic)
    judged: dict[tuple, Verdict] = {}
    for cl in ex.claims:
        m = matches.get(cl.citation_id, (None, ""))[0] if getattr(cl, "citation_id", None) \
            else None
        if isinstance(cl, EfficacyClaim):
            # The same claim (all but its place) gets the same verdict: judge it once.
            key = (replace(cl, id="", text="", start=0, end=0), m.id if m else None)
            if key not in judged:
                judged[key] = judge_efficacy(cl, ev, m, ex.topic)
            verdicts.append(replace(judged[key], claim_id=cl.id))
        elif isinstance(cl, NumericClaim):
            verdicts.append(judge_number(cl, ev, m))
        elif isinstance(cl, SafetyClaim):
            verdicts.append(judge_safety(cl, ev))
    claims: list[Claim] = sorted([*ex.citations, *ex.claims], key=lambda c: (c.start, c.type))
    order = {c.id: i for i, c in enumerate(claims)}
    verdicts.sort(key=lambda v: order[v.claim_id])
    return CheckReport(source=source, content_type=page.content_type, title=page.title,
                       text=page.text, topic=ex.topic, claims=tuple(claims),
                       verdicts=tuple(verdicts), warnings=page.warnings,
                       evidence_version=ev.version)


def check_file(path: str | Path, *, content_type: str | None = None) -> CheckReport:
    """Check a saved page: HTML by extension (.html, .htm, .xhtml) or by content, else text."""
    p = Path(path)
    s = str(path)
    if s.lower().startswith(("http://", "https://", "ftp://", "file://")):
        raise InputError("The checker never fetches pages: save the page (HTML or text) and "
                         "pass the file.", column="page")
    if not p.is_file():
        raise InputError(f"File not found: {p}", column="page")
    size = p.stat().st_size
    from ._text import MAX_INPUT_BYTES

    if size > MAX_INPUT_BYTES:
        raise InputError(f"{p.name} is {size:,} bytes; the checker reads at most "
                         f"{MAX_INPUT_BYTES:,} bytes (5 MiB).", column="page")
    data = p.read_bytes()
    if content_type is None:
        head = data[:2048].lstrip().lower()
        is_html = p.suffix.lower() in (".html", ".htm", ".xhtml") or head.startswith(
            (b"<!doctype html", b"<html", b"<?xml")) or b"<body" in data[:65536].lower()
        content_type = "text/html" if is_html else "text/plain"
    return check_text(data, content_type=content_type, source=p.name)
