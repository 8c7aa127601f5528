"""Applied networks: acupuncture and its alternatives for chronic low back pain and knee OA.

:func:`evidence_networks` builds, from the evidence registry, one network per condition for pain
in the short-term window, with treatments = arm types (acupuncture, sham, usual care,
conventional therapy, NSAID, exercise, physiotherapy, TENS, waiting list / no treatment, self
care, massage, other medication). Arms of type ``other`` (combinations, other techniques) are
left out: they are no single treatment.

Harmonisation is :func:`acuevidence.evidence.analysis_sets.select`'s, pair of arm types by pair
of arm types (one arm type taking the role of "acupuncture"): mean differences on the common
0-100 pain scale (0-10 scales multiplied by 10), oriented so that a negative difference favours
the first treatment of the pair, SDs derived as that module documents, change and final values
mixed for MD (Cochrane Handbook 10.5.2), arms of one type within a study combined (Handbook
6.5.2.10), and the short-term window 0-13 weeks after randomisation with the time point closest
to 3 months (``timepoint="latest"`` within the window). A multi-arm study enters with all its
pairs, computed from its harmonised arm-level numbers, so that its covariance is exact; where
its comparisons do not share one set of arm-level numbers (different instruments or value types
per pair, or contrasts only), it enters with the one comparison of acupuncture that has the
smallest variance, and the result's log says so. Only the connected part of the network that
contains acupuncture is analysed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..printer import Report, fmt_number, fmt_p
from ..results import json_safe
from ._data import components
from .consistency import InconsistencyResult, NodeSplitResult, design_by_treatment, node_split
from .model import NetworkResult, network_meta_analysis
from .ranking import RankingResult, rank_treatments

__all__ = ["NETWORKS", "NODES", "EvidenceNetwork", "evidence_networks"]

# arm type -> network node
NODES: dict[str, str] = {
    "acupuncture": "acupuncture", "sham": "sham", "usual_care": "usual_care",
    "conventional": "conventional", "nsaid": "nsaid", "exercise": "exercise",
    "physiotherapy": "physiotherapy", "tens": "tens", "waitlist": "waitlist/no_treatment",
    "no_treatment": "waitlist/no_treatment", "self_care": "self_care", "massage": "massage",
    "other_medication": "other_medication",
}
# network name -> (title, registry conditions)
NETWORKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "chronic_low_back_pain": ("Chronic non-specific low back pain", ("chronic_nonspecific_lbp",)),
    "knee_osteoarthritis": ("Knee osteoarthritis", ("knee_oa",)),
}
OUTCOME, WINDOW, MEASURE, REFERENCE = "pain", "short", "MD", "acupuncture"
# Largest difference between two copies of one arm's numbers that still counts as the same arm.
TOL_SAME_ARM = 1e-9


@dataclass(frozen=True, eq=False)
class EvidenceNetwork:
    """One applied network: the data, the fit, its consistency checks and the caveats as text.

    ``contrasts`` holds the rows analysed (study, treat1, treat2, TE = treat1 minus treat2 on
    the 0-100 pain scale, seTE, n1, n2, source); ``result`` etc. are None when the registry has
    too little to build a network (``contents`` says why). ``contents``, ``indirectness`` and
    ``inconsistency_text`` are plain sentences for the report and the web app.
    """

    name: str
    title: str
    conditions: tuple[str, ...]
    outcome: str
    window: str
    measure: str
    contrasts: pd.DataFrame
    result: NetworkResult | None
    inconsistency: InconsistencyResult | None
    split: NodeSplitResult | None
    ranking: RankingResult | None
    contents: str
    indirectness: str
    inconsistency_text: str
    evidence_version: str
    log: tuple[dict[str, Any], ...] = field(default=())

    @property
    def caveats(self) -> tuple[str, str]:
        """(indirectness, inconsistency) caveats."""
        return self.indirectness, self.inconsistency_text

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: criteria, texts, rows, the fit, consistency and ranking."""
        return json_safe({
            "name": self.name, "title": self.title, "conditions": list(self.conditions),
            "outcome": self.outcome, "window": self.window, "measure": self.measure,
            "evidence_version": self.evidence_version, "contents": self.contents,
            "indirectness": self.indirectness, "inconsistency": self.inconsistency_text,
            "contrasts": self.contrasts.to_dict(orient="records"),
            "result": self.result.to_dict(studies=False) if self.result else None,
            "consistency": self.inconsistency.to_dict() if self.inconsistency else None,
            "node_split": self.split.to_dict() if self.split else None,
            "ranking": self.ranking.to_dict() if self.ranking else None,
            "log": list(self.log)})

    def graph_svg(self) -> str | None:
        from .plots import network_graph_svg

        return network_graph_svg(self.result, title=f"{self.title}: pain, short term") \
            if self.result else None

    def forest_svg(self) -> str | None:
        from .plots import forest_svg

        if self.result is None:
            return None
        return forest_svg(self.result, REFERENCE, sort="estimate",
                          title=f"{self.title}: every treatment vs acupuncture (pain 0-100, MD)",
                          favours=("Favours the treatment", "Favours acupuncture"))

    def summary(self, fmt: str = "text") -> str:
        rep = Report(f"Network: {self.title} ({self.outcome}, {self.window} term, "
                     f"{self.measure} on 0-100)")
        rep.add_section("", [("contents", self.contents), ("indirectness", self.indirectness),
                             ("inconsistency", self.inconsistency_text),
                             ("evidence version", self.evidence_version)])
        if self.result is not None:
            rep.add_table("Each treatment vs acupuncture (negative favours the treatment)",
                          self.result.to_frame()[["treatment", "estimate", "ci_lower",
                                                  "ci_upper", "k_direct"]])
        if self.ranking is not None:
            rep.notes.append("Ranking caution: " + self.ranking.caution)
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()


