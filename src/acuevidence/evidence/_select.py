"""The selection rules behind :func:`acuevidence.evidence.analysis_sets.select`: measure, scale,
value type, instrument and time point per study, multi-arm trials, effect sizes, and the message
of an empty selection. The rules themselves are documented in the docstring of
:mod:`acuevidence.evidence.analysis_sets`.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import conversions as conv
from ..effect_sizes import effect_sizes
from ..errors import InputError
from ._candidates import (
    BINARY_MEASURES,
    CONFIDENCE_RANK,
    Candidate,
    Comparator,
    StudyCandidates,
    study_candidates,
)
from ._harmonise import PAIN_100, combine_means
from ._windows import WINDOWS, choose_timepoint, in_window, main_window

__all__ = ["build"]

_INSTRUMENT_PREFERENCE = ("VAS", "NRS", "CPGS pain", "bothersomeness", "SF-36 bodily pain")


@dataclass
class _Comp:
    """One study comparison as it enters the set (numbers on the analysis scale and sign)."""

    study_id: str
    acups: list[str]
    ctrls: list[str]
    cands: list[Candidate]
    kind: str  # arm | contrast | pseudo (contrast turned into two groups via its implied SD)
    n1: float | None = None
    n2: float | None = None
    m1: float | None = None
    sd1: float | None = None
    m2: float | None = None
    sd2: float | None = None
    e1: float | None = None
    t1: float | None = None
    e2: float | None = None
    t2: float | None = None
    estimate: float | None = None
    se: float | None = None
    derivations: list[str] = field(default_factory=list)

    @property
    def first(self) -> Candidate:
        return self.cands[0]


# ---------------------------------------------------------------------------------------------
def build(ctx, conds, comps: tuple[Comparator, ...], opts: dict[str, Any], criteria, version, *,
          window, measure, multi_arm, timepoint, mix):
    from .analysis_sets import DATA_COLUMNS, AnalysisSet, _Log

    log = _Log()
    outcome = opts["outcome"]
    per_study: dict[str, StudyCandidates] = {}
    for sid in sorted(ctx.studies):
        st = ctx.studies[sid]
        if st.get("condition") not in conds:
            continue
        if st.get("status") == "retracted":
            log.add(sid, "excluded", "the study is retracted")
            continue
        sc = study_candidates(st, ctx.arms.get(sid, []), ctx.outcomes.get(sid, []),
                              ctx.contrasts.get(sid, []), comparators=comps, **opts)
        for action, reason in sc.log:
            log.add(sid, action, reason)
        if sc.candidates:
            per_study[sid] = sc

    binary = measure in BINARY_MEASURES or (measure is None and outcome in ("response",
                                                                           "adverse_events"))
    if measure is None and not binary:
        kinds = {c.base_type == "events" for sc in per_study.values() for c in sc.candidates}
        binary = kinds == {True}
    set_measure = measure or ("RR" if binary else None)

    pool: dict[str, list[Candidate]] = {}
    for sid, sc in per_study.items():
        cands = [c for c in sc.candidates if _fits(c, binary, set_measure)]
        if not cands:
            log.add(sid, "excluded", f"no {'events' if binary else 'continuous'} {outcome} values"
                    + (f" or {set_measure} contrasts" if set_measure else ""))
            continue
        if window is not None:
            inw = [c for c in cands if in_window(c.tp, window, sc.treatment)[0]]
            if not inw:
                weeks = sorted({c.weeks for c in cands if c.weeks is not None})
                log.add(sid, "excluded", f"no value in the {window} window (values at weeks "
                        f"{', '.join(f'{w:g}' for w in weeks) or 'unknown'})")
                continue
            cands = inw
        pool[sid] = cands

    family = value_type = None
    if binary:
        set_dir = _binary_direction(pool, outcome, log)
        orientation = _binary_orientation(set_measure, set_dir, outcome)
    else:
        set_measure, family = _continuous_measure(pool, set_measure, outcome, mix, log)
        value_type = _value_types(pool, set_measure, mix, log)
        orientation = ("negative values favour acupuncture (acupuncture minus comparator; "
                       "higher-is-better scores, improvements and reductions sign-flipped)")

    counts = Counter(c.choice_key for cands in pool.values() for c in {c.choice_key: c for c in
                                                                       cands}.values())
    comparisons: list[_Comp] = []
    for sid in sorted(pool):
        sc = per_study[sid]
        cands = _choose_instrument(sid, pool[sid], counts, log)
        if not binary and set_measure == "MD" and mix and value_type:
            pref = [c for c in cands if c.base_type == value_type]
            cands = pref or cands
        chosen = _choose_time(sid, cands, window, timepoint, sc.treatment, log)
        by_week: dict[float, list[Candidate]] = {}
        for c in chosen:
            by_week.setdefault(_eff_weeks(c, sc.treatment), []).append(c)
        for w in sorted(by_week):
            pairs = _best_pairs(by_week[w], value_type)
            comparisons.extend(_multi_arm(sid, pairs, multi_arm, binary, set_measure, ctx, log))

    rows = []
    for comp in comparisons:
        row = _row(comp, ctx, set_measure, family, window, per_study[comp.study_id], log)
        if row is not None:
            rows.append(row)
    if not rows:
        raise _empty_error(ctx, conds, comps, opts, window, log)
    # Unique labels: a study with several comparisons names the arms.
    n_per = Counter(r["study_id"] for r in rows)
    for r in rows:
        if n_per[r["study_id"]] > 1:
            r["label"] = f"{r['label']}: {r['arm_1_label']} vs {r['arm_2_label']}"
            if window is None and r["timepoint_weeks"] is not None:
                r["label"] += f" (week {r['timepoint_weeks']:g})"
    frame = pd.DataFrame(rows, columns=list(DATA_COLUMNS))
    frame = frame.sort_values(["study_id", "timepoint_weeks", "arm_1", "arm_2"],
                              kind="mergesort").reset_index(drop=True)
    scale = PAIN_100 if family == PAIN_100 else family
    if set_measure == "SMD":
        scale = "standardised (Hedges' g)"
    elif binary:
        scale = None
    return AnalysisSet(data=frame, log=log.entries, measure=set_measure, orientation=orientation,
                       criteria=criteria, evidence_version=version, value_type=value_type,
                       scale=scale)


def _fits(c: Candidate, binary: bool, set_measure: str | None) -> bool:
    if binary:
        return (c.base_type == "events" and c.kind == "arm") or (
            c.kind == "contrast" and c.c_measure == set_measure)
    if c.base_type == "events":
        return False
    if c.kind == "contrast":
        return c.c_measure == "MD" or (c.c_measure == "SMD" and set_measure in (None, "SMD"))
    return True


# ---------------------------------------------------------------------------------------------
# set-level decisions
# ---------------------------------------------------------------------------------------------
def _binary_direction(pool, outcome, log) -> str:
    dirs = Counter(c.rows[0].get("direction") for cands in pool.values() for c in cands)
    if outcome == "response":
        set_dir = "higher_better"
    elif outcome == "adverse_events":
        set_dir = "lower_better"
    else:
        set_dir = max(sorted(dirs), key=lambda d: dirs[d]) if dirs else "higher_better"
    for sid in sorted(pool):
        keep = []
        for c in pool[sid]:
            if c.rows[0].get("direction") == set_dir:
                keep.append(c)
                continue
            if c.kind == "arm":
                c.e1, c.e2 = c.t1 - c.e1, c.t2 - c.e2
                c.harmonised.append(f"events counted as their complement (total - events) so that "
                                    f"{'more' if set_dir == 'higher_better' else 'fewer'} events "
                                    "favour acupuncture")
                keep.append(c)
            elif c.c_measure in ("OR", "RD"):
                c.estimate = -c.estimate
                c.harmonised.append(f"{c.c_measure} of the complementary event (sign of the "
                                    "log OR / RD reversed)")
                keep.append(c)
            else:
                log.add(sid, "excluded", f"{c.rows[0]['contrast_id']}: an RR of the complementary "
                        "event cannot be turned round without the counts")
        if keep:
            pool[sid] = keep
        else:
            del pool[sid]
    return set_dir


def _binary_orientation(measure, set_dir, outcome) -> str:
    null = "0" if measure == "RD" else "1"
    sign = ">" if set_dir == "higher_better" else "<"
    event = "responders" if outcome == "response" else outcome.replace("_", " ")
    return (f"{measure} {sign} {null} favours acupuncture (group 1 = acupuncture, group 2 = "
            f"comparator; events = {event}; yi is the log {measure}"
            if measure != "RD" else
            f"RD {sign} 0 favours acupuncture (group 1 = acupuncture, group 2 = comparator; "
            f"events = {event}") + ")"


def _md_families(pool, outcome) -> list[str]:
    """Scales a mean difference could use, best first: 0-100 pain, then the instruments most
    studies share (ties: a known range first, then alphabetical)."""
    counts = Counter(f for cands in pool.values() for f in {c.choice_key for c in cands})
    ranged = {c.choice_key for cands in pool.values() for c in cands
              if c.instrument is not None and c.instrument.high is not None}
    return sorted(counts, key=lambda f: (not (outcome == "pain" and f == PAIN_100), -counts[f],
                                         f not in ranged, f))


def _md_filter(pool, family, log) -> None:
    for sid in sorted(pool):
        fams = sorted({c.choice_key for c in pool[sid]})
        keep = [c for c in pool[sid] if c.choice_key == family and not (
            c.kind == "contrast" and c.c_measure != "MD")]
        if not keep:
            log.add(sid, "excluded", f"not on {family} (has {'; '.join(fams)}); a mean "
                    "difference needs one scale (measure='SMD' would take other instruments)")
            del pool[sid]
        else:
            pool[sid] = keep


def _smd_filter(pool, log) -> None:
    for sid in sorted(pool):
        keep = []
        for c in pool[sid]:
            if c.kind == "contrast" and c.c_measure == "MD" and not (c.n1 and c.n2):
                log.add(sid, "excluded", f"{c.rows[0]['contrast_id']}: a mean difference "
                        "without both group sizes cannot be standardised")
            else:
                keep.append(c)
        if keep:
            pool[sid] = keep
        else:
            del pool[sid]


class _Quiet:
    def add(self, *args: Any) -> None:
        pass


def _continuous_measure(pool, measure, outcome, mix, log):
    """Choose MD or SMD (when not given) and filter the pool to what the measure can use.

    ``measure=None``: MD when the studies a mean difference can take (one scale: 0-100 pain, else
    the most common instrument) include every study a standardised mean difference could take;
    else SMD.
    """
    family = None
    if measure is None:
        smd = dict(pool)
        _smd_filter(smd, _Quiet())
        _value_types(smd, "SMD", mix, _Quiet())
        md: dict = {}
        for family in _md_families(pool, outcome):
            md = dict(pool)
            _md_filter(md, family, _Quiet())
            _value_types(md, "MD", mix, _Quiet())
            if md and set(md) >= set(smd):
                break
        else:
            family = None
        if family is not None:
            measure = "MD"
            what = ("pain intensity on 0-100 (0-10 scales x 10)" if family == PAIN_100
                    else family)
            log.add(None, "harmonised", f"measure MD on {what}: that scale holds every study "
                    "a standardised mean difference could take")
        else:
            measure = "SMD"
            insts = sorted({c.choice_key for cands in pool.values() for c in cands})
            log.add(None, "harmonised", "measure SMD (Hedges' g): the studies use different "
                    f"instruments or ranges ({'; '.join(insts) or 'none'}); no one scale holds "
                    "every study a standardised mean difference can take")
    elif measure == "MD":
        family = next(iter(_md_families(pool, outcome)), None)
        if family is not None:
            log.add(None, "harmonised", f"measure MD on {family} (studies on other scales cannot "
                    "enter a mean difference)")
    if measure == "MD" and family is not None:
        _md_filter(pool, family, log)
    if measure == "SMD":
        _smd_filter(pool, log)
    return measure, family


def _size(c: Candidate) -> float:
    if c.s1 is not None and c.s2 is not None:
        return (c.s1.n or 0) + (c.s2.n or 0)
    return (c.n1 or 0) + (c.n2 or 0)


def _value_types(pool, measure, mix, log) -> str | None:
    """Keep change and final values apart where the rule says so; return the set's main type.

    Contrasts whose basis is not stated (``unknown``) join either type."""
    n_change = sum(any(c.base_type == "change" for c in cs) for cs in pool.values())
    n_final = sum(any(c.base_type == "final" for c in cs) for cs in pool.values())
    if not pool or not (n_change or n_final):
        return None
    if n_change != n_final:
        major = "change" if n_change > n_final else "final"
    else:  # a tie goes to the type with more participants, then to final values
        size = {t: sum(max(_size(c) for c in cs if c.base_type == t) for cs in pool.values()
                       if any(c.base_type == t for c in cs)) for t in ("change", "final")}
        major = "change" if size["change"] > size["final"] else "final"
    other = "final" if major == "change" else "change"
    if measure == "SMD" or not mix:
        if n_change and n_final:
            why = "SMD" if measure == "SMD" else "mix_change_final=False"
            log.add(None, "harmonised", f"change-from-baseline and final values are not mixed "
                    f"({why}): {major} values kept ({n_change if major == 'change' else n_final} "
                    f"studies), {other} values left out "
                    f"({n_final if major == 'change' else n_change} studies)")
        for sid in sorted(pool):
            keep = [c for c in pool[sid] if c.base_type in (major, "unknown")]
            if not keep:
                log.add(sid, "excluded", f"only {other} values; this set uses {major} values "
                        "(change and final are not mixed)")
                del pool[sid]
            else:
                pool[sid] = keep
    elif n_change and n_final:
        log.add(None, "harmonised", "MD: change-from-baseline and final values mixed (Cochrane "
                f"Handbook 10.5.2); each study gives {major} values where it has them")
    return major


# ---------------------------------------------------------------------------------------------
# per-study choices
# ---------------------------------------------------------------------------------------------
def _choose_instrument(sid, cands, counts, log) -> list[Candidate]:
    keys = {c.choice_key for c in cands}
    if len(keys) == 1:
        return cands

    def rank(k):
        best = max(CONFIDENCE_RANK.get(c.confidence, 0) for c in cands if c.choice_key == k)
        return (k != PAIN_100, -counts[k], -best, k)

    chosen = sorted(keys, key=rank)[0]
    others = sorted(keys - {chosen})
    log.add(sid, "excluded", f"{'; '.join(others)} not used: one instrument per study, "
            f"{chosen} chosen (the 0-100 pain scale first, then the instrument most studies in "
            "the set use)")
    return [c for c in cands if c.choice_key == chosen]


# An end-of-treatment row of a study whose treatment length is unknown has no week number.
_EOT_UNKNOWN = -1.0


def _eff_weeks(c: Candidate, treatment: float | None) -> float:
    if c.weeks is not None:
        return float(c.weeks)
    return float(treatment) if treatment is not None else _EOT_UNKNOWN


def _wk(w: float) -> str:
    return "end of treatment (week unknown)" if w == _EOT_UNKNOWN else f"week {w:g}"


def _choose_time(sid, cands, window, rule, treatment, log) -> list[Candidate]:
    weeks = sorted({_eff_weeks(c, treatment) for c in cands})
    if window is None:
        log.add(sid, "chose_timepoint", "window=None: every time point kept ("
                f"{', '.join(_wk(w) for w in weeks)})")
        return cands
    best, why = choose_timepoint(weeks, window, rule, treatment)
    others = [w for w in weeks if w != best]
    log.add(sid, "chose_timepoint", f"{_wk(best)}: {why}"
            + (f"; not used: {', '.join(_wk(w) for w in others)}" if others
               else " (the only time point in the window)"))
    return [c for c in cands if _eff_weeks(c, treatment) == best]


def _best_pairs(cands, pref_type) -> list[Candidate]:
    """One candidate per (acupuncture arm, control arm) pair: arm-level numbers before contrasts,
    the preferred pain instrument, higher confidence, the set's value type."""

    def key(c: Candidate):
        inst = c.instrument.key if c.instrument is not None else ""
        pref = (_INSTRUMENT_PREFERENCE.index(inst) if inst in _INSTRUMENT_PREFERENCE
                else len(_INSTRUMENT_PREFERENCE))
        rid = str(c.rows[0].get("value_id") or c.rows[0].get("contrast_id"))
        return (c.kind != "arm", pref, -CONFIDENCE_RANK.get(c.confidence, 0),
                c.base_type != pref_type, rid)

    best: dict[tuple[str, str], Candidate] = {}
    for c in sorted(cands, key=key):
        best.setdefault((c.acup, c.ctrl), c)
    return [best[k] for k in sorted(best)]


