"""Network graph and forest plot as standalone, deterministic SVG.

Plain SVG text, as :mod:`acuevidence.report.forest` writes it: the same result always gives the
same bytes, every label is escaped, and no plotting library is needed.

* :func:`network_graph_svg` — treatments on a circle (in the result's treatment order, clockwise
  from the top), node area proportional to the participants randomised to the treatment (to the
  number of studies when participants are unknown), edge width proportional to the number of
  studies comparing the two treatments directly, with that number on the edge.
* :func:`forest_svg` — every treatment against a chosen reference: network estimate with its
  confidence interval (square and line) and, for random effects, its prediction interval (thin
  red line).
"""

from __future__ import annotations

import html
import math

import numpy as np

from .model import LOG_MEASURES, NetworkResult

__all__ = ["forest_svg", "network_graph_svg"]

FONT = "font-family:Helvetica,Arial,sans-serif;font-size:12px"
ROW_H = 24


def _e(s: object) -> str:
    return html.escape(str(s), quote=True)


def _f(x: float) -> str:
    """Coordinates with one decimal; '-0.0' normalised so the output is byte-stable."""
    s = f"{x:.1f}"
    return "0.0" if s == "-0.0" else s


def _num(x: float, digits: int) -> str:
    if not math.isfinite(x):
        return "-"
    s = f"{x:.{digits}f}"
    if s == "-" + "0." + "0" * digits:
        s = s[1:]
    return s.replace("-", "\u2212")


