"""Unit tests of effect_sizes(): the interface, input checks, warnings and properties.

The numbers themselves are pinned against metafor in test_reference_escalc.py.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import acuevidence
from acuevidence import effect_sizes
from acuevidence.effect_sizes import MEASURES
from acuevidence.errors import EvidenceWarning, InputError, SmallSampleWarning, ZeroCellWarning


@pytest.fixture
def trials() -> pd.DataFrame:
    """Three acupuncture-like trials with an id and a label column (no zero cells)."""
    return pd.DataFrame(
        {
            "trial_id": [101, 102, 103],
            "label": ["Alpha 2001", "Beta 2005", "Gamma 2010"],
            "e1": [12, 7, 30],
            "n1": [50, 40, 120],
            "e2": [20, 9, 41],
            "n2": [52, 38, 118],
        },
        index=[10, 20, 30],
    )


@pytest.fixture
def means() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study": ["A", "B", "C"],
            "m_acu": [3.1, 4.0, 2.2],
            "sd_acu": [1.2, 1.5, 0.9],
            "n_acu": [30, 45, 22],
            "m_ctl": [3.9, 4.6, 2.9],
            "sd_ctl": [1.1, 1.7, 1.0],
            "n_ctl": [31, 44, 20],
        }
    )


def rr_from(trials: pd.DataFrame) -> pd.DataFrame:
    return effect_sizes("RR", trials, ai="e1", n1i="n1", ci="e2", n2i="n2")


# ---- interface ---------------------------------------------------------------------------


def test_exported_from_package() -> None:
    assert acuevidence.effect_sizes is effect_sizes
    assert "effect_sizes" in acuevidence.__all__


def test_data_mode_keeps_every_column_and_the_index(trials: pd.DataFrame) -> None:
    out = rr_from(trials)
    assert list(out.columns) == [*trials.columns, "yi", "vi"]
    assert list(out.index) == [10, 20, 30]
    pd.testing.assert_frame_equal(out[trials.columns], trials)
    p1, p2 = 12 / 50, 20 / 52
    assert out["yi"].iloc[0] == pytest.approx(math.log(p1 / p2), rel=1e-12)
    assert out["vi"].iloc[0] == pytest.approx(1 / 12 - 1 / 50 + 1 / 20 - 1 / 52, rel=1e-12)


def test_inputs_are_not_mutated(trials: pd.DataFrame) -> None:
    before = trials.copy(deep=True)
    ai = np.array([0.0, 5.0])
    n1i = np.array([10.0, 20.0])
    ai_before = ai.copy()
    with pytest.warns(ZeroCellWarning):
        effect_sizes("OR", ai=ai, n1i=n1i, ci=[3, 4], n2i=[10, 20])
    rr_from(trials)
    pd.testing.assert_frame_equal(trials, before)
    np.testing.assert_array_equal(ai, ai_before)


def test_existing_yi_vi_columns_are_replaced_in_the_copy(trials: pd.DataFrame) -> None:
    trials = trials.assign(yi=1.0, vi=2.0)
    out = rr_from(trials)
    assert list(out.columns) == list(trials.columns)
    assert (trials["yi"] == 1.0).all() and out["yi"].iloc[0] != 1.0


def test_array_mode_returns_given_columns_plus_yi_vi() -> None:
    out = effect_sizes("MD", m1i=[1, 2], m2i=[0, 0], sd1i=[1, 1], sd2i=[2, 2], n1i=10, n2i=12)
    assert set(out.columns) == {"m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i", "yi", "vi"}
    assert list(out.columns[-2:]) == ["yi", "vi"]
    assert out["n1i"].tolist() == [10, 10]  # scalars are repeated for every study
    np.testing.assert_allclose(out["vi"], 1 / 10 + 4 / 12)


def test_aliases_give_the_same_result_as_metafor_names(trials: pd.DataFrame) -> None:
    a = effect_sizes("OR", trials, events_1="e1", n_1="n1", events_2="e2", n_2="n2")
    b = effect_sizes("OR", trials, ai="e1", n1i="n1", ci="e2", n2i="n2")
    pd.testing.assert_frame_equal(a, b)
    cells = effect_sizes("OR", events_1=[12], nonevents_1=[38], events_2=[20], nonevents_2=[32])
    assert cells["yi"].iloc[0] == pytest.approx(a["yi"].iloc[0], rel=1e-14)
    assert list(cells.columns[:4]) == ["events_1", "nonevents_1", "events_2", "nonevents_2"]


def test_continuous_and_other_aliases(means: pd.DataFrame) -> None:
    a = effect_sizes(
        "SMD",
        means,
        mean_1="m_acu",
        sd_1="sd_acu",
        n_1="n_acu",
        mean_2="m_ctl",
        sd_2="sd_ctl",
        n_2="n_ctl",
    )
    b = effect_sizes(
        "SMD",
        means,
        m1i="m_acu",
        sd1i="sd_acu",
        n1i="n_acu",
        m2i="m_ctl",
        sd2i="sd_ctl",
        n2i="n_ctl",
    )
    pd.testing.assert_frame_equal(a, b)
    mn = effect_sizes("MN", mean=[3.0], sd=[2.0], n=[16])
    assert mn["vi"].iloc[0] == pytest.approx(4 / 16)
    pr = effect_sizes("PR", events=[3], nonevents=[7])
    assert pr["yi"].iloc[0] == pytest.approx(0.3)
    cor = effect_sizes("ZCOR", r=[0.3], n=[50])
    assert cor["vi"].iloc[0] == pytest.approx(1 / 47)
    irr = effect_sizes("IRR", events_1=[4], time_1=[100], events_2=[8], time_2=[90])
    assert irr["yi"].iloc[0] == pytest.approx(math.log((4 / 100) / (8 / 90)))
    ir = effect_sizes("IRLN", events=[5], time=[200])
    assert ir["vi"].iloc[0] == pytest.approx(1 / 5)


@pytest.mark.parametrize("measure", ["or", "Or", "OR", " OR "])
def test_measure_is_case_insensitive(measure: str) -> None:
    out = effect_sizes(measure, ai=[3], bi=[7], ci=[5], di=[5])
    assert out["yi"].iloc[0] == pytest.approx(math.log((3 / 7) / (5 / 5)))


def test_slab_and_var_names(trials: pd.DataFrame) -> None:
    out = effect_sizes(
        "RR", trials, ai="e1", n1i="n1", ci="e2", n2i="n2", slab="label", var_names=("lrr", "v_lrr")
    )
    assert list(out.columns) == [*trials.columns, "lrr", "v_lrr"]
    arr = effect_sizes("RR", ai=[3, 4], n1i=[10, 10], ci=[5, 5], n2i=[10, 10], slab=["a", "b"])
    assert arr.columns[0] == "slab" and arr["slab"].tolist() == ["a", "b"]
    with pytest.raises(InputError, match="'slab' has 1 labels for 2 studies"):
        effect_sizes("RR", ai=[3, 4], n1i=[10, 10], ci=[5, 5], n2i=[10, 10], slab=["a"])


def test_smd_from_t_statistic_and_d() -> None:
    from_t = effect_sizes("SMD", ti=[2.0], n1i=[20], n2i=[20])
    from_d = effect_sizes("SMD", di=[2.0 * math.sqrt(1 / 20 + 1 / 20)], n1i=[20], n2i=[20])
    assert from_t["yi"].iloc[0] == pytest.approx(from_d["yi"].iloc[0], rel=1e-14)
    m = 38
    c = math.exp(math.lgamma(m / 2) - math.log(math.sqrt(m / 2)) - math.lgamma((m - 1) / 2))
    assert from_d["yi"].iloc[0] == pytest.approx(c * 2.0 * math.sqrt(0.1), rel=1e-14)


def test_vtype_per_study_matches_single_vtypes(means: pd.DataFrame) -> None:
    cols = dict(m1i="m_acu", sd1i="sd_acu", n1i="n_acu", m2i="m_ctl", sd2i="sd_ctl", n2i="n_ctl")
    mixed = effect_sizes("SMD", means, vtype=["LS", "UB", "ls2"], **cols)
    for i, vt in enumerate(["LS", "UB", "LS2"]):
        single = effect_sizes("SMD", means, vtype=vt, **cols)
        assert mixed["vi"].iloc[i] == single["vi"].iloc[i]


# ---- input errors --------------------------------------------------------------------------


def _error(call, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    assert isinstance(info.value, ValueError)
    return info.value


def test_unknown_measure_suggests_close_ones() -> None:
    err = _error(effect_sizes, "SMF", m1i=[1], m2i=[0], sd1i=[1], sd2i=[1], n1i=[5], n2i=[5])
    assert "Unknown measure 'SMF'" in str(err) and "'SMD'" in str(err)
    err = _error(effect_sizes, "PHI", ai=[1], bi=[2], ci=[3], di=[4])
    assert "not supported here" in str(err)
    assert _error(effect_sizes, 3, ai=[1]).column == "measure"


def test_unknown_keyword_suggests_alias() -> None:
    err = _error(effect_sizes, "OR", event_1=[1], n_1=[10], events_2=[2], n_2=[10])
    assert "unknown argument 'event_1'" in str(err) and "'events_1'" in str(err)


def test_alias_and_metafor_name_together_is_an_error() -> None:
    err = _error(effect_sizes, "OR", ai=[1], events_1=[1], bi=[5], ci=[2], di=[5])
    assert "'events_1' and 'ai' both give 'ai'" in str(err)


def test_alias_of_another_family_is_an_error() -> None:
    err = _error(effect_sizes, "PR", events=[3], mean=[7])
    assert "'mean'" in str(err) and "does not take it" in str(err)


def test_missing_required_arguments_are_named() -> None:
    err = _error(effect_sizes, "OR", ai=[1], ci=[2])
    assert "needs bi or n1i, di or n2i" in str(err)
    err = _error(effect_sizes, "SMD", m1i=[1], m2i=[0], n1i=[5], n2i=[5])
    assert "sd1i, sd2i" in str(err) and "ti = t statistic" in str(err)


def test_argument_the_measure_does_not_use() -> None:
    err = _error(effect_sizes, "OR", ai=[1], bi=[5], ci=[2], di=[5], sd1i=[1])
    assert "does not use 'sd1i'" in str(err) and err.column == "sd1i"


def test_mismatched_lengths() -> None:
    err = _error(effect_sizes, "OR", ai=[1, 2], bi=[5, 5, 5], ci=[2, 2], di=[5, 5])
    assert "different lengths" in str(err) and "bi has 3" in str(err)


def test_mismatched_length_with_data(trials: pd.DataFrame) -> None:
    err = _error(effect_sizes, "RR", trials, ai="e1", n1i="n1", ci=[1, 2], n2i="n2")
    assert "data has 3 rows" in str(err) and "ci has 2" in str(err)


def test_column_not_in_data(trials: pd.DataFrame) -> None:
    err = _error(effect_sizes, "RR", trials, ai="events", n1i="n1", ci="e2", n2i="n2")
    assert "'events'" in str(err) and "not in the data" in str(err)


def test_string_without_data() -> None:
    err = _error(effect_sizes, "RR", ai="e1", n1i=[10], ci=[1], n2i=[10])
    assert "column name together with data=" in str(err)


def test_non_numeric_values_name_row_and_column(trials: pd.DataFrame) -> None:
    bad = trials.astype({"e1": object})
    bad.loc[20, "e1"] = "seven"
    err = _error(effect_sizes, "RR", bad, ai="e1", n1i="n1", ci="e2", n2i="n2")
    assert "'e1' must be numeric" in str(err) and "row(s) 2" in str(err)
    assert err.rows == [1] and err.column == "e1"


def test_missing_values_name_row_and_column(trials: pd.DataFrame) -> None:
    bad = trials.astype({"n2": float})
    bad.loc[30, "n2"] = np.nan
    err = _error(effect_sizes, "RR", bad, ai="e1", n1i="n1", ci="e2", n2i="n2")
    assert "column 'n2' (n2i)" in str(err) and "missing in row(s) 3" in str(err)
    assert err.rows == [2] and err.column == "n2"


@pytest.mark.parametrize(
    ("kwargs", "pattern", "column", "rows"),
    [
        (
            dict(ai=[1, -1], n1i=[10, 10], ci=[2, 2], n2i=[10, 10]),
            r"'ai' .* is negative in row\(s\) 2",
            "ai",
            [1],
        ),
        (
            dict(ai=[1, 11], n1i=[10, 10], ci=[2, 2], n2i=[10, 10]),
            r"'ai' .* exceeds 'n1i' .* row\(s\) 2",
            "ai",
            [1],
        ),
        (
            dict(ai=[1, 1], n1i=[10, 0], ci=[2, 2], n2i=[10, 10]),
            r"'n1i' .* is not positive in row\(s\) 2",
            "n1i",
            [1],
        ),
        (
            dict(ai=[1, 1], bi=[9, -2], ci=[2, 2], di=[8, 8]),
            r"'bi' .* is negative in row\(s\) 2",
            "bi",
            [1],
        ),
        (
            dict(ai=[1, 0], bi=[9, 0], ci=[2, 2], di=[8, 8]),
            r"'bi' .* is 0 together with 'ai' .* row\(s\) 2",
            "bi",
            [1],
        ),
        (
            dict(ai=[1, 1], bi=[9, 9], n1i=[10, 11], ci=[2, 2], di=[8, 8]),
            r"'n1i' .* is not 'ai' \+ 'bi' .* row\(s\) 2",
            "n1i",
            [1],
        ),
    ],
)
def test_count_errors_2x2(kwargs: dict, pattern: str, column: str, rows: list[int]) -> None:
    err = _error(effect_sizes, "OR", **kwargs)
    assert re.search(pattern, str(err)), str(err)
    assert err.column == column and err.rows == rows


def test_bi_missing_is_filled_from_n1i() -> None:
    out = effect_sizes("OR", ai=[1, 2], bi=[9, np.nan], n1i=[10, 12], ci=[2, 2], di=[8, 8])
    ref = effect_sizes("OR", ai=[1, 2], bi=[9, 10], ci=[2, 2], di=[8, 8])
    np.testing.assert_array_equal(out["yi"], ref["yi"])
    err = _error(effect_sizes, "OR", ai=[1, 2], bi=[9, np.nan], ci=[2, 2], di=[8, 8])
    assert "'bi'" in str(err) and "missing in row(s) 2" in str(err)


@pytest.mark.parametrize(
    ("measure", "kwargs", "pattern", "column"),
    [
        ("PR", dict(xi=[3, 12], ni=[10, 10]), r"'xi' .* exceeds 'ni' .* row\(s\) 2", "xi"),
        ("PR", dict(xi=[3, -1], ni=[10, 10]), r"'xi' .* is negative in row\(s\) 2", "xi"),
        ("PLO", dict(xi=[3, 0], ni=[10, 0]), r"'ni' .* is not positive in row\(s\) 2", "ni"),
        (
            "IRR",
            dict(x1i=[1, 2], x2i=[1, -2], t1i=[10, 10], t2i=[10, 10]),
            r"'x2i' .* negative in row\(s\) 2",
            "x2i",
        ),
        (
            "IRD",
            dict(x1i=[1, 2], x2i=[1, 2], t1i=[10, 0], t2i=[10, 10]),
            r"'t1i' \(person-time of group 1\) is not positive in row\(s\) 2",
            "t1i",
        ),
        ("IRLN", dict(xi=[1, 2], ti=[-5, 10]), r"'ti' .* not positive in row\(s\) 1", "ti"),
        (
            "MD",
            dict(m1i=[1, 2], m2i=[1, 2], sd1i=[1, 0], sd2i=[1, 1], n1i=[5, 5], n2i=[5, 5]),
            r"'sd1i' .* is not positive in row\(s\) 2 \(value\(s\) 0\)",
            "sd1i",
        ),
        (
            "SMD",
            dict(m1i=[1, 2], m2i=[1, 2], sd1i=[1, 1], sd2i=[1, -1], n1i=[5, 5], n2i=[5, 5]),
            r"'sd2i' .* row\(s\) 2",
            "sd2i",
        ),
        (
            "SMDH",
            dict(m1i=[1, 2], m2i=[1, 2], sd1i=[1, 1], sd2i=[1, 1], n1i=[5, 5], n2i=[0, 5]),
            r"'n2i' .* not positive in row\(s\) 1",
            "n2i",
        ),
        (
            "ROM",
            dict(m1i=[1, -2], m2i=[1, 2], sd1i=[1, 1], sd2i=[1, 1], n1i=[5, 5], n2i=[5, 5]),
            r"same sign .* row\(s\) 2",
            "m1i",
        ),
        (
            "MN",
            dict(mi=[1, 2], sdi=[1, 0], ni=[5, 5]),
            r"'sdi' .* not positive in row\(s\) 2",
            "sdi",
        ),
        ("MN", dict(mi=[1, 2], sdi=[1, 1], ni=[5, 0]), r"'ni' .* not positive in row\(s\) 2", "ni"),
        (
            "MNLN",
            dict(mi=[1, 0], sdi=[1, 1], ni=[5, 5]),
            r"'mi' \(mean\) is not positive in row\(s\) 2",
            "mi",
        ),
        ("COR", dict(ri=[0.2, 1.2], ni=[20, 20]), r"'ri' .* outside \[-1, 1\] in row\(s\) 2", "ri"),
        ("ZCOR", dict(ri=[0.2, -0.2], ni=[20, 0]), r"'ni' .* not positive in row\(s\) 2", "ni"),
        ("ZCOR", dict(ri=[0.2, np.nan], ni=[20, 30]), r"'ri' .* missing in row\(s\) 2", "ri"),
    ],
)
def test_value_errors(measure: str, kwargs: dict, pattern: str, column: str) -> None:
    err = _error(effect_sizes, measure, **kwargs)
    assert re.search(pattern, str(err)), str(err)
    assert err.column == column and err.rows


def test_smd_rows_without_d_need_means() -> None:
    err = _error(effect_sizes, "SMD", di=[0.5, np.nan], n1i=[10, 10], n2i=[10, 10])
    assert "Row(s) 2 have no 'di'" in str(err) and err.rows == [1]
    err = _error(
        effect_sizes,
        "SMD",
        di=[0.5, np.nan],
        m1i=[np.nan, np.nan],
        m2i=[0, 0],
        sd1i=[1, 1],
        sd2i=[1, 1],
        n1i=[10, 10],
        n2i=[10, 10],
    )
    assert "'m1i'" in str(err) and "missing in row(s) 2" in str(err) and err.rows == [1]


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        (dict(to="some"), "'to' parameter must be one of"),
        (dict(add=-1), "'add' parameter must be a finite number >= 0"),
        (dict(add="half"), "'add' parameter must be a number"),
        (dict(drop00="yes"), "'drop00' parameter must be True or False"),
        (dict(vtype="UB"), "'vtype' parameter for measure 'OR' must be 'LS'"),
        (dict(vtype=["LS", "LS", "LS"]), "one string or one per study; got 3 values for 2"),
        (dict(var_names=("yi", "yi")), "'var_names' parameter must be two different"),
    ],
)
def test_option_errors(options: dict, pattern: str) -> None:
    err = _error(effect_sizes, "OR", ai=[1, 2], bi=[5, 5], ci=[2, 2], di=[5, 5], **options)
    assert pattern in str(err)


def test_vtype_errors_for_correlations_and_smdh() -> None:
    err = _error(effect_sizes, "COR", ri=[0.2], ni=[20], vtype="UB")
    assert "measure='UCOR'" in str(err)
    err = _error(
        effect_sizes,
        "SMDH",
        m1i=[1, 2],
        m2i=[0, 0],
        sd1i=[1, 1],
        sd2i=[1, 1],
        n1i=[5, 5],
        n2i=[5, 5],
        vtype=["LS", "LS2"],
    )
    assert "must be one string;" in str(err)


def test_data_must_be_a_dataframe() -> None:
    err = _error(effect_sizes, "OR", {"a": [1]}, ai="a", bi="a", ci="a", di="a")
    assert "must be a pandas DataFrame" in str(err)


def test_empty_input() -> None:
    err = _error(effect_sizes, "OR", ai=[], bi=[], ci=[], di=[])
    assert "no studies" in str(err)


# ---- zero cells and warnings -------------------------------------------------------------


def test_no_warning_without_zero_cells(trials: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rr = rr_from(trials)
        odds = effect_sizes("OR", trials, ai="e1", n1i="n1", ci="e2", n2i="n2", to="all")
    a, n1, c, n2 = (trials[k].to_numpy(float) for k in ("e1", "n1", "e2", "n2"))
    b, d = n1 - a, n2 - c
    np.testing.assert_allclose(rr["yi"], np.log((a / n1) / (c / n2)), rtol=1e-12)
    # to="all" (metafor's meaning): 0.5 is added to every cell of every study, zeros or not
    a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    np.testing.assert_allclose(odds["yi"], np.log(a * d / (b * c)), rtol=1e-12)
    np.testing.assert_allclose(odds["vi"], 1 / a + 1 / b + 1 / c + 1 / d, rtol=1e-12)


def test_only0_corrects_zero_rows_and_says_which() -> None:
    with pytest.warns(ZeroCellWarning, match=r"(?i)added 0.5 to each cell of row\(s\) 2, 3"):
        out = effect_sizes("OR", ai=[2, 0, 4], bi=[8, 10, 0], ci=[3, 2, 5], di=[7, 8, 5])
    assert out["yi"].iloc[1] == pytest.approx(math.log((0.5 / 10.5) / (2.5 / 8.5)))
    assert out["vi"].iloc[0] == pytest.approx(1 / 2 + 1 / 8 + 1 / 3 + 1 / 7)


def test_drop00_blanks_double_zero_studies_and_says_which() -> None:
    with pytest.warns(
        ZeroCellWarning, match=r"(?i)row\(s\) 2 have no events, or no non-events"
    ) as rec:
        out = effect_sizes(
            "RR", ai=[2, 0, 1], n1i=[10, 10, 10], ci=[3, 0, 0], n2i=[10, 10, 10], drop00=True
        )
    assert "drop00=True" in str(rec[0].message) and "row(s) 3" in str(rec[0].message)
    assert math.isnan(out["yi"].iloc[1]) and math.isnan(out["vi"].iloc[1])
    assert np.isfinite(out["yi"].iloc[[0, 2]]).all()


def test_double_zero_kept_by_default_as_metafor() -> None:
    with pytest.warns(ZeroCellWarning):
        out = effect_sizes("OR", ai=[0], n1i=[10], ci=[0], n2i=[12])
    assert out["yi"].iloc[0] == pytest.approx(math.log((0.5 / 10.5) / (0.5 / 12.5)))


def test_to_none_leaves_undefined_values_missing_with_a_warning() -> None:
    with pytest.warns(ZeroCellWarning, match=r"could not be computed for row\(s\) 2"):
        out = effect_sizes("OR", ai=[2, 0], bi=[8, 10], ci=[3, 2], di=[7, 8], to="none")
    assert math.isnan(out["yi"].iloc[1]) and math.isnan(out["vi"].iloc[1])


def test_to_all_with_zeros_names_them() -> None:
    with pytest.warns(ZeroCellWarning, match=r"all 2 studies \(to='all'\); row\(s\) 2"):
        effect_sizes("RR", ai=[2, 0], n1i=[10, 10], ci=[3, 2], n2i=[10, 10], to="all")


def test_add_zero_measures_do_not_correct() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = effect_sizes("AS", ai=[0], n1i=[10], ci=[3], n2i=[10])
    assert out["yi"].iloc[0] == pytest.approx(-math.asin(math.sqrt(0.3)))


def test_small_samples_warn() -> None:
    with pytest.warns(SmallSampleWarning, match=r"row\(s\) 1"):
        out = effect_sizes("ZCOR", ri=[0.3, 0.3], ni=[3, 30])
    assert out["yi"].iloc[0] == pytest.approx(math.atanh(0.3)) and math.isnan(out["vi"].iloc[0])
    with pytest.warns(SmallSampleWarning, match="Hedges' correction"):
        effect_sizes("SMD", m1i=[1], m2i=[0], sd1i=[1], sd2i=[1], n1i=[1], n2i=[2])


def test_warning_points_at_the_caller() -> None:
    with pytest.warns(ZeroCellWarning) as rec:
        effect_sizes("OR", ai=[0], n1i=[10], ci=[1], n2i=[10])
    assert rec[0].filename == __file__


# ---- properties --------------------------------------------------------------------------

counts = st.integers(min_value=1, max_value=200)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(st.tuples(counts, counts, counts, counts), min_size=1, max_size=8))
def test_swapping_groups_negates_log_ratios(tables: list[tuple[int, int, int, int]]) -> None:
    a, b, c, d = (list(x) for x in zip(*tables, strict=True))
    for measure in ("OR", "RR", "RD", "AS", "PETO"):
        fwd = effect_sizes(measure, ai=a, bi=b, ci=c, di=d)
        rev = effect_sizes(measure, ai=c, bi=d, ci=a, di=b)
        np.testing.assert_allclose(fwd["yi"], -rev["yi"], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(fwd["vi"], rev["vi"], rtol=1e-12)


@settings(max_examples=40, derandomize=True, deadline=None)
@given(st.permutations(list(range(6))))
def test_row_order_does_not_matter(order: list[int]) -> None:
    base = pd.DataFrame(
        {
            "m1": [3.1, 4.0, 2.2, 5.5, 1.9, 3.3],
            "m2": [3.9, 4.6, 2.9, 4.1, 2.5, 3.0],
            "s1": [1.2, 1.5, 0.9, 2.0, 0.7, 1.1],
            "s2": [1.1, 1.7, 1.0, 1.6, 0.8, 1.3],
            "n1": [30, 45, 22, 12, 60, 25],
            "n2": [31, 44, 20, 14, 58, 27],
        }
    )
    cols = dict(m1i="m1", m2i="m2", sd1i="s1", sd2i="s2", n1i="n1", n2i="n2")
    for measure, vtype in (("SMD", "AV"), ("SMD", "UB"), ("ROM", "AVHO"), ("MD", "HO")):
        full = effect_sizes(measure, base, vtype=vtype, **cols)
        perm = effect_sizes(measure, base.iloc[order], vtype=vtype, **cols)
        pd.testing.assert_frame_equal(full.loc[perm.index], perm, rtol=1e-12)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.floats(min_value=-0.999, max_value=0.999), st.integers(min_value=5, max_value=100_000))
def test_ucor_is_finite_and_between_r_and_sign(r: float, n: int) -> None:
    out = effect_sizes("UCOR", ri=[r], ni=[n])
    yi = out["yi"].iloc[0]
    assert np.isfinite(yi) and np.isfinite(out["vi"].iloc[0])
    assert abs(yi) >= abs(r) - 1e-15 and abs(yi) <= 1 + 1e-12


def test_every_measure_runs_on_clean_input() -> None:
    inputs = {
        "binary": dict(ai=[5, 8], bi=[15, 12], ci=[9, 10], di=[11, 10]),
        "proportion": dict(xi=[5, 8], ni=[20, 20]),
        "two_rates": dict(x1i=[5, 8], t1i=[100, 120], x2i=[9, 10], t2i=[110, 90]),
        "one_rate": dict(xi=[5, 8], ti=[100, 120]),
        "two_group": dict(
            m1i=[3, 4], m2i=[2, 3.5], sd1i=[1, 1.2], sd2i=[1.1, 0.9], n1i=[20, 25], n2i=[22, 24]
        ),
        "one_group": dict(mi=[3, 4], sdi=[1, 1.2], ni=[20, 25]),
        "correlation": dict(ri=[0.3, -0.2], ni=[40, 55]),
    }
    from acuevidence._es_input import FAMILY

    for measure in MEASURES:
        kwargs = dict(inputs[FAMILY[measure]])
        if measure == "SDLN":
            kwargs.pop("mi")
        with warnings.catch_warnings():
            warnings.simplefilter("error", EvidenceWarning)
            out = effect_sizes(measure, **kwargs)
        assert np.isfinite(out[["yi", "vi"]].to_numpy()).all(), measure


def test_nullable_integer_columns(trials: pd.DataFrame) -> None:
    nullable = trials.astype({"e1": "Int64", "n1": "Int64"})
    pd.testing.assert_frame_equal(rr_from(nullable)[["yi", "vi"]], rr_from(trials)[["yi", "vi"]])
    nullable.loc[20, "e1"] = pd.NA
    err = _error(rr_from, nullable)
    assert "column 'e1' (ai)" in str(err) and "missing in row(s) 2" in str(err)


def test_slab_column_must_exist(trials: pd.DataFrame) -> None:
    err = _error(effect_sizes, "RR", trials, ai="e1", n1i="n1", ci="e2", n2i="n2", slab="name")
    assert "'name'" in str(err) and "not in the data" in str(err)