# ---------------------------------------------------------------------------------------------
# multi-arm trials
# ---------------------------------------------------------------------------------------------
def _arm_label(ctx, arm_id: str) -> str:
    return str(ctx.arm_by_id.get(arm_id, {}).get("label") or arm_id)


def _single(c: Candidate, binary: bool, measure: str | None) -> _Comp:
    comp = _Comp(c.study_id, [c.acup], [c.ctrl], [c], "arm" if c.kind == "arm" else "contrast")
    if c.kind == "arm" and binary:
        comp.e1, comp.t1, comp.e2, comp.t2 = c.e1, c.t1, c.e2, c.t2
        comp.n1, comp.n2 = c.t1, c.t2
    elif c.kind == "arm":
        comp.n1, comp.m1, comp.sd1 = c.s1.n, c.s1.mean, c.s1.sd
        comp.n2, comp.m2, comp.sd2 = c.s2.n, c.s2.mean, c.s2.sd
    else:
        comp.estimate, comp.se, comp.n1, comp.n2 = c.estimate, c.se, c.n1, c.n2
        if not binary and measure == "SMD" and c.c_measure == "MD":
            _pseudo(comp, c)
    return comp


def _pseudo(comp: _Comp, c: Candidate) -> None:
    """A mean-difference contrast as two groups: means MD and 0, both SDs the SD implied by its
    SE and group sizes (Cochrane Handbook 6.5.2.3)."""
    sd = float(conv.sd_from_se_difference(c.se, c.n1, c.n2))
    comp.kind = "pseudo"
    comp.n1, comp.n2, comp.m1, comp.m2, comp.sd1, comp.sd2 = c.n1, c.n2, c.estimate, 0.0, sd, sd
    comp.derivations.append(f"{c.rows[0]['contrast_id']}: SD implied by the SE of the difference "
                            f"= {c.se:.4g} / sqrt(1/{c.n1:g} + 1/{c.n2:g}) = {sd:.4g} "
                            "(sd_from_se_difference)")


