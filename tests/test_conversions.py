"""Unit tests of acuevidence.conversions: values, vectorisation, round trips, every error path."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import acuevidence
from acuevidence import conversions as cv
from acuevidence._fivenum import _expected_range
from acuevidence.errors import EvidenceWarning, InputError

Z975 = stats.norm.isf(0.025)


@contextmanager
def raises(match: str, column: str | None = None, rows: list[int] | None = None) -> Iterator[None]:
    """pytest.raises(InputError) that also checks the error's column and rows."""
    with pytest.raises(InputError, match=match) as info:
        yield
    if column is not None:
        assert info.value.column == column
    if rows is not None:
        assert info.value.rows == rows


# ---------------------------------------------------------------------------------------------
# exports, scalars, vectorisation


def test_exported_from_package() -> None:
    for name in cv.__all__:
        assert getattr(acuevidence, name) is getattr(cv, name)
        assert name in acuevidence.__all__


def test_scalar_in_float_out_and_arrays_broadcast() -> None:
    se = cv.se_from_ci(-1.0, 1.0)
    assert isinstance(se, float)
    assert se == pytest.approx(1 / Z975, rel=1e-15)
    arr = cv.se_from_ci([-1.0, 0.0, 2.0], [1.0, 2.0, 2.0])
    assert isinstance(arr, np.ndarray)
    np.testing.assert_allclose(arr, [1 / Z975, 1 / Z975, 0.0], rtol=1e-15)
    # a scalar n broadcasts against an array of SEs, and a Series works as input
    np.testing.assert_allclose(cv.sd_from_se(pd.Series([1.0, 2.0]), 25), [5.0, 10.0])
    assert isinstance(cv.sd_from_se(pd.Series([1.0]), 4), np.ndarray)


def test_mismatched_lengths() -> None:
    with raises(r"different lengths \(lower=3, upper=2\)"):
        cv.se_from_ci([1, 2, 3], [4, 5])
    with raises("different lengths"):
        cv.sd_change([1, 2], [1, 2, 3], 0.5)
    with raises("different lengths"):
        cv.mean_sd_from_median([5, 6], [10, 20, 30], q1=[1, 2], q3=[8, 9])


def test_nan_in_required_values() -> None:
    with raises(r"'upper' is missing in row\(s\) 2", "upper", [1]):
        cv.se_from_ci([1, 2], [3, np.nan])
    with raises("'n' is missing in row"):
        cv.sd_from_se([1.0, 2.0], [10, None])
    with raises("'corr' is missing"):
        cv.sd_change(1.0, 2.0, np.nan)
    with raises("must be numeric"):
        cv.se_from_t(["a"], [2.0])


def test_inputs_not_mutated() -> None:
    lo, up = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    cv.se_from_ci(lo, up, log_scale=True)
    np.testing.assert_array_equal(lo, [1.0, 2.0])
    np.testing.assert_array_equal(up, [3.0, 4.0])


# ---------------------------------------------------------------------------------------------
# se_from_ci, se_from_p, se_from_t, se_from_z


def test_se_from_ci_options() -> None:
    assert cv.se_from_ci(0, 3.92, level=95) == pytest.approx(3.92 / (2 * Z975), rel=1e-15)
    assert cv.se_from_ci(0.5, 2.0, log_scale=True) == pytest.approx(
        (math.log(2) - math.log(0.5)) / (2 * Z975), rel=1e-14)
    got = cv.se_from_ci([0, 0], [2, 2], 0.9, df=[5, 50])
    np.testing.assert_allclose(got, 1 / stats.t.isf(0.05, [5, 50]), rtol=1e-14)


