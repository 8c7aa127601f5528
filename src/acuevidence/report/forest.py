"""Forest and funnel plots as standalone SVG, in the layout reviewers know from RevMan.

Written as plain SVG text (no plotting library): the same input always gives the same bytes, the
plots are small, and every label is escaped. A forest plot shows one row per study with its data,
weight and CI, the pooled diamond, the prediction interval, the heterogeneity and overall-effect
lines, and "favours" labels under the axis.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..printer import fmt_p
from ..results import MetaResult

__all__ = ["ForestColumns", "forest_svg", "funnel_svg"]

ROW_H = 22
FONT = "font-family:Helvetica,Arial,sans-serif;font-size:12px"
LOG_MEASURES = {"RR", "OR", "PETO", "IRR", "ROM", "HR"}


@dataclass(frozen=True)
class ForestColumns:
    """Extra data columns shown left of the plot: a group title and per-study cell texts.

    ``groups`` e.g. ``("Acupuncture", "Sham")``; ``headers`` e.g. ``("Mean", "SD", "Total")``;
    ``cells[i]`` the texts of study i (len = len(groups) * len(headers)); ``totals`` the texts of
    the pooled row (e.g. total participants per group; blanks elsewhere).
    """

    groups: tuple[str, ...]
    headers: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]
    totals: tuple[str, ...] = ()


def _e(s: object) -> str:
    return html.escape(str(s), quote=True)


def _num(x: float | None, digits: int = 2) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    s = f"{x:.{digits}f}"
    return "0." + "0" * digits if s in ("-0." + "0" * digits,) else s.replace("-", "\u2212")


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    if log:
        def inside(cands: list[float]) -> list[float]:
            return [math.log(c) for c in cands if lo - 1e-9 <= math.log(c) <= hi + 1e-9]

        fine = inside([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100])
        # Crowded labels overlap: fall back to 1-2-5 steps, then to decades.
        if len(fine) <= 7:
            return fine
        mid = inside([0.01, 0.05, 0.2, 0.5, 1, 2, 5, 20, 100])
        return mid if len(mid) <= 7 else inside([0.001, 0.01, 0.1, 1, 10, 100, 1000])
    span = hi - lo
    raw = span / 4
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=mag)
    start = math.ceil(lo / step) * step
    out = []
    t = start
    while t <= hi + 1e-9:
        out.append(0.0 if abs(t) < 1e-12 else t)
        t += step
    return out


def forest_svg(
    result: MetaResult,
    *,
    title: str = "",
    measure: str | None = None,
    columns: ForestColumns | None = None,
    favours: tuple[str, str] = ("Favours acupuncture", "Favours control"),
    effect_label: str | None = None,
    digits: int = 2,
    links: Sequence[str | None] | None = None,
) -> str:
    """A RevMan-style forest plot of ``result`` as an SVG document.

    Parameters
    ----------
    result : MetaResult
        The pooled analysis (study rows come from ``result.yi``/``vi``/``weights``/``labels``).
    measure : str, optional
        Effect measure; ratio measures (RR, OR, ...) are drawn on a log axis and labelled
        exponentiated.
    columns : ForestColumns, optional
        Per-study data shown left of the plot (means/SDs/totals or events/totals).
    favours : (str, str)
        Labels under the left and right halves of the axis.
    links : sequence of str or None, optional
        A URL per study (its provenance); the study label becomes a link.
    """
    measure = (measure or result.measure or "").upper() or None
    log = measure in LOG_MEASURES
    k = result.k
    y = np.asarray(result.yi, float)
    se = np.sqrt(np.asarray(result.vi, float))
    z = _crit(result)
    lo_i, hi_i = y - z * se, y + z * se
    tr = math.exp if log else (lambda x: x)

    # --- geometry -----------------------------------------------------------------------
    n_cols = len(columns.groups) * len(columns.headers) if columns else 0
    x_study = 10
    x_cols0 = 190
    col_w = 52
    x_weight = x_cols0 + n_cols * col_w + 10
    x_ci_text = x_weight + 60
    plot_x0 = x_ci_text + 150
    plot_w = 260
    width = plot_x0 + plot_w + 20
    top = 50 + (20 if columns else 0)
    pooled_y = top + k * ROW_H + 18
    height = pooled_y + 120

    finite = [v for v in list(lo_i) + list(hi_i) + [result.ci_lower, result.ci_upper,
              result.pi_lower, result.pi_upper] if v is not None and math.isfinite(v)]
    lo_ax, hi_ax = min(finite + [0.0]), max(finite + [0.0])
    pad = 0.05 * (hi_ax - lo_ax or 1.0)
    lo_ax, hi_ax = lo_ax - pad, hi_ax + pad
    ticks = _ticks(lo_ax, hi_ax, log)
    if ticks:
        lo_ax, hi_ax = min(lo_ax, ticks[0]), max(hi_ax, ticks[-1])

    def X(v: float) -> float:
        v = min(max(v, lo_ax), hi_ax)
        return plot_x0 + (v - lo_ax) / (hi_ax - lo_ax) * plot_w

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title or "Forest plot")}">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<g style="{FONT}" fill="#111111">',
    ]
    if title:
        out.append(f'<text x="{x_study}" y="18" style="font-weight:bold">{_e(title)}</text>')
    hy = top - 10
    out.append(f'<text x="{x_study}" y="{hy}" style="font-weight:bold">Study</text>')
    if columns:
        for g, group in enumerate(columns.groups):
            gx = x_cols0 + g * len(columns.headers) * col_w
            out.append(f'<text x="{gx + len(columns.headers) * col_w / 2:.1f}" y="{hy - 18}" '
                       f'text-anchor="middle" style="font-weight:bold">{_e(group)}</text>')
            for h, head in enumerate(columns.headers):
                out.append(f'<text x="{gx + (h + 1) * col_w - 6}" y="{hy}" text-anchor="end">'
                           f'{_e(head)}</text>')
    lab = effect_label or (f"{measure or 'Effect'}, {_model_name(result)}, "
                           f"{100 * result.level:g}% CI")
    out.append(f'<text x="{x_weight + 40}" y="{hy}" text-anchor="end" '
               f'style="font-weight:bold">Weight</text>')
    out.append(f'<text x="{x_ci_text + 140}" y="{hy}" text-anchor="end" '
               f'style="font-weight:bold">{_e(lab)}</text>')
    out.append(f'<line x1="{x_study}" x2="{width - 10}" y1="{top - 4}" y2="{top - 4}" '
               'stroke="#111111" stroke-width="1"/>')

    wmax = float(np.max(result.weights)) if k else 1.0
    for i in range(k):
        cy = top + i * ROW_H + ROW_H / 2
        label = _e(result.labels[i])
        url = links[i] if links is not None and i < len(links) else None
        if url:
            label = f'<a href="{_e(url)}" target="_blank" rel="noopener">{label}</a>'
        out.append(f'<text x="{x_study}" y="{cy + 4}">{label}</text>')
        if columns:
            for c, cell in enumerate(columns.cells[i]):
                out.append(f'<text x="{x_cols0 + (c + 1) * col_w - 6}" y="{cy + 4}" '
                           f'text-anchor="end">{_e(cell)}</text>')
        out.append(f'<text x="{x_weight + 40}" y="{cy + 4}" text-anchor="end">'
                   f'{result.weights[i]:.1f}%</text>')
        out.append(f'<text x="{x_ci_text + 140}" y="{cy + 4}" text-anchor="end">'
                   f'{_num(tr(y[i]), digits)} [{_num(tr(lo_i[i]), digits)}, '
                   f'{_num(tr(hi_i[i]), digits)}]</text>')
        x1, x2 = X(lo_i[i]), X(hi_i[i])
        out.append(f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{cy}" y2="{cy}" stroke="#111111" '
                   'stroke-width="1.2"/>')
        for xv, raw, sgn in ((x1, lo_i[i], -1), (x2, hi_i[i], 1)):
            if raw < lo_ax or raw > hi_ax:  # arrow where the CI leaves the axis
                out.append(f'<path d="M{xv:.1f},{cy} l{-5 * sgn},-3 v6 z" fill="#111111"/>')
        side = 4 + 8 * math.sqrt(result.weights[i] / wmax)
        out.append(f'<rect x="{X(y[i]) - side / 2:.1f}" y="{cy - side / 2:.1f}" '
                   f'width="{side:.1f}" height="{side:.1f}" fill="#1f4e79"/>')

    # pooled row: diamond, prediction interval
    py = pooled_y
    out.append(f'<text x="{x_study}" y="{py + 4}" style="font-weight:bold">'
               f'Total ({100 * result.level:g}% CI)</text>')
    if columns and columns.totals:
        for c, cell in enumerate(columns.totals):
            if cell:
                out.append(f'<text x="{x_cols0 + (c + 1) * col_w - 6}" y="{py + 4}" '
                           f'text-anchor="end" style="font-weight:bold">{_e(cell)}</text>')
    out.append(f'<text x="{x_weight + 40}" y="{py + 4}" text-anchor="end" '
               'style="font-weight:bold">100.0%</text>')
    out.append(f'<text x="{x_ci_text + 140}" y="{py + 4}" text-anchor="end" '
               f'style="font-weight:bold">{_num(tr(result.estimate), digits)} '
               f'[{_num(tr(result.ci_lower), digits)}, {_num(tr(result.ci_upper), digits)}]'
               '</text>')
    if result.ci_lower is not None and result.ci_upper is not None:
        xl, xc, xr = X(result.ci_lower), X(result.estimate), X(result.ci_upper)
        out.append(f'<path d="M{xl:.1f},{py} L{xc:.1f},{py - 7} L{xr:.1f},{py} '
                   f'L{xc:.1f},{py + 7} Z" fill="#111111"/>')
    has_pi = result.method not in ("EE", "FE", "CE") and result.pi_lower is not None
    if has_pi:
        ppy = py + 18
        out.append(f'<text x="{x_study}" y="{ppy + 4}">Prediction interval</text>')
        out.append(f'<text x="{x_ci_text + 140}" y="{ppy + 4}" text-anchor="end">'
                   f'[{_num(tr(result.pi_lower), digits)}, {_num(tr(result.pi_upper), digits)}]'
                   '</text>')
        out.append(f'<rect x="{X(result.pi_lower):.1f}" y="{ppy - 3}" '
                   f'width="{X(result.pi_upper) - X(result.pi_lower):.1f}" height="6" '
                   'fill="none" stroke="#b03a2e" stroke-width="1.5"/>')

    # axis
    ay = py + (40 if has_pi else 24)
    out.append(f'<line x1="{plot_x0}" x2="{plot_x0 + plot_w}" y1="{ay}" y2="{ay}" '
               'stroke="#111111"/>')
    null = 0.0
    if lo_ax <= null <= hi_ax:
        out.append(f'<line x1="{X(null):.1f}" x2="{X(null):.1f}" y1="{top - 4}" y2="{ay}" '
                   'stroke="#555555" stroke-width="1"/>')
    for t in ticks:
        out.append(f'<line x1="{X(t):.1f}" x2="{X(t):.1f}" y1="{ay}" y2="{ay + 4}" '
                   'stroke="#111111"/>')
        lab_t = f"{math.exp(t):g}" if log else f"{t:g}".replace("-", "\u2212")
        out.append(f'<text x="{X(t):.1f}" y="{ay + 16}" text-anchor="middle">{_e(lab_t)}</text>')
    out.append(f'<text x="{X(null) - 6 if lo_ax <= null <= hi_ax else plot_x0:.1f}" '
               f'y="{ay + 32}" text-anchor="end">{_e(favours[0])}</text>')
    out.append(f'<text x="{X(null) + 6 if lo_ax <= null <= hi_ax else plot_x0 + plot_w:.1f}" '
               f'y="{ay + 32}">{_e(favours[1])}</text>')

    # heterogeneity and overall effect, RevMan wording
    het = _heterogeneity_line(result)
    stat = "Z" if result.df is None else f"t({result.df})"
    overall = (f"Test for overall effect: {stat} = {_num(abs(result.statistic or 0), 2)} "
               f"(P {_p_text(result.p_value)})")
    out.append(f'<text x="{x_study}" y="{ay + 10}">{_e(het)}</text>')
    out.append(f'<text x="{x_study}" y="{ay + 26}">{_e(overall)}</text>')
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def _p_text(p: float | None) -> str:
    if p is None:
        return "= -"
    s = fmt_p(p, 4)
    return s.replace("<", "< ") if s.startswith("<") else f"= {float(p):.2g}" if p < 0.01 \
        else f"= {float(p):.2f}"


def _crit(result: MetaResult) -> float:
    from scipy import stats

    return float(stats.norm.isf((1 - result.level) / 2))


def _model_name(result: MetaResult) -> str:
    return "Fixed" if result.method in ("EE", "FE", "CE") else "Random"


def _heterogeneity_line(result: MetaResult) -> str:
    parts = []
    if result.method not in ("EE", "FE", "CE"):
        parts.append(f"Tau\u00b2 = {result.tau2:.2f}")
    parts.append(f"Chi\u00b2 = {result.q:.2f}, df = {result.q_df} (P {_p_text(result.q_p_value)})")
    parts.append(f"I\u00b2 = {result.i2:.0f}%")
    return "Heterogeneity: " + "; ".join(parts)


def funnel_svg(result: MetaResult, *, title: str = "", measure: str | None = None) -> str:
    """Funnel plot (effect against standard error, inverted axis) with pseudo-95% limits."""
    measure = (measure or result.measure or "").upper() or None
    log = measure in LOG_MEASURES
    y = np.asarray(result.yi, float)
    se = np.sqrt(np.asarray(result.vi, float))
    w, h, x0, y0, pw, ph = 420, 340, 60, 40, 330, 250
    se_max = float(se.max()) * 1.08 if len(se) else 1.0
    half = 1.96 * se_max
    lo = min(float(y.min()), result.estimate - half)
    hi = max(float(y.max()), result.estimate + half)
    pad = 0.05 * (hi - lo or 1)
    lo, hi = lo - pad, hi + pad

    def X(v: float) -> float:
        return x0 + (v - lo) / (hi - lo) * pw

    def Y(s: float) -> float:
        return y0 + s / se_max * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" role="img" aria-label="{_e(title or "Funnel plot")}">',
           f'<rect width="{w}" height="{h}" fill="#ffffff"/>', f'<g style="{FONT}" fill="#111111">']
    if title:
        out.append(f'<text x="10" y="18" style="font-weight:bold">{_e(title)}</text>')
    est = result.estimate
    out.append(f'<path d="M{X(est - 1.96 * se_max):.1f},{Y(se_max):.1f} L{X(est):.1f},{Y(0):.1f} '
               f'L{X(est + 1.96 * se_max):.1f},{Y(se_max):.1f}" fill="#eef3f8" stroke="#777777" '
               'stroke-dasharray="4 3"/>')
    out.append(f'<line x1="{X(est):.1f}" x2="{X(est):.1f}" y1="{Y(0):.1f}" y2="{Y(se_max):.1f}" '
               'stroke="#1f4e79"/>')
    for yi, si in zip(y, se, strict=True):
        out.append(f'<circle cx="{X(yi):.1f}" cy="{Y(si):.1f}" r="3.5" fill="#1f4e79"/>')
    out.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{y0 + ph}" y2="{y0 + ph}" stroke="#111111"/>')
    out.append(f'<line x1="{x0}" x2="{x0}" y1="{y0}" y2="{y0 + ph}" stroke="#111111"/>')
    for t in _ticks(lo, hi, log):
        lab = f"{math.exp(t):g}" if log else f"{t:g}"
        out.append(f'<text x="{X(t):.1f}" y="{y0 + ph + 16}" text-anchor="middle">{_e(lab)}'
                   '</text>')
    for s in _ticks(0, se_max, False):
        out.append(f'<text x="{x0 - 6}" y="{Y(s) + 4:.1f}" text-anchor="end">{s:g}</text>')
    out.append(f'<text x="{x0 + pw / 2}" y="{h - 6}" text-anchor="middle">'
               f'{_e(measure or "Effect size")}</text>')
    out.append(f'<text x="14" y="{y0 + ph / 2}" transform="rotate(-90 14 {y0 + ph / 2})" '
               'text-anchor="middle">Standard error</text>')
    out.append("</g></svg>")
    return "\n".join(out) + "\n"
