"""Unit, contract and property tests of acuevidence.bias and acuevidence.selection
(the numbers themselves are checked against metafor in test_reference_bias.py)."""

from __future__ import annotations

import itertools
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from acuevidence import InputError, meta_analysis
from acuevidence.bias import (
    fsn,
    kendall_exact_cdf,
    kendall_tau_b,
    pet_peese,
    ranktest,
    regtest,
    trimfill,
)
from acuevidence.selection import richardson_hessian, selection_model

# dat.bcg log risk ratios (escalc "RR"), used as a realistic asymmetric example.
BCG_Y = np.array([-0.8893113, -1.5853887, -1.3480731, -1.4415512, -0.2175379, -0.7861155,
                  -1.6208982, 0.0119729, -0.4694176, -1.3713448, -0.3393897, 0.4459134,
                  -0.0173139])
BCG_V = np.array([0.3255848, 0.1945811, 0.4153680, 0.0200100, 0.0512102, 0.0069071,
                  0.2230172, 0.0039626, 0.0564342, 0.0730248, 0.0124140, 0.5325319,
                  0.0714043])
BCG_N = np.array([262, 609, 451, 26465, 10877, 2545, 619, 88391, 7499, 1716, 7621, 2339,
                  34047], dtype=float)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# regtest
# ---------------------------------------------------------------------------------------
def test_regtest_lm_equals_egger_original_regression():
    # Egger (1997): OLS of the standard normal deviate yi/sei on the precision 1/sei; its
    # intercept is the WLS slope on sei, with the same t statistic.
    sei = np.sqrt(BCG_V)
    X = np.column_stack([np.ones_like(sei), 1 / sei])
    zdev = BCG_Y / sei
    coef, res, *_ = np.linalg.lstsq(X, zdev, rcond=None)
    sigma2 = res[0] / (len(zdev) - 2)
    se0 = math.sqrt(sigma2 * np.linalg.inv(X.T @ X)[0, 0])
    out = regtest(BCG_Y, BCG_V, model="lm")
    assert out.slope == pytest.approx(coef[0], rel=1e-10)
    assert out.statistic == pytest.approx(coef[0] / se0, rel=1e-10)
    assert out.limit_estimate == pytest.approx(coef[1], rel=1e-10)
    assert out.df == len(BCG_Y) - 2


def test_regtest_from_result_equals_arrays_and_options_override():
    res = meta_analysis(BCG_Y, BCG_V, method="DL", test="knha")
    a = regtest(res)
    b = regtest(BCG_Y, BCG_V, method="DL", test="knha")
    assert a.statistic == b.statistic and a.p_value == b.p_value and a.df == b.df == 11
    c = regtest(res, test="z")  # override as metafor's regtest(x, test = ...)
    assert c.df is None and c.test == "z"


def test_regtest_predictors_and_limit():
    for pred in ("ni", "sqrtni"):
        out = regtest(BCG_Y, BCG_V, ni=BCG_N, predictor=pred)
        assert out.limit_estimate is None and out.limit_ci_lower is None
    for pred in ("ninv", "sqrtninv"):
        out = regtest(BCG_Y, BCG_V, ni=BCG_N, predictor=pred)
        assert out.limit_ci_lower < out.limit_estimate < out.limit_ci_upper


def test_regtest_data_frame_columns():
    df = pd.DataFrame({"y": BCG_Y, "v": BCG_V, "n": BCG_N})
    a = regtest("y", "v", data=df, ni="n", predictor="ninv")
    b = regtest(BCG_Y, BCG_V, ni=BCG_N, predictor="ninv")
    assert a.statistic == b.statistic