def _splittable(c: Candidate, binary: bool) -> bool:
    return c.kind == "arm" or (not binary and c.c_measure == "MD" and bool(c.n1 and c.n2))


def _multi_arm(sid, pairs, multi_arm, binary, measure, ctx, log) -> list[_Comp]:
    if len(pairs) == 1:
        return [_single(pairs[0], binary, measure)]
    if multi_arm == "combine":
        comp = _combine(sid, pairs, binary, ctx, log)
        if comp is not None:
            return [comp]
    def shares(c: Candidate) -> bool:
        return any(o is not c and (o.acup == c.acup or o.ctrl == c.ctrl) for o in pairs)

    keep = [c for c in pairs if _splittable(c, binary) or not shares(c)]
    if len(keep) < len(pairs):
        if not keep:
            # the largest comparison, then the most precise, then by arm id (deterministic)
            keep = [min(pairs, key=lambda c: (-((c.n1 or 0) + (c.n2 or 0)), c.se or math.inf,
                                              c.acup, c.ctrl))]
        for c in pairs:
            if c not in keep:
                log.add(sid, "excluded", f"{_arm_label(ctx, c.acup)} vs {_arm_label(ctx, c.ctrl)}"
                        f" ({c.rows[0].get('contrast_id') or c.rows[0].get('value_id')}): shares "
                        "an arm with another comparison and cannot be split or combined (no "
                        "group sizes, or a ratio); left out so no arm counts twice")
    if len(keep) == 1:
        return [_single(keep[0], binary, measure)]
    uses = Counter([c.acup for c in keep] + [c.ctrl for c in keep])
    out = []
    for c in keep:
        k1, k2 = uses[c.acup], uses[c.ctrl]
        comp = _single(c, binary, measure)
        if k1 == 1 and k2 == 1:
            out.append(comp)
            continue
        if comp.kind == "contrast":
            _pseudo(comp, c)
        parts = []
        for arm, k, side in ((c.acup, k1, 1), (c.ctrl, k2, 2)):
            if k == 1:
                continue
            n_attr, e_attr, t_attr = f"n{side}", f"e{side}", f"t{side}"
            before = getattr(comp, n_attr)
            setattr(comp, n_attr, before / k)
            if binary:
                setattr(comp, e_attr, getattr(comp, e_attr) / k)
                setattr(comp, t_attr, getattr(comp, t_attr) / k)
                parts.append(f"{_arm_label(ctx, arm)} shared by {k} comparisons: events and "
                             f"total divided by {k} ({before:g} -> {before / k:g})")
            else:
                parts.append(f"{_arm_label(ctx, arm)} shared by {k} comparisons: n divided by "
                             f"{k} ({before:g} -> {before / k:g})")
        log.add(sid, "split", f"{_arm_label(ctx, c.acup)} vs {_arm_label(ctx, c.ctrl)}: "
                + "; ".join(parts) + " (Cochrane Handbook 23.3.4)")
        out.append(comp)
    return out


