"""Behaviour of meta_analysis beyond the metafor reference values: options, errors, results."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from acuevidence import InputError, MetaAnalysis, MetaResult, meta_analysis
from acuevidence.errors import SmallSampleWarning
from acuevidence.meta import METHODS, canonical_method, canonical_test
from acuevidence.results import SUMMARY_FIELDS
from acuevidence.tau2 import estimate_tau2, loglik

YI = [0.10, 0.30, 0.35, 0.60, -0.05, 0.42]
VI = [0.020, 0.030, 0.050, 0.040, 0.060, 0.025]

# A data set whose REML likelihood has a local maximum at tau^2 = 0 and the global one inside.
# metafor 3.8.1 returns tau^2 = 0 (logLik -56.20411); the global maximum is tau^2 = 2.767044
# (logLik -55.99398; metafor finds it too when started there with control=list(tau2.init=3)).
BIMODAL_YI = [-2.15789, 3.715263, -4.922791, 1.40236, -1.82139, 5.63892, 5.553206, -0.146789,
              6.052396, -3.375904, 3.113149, 0.582464, 12.942414, -1.759295, 2.470585, -5.65338,
              9.13485, 7.635576, -3.344866, -1.23001]
BIMODAL_VI = [2.465632, 13.816712, 38.293154, 2.982305, 72.949514, 58.661171, 65.613542,
              0.032655, 44.08048, 2.90648, 28.605046, 5.051517, 96.109265, 24.346955, 75.3824,
              20.179177, 89.570926, 7.506355, 23.98129, 5.447711]


def test_readable_names_equal_codes():
    a = meta_analysis(YI, VI, method="paule-mandel", test="knapp-hartung")
    b = meta_analysis(YI, VI, method="PM", test="knha")
    assert a.method == b.method == "PM" and a.test == b.test == "knha"
    assert a.estimate == b.estimate and a.se == b.se


@pytest.mark.parametrize("name,code", [("dersimonian_laird", "DL"), ("REML", "REML"),
                                       ("reml", "REML"), ("hsk", "HSk"), ("MP", "PM"),
                                       ("fixed effect", "FE"), ("Sidik-Jonkman", "SJ")])
def test_canonical_method(name, code):
    assert canonical_method(name) == code


def test_unknown_method_suggests():
    with pytest.raises(InputError, match=r"Unknown method 'REMLL'.*Did you mean 'reml'"):
        meta_analysis(YI, VI, method="REMLL")


def test_unknown_test():
    with pytest.raises(InputError, match="Unknown test"):
        canonical_test("wald")


@pytest.mark.parametrize(
    "yi,vi,match,row",
    [
        (YI, VI[:-1], "different lengths", None),
        ([], [], r"k = 0", None),
        (YI, [0.02, 0.03, 0.0, 0.04, 0.06, 0.025], r"'vi' must be positive.*row\(s\) 3", 2),
        (YI, [0.02, -0.03, 0.05, 0.04, 0.06, 0.025], r"row\(s\) 2", 1),
        ([0.1, float("nan"), 0.3, 0.6, -0.05, 0.42], VI, r"'yi' is missing in row\(s\) 2", 1),
        ([0.1, "abc", 0.3, 0.6, -0.05, 0.42], VI, r"'yi' must be numeric; row\(s\) 2", 1),
        (YI, [0.02, 0.03, 0.05, float("inf"), 0.06, 0.025], r"'vi' is infinite in row\(s\) 4", 3),
    ],
)
def test_bad_input_names_row_and_column(yi, vi, match, row):
    with pytest.raises(InputError, match=match) as err:
        meta_analysis(yi, vi)
    assert isinstance(err.value, ValueError)
    if row is not None:
        assert err.value.rows == [row]


def test_bad_options():
    with pytest.raises(InputError, match="level"):
        meta_analysis(YI, VI, level=150)
    with pytest.raises(InputError, match="tau2"):
        meta_analysis(YI, VI, tau2=-1)
    with pytest.raises(InputError, match="GENQ.*weights"):
        meta_analysis(YI, VI, method="GENQ")
    with pytest.raises(InputError, match="profile-likelihood.*ML.*REML"):
        meta_analysis(YI, VI, method="DL", tau2_ci="PL")
    with pytest.raises(InputError, match="pi_type"):
        meta_analysis(YI, VI, pi_type="bayes")
    with pytest.raises(InputError, match="either 'vi' or 'sei'"):
        meta_analysis(YI, VI, sei=VI)
    with pytest.raises(InputError, match="'vi'"):
        meta_analysis(YI)


def test_level_as_percentage():
    assert meta_analysis(YI, VI, level=95).ci_lower == meta_analysis(YI, VI).ci_lower


def test_sei_equals_vi():
    a = meta_analysis(YI, VI)
    b = meta_analysis(YI, sei=np.sqrt(VI))
    assert math.isclose(a.estimate, b.estimate, rel_tol=1e-13)
    assert math.isclose(a.tau2, b.tau2, rel_tol=1e-9, abs_tol=1e-14)


def test_dataframe_columns_and_labels():
    df = pd.DataFrame({"trial": list("ABCDEF"), "y": YI, "v": VI})
    res = meta_analysis("y", "v", data=df, labels="trial")
    assert res.labels == tuple("ABCDEF")
    assert res.estimate == meta_analysis(YI, VI).estimate
    with pytest.raises(InputError, match="column 'missing'.*available columns: trial, y, v"):
        meta_analysis("missing", "v", data=df)


def test_k1_behaves_as_metafor():
    with pytest.warns(SmallSampleWarning, match="k = 1"):
        res = meta_analysis([0.4], [0.05])
    assert res.estimate == 0.4 and res.tau2 == 0.0 and res.q == 0.0 and res.i2 == 0.0
    assert math.isclose(res.se, math.sqrt(0.05))
    with pytest.warns(SmallSampleWarning):
        t = meta_analysis([0.4], [0.05], test="knha")
    assert t.p_value is None and t.ci_lower is None  # t with 0 df: as metafor, no interval


def test_k2_works():
    res = meta_analysis([0.2, 0.9], [0.04, 0.09], test="knha")
    assert res.k == 2 and res.df == 1 and np.isfinite(res.ci_upper)
    # Knapp-Hartung by hand at the fitted tau^2: weighted mean, s2w-scaled SE, t with 1 df
    y, v = np.array([0.2, 0.9]), np.array([0.04, 0.09])
    w = 1 / (v + res.tau2)
    est = np.sum(w * y) / np.sum(w)
    s2w = np.sum(w * (y - est) ** 2) / 1
    se = math.sqrt(s2w / np.sum(w))
    assert res.estimate == pytest.approx(est, rel=1e-12)
    assert res.se == pytest.approx(se, rel=1e-10)
    t = stats.t.ppf(0.975, 1)
    assert res.ci_upper == pytest.approx(est + t * se, rel=1e-10)


def test_knha_warns_for_common_effect():
    with pytest.warns(SmallSampleWarning, match="Knapp-Hartung"):
        meta_analysis(YI, VI, method="FE", test="knha")


def test_result_is_frozen_and_complete():
    res = meta_analysis(YI, VI, labels=list("ABCDEF"))
    assert isinstance(res, MetaResult)
    with pytest.raises(AttributeError):
        res.estimate = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.yi[0] = 1.0
    d = res.to_dict()
    json.dumps(d)  # JSON-safe
    assert set(SUMMARY_FIELDS) <= set(d)
    frame = res.to_frame()
    assert list(frame.columns) == list(SUMMARY_FIELDS)
    assert frame.loc[0, "estimate"] == res.estimate == d["estimate"]
    studies = res.study_frame()
    assert math.isclose(studies["weight"].sum(), 100.0)
    assert d["studies"][0]["label"] == "A"


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_summary_formats(fmt):
    res = meta_analysis(YI, VI, labels=["<b>x</b>", "B", "C", "D", "E", "F"])
    out = res.summary(fmt)
    assert "estimate" in out and "tau^2" in out
    if fmt == "html":
        assert "&lt;b&gt;x&lt;/b&gt;" in out and "<b>x</b>" not in out
    with pytest.raises(InputError):
        res.summary("pdf")


def test_estimator_object_holds_options_only():
    model = MetaAnalysis(method="dersimonian-laird", test="hksj")
    assert model.method == "DL" and model.test == "knha"
    a, b = model.fit(YI, VI), model.fit(YI, VI)
    assert a.to_dict() == b.to_dict()


def test_fixed_tau2():
    res = meta_analysis(YI, VI, tau2=0.1)
    assert res.tau2 == 0.1 and res.tau2_fixed and res.tau2_se is None and res.tau2_ci_lower is None


def test_pl_ci_contains_estimate():
    res = meta_analysis(YI, VI, method="REML", tau2_ci="PL")
    assert res.tau2_ci_lower <= res.tau2 <= res.tau2_ci_upper
    assert res.tau2_ci_method == "PL"


def test_reml_finds_global_maximum_where_fisher_scoring_stops_at_zero():
    y, v = np.array(BIMODAL_YI), np.array(BIMODAL_VI)
    res = meta_analysis(y, v, method="REML")
    assert abs(res.tau2 - 2.767044) < 1e-5
    assert "global-search" in res.path
    X = np.ones((len(y), 1))
    assert loglik(res.tau2, y, v, X, True) > loglik(0.0, y, v, X, True) + 0.2


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_likelihood_converges_to_1e10(method):
    rng = np.random.default_rng(7)
    X = np.ones((20, 1))
    for _ in range(200):
        v = rng.uniform(0.01, 1.0, 20) ** 2
        y = rng.normal(0, np.sqrt(v + 0.2))
        fit = estimate_tau2(method, y, v, X)
        assert fit.converged
        if fit.tau2 > 0:
            h = 1e-6 * max(1.0, fit.tau2)
            reml = method == "REML"
            # The score (central difference of the log-likelihood) vanishes at the maximum.
            d = (loglik(fit.tau2 + h, y, v, X, reml) - loglik(fit.tau2 - h, y, v, X, reml)) / (2 * h)
            assert abs(d) < 1e-5


def test_every_method_runs_and_is_finite():
    w = np.array([50, 60, 70, 80, 90, 100.0])
    for m in METHODS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = meta_analysis(YI, VI, method=m, weights=w if m == "GENQ" else None)
        for name in ("estimate", "se", "ci_lower", "ci_upper", "tau2", "i2", "h2", "q"):
            assert np.isfinite(getattr(res, name)), (m, name)
