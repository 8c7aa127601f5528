"""Behaviour of meta_regression beyond the metafor reference values: input handling, errors,
result objects, the batched permutation kernel, anova/predict/wald, the bubble plot."""

from __future__ import annotations

import json
import math
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from acuevidence import InputError
from acuevidence._metareg_kernel import (
    batch_coefficients,
    batch_tau2,
    chol_inverse,
    logdet_quad,
    tau2_basis,
)
from acuevidence._metareg_perm import (
    EXACT_LIMIT,
    count_permutations,
    multiset_permutations,
)
from acuevidence._metareg_result import SUMMARY_FIELDS
from acuevidence.errors import SmallSampleWarning
from acuevidence.metareg import MetaRegression, meta_regression
from acuevidence.tau2 import estimate_tau2

# Agreement required between a row of the batched kernel and the single fit (the brief's bar).
KERNEL_TOL = 1e-8
# Agreement between mathematically equal fits computed another way (recoded or reordered data):
# iterative estimators stop at 1e-12 on tau^2; 1e-7 leaves room for the conditioning of X.
REL_TOL = 1e-7

# dat.bcg (metadat), log risk ratios as escalc("RR") computes them.
_TP = np.array([4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27], float)
_TN = np.array([119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886],
               float)
_CP = np.array([11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29], float)
_CN = np.array([128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825],
               float)
BCG = pd.DataFrame({
    "yi": np.log((_TP / (_TP + _TN)) / (_CP / (_CP + _CN))),
    "vi": 1 / _TP - 1 / (_TP + _TN) + 1 / _CP - 1 / (_CP + _CN),
    "ablat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33],
    "year": [1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980, 1968, 1961, 1974, 1969, 1976],
    "alloc": ["random"] * 4 + ["alternate"] * 2 + ["random"] * 3 + ["systematic"] * 4,
    "n": _TP + _TN + _CP + _CN,
}, index=[f"trial{i}" for i in range(1, 14)])
METHODS = ("REML", "ML", "DL", "HE", "HS", "HSk", "SJ", "PM", "EB", "PMM", "SJIT", "DLIT",
           "GENQ", "FE")
TESTS = ("z", "t", "knha", "adhoc")


def fit(mods="ablat", **kw):
    kw.setdefault("data", BCG)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        return meta_regression("yi", "vi", mods, **kw)