def _tables(source: Any) -> Mapping[str, list[dict[str, Any]]]:
    from ..evidence.store import Registry

    if isinstance(source, Registry):
        return source.all_tables()
    if isinstance(source, Mapping):
        return source
    raise InputError("The 'source' must be a Registry or the dict of read_csv_dir(); got "
                     f"{type(source).__name__}.", column="source")


def _finite(v: Any) -> bool:
    return v is not None and isinstance(v, int | float | np.floating) and math.isfinite(v)


def evidence_networks(source: Any) -> dict[str, EvidenceNetwork]:
    """Networks for chronic low back pain and knee osteoarthritis (pain, short term).

    Parameters
    ----------
    source : Registry or dict
        The evidence registry, or the tables of
        ``acuevidence.evidence.store.read_csv_dir(bundled_csv_dir())``.

    Returns
    -------
    dict of str to EvidenceNetwork
        Keys ``"chronic_low_back_pain"`` and ``"knee_osteoarthritis"``.
    """
    from ..evidence.store import evidence_version

    tables = _tables(source)
    version = evidence_version(tables)
    return {name: _network(tables, name, title, conds, version)
            for name, (title, conds) in NETWORKS.items()}


def _pair_rows(tables, conds, version):
    """Rows of every pair of node types, harmonised by analysis_sets.select."""
    from ..evidence.analysis_sets import select

    studies = {s["study_id"]: s for s in tables.get("studies", []) if s.get("condition") in conds}
    types_of: dict[str, set[str]] = {}
    for a in tables.get("arms", []):
        if a["study_id"] in studies and a.get("arm_type") in NODES:
            types_of.setdefault(a["study_id"], set()).add(NODES[a["arm_type"]])
    nodes = sorted({t for ts in types_of.values() for t in ts})
    arm_types = {n: tuple(sorted(k for k, v in NODES.items() if v == n)) for n in nodes}
    log: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            if not any(a in ts and b in ts for ts in types_of.values()):
                continue
            try:
                s = select(tables, condition=conds, comparator=arm_types[b],
                           acupuncture_arm_types=arm_types[a], outcome=OUTCOME, window=WINDOW,
                           measure=MEASURE, multi_arm="combine", timepoint="latest")
            except InputError as exc:
                log.append({"study_id": None, "action": "excluded",
                            "reason": f"{a} vs {b}: {str(exc).split('. Nearest')[0]}"})
                continue
            if s.scale != "pain 0-100":
                log.append({"study_id": None, "action": "excluded",
                            "reason": f"{a} vs {b}: only on {s.scale!r}, not the 0-100 pain "
                                      "scale of the network"})
                continue
            for rec in s.data.to_dict(orient="records"):
                rec["treat1"], rec["treat2"] = a, b
                rows.append(rec)
            both = {sid for sid, ts in types_of.items() if a in ts and b in ts}
            log.extend({**e, "reason": f"{a} vs {b}: {e['reason']}"} for e in s.log
                       if e["study_id"] in both
                       and e["action"] in ("excluded", "harmonised", "combined", "derived"))
    return rows, log, types_of


