"""Unit, contract and property tests of acuevidence.influence (numbers against metafor are in
test_reference_influence.py)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from acuevidence import InputError, meta_analysis
from acuevidence.influence import (
    SubsetSamplingWarning,
    baujat,
    cumulative,
    gosh,
    gosh_closed_form,
    influence,
    influence_diagnostics,
    leave_one_out,
)

Y = np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37])
V = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.007, 0.22, 0.004, 0.056, 0.073])
YEAR = [1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980, 1968, 1961]


def fit(y, v, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return meta_analysis(y, v, **kw)


@pytest.mark.parametrize("method,test", [("REML", "z"), ("DL", "knha"), ("FE", "z")])
def test_leave_one_out_rows_are_refits_without_that_study(method, test):
    res = fit(Y, V, method=method, test=test, labels=[f"S{i}" for i in range(10)])
    out = leave_one_out(res)
    assert list(out.table["label"]) == [f"S{i}" for i in range(10)]
    for i in (0, 4, 9):
        ref = fit(np.delete(Y, i), np.delete(V, i), method=method, test=test)
        row = out.table.iloc[i]
        assert row["estimate"] == pytest.approx(ref.estimate, rel=1e-12)
        assert row["tau2"] == pytest.approx(ref.tau2, abs=1e-12)
        assert row["p_value"] == pytest.approx(ref.p_value, rel=1e-10)


def test_leave_one_out_needs_two_studies_and_exports():
    with pytest.raises(InputError, match="at least 2 studies"):
        leave_one_out([0.1], [0.01])
    out = leave_one_out(Y, V, method="DL")
    d = out.to_dict()
    json.dumps(d)
    assert len(d["rows"]) == 10 and d["method"] == "DL"
    assert "Leave-one-out" in out.summary() and out.to_frame() is not out.table
    two = leave_one_out([0.1, 0.5], [0.01, 0.02])
    assert "single study" in two.warnings[0]


def _metafor_flags(t, k, p=1):
    """metafor's influence.rma.uni rule: |DFFITS| > 3 sqrt(p / (k - p)), pchisq(Cook, p) > 0.5,
    hat > 3 p / k or any |DFBETAS| > 1."""
    return ((t["dffits"].abs() > 3 * np.sqrt(p / (k - p)))
            | (stats.chi2.cdf(t["cooks_distance"], p) > 0.5)
            | (t["hat"] > 3 * p / k) | (t["dfbetas"].abs() > 1)).to_numpy()


def test_influence_structure_and_flags():
    out = influence(Y, V, method="REML")
    t = out.table
    # hat values of the intercept-only model: w_i / sum(w), w = 1 / (v + tau^2)
    w = 1 / (V + fit(Y, V, method="REML").tau2)
    np.testing.assert_allclose(t["hat"], w / w.sum(), rtol=1e-10)
    np.testing.assert_allclose(t["weight"], 100 * w / w.sum(), rtol=1e-10)
    assert t["influential"].dtype == bool
    # no study here meets any of metafor's criteria (the largest hat is 0.13 < 3/k = 0.3)
    assert not _metafor_flags(t, 10).any()
    assert out.influential_labels == () and not t["influential"].any()
    # an added precise outlier is flagged (DFFITS 1.15 > 1, DFBETAS 1.08 > 1), and only it
    y2, v2 = np.r_[Y, 1.5], np.r_[V, 0.002]
    out2 = influence(y2, v2, method="REML")
    assert out2.influential_labels == ("Study 11",)
    np.testing.assert_array_equal(out2.table["influential"].to_numpy(),
                                  _metafor_flags(out2.table, 11))
    assert (t["cov_ratio"] > 0).all()
    json.dumps(out.to_dict())
    assert influence is influence_diagnostics  # metafor's name, kept as an alias


def test_cumulative_order_ties_and_last_row():
    out = cumulative(Y, V, order=YEAR, method="DL")
    t = out.table
    assert list(t["k"]) == list(range(1, 11))
    # ties (1973 twice) keep the input order, as R's order()
    assert list(t["order"]) == sorted(YEAR)
    idx = [i for i, yv in enumerate(YEAR) if yv == 1973]
    assert list(t.loc[t["order"] == 1973, "label"]) == [f"Study {i + 1}" for i in idx]
    assert t.iloc[-1]["estimate"] == pytest.approx(fit(Y, V, method="DL").estimate, rel=1e-12)
    dec = cumulative(Y, V, order=YEAR, decreasing=True, method="DL").table
    assert list(dec["order"]) == sorted(YEAR, reverse=True)
    assert list(dec.loc[dec["order"] == 1973, "label"]) == [f"Study {i + 1}" for i in idx]
    plain = cumulative(Y, V, method="DL").table
    assert list(plain["label"]) == [f"Study {i + 1}" for i in range(10)]
    assert "order" not in plain.columns


def test_cumulative_with_data_frame_and_errors():
    df = pd.DataFrame({"y": Y, "v": V, "year": YEAR, "name": list("abcdefghij")})
    out = cumulative("y", "v", data=df, order="year", labels="name", method="FE")
    assert out.table.iloc[0]["label"] == "a"
    with pytest.raises(InputError, match="one sort key per study"):
        cumulative(Y, V, order=YEAR[:5])
    with pytest.raises(InputError, match=r"'order' is missing in row\(s\) 2"):
        cumulative(Y, V, order=[1990, None] + YEAR[2:])


def test_gosh_enumerates_every_subset_in_metafor_order():
    out = gosh(Y[:5], V[:5], method="FE")
    assert out.exact and len(out.table) == 2**5 - 1
    sizes = out.table["k"].to_numpy()
    assert (np.diff(sizes) >= 0).all()
    assert out.incl[:5].sum(axis=1).tolist() == [1] * 5
    assert out.incl[0].tolist() == [True, False, False, False, False]
    assert out.incl[-1].all()
    assert out.table.iloc[-1]["estimate"] == pytest.approx(
        fit(Y[:5], V[:5], method="FE").estimate)
    json.dumps(out.to_dict())
    assert "GOSH" in out.summary()


def test_gosh_samples_with_warning_when_too_many_subsets():
    with pytest.warns(SubsetSamplingWarning, match="random sample of 200 subsets"):
        a = gosh(Y, V, method="DL", subsets=200, seed=1)
    with pytest.warns(SubsetSamplingWarning):
        b = gosh(Y, V, method="DL", subsets=200, seed=1)
    assert not a.exact and len(a.table) == 200
    assert np.array_equal(a.incl, b.incl) and a.incl.any(axis=1).all()
    with pytest.raises(InputError, match="at least 2"):
        gosh(Y, V, subsets=1)


def test_gosh_iterative_matches_meta_analysis():
    out = gosh(Y[:4], V[:4], method="REML")
    for r in (5, 10, 14):
        idx = np.flatnonzero(out.incl[r])
        ref = fit(Y[idx], V[idx], method="REML")
        row = out.table.iloc[r]
        assert row["estimate"] == pytest.approx(ref.estimate, rel=1e-10)
        assert row["i2"] == pytest.approx(ref.i2, abs=1e-8)
        assert row["q"] == pytest.approx(ref.q, rel=1e-10)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-2, 2), st.floats(0.01, 1.0)), min_size=2, max_size=7),
       st.booleans())
def test_gosh_closed_form_matches_engine(studies, random):
    y = np.array([s[0] for s in studies])
    v = np.array([s[1] for s in studies])
    incl = np.ones((1, len(y)), bool)
    got = gosh_closed_form(y, v, incl, random)
    ref = fit(y, v, method="DL" if random else "FE")
    assert got["estimate"][0] == pytest.approx(ref.estimate, rel=1e-9, abs=1e-12)
    assert got["q"][0] == pytest.approx(ref.q, rel=1e-9, abs=1e-12)
    assert got["tau2"][0] == pytest.approx(ref.tau2, rel=1e-9, abs=1e-12)
    assert got["i2"][0] == pytest.approx(ref.i2, rel=1e-9, abs=1e-9)


def test_baujat_common_effect_contributions_sum_to_q():
    res = fit(Y, V, method="FE")
    out = baujat(res)
    assert out.table["q_contribution"].sum() == pytest.approx(res.q)
    assert (out.table["influence"] >= 0).all()


def test_subset_refits_keep_a_fixed_tau2():
    res = fit(Y, V, tau2=0.05)
    out = leave_one_out(res)
    assert (out.table["tau2"] == 0.05).all()
    g = gosh(Y[:4], V[:4], method="REML")
    assert g.method == "REML"


def test_order_invariance_of_per_study_diagnostics():
    perm = np.random.default_rng(11).permutation(10)
    labels = [f"S{i}" for i in range(10)]
    a = influence(Y, V, labels=labels).table.set_index("label")
    b = influence(Y[perm], V[perm], labels=[labels[i] for i in perm]).table.set_index("label")
    pd.testing.assert_frame_equal(a, b.loc[a.index], rtol=1e-8)
    la = leave_one_out(Y, V, labels=labels).table.set_index("label")
    lb = leave_one_out(Y[perm], V[perm], labels=[labels[i] for i in perm]).table.set_index("label")
    pd.testing.assert_frame_equal(la, lb.loc[la.index], rtol=1e-8)