def close(a, b, tol=REL_TOL):
    """|a - b| <= tol * max(1, |b|) elementwise; equal infinities and NaNs count as equal."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore"):
        near = np.abs(a - b) <= tol * np.maximum(1.0, np.abs(b))
    return bool(np.all(same | near))


# ---------------------------------------------------------------------------------------------
# Ways of giving moderators
# ---------------------------------------------------------------------------------------------
def test_formula_matrix_and_columns_agree():
    a = fit("ablat + year")
    b = fit("~ ablat + year")
    c = fit(["ablat", "year"])
    d = meta_regression(BCG.yi, BCG.vi, BCG[["ablat", "year"]].to_numpy())
    e = meta_regression(BCG.yi, BCG.vi, BCG[["ablat", "year"]])
    for r in (b, c, d, e):
        assert close(r.estimate, a.estimate) and close(r.se, a.se)
        assert math.isclose(r.tau2, a.tau2, rel_tol=REL_TOL)
    assert a.terms == c.terms == e.terms == ("intercept", "ablat", "year")
    assert d.terms == ("intercept", "mod1", "mod2")


def test_single_column_name_and_factor_spelling():
    assert fit("ablat").terms == ("intercept", "ablat")
    r = fit("factor(alloc)")
    assert r.terms == fit("C(alloc)").terms
    assert r.terms[1:] == ("C(alloc)[T.random]", "C(alloc)[T.systematic]")


@pytest.mark.parametrize("mods", ["np.log(ablat) + I(year - 1950)", "center(ablat)",
                                  "poly(ablat, 2)", "scale(ablat) + C(alloc)"])
def test_formula_transforms_predict_through_the_same_coding(mods):
    r = fit(mods)
    assert close(r.predict(BCG)["pred"], r.fitted, 1e-10)  # stateful transforms keep their state
    assert r.plot_bubble().get_xlabel() == "ablat"
    import matplotlib.pyplot as plt

    plt.close("all")


def test_intercept_false():
    a = fit("C(alloc)", intercept=False)
    b = fit("C(alloc) - 1")
    assert a.terms == b.terms and len(a.terms) == 3 and close(a.estimate, b.estimate)
    assert a.intercept is False and a.r2 is None and a.btt == (0, 1, 2)
    m = meta_regression(BCG.yi, BCG.vi, BCG.ablat.to_numpy(), intercept=False)
    assert m.terms == ("mod1",) and not m.intercept


def test_no_moderators_is_the_random_effects_model():
    from acuevidence import meta_analysis

    r = meta_regression(BCG.yi, BCG.vi)
    m = meta_analysis(BCG.yi, BCG.vi)
    assert r.terms == ("intercept",) and r.btt == (0,) and r.r2 is None
    assert math.isclose(r.estimate[0], m.estimate, rel_tol=1e-12)
    assert math.isclose(r.tau2, m.tau2, rel_tol=1e-12)
    assert math.isclose(r.loglik, m.loglik, rel_tol=1e-12)


def test_sei_labels_and_weights_columns():
    r = meta_regression("yi", mods="ablat", sei=np.sqrt(BCG.vi), data=BCG, labels="alloc")
    assert r.labels[0] == "random"
    assert math.isclose(r.tau2, fit().tau2, rel_tol=1e-9)
    w = fit(weights="n")
    assert close(w.weights.sum(), 100.0) and w.user_weights is not None


def test_reparametrisation_leaves_tau2_and_slope_unchanged():
    # Centring or rescaling a moderator changes only the intercept (tau^2 is estimated on an
    # orthonormal basis of the column space).
    d = BCG.assign(year_c=BCG.year - 1900.0, year_k=BCG.year / 1000.0)
    for method in ("REML", "ML", "DL", "PM", "SJ", "HE"):
        a = fit("ablat + year", data=d, method=method)
        b = fit("ablat + year_c", data=d, method=method)
        c = fit("ablat + year_k", data=d, method=method)
        assert math.isclose(a.tau2, b.tau2, rel_tol=REL_TOL, abs_tol=1e-12), method
        assert math.isclose(a.tau2, c.tau2, rel_tol=REL_TOL, abs_tol=1e-12), method
        assert close(a.estimate[1], b.estimate[1]) and close(a.estimate[2] * 1000, c.estimate[2])
        assert math.isclose(a.qm, b.qm, rel_tol=REL_TOL)


def test_study_order_does_not_matter_and_inputs_are_not_mutated():
    d = BCG.copy()
    snapshot = d.copy()
    a = fit("ablat + C(alloc)", data=d)
    b = fit("ablat + C(alloc)", data=d.iloc[::-1])
    pd.testing.assert_frame_equal(d, snapshot)
    assert close(a.estimate, b.estimate) and math.isclose(a.tau2, b.tau2, rel_tol=REL_TOL)
    c = fit("ablat + C(alloc)", data=d)
    assert a.to_dict() == c.to_dict()  # fit twice = same result


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------
def test_missing_moderator_names_rows_and_column():
    d = BCG.copy()
    d.loc["trial3", "ablat"] = np.nan
    d.loc["trial9", "ablat"] = np.nan
    for mods in ("ablat", "ablat + year", ["ablat", "year"]):
        with pytest.raises(InputError, match=r"'ablat' is missing in row\(s\) 3, 9") as err:
            fit(mods, data=d)
        assert err.value.rows == [2, 8] and err.value.column == "ablat"
    d = BCG.copy()
    d.loc["trial2", "alloc"] = None
    with pytest.raises(InputError, match=r"'alloc' is missing in row\(s\) 2"):
        fit("C(alloc)", data=d)


def test_collinear_moderators_are_named():
    d = BCG.assign(twice=2 * BCG.ablat, const=5.0, lat_year=BCG.ablat + BCG.year)
    with pytest.raises(InputError, match=r"'twice' is a linear combination of 'ablat'") as err:
        fit("ablat + twice", data=d)
    assert err.value.column == "twice"
    with pytest.raises(InputError, match=r"'const' is constant across studies"):
        fit("ablat + const", data=d)
    with pytest.raises(InputError, match=r"'lat_year' is a linear combination of .*'ablat', "
                                         r"'year'"):
        fit(["ablat", "year", "lat_year"], data=d)
    with pytest.raises(InputError, match="collinear"):
        meta_regression(BCG.yi, BCG.vi, np.column_stack([np.ones(13), BCG.ablat]))


def test_too_few_studies_says_how_many_are_needed():
    small = BCG.iloc[:4]
    with pytest.raises(InputError, match=r"k = 4 studies but 4 coefficients.*at least p \+ 1 = 5"):
        fit("ablat + year + C(alloc)", data=small.assign(alloc=["a", "b", "a", "b"]))


def test_unknown_variables_and_bad_formulas():
    with pytest.raises(InputError, match=r"'latitude'.*not a column.*available columns: yi, vi"):
        fit("latitude + year")
    with pytest.raises(InputError, match="one-sided formula"):
        fit("yi ~ ablat")
    with pytest.raises(InputError, match="needs 'data'"):
        meta_regression(BCG.yi.to_numpy(), BCG.vi.to_numpy(), "ablat + year")
    with pytest.raises(InputError, match="empty formula"):
        fit("~ ")
    with pytest.raises(InputError, match="not in the data"):
        fit(["ablat", "nope"])


def test_non_numeric_continuous_moderator():
    d = BCG.assign(sessions=[str(x) for x in BCG.ablat])
    d.loc["trial5", "sessions"] = "13 wk"
    with pytest.raises(InputError, match=r"'sessions' looks continuous.*row\(s\) 5.*'13 wk'") as e:
        fit("sessions + year", data=d)
    assert e.value.rows == [4]
    with pytest.raises(InputError, match=r"'sessions' must be numeric; row\(s\) 5.*C\(sessions\)"):
        fit(["sessions"], data=d)
    with pytest.raises(InputError, match="'alloc' must be numeric.*C\\(alloc\\)"):
        fit(["ablat", "alloc"])
    # wrapped in C() it is categorical on purpose
    assert len(fit("C(sessions)", data=d.iloc[:6].assign(sessions=list("aabbcc"))).terms) == 3


def test_wrong_shapes_and_options():
    with pytest.raises(InputError, match="12 rows but there are 13 studies"):
        meta_regression(BCG.yi, BCG.vi, np.ones((12, 1)))
    with pytest.raises(InputError, match="Unknown method"):
        fit(method="REMLL")
    with pytest.raises(InputError, match="tau2"):
        fit(tau2=-1)
    with pytest.raises(InputError, match="GENQ.*weights"):
        fit(method="GENQ")
    with pytest.raises(InputError, match="profile-likelihood"):
        fit(method="DL", tau2_ci="PL")
    with pytest.raises(InputError, match="'btt' position 5 does not exist"):
        fit(btt=5)
    with pytest.raises(InputError, match="matches no coefficient"):
        fit(btt="sessions")


# ---------------------------------------------------------------------------------------------
# Result object
# ---------------------------------------------------------------------------------------------
def test_result_is_frozen_and_exports():
    r = fit("ablat + C(alloc)", weights="n")
    with pytest.raises(AttributeError):
        r.tau2 = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        r.estimate[0] = 1.0
    d = r.to_dict(studies=True)
    json.dumps(d)
    assert set(SUMMARY_FIELDS) <= set(d)
    assert [c["term"] for c in d["coefficients"]] == list(r.terms)
    assert d["btt_terms"] == list(r.terms[1:])
    assert len(d["studies"]) == 13 and len(d["vcov"]) == 4
    frame = r.to_frame()
    assert list(frame.columns) == ["term", "estimate", "se", "statistic", "p_value", "ci_lower",
                                   "ci_upper"]
    assert frame.loc[1, "estimate"] == r.estimate[1]
    assert "ablat" in repr(r)


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_summary_formats(fmt):
    out = fit("ablat + C(alloc)").summary(fmt)
    assert "R^2" in out and "QE" in out and "ablat" in out
    assert "Fixed-effects" in fit(method="FE").summary(fmt)
    with pytest.raises(InputError):
        fit().summary("pdf")


def test_estimator_object_holds_options_only():
    model = MetaRegression(method="paule-mandel", test="knapp-hartung")
    assert model.method == "PM" and model.test == "knha"
    a = model.fit("yi", "vi", "ablat", data=BCG)
    assert a.method == "PM" and a.df == 11 and a.qm_df2 == 11


def test_exact_fit_under_knapp_hartung_warns():
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    with pytest.warns(SmallSampleWarning, match="s2w is 0"):
        r = meta_regression(1 + 2 * x, np.full(5, 0.1), x, test="knha")
    assert np.all(r.se == 0) and np.all(np.isinf(r.statistic)) and r.warnings
    json.dumps(r.to_dict())  # infinities become null


def test_fixed_effects_and_fixed_tau2():
    r = fit(method="FE")
    assert r.tau2 == 0.0 and r.tau2_se is None and r.tau2_ci_lower is None and r.parms == 2
    t = fit(tau2=0.1)
    assert t.tau2 == 0.1 and t.tau2_fixed and t.tau2_ci_lower is None and t.parms == 2
    with pytest.warns(SmallSampleWarning, match="Knapp-Hartung"):
        meta_regression("yi", "vi", "ablat", data=BCG, method="FE", test="knha")


def test_wald_defaults_names_and_contrasts():
    r = fit("ablat * C(alloc)")
    w = r.wald()
    assert math.isclose(w.statistic, r.qm) and w.btt == r.btt
    by_name = r.wald("ablat:C(alloc)[T.random]")
    by_pos = r.wald([4])
    assert math.isclose(by_name.statistic, by_pos.statistic)
    by_text = r.wald("alloc")  # every term containing "alloc", as metafor's btt = "alloc"
    assert by_text.btt == (2, 3, 4, 5)
    L = r.wald(L=np.eye(6)[1:])
    assert math.isclose(L.statistic, r.qm, rel_tol=1e-9)
    json.dumps(L.to_dict())
    assert "Wald" in L.summary() and isinstance(L.to_frame(), pd.DataFrame)
    with pytest.raises(InputError, match="'L' has 2 columns"):
        r.wald(L=[[1, 0]])
    k = fit("ablat", test="knha").wald(1)
    assert k.distribution == "F" and k.df2 == 11


def test_predict_forms_agree():
    r = fit("ablat + C(alloc)")
    new = pd.DataFrame({"ablat": [20, 40], "alloc": ["random", "systematic"]})
    a = r.predict(new)
    b = r.predict(np.array([[20, 0, 1, 0], [40, 0, 0, 1]])[:, [0, 2, 3]])
    c = r.predict(np.array([[1, 20, 1, 0], [1, 40, 0, 1]]))
    d = r.predict({"ablat": [20, 40], "alloc": ["random", "systematic"]})
    for other in (b, c, d):
        pd.testing.assert_frame_equal(a, other)
    fitted = r.predict()
    assert list(fitted.index) == list(BCG.index) and close(fitted["pred"], r.fitted)
    assert (a["pi_lower"] < a["ci_lower"]).all()
    assert fit(method="FE").predict([10, 20])["pi_lower"].isna().all()
    assert close(fit().predict(30.0)["pred"], fit().predict([[1, 30.0]])["pred"])
    with pytest.raises(InputError, match="lacks the moderator"):
        r.predict(pd.DataFrame({"ablat": [1.0]}))
    with pytest.raises(InputError, match="needs 3 \\(or 4"):
        r.predict(np.ones((2, 2)))
    with pytest.raises(InputError, match="pi_type"):
        r.predict(new, pi_type="bayes")
    with pytest.raises(InputError, match="no moderators"):
        meta_regression(BCG.yi, BCG.vi).predict([1.0])
    wide = r.predict(new, level=0.99)
    assert (wide["ci_upper"] > a["ci_upper"]).all()


def test_anova_refuses_what_metafor_warns_about():
    ml1, ml0 = fit("ablat + year", method="ML"), fit("ablat", method="ML")
    out = ml1.anova(ml0)
    assert out.df == 1 and 0 <= out.p_value <= 1 and out.method == "ML"
    json.dumps(out.to_dict())
    assert "Likelihood-ratio" in out.summary() and len(out.to_frame()) == 2
    reml1, reml0 = fit("ablat + year"), fit("ablat")
    with pytest.raises(InputError, match="REML likelihoods of models with different moderators"):
        reml1.anova(reml0)
    with pytest.raises(InputError, match="ML and the other by REML|REML and the other by ML"):
        ml1.anova(reml0)
    with pytest.raises(InputError, match="needs ML or REML"):
        fit("ablat + year", method="DL").anova(fit("ablat", method="DL"))
    with pytest.raises(InputError, match="not nested"):
        fit("ablat", method="ML").anova(fit("year + C(alloc)", method="ML"))
    with pytest.raises(InputError, match="same number of parameters"):
        fit("ablat", method="ML").anova(fit("year", method="ML"))
    with pytest.raises(InputError, match="different data"):
        fit("ablat + year", method="ML").anova(fit("ablat", method="ML", data=BCG.iloc[::-1]))
    with pytest.raises(InputError, match="fixed-effects model cannot be the larger"):
        fit("ablat * C(alloc)", method="FE").anova(fit("ablat", method="ML"))
    with pytest.raises(InputError, match="two meta-regression results"):
        ml1.anova("model")  # type: ignore[arg-type]
    # REML with the same moderators: the LRT for tau^2 = 0
    assert fit("ablat").anova(fit("ablat", method="FE")).method == "REML"


def test_pseudo_r2_definition():
    r = fit("ablat")
    t0 = estimate_tau2("REML", BCG.yi.to_numpy() - BCG.yi.mean(), BCG.vi.to_numpy(),
                       np.ones((13, 1))).tau2
    assert math.isclose(r.r2, 100 * (t0 - r.tau2) / t0, rel_tol=1e-12)
    assert fit("ablat + year + C(alloc)", method="DL").r2 >= 0


# ---------------------------------------------------------------------------------------------
# Batched kernel = single fit
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mods", ["ablat", "ablat + year", "ablat * C(alloc)", "ablat - 1"])
def test_kernel_rows_equal_single_fits(mods):
    res = fit(mods)
    X0 = res.design.X
    k = X0.shape[0]
    rng = np.random.default_rng(42)
    B = 40
    perm = rng.permuted(np.tile(np.arange(k), (B, 1)), axis=1)
    perm[0] = np.arange(k)
    X, Q = X0[perm], tau2_basis(X0)[perm]
    y, v, a = BCG.yi.to_numpy(), BCG.vi.to_numpy(), BCG.n.to_numpy()
    Y = np.broadcast_to(y, (B, k))
    for method in METHODS:
        t = batch_tau2(method, Y - y.mean(), v, Q, a)
        for test in TESTS:
            for w in ((None, a) if test in ("z", "knha") else (None,)):
                if method == "GENQ" and w is None:
                    continue
                c = batch_coefficients(t, Y, v, X, test, np.asarray(res.btt), w)
                for b in (0, 7, 31):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", SmallSampleWarning)
                        one = meta_regression(y, v, X[b], intercept=False, method=method,
                                              test=test, weights=w, btt=list(res.btt),
                                              tau2_ci=None)
                    assert math.isclose(t[b], one.tau2, rel_tol=KERNEL_TOL, abs_tol=1e-13), (
                        method, b)
                    assert close(c["statistic"][b], one.statistic, KERNEL_TOL), (method, test)
                    assert close(c["qm"][b], one.qm, KERNEL_TOL), (method, test)
                    assert close(c["beta"][b], one.estimate, KERNEL_TOL)


def test_kernel_finds_the_global_reml_maximum():
    # The bimodal data of tests/test_meta.py: a local maximum at tau^2 = 0, the global one at
    # 2.767; the kernel's grid check sends the row to the scalar search, as the single fit does.
    from test_meta import BIMODAL_VI, BIMODAL_YI

    y, v = np.array(BIMODAL_YI), np.array(BIMODAL_VI)
    X = np.ones((1, len(y), 1))
    t = batch_tau2("REML", (y - y.mean())[None, :], v, X)
    assert abs(t[0] - 2.767044) < 1e-5
    assert math.isclose(t[0], estimate_tau2("REML", y - y.mean(), v, X[0]).tau2, rel_tol=1e-10)


@pytest.mark.parametrize("p", [1, 2, 3, 5, 9, 12])
def test_batched_inverse_and_logdet(p):
    rng = np.random.default_rng(p)
    M = rng.normal(size=(20, p + 3, p))
    A = np.einsum("bki,bkj->bij", M, M) + 0.1 * np.eye(p)
    inv, logdet = chol_inverse(A)
    assert np.allclose(inv, np.linalg.inv(A), rtol=1e-9, atol=1e-12)
    assert np.allclose(logdet, np.linalg.slogdet(A)[1], rtol=1e-11)
    b = rng.normal(size=(20, p))
    _, q = logdet_quad(A, b)
    assert np.allclose(q, np.einsum("bi,bi->b", b, np.linalg.solve(A, b[..., None])[..., 0]))
    bad, _ = chol_inverse(-A)  # not positive definite -> NaN, never an exception
    assert np.isnan(bad).any()


# ---------------------------------------------------------------------------------------------
# Permutation test
# ---------------------------------------------------------------------------------------------
def test_permutation_counting_and_enumeration():
    labels = np.array([0, 1, 1, 2, 2, 2])
    assert count_permutations(labels) == 60
    perms = np.concatenate(list(multiset_permutations(labels, chunk=7)))
    assert perms.shape == (60, 6) and len({tuple(r) for r in perms}) == 60
    assert all(sorted(r) == sorted(labels) for r in perms.tolist())


def test_permutation_test_is_reproducible_and_exact_when_small():
    r = fit()
    a = r.permutation_test(200, seed=3)
    b = r.permutation_test(200, seed=3)
    assert np.array_equal(a.p_value, b.p_value) and a.qm_p_value == b.qm_p_value
    assert not a.exact and a.n_perm == 200 and a.seed == 3
    assert np.all(a.p_value >= 1 / 200)  # the observed arrangement counts
    assert close(a.statistic_perm[0], r.statistic, KERNEL_TOL)
    unseeded = r.permutation_test(50)
    assert isinstance(unseeded.seed, int)  # drawn and reported, so the run can be repeated
    assert np.array_equal(r.permutation_test(50, seed=unseeded.seed).p_value, unseeded.p_value)
    small = fit(data=BCG.iloc[:6])
    ex = small.permutation_test()  # 6!/2! = 360 <= 1000: exact, as metafor
    assert ex.exact and ex.n_perm == 360 and ex.n_distinct == 360 and ex.seed is None
    mc = small.permutation_test(100, seed=1)  # 360 > 100: Monte Carlo
    assert not mc.exact and mc.n_perm == 100
    forced = small.permutation_test(100, exact=True)
    assert forced.exact and forced.n_perm == 360
    json.dumps(ex.to_dict(distribution=True))
    assert "exact" in ex.summary() and list(ex.to_frame().columns)[-1] == "p_value_model"


def test_permutation_test_options_and_models():
    for kw in ({"method": "FE"}, {"tau2": 0.05}, {"weights": "n"}, {"test": "knha"},
               {"method": "DLIT"}, {"method": "PM", "test": "adhoc"}):
        pt = fit("ablat + C(alloc)", **kw).permutation_test(60, seed=1)
        assert pt.n_failed == 0 and np.all((pt.p_value > 0) & (pt.p_value <= 1))
    flip = meta_regression(BCG.yi[:6], BCG.vi[:6]).permutation_test()
    assert flip.exact and flip.n_perm == 64  # 2^6 sign patterns
    big = meta_regression(np.arange(12.0), np.ones(12), np.arange(12.0) ** 2)
    with pytest.raises(InputError, match="exact permutation test needs 479,001,600"):
        big.permutation_test(exact=True)
    assert EXACT_LIMIT < 479_001_600
    for bad in ({"n_perm": 1}, {"n_perm": 2.5}, {"exact": "yes"}, {"seed": "x"}):
        with pytest.raises(InputError):
            fit().permutation_test(**bad)


# ---------------------------------------------------------------------------------------------
# Bubble plot
# ---------------------------------------------------------------------------------------------
def test_bubble_plot_returns_axes():
    import matplotlib.pyplot as plt

    r = fit("ablat + year + C(alloc)")
    ax = r.plot_bubble()
    assert ax.get_xlabel() == "ablat"
    labels = {a.get_label() for a in ax.collections + ax.lines}
    assert {"studies", "fitted", "ci"} <= labels
    sizes = next(c for c in ax.collections if c.get_label() == "studies").get_sizes()
    assert np.argmax(sizes) == np.argmax(r.weights)  # bubble area follows the weight
    _, ax2 = plt.subplots()
    assert r.plot_bubble("year", ax=ax2) is ax2
    m = meta_regression(BCG.yi, BCG.vi, BCG[["ablat", "year"]])
    assert m.plot_bubble("year").get_xlabel() == "year"
    assert fit(["ablat"]).plot_bubble(ci=False).get_xlabel() == "ablat"
    with pytest.raises(InputError, match="no continuous moderator"):
        fit("C(alloc)").plot_bubble()
    with pytest.raises(InputError, match="Cannot plot against 'alloc'"):
        r.plot_bubble("alloc")
    with pytest.raises(InputError, match="no moderators"):
        meta_regression(BCG.yi, BCG.vi).plot_bubble()
    plt.close("all")


# ---------------------------------------------------------------------------------------------
# Property: the permutation kernel's identity row is the fitted model, for random data
# ---------------------------------------------------------------------------------------------
@st.composite
def regressions(draw):
    k = draw(st.integers(min_value=5, max_value=14))
    fl = st.floats(min_value=-3, max_value=3, allow_nan=False, allow_infinity=False)
    y = np.array(draw(st.lists(fl, min_size=k, max_size=k)))
    v = np.array(draw(st.lists(st.floats(min_value=0.01, max_value=2.0), min_size=k,
                               max_size=k)))
    x = np.array(draw(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False),
                               min_size=k, max_size=k)))
    return y, v, x


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=regressions(), method=st.sampled_from(["REML", "ML", "DL", "PM", "SJ"]),
       test=st.sampled_from(["z", "knha"]))
def test_identity_permutation_reproduces_the_fit(data, method, test):
    y, v, x = data
    # a constant moderator is rejected as collinear (tested above): discard, not pass
    assume(np.ptp(x) >= 1e-3 * max(1.0, np.max(np.abs(x))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)  # exact fits under knha
        res = meta_regression(y, v, x, method=method, test=test, tau2_ci=None)
    X = res.design.X[None]
    t = batch_tau2(method, (y - y.mean())[None], v, tau2_basis(res.design.X)[None])
    c = batch_coefficients(t, y[None], v, X, test, np.asarray(res.btt))
    assert math.isclose(t[0], res.tau2, rel_tol=KERNEL_TOL, abs_tol=1e-12)
    assert close(c["statistic"][0], res.statistic, KERNEL_TOL)
    assert close(c["qm"][0], res.qm, KERNEL_TOL)
