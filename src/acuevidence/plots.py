"""Plots of the small-study and sensitivity analyses (matplotlib, imported lazily).

Every function draws on ``ax`` (a new figure when None) and returns the Axes. Artists carry
labels (``get_label()``) so that callers and tests can find what was drawn:

- ``"studies"`` / ``"filled studies"``: the study points (PathCollections),
- ``"pseudo-ci"``: the pseudo confidence-interval lines of a funnel plot,
- ``"estimate"``/``"reference"``: the vertical reference line,
- ``"p > 0.10"`` ...: the shaded significance regions of a contour-enhanced funnel plot.

Install the extra with ``pip install "acuevidence[plots]"``.

References
----------
Sterne JAC, Egger M (2001). Funnel plots for detecting bias in meta-analysis: guidelines on
    choice of axis. J Clin Epidemiol 54:1046-1055.
Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2008). Contour-enhanced meta-analysis
    funnel plots help distinguish publication bias from other causes of asymmetry.
    J Clin Epidemiol 61:991-996.
Baujat B, Mahé C, Pignon J-P, Hill C (2002). A graphical method for exploring heterogeneity in
    meta-analyses. Stat Med 21:2641-2652.
Olkin I, Dahabreh IJ, Trikalinos TA (2012). GOSH - a graphical display of study heterogeneity.
    Res Synth Methods 3:214-223.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from ._refit import resolve_model
from .bias import TrimFillResult
from .errors import InputError
from .influence import BaujatResult, GoshResult, baujat
from .results import MetaResult

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "baujat_plot",
    "contour_funnel_plot",
    "funnel_plot",
    "gosh_plot",
    "trimfill_funnel_plot",
]

# Shades of the contour-enhanced funnel plot, from the innermost region (non-significant) out.
CONTOUR_SHADES = ("white", "0.85", "0.7", "0.55")


def _axes(ax: Any) -> Axes:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Plotting needs matplotlib: install the extra with "
                          "pip install \"acuevidence[plots]\".") from exc
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _levels(levels: Any) -> list[float]:
    out = []
    for lv in np.atleast_1d(np.asarray(levels, dtype=float)):
        lv = lv / 100 if 1 < lv < 100 else lv
        if not 0 < lv < 1:
            raise InputError(f"Contour levels must be in (0, 1) (or percentages); got {levels!r}.",
                             column="contours")
        out.append(float(lv))
    return sorted(set(out))


def funnel_plot(
    x: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    ax: Any = None,
    level: float | None = None,
    refline: float | None = None,
    contours: Sequence[float] | None = None,
    xlabel: str | None = None,
    ylabel: str = "Standard error",
    method: str | None = None,
) -> Axes:
    """Funnel plot: effect sizes against their standard errors (y axis inverted).

    Parameters
    ----------
    x : MetaResult, TrimFillResult or array-like
        A fitted model (or effect sizes with ``vi``/``sei``, pooled with ``method``, REML by
        default). A :class:`~acuevidence.bias.TrimFillResult` draws the filled studies as open
        points (see :func:`trimfill_funnel_plot`).
    level : float, optional
        Level of the pseudo confidence region ``refline +- z * se`` (the model's level).
    refline : float, optional
        Centre of the funnel; the pooled estimate by default (0 for a contour-enhanced plot).
    contours : sequence of float, optional
        Levels of a contour-enhanced funnel plot, e.g. (0.90, 0.95, 0.99): regions of
        two-sided p-values of the studies' z-tests against ``refline`` (default 0) are shaded,
        as metafor's ``funnel(res, level = c(90, 95, 99), shade = ..., refline = 0)``.
    """
    if isinstance(x, TrimFillResult):
        res, filled = x.result, x.filled
    else:
        if isinstance(x, MetaResult):
            res = x
        else:
            res = resolve_model(x, vi, sei=sei, method=method, what="funnel_plot").full()
        filled = np.zeros(res.k, bool)
    ax = _axes(ax)
    se = np.sqrt(res.vi)
    y = res.yi
    lv = res.level if level is None else _levels(level)[0]
    se_max = float(se.max()) * 1.05
    grid = np.linspace(0.0, se_max, 100)
    if contours is not None:
        levels = _levels(contours)
        centre = 0.0 if refline is None else float(refline)
        _shade_contours(ax, centre, levels, grid, y)
        ax.axvline(centre, color="k", lw=0.8, ls="-", label="reference")
    else:
        centre = res.estimate if refline is None else float(refline)
        z = float(stats.norm.isf((1 - lv) / 2))
        ax.plot(np.concatenate([centre - z * grid[::-1], centre + z * grid]),
                np.concatenate([grid[::-1], grid]), color="k", lw=0.8, ls=":",
                label="pseudo-ci")
        ax.axvline(centre, color="k", lw=0.8, label="estimate" if refline is None else
                   "reference")
    ax.scatter(y[~filled], se[~filled], color="k", s=25, zorder=3, label="studies")
    if filled.any():
        ax.scatter(y[filled], se[filled], facecolors="white", edgecolors="k", s=25, zorder=3,
                   label="filled studies")
    ax.set_ylim(se_max, 0.0)
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel if xlabel is not None else (res.measure or "Effect size"))
    return ax


def _shade_contours(ax: Any, centre: float, levels: list[float], grid: np.ndarray,
                    y: np.ndarray) -> None:
    # Regions from the outside in: p < 1 - max(level) (background), then each band, and the
    # innermost, non-significant region in white.
    zs = [float(stats.norm.isf((1 - lv) / 2)) for lv in levels]
    span = max(float(np.max(np.abs(y - centre))), zs[-1] * float(grid[-1])) * 1.1
    shades = list(CONTOUR_SHADES[: len(levels) + 1])[::-1]
    alphas = [round(1 - lv, 12) for lv in levels]  # ascending levels -> descending alphas
    ax.fill_betweenx(grid, centre - span, centre + span, color=shades[0], lw=0,
                     label=f"p < {_p(alphas[-1])}")
    for i in range(len(levels) - 1, -1, -1):
        z = zs[i]
        upper = alphas[i - 1] if i > 0 else None
        label = (f"{_p(alphas[i])} < p <= {_p(upper)}" if upper is not None
                 else f"p > {_p(alphas[i])}")
        ax.fill_betweenx(grid, centre - z * grid, centre + z * grid,
                         color=shades[len(levels) - i], lw=0, label=label)
    ax.set_xlim(centre - span, centre + span)
    ax.legend(loc="lower right", fontsize="small", frameon=True)


def _p(a: float) -> str:
    return f"{a:.2f}" if a >= 0.01 and abs(a * 100 - round(a * 100)) < 1e-9 else f"{a:g}"


def contour_funnel_plot(x: Any, vi: Any = None, *, sei: Any = None, ax: Any = None,
                        levels: Sequence[float] = (0.90, 0.95, 0.99), refline: float = 0.0,
                        **kwargs: Any) -> Axes:
    """Contour-enhanced funnel plot: shaded regions of p-values 0.10, 0.05 and 0.01 around 0.

    Studies in the white region are not significant at 0.10; missing studies there (and not in
    the shaded regions) point to publication bias rather than other small-study effects.
    """
    return funnel_plot(x, vi, sei=sei, ax=ax, contours=levels, refline=refline, **kwargs)


def trimfill_funnel_plot(result: TrimFillResult, ax: Any = None, **kwargs: Any) -> Axes:
    """Funnel plot of a trim-and-fill analysis: filled studies as open points, the funnel
    centred on the estimate after filling."""
    if not isinstance(result, TrimFillResult):
        raise InputError("trimfill_funnel_plot needs the result of acuevidence.bias.trimfill.",
                         column="result")
    return funnel_plot(result, ax=ax, **kwargs)


def baujat_plot(x: Any, ax: Any = None, *, labels: bool = True, **kwargs: Any) -> Axes:
    """Baujat plot: each study's contribution to Q (x) against its influence on the pooled
    estimate (y), as metafor's ``baujat``. ``x`` is a model (MetaResult, or effect sizes with
    ``vi=``) or a :class:`~acuevidence.influence.BaujatResult`."""
    b = x if isinstance(x, BaujatResult) else baujat(x, **kwargs)
    ax = _axes(ax)
    t = b.table
    ax.scatter(t["q_contribution"], t["influence"], color="k", s=20, label="studies")
    if labels:
        for _, row in t.iterrows():
            ax.annotate(str(row["label"]), (row["q_contribution"], row["influence"]),
                        textcoords="offset points", xytext=(3, 3), fontsize="small")
    common = b.method in ("EE", "FE", "CE")
    ax.set_xlabel("Contribution to overall heterogeneity" if common
                  else "Squared Pearson residual")
    ax.set_ylabel("Influence on overall result")
    return ax


def gosh_plot(result: GoshResult, ax: Any = None, *, x: str = "estimate", y: str = "i2",
              highlight: int | str | None = None, alpha: float | None = None) -> Axes:
    """GOSH plot: one point per subset, by default the pooled estimate against I^2.

    ``highlight`` (a study's 0-based position or label) colours the subsets that contain that
    study, as metafor's ``plot(gosh, out = ...)``.
    """
    if not isinstance(result, GoshResult):
        raise InputError("gosh_plot needs the result of acuevidence.influence.gosh.",
                         column="result")
    for name in (x, y):
        if name not in result.table.columns:
            raise InputError(f"Unknown column {name!r}; choose from "
                             f"{', '.join(result.table.columns)}.", column="x")
    ax = _axes(ax)
    n = len(result.table)
    a = alpha if alpha is not None else float(np.clip(500.0 / max(n, 1), 0.15, 0.8))
    xs, ys = result.table[x].to_numpy(), result.table[y].to_numpy()
    if highlight is None:
        ax.scatter(xs, ys, s=8, color="k", alpha=a, lw=0, label="subsets")
    else:
        if isinstance(highlight, str):
            if highlight not in result.labels:
                raise InputError(f"No study labelled {highlight!r}.", column="highlight")
            j = result.labels.index(highlight)
        else:
            j = int(highlight)
            if not 0 <= j < result.k:
                raise InputError(f"'highlight' must be in 0..{result.k - 1}; got {highlight}.",
                                 column="highlight")
        inc = result.incl[:, j]
        ax.scatter(xs[~inc], ys[~inc], s=8, color="0.5", alpha=a, lw=0,
                   label=f"without {result.labels[j]}")
        ax.scatter(xs[inc], ys[inc], s=8, color="tab:red", alpha=a, lw=0,
                   label=f"with {result.labels[j]}")
        ax.legend(loc="best", fontsize="small")
    names = {"estimate": "Estimate", "i2": "I^2 (%)", "h2": "H^2", "tau2": "tau^2", "q": "Q",
             "k": "Number of studies"}
    ax.set_xlabel(names.get(x, x))
    ax.set_ylabel(names.get(y, y))
    return ax
