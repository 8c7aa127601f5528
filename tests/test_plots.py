"""Plots of acuevidence.plots: the drawn data (points, lines, shaded regions, labels), Agg backend."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection, PolyCollection

from acuevidence import InputError, meta_analysis
from acuevidence.bias import trimfill
from acuevidence.influence import baujat, gosh
from acuevidence.plots import (
    baujat_plot,
    contour_funnel_plot,
    funnel_plot,
    gosh_plot,
    trimfill_funnel_plot,
)

Y = np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34,
              0.45, -0.02])
V = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.007, 0.22, 0.004, 0.056, 0.073, 0.012, 0.53,
              0.071])


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def by_label(ax, label):
    return [a for a in ax.collections + ax.lines if a.get_label() == label]


def test_funnel_plot_draws_studies_funnel_and_inverted_axis():
    res = meta_analysis(Y, V, measure="RR")
    ax = funnel_plot(res)
    (pts,) = by_label(ax, "studies")
    np.testing.assert_allclose(pts.get_offsets(), np.column_stack([Y, np.sqrt(V)]))
    (ci,) = by_label(ax, "pseudo-ci")
    xs, ys = ci.get_data()
    # the funnel's half-width at the largest SE is 1.96 * SE around the estimate
    top = np.argmax(ys)
    assert abs(xs[top] - res.estimate) == pytest.approx(1.959964 * ys[top], rel=1e-5)
    (ref,) = by_label(ax, "estimate")
    assert ref.get_xdata()[0] == pytest.approx(res.estimate)
    lo, hi = ax.get_ylim()
    assert lo > hi == 0.0  # inverted: precise studies on top
    assert ax.get_ylabel() == "Standard error" and ax.get_xlabel() == "RR"


def test_funnel_plot_from_arrays_and_given_axes():
    _fig, ax0 = plt.subplots()
    ax = funnel_plot(Y, V, ax=ax0, method="DL", level=0.90)
    assert ax is ax0
    (ci,) = by_label(ax, "pseudo-ci")
    xs, ys = ci.get_data()
    est = meta_analysis(Y, V, method="DL").estimate
    top = np.argmax(ys)
    assert abs(xs[top] - est) == pytest.approx(1.644854 * ys[top], rel=1e-5)


def test_contour_enhanced_funnel_plot_regions():
    ax = contour_funnel_plot(meta_analysis(Y, V))
    polys = [c for c in ax.collections if isinstance(c, PolyCollection)]
    labels = [c.get_label() for c in polys]
    assert labels == ["p < 0.01", "0.01 < p <= 0.05", "0.05 < p <= 0.10", "p > 0.10"]
    # the white, non-significant region at the largest SE spans 0 +- 1.645 * SE
    inner = polys[-1].get_paths()[0].vertices
    se_max = inner[:, 1].max()
    assert inner[:, 0].max() == pytest.approx(1.644854 * se_max, rel=1e-5)
    (ref,) = by_label(ax, "reference")
    assert ref.get_xdata()[0] == 0.0
    assert len(by_label(ax, "studies")[0].get_offsets()) == len(Y)
    assert [t.get_text() for t in ax.get_legend().get_texts()][:4] == labels


def test_trimfill_funnel_plot_shows_filled_studies_open():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # small studies only on the right of the pooled effect: some are missing on the left
        se = np.array([0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4])
        y = 0.2 + np.array([0.01, -0.02, 0.05, 0.12, 0.2, 0.3, 0.35, 0.5, 0.6])
        tf = trimfill(meta_analysis(y, se**2, method="FE"))
    assert tf.k0 > 0
    ax = trimfill_funnel_plot(tf)
    (obs,) = by_label(ax, "studies")
    (fill,) = by_label(ax, "filled studies")
    assert tf.side == "left"
    assert len(obs.get_offsets()) == 9 and len(fill.get_offsets()) == tf.k0
    assert np.allclose(fill.get_facecolors()[0][:3], 1.0)  # open (white) points
    (ref,) = by_label(ax, "estimate")
    assert ref.get_xdata()[0] == pytest.approx(tf.result.estimate)
    with pytest.raises(InputError, match="trimfill"):
        trimfill_funnel_plot(meta_analysis(Y, V))


def test_baujat_plot_points_and_labels():
    res = meta_analysis(Y, V, method="FE", labels=[f"T{i}" for i in range(13)])
    ax = baujat_plot(res)
    (pts,) = by_label(ax, "studies")
    b = baujat(res)
    np.testing.assert_allclose(pts.get_offsets(),
                               b.table[["q_contribution", "influence"]].to_numpy())
    assert [t.get_text() for t in ax.texts] == [f"T{i}" for i in range(13)]
    assert ax.get_xlabel() == "Contribution to overall heterogeneity"
    ax2 = baujat_plot(b, labels=False)
    assert len(ax2.texts) == 0 and "Influence" in ax2.get_ylabel()


def test_gosh_plot_points_and_highlight():
    g = gosh(Y[:6], V[:6], method="DL", labels=list("abcdef"))
    ax = gosh_plot(g)
    (pts,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(pts.get_offsets()) == 63
    assert ax.get_xlabel() == "Estimate" and ax.get_ylabel() == "I^2 (%)"
    ax2 = gosh_plot(g, highlight="b", x="estimate", y="tau2")
    without, with_ = by_label(ax2, "without b"), by_label(ax2, "with b")
    assert len(with_[0].get_offsets()) == 32 and len(without[0].get_offsets()) == 31
    assert ax2.get_ylabel() == "tau^2"
    with pytest.raises(InputError, match="No study labelled"):
        gosh_plot(g, highlight="z")
    with pytest.raises(InputError, match="Unknown column"):
        gosh_plot(g, y="r2")
    with pytest.raises(InputError, match="gosh"):
        gosh_plot(meta_analysis(Y, V))


def test_bad_contour_levels():
    with pytest.raises(InputError, match="Contour levels"):
        funnel_plot(meta_analysis(Y, V), contours=(0.9, 100))