def _arm_numbers(rec: dict[str, Any], side: int) -> tuple[float, float, float, str] | None:
    raw = (rec.get(f"mean_{side}"), rec.get(f"sd_{side}"), rec.get(f"n_{side}"))
    if not all(_finite(v) for v in raw):
        return None
    m, sd, n = (float(v) for v in raw)  # type: ignore[arg-type]
    if sd <= 0 or n <= 0:
        return None
    return m, sd, n, f"{rec.get('value_type')}|{rec.get(f'arm_{side}')}"


def _study_contrasts(study: str, recs: list[dict[str, Any]], log: list[dict[str, Any]]):
    """Contrast rows of one study: all pairs from arm-level numbers, or a single comparison."""
    def row(t1, t2, te, v, n1, n2, src):
        return {"study": study, "treat1": t1, "treat2": t2, "TE": te, "seTE": math.sqrt(v),
                "n1": n1, "n2": n2, "source": src}

    if len(recs) == 1:
        r = recs[0]
        return [row(r["treat1"], r["treat2"], r["yi"], r["vi"], r.get("n_1"), r.get("n_2"),
                    r.get("url") or r.get("source_id"))]
    arms: dict[str, tuple[float, float, float, str]] = {}
    ok = True
    for r in recs:
        for side, node in ((1, r["treat1"]), (2, r["treat2"])):
            nums = _arm_numbers(r, side)
            if nums is None:
                ok = False
                break
            if node in arms:
                old = arms[node]
                if old[3] != nums[3] or max(abs(x - y) for x, y in zip(old[:3], nums[:3],
                                                                        strict=True)) > TOL_SAME_ARM:
                    ok = False
                    break
            arms[node] = nums
        if not ok:
            break
    if ok:
        out = []
        nodes = sorted(arms)
        src = recs[0].get("url") or recs[0].get("source_id")
        for i, a in enumerate(nodes):
            for b in nodes[i + 1:]:
                ma, sa, na, _ = arms[a]
                mb, sb, nb, _ = arms[b]
                out.append(row(a, b, ma - mb, sa * sa / na + sb * sb / nb, na, nb, src))
        return out
    acup = [r for r in recs if "acupuncture" in (r["treat1"], r["treat2"])] or recs
    best = min(acup, key=lambda r: r["vi"])
    log.append({"study_id": study, "action": "excluded",
                "reason": f"multi-arm study without one set of arm-level numbers for all its "
                          f"comparisons: entered with {best['treat1']} vs {best['treat2']} only"})
    return [row(best["treat1"], best["treat2"], best["yi"], best["vi"], best.get("n_1"),
                best.get("n_2"), best.get("url") or best.get("source_id"))]