def test_regtest_bad_input():
    with pytest.raises(InputError, match="at least 3 studies"):
        regtest([0.1, 0.2], [0.01, 0.02])
    with pytest.raises(InputError, match="needs the sample sizes"):
        regtest(BCG_Y, BCG_V, predictor="ninv")
    with pytest.raises(InputError, match="same for every study"):
        regtest([0.1, 0.2, 0.4, 0.3], [0.02] * 4)
    with pytest.raises(InputError, match="Unknown predictor"):
        regtest(BCG_Y, BCG_V, predictor="precision")
    with pytest.raises(InputError, match="Unknown model"):
        regtest(BCG_Y, BCG_V, model="glm")
    with pytest.raises(InputError, match="'ni' must be positive"):
        regtest(BCG_Y, BCG_V, ni=np.r_[0.0, BCG_N[1:]], predictor="ni")
    with pytest.raises(InputError, match="different lengths"):
        regtest(BCG_Y, BCG_V, ni=BCG_N[:5], predictor="ni")
    res = meta_analysis(BCG_Y, BCG_V)
    with pytest.raises(InputError, match="not both"):
        regtest(res, BCG_V)
    custom = meta_analysis(BCG_Y, BCG_V, weights=BCG_N)
    with pytest.raises(InputError, match="custom weights"):
        regtest(custom)


def test_regtest_perfect_fit_and_identical_effects_are_flagged():
    y = np.full(5, 0.3)
    v = np.array([0.01, 0.02, 0.03, 0.04, 0.05])
    assert "exactly" in regtest(y, v, model="lm").warnings[0]
    assert regtest(y, v).warnings == ()  # the rma test has its own variance model
    with pytest.raises(InputError, match="all effect sizes are equal"):
        ranktest(y, v)
    with pytest.raises(InputError, match="same variance"):
        ranktest([0.1, 0.3, 0.2, 0.5], [0.02] * 4)


def test_regtest_output_is_json_safe_and_readable():
    out = regtest(BCG_Y, BCG_V)
    d = out.to_dict()
    json.dumps(d)
    assert d["predictor"] == "sei" and d["df"] is None
    assert "Regression test" in out.summary() and "<table>" in out.summary("html")
    assert list(out.to_frame().columns)[:3] == ["model", "predictor", "method"]


def test_inputs_not_mutated_and_refit_identical():
    y, v = BCG_Y.copy(), BCG_V.copy()
    a = regtest(y, v)
    b = regtest(y, v)
    assert a.to_dict() == b.to_dict()
    trimfill(y, v)
    ranktest(y, v)
    assert np.array_equal(y, BCG_Y) and np.array_equal(v, BCG_V)


# ---------------------------------------------------------------------------------------
# ranktest
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_kendall_exact_cdf_matches_enumeration(n):
    counts = np.zeros(n * (n - 1) // 2 + 1)
    for perm in itertools.permutations(range(n)):
        conc = sum(perm[i] < perm[j] for i in range(n) for j in range(i + 1, n))
        counts[conc] += 1
    expected = np.cumsum(counts) / counts.sum()
    np.testing.assert_allclose(kendall_exact_cdf(n), expected, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-50, 50), st.integers(-50, 50)), min_size=3, max_size=25))
