"""Bubble plot of a meta-regression (metafor's ``regplot``): matplotlib is imported lazily.

As in :mod:`acuevidence.plots`, artists carry labels so that callers and tests can find them:
``"studies"`` (the bubbles, area proportional to the weight), ``"fitted"`` (the regression line)
and ``"ci"`` (its confidence band).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from ._metareg_result import MetaRegressionResult

__all__ = ["bubble"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("Plots need matplotlib: pip install 'acuevidence[plots]'") from exc
    return plt


def _continuous(frame: pd.DataFrame, formula: str | None) -> list[str]:
    out = []
    for c in frame.columns:
        if frame[c].dtype.kind not in "iuf":
            continue
        if formula and f"C({c}" in formula.replace(" ", ""):
            continue  # numeric but coded as categorical
        if frame[c].nunique() < 2:
            continue
        out.append(str(c))
    return out


def _resolve_variable(res: MetaRegressionResult, term: str | None) -> str:
    d = res.design
    if d.kind == "none" or d.frame is None:
        raise InputError("The model has no moderators to plot against; a bubble plot needs a "
                         "continuous moderator.", column="term")
    cont = _continuous(d.frame, d.formula)
    if not cont:
        raise InputError("The model has no continuous moderator; a bubble plot needs one "
                         "(categorical moderators are better shown with a forest plot by group).",
                         column="term")
    if term is None:
        return cont[0]
    if term in cont:
        return term
    # A term name such as "np.log(dose)" or "dose:C(arm)[T.b]" -> its variable.
    hits = [c for c in cont if c in term]
    if term in d.terms and len(hits) == 1:
        return hits[0]
    raise InputError(f"Cannot plot against {term!r}; continuous moderators: {', '.join(cont)}.",
                     column="term")


def _grid_rows(res: MetaRegressionResult, var: str, xs: np.ndarray) -> Any:
    d = res.design
    frame = d.frame
    assert frame is not None
    new = {}
    for c in frame.columns:
        if c == var:
            new[c] = xs
        elif frame[c].dtype.kind in "iufb":
            new[c] = np.full(len(xs), float(frame[c].astype(float).mean()))
        else:
            new[c] = [frame[c].mode().iloc[0]] * len(xs)
    new_df = pd.DataFrame(new)
    if d.kind == "matrix":
        return new_df[list(d.columns)].to_numpy(dtype=float)
    return new_df


def bubble(res: MetaRegressionResult, term: str | None = None, ax: Any = None, ci: bool = True,
           n_points: int = 100) -> Any:
    """Draw yi against a moderator with bubbles sized by weight and the fitted line (+ CI)."""
    plt = _pyplot()
    var = _resolve_variable(res, term)
    frame = res.design.frame
    assert frame is not None
    x = frame[var].to_numpy(dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    w = np.asarray(res.weights, dtype=float)
    size = 20.0 + 480.0 * w / w.max()  # area proportional to the weight
    ax.scatter(x, res.yi, s=size, facecolors="none", edgecolors="0.25", linewidths=1.0,
               zorder=3, label="studies")
    xs = np.linspace(float(x.min()), float(x.max()), int(n_points))
    pred = res.predict(_grid_rows(res, var, xs))
    ax.plot(xs, pred["pred"], color="C0", lw=1.8, zorder=2, label="fitted")
    if ci:
        ax.fill_between(xs, pred["ci_lower"], pred["ci_upper"], color="C0", alpha=0.2,
                        lw=0, zorder=1, label="ci")
    ax.axhline(0.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(var)
    ax.set_ylabel("effect size (yi)")
    others = [c for c in frame.columns if c != var]
    title = f"Meta-regression on {var}"
    if others:
        title += " (others at mean / most frequent level)"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="best", fontsize=8, frameon=False)
    return ax