def _fill_n(rows: list[dict[str, Any]], tables) -> None:
    """Arm sizes where a contrast row has none: the randomised n of its arm(s) (graph only)."""
    n_rand = {a["arm_id"]: a.get("n_randomized") for a in tables.get("arms", [])}
    for r in rows:
        for side in (1, 2):
            if _finite(r.get(f"n_{side}")):
                continue
            ids = [i.strip() for i in str(r.get(f"arm_{side}") or "").split(" + ") if i.strip()]
            ns = [n_rand.get(i) for i in ids]
            if ids and all(_finite(n) for n in ns):
                r[f"n_{side}"] = float(np.sum([float(n) for n in ns]))  # type: ignore[arg-type]


def _network(tables, name, title, conds, version) -> EvidenceNetwork:
    rows, log, types_of = _pair_rows(tables, conds, version)
    _fill_n(rows, tables)
    by_study: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_study.setdefault(r["study_id"], []).append(r)
    contrasts: list[dict[str, Any]] = []
    for sid in sorted(by_study):
        contrasts.extend(_study_contrasts(sid, by_study[sid], log))
    frame = pd.DataFrame(contrasts, columns=["study", "treat1", "treat2", "TE", "seTE", "n1",
                                             "n2", "source"])
    empty = {"name": name, "title": title, "conditions": tuple(conds), "outcome": OUTCOME,
                 "window": WINDOW, "measure": MEASURE, "evidence_version": version}
    trts = sorted(set(frame["treat1"]) | set(frame["treat2"]))
    if REFERENCE in trts:
        idx = {t: i for i, t in enumerate(trts)}
        arms = [tuple(sorted({idx[t] for t in g[["treat1", "treat2"]].to_numpy().ravel()}))
                for _, g in frame.groupby("study", sort=False)]
        comps = components(len(trts), arms)
        main = next(c for c in comps if idx[REFERENCE] in c)
        keep = {trts[i] for i in main}
        dropped = sorted(set(trts) - keep)
        if dropped:
            gone = frame[~frame["treat1"].isin(keep)]
            log.append({"study_id": None, "action": "excluded",
                        "reason": f"not connected to acupuncture: {', '.join(dropped)} (studies "
                                  f"{', '.join(sorted(set(gone['study'])))})"})
            frame = frame[frame["treat1"].isin(keep)].reset_index(drop=True)
        trts = sorted(keep)
    registry_types = sorted({t for ts in types_of.values() for t in ts})
    if len(trts) < 2:
        why = (f"The registry has no {OUTCOME} data in the {WINDOW}-term window on the 0-100 "
               f"scale that connect acupuncture with another treatment for "
               f"{title.lower()}; arm types in the registry for this condition: "
               f"{', '.join(registry_types) or 'none'}.")
        return EvidenceNetwork(contrasts=frame, result=None, inconsistency=None, split=None,
                               ranking=None, contents=why, indirectness="-",
                               inconsistency_text="-", log=tuple(log), **empty)
    res = network_meta_analysis(frame, measure=MEASURE, method="REML", reference=REFERENCE,
                                n1="n1", n2="n2")
    inc = design_by_treatment(res)
    split = node_split(res)
    ranking = rank_treatments(res, "good")
    return EvidenceNetwork(
        contrasts=frame, result=res, inconsistency=inc, split=split, ranking=ranking,
        contents=_contents(res, registry_types, title),
        indirectness=_indirectness(res, registry_types),
        inconsistency_text=_inconsistency(res, inc, split), log=tuple(log), **empty)