def test_kendall_tau_b_matches_scipy(pairs):
    x = np.array([p[0] for p in pairs], float)
    y = np.array([p[1] for p in pairs], float)
    ours = kendall_tau_b(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = stats.kendalltau(x, y).statistic
    if math.isnan(ref):
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(ref, abs=1e-12)


def test_ranktest_ties_use_normal_approximation():
    y = np.array([0.1, 0.3, 0.2, 0.5, 0.4, 0.6])
    v = np.array([0.01, 0.02, 0.02, 0.04, 0.03, 0.05])
    out = ranktest(y, v)
    assert not out.exact and "Ties" in out.warnings[0]
    # metafor: Kendall's tau of the standardised deviates and the variances, cor.test(exact =
    # FALSE): the normal approximation with the tie-corrected variance, as scipy's asymptotic test
    w = 1 / v
    fe = np.sum(w * y) / np.sum(w)
    ref = stats.kendalltau((y - fe) / np.sqrt(v - 1 / np.sum(w)), v, method="asymptotic")
    assert out.tau == pytest.approx(ref.statistic, rel=1e-12)
    assert out.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert ranktest(BCG_Y, BCG_V).exact
    with pytest.raises(InputError, match="at least 3"):
        ranktest([0.1, 0.2], [0.1, 0.2])


# ---------------------------------------------------------------------------------------
# trimfill
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("estimator", ["L0", "R0"])
def test_trimfill_mirror_image_flips_side(estimator):
    a = trimfill(BCG_Y, BCG_V, estimator=estimator, method="FE")
    b = trimfill(-BCG_Y, BCG_V, estimator=estimator, method="FE")
    assert a.k0 == b.k0
    assert {a.side, b.side} == {"left", "right"}
    assert a.estimate == pytest.approx(-b.estimate, abs=1e-12)


def test_trimfill_symmetric_funnel_fills_nothing():
    v = np.array([0.01, 0.01, 0.04, 0.04, 0.09, 0.09, 0.16, 0.16])
    y = 0.3 + np.array([0.05, -0.05, 0.1, -0.1, 0.15, -0.15, 0.2, -0.2])
    out = trimfill(y, v, method="FE")
    assert out.k0 == 0 and not out.filled.any()
    assert out.result.estimate == pytest.approx(0.3)
    assert len(out.study_frame()) == 8


def test_trimfill_filled_studies_and_ilim():
    res = quiet(meta_analysis, BCG_Y, BCG_V, method="REML", labels=[f"T{i}" for i in range(13)])
    out = trimfill(res, side="right", estimator="L0")
    assert out.k0 > 0
    assert out.result.k == 13 + out.k0
    assert out.labels[-1] == f"Filled {out.k0}" and out.labels[0] == "T0"
    assert out.k0_p_value is None  # only R0 has a test of k0 = 0
    r0 = trimfill(-BCG_Y, BCG_V, side="left", estimator="R0")
    assert r0.k0_p_value == pytest.approx(0.5 ** (r0.k0 + 1))
    clipped = trimfill(res, side="right", estimator="L0", ilim=(-1.0, -0.5))
    assert clipped.yi[clipped.filled].max() <= -0.5
    frame = out.study_frame()
    assert frame["filled"].sum() == out.k0
    json.dumps(out.to_dict())
    assert "Trim-and-fill" in out.summary()
    assert out.to_frame().loc[0, "k0"] == out.k0


def test_trimfill_bad_input():
    with pytest.raises(InputError, match="Unknown estimator"):
        trimfill(BCG_Y, BCG_V, estimator="L1")
    with pytest.raises(InputError, match="Unknown side"):
        trimfill(BCG_Y, BCG_V, side="top")
    with pytest.raises(InputError, match="at least 3"):
        trimfill([0.1, 0.2], [0.01, 0.01])


# ---------------------------------------------------------------------------------------
# fsn and PET-PEESE
# ---------------------------------------------------------------------------------------
def test_fsn_rosenthal_formula_and_orwin_edge_cases():
    out = fsn(BCG_Y, BCG_V)
    z = np.sum(BCG_Y / np.sqrt(BCG_V)) / math.sqrt(13)
    assert out.fsn == math.ceil(13 * (z / stats.norm.isf(0.05)) ** 2 - 13)
    assert fsn(BCG_Y, type="orwin", target=0).fsn == math.inf
    orwin = fsn(BCG_Y, type="orwin", target=0.1)  # target sign follows the mean
    assert orwin.target == pytest.approx(-0.1)
    assert fsn([0.5, -0.5, 0.01], [0.1, 0.1, 0.1]).fsn == 0
    json.dumps(fsn(BCG_Y, type="orwin", target=0).to_dict())  # inf -> null
    assert "Fail-safe N" in fsn(BCG_Y, BCG_V, type="rosenberg").summary()


def test_fsn_bad_input():
    with pytest.raises(InputError, match="Unknown fail-safe N type"):
        fsn(BCG_Y, BCG_V, type="REM")
    with pytest.raises(InputError, match="alpha"):
        fsn(BCG_Y, BCG_V, alpha=1.5)
    with pytest.raises(InputError, match="vi"):
        fsn(BCG_Y, type="rosenthal")


def _wls_intercept(y, x, v):
    """Weighted least squares of y on [1, x] with weights 1/v, as lm(y ~ x, weights = 1/v):
    the intercept, its SE (residual variance estimated) and the residual df."""
    X = np.column_stack([np.ones_like(x), x])
    W = np.diag(1 / v)
    xtwx_inv = np.linalg.inv(X.T @ W @ X)
    beta = xtwx_inv @ X.T @ W @ y
    r = y - X @ beta
    df = len(y) - 2
    sigma2 = float(r @ W @ r) / df
    return float(beta[0]), math.sqrt(sigma2 * xtwx_inv[0, 0]), df


def test_pet_peese_rule():
    out = pet_peese(BCG_Y, BCG_V)
    # PET: WLS of y on the SE; direction "auto": one-sided test in the sign of the intercept
    b0, se0, df = _wls_intercept(BCG_Y, np.sqrt(BCG_V), BCG_V)
    p1 = stats.t.sf(abs(b0 / se0), df)
    assert out.pet_one_sided_p_value == pytest.approx(p1, rel=1e-10)
    assert p1 > 0.05 and out.chosen == "PET"  # BCG: PET intercept not significant
    assert out.estimate == pytest.approx(b0, rel=1e-10) and out.se == pytest.approx(se0, rel=1e-10)
    pos = pet_peese(BCG_Y, BCG_V, direction="positive")
    neg = pet_peese(BCG_Y, BCG_V, direction="negative")
    assert pos.pet_one_sided_p_value + neg.pet_one_sided_p_value == pytest.approx(1.0)
    # an effect far from zero makes the PET intercept significant: PEESE is chosen
    strong = pet_peese(BCG_Y - 2.0, BCG_V)
    b0s, se0s, _ = _wls_intercept(BCG_Y - 2.0, np.sqrt(BCG_V), BCG_V)
    assert stats.t.sf(abs(b0s / se0s), df) < 0.05
    peese_b0, _, _ = _wls_intercept(BCG_Y - 2.0, BCG_V, BCG_V)  # PEESE: WLS on the variance
    assert strong.chosen == "PEESE"
    assert strong.estimate == pytest.approx(peese_b0, rel=1e-10)
    json.dumps(out.to_dict())
    assert "PET-PEESE" in out.summary("markdown")
    with pytest.raises(InputError, match="direction"):
        pet_peese(BCG_Y, BCG_V, direction="up")


# ---------------------------------------------------------------------------------------
# selection model
# ---------------------------------------------------------------------------------------
def test_selection_model_mirror_symmetry():
    a = selection_model(BCG_Y, BCG_V, alternative="less", method="ML")
    b = selection_model(-BCG_Y, BCG_V, alternative="greater", method="ML")
    assert a.estimate == pytest.approx(-b.estimate, abs=1e-8)
    assert a.tau2 == pytest.approx(b.tau2, abs=1e-8)
    assert a.delta[1] == pytest.approx(b.delta[1], rel=1e-6)
    assert a.delta[0] == 1.0 and a.delta_se[0] is None


def test_selection_model_without_selection_recovers_ml_fit():
    # Equal weights in both intervals make the selection model the ML random-effects model:
    # the LRT is ~0 and mu, tau^2 match the ML estimates.
    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.2, 60)
    y = rng.normal(0.2, np.sqrt(v + 0.02))
    ml = meta_analysis(y, v, method="ML")
    sel = selection_model(ml)
    assert abs(sel.delta[1] - 1.0) < 0.3  # no selection in the data: weight ratio near 1
    assert sel.lrt < 1.0
    assert sel.unadjusted_estimate == pytest.approx(ml.estimate)
    assert sel.loglik >= sel.loglik_unadjusted - 1e-9
    assert sel.converged