def _combine(sid, pairs, binary, ctx, log) -> _Comp | None:
    acups = sorted({c.acup for c in pairs})
    ctrls = sorted({c.ctrl for c in pairs})
    names = (" + ".join(_arm_label(ctx, a) for a in acups), " + ".join(
        _arm_label(ctx, a) for a in ctrls))
    if all(c.kind == "arm" for c in pairs):
        side1 = {c.acup: c for c in pairs}
        side2 = {c.ctrl: c for c in pairs}
        comp = _Comp(sid, acups, ctrls, list(pairs), "arm")
        if binary:
            comp.e1 = sum(side1[a].e1 for a in acups)
            comp.t1 = sum(side1[a].t1 for a in acups)
            comp.e2 = sum(side2[a].e2 for a in ctrls)
            comp.t2 = sum(side2[a].t2 for a in ctrls)
            comp.n1, comp.n2 = comp.t1, comp.t2
            how = "events and totals summed"
        else:
            comp.n1, comp.m1, comp.sd1 = combine_means([side1[a].s1.n for a in acups],
                                                       [side1[a].s1.mean for a in acups],
                                                       [side1[a].s1.sd for a in acups])
            comp.n2, comp.m2, comp.sd2 = combine_means([side2[a].s2.n for a in ctrls],
                                                       [side2[a].s2.mean for a in ctrls],
                                                       [side2[a].s2.sd for a in ctrls])
            how = "means and SDs merged (Cochrane Handbook 6.5.2.10)"
        log.add(sid, "combined", f"{names[0]} vs {names[1]}: {how}")
        return comp
    if not binary and len(ctrls) == 1 and all(
            c.kind == "contrast" and c.c_measure == "MD" and c.n1 and c.n2 for c in pairs):
        # Mean differences against one control: merge the acupuncture groups' implied means
        # (the MDs, control = 0) and SDs; the control keeps its n and the pooled SDs' RMS.
        parts = []
        for c in pairs:
            p = _Comp(sid, [c.acup], [c.ctrl], [c], "contrast")
            _pseudo(p, c)
            parts.append(p)
        comp = _Comp(sid, acups, ctrls, list(pairs), "pseudo")
        comp.n1, comp.m1, comp.sd1 = combine_means([p.n1 for p in parts], [p.m1 for p in parts],
                                                   [p.sd1 for p in parts])
        comp.n2 = max(p.n2 for p in parts)
        comp.m2 = 0.0
        comp.sd2 = math.sqrt(sum(p.sd2 ** 2 for p in parts) / len(parts))
        comp.estimate = comp.m1
        for p in parts:
            comp.derivations.extend(p.derivations)
        log.add(sid, "combined", f"{names[0]} vs {names[1]}: contrasts merged through their "
                "implied groups (estimate = n-weighted mean of the MDs; SD by Cochrane Handbook "
                "6.5.2.10; control SD = root mean square of the implied SDs)")
        return comp
    log.add(sid, "split", f"{names[0]} vs {names[1]}: cannot be combined (contrasts without "
            "group sizes, ratios, or arm-level and contrast numbers mixed); split instead")
    return None