def _contents(res: NetworkResult, registry_types: list[str], title: str) -> str:
    net = res.network
    parts = net.participants()
    n_total = int(np.nansum(parts)) if np.any(np.isfinite(parts)) else None
    designs = res.design_frame()
    dtext = "; ".join(f"{d} ({k} {'study' if k == 1 else 'studies'})"
                      for d, k in zip(designs["design"], designs["k"], strict=True))
    missing = sorted(set(registry_types) - set(res.treatments))
    text = (f"{title}, pain in the short term (0-13 weeks), mean difference on a 0-100 scale: "
            f"{res.k} {'trial' if res.k == 1 else 'trials'}"
            + (f" ({res.n_multiarm} multi-arm)" if res.n_multiarm else "")
            + (f" with {n_total:,} participants (as analysed, else as randomised)"
               if n_total else "")
            + f", {res.n_treatments} treatments ({', '.join(res.treatments)}), "
            f"{res.n_designs} designs: {dtext}.")
    if missing:
        text += (f" Arm types in the registry for this condition without usable short-term pain "
                 f"data on the 0-100 scale: {', '.join(missing)}.")
    return text


def _indirectness(res: NetworkResult, registry_types: list[str]) -> str:
    counts = res.network.study_counts()
    T = res.n_treatments
    a = res.index(REFERENCE)
    indirect = [res.treatments[j] for j in range(T) if j != a and counts[a, j] == 0]
    single = [f"{res.treatments[i]} vs {res.treatments[j]}" for i in range(T)
              for j in range(i + 1, T) if counts[i, j] == 1]
    pooled = {"sham": "sham procedures of several kinds (penetrating, non-penetrating, "
                      "non-needle)",
              "usual_care": "'usual care' as delivered in different health systems",
              "conventional": "'conventional therapy' of different content",
              "waitlist/no_treatment": "waiting list and no treatment",
              "acupuncture": "acupuncture of different styles, doses and practitioners"}
    present = [v for k, v in pooled.items() if k in res.treatments]
    text = ("Treatment nodes pool different interventions (" + "; ".join(present) + "), so "
            "comparisons through them assume that these are exchangeable across trials "
            "(transitivity), which the trials do not show. ")
    if indirect:
        text += ("No trial compares acupuncture directly with " + ", ".join(indirect)
                 + "; those estimates rest on indirect evidence only. ")
    else:
        text += "Every treatment has at least one direct comparison with acupuncture. "
    if single:
        text += "Comparisons resting on a single trial: " + ", ".join(single) + ". "
    text += ("Short-term pain only (0-13 weeks); other conditions (low back pain of unspecified "
             "duration, mixed knee/hip osteoarthritis) are left out rather than pooled.")
    return text


def _inconsistency(res: NetworkResult, inc: InconsistencyResult, split: NodeSplitResult) -> str:
    if inc.q_between_df == 0:
        text = ("Consistency cannot be checked: the network has no closed loop of different "
                "designs, so direct and indirect evidence never meet. ")
    else:
        text = (f"Design-by-treatment interaction: Q between designs = "
                f"{fmt_number(inc.q_between, 2)} (df = {inc.q_between_df}, p = "
                f"{fmt_p(inc.q_between_p_value)}); random-effects Wald test chi2 = "
                f"{fmt_number(inc.statistic, 2)} (p = {fmt_p(inc.p_value)}). ")
        t = split.table
        flagged = t[t["splittable"] & (t["p_value"] < 0.10)]
        if len(flagged):
            text += ("Direct and indirect evidence disagree (p < 0.10) for "
                     + ", ".join(f"{a} vs {b} (difference {fmt_number(d, 1)} points)"
                                 for a, b, d in zip(flagged["treat1"], flagged["treat2"],
                                                    flagged["difference"], strict=True))
                     + ". ")
        text += "These tests have little power with few trials per comparison; a non-significant "
        text += "result does not show consistency. "
    if res.q_df == 0:
        text += ("Heterogeneity (tau^2) cannot be estimated: no comparison is replicated, so "
                 "the random-effects model equals the common-effect model.")
    else:
        text += (f"Heterogeneity: tau^2 = {fmt_number(res.tau2, 2)} (tau = "
                 f"{fmt_number(res.tau, 2)} points), I^2 = {fmt_number(res.i2, 0)}%.")
    return text