def test_selection_model_refits_reml_with_ml_and_reports_it():
    sel = selection_model(meta_analysis(BCG_Y, BCG_V, method="REML"), alternative="less")
    assert sel.method == "ML" and "maximum likelihood" in sel.warnings[0]
    fe = selection_model(meta_analysis(BCG_Y, BCG_V, method="FE"), alternative="less")
    assert fe.tau2 == 0 and fe.tau2_se is None and fe.lrt_tau2 is None
    frame = sel.interval_frame()
    assert list(frame["k"]) == list(sel.k_per_interval) and frame["k"].sum() == 13
    json.dumps(sel.to_dict())
    assert "selection model" in sel.summary() and "delta_2" in sel.to_frame().columns


def test_selection_model_bad_input():
    with pytest.raises(InputError, match=r"interval\(s\) \(0, 0.025\] contain no study"):
        selection_model(BCG_Y, BCG_V)  # all log RRs favour treatment: none significant > 0
    with pytest.raises(InputError, match="steps"):
        selection_model(BCG_Y, BCG_V, steps=[1.5])
    with pytest.raises(InputError, match="Unknown alternative"):
        selection_model(BCG_Y, BCG_V, alternative="positive")
    y = np.array([0.8, 0.1, -0.1])
    with pytest.raises(InputError, match="parameters but there are only"):
        selection_model(y, [0.01, 0.04, 0.05], steps=[0.025, 0.5])