# ---------------------------------------------------------------------------------------------
# effect sizes and the output row
# ---------------------------------------------------------------------------------------------
def _factor(comp: _Comp, measure: str, family: str | None) -> float:
    inst = comp.first.instrument
    if measure == "MD" and family == PAIN_100 and inst is not None:
        return inst.factor
    return 1.0


def _effect(comp: _Comp, measure: str, factor: float) -> tuple[float, float, list[str]]:
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if comp.e1 is not None:
            es = effect_sizes(measure, ai=[comp.e1], n1i=[comp.t1], ci=[comp.e2], n2i=[comp.t2],
                              drop00=measure != "RD")
            yi, vi = float(es["yi"].iloc[0]), float(es["vi"].iloc[0])
        elif comp.m1 is not None:
            es = effect_sizes(measure, m1i=[comp.m1], sd1i=[comp.sd1], n1i=[comp.n1],
                              m2i=[comp.m2], sd2i=[comp.sd2], n2i=[comp.n2])
            yi, vi = float(es["yi"].iloc[0]), float(es["vi"].iloc[0])
        else:
            yi, vi = comp.estimate * factor, (comp.se * factor) ** 2
    notes.extend(str(w.message) for w in caught)
    return yi, vi, notes


def _join(values) -> str | None:
    seen: list[str] = []
    for v in values:
        if v is not None and str(v) not in seen:
            seen.append(str(v))
    return "; ".join(seen) if seen else None


