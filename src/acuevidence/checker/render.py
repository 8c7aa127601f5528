"""Render a :class:`CheckReport` as text, Markdown or a self-contained HTML page.

The HTML shows the page's clean text with every claim highlighted (colour = verdict) next to the
list of verdicts with reasons and evidence. Everything that comes from the page or the registry
is escaped with :func:`html.escape`; the page carries a Content-Security-Policy that allows no
script, no remote resource and no form, so even a payload that slipped through could not run.
The original markup of the page is never echoed: only its extracted text.
"""

from __future__ import annotations

import html
import itertools
import re
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .check import CheckReport

__all__ = ["VERDICT_LABELS", "render_html", "render_markdown", "render_text"]

VERDICT_LABELS = {
    "supported": "Supported", "overstated": "Overstated", "contradicted": "Contradicted",
    "off_topic_citation": "Off-topic citation", "duplicate_citation": "Duplicate citation",
    "unverifiable_number": "Unverifiable number", "not_assessable": "Not assessable",
}
_COLOURS = {
    "supported": "#d7f0d2", "overstated": "#ffe3b3", "contradicted": "#ffc9c9",
    "off_topic_citation": "#e6d5f5", "duplicate_citation": "#dcdcdc",
    "unverifiable_number": "#ffd6ec", "not_assessable": "#e8eef5",
}
# Which verdict colours a stretch of text covered by several claims.
_SEVERITY = ["contradicted", "off_topic_citation", "overstated", "unverifiable_number",
             "duplicate_citation", "not_assessable", "supported"]


def _quote(s: str, n: int = 240) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "\u2026"


def _header_lines(r: CheckReport) -> list[str]:
    counts = ", ".join(f"{VERDICT_LABELS[k].lower()} {v}" for k, v in r.counts.items() if v)
    return [
        f"Page: {r.source or '(pasted text)'} ({r.content_type})",
        f"Topic: {r.topic.label} ({r.topic.reason})",
        f"Evidence version: {r.evidence_version}",
        f"Claims: {len(r.claims)} ({counts or 'none found'})",
        *[f"Warning: {w}" for w in r.warnings],
    ]


def render_text(r: CheckReport) -> str:
    verdicts = {v.claim_id: v for v in r.verdicts}
    out = ["Claim check", "=" * 11, *_header_lines(r), ""]
    for c in r.claims:
        v = verdicts[c.id]
        out.append(f"[{c.id}] {c.type} - {VERDICT_LABELS[v.verdict]}")
        out.append(f"    \"{_quote(c.text)}\" (characters {c.start}-{c.end})")
        out.append(f"    {v.reason}")
        for n in v.notes:
            out.append(f"    Note: {n}")
        for e in v.evidence[:6]:
            out.append(f"    - {e.describe()}")
        if len(v.evidence) > 6:
            out.append(f"    - ... and {len(v.evidence) - 6} more results")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


_MD_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+!|~]")


def render_markdown(r: CheckReport) -> str:
    verdicts = {v.claim_id: v for v in r.verdicts}

    def esc(s: str) -> str:
        # The page is untrusted and Markdown renderers pass raw HTML through: HTML's own
        # characters become entities (rendered as the same characters), Markdown's punctuation
        # is backslash-escaped (no links, images, emphasis or table cells from the page).
        s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return _MD_SPECIAL.sub(r"\\\g<0>", s).replace("\r", " ").replace("\n", " ")

    out = ["# Claim check", "", *[f"- {esc(x)}" for x in _header_lines(r)], "",
           "| id | type | verdict | claim | reason |", "|---|---|---|---|---|"]
    for c in r.claims:
        v = verdicts[c.id]
        out.append(f"| {c.id} | {c.type} | {VERDICT_LABELS[v.verdict]} | {esc(_quote(c.text, 120))}"
                   f" | {esc(v.reason)} |")
    return "\n".join(out) + "\n"


_CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{padding:1em 1.5em;background:#fff;border-bottom:1px solid #ddd}
h1{font-size:1.3em;margin:0 0 .3em}
.meta{color:#555;font-size:.9em;margin:0}
.wrap{display:flex;gap:1.5em;padding:1.5em;align-items:flex-start}
.page{flex:1 1 55%;background:#fff;border:1px solid #ddd;padding:1em 1.3em;white-space:pre-wrap;
overflow-wrap:anywhere}
.claims{flex:1 1 45%;max-height:90vh;overflow:auto}
mark{padding:0 1px;border-radius:2px;color:inherit}
sup.id{font-size:.7em;color:#444;font-weight:600}
.claim{background:#fff;border:1px solid #ddd;border-left:6px solid #999;margin:0 0 .8em;
padding:.6em .8em}
.claim h2{font-size:1em;margin:0 0 .3em}
.claim q{display:block;color:#333;margin:.2em 0 .4em;font-style:italic}
.claim ul{margin:.3em 0 0 1.1em;padding:0;font-size:.88em;color:#333}
.badge{display:inline-block;padding:0 .5em;border-radius:3px;font-size:.85em}
.legend span{margin-right:.6em}
@media (max-width:900px){.wrap{flex-direction:column}}
"""


def render_html(r: CheckReport) -> str:
    e = html.escape
    verdicts = {v.claim_id: v for v in r.verdicts}
    # Cut the text at every claim boundary; each stretch is covered by a set of claims (a sweep:
    # linear in the number of claims, whatever their overlaps).
    cuts = sorted({0, len(r.text), *[c.start for c in r.claims], *[c.end for c in r.claims]})
    opens: dict[int, list] = {}
    closes: dict[int, list] = {}
    for c in r.claims:
        opens.setdefault(c.start, []).append(c)
        closes.setdefault(c.end, []).append(c)
    active: dict[str, object] = {}
    parts: list[str] = []
    for a, b in itertools.pairwise(cuts):
        for c in closes.get(a, []):
            active.pop(c.id, None)
        for c in opens.get(a, []):
            if c.end > a:
                active[c.id] = c
        seg = r.text[a:b]
        if active:
            ids = list(active)
            worst = min((verdicts[i].verdict for i in ids), key=_SEVERITY.index)
            title = "; ".join(f"{i}: {VERDICT_LABELS[verdicts[i].verdict]}" for i in ids[:6])
            parts.append(f'<mark class="v-{e(worst)}" data-claims="{e(" ".join(ids[:6]))}" '
                         f'title="{e(title)}">{e(seg)}</mark>')
        else:
            parts.append(e(seg))
        for c in closes.get(b, []):
            parts.append(f'<sup class="id"><a href="#{e(c.id)}">{e(c.id)}</a></sup>')
    cards = []
    for c in r.claims:
        v = verdicts[c.id]
        ev = "".join(f"<li>{e(x.describe())}</li>" for x in v.evidence[:8])
        if len(v.evidence) > 8:
            ev += f"<li>... and {len(v.evidence) - 8} more results</li>"
        notes = "".join(f"<li>{e(n)}</li>" for n in v.notes)
        cards.append(
            f'<section class="claim" id="{e(c.id)}" style="border-left-color:'
            f'{_COLOURS[v.verdict]}"><h2>{e(c.id)} &middot; {e(c.type)} &middot; '
            f'<span class="badge" style="background:{_COLOURS[v.verdict]}">'
            f'{e(VERDICT_LABELS[v.verdict])}</span></h2><q>{e(_quote(c.text, 400))}</q>'
            f'<div>{e(v.reason)}</div>'
            f'{"<ul>" + notes + ev + "</ul>" if notes or ev else ""}</section>')
    counts = Counter(v.verdict for v in r.verdicts)
    legend = "".join(f'<span><mark class="v-{k}">{e(VERDICT_LABELS[k])}</mark> {counts.get(k, 0)}'
                     f'</span>' for k in VERDICT_LABELS)
    style = _CSS + "".join(f".v-{k}{{background:{c}}}" for k, c in _COLOURS.items())
    meta = "<br>".join(e(x) for x in _header_lines(r))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>Claim check: {e(r.title or r.source or 'page')}</title><style>{style}</style>"
        f"</head><body><header><h1>Claim check: {e(r.title or r.source or 'pasted page')}</h1>"
        f"<p class=\"meta\">{meta}</p><p class=\"legend\">{legend}</p></header>"
        f"<div class=\"wrap\"><div class=\"page\">{''.join(parts)}</div>"
        f"<div class=\"claims\">{''.join(cards)}</div></div></body></html>\n")
