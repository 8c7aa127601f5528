"""The patient decision aid: one situation in, the numbers a person needs out.

The visitor gives the painful condition, how long the pain has lasted and what they would compare
acupuncture with. :func:`decision_aid` answers, from the registry's analyses:

* the expected change in pain on 0-100 (the pooled mean difference, or the SMD re-expressed with a
  typical SD of 22 points, as :func:`acuevidence.report.analysis.analyze` gives it);
* the chance of a meaningful improvement with and without acupuncture, per 100 people:

  - from **responder data** where the trials report them: the control group's risk (events /
    total of the comparator arms) times the pooled risk ratio (``analyze(outcome="response")``);
  - otherwise **derived from the continuous outcome** (Furukawa et al. 2005; Anzures-Cabrera et
    al. 2011): individual changes in pain are taken as normal with the pooled SD. In SD units,
    the comparator group changes by ``z_c`` on average (from the control arms' change from
    baseline, or final minus baseline values, in the registry) and acupuncture by
    ``z_c + delta`` (delta = MD / SD, or the SMD). A meaningful improvement is a fall of at
    least the MID (10 points on 0-100), ``tau = 10 / SD``; so
    ``P(without) = Phi(-tau - z_c)`` and ``P(with) = Phi(-tau - z_c - delta)``, with the CI of
    ``P(with)`` from the CI of delta. This is an approximation for one patient; the page says so.

  The Bayesian probability that the *average* effect exceeds the MID
  (:meth:`acuevidence.bayes.BayesResult.prob_benefit`, predictive for a new setting) is shown
  beside it, labelled as what it is: a statement about the average effect, not the chance that
  one patient improves.
* how sure the evidence is (GRADE level and the reasons, in plain words);
* the number of sessions in the trials (``studies.n_sessions`` of the included trials);
* harms reported (adverse-event rows of the condition's trials);
* what it means, as sentences generated from these numbers.

References
----------
Furukawa TA, Cipriani A, Barbui C, Brambilla P, Watanabe N (2005). Imputing response rates from
    means and standard deviations in meta-analyses. Int Clin Psychopharmacol 20:49-52.
Anzures-Cabrera J, Sarpatwari A, Higgins JPT (2011). Expressing findings from meta-analyses of
    continuous outcomes in terms of risks. Stat Med 30:2967-2985.
Schünemann HJ et al. (2023). Cochrane Handbook chapter 15.5 (re-expressing SMDs; assumed
    comparator risks).
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from scipy import stats

from ..errors import InputError
from ..evidence.vocabulary import WINDOWS, term_label
from ..report.analysis import WINDOW_PHRASES, Finding, analyze, comparator_label
from ..report.certainty import DEFAULT_MID, TYPICAL_SD_0_100
from ..results import json_safe
from .service import AnalysisParams, parse_comparator

__all__ = ["CERTAINTY_MEANING", "DURATIONS", "PAIN_SITES", "decision_aid", "report_lookup",
           "resolve_condition"]

MID_POINTS = 10.0  # the smallest change in pain on 0-100 that people notice (Furlan 2015)
# The situation the visitor describes -> the registry's condition terms (by duration for low back
# pain; the other conditions' trials do not split by duration).
PAIN_SITES: dict[str, tuple[str, str | dict[str, str]]] = {
    "low_back": ("Low back pain", {"acute": "acute_nonspecific_lbp",
                                   "subacute": "subacute_nonspecific_lbp",
                                   "chronic": "chronic_nonspecific_lbp",
                                   "unsure": "lbp_unspecified"}),
    "sciatica": ("Sciatica (pain spreading down the leg)", "sciatica"),
    "disc_herniation": ("Lumbar disc herniation (slipped disc)", "lumbar_disc_herniation"),
    "stenosis": ("Lumbar spinal stenosis", "spinal_stenosis"),
    "hip_oa": ("Hip osteoarthritis", "hip_oa"),
    "knee_oa": ("Knee osteoarthritis", "knee_oa"),
    "knee_or_hip_oa": ("Knee or hip osteoarthritis", "knee_or_hip_oa"),
    "plantar_fasciitis": ("Plantar fasciitis (heel pain)", "plantar_fasciitis"),
}
DURATIONS = {"acute": "Less than 6 weeks", "subacute": "6 to 12 weeks",
             "chronic": "More than 12 weeks", "unsure": "Not sure"}
# GRADE's meaning of each level, in the words of the GRADE working group.
CERTAINTY_MEANING = {
    "high": "We are very confident that the true effect is close to this estimate.",
    "moderate": "The true effect is probably close to this estimate, but it may be "
                "substantially different.",
    "low": "The true effect may be substantially different from this estimate.",
    "very_low": "The true effect is likely to be substantially different from this estimate.",
}


def resolve_condition(site: str, duration: str) -> tuple[str, str | None]:
    """The registry condition for a pain site and duration, and a note when they do not fit."""
    if site not in PAIN_SITES:
        raise InputError(f"site: must be one of {', '.join(PAIN_SITES)}; got {site[:40]!r}.",
                         column="site")
    if duration not in DURATIONS:
        raise InputError(f"duration: must be one of {', '.join(DURATIONS)}; got "
                         f"{duration[:40]!r}.", column="duration")
    label, target = PAIN_SITES[site]
    if isinstance(target, dict):
        return target[duration], None
    note = None
    if duration in ("acute", "subacute") and site.endswith("_oa"):
        note = (f"Trials of {label.lower()} enrolled people whose pain had lasted for months; "
                "the results may apply less to pain that started recently.")
    return target, note


def report_lookup(report: Any) -> Callable[..., Finding | None]:
    """Findings of a built :class:`~acuevidence.report.builder.Report`, by question.

    The report answers every (condition, comparator group, outcome, window) of its grid with the
    same defaults (REML, z-test), so the decision aid can reuse those findings instead of
    recomputing them; anything outside the grid returns None and is computed.
    """
    index = {(f.condition, tuple(f.comparator), f.outcome, f.window): f
             for f in report.findings()}

    def lookup(condition: str, comparator: tuple[str, ...], outcome: str,
               window: str) -> Finding | None:
        return index.get((condition, tuple(comparator), outcome, window))

    return lookup


def decision_aid(tables: dict[str, list[dict[str, Any]]], version: str, *, site: str,
                 duration: str, comparator: str, window: str | None = None,
                 lookup: Callable[..., Finding | None] | None = None) -> dict[str, Any]:
    """Everything the decision-aid page shows for one situation (JSON-safe).

    ``lookup`` (see :func:`report_lookup`) supplies findings already computed for the same
    evidence version; the answer is the same either way.
    """
    condition, fit_note = resolve_condition(site, duration)
    comp = parse_comparator(comparator)
    if window not in (None, "", "auto") and window not in WINDOWS:
        raise InputError(f"window: must be auto or one of {', '.join(WINDOWS)}.",
                         column="window")
    arg = comp[0] if len(comp) == 1 else comp

    def find(outcome: str, w: str, measure: str | None = None) -> Finding:
        f = lookup(condition, comp, outcome, w) if lookup and measure is None else None
        if f is not None:
            return f
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return analyze(tables, condition=condition, comparator=arg, outcome=outcome,
                           window=w, measure=measure)
    situation = {"site": site, "site_label": PAIN_SITES[site][0], "duration": duration,
                 "duration_label": DURATIONS[duration], "condition": condition,
                 "condition_label": term_label("CONDITIONS", condition),
                 "comparator": "+".join(comp), "comparator_label": comparator_label(comp),
                 "window": window or "auto"}
    pain = {w: find("pain", w) for w in WINDOWS}
    chosen = [w for w in WINDOWS if pain[w].available]
    if window in WINDOWS:
        head_w = window if pain[window].available else None
    else:
        head_w = chosen[0] if chosen else None
    out: dict[str, Any] = {"evidence_version": version, "situation": situation,
                           "fit_note": fit_note, "available": head_w is not None,
                           "over_time": [_over_time(pain[w]) for w in chosen]}
    if head_w is None:
        probe = pain[window] if window in WINDOWS else pain["short"]
        params = AnalysisParams(condition=condition, comparator=comp, window=probe.window)
        from .service import nearest_selections

        out.update(empty_message=probe.empty_message,
                   nearest=[n for n in nearest_selections(params, probe.empty_message)],
                   other_windows=chosen,
                   related=_related(site, duration))
        return json_safe(out)
    f = pain[head_w]
    effect = _effect_0_100(f, find)
    chance = _chance(tables, f, condition, comp, effect, find)
    sessions = _sessions(tables, sorted(set(f.aset.data["study_id"])))
    harms = _harms(tables, condition, comp)
    cert = f.certainty
    out.update(
        window=head_w, window_label=WINDOW_PHRASES[head_w],
        analysis_query=AnalysisParams(condition=condition, comparator=comp,
                                      window=head_w).query(),
        statement=f.statement, effect=effect, chance=chance,
        bayes=_bayes(f, effect),
        certainty={"level": cert.level, "label": cert.label, "reasons": cert.reasons,
                   "meaning": CERTAINTY_MEANING[cert.level]},
        trials=f.result.k, participants=f.n_participants,
        sessions=sessions, harms=harms,
    )
    out["meaning"] = _meaning(out, f)
    return json_safe(out)


def _over_time(f: Finding) -> dict[str, Any]:
    return {"window": f.window, "window_label": WINDOW_PHRASES[f.window], "k": f.result.k,
            "measure": f.aset.measure, "text": f.absolute.get("text"),
            "certainty": f.certainty.label, "certainty_level": f.certainty.level,
            "statement": f.statement}


def _related(site: str, duration: str) -> list[dict[str, str]]:
    """Other durations of the same site (low back pain), for an empty selection."""
    target = PAIN_SITES[site][1]
    if not isinstance(target, dict):
        return []
    return [{"duration": d, "label": DURATIONS[d]} for d in DURATIONS if d != duration]


# ------------------------------------------------------------------------------------------------
def _effect_0_100(f: Finding, find: Callable[..., Finding]) -> dict[str, Any]:
    """Expected change in pain on 0-100; an MD on another scale is re-expressed through the SMD."""
    ab = f.absolute
    if "points" in ab:
        how = ("mean difference on the 0-100 pain scale" if f.aset.measure == "MD" else
               f"standardised mean difference re-expressed with a typical SD of "
               f"{TYPICAL_SD_0_100:g} points")
        return {"points": ab["points"], "lower": ab.get("points_lower"),
                "upper": ab.get("points_upper"), "measure": f.aset.measure, "how": how,
                "text": ab.get("text")}
    smd = find("pain", f.window, measure="SMD")
    if smd.available and "points" in smd.absolute:
        ab = smd.absolute
        return {"points": ab["points"], "lower": ab.get("points_lower"),
                "upper": ab.get("points_upper"), "measure": "SMD",
                "how": f"the trials use {f.aset.scale or 'another scale'}; their standardised "
                       f"mean difference re-expressed with a typical SD of "
                       f"{TYPICAL_SD_0_100:g} points", "text": ab.get("text")}
    return {"points": None, "lower": None, "upper": None, "measure": f.aset.measure,
            "how": "not on a 0-100 scale", "text": ab.get("text")}


def _chance(tables: dict[str, Any], f: Finding, condition: str, comp: tuple[str, ...],
            effect: dict[str, Any], find: Callable[..., Finding]) -> dict[str, Any] | None:
    resp = find("response", f.window)
    ab = resp.absolute if resp.available else {}
    if "control_per_100" in ab:
        scales = sorted({str(s) for s in resp.aset.data["scale"] if isinstance(s, str)})
        return {"method": "responders", "without": ab["control_per_100"],
                "with": ab["acupuncture_per_100"], "with_lower": ab["control_per_100"]
                + ab["difference_lower"], "with_upper": ab["control_per_100"]
                + ab["difference_upper"], "trials": resp.result.k,
                "certainty": resp.certainty.label,
                "definition": "as each trial defined a meaningful improvement: "
                + "; ".join(scales[:4]),
                "how": "control group's risk in the trials x the pooled risk ratio"}
    return _furukawa(tables, f, condition, comp, effect)


def _furukawa(tables: dict[str, Any], f: Finding, condition: str, comp: tuple[str, ...],
              effect: dict[str, Any]) -> dict[str, Any] | None:
    """Responders derived from the continuous outcome (see the module docstring)."""
    if effect.get("points") is None:
        return None
    ctrl = control_change(tables, condition, comp, f.window)
    if ctrl is None:
        return None
    d = f.aset.data
    sd = None
    if f.aset.measure == "MD":
        num = den = 0.0
        for r in d.itertuples():
            for s, n in ((r.sd_1, r.n_1), (r.sd_2, r.n_2)):
                if _finite(s) and _finite(n) and n > 1:
                    num += (n - 1) * s * s
                    den += n - 1
        sd = math.sqrt(num / den) if den else None
    sd_how = "pooled SD of the trials' arms" if sd else (f"a typical SD of {TYPICAL_SD_0_100:g} "
                                                         "points")
    sd = sd or TYPICAL_SD_0_100
    tau = MID_POINTS / sd
    z_c = ctrl["z"]

    def p(delta_points: float | None) -> float | None:
        if delta_points is None or not math.isfinite(delta_points):
            return None
        return 100.0 * float(stats.norm.cdf(-tau - z_c - delta_points / sd))

    ends = [x for x in (p(effect["lower"]), p(effect["upper"])) if x is not None]
    return {"method": "derived", "without": p(0.0), "with": p(effect["points"]),
            "with_lower": min(ends) if ends else None, "with_upper": max(ends) if ends else None,
            "sd": sd, "sd_how": sd_how, "threshold_points": MID_POINTS,
            "control_change_sd": z_c, "control_arms": ctrl["arms"],
            "control_participants": ctrl["n"], "control_window": ctrl["window"],
            "definition": f"pain falls by at least {MID_POINTS:g} points on 0-100",
            "how": "derived from the mean difference (normal distribution of individual changes "
                   "with the pooled SD; Furukawa 2005)"}


def control_change(tables: dict[str, Any], condition: str, comp: tuple[str, ...],
                   window: str) -> dict[str, Any] | None:
    """Average change in pain of the comparator arms, in SD units (negative = better).

    Per comparator arm of the condition's trials: a change-from-baseline row in the window
    (mean / SD), else a final row in the window minus the arm's baseline row on the same
    instrument (divided by the final SD). Arms are weighted by n. Where no arm reports one in the
    window, any post-baseline time point is used (and said so).
    """
    from ..evidence._harmonise import arm_stats, higher_better, instrument_of, is_percentage_change
    from ..evidence._windows import in_window, resolve_timepoint, treatment_weeks, window_centre

    wanted = [t.partition(":") for t in comp]
    studies = {s["study_id"]: s for s in tables["studies"]
               if s["condition"] == condition and s["status"] == "active"}
    arms = {a["arm_id"]: a for a in tables["arms"] if a["study_id"] in studies
            and any(a["arm_type"] == b and (not sub or a.get("sham_type") == sub)
                    for b, _, sub in wanted)}
    rows = defaultdict(list)
    for v in tables["outcomes"]:
        if v["arm_id"] in arms and v["status"] == "active" and v["outcome"] == "pain" \
                and v["value_type"] in ("final", "change_from_baseline") \
                and not is_percentage_change(v.get("scale")) and v.get("confidence") != "low":
            rows[v["arm_id"]].append(v)

    def estimate(restrict: bool) -> tuple[list[tuple[float, float]], int]:
        found = []
        for arm_id, vs in rows.items():
            st = studies[arms[arm_id]["study_id"]]
            treat, _ = treatment_weeks(st)
            base, later = [], []
            for v in vs:
                tp, _ = resolve_timepoint(v.get("timepoint_weeks"), v.get("timepoint_label"),
                                          treat)
                if tp is None:
                    continue
                if tp.weeks == 0 and v["value_type"] == "final":
                    base.append(v)
                elif tp.weeks is not None and tp.weeks > 0 and (not restrict or in_window(
                        tp, window, treat)[0]):
                    later.append((tp.weeks, v))
            centre = window_centre(window, treat) or 6.5
            for _, v in sorted(later, key=lambda t: abs(t[0] - centre)):
                s = arm_stats(v, factor=1.0, flip=higher_better(v))
                if s.mean is None or not s.sd or s.n is None:
                    continue
                if v["value_type"] == "change_from_baseline":
                    found.append((s.n, s.mean / s.sd))
                    break
                key = instrument_of(v, "pain").family
                b = next((b for b in base if instrument_of(b, "pain").family == key), None)
                bs = arm_stats(b, factor=1.0, flip=higher_better(b)) if b else None
                if bs is not None and bs.mean is not None:
                    found.append((s.n, (s.mean - bs.mean) / s.sd))
                    break
        return found, len(found)

    found, n_arms = estimate(True)
    where = WINDOW_PHRASES[window]
    if not found:
        found, n_arms = estimate(False)
        where = "at any follow-up (none in this window)"
    if not found:
        return None
    n = sum(w for w, _ in found)
    return {"z": sum(w * z for w, z in found) / n, "arms": n_arms, "n": int(n), "window": where}


def _bayes(f: Finding, effect: dict[str, Any]) -> dict[str, Any] | None:
    """P(the average effect in a new setting is at least the MID), Bayesian (bayes.py)."""
    from ..bayes import bayes_meta_analysis

    m = f.aset.measure
    if m not in ("MD", "SMD") or effect.get("points") is None:
        return None
    d = f.aset.data
    scale = 0.5 if m == "SMD" else 0.5 * TYPICAL_SD_0_100
    delta = DEFAULT_MID["MD"] if m == "MD" else MID_POINTS / TYPICAL_SD_0_100
    if m == "MD" and not (f.aset.scale and "0-100" in str(f.aset.scale)):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = bayes_meta_analysis(d["yi"].to_numpy(float), d["vi"].to_numpy(float),
                                      tau_prior="half-normal", tau_prior_scale=scale,
                                      measure=m)
            prob = res.prob_benefit(delta, direction="lower", predictive=True)
    except (InputError, ArithmeticError, ValueError):
        return None
    return {"probability": 100.0 * prob, "threshold_points": MID_POINTS,
            "prior": f"half-normal prior on tau with scale {scale:g}",
            "meaning": "the chance that acupuncture's average effect in a new setting like the "
                       "trials' is at least 10 points on 0-100 - a statement about the average "
                       "effect, not the chance that you will improve"}


def _sessions(tables: dict[str, Any], study_ids: list[str]) -> dict[str, Any]:
    st = {s["study_id"]: s for s in tables["studies"]}
    xs = sorted(float(st[s]["n_sessions"]) for s in study_ids
                if s in st and st[s].get("n_sessions") is not None)
    weeks = sorted(float(st[s]["treatment_weeks"]) for s in study_ids
                   if s in st and st[s].get("treatment_weeks") is not None)
    out: dict[str, Any] = {"trials": len(study_ids), "with_sessions": len(xs)}
    if xs:
        out.update(median=_median(xs), min=xs[0], max=xs[-1])
    if weeks:
        out.update(weeks_median=_median(weeks))
    out["rows"] = [{"study_id": s, "label": st[s]["label"], "n_sessions": st[s].get("n_sessions"),
                    "sessions_text": st[s].get("sessions_text"),
                    "treatment_weeks": st[s].get("treatment_weeks")} for s in study_ids if s in st]
    return out


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _median(xs: list[float]) -> float:
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def _harms(tables: dict[str, Any], condition: str, comp: tuple[str, ...]) -> dict[str, Any]:
    from ..report.sections import adverse_events

    ae = adverse_events(tables)
    bases = {t.partition(":")[0] for t in comp}
    rows = [r for r in ae["rows"] if r["condition"] == condition]
    acu = [r for r in rows if r["arm_type"] == "acupuncture"]
    ctl = [r for r in rows if r["arm_type"] in bases]
    trials = sorted({r["study_id"] for r in rows})
    out: dict[str, Any] = {"trials": len(trials), "rows": rows}
    if acu:
        out["acupuncture"] = {"events": sum(r["events"] for r in acu),
                              "total": sum(r["total"] for r in acu)}
    if ctl:
        out["comparator"] = {"events": sum(r["events"] for r in ctl),
                             "total": sum(r["total"] for r in ctl)}
    cond = term_label("CONDITIONS", condition).lower()
    if not trials:
        out["text"] = (f"None of the trials of {cond} in the registry report adverse events as "
                       "counts. Across all conditions: " + ae["sentence"])
    else:
        t = (f"{len(trials)} trial(s) of {cond} count adverse events. ")
        if acu:
            a = out["acupuncture"]
            t += (f"With acupuncture, {a['events']:g} of {a['total']:g} people had an adverse "
                  "event as each trial defined it")
        if ctl:
            c = out["comparator"]
            t += (f"; with {comparator_label(comp)}, {c['events']:g} of {c['total']:g}")
        out["text"] = t + (". Most trials do not count minor events (bruising, soreness), so "
                           "these numbers describe what was reported, not the true rate.")
    return out


def _meaning(out: dict[str, Any], f: Finding) -> list[str]:
    """What the numbers mean for the visitor, as sentences built from them."""
    comp = out["situation"]["comparator_label"]
    when = out["window_label"]
    lines = []
    ch = out.get("chance")
    if ch and ch.get("with") is not None and ch.get("without") is not None:
        w, wo = round(ch["with"]), round(ch["without"])
        diff = w - wo
        more = (f"{abs(diff)} more" if diff > 0 else f"{abs(diff)} fewer" if diff < 0
                else "no more")
        lines.append(f"Out of 100 people like you, about {w} would have a meaningful improvement "
                     f"{when} with acupuncture and about {wo} with {comp}: {more} out of 100 "
                     "because of acupuncture.")
    eff = out["effect"]
    if eff.get("points") is not None:
        x = eff["points"]
        word = "lower" if x < 0 else "higher"
        size = ("smaller than the 10 points most people notice" if abs(x) < MID_POINTS
                else "at least the 10 points most people notice")
        lines.append(f"On average, pain {when} was {abs(x):.0f} points {word} on a 0-100 scale "
                     f"with acupuncture than with {comp} - {size}.")
    lines.append(out["statement"])
    lines.append(f"How sure we are: {out['certainty']['label'].lower()} certainty. "
                 f"{out['certainty']['meaning']}")
    s = out["sessions"]
    if s.get("median") is not None:
        if s["min"] == s["max"]:
            n = s["median"]
            lines.append(f"The trials gave {n:g} session{'s' if n != 1 else ''} of acupuncture.")
        else:
            lines.append(f"The trials gave a median of {s['median']:g} sessions of acupuncture "
                         f"(from {s['min']:g} to {s['max']:g}).")
    return lines