def _row(comp: _Comp, ctx, measure, family, window, sc: StudyCandidates, log) -> dict | None:
    sid = comp.study_id
    study = ctx.studies[sid]
    factor = _factor(comp, measure, family)
    if factor != 1.0:
        for attr in ("m1", "sd1", "m2", "sd2"):
            v = getattr(comp, attr)
            if v is not None:
                setattr(comp, attr, v * factor)
    yi, vi, notes = _effect(comp, measure, factor)
    names = (" + ".join(_arm_label(ctx, a) for a in comp.acups),
             " + ".join(_arm_label(ctx, a) for a in comp.ctrls))
    what = f"{names[0]} vs {names[1]}"
    if not (math.isfinite(yi) and math.isfinite(vi) and vi > 0):
        log.add(sid, "excluded", f"{what}: {measure} not estimable"
                + (f" ({'; '.join(notes)})" if notes else " (no events in either group?)"))
        return None
    rows = [r for c in comp.cands for r in c.rows]
    derivations = comp.derivations + [d for c in comp.cands for d in c.derivations]
    reg_derived = [f"{r.get('value_id') or r.get('contrast_id')}: derived by the curation "
                   f"({r.get('notes')})" for r in rows if r.get("notes") and any(
                       c.registry_derived and r in c.rows for c in comp.cands)]
    derivations = list(dict.fromkeys(derivations + reg_derived))
    for d in derivations:
        log.add(sid, "derived", d)
    first = comp.first
    inst = first.instrument
    harmonised = list(dict.fromkeys(h for c in comp.cands for h in c.harmonised))
    if any(c.flipped for c in comp.cands):
        harmonised.append("higher values are better on this scale: sign flipped so that negative "
                          "favours acupuncture")
    if factor != 1.0:
        harmonised.append(f"{inst.key} {inst.range_text} -> 0-100: values x {factor:g}")
    if inst is not None and "presumed" in inst.range_note and measure == "MD":
        harmonised.append(f"range {inst.range_text} {inst.range_note}")
    for h in harmonised:
        log.add(sid, "harmonised", f"{what}: {h}")
    conf = min((c.confidence for c in comp.cands), key=lambda c: CONFIDENCE_RANK.get(c, 0))
    weeks = first.weeks if first.weeks is not None else sc.treatment
    value_type = "contrast" if comp.kind in ("contrast", "pseudo") else first.value_type
    win = window or main_window(first.tp)
    scale = first.rows[0].get("scale")
    if factor != 1.0:
        scale = f"{scale} (x {factor:g}: 0-100)"
    when = first.tp.how or first.tp_label
    reason = (f"{what}: week {weeks:g} ({when}), {value_type}"
              if weeks is not None else f"{what}: {when}, {value_type}")
    log.add(sid, "included", reason + f", {measure} yi = {yi:.4g}, vi = {vi:.4g}"
            + (f" ({'; '.join(notes)})" if notes else ""))
    contrast_scaled = comp.kind in ("contrast", "pseudo") and comp.estimate is not None
    return {
        "study_id": sid, "label": study.get("label") or sid, "year": study.get("year"),
        "arm_1": " + ".join(comp.acups), "arm_1_label": names[0],
        "arm_2": " + ".join(comp.ctrls), "arm_2_label": names[1],
        "n_1": comp.n1, "n_2": comp.n2,
        "mean_1": comp.m1 if comp.kind == "arm" else None,
        "sd_1": comp.sd1 if comp.kind == "arm" else None,
        "mean_2": comp.m2 if comp.kind == "arm" else None,
        "sd_2": comp.sd2 if comp.kind == "arm" else None,
        "events_1": comp.e1, "total_1": comp.t1, "events_2": comp.e2, "total_2": comp.t2,
        "estimate": (first.estimate * factor if contrast_scaled and len(comp.cands) == 1
                     else (comp.estimate * factor if contrast_scaled else None)),
        "se": (first.se * factor if comp.kind in ("contrast", "pseudo") and len(comp.cands) == 1
               else None),
        "yi": yi, "vi": vi, "measure": measure, "outcome": first.rows[0].get("outcome"),
        "timepoint_weeks": weeks, "timepoint_label": first.tp_label,
        "window": win, "value_type": value_type, "scale": scale,
        "instrument": inst.key if inst is not None else None,
        "derived": bool(derivations), "derivation": " | ".join(derivations) or None,
        "confidence": conf,
        "source_id": _join(r.get("source_id") for r in rows),
        "locator": " | ".join(dict.fromkeys(str(r.get("locator")) for r in rows)),
        "url": _join(ctx.urls.get(r.get("source_id")) for r in rows),
        "row_ids": _join(r.get("value_id") or r.get("contrast_id") for r in rows),
    }


