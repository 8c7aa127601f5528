"""Analysis sets on the committed registry CSVs (no mocks).

Expected numbers are recomputed here from the raw CSV cells with independent formulas (the
textbook ones, written out), never copied from the function's output.
"""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from acuevidence import InputError
from acuevidence.evidence import _windows as win
from acuevidence.evidence.analysis_sets import DATA_COLUMNS, LOG_ACTIONS, AnalysisSet, select
from acuevidence.evidence.store import Registry, bundled_csv_dir, evidence_version, read_csv_dir

Z975 = stats.norm.ppf(0.975)
TIGHT = dict(rel=1e-12, abs=1e-12)  # same arithmetic, other order of operations


@pytest.fixture(scope="module")
def tables():
    return read_csv_dir(bundled_csv_dir())


@pytest.fixture(scope="module")
def raw():
    """The CSV cells as text, keyed by id: what the curators typed."""
    out = {}
    for name, key in (("outcomes", "value_id"), ("contrasts", "contrast_id"),
                      ("arms", "arm_id"), ("studies", "study_id"), ("sources", "source_id")):
        with (bundled_csv_dir() / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
            out[name] = {r[key]: r for r in csv.DictReader(fh)}
    return out


def _f(cell: str) -> float:
    return float(cell)


def _find(raw_table, **match):
    rows = [r for r in raw_table.values() if all(r[k] == v for k, v in match.items())]
    assert len(rows) == 1, (match, len(rows))
    return rows[0]


def _hedges(m1, sd1, n1, m2, sd2, n2):
    """Hedges' g and its large-sample variance, written out (exact small-sample factor)."""
    m = n1 + n2 - 2
    sp = math.sqrt(((n1 - 1) * sd1 ** 2 + (n2 - 1) * sd2 ** 2) / m)
    j = math.exp(special.gammaln(m / 2) - math.log(math.sqrt(m / 2)) - special.gammaln((m - 1) / 2))
    g = j * (m1 - m2) / sp
    return g, 1 / n1 + 1 / n2 + g ** 2 / (2 * (n1 + n2))


def _row(s: AnalysisSet, study_id: str) -> pd.Series:
    rows = s.data[s.data["study_id"] == study_id]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def _log(s: AnalysisSet, study_id=None, action=None):
    return [e for e in s.log if (study_id is None or e["study_id"] == study_id)
            and (action is None or e["action"] == action)]


# ---------------------------------------------------------------------------------------------
# GERAC (haake2007): 3 arms, responders
# ---------------------------------------------------------------------------------------------
def test_gerac_responders_rr_vs_sham(tables, raw):
    s = select(tables, condition="chronic_nonspecific_lbp", comparator="sham", outcome="response",
               window="short")
    assert s.measure == "RR"
    assert "RR > 1 favours acupuncture" in s.orientation
    r = _row(s, "haake2007")
    acu = _find(raw["outcomes"], study_id="haake2007", outcome="response",
                arm_id="haake2007:verum_acupuncture", timepoint_weeks="6")
    sham = _find(raw["outcomes"], study_id="haake2007", outcome="response",
                 arm_id="haake2007:sham_acupuncture", timepoint_weeks="6")
    a, n1, c, n2 = (_f(acu["events"]), _f(acu["total"]), _f(sham["events"]), _f(sham["total"]))
    assert r["timepoint_weeks"] == 6  # 6 wk is closer to the short window's centre than 3 mo
    assert (r["events_1"], r["total_1"], r["events_2"], r["total_2"]) == (a, n1, c, n2)
    assert r["yi"] == pytest.approx(math.log((a / n1) / (c / n2)), **TIGHT)
    assert r["vi"] == pytest.approx(1 / a - 1 / n1 + 1 / c - 1 / n2, **TIGHT)
    # GERAC responder counts were derived by the curation (round(% x n)): marked so
    assert bool(r["derived"]) and "derived" in r["derivation"]


def test_gerac_vs_conventional_at_6_months(tables, raw):
    s = select(tables, condition="chronic_nonspecific_lbp", comparator="conventional",
               outcome="response", window="intermediate")
    r = _row(s, "haake2007")
    acu = _find(raw["outcomes"], study_id="haake2007", outcome="response",
                arm_id="haake2007:verum_acupuncture", timepoint_weeks="26")
    conv = _find(raw["outcomes"], study_id="haake2007", outcome="response",
                 arm_id="haake2007:conventional_therapy", timepoint_weeks="26")
    rr = (_f(acu["events"]) / _f(acu["total"])) / (_f(conv["events"]) / _f(conv["total"]))
    assert rr > 1 and r["yi"] == pytest.approx(math.log(rr), **TIGHT)
    assert r["arm_2"] == "haake2007:conventional_therapy"


def test_gerac_shared_acupuncture_arm_is_split(tables, raw):
    """Sham and conventional care grouped: the one verum arm is shared by two comparisons."""
    s = select(tables, condition="chronic_nonspecific_lbp", comparator=("sham", "conventional"),
               outcome="response", window="intermediate")
    g = s.data[s.data["study_id"] == "haake2007"]
    assert len(g) == 2 and set(g["arm_1"]) == {"haake2007:verum_acupuncture"}
    acu = _find(raw["outcomes"], study_id="haake2007", outcome="response",
                arm_id="haake2007:verum_acupuncture", timepoint_weeks="26")
    assert g["total_1"].sum() == pytest.approx(_f(acu["total"]))
    assert g["events_1"].sum() == pytest.approx(_f(acu["events"]))
    assert len(_log(s, "haake2007", "split")) == 2
    combined = select(tables, condition="chronic_nonspecific_lbp",
                      comparator=("sham", "conventional"), outcome="response",
                      window="intermediate", multi_arm="combine")
    r = _row(combined, "haake2007")
    arms = ("haake2007:sham_acupuncture", "haake2007:conventional_therapy")
    ctl = [_find(raw["outcomes"], study_id="haake2007", outcome="response", arm_id=a,
                 timepoint_weeks="26") for a in arms]
    assert r["events_2"] == sum(_f(x["events"]) for x in ctl)
    assert r["total_2"] == sum(_f(x["total"]) for x in ctl)


def test_gerac_pain_timepoint_rules(tables):
    kw = dict(condition="chronic_nonspecific_lbp", comparator="sham", outcome="pain",
              measure="MD")
    assert _row(select(tables, **kw, window="short"), "haake2007")["timepoint_weeks"] == 6
    assert _row(select(tables, **kw, window="short", timepoint="latest"),
                "haake2007")["timepoint_weeks"] == 13
    assert _row(select(tables, **kw, window="short", timepoint="earliest"),
                "haake2007")["timepoint_weeks"] == 6
    assert _row(select(tables, **kw, window="intermediate"), "haake2007")["timepoint_weeks"] == 26
    # GERAC: 10 sessions, treatment_weeks 5; the 6-week assessment is 1 week after the end
    assert _row(select(tables, **kw, window="immediate"), "haake2007")["timepoint_weeks"] == 6
    s = select(tables, **kw, window="short")
    chose = _log(s, "haake2007", "chose_timepoint")
    assert chose and "week 6" in chose[0]["reason"] and "13" in chose[0]["reason"]


# ---------------------------------------------------------------------------------------------
# Cherkin 2009: two acupuncture arms sharing usual care
# ---------------------------------------------------------------------------------------------
CHERKIN = dict(condition="chronic_nonspecific_lbp", comparator="usual_care", outcome="function",
               window="short", measure="SMD")


def test_cherkin_split_never_double_counts(tables, raw):
    s = select(tables, **CHERKIN, multi_arm="split")
    g = s.data[s.data["study_id"] == "cherkin2009"]
    assert len(g) == 2
    assert set(g["arm_1"]) == {"cherkin2009:individualized_acupuncture",
                               "cherkin2009:standardized_acupuncture"}
    assert set(g["arm_2"]) == {"cherkin2009:usual_care"}
    real_n = _f(raw["arms"]["cherkin2009:usual_care"]["n_randomized"])
    assert g["n_2"].sum() <= real_n + 1e-9
    assert g["n_2"].sum() == pytest.approx(real_n)
    assert len(_log(s, "cherkin2009", "split")) == 2
    # independent recomputation of the individualized-arm comparison: SE from p < .001 (an
    # upper bound), SD implied by that SE, then Hedges' g with the usual-care n halved
    c = _find(raw["contrasts"], study_id="cherkin2009",
              arm1_id="cherkin2009:individualized_acupuncture", arm2_id="cherkin2009:usual_care")
    est, p, n1, n2 = _f(c["estimate"]), _f(c["p_value"]), _f(c["n1"]), _f(c["n2"])
    se = abs(est) / stats.norm.isf(p / 2)
    sd = se / math.sqrt(1 / n1 + 1 / n2)
    g_exp, v_exp = _hedges(est, sd, n1, 0.0, sd, n2 / 2)
    r = g[g["arm_1"] == "cherkin2009:individualized_acupuncture"].iloc[0]
    assert r["value_type"] == "contrast" and bool(r["derived"])
    assert r["yi"] == pytest.approx(g_exp, rel=1e-10)
    assert r["vi"] == pytest.approx(v_exp, rel=1e-10)


def test_cherkin_combine_merges_the_acupuncture_arms(tables, raw):
    s = select(tables, **CHERKIN, multi_arm="combine")
    r = _row(s, "cherkin2009")
    n_ind = _f(raw["arms"]["cherkin2009:individualized_acupuncture"]["n_randomized"])
    n_std = _f(raw["arms"]["cherkin2009:standardized_acupuncture"]["n_randomized"])
    n_uc = _f(raw["arms"]["cherkin2009:usual_care"]["n_randomized"])
    assert (r["n_1"], r["n_2"]) == (n_ind + n_std, n_uc)
    assert r["arm_1"] == ("cherkin2009:individualized_acupuncture + "
                          "cherkin2009:standardized_acupuncture")
    c1 = _find(raw["contrasts"], study_id="cherkin2009",
               arm1_id="cherkin2009:individualized_acupuncture", arm2_id="cherkin2009:usual_care")
    c2 = _find(raw["contrasts"], study_id="cherkin2009",
               arm1_id="cherkin2009:standardized_acupuncture", arm2_id="cherkin2009:usual_care")
    pooled_md = (n_ind * _f(c1["estimate"]) + n_std * _f(c2["estimate"])) / (n_ind + n_std)
    assert r["estimate"] == pytest.approx(pooled_md, **TIGHT)
    assert _log(s, "cherkin2009", "combined")
    assert not _log(s, "cherkin2009", "split")


# ---------------------------------------------------------------------------------------------
# Sangdee 2002 (leg folder, knee OA, 4 arms): SEM -> SD
# ---------------------------------------------------------------------------------------------
def test_sangdee_sem_to_sd(tables, raw):
    s = select(tables, condition="knee_oa", comparator="sham", outcome="pain", window="immediate",
               measure="MD")
    r = _row(s, "sangdee2002")
    assert r["arm_1"] == "sangdee2002:electroacupuncture" and r["arm_2"] == "sangdee2002:placebo"
    ea = _find(raw["outcomes"], arm_id="sangdee2002:electroacupuncture",
               scale="VAS pain (mm?), change week 0 to week 4")
    pl = _find(raw["outcomes"], arm_id="sangdee2002:placebo",
               scale="VAS pain (mm?), change week 0 to week 4")
    assert ea["sd"] == "" and ea["se"] != ""  # the table gives SEMs only
    sd1 = _f(ea["se"]) * math.sqrt(_f(ea["n"]))
    sd2 = _f(pl["se"]) * math.sqrt(_f(pl["n"]))
    assert r["sd_1"] == pytest.approx(sd1, **TIGHT) and r["sd_2"] == pytest.approx(sd2, **TIGHT)
    assert bool(r["derived"]) and "sd_from_se" in r["derivation"]
    assert r["yi"] == pytest.approx(_f(ea["mean"]) - _f(pl["mean"]), **TIGHT)
    assert r["vi"] == pytest.approx(_f(ea["se"]) ** 2 + _f(pl["se"]) ** 2, rel=1e-12)
    assert r["yi"] < 0  # larger pain reduction with electroacupuncture
    assert any("sd_from_se" in e["reason"] for e in _log(s, "sangdee2002", "derived"))


def test_sangdee_other_arms_by_comparator(tables):
    s = select(tables, condition="knee_oa", comparator="nsaid", outcome="pain",
               window="immediate")
    r = _row(s, "sangdee2002")
    assert (r["arm_1"], r["arm_2"]) == ("sangdee2002:electroacupuncture", "sangdee2002:diclofenac")
    # the combined EA + diclofenac arm (type 'other') is no comparator of either set
    assert not s.data["arm_2"].str.contains("combined").any()


def test_include_derived_false_drops_derived_numbers(tables):
    with pytest.raises(InputError):
        select(tables, condition="knee_oa", comparator="nsaid", outcome="pain",
               window="immediate", include_derived=False)
    s = select(tables, condition="chronic_nonspecific_lbp", comparator="sham", outcome="pain",
               window="short", measure="MD", include_derived=False)
    assert not s.data["derived"].any()
    assert "haake2007" in set(s.data["study_id"])


# ---------------------------------------------------------------------------------------------
# windows
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("weeks, window, expected", [
    (0.5, "short", True), (13.0, "short", True), (13.01, "short", False),
    (13.01, "intermediate", True), (52.0, "intermediate", True), (52.5, "intermediate", False),
    (52.5, "long", True), (0.0, "short", False), (6.0, "immediate", True),
    (4.0, "immediate", True), (3.9, "immediate", False), (6.1, "immediate", False),
])
def test_window_boundaries(weeks, window, expected):
    # treatment of 5 weeks: immediate = weeks 4 to 6
    tp = win.Timepoint(weeks, False)
    assert win.in_window(tp, window, 5.0)[0] is expected


@pytest.mark.parametrize("label, treatment, weeks", [
    ("6 months", None, 26.0), ("3 mo", None, 13.0), ("12 months", None, 52.0),
    ("week 8", None, 8.0), ("24 months", None, 104.0), ("48 h", None, 48 / 168),
    ("5.5 to 7 years after trial entry", None, (5.5 * 52 + 7 * 52) / 2),
    ("end of treatment", 8.0, 8.0), ("1 month after treatment", 8.0, 8 + 52 / 12),
])
def test_labels_place_rows_without_weeks(label, treatment, weeks):
    tp, why = win.resolve_timepoint(None, label, treatment)
    assert tp is not None, why
    assert tp.weeks == pytest.approx(weeks)


@pytest.mark.parametrize("label", ["whole trial", "end of follow-up (acupuncture: 24 h; see notes)",
                                   "", "at some point"])
def test_unclear_labels_are_refused(label):
    tp, why = win.resolve_timepoint(None, label, None)
    assert tp is None and why


def test_closest_to_centre_rule():
    assert win.choose_timepoint([2, 6, 13], "short", "centre", None)[0] == 6
    assert win.choose_timepoint([4, 9], "short", "centre", None)[0] == 9  # tie: 2.5 each, later
    assert win.choose_timepoint([26, 52], "intermediate", "centre", None)[0] == 26
    assert win.choose_timepoint([104, 300], "long", "centre", None)[0] == 104
    assert win.choose_timepoint([2, 6, 13], "short", "latest", None)[0] == 13
    assert win.choose_timepoint([2, 6, 13], "short", "earliest", None)[0] == 2
    assert win.choose_timepoint([7, 9], "immediate", "centre", 8.5)[0] == 9


def test_label_only_rows_enter_by_their_label(tables):
    """Carlsson 2001 gives '1 month after treatment' (8 weeks of treatment) and '6-month'."""
    s = select(tables, condition="chronic_nonspecific_lbp", comparator="sham",
               outcome="response", window="short")
    assert _row(s, "carlsson2001")["timepoint_weeks"] == pytest.approx(8 + 52 / 12)
    included = _log(s, "carlsson2001", "included")
    assert included and "1 month after treatment" in included[0]["reason"]
    s = select(tables, condition="chronic_nonspecific_lbp", comparator="sham",
               outcome="response", window="intermediate")
    assert _row(s, "carlsson2001")["timepoint_weeks"] == pytest.approx(26)


# ---------------------------------------------------------------------------------------------
# scales and direction
# ---------------------------------------------------------------------------------------------
def test_nrs_0_10_goes_to_0_100_and_improvement_scores_flip(tables, raw):
    """Shin 2013: NRS 0-10 reduction scores (higher_better) vs NSAID injection."""
    s = select(tables, condition="acute_nonspecific_lbp", comparator="nsaid", outcome="pain",
               window="short")
    assert s.measure == "MD" and s.scale == "pain 0-100"
    r = _row(s, "shin2013")
    acu = _find(raw["outcomes"], arm_id="shin2013:motion_style_acupuncture_treatment",
                outcome="pain", timepoint_weeks="2")
    nsaid = _find(raw["outcomes"], arm_id="shin2013:nsaid_injection", outcome="pain",
                  timepoint_weeks="2")
    assert acu["direction"] == "higher_better" and _f(acu["mean"]) > _f(nsaid["mean"])
    assert r["mean_1"] == pytest.approx(-10 * _f(acu["mean"]), **TIGHT)
    assert r["sd_1"] == pytest.approx(10 * _f(acu["sd"]), **TIGHT)
    md = -10 * (_f(acu["mean"]) - _f(nsaid["mean"]))
    var = 100 * (_f(acu["sd"]) ** 2 / _f(acu["n"]) + _f(nsaid["sd"]) ** 2 / _f(nsaid["n"]))
    assert r["yi"] == pytest.approx(md, **TIGHT) and r["yi"] < 0
    assert r["vi"] == pytest.approx(var, **TIGHT)
    reasons = " ".join(e["reason"] for e in _log(s, "shin2013", "harmonised"))
    assert "x 10" in reasons and "sign flipped" in reasons


def test_contrast_on_0_10_is_rescaled(tables, raw):
    s = select(tables, condition="knee_oa", comparator="sham", outcome="pain", window="short",
               measure="MD")
    r = _row(s, "hinman2014")
    c = _find(raw["contrasts"], study_id="hinman2014", arm1_id="hinman2014:needle_acupuncture",
              arm2_id="hinman2014:sham_laser_acupuncture", outcome="pain")
    assert r["yi"] == pytest.approx(10 * _f(c["estimate"]), **TIGHT)
    se = 10 * (_f(c["ci_ub"]) - _f(c["ci_lb"])) / (2 * Z975)
    assert r["vi"] == pytest.approx(se ** 2, rel=1e-12)


def test_higher_better_function_score_ends_negative(tables, raw):
    """Witt 2006: HFAQ (higher = better), acupuncture improves more than routine care."""
    s = select(tables, condition="chronic_nonspecific_lbp", comparator="usual_care",
               outcome="function", window="short", measure="MD")
    r = _row(s, "witt2006")
    acu = _find(raw["outcomes"], arm_id="witt2006:acupuncture_group", value_type=r["value_type"]
                if r["value_type"] == "final" else "change_from_baseline")
    ctl = _find(raw["outcomes"], arm_id="witt2006:control_group", value_type=acu["value_type"])
    assert acu["direction"] == "higher_better" and _f(acu["mean"]) > _f(ctl["mean"])
    assert r["yi"] == pytest.approx(-(_f(acu["mean"]) - _f(ctl["mean"])), **TIGHT)
    assert r["yi"] < 0
    # SEs of the means -> SDs (sd = se * sqrt(n)) -> vi = se1^2 + se2^2
    assert r["vi"] == pytest.approx(_f(acu["se"]) ** 2 + _f(ctl["se"]) ** 2, rel=1e-12)


def test_smd_when_instruments_differ(tables):
    s = select(tables, condition="chronic_nonspecific_lbp", comparator="usual_care",
               outcome="function", window="short")
    assert s.measure == "SMD"
    assert any("SMD" in e["reason"] for e in _log(s, None, "harmonised"))
    assert (s.data["yi"] < 0).all()  # every trial favours acupuncture on function here


# ---------------------------------------------------------------------------------------------
# change vs final
# ---------------------------------------------------------------------------------------------
def test_smd_never_mixes_change_and_final(tables):
    s = select(tables, condition="chronic_nonspecific_lbp", comparator="sham", outcome="pain",
               window="short")
    assert s.measure == "SMD"
    types = set(s.data["value_type"]) - {"contrast"}
    assert len(types) == 1 and s.value_type in types
    other = "final" if s.value_type == "change" else "change"
    assert any(f"only {other} values" in e["reason"] for e in _log(s, action="excluded"))
    assert any("not mixed" in e["reason"] for e in _log(s, None, "harmonised"))


def test_md_mixes_change_and_final_only_when_allowed(tables):
    kw = dict(condition="chronic_nonspecific_lbp", comparator="sham", outcome="pain",
              window="short", measure="MD")
    mixed = select(tables, **kw)
    assert {"change", "final"} <= set(mixed.data["value_type"])
    assert any("10.5.2" in e["reason"] for e in _log(mixed, None, "harmonised"))
    apart = select(tables, **kw, mix_change_final=False)
    assert len(set(apart.data["value_type"]) - {"contrast"}) == 1
    assert apart.k < mixed.k


# ---------------------------------------------------------------------------------------------
# contrast-only studies, traceability, exclusions
# ---------------------------------------------------------------------------------------------
def test_thomas_enters_through_its_contrast(tables, raw):
    s = select(tables, condition="lbp_unspecified", comparator="usual_care", outcome="pain",
               window="intermediate")
    r = _row(s, "thomas2006")
    c = _find(raw["contrasts"], study_id="thomas2006", timepoint_weeks="52")
    assert c["direction"] == "higher_better"  # SF-36 bodily pain: higher = less pain
    assert r["value_type"] == "contrast"
    assert r["yi"] == pytest.approx(-_f(c["estimate"]), **TIGHT)
    se = (_f(c["ci_ub"]) - _f(c["ci_lb"])) / (2 * Z975)
    assert r["vi"] == pytest.approx(se ** 2, rel=1e-12)
    assert r["source_id"] == c["source_id"] and r["locator"] == c["locator"]
    assert r["url"] == raw["sources"][c["source_id"]]["url"]
    long = select(tables, condition="lbp_unspecified", comparator="usual_care", outcome="pain",
                  window="long")
    assert _row(long, "thomas2006")["timepoint_weeks"] == 104  # 24 months, not 5.5-7 years


def test_every_row_traces_to_its_source(tables):
    urls = {s["source_id"]: s["url"] for s in tables["sources"]}
    for kw in (dict(condition="chronic_nonspecific_lbp", comparator="sham", outcome="pain"),
               dict(condition="knee_oa", comparator="sham", outcome="response"),
               dict(condition="chronic_nonspecific_lbp", comparator="usual_care",
                    outcome="function")):
        s = select(tables, **kw)
        for r in s.data.itertuples():
            assert r.source_id and r.locator and r.url and r.row_ids
            assert all(urls[sid] in r.url for sid in r.source_id.split("; "))
        assert set(s.data.columns) == set(DATA_COLUMNS)
        assert {e["action"] for e in s.log} <= set(LOG_ACTIONS)


def test_retracted_rows_never_enter(tables):
    kw = dict(condition="chronic_nonspecific_lbp", comparator="sham", outcome="response",
              window="short")
    assert "haake2007" in set(select(tables, **kw).data["study_id"])
    edited = dict(tables)
    edited["outcomes"] = [dict(r, status="retracted") if r["study_id"] == "haake2007" else r
                          for r in tables["outcomes"]]
    s = select(edited, **kw)
    assert "haake2007" not in set(s.data["study_id"])
    assert any("retracted" in e["reason"] for e in _log(s, "haake2007", "excluded"))
    assert s.evidence_version != select(tables, **kw).evidence_version


def test_low_confidence_and_probable_se_rows_are_excluded(tables):
    s = select(tables, condition="acute_nonspecific_lbp", comparator="nsaid", outcome="pain",
               window="short")
    assert "delavar2021" not in set(s.data["study_id"])
    reasons = [e["reason"] for e in _log(s, "delavar2021", "excluded")]
    assert any("confidence = low" in r for r in reasons)


def test_empty_selection_names_the_nearest(tables):
    with pytest.raises(InputError) as exc:
        select(tables, condition="chronic_nonspecific_lbp", comparator="sham", outcome="pain",
               window="long")
    msg = str(exc.value)
    assert "no trials compare acupuncture with sham for pain" in msg
    assert "window='short'" in msg and "studies" in msg
    with pytest.raises(InputError) as exc:  # Cherkin 2001: massage, pain only at 1 year
        select(tables, condition="chronic_nonspecific_lbp", comparator="massage", outcome="pain",
               window="short")
    msg = str(exc.value)
    assert "no trials compare acupuncture with massage for pain" in msg
    assert "window='intermediate' (1 study)" in msg and "comparator='sham'" in msg


@pytest.mark.parametrize("kw", [
    dict(condition="knee", comparator="sham"),
    dict(condition="knee_oa", comparator="placebo"),
    dict(condition="knee_oa", comparator="sham:wooden"),
    dict(condition="knee_oa", comparator="sham", window="medium"),
    dict(condition="knee_oa", comparator="sham", measure="HR"),
    dict(condition="knee_oa", comparator="sham", multi_arm="drop"),
    dict(condition="knee_oa", comparator="sham", timepoint="middle"),
    dict(condition="knee_oa", comparator="acupuncture"),
])
def test_bad_arguments(tables, kw):
    with pytest.raises(InputError):
        select(tables, **kw)


def test_sham_type_refinement(tables):
    kw = dict(condition="knee_oa", outcome="pain", window="immediate")
    all_sham = set(select(tables, comparator="sham", **kw).data["study_id"])
    non_needle = set(select(tables, comparator="sham:non_needle", **kw).data["study_id"])
    assert non_needle and non_needle < all_sham
    arms = {a["arm_id"]: a for a in read_csv_dir(bundled_csv_dir())["arms"]}
    s = select(tables, comparator="sham:non_needle", **kw)
    assert {arms[a]["sham_type"] for a in s.data["arm_2"]} == {"non_needle"}


# ---------------------------------------------------------------------------------------------
# determinism, pooling, export
# ---------------------------------------------------------------------------------------------
def test_same_call_same_set(tables):
    kw = dict(condition="chronic_nonspecific_lbp", comparator="usual_care", outcome="function")
    a, b = select(tables, **kw), select(read_csv_dir(bundled_csv_dir()), **kw)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.log == b.log and a.to_dict() == b.to_dict()


def test_registry_source_gives_the_same_set(tables, tmp_path):
    reg = Registry.build(tmp_path / "ev.sqlite")
    try:
        kw = dict(condition="knee_oa", comparator="sham", outcome="response")
        a, b = select(reg, **kw), select(tables, **kw)
        pd.testing.assert_frame_equal(a.data, b.data)
        assert a.evidence_version == b.evidence_version == reg.version
    finally:
        reg.close()


def test_pool_carries_the_evidence_version(tables):
    s = select(tables, condition="chronic_nonspecific_lbp", comparator="usual_care",
               outcome="function", window="short")
    res = s.pool(method="REML")
    assert res.evidence_version == s.evidence_version == evidence_version(tables)
    assert res.measure == s.measure and res.k == s.k
    assert list(res.labels) == list(s.data["label"])
    np.testing.assert_array_equal(res.yi, s.data["yi"].to_numpy())


def test_pool_refuses_several_timepoints_of_one_comparison(tables):
    s = select(tables, condition="chronic_nonspecific_lbp", comparator="sham",
               outcome="response", window=None)
    assert s.data.duplicated("study_id").any()
    with pytest.raises(InputError, match="window"):
        s.pool()


def test_metafor_csv_round_trip(tables, tmp_path):
    for kw in (dict(condition="knee_oa", comparator="sham", outcome="response"),
               dict(condition="knee_oa", comparator="sham", outcome="pain", window="immediate",
                    measure="MD")):
        s = select(tables, **kw)
        path = s.to_metafor_csv(tmp_path / "set.csv")
        back = pd.read_csv(path)
        assert list(back.columns[:3]) == ["study", "yi", "vi"]
        np.testing.assert_array_equal(back["yi"].to_numpy(), s.data["yi"].to_numpy())
        np.testing.assert_array_equal(back["vi"].to_numpy(), s.data["vi"].to_numpy())
        assert list(back["study"]) == list(s.data["label"])
        raw_cols = ({"ai", "bi", "ci", "di"} if s.measure == "RR"
                    else {"m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"})
        assert raw_cols <= set(back.columns)


def test_to_dict_is_json_and_summary_renders(tables):
    s = select(tables, condition="knee_oa", comparator="sham", outcome="pain")
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert d["evidence_version"] == s.evidence_version and d["k"] == s.k
    assert d["criteria"]["comparator"] == "sham"
    text = s.summary()
    assert "Analysis set" in text and s.measure in text
    assert "<table>" in s.summary("html")


def test_tu2021_two_acupuncture_arms_share_the_sham_events(tables, raw):
    kw = dict(condition="knee_oa", comparator="sham", outcome="response", window="short")
    split = select(tables, **kw)
    g = split.data[split.data["study_id"] == "tu2021_koa"]
    sham = _find(raw["outcomes"], arm_id="tu2021_koa:sham_acupuncture", outcome="response")
    assert len(g) == 2
    assert g["total_2"].sum() == pytest.approx(_f(sham["total"]))
    assert g["events_2"].sum() == pytest.approx(_f(sham["events"]))
    ea = _find(raw["outcomes"], arm_id="tu2021_koa:electroacupuncture", outcome="response")
    r = g[g["arm_1"] == "tu2021_koa:electroacupuncture"].iloc[0]
    a, n1 = _f(ea["events"]), _f(ea["total"])
    c, n2 = _f(sham["events"]) / 2, _f(sham["total"]) / 2
    assert r["yi"] == pytest.approx(math.log((a / n1) / (c / n2)), **TIGHT)
    assert r["vi"] == pytest.approx(1 / a - 1 / n1 + 1 / c - 1 / n2, **TIGHT)
    comb = select(tables, **kw, multi_arm="combine")
    r = _row(comb, "tu2021_koa")
    ma = _find(raw["outcomes"], arm_id="tu2021_koa:manual_acupuncture", outcome="response")
    assert r["events_1"] == _f(ea["events"]) + _f(ma["events"])
    assert r["total_1"] == _f(ea["total"]) + _f(ma["total"])
    assert (r["events_2"], r["total_2"]) == (_f(sham["events"]), _f(sham["total"]))
    # the other trial is untouched by either rule
    pd.testing.assert_series_equal(
        split.data.set_index("study_id").loc["beijing_pilot_ea_koa", ["yi", "vi"]],
        comb.data.set_index("study_id").loc["beijing_pilot_ea_koa", ["yi", "vi"]])


def test_window_none_keeps_every_time_point(tables):
    s = select(tables, condition="chronic_nonspecific_lbp", comparator="sham",
               outcome="response", window=None)
    haake = s.data[s.data["study_id"] == "haake2007"]
    assert sorted(haake["timepoint_weeks"]) == [6, 13, 26]
    assert list(haake["window"]) == ["short", "short", "intermediate"]
    assert s.data["label"].is_unique


def test_combined_arms_follow_the_handbook_formula():
    from acuevidence.evidence._harmonise import combine_means

    n, m, sd = combine_means([20, 30], [5.0, 8.0], [2.0, 3.0])
    # Cochrane Handbook Table 6.5.a, written out
    var = ((20 - 1) * 4 + (30 - 1) * 9 + 20 * 30 / 50 * (25 + 64 - 2 * 40)) / (50 - 1)
    assert (n, m) == (50, (20 * 5 + 30 * 8) / 50) and sd == pytest.approx(math.sqrt(var))
    # merging one group with itself twice gives the same as all three at once
    n3, m3, sd3 = combine_means([20, 30, 10], [5.0, 8.0, 1.0], [2.0, 3.0, 1.5])
    n2, m2, sd2 = combine_means([n, 10], [m, 1.0], [sd, 1.5])
    assert (n3, m3) == (n2, m2) and sd3 == pytest.approx(sd2)