def network_graph_svg(result: NetworkResult, *, title: str = "", size: int = 560) -> str:
    """The network as an SVG document (nodes sized by participants, edges by trials).

    Parameters
    ----------
    result : NetworkResult
    title : str
        Printed above the graph and used as the accessible label.
    size : int
        Width and height of the drawing area in pixels.
    """
    net = result.network
    T = net.n_treatments
    counts = net.study_counts()
    parts = net.participants()
    studies_per = np.array([sum(1 for a in net.study_arms if t in a) for t in range(T)])
    use_n = bool(np.all(np.isfinite(parts)) and np.all(parts > 0))
    weight = parts if use_n else studies_per.astype(float)
    wmax = float(weight.max()) if T else 1.0
    top = 40 if title else 16
    margin = 150  # room for labels left and right of the circle
    width = size + 2 * margin
    cx, cy = width / 2, top + size / 2 - 10
    R = size / 2 - 70
    r_min, r_max = 6.0, 26.0
    pos, rad = [], []
    for i in range(T):
        ang = -math.pi / 2 + 2 * math.pi * i / T
        pos.append((cx + R * math.cos(ang), cy + R * math.sin(ang)))
        rad.append(r_min + (r_max - r_min) * math.sqrt(weight[i] / wmax))
    kmax = int(counts.max()) if counts.size else 1
    height = int(top + size + 52)
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{_e(title or "Network graph")}">'),
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<g style="{FONT}" fill="#111111">']
    if title:
        out.append(f'<text x="10" y="20" style="font-weight:bold">{_e(title)}</text>')
    for i in range(T):
        for j in range(i + 1, T):
            k = int(counts[i, j])
            if k == 0:
                continue
            (x1, y1), (x2, y2) = pos[i], pos[j]
            # width by number of studies on a fixed scale (capped at 5+), so that one study
            # looks thin in a small network too
            w = 1.5 + 6.5 * min(k, max(kmax, 5)) / max(kmax, 5)
            lab = f"{net.treatments[i]} vs {net.treatments[j]}: {k} stud{'y' if k == 1 else 'ies'}"
            out.append(f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" '
                       f'stroke="#7f8c8d" stroke-width="{w:.2f}" stroke-linecap="round">'
                       f'<title>{_e(lab)}</title></line>')
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            out.append(f'<circle cx="{_f(mx)}" cy="{_f(my)}" r="8" fill="#ffffff" '
                       'stroke="#7f8c8d" stroke-width="0.8"/>')
            out.append(f'<text x="{_f(mx)}" y="{_f(my + 4)}" text-anchor="middle" '
                       f'style="font-size:10px">{k}</text>')
    for i, t in enumerate(net.treatments):
        x, y = pos[i]
        n_txt = (f"{parts[i]:,.0f} participants, " if use_n else "")
        tip = f"{t}: {n_txt}{studies_per[i]} stud{'y' if studies_per[i] == 1 else 'ies'}"
        out.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{rad[i]:.2f}" fill="#1f4e79" '
                   f'fill-opacity="0.85" stroke="#0b2540"><title>{_e(tip)}</title></circle>')
        ang = -math.pi / 2 + 2 * math.pi * i / T
        lx = cx + (R + rad[i] + 10) * math.cos(ang)
        ly = cy + (R + rad[i] + 10) * math.sin(ang) + 4
        c = math.cos(ang)
        anchor = "middle" if abs(c) < 0.2 else ("start" if c > 0 else "end")
        out.append(f'<text x="{_f(lx)}" y="{_f(ly)}" text-anchor="{anchor}">{_e(t)}</text>')
    legend_y = top + size - 6
    size_txt = ("participants randomised" if use_n else "number of studies (participants "
                "unknown)")
    out.append(f'<text x="10" y="{_f(legend_y)}" style="font-size:11px">Node area: '
               f'{_e(size_txt)}.</text>')
    out.append(f'<text x="10" y="{_f(legend_y + 14)}" style="font-size:11px">Edge width and '
               'number: studies comparing the two treatments directly.</text>')
    multi = sum(1 for a in net.study_arms if len(a) > 2)
    out.append(f'<text x="10" y="{_f(legend_y + 28)}" style="font-size:11px">'
               f'{len(net.studies)} studies, {T} treatments'
               + (f", {multi} multi-arm stud{'y' if multi == 1 else 'ies'} (counted on each "
                  "of their comparisons)" if multi else "") + '.</text>')
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    if log:
        cands = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
        vals = [math.log(c) for c in cands if lo - 1e-9 <= math.log(c) <= hi + 1e-9]
        return vals if len(vals) <= 7 else vals[::2]
    raw = (hi - lo) / 6 or 1.0
    mag = 10 ** math.floor(math.log10(raw))
    step = min(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    t = math.ceil(lo / step) * step
    out = []
    while t <= hi + 1e-9:
        out.append(0.0 if abs(t) < 1e-12 else t)
        t += step
    return out


def forest_svg(result: NetworkResult, reference: str | None = None, *, title: str = "",
               sort: str = "order", digits: int = 2,
               favours: tuple[str, str] = ("Favours treatment", "Favours reference")) -> str:
    """Forest plot of every treatment against ``reference`` as an SVG document.

    Parameters
    ----------
    result : NetworkResult
    reference : str, optional
        The comparator of every row (default: the result's reference).
    sort : {"order", "estimate"}
        Rows in the result's treatment order or by estimate (smallest first).
    favours : (str, str)
        Labels under the left and right half of the axis (for pain, negative favours the
        treatment).
    """
    from ..errors import InputError

    ref = result.index(reference if reference is not None else result.reference, "reference")
    if sort not in ("order", "estimate"):
        raise InputError(f"The 'sort' parameter must be 'order' or 'estimate'. Got {sort!r} "
                         "instead.", column="sort")
    log = (result.measure or "").upper() in LOG_MEASURES
    tr = math.exp if log else (lambda v: v)
    z = result.crit
    counts = result.network.study_counts()
    rows = [i for i in range(result.n_treatments) if i != ref]
    est = result.pairwise_estimate[:, ref]
    se = result.pairwise_se[:, ref]
    if sort == "estimate":
        rows.sort(key=lambda i: (est[i], i))
    lo, hi = est - z * se, est + z * se
    if result.is_random:
        half = z * np.sqrt(se ** 2 + result.tau2)
        plo, phi = est - half, est + half
    else:
        plo = phi = np.full_like(est, np.nan)
    vals = [v for i in rows for v in (lo[i], hi[i], plo[i], phi[i]) if math.isfinite(v)] + [0.0]
    lo_ax, hi_ax = min(vals), max(vals)
    pad = 0.05 * (hi_ax - lo_ax or 1.0)
    lo_ax, hi_ax = lo_ax - pad, hi_ax + pad
    ticks = _ticks(lo_ax, hi_ax, log)
    if ticks:
        lo_ax, hi_ax = min(lo_ax, ticks[0]), max(hi_ax, ticks[-1])
    x_lab, x_k, x_txt, plot_x0, plot_w = 10, 290, 480, 500, 280
    width = plot_x0 + plot_w + 140  # room for the "favours" label right of a null line near the edge
    top = 56 if title else 36
    height = int(top + len(rows) * ROW_H + 90)

    def X(v: float) -> float:
        v = min(max(v, lo_ax), hi_ax)
        return plot_x0 + (v - lo_ax) / (hi_ax - lo_ax) * plot_w

    measure = result.measure or "Effect"
    model = "random effects" if result.is_random else "common effect"
    head = f"{measure} ({100 * result.level:g}% CI)"
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{_e(title or "Network forest plot")}">'),
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<g style="{FONT}" fill="#111111">']
    if title:
        out.append(f'<text x="{x_lab}" y="18" style="font-weight:bold">{_e(title)}</text>')
    hy = top - 12
    out.append(f'<text x="{x_lab}" y="{hy}" style="font-weight:bold">Treatment vs '
               f'{_e(result.treatments[ref])}</text>')
    out.append(f'<text x="{x_k}" y="{hy}" text-anchor="end" style="font-weight:bold">'
               'Direct studies</text>')
    out.append(f'<text x="{x_txt}" y="{hy}" text-anchor="end" style="font-weight:bold">'
               f'{_e(head)}</text>')
    out.append(f'<line x1="{x_lab}" x2="{width - 10}" y1="{top - 4}" y2="{top - 4}" '
               'stroke="#111111"/>')
    for r, i in enumerate(rows):
        cy = top + r * ROW_H + ROW_H / 2
        out.append(f'<text x="{x_lab}" y="{_f(cy + 4)}">{_e(result.treatments[i])}</text>')
        out.append(f'<text x="{x_k}" y="{_f(cy + 4)}" text-anchor="end">{int(counts[i, ref])}'
                   '</text>')
        out.append(f'<text x="{x_txt}" y="{_f(cy + 4)}" text-anchor="end">'
                   f'{_num(tr(est[i]), digits)} [{_num(tr(lo[i]), digits)}, '
                   f'{_num(tr(hi[i]), digits)}]</text>')
        if math.isfinite(plo[i]):
            out.append(f'<line x1="{_f(X(plo[i]))}" x2="{_f(X(phi[i]))}" y1="{_f(cy + 5)}" '
                       f'y2="{_f(cy + 5)}" stroke="#b03a2e" stroke-width="1">'
                       f'<title>{_e(f"prediction interval {_num(tr(plo[i]), digits)} to {_num(tr(phi[i]), digits)}")}</title></line>')
        out.append(f'<line x1="{_f(X(lo[i]))}" x2="{_f(X(hi[i]))}" y1="{_f(cy)}" y2="{_f(cy)}" '
                   'stroke="#111111" stroke-width="1.5"/>')
        out.append(f'<rect x="{_f(X(est[i]) - 5)}" y="{_f(cy - 5)}" width="10" height="10" '
                   'fill="#1f4e79"/>')
    ay = top + len(rows) * ROW_H + 8
    out.append(f'<line x1="{plot_x0}" x2="{plot_x0 + plot_w}" y1="{_f(ay)}" y2="{_f(ay)}" '
               'stroke="#111111"/>')
    if lo_ax <= 0 <= hi_ax:
        out.append(f'<line x1="{_f(X(0))}" x2="{_f(X(0))}" y1="{top - 4}" y2="{_f(ay)}" '
                   'stroke="#555555"/>')
    for t in ticks:
        out.append(f'<line x1="{_f(X(t))}" x2="{_f(X(t))}" y1="{_f(ay)}" y2="{_f(ay + 4)}" '
                   'stroke="#111111"/>')
        lab = f"{math.exp(t):g}" if log else f"{t:g}".replace("-", "\u2212")
        out.append(f'<text x="{_f(X(t))}" y="{_f(ay + 16)}" text-anchor="middle">{_e(lab)}</text>')
    x0 = X(0) if lo_ax <= 0 <= hi_ax else plot_x0 + plot_w / 2
    out.append(f'<text x="{_f(x0 - 6)}" y="{_f(ay + 32)}" text-anchor="end">'
               f'{_e(favours[0])}</text>')
    out.append(f'<text x="{_f(x0 + 6)}" y="{_f(ay + 32)}">{_e(favours[1])}</text>')
    note = f"Network estimates ({model}"
    if result.is_random:
        note += f", tau\u00b2 = {result.tau2:.3g}; red: {100 * result.level:g}% prediction interval"
    note += ")."
    out.append(f'<text x="{x_lab}" y="{_f(ay + 54)}" style="font-size:11px">{_e(note)}</text>')
    out.append("</g></svg>")
    return "\n".join(out) + "\n"