# ---------------------------------------------------------------------------------------------
# empty selections
# ---------------------------------------------------------------------------------------------
def _availability(ctx, conds, opts) -> dict[tuple[str, str, str], set[str]]:
    """(comparator, outcome, window) -> studies with usable values, for the condition(s)."""
    found: dict[tuple[str, str, str], set[str]] = {}
    for sid in sorted(ctx.studies):
        st = ctx.studies[sid]
        if st.get("condition") not in conds or st.get("status") == "retracted":
            continue
        arms = ctx.arms.get(sid, [])
        comps = sorted({Comparator(a["arm_type"]) for a in arms
                        if a.get("arm_type") not in opts["acup_types"]},
                       key=lambda c: c.arm_type)
        outs = sorted({r["outcome"] for r in ctx.outcomes.get(sid, [])}
                      | {r["outcome"] for r in ctx.contrasts.get(sid, [])})
        for comp in comps:
            for out in outs:
                sc = study_candidates(st, arms, ctx.outcomes.get(sid, []),
                                      ctx.contrasts.get(sid, []), comparators=(comp,),
                                      **{**opts, "outcome": out})
                for c in sc.candidates:
                    for w in WINDOWS:
                        if in_window(c.tp, w, sc.treatment)[0]:
                            found.setdefault((str(comp), out, w), set()).add(sid)
    return found


