"""Unit and contract tests of Mantel-Haenszel and Peto pooling (numbers: test_reference_mh.py)."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import acuevidence
from acuevidence.errors import InputError, ZeroCellWarning
from acuevidence.mantel_haenszel import SCALARS, MHResult, mantel_haenszel, peto

# dat.bcg (first 6 trials): no zero cells, so nothing is corrected or dropped.
BCG = pd.DataFrame({
    "tpos": [4, 6, 3, 62, 33, 180], "tneg": [119, 300, 228, 13536, 5036, 1361],
    "cpos": [11, 29, 11, 248, 47, 372], "cneg": [128, 274, 209, 12619, 5761, 1079],
    "trial": ["Aronson", "Ferguson", "Rosenthal", "Hart", "Frimodt", "Stein"],
})
BCG_COLS = dict(ai="tpos", bi="tneg", ci="cpos", di="cneg")
# Single- and double-zero studies (rows 1 and 3, 1-based, are double-zero).
ZERO = pd.DataFrame({"ai": [0, 3, 0, 2, 8, 1], "n1i": [20, 25, 30, 18, 40, 15],
                     "ci": [0, 1, 0, 4, 10, 0], "n2i": [21, 24, 31, 20, 41, 15]})
ZERO_COLS = dict(ai="ai", n1i="n1i", ci="ci", n2i="n2i")
HART = pd.DataFrame({"x1i": [9, 8, 3, 6, 7, 20], "t1i": [413, 263, 487, 237, 489, 507],
                     "x2i": [19, 19, 13, 9, 23, 50], "t2i": [398, 245, 435, 241, 483, 405]})
HART_COLS = dict(x1i="x1i", t1i="t1i", x2i="x2i", t2i="t2i")


def fit_quiet(fun, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        return fun(*args, **kwargs)


# --------------------------------------------------------------------------------- basics
def test_exported_from_package():
    assert acuevidence.mantel_haenszel is mantel_haenszel
    assert acuevidence.peto is peto
    assert acuevidence.MHResult is MHResult


def test_clean_data_raises_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = mantel_haenszel("OR", BCG, **BCG_COLS)
    assert res.method == "MH" and res.measure == "OR"
    assert res.k == res.k_yi == res.k_total == 6
    assert res.dropped == () and res.dropped_reasons == ()
    assert math.isclose(res.estimate_exp, math.exp(res.estimate))
    assert res.ci_lower < res.estimate < res.ci_upper
    # by hand: MH odds ratio sum(a d / n) / sum(b c / n); CMH test with continuity correction
    a, b, c, d = (BCG[k].to_numpy(float) for k in ("tpos", "tneg", "cpos", "cneg"))
    n = a + b + c + d
    assert res.estimate == pytest.approx(math.log(np.sum(a * d / n) / np.sum(b * c / n)),
                                         rel=1e-12)
    n1, n2, m1, m2 = a + b, c + d, a + c, b + d
    expected_a = n1 * m1 / n
    var_a = n1 * n2 * m1 * m2 / (n * n * (n - 1))
    cmh = (abs(np.sum(a - expected_a)) - 0.5) ** 2 / np.sum(var_a)
    assert res.cmh_statistic == pytest.approx(cmh, rel=1e-10)
    assert res.tarone_statistic is not None and res.tarone_statistic >= 0


def test_result_is_frozen():
    res = mantel_haenszel("OR", BCG, **BCG_COLS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.estimate = 0.0  # type: ignore[misc]


def test_ratio_and_difference_scales():
    rd = mantel_haenszel("RD", BCG, **BCG_COLS)
    assert rd.estimate_exp is None and rd.ci_lower_exp is None
    assert rd.cmh_statistic is None and rd.tarone_statistic is None
    rr = mantel_haenszel("RR", BCG, **BCG_COLS)
    assert rr.tarone_statistic is None and rr.cmh_statistic is None
    assert math.isclose(rr.ci_upper_exp, math.exp(rr.ci_upper))
    pt = peto(BCG, **BCG_COLS)
    assert pt.method == "Peto" and pt.measure == "PETO" and pt.cmh_statistic is None
    assert pt.correct is None


def test_measure_is_case_insensitive_and_level_percent():
    a = mantel_haenszel("or", BCG, **BCG_COLS, level=95)
    b = mantel_haenszel("OR", BCG, **BCG_COLS, level=0.95)
    assert a.to_dict() == b.to_dict()


def test_correct_changes_only_cmh():
    a = mantel_haenszel("OR", BCG, **BCG_COLS, correct=True)
    b = mantel_haenszel("OR", BCG, **BCG_COLS, correct=False)
    assert a.estimate == b.estimate and a.q == b.q and a.tarone_statistic == b.tarone_statistic
    assert a.cmh_statistic < b.cmh_statistic


def test_arrays_without_data_and_n_instead_of_nonevents():
    n1 = (BCG.tpos + BCG.tneg).to_numpy()
    n2 = (BCG.cpos + BCG.cneg).to_numpy()
    a = mantel_haenszel("OR", ai=BCG.tpos.to_numpy(), n1i=n1, ci=BCG.cpos.tolist(), n2i=n2)
    b = mantel_haenszel("OR", BCG, **BCG_COLS)
    assert a.to_dict() == b.to_dict()


def test_aliases_match_metafor_names():
    a = mantel_haenszel("RR", BCG, events_1="tpos", nonevents_1="tneg", events_2="cpos",
                        nonevents_2="cneg")
    b = mantel_haenszel("RR", BCG, **BCG_COLS)
    assert a.to_dict() == b.to_dict()
    n = fit_quiet(peto, ZERO, events_1="ai", n_1="n1i", events_2="ci", n_2="n2i")
    m = fit_quiet(peto, ZERO, **ZERO_COLS)
    assert n.to_dict() == m.to_dict()
    irr = mantel_haenszel("IRR", HART, events_1="x1i", time_1="t1i", events_2="x2i",
                          time_2="t2i")
    assert irr.to_dict() == mantel_haenszel("IRR", HART, **HART_COLS).to_dict()


def test_slab_labels_in_summary_notes():
    res = fit_quiet(mantel_haenszel, "OR", ZERO.assign(name=list("ABCDEF")), slab="name",
                    **ZERO_COLS)
    assert res.labels == tuple("ABCDEF")
    text = res.summary()
    assert "Study A (row 1)" in text and "Study C (row 3)" in text


# ------------------------------------------------------------------------ zero cells
def test_double_zero_studies_dropped_from_q_with_warning():
    with pytest.warns(ZeroCellWarning, match=r"Row\(s\) 1, 3: double-zero"):
        res = mantel_haenszel("OR", ZERO, **ZERO_COLS)
    assert res.k == 6 and res.k_yi == 4 and res.k_total == 6
    assert res.dropped == (0, 2)
    assert all("heterogeneity test" in r for r in res.dropped_reasons)
    assert math.isnan(res.yi[0]) and math.isnan(res.vi[2]) and not math.isnan(res.yi[1])
    frame = res.study_frame()
    assert list(frame.columns) == ["label", "yi", "vi", "dropped"]
    assert frame.loc[0, "dropped"] and not frame.loc[1, "dropped"]


def test_drop00_for_tables_reduces_k():
    with pytest.warns(ZeroCellWarning, match="left out of the pooled estimate"):
        res = mantel_haenszel("RD", ZERO, **ZERO_COLS, drop00=(True, True))
    assert res.k == 4 and res.k_total == 6
    assert "pooled estimate" in res.dropped_reasons[0]


def test_continuity_correction_warns():
    with pytest.warns(ZeroCellWarning, match="0.5 added to the cells for the study-level"):
        mantel_haenszel("OR", ZERO, **ZERO_COLS)
    with pytest.warns(ZeroCellWarning, match="pooled tables"):
        mantel_haenszel("OR", ZERO, **ZERO_COLS, add=[0.5, 0.5], to=["only0", "only0"])


def test_all_double_zero_raises_with_advice():
    dz = pd.DataFrame({"ai": [0, 0], "n1i": [10, 12], "ci": [0, 0], "n2i": [11, 12]})
    for fun, kw in ((mantel_haenszel, {"measure": "OR"}), (mantel_haenszel, {"measure": "RR"}),
                    (peto, {})):
        with pytest.raises(InputError, match="zero events in both arms.*measure='RD'"):
            fit_quiet(fun, data=dz, **kw, **ZERO_COLS)
    with pytest.raises(InputError, match="k = 0"):
        fit_quiet(mantel_haenszel, "RD", dz, **ZERO_COLS, drop00=(True, True))
    rd = fit_quiet(mantel_haenszel, "RD", dz, **ZERO_COLS)  # metafor: RD = 0 with SE 0
    assert rd.estimate == 0 and rd.se == 0 and math.isnan(rd.statistic)
    irr = pd.DataFrame({"x1i": [0, 0], "t1i": [5.0, 6], "x2i": [0, 0], "t2i": [5.0, 7]})
    with pytest.raises(InputError, match="measure='IRD'"):
        fit_quiet(mantel_haenszel, "IRR", irr, **HART_COLS)


def test_undefined_odds_ratio_is_nan_not_error():
    one_arm = pd.DataFrame({"ai": [3, 2], "n1i": [10, 12], "ci": [0, 0], "n2i": [11, 12]})
    with pytest.warns(ZeroCellWarning) as record:
        res = mantel_haenszel("OR", one_arm, **ZERO_COLS)
    assert any("odds ratio is undefined" in str(w.message) for w in record)
    assert math.isnan(res.estimate) and math.isnan(res.tarone_statistic)
    assert not math.isnan(res.cmh_statistic)
    d = res.to_dict()
    assert d["estimate"] is None and d["tarone_statistic"] is None
    json.dumps(d, allow_nan=False)


# ------------------------------------------------------------------------ input errors
@pytest.mark.parametrize(
    ("change", "column", "pattern"),
    [
        ({"tpos": [4, -6, 3, 62, 33, 180]}, "tpos", r"'tpos' must not be negative; row\(s\) 2"),
        ({"tneg": [119, 300, None, 13536, 5036, 1361]}, "tneg", r"'tneg' is missing in row\(s\) 3"),
        ({"cpos": [11, 29, 11, "x", 47, 372]}, "cpos", r"'cpos' must be numeric; row\(s\) 4"),
    ],
)
def test_bad_values_name_row_and_column(change, column, pattern):
    bad = BCG.assign(**change)
    with pytest.raises(InputError, match=pattern) as info:
        mantel_haenszel("OR", bad, **BCG_COLS)
    assert info.value.column == column


def test_events_above_group_size():
    bad = ZERO.assign(ci=[0, 1, 0, 40, 10, 0])
    with pytest.raises(InputError, match=r"'ci' exceeds the group size 'n2i' in row\(s\) 4") as e:
        fit_quiet(mantel_haenszel, "OR", bad, **ZERO_COLS)
    assert e.value.rows == [3] and e.value.column == "ci"


def test_empty_group():
    with pytest.raises(InputError, match=r"Group 2 has no participants in row\(s\) 2") as e:
        mantel_haenszel("RD", ai=[1, 2], n1i=[10, 10], ci=[2, 0], n2i=[8, 0])
    assert e.value.column == "n2i" and e.value.rows == [1]


def test_inconsistent_group_size():
    with pytest.raises(InputError, match=r"'n1i' is not 'ai' \+ 'bi' in row\(s\) 2"):
        mantel_haenszel("OR", ai=[1, 2], bi=[9, 9], n1i=[10, 10], ci=[2, 2], di=[8, 8])


def test_mismatched_lengths():
    with pytest.raises(InputError, match="different lengths"):
        mantel_haenszel("OR", ai=[1, 2, 3], bi=[9, 9], ci=[2, 2], di=[8, 8])


def test_unknown_measure_and_options():
    with pytest.raises(InputError, match="Unknown measure 'SMD'"):
        mantel_haenszel("SMD", BCG, **BCG_COLS)
    with pytest.raises(InputError, match="call peto"):
        mantel_haenszel("PETO", BCG, **BCG_COLS)
    with pytest.raises(InputError, match="'to' parameter"):
        mantel_haenszel("OR", BCG, **BCG_COLS, to="sometimes")
    with pytest.raises(InputError, match="'add' parameter"):
        mantel_haenszel("OR", BCG, **BCG_COLS, add=-1)
    with pytest.raises(InputError, match="one or two values"):
        mantel_haenszel("OR", BCG, **BCG_COLS, add=[0.5, 0.5, 0.5])
    with pytest.raises(InputError, match="'drop00' parameter"):
        mantel_haenszel("OR", BCG, **BCG_COLS, drop00="yes")
    with pytest.raises(InputError, match="'correct' parameter"):
        mantel_haenszel("OR", BCG, **BCG_COLS, correct="yes")
    with pytest.raises(InputError, match="'level' parameter"):
        mantel_haenszel("OR", BCG, **BCG_COLS, level=2000)


def test_argument_errors():
    with pytest.raises(InputError, match="Unknown argument.*'event_1'"):
        mantel_haenszel("OR", BCG, event_1="tpos", bi="tneg", ci="cpos", di="cneg")
    with pytest.raises(InputError, match="Both 'events_1' and 'ai'"):
        mantel_haenszel("OR", BCG, events_1="tpos", **BCG_COLS)
    with pytest.raises(InputError, match="column 'nope'.*not in the data"):
        mantel_haenszel("OR", BCG, ai="nope", bi="tneg", ci="cpos", di="cneg")
    with pytest.raises(InputError, match="Missing di or n2i"):
        mantel_haenszel("OR", BCG, ai="tpos", bi="tneg", ci="cpos")
    with pytest.raises(InputError, match="do not apply to measure 'OR'"):
        mantel_haenszel("OR", HART, x1i="x1i", t1i="t1i", x2i="x2i", t2i="t2i")
    with pytest.raises(InputError, match="Missing t2i"):
        mantel_haenszel("IRR", HART, x1i="x1i", t1i="t1i", x2i="x2i")
    with pytest.raises(InputError, match=r"'t1i' \(person-time\) must be positive; row\(s\) 2"):
        mantel_haenszel("IRD", HART.assign(t1i=[413, 0, 487, 237, 489, 507]), **HART_COLS)
    with pytest.raises(InputError, match="no data were given"):
        mantel_haenszel("OR", **BCG_COLS)


def test_peto_needs_both_outcomes():
    allev = pd.DataFrame({"ai": [5, 6], "bi": [0, 0], "ci": [4, 7], "di": [0, 0]})
    with pytest.raises(InputError, match="had the event"):
        fit_quiet(peto, allev, ai="ai", bi="bi", ci="ci", di="di")
    mixed = pd.DataFrame({"ai": [0, 6], "bi": [5, 0], "ci": [0, 7], "di": [4, 0]})
    with pytest.raises(InputError, match="Peto's method cannot be used"):
        fit_quiet(peto, mixed, ai="ai", bi="bi", ci="ci", di="di")


# ---------------------------------------------------------------------------- output
def test_to_dict_json_round_trip():
    res = fit_quiet(mantel_haenszel, "OR", ZERO, **ZERO_COLS)
    d = res.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back == d
    assert back["yi"][0] is None and back["dropped"] == [0, 2]
    assert back["add"] == [0.5, 0.0] and back["to"] == ["only0", "none"]
    assert set(d) == {f.name for f in dataclasses.fields(MHResult)}
    for v in d.values():
        assert not isinstance(v, np.generic)


def test_to_frame_one_tidy_row():
    res = mantel_haenszel("IRR", HART, **HART_COLS)
    frame = res.to_frame()
    assert frame.shape == (1, len(SCALARS))
    assert list(frame.columns) == list(SCALARS)
    assert frame.loc[0, "estimate"] == res.estimate and frame.loc[0, "k"] == 6


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_summary_formats(fmt):
    res = mantel_haenszel("OR", BCG, **BCG_COLS)
    out = res.summary(fmt)
    assert "Mantel-Haenszel" in out and "Tarone" in out and "Cochran-Mantel-Haenszel" in out
    if fmt == "html":
        assert out.startswith("<section")
    if fmt == "markdown":
        assert out.startswith("## ")
    assert str(res) == res.summary()


def test_summary_peto_and_bad_format():
    res = peto(BCG, **BCG_COLS)
    assert "Peto" in res.summary() and "Tarone" not in res.summary()
    with pytest.raises(InputError, match="Unknown summary format"):
        res.summary("pdf")


# ------------------------------------------------------------------------- contracts
def test_inputs_not_mutated():
    df = ZERO.copy()
    arrays = {k: df[v].to_numpy().copy() for k, v in ZERO_COLS.items()}
    kept = {k: a.copy() for k, a in arrays.items()}
    fit_quiet(mantel_haenszel, "OR", df, **ZERO_COLS, add=(0.5, 0.5), to=("all", "all"))
    fit_quiet(peto, **arrays, add=(0.5, 0.5), to=("all", "all"))
    pd.testing.assert_frame_equal(df, ZERO)
    for k in arrays:
        np.testing.assert_array_equal(arrays[k], kept[k])


@pytest.mark.parametrize("measure", ["OR", "RR", "RD", "PETO", "IRR", "IRD"])
def test_fit_twice_same_and_order_invariant(measure):
    if measure in ("IRR", "IRD"):
        data, cols = HART, HART_COLS
    else:
        data, cols = ZERO, ZERO_COLS

    def fit(d):
        if measure == "PETO":
            return fit_quiet(peto, d, **cols)
        return fit_quiet(mantel_haenszel, measure, d, **cols)

    a, b = fit(data), fit(data)
    assert a.to_dict() == b.to_dict()
    perm = np.random.default_rng(20240601).permutation(len(data))
    c = fit(data.iloc[perm].reset_index(drop=True))
    for name in SCALARS:
        x, y = getattr(a, name), getattr(c, name)
        if isinstance(x, float):
            assert (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-10,
                                                                     abs_tol=1e-12), name
        else:
            assert x == y, name
    assert sorted(perm[list(c.dropped)].tolist()) == list(a.dropped)


# ------------------------------------------------------------------------- properties
tables = st.lists(
    st.tuples(*[st.integers(min_value=1, max_value=60) for _ in range(4)]), min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(tables)
def test_mh_or_lies_between_study_odds_ratios(rows):
    a, b, c, d = (np.array(x, dtype=float) for x in zip(*rows, strict=True))
    res = mantel_haenszel("OR", ai=a, bi=b, ci=c, di=d)
    log_or = np.log(a * d / (b * c))
    assert log_or.min() - 1e-9 <= res.estimate <= log_or.max() + 1e-9
    assert res.se > 0 and res.ci_lower < res.estimate < res.ci_upper
    assert 0 <= res.cmh_p_value <= 1 and res.q >= 0 and 0 <= res.i2 < 100


@settings(max_examples=60, deadline=None, derandomize=True)
@given(tables)
def test_swapping_groups_negates_log_scale(rows):
    a, b, c, d = (np.array(x, dtype=float) for x in zip(*rows, strict=True))
    for measure in ("OR", "RR", "RD"):
        fwd = mantel_haenszel(measure, ai=a, bi=b, ci=c, di=d)
        rev = mantel_haenszel(measure, ai=c, bi=d, ci=a, di=b)
        assert math.isclose(fwd.estimate, -rev.estimate, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(fwd.se, rev.se, rel_tol=1e-9)
    p_fwd, p_rev = peto(ai=a, bi=b, ci=c, di=d), peto(ai=c, bi=d, ci=a, di=b)
    assert math.isclose(p_fwd.estimate, -p_rev.estimate, rel_tol=1e-9, abs_tol=1e-12)
