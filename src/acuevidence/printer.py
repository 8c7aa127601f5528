"""Rendering of result summaries as text, Markdown or HTML.

Results build a :class:`Report` (title, key/value lines, tables) from their own numbers; this
module only lays it out, so every result prints the same way and maths stays apart from
presentation.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Report", "fmt_number", "fmt_p"]

FORMATS = ("text", "markdown", "html")


def fmt_number(x: Any, digits: int = 4) -> str:
    """Format a number with ``digits`` significant decimals; ``-`` for missing."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(xf):
        return "-"
    if math.isinf(xf):
        return "inf" if xf > 0 else "-inf"
    return f"{xf:.{digits}f}"


def fmt_p(p: Any, digits: int = 4) -> str:
    """Format a p-value as metafor does: ``<.0001`` below the printed precision."""
    if p is None:
        return "-"
    pf = float(p)
    if math.isnan(pf):
        return "-"
    floor = 10.0 ** (-digits)
    if pf < floor:
        return f"<{floor:.{digits}f}"
    return f"{pf:.{digits}f}"


@dataclass
class Report:
    """A printable summary: a title, sections of key/value lines and tables."""

    title: str
    sections: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_section(self, heading: str, lines: list[tuple[str, str]]) -> None:
        self.sections.append((heading, lines))

    def add_table(self, heading: str, frame: pd.DataFrame) -> None:
        self.tables.append((heading, frame))

    def render(self, fmt: str = "text") -> str:
        if fmt not in FORMATS:
            from .errors import InputError

            raise InputError(
                f"Unknown summary format {fmt!r}; choose one of {', '.join(FORMATS)}.",
                column="fmt",
            )
        return getattr(self, f"_render_{fmt}")()

    # -- text ---------------------------------------------------------------------------
    def _render_text(self) -> str:
        out = [self.title, "=" * len(self.title)]
        for heading, lines in self.sections:
            out.append("")
            if heading:
                out.append(heading)
            width = max((len(k) for k, _ in lines), default=0)
            out.extend(f"  {k.ljust(width)}  {v}" for k, v in lines)
        for heading, frame in self.tables:
            out.append("")
            if heading:
                out.append(heading)
            out.append(_frame_text(frame))
        if self.notes:
            out.append("")
            out.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(out)

    # -- markdown -----------------------------------------------------------------------
    def _render_markdown(self) -> str:
        out = [f"## {self.title}"]
        for heading, lines in self.sections:
            out.append("")
            if heading:
                out.append(f"**{heading}**")
                out.append("")
            out.append("| | |")
            out.append("|---|---|")
            out.extend(f"| {_md(k)} | {_md(v)} |" for k, v in lines)
        for heading, frame in self.tables:
            out.append("")
            if heading:
                out.append(f"**{heading}**")
                out.append("")
            cols = [str(c) for c in frame.columns]
            out.append("| " + " | ".join(_md(c) for c in cols) + " |")
            out.append("|" + "---|" * len(cols))
            for row in frame.itertuples(index=False):
                out.append("| " + " | ".join(_md(_cell(v)) for v in row) + " |")
        if self.notes:
            out.append("")
            out.extend(f"*Note: {_md(n)}*" for n in self.notes)
        return "\n".join(out)

    # -- html ---------------------------------------------------------------------------
    def _render_html(self) -> str:
        e = html.escape
        out = [f'<section class="acuevidence-summary"><h2>{e(self.title)}</h2>']
        for heading, lines in self.sections:
            if heading:
                out.append(f"<h3>{e(heading)}</h3>")
            out.append("<table><tbody>")
            out.extend(f"<tr><th scope=\"row\">{e(k)}</th><td>{e(v)}</td></tr>" for k, v in lines)
            out.append("</tbody></table>")
        for heading, frame in self.tables:
            if heading:
                out.append(f"<h3>{e(heading)}</h3>")
            out.append("<table><thead><tr>")
            out.extend(f'<th scope="col">{e(str(c))}</th>' for c in frame.columns)
            out.append("</tr></thead><tbody>")
            for row in frame.itertuples(index=False):
                out.append("<tr>" + "".join(f"<td>{e(_cell(v))}</td>" for v in row) + "</tr>")
            out.append("</tbody></table>")
        out.extend(f'<p class="note">{e(n)}</p>' for n in self.notes)
        out.append("</section>")
        return "\n".join(out)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return fmt_number(v)
    return "-" if v is None else str(v)


def _md(s: str) -> str:
    return str(s).replace("|", "\\|")


def _frame_text(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    rows = [[_cell(v) for v in r] for r in frame.itertuples(index=False)]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
    line = "  ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True))
    body = ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(["  " + line] + ["  " + b for b in body])