def test_se_from_ci_errors() -> None:
    with raises(r"'lower' is above 'upper' in row\(s\) 2 \(3, 1\)", "lower", [1]):
        cv.se_from_ci([0, 3], [1, 1])
    for level in (0, 1, 100, 150, -0.2):  # 1 < level < 100 is read as a percentage
        with raises("'level' parameter must be in \\(0, 1\\)", "level"):
            cv.se_from_ci(0, 1, level=level)
    with raises("'level' parameter must be a number", "level"):
        cv.se_from_ci(0, 1, level="high")  # type: ignore[arg-type]
    with raises(r"'lower' must be positive with log_scale=True in row\(s\) 1", "lower", [0]):
        cv.se_from_ci([0.0, 1.0], [2.0, 3.0], log_scale=True)
    with raises(r"'estimate' must be positive with log_scale=True in row\(s\) 2", "estimate"):
        cv.se_from_ci([1.0, 1.0], [2.0, 3.0], log_scale=True, estimate=[1.4, -1.0])
    with raises(r"'df' must be positive in row\(s\) 1", "df", [0]):
        cv.se_from_ci(0, 1, df=0)


def test_se_from_ci_warns_when_estimate_off_centre() -> None:
    with pytest.warns(EvidenceWarning, match=r"row\(s\) 2;"):
        cv.se_from_ci([0, 0], [2, 2], estimate=[1.0, 1.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cv.se_from_ci([0.5], [2.0], log_scale=True, estimate=[1.0])  # symmetric on the log scale
        cv.se_from_ci([1.0], [1.0], estimate=[1.0])  # zero width: nothing to judge


def test_se_from_p_values() -> None:
    assert cv.se_from_p(1.96, 0.05) == pytest.approx(1.96 / Z975, rel=1e-14)
    # sign of the estimate does not matter; one-sided p uses the full tail
    assert cv.se_from_p(-1.0, 0.025, two_sided=False) == pytest.approx(1 / Z975, rel=1e-14)
    # one-sided p > 0.5: the estimate went the other way; the SE is still positive
    assert cv.se_from_p(-1.0, 0.975, two_sided=False) == pytest.approx(1 / Z975, rel=1e-12)
    assert cv.se_from_p(2.0, 0.05, df=10) == pytest.approx(2 / stats.t.isf(0.025, 10), rel=1e-14)


def test_se_from_p_errors() -> None:
    for bad in (0.0, -0.1, 1.5):
        with raises(r"'p_value' must be in \(0, 1\] in row\(s\) 2", "p_value", [1]):
            cv.se_from_p([1.0, 1.0], [0.5, bad])
    with raises(r"'p_value' is 1 in row\(s\) 1 .*says nothing", "p_value", [0]):
        cv.se_from_p(0.3, 1.0)
    with raises(r"is 0.5 \(one-sided\)", "p_value"):
        cv.se_from_p(0.3, 0.5, two_sided=False)
    with raises(r"'estimate' is 0 in row\(s\) 3", "estimate", [2]):
        cv.se_from_p([1, 2, 0], [0.1, 0.2, 0.3])
    with raises("'df' must be positive", "df"):
        cv.se_from_p(1.0, 0.1, df=-3)
    with raises("'p_value' is missing", "p_value"):
        cv.se_from_p(1.0, np.nan)


def test_se_from_t_and_z() -> None:
    np.testing.assert_allclose(cv.se_from_t([2.0, -3.0], [4.0, 1.5]), [0.5, 2.0])
    assert cv.se_from_z(-0.5, -2.0) == 0.25
    with raises(r"'t' is 0 in row\(s\) 2", "t", [1]):
        cv.se_from_t([1, 2], [1, 0])
    with raises(r"'z' is 0 in row\(s\) 1", "z", [0]):
        cv.se_from_z(1.0, 0.0)
    with raises("'estimate' is 0", "estimate"):
        cv.se_from_z(0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# SDs


def test_sd_from_se() -> None:
    assert cv.sd_from_se(2.0, 16) == 8.0
    with raises(r"'n' must be at least 2 in row\(s\) 2 \(1\)", "n", [1]):
        cv.sd_from_se([1.0, 1.0], [10, 1])
    with raises(r"'se' must not be negative in row\(s\) 1", "se", [0]):
        cv.sd_from_se(-1.0, 10)


def test_sd_from_ci_handbook_rule() -> None:
    # Handbook 6.5.2.2 example: n = 25, 95 % CI -> divisor 2 * t(0.975, 24) = 4.128
    width = 4.128
    assert cv.sd_from_ci(0.0, width, 25) == pytest.approx(
        5 * width / (2 * stats.t.isf(0.025, 24)), rel=1e-14)
    assert 2 * stats.t.isf(0.025, 24) == pytest.approx(4.128, abs=5e-4)
    # n = 60 and above: normal quantile (3.92)
    assert cv.sd_from_ci(0.0, 3.92, 100) == pytest.approx(10 * 3.92 / (2 * Z975), rel=1e-14)
    got = cv.sd_from_ci([0, 0], [1, 1], [59, 60])
    np.testing.assert_allclose(got, [math.sqrt(59) / (2 * stats.t.isf(0.025, 58)),
                                     math.sqrt(60) / (2 * Z975)], rtol=1e-14)
    # configurable: always normal, always t, explicit df
    assert cv.sd_from_ci(0, 1, 10, small_sample=0) == pytest.approx(math.sqrt(10) / (2 * Z975))
    assert cv.sd_from_ci(0, 1, 100, small_sample=math.inf) == pytest.approx(
        10 / (2 * stats.t.isf(0.025, 99)))
    assert cv.sd_from_ci(0, 1, 100, df=20) == pytest.approx(10 / (2 * stats.t.isf(0.025, 20)))


def test_sd_from_ci_errors() -> None:
    with raises(r"'lower' is above 'upper' in row\(s\) 1", "lower", [0]):
        cv.sd_from_ci(2, 1, 30)
    with raises(r"'n' must be at least 2 in row\(s\) 2", "n", [1]):
        cv.sd_from_ci([0, 0], [1, 1], [30, 0])
    with raises("'level' parameter must be in", "level"):
        cv.sd_from_ci(0, 1, 30, level=0)
    with raises("'df' must be positive", "df"):
        cv.sd_from_ci(0, 1, 30, df=0)


def test_sd_from_se_difference() -> None:
    se = 10 * math.sqrt(1 / 20 + 1 / 30)
    assert cv.sd_from_se_difference(se, 20, 30) == pytest.approx(10.0, rel=1e-14)
    with raises(r"'n2' must be at least 2 in row\(s\) 1", "n2", [0]):
        cv.sd_from_se_difference(1.0, 20, 1)
    with raises("'se' must not be negative", "se"):
        cv.sd_from_se_difference(-1.0, 20, 20)


# ---------------------------------------------------------------------------------------------
# change scores


def test_sd_change_values() -> None:
    assert cv.sd_change(3.0, 4.0, 0.0) == pytest.approx(5.0)
    assert cv.sd_change(10.0, 10.0, 1.0) == 0.0
    assert cv.sd_change(2.0, 3.0, -1.0) == pytest.approx(5.0)
    # Handbook 6.5.2.8 style: r = 0.5, equal SDs -> sd_change = sd
    assert cv.sd_change(7.3, 7.3, 0.5) == pytest.approx(7.3, rel=1e-14)


def test_sd_change_errors() -> None:
    with raises(r"'corr' must lie in \[-1, 1\] in row\(s\) 2 \(1.2\)", "corr", [1]):
        cv.sd_change([1, 1], [1, 1], [0.5, 1.2])
    with raises(r"'corr' must lie in \[-1, 1\]", "corr"):
        cv.sd_change(1, 1, -50)
    with raises(r"'sd_baseline' must not be negative in row\(s\) 1", "sd_baseline", [0]):
        cv.sd_change(-1, 1, 0.5)
    with raises("'sd_final' must not be negative", "sd_final"):
        cv.sd_change(1, -1, 0.5)


def test_corr_from_sds_errors() -> None:
    with raises(r"'sd_change' is inconsistent .* in row\(s\) 2", "sd_change", [1]):
        cv.corr_from_sds([5, 5], [5, 5], [5, 11])
    with raises(r"'sd_change' is inconsistent", "sd_change"):
        cv.corr_from_sds(5.0, 9.0, 3.0)  # below |sb - sf|
    with raises(r"'sd_baseline' must be positive in row\(s\) 1", "sd_baseline", [0]):
        cv.corr_from_sds(0.0, 1.0, 1.0)
    with raises("'sd_final' must be positive", "sd_final"):
        cv.corr_from_sds(1.0, -1.0, 1.0)
    with raises("'sd_change' must not be negative", "sd_change"):
        cv.corr_from_sds(1.0, 1.0, -1.0)


def test_corr_from_sds_edges() -> None:
    assert cv.corr_from_sds(5.0, 5.0, 0.0) == 1.0
    assert cv.corr_from_sds(5.0, 5.0, 10.0) == -1.0
    assert cv.corr_from_sds(3.0, 4.0, 5.0) == pytest.approx(0.0, abs=1e-15)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    sb=st.floats(0.01, 1e3), sf=st.floats(0.01, 1e3), r=st.floats(-1.0, 1.0),
)
def test_sd_change_corr_round_trip(sb: float, sf: float, r: float) -> None:
    sc = cv.sd_change(sb, sf, r)
    back = cv.corr_from_sds(sb, sf, sc)
    # r is ill-determined where sd_change is tiny relative to the SDs; bound by rounding there
    tol = 1e-9 * (sb * sb + sf * sf) / (sb * sf)
    assert back == pytest.approx(r, abs=tol + 1e-12)


def test_round_trip_vectorised() -> None:
    sb = np.array([2.0, 5.0, 9.5, 1.0])
    sf = np.array([3.0, 5.0, 4.0, 8.0])
    r = np.array([0.3, 0.9, -0.5, 0.0])
    np.testing.assert_allclose(cv.corr_from_sds(sb, sf, cv.sd_change(sb, sf, r)), r, atol=1e-14)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(lo=st.floats(-1e3, 1e3), width=st.floats(1e-3, 1e3), n=st.integers(2, 5000))
def test_sd_ci_se_consistency(lo: float, width: float, n: int) -> None:
    """sd_from_ci with the normal quantile = sd_from_se(se_from_ci(...))."""
    se = cv.se_from_ci(lo, lo + width)
    assert cv.sd_from_ci(lo, lo + width, n, small_sample=0) == pytest.approx(
        cv.sd_from_se(se, n), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# means and SDs from medians


def xi(n: float) -> float:
    return 2 * stats.norm.ppf((n - 0.375) / (n + 0.25))


def eta(n: float) -> float:
    return 2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))


def test_scenarios_by_hand() -> None:
    n = 40
    out = cv.mean_sd_from_median(
        [10, 10, 10], [n, n, n], minimum=[2, np.nan, 2], q1=[np.nan, 7, 7],
        q3=[np.nan, 14, 14], maximum=[20, np.nan, 20], skew_test=False, diagnostics=True)
    assert list(out.columns) == ["mean", "sd", "scenario", "skew_stat", "skew_crit", "skewed"]
    assert list(out["scenario"]) == ["range", "quartiles", "five-number"]
    w = 4 / (4 + n**0.75)
    assert out["mean"][0] == pytest.approx(w * 11 + (1 - w) * 10, rel=1e-14)
    assert out["sd"][0] == pytest.approx(18 / xi(n), rel=1e-14)
    w = 0.7 + 0.39 / n
    assert out["mean"][1] == pytest.approx(w * 10.5 + (1 - w) * 10, rel=1e-14)
    assert out["sd"][1] == pytest.approx(7 / eta(n), rel=1e-14)
    w = 1 / (1 + 0.07 * n**0.6)
    assert out["sd"][2] == pytest.approx(w * 18 / xi(n) + (1 - w) * 7 / eta(n), rel=1e-14)


def test_shortcuts_match_general_function() -> None:
    kw = {"skew_test": False}
    pd.testing.assert_frame_equal(
        cv.mean_sd_from_range([5, 6], [1, 2], [12, 9], [30, 80], **kw),
        cv.mean_sd_from_median([5, 6], [30, 80], minimum=[1, 2], maximum=[12, 9], **kw))
    pd.testing.assert_frame_equal(
        cv.mean_sd_from_quartiles(5, 3, 8, 30, method="wan2014", **kw),
        cv.mean_sd_from_median(5, 30, q1=3, q3=8, method="wan2014", **kw))
    pd.testing.assert_frame_equal(
        cv.mean_sd_from_fivenum(1, 3, 5, 8, 12, 30, method=("luo2018", "shi2020"), **kw),
        cv.mean_sd_from_median(5, 30, minimum=1, q1=3, q3=8, maximum=12,
                               method=("luo2018", "shi2020"), **kw))


def test_walter_expected_range_matches_published_d2() -> None:
    # d2 constants of quality-control charts (expected range of n standard normal values)
    for n, d2 in {2: 1.128, 5: 2.326, 10: 3.078, 20: 3.735, 25: 3.931}.items():
        assert _expected_range(float(n)) == pytest.approx(d2, abs=6e-4)
    assert _expected_range(2.0) == pytest.approx(2 / math.sqrt(math.pi), rel=1e-12)
    out = cv.mean_sd_from_range(5, 1, 9, 10, method="walter2007", skew_test=False)
    assert out["mean"][0] == 5
    assert out["sd"][0] == pytest.approx(8 / _expected_range(10.0), rel=1e-14)


def test_hozo_branches() -> None:
    a, m, b = 1.0, 4.0, 10.0
    out = cv.mean_sd_from_range([m] * 4, [a] * 4, [b] * 4, [15, 16, 26, 71],
                                method="hozo2005", skew_test=False)
    small = math.sqrt(((a - 2 * m + b) ** 2 / 4 + (b - a) ** 2) / 12)
    np.testing.assert_allclose(out["sd"], [small, 9 / 4, 9 / 4, 9 / 6], rtol=1e-14)
    np.testing.assert_allclose(out["mean"], [(a + 2 * m + b) / 4] * 2 + [m, m], rtol=1e-14)


def test_bland_and_wan_five_number() -> None:
    a, q1, m, q3, b, n = 0.0, 2.0, 3.0, 5.0, 8.0, 50
    bl = cv.mean_sd_from_fivenum(a, q1, m, q3, b, n, method="bland2015", skew_test=False)
    mean = (a + 2 * q1 + 2 * m + 2 * q3 + b) / 8
    var = ((a**2 + 2 * q1**2 + 2 * m**2 + 2 * q3**2 + b**2) / 16
           + (a * q1 + q1 * m + m * q3 + q3 * b) / 8 - mean**2)
    assert bl["mean"][0] == pytest.approx(mean)
    assert bl["sd"][0] == pytest.approx(math.sqrt(var))
    wan = cv.mean_sd_from_fivenum(a, q1, m, q3, b, n, method="wan2014", skew_test=False)
    assert wan["sd"][0] == pytest.approx((8 / xi(n) + 3 / eta(n)) / 2)


def test_data_frame_mode_keeps_ids_and_fills_missing() -> None:
    dat = pd.DataFrame({
        "study": ["A", "B", "C", "D"],
        "lo": [2, np.nan, 2, np.nan], "q1": [np.nan, 4, 4, np.nan], "med": [6, 6, 6, np.nan],
        "q3": [np.nan, 10, 10, np.nan], "hi": [14, np.nan, 14, np.nan],
        "mean": [np.nan, np.nan, np.nan, 7.0], "sd": [np.nan, np.nan, np.nan, 4.2],
        "n": [20, 20, 20, 20],
    }, index=[10, 11, 12, 13])
    out = cv.mean_sd_from_median("med", "n", minimum="lo", q1="q1", q3="q3", maximum="hi",
                                 data=dat)
    assert list(out.columns) == list(dat.columns)
    assert list(out.index) == [10, 11, 12, 13]
    assert list(out["study"]) == ["A", "B", "C", "D"]
    assert out["mean"][13] == 7.0 and out["sd"][13] == 4.2  # reported values kept
    assert out["mean"].notna().all() and out["sd"].notna().all()
    assert dat["mean"].isna().sum() == 3  # input not mutated
    alone = cv.mean_sd_from_median(dat["med"], dat["n"], minimum=dat["lo"], q1=dat["q1"],
                                   q3=dat["q3"], maximum=dat["hi"])
    np.testing.assert_allclose(out["mean"].to_numpy()[:3], alone["mean"].to_numpy()[:3])
    # new column names; replace="all" overwrites where an estimate exists
    named = cv.mean_sd_from_median("med", "n", minimum="lo", maximum="hi", q1="q1", q3="q3",
                                   data=dat, var_names=("m_est", "sd_est"))
    assert {"m_est", "sd_est"} <= set(named.columns)
    dat2 = dat.assign(mean=[1.0, 1.0, 1.0, 7.0])
    keep = cv.mean_sd_from_median("med", "n", minimum="lo", maximum="hi", q1="q1", q3="q3",
                                  data=dat2)
    assert list(keep["mean"]) == [1.0, 1.0, 1.0, 7.0]
    over = cv.mean_sd_from_median("med", "n", minimum="lo", maximum="hi", q1="q1", q3="q3",
                                  data=dat2, replace="all")
    assert over["mean"][10] != 1.0 and over["mean"][13] == 7.0


def test_data_frame_mode_errors() -> None:
    dat = pd.DataFrame({"med": [5.0], "n": [20]})
    with raises("'q1' refers to column 'nope'", "q1"):
        cv.mean_sd_from_median("med", "n", q1="nope", q3="med", data=dat)
    with raises("'data' must be a pandas DataFrame", "data"):
        cv.mean_sd_from_median(5, 20, q1=3, q3=7, data={"a": 1})  # type: ignore[arg-type]
    with raises("has 1 rows"):
        cv.mean_sd_from_median([5, 6], [20, 20], q1=[3, 4], q3=[7, 8], data=dat)
    with raises("'replace' parameter", "replace"):
        cv.mean_sd_from_median(5, 20, q1=3, q3=7, replace="sometimes")  # type: ignore[arg-type]
    with raises("'var_names' must hold two names", "var_names"):
        cv.mean_sd_from_median(5, 20, q1=3, q3=7, var_names=("m",))  # type: ignore[arg-type]


def test_median_order_errors_name_row_and_pair() -> None:
    with raises(r"'q1' is above 'median' in row\(s\) 2 \(7 > 6\)", "q1", [1]):
        cv.mean_sd_from_median([5, 6], 20, q1=[3, 7], q3=[8, 9])
    with raises(r"'minimum' is above 'q1' in row\(s\) 1", "minimum", [0]):
        cv.mean_sd_from_fivenum(4, 3, 5, 8, 12, 30)
    with raises(r"'median' is above 'maximum' in row\(s\) 1", "median", [0]):
        cv.mean_sd_from_range(13, 1, 12, 30)
    with raises(r"'q3' is above 'maximum'", "q3"):
        cv.mean_sd_from_fivenum(1, 3, 5, 13, 12, 30)
    with raises(r"'median' is above 'q3'", "median"):
        cv.mean_sd_from_quartiles(9, 3, 8, 30)


def test_median_incomplete_rows() -> None:
    with raises(r"'maximum' is missing where 'minimum' is given in row\(s\) 2", "maximum", [1]):
        cv.mean_sd_from_median([5, 5], 20, minimum=[1, 1], maximum=[9, np.nan])
    with raises(r"'q3' is missing where 'q1' is given", "q3"):
        cv.mean_sd_from_median(5, 20, q1=3)
    with raises(r"'median' has neither the range nor the quartiles in row\(s\) 2", "median"):
        cv.mean_sd_from_median([5, 5], 20, q1=[3, np.nan], q3=[8, np.nan])
    with raises("Give the median with the range", "median"):
        cv.mean_sd_from_median(n=20)
    with raises("'n' \\(the group size\\) is needed", "n"):
        cv.mean_sd_from_median(5, q1=3, q3=8)
    with raises(r"'n' is missing in row\(s\) 1", "n", [0]):
        cv.mean_sd_from_median([5, 5], [np.nan, 20], q1=[3, 3], q3=[8, 8])
    with raises(r"'n' must be at least 2 in row\(s\) 1", "n", [0]):
        cv.mean_sd_from_median(5, 1, q1=3, q3=8)
    # the shortcuts require every value
    with raises(r"'q1' is missing in row\(s\) 1", "q1"):
        cv.mean_sd_from_quartiles(5, np.nan, 8, 20)
    with raises(r"'n' is missing", "n"):
        cv.mean_sd_from_range(5, 1, 9, np.nan)


def test_rows_without_anything_are_left_alone_and_sd_without_median() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cv.mean_sd_from_median([np.nan, np.nan], [np.nan, 30], minimum=[np.nan, 2],
                                     maximum=[np.nan, 14])
    assert np.isnan(out["mean"]).all()
    assert np.isnan(out["sd"][0])
    assert out["sd"][1] == pytest.approx(12 / xi(30))


def test_method_errors() -> None:
    with raises("Unknown method 'magic'", "method"):
        cv.mean_sd_from_median(5, 20, q1=3, q3=8, method="magic")
    with raises("'luo2018' estimates only the mean", "method"):
        cv.mean_sd_from_median(5, 20, q1=3, q3=8, method="luo2018")
    with raises("'shi2020' estimates only the SD", "method"):
        cv.mean_sd_from_median(5, 20, q1=3, q3=8, method="shi2020")
    with raises("pair", "method"):
        cv.mean_sd_from_median(5, 20, q1=3, q3=8, method=("wan2014",))  # type: ignore[arg-type]
    with raises("'hozo2005' gives no mean from the quartiles scenario", "method"):
        cv.mean_sd_from_quartiles(5, 3, 8, 20, method="hozo2005")
    with raises("'shi2020' gives no sd from the range scenario", "method"):
        cv.mean_sd_from_range(5, 1, 9, 20, method=("luo2018", "shi2020"))
    with raises("'walter2007' gives no mean from the five-number", "method"):
        cv.mean_sd_from_fivenum(1, 3, 5, 8, 9, 20, method="walter2007")
    # metafor's names are accepted
    a = cv.mean_sd_from_quartiles(5, 3, 8, 20, method="default")
    b = cv.mean_sd_from_quartiles(5, 3, 8, 20, method=("luo2016", "WAN2014"))
    pd.testing.assert_frame_equal(a, b)


def test_log_normal() -> None:
    out = cv.mean_sd_from_median([4, 5], [40, 60], minimum=[1, np.nan], maximum=[30, np.nan],
                                 q1=[np.nan, 3], q3=[np.nan, 9], distribution="log-normal",
                                 back_transform=False, skew_test=False)
    n = 40
    z1 = 1.01 + 0.25 / math.log(n) ** 2
    assert out["sd"][0] == pytest.approx((math.log(30) - math.log(1)) / xi(n) / math.sqrt(z1))
    bt = cv.mean_sd_from_median([4, 5], [40, 60], minimum=[1, np.nan], maximum=[30, np.nan],
                                q1=[np.nan, 3], q3=[np.nan, 9], distribution="lnorm",
                                skew_test=False)
    assert (bt["mean"] > out["mean"]).all() and (bt["mean"] < 30).all()
    with raises(r"'q1' must be positive with a log-normal distribution in row\(s\) 1", "q1"):
        cv.mean_sd_from_quartiles(5, 0, 8, 20, distribution="log-normal")
    with raises("needs method='luo-wan-shi'", "method"):
        cv.mean_sd_from_quartiles(5, 3, 8, 20, distribution="log-normal", method="wan2014")
    with raises(r"'distribution' must be 'normal' or 'log-normal'; row\(s\) 2", "distribution"):
        cv.mean_sd_from_quartiles([5, 5], 3, 8, 20, distribution=["normal", "gamma"])
    with raises("'distribution' has 3 values for 2 studies", "distribution"):
        cv.mean_sd_from_quartiles([5, 5], 3, 8, 20, distribution=["normal"] * 3)


def test_warnings_for_rows_left_nan() -> None:
    with pytest.warns(EvidenceWarning, match=r"Row\(s\) 2: n < 5"):
        out = cv.mean_sd_from_quartiles([5, 5], 3, 8, [20, 4])
    assert np.isnan(out["mean"][1]) and np.isfinite(out["mean"][0])
    with pytest.warns(EvidenceWarning, match=r"Row\(s\) 1: the test for skewness"):
        out = cv.mean_sd_from_fivenum(2, 4, 6, 14, 20, 20)
    assert out.isna().all(axis=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = cv.mean_sd_from_fivenum(2, 4, 6, 14, 20, 20, skew_test=False)
    assert kept.notna().all(axis=None)
    with pytest.warns(EvidenceWarning, match="does not cover the scenario"):
        out = cv.mean_sd_from_median([5, 5], 20, minimum=[1, np.nan], maximum=[9, np.nan],
                                     q1=[np.nan, 3], q3=[np.nan, 8], method="hozo2005")
    assert np.isnan(out["sd"][1]) and np.isfinite(out["sd"][0])
    with pytest.warns(EvidenceWarning, match="zero range or interquartile range"):
        out = cv.mean_sd_from_quartiles(0, 0, 0, 30)
    assert out["sd"][0] == 0.0


def test_diagnostics_skewness_statistic() -> None:
    out = cv.mean_sd_from_median(6, 20, minimum=2, q1=4, q3=14, maximum=20, skew_test=False,
                                 diagnostics=True)
    n = 20
    t1 = abs(2 + 20 - 12) / 18
    t2 = abs(4 + 14 - 12) / 10
    t3 = max(2.65 * math.log(0.6 * n) / math.sqrt(n) * t1, t2)
    assert out["skew_stat"][0] == pytest.approx(t3)
    assert out["skew_crit"][0] == pytest.approx(3 / math.sqrt(n) - 40 / n**3)
    assert bool(out["skewed"][0]) is True


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    m=st.floats(-100, 100), gaps=st.lists(st.floats(0.01, 50), min_size=4, max_size=4),
    n=st.integers(5, 5000),
)
def test_median_properties(m: float, gaps: list[float], n: int) -> None:
    """Estimates are finite, SDs positive, means within [min, max] and shift-equivariant."""
    a, q1 = m - gaps[0] - gaps[1], m - gaps[1]
    q3, b = m + gaps[2], m + gaps[2] + gaps[3]
    out = cv.mean_sd_from_fivenum(a, q1, m, q3, b, n, skew_test=False)
    mean, sd = out["mean"][0], out["sd"][0]
    assert a <= mean <= b and sd > 0
    shifted = cv.mean_sd_from_fivenum(a + 10, q1 + 10, m + 10, q3 + 10, b + 10, n, skew_test=False)
    assert shifted["mean"][0] == pytest.approx(mean + 10, abs=1e-9)
    assert shifted["sd"][0] == pytest.approx(sd, rel=1e-9, abs=1e-12)