def _empty_error(ctx, conds, comps, opts, window, log) -> InputError:
    outcome = opts["outcome"]
    comp_text = " or ".join(str(c) for c in comps)
    cond_text = " or ".join(conds)
    avail = _availability(ctx, conds, opts)
    comp_names = {str(c) for c in comps} | {c.arm_type for c in comps}
    win_text = f" in the {window} window" if window else ""

    def fmt(items):
        return ", ".join(f"{k}={v!r} ({n} {'study' if n == 1 else 'studies'})"
                         for (k, v), n in items)

    def count(pred):
        c: Counter = Counter()
        for (cp, out, w), sids in avail.items():
            key = pred(cp, out, w)
            if key is not None:
                c[key] = max(c[key], len(sids))
        return sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))

    in_comp = lambda cp: cp in comp_names  # noqa: E731
    windows = count(lambda cp, out, w: ("window", w) if in_comp(cp) and out == outcome
                    and w != window else None)
    others = count(lambda cp, out, w: ("comparator", cp) if not in_comp(cp) and out == outcome
                   and (window is None or w == window) else None)
    outs = count(lambda cp, out, w: ("outcome", out) if in_comp(cp) and out != outcome
                 and (window is None or w == window) else None)
    parts = [f"other windows: {fmt(windows)}" if windows else "",
             f"other comparators: {fmt(others[:6])}" if others else "",
             f"other outcomes: {fmt(outs[:6])}" if outs else ""]
    parts = [p for p in parts if p]
    near = ("Nearest available selections for " + cond_text + ": " + "; ".join(parts) + "."
            if parts else f"No trial of {cond_text} in the registry has usable values for "
            "these arms.")
    reasons = [e for e in log.entries if e["action"] == "excluded" and e["study_id"]
               and e["reason"].startswith(("no value in the", "not on", "only "))][:5]
    why = (" Excluded: " + "; ".join(f"{e['study_id']}: {e['reason']}" for e in reasons) + "."
           if reasons else "")
    return InputError(f"no trials compare acupuncture with {comp_text} for {outcome} in "
                      f"{cond_text}{win_text}. {near}{why}", column="condition")