def test_richardson_hessian_of_a_quadratic():
    A = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, -0.3], [0.1, -0.3, 3.0]])

    def f(x):
        return 0.5 * x @ A @ x + np.sin(x[0])

    # Away from 0: numDeriv's step is 10% of |x| (at x = 0 it is 1e-4 and, halved 6 times,
    # rounding error reaches ~1e-5, in numDeriv as here).
    x0 = np.array([0.3, -1.2, 0.8])
    H = richardson_hessian(f, x0)
    expected = A.copy()
    expected[0, 0] -= np.sin(0.3)
    np.testing.assert_allclose(H, expected, atol=1e-8)


def test_selection_model_reports_non_convergence_instead_of_failing(monkeypatch):
    from acuevidence import selection
    from acuevidence.errors import ConvergenceWarning

    monkeypatch.setattr(selection._Fitter, "_converged", lambda self, *a: False)
    with pytest.warns(ConvergenceWarning, match="could not be maximised"):
        sel = selection_model(BCG_Y, BCG_V, alternative="less", method="ML")
    assert not sel.converged and math.isfinite(sel.estimate)
    assert any("caution" in w for w in sel.warnings)


def test_order_invariance():
    perm = np.random.default_rng(7).permutation(13)
    y, v, n = BCG_Y[perm], BCG_V[perm], BCG_N[perm]
    for kw_a, kw_b in (({}, {}), ({"model": "lm"}, {"model": "lm"}),
                       ({"predictor": "ninv", "ni": BCG_N}, {"predictor": "ninv", "ni": n})):
        assert regtest(BCG_Y, BCG_V, **kw_a).statistic == pytest.approx(
            regtest(y, v, **kw_b).statistic, rel=1e-9)
    assert ranktest(BCG_Y, BCG_V).p_value == pytest.approx(ranktest(y, v).p_value, rel=1e-12)
    a, b = trimfill(BCG_Y, BCG_V, side="right"), trimfill(y, v, side="right")
    assert a.k0 == b.k0 and a.estimate == pytest.approx(b.estimate, rel=1e-9)
    assert fsn(BCG_Y, BCG_V).fsn == fsn(y, v).fsn
    s1 = selection_model(BCG_Y, BCG_V, alternative="less")
    s2 = selection_model(y, v, alternative="less")
    assert s1.estimate == pytest.approx(s2.estimate, abs=1e-7)
