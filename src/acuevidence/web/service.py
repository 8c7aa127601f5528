"""What the pages and the JSON API show, computed from a registry snapshot.

The web layer stays thin: every answer here is a plain JSON-safe dict built from the library
(:func:`acuevidence.report.analysis.analyze`, :func:`acuevidence.evidence.analysis_sets.select`,
:func:`acuevidence.report.forest.forest_svg`), so the API returns exactly what the pages render.

Parameters arrive as strings and are validated once, here, at the boundary: vocabulary terms with
:func:`~acuevidence.evidence.vocabulary.check_term`, estimator options with the engine's own
``canonical_method`` / ``canonical_test``; a bad value raises
:class:`~acuevidence.errors.InputError` naming the request parameter.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, urlencode

from .. import __version__
from ..errors import InputError
from ..evidence.vocabulary import (
    ARM_TYPES,
    CONDITIONS,
    OUTCOMES,
    ROB_JUDGEMENT_LABELS,
    SHAM_TYPES,
    WINDOWS,
    check_term,
    term_label,
)
from ..meta import METHODS, TESTS, canonical_method, canonical_test
from ..report.analysis import OUTCOME_PHRASES, WINDOW_PHRASES, Finding, analyze, comparator_label
from ..results import json_safe

__all__ = [
    "MEASURES",
    "PI_TYPES",
    "TAU2_CI_TYPES",
    "AnalysisParams",
    "analysis_params",
    "analysis_set_answer",
    "csp_safe_svg",
    "forest_plot",
    "funnel_plot",
    "nearest_selections",
    "pooled_answer",
    "run_analysis",
    "study_detail",
    "trial_rows",
    "vocabulary",
]

PI_TYPES = ("default", "riley", "t", "simple")
TAU2_CI_TYPES = ("QP", "PL", "none")
MEASURES = ("MD", "SMD", "RR", "OR", "RD")
MULTI_ARM = ("split", "combine")
ROB_FILTERS = ("low", "some_concerns", "high", "unclear", "not_recorded")
NOT_RECORDED = "not recorded"
_DEFAULTS: dict[str, Any] = {"method": "REML", "test": "z", "level": 0.95, "tau2_ci": "QP",
                             "pi_type": "default", "multi_arm": "split"}


# ------------------------------------------------------------------------------------------------
# Parameters
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnalysisParams:
    """One analysis question and its estimator options, validated."""

    condition: str
    comparator: tuple[str, ...]
    outcome: str = "pain"
    window: str = "short"
    method: str = "REML"
    test: str = "z"
    level: float = 0.95
    tau2_ci: str = "QP"
    pi_type: str = "default"
    measure: str | None = None
    multi_arm: str = "split"
    include_low_confidence: bool = False

    @property
    def comparator_arg(self) -> str | tuple[str, ...]:
        return self.comparator[0] if len(self.comparator) == 1 else self.comparator

    @property
    def default_options(self) -> bool:
        """True when analyze()'s own fit is the answer (no extra estimator options)."""
        return (self.level == 0.95 and self.tau2_ci == "QP" and self.pi_type == "default"
                and self.method != "GENQ")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["comparator"] = "+".join(self.comparator)
        return d

    def query(self, **changes: Any) -> str:
        """URL query string of these parameters (defaults left out), with ``changes``."""
        d = {**self.as_dict(), **changes}
        out = {}
        for k, v in d.items():
            if v is None or v is False:
                continue
            if _DEFAULTS.get(k, object()) == v and k not in ("outcome", "window"):
                continue
            out[k] = "true" if v is True else v
        return urlencode(out)


def parse_condition(value: Any, field: str = "condition") -> str:
    try:
        return check_term("CONDITIONS", str(value))
    except InputError as e:
        raise InputError(f"condition: {e}", column=field) from None


def parse_comparator(value: Any, field: str = "comparator") -> tuple[str, ...]:
    """``"sham"``, ``"sham:non_penetrating"`` or a group ``"nsaid+other_medication"``."""
    text = str(value or "").strip()
    if not text:
        raise InputError("comparator: give an arm type such as 'sham' (or a group joined with "
                         "'+', e.g. 'nsaid+other_medication').", column=field)
    terms = []
    for term in text.replace(" ", "+").split("+"):
        if not term:
            continue
        base, _, sub = term.partition(":")
        try:
            check_term("ARM_TYPES", base)
            if sub:
                check_term("SHAM_TYPES", sub)
        except InputError as e:
            raise InputError(f"comparator: {e}", column=field) from None
        if base == "acupuncture":
            raise InputError("comparator: acupuncture is what is being compared; choose what it "
                             "is compared with (sham, usual_care, ...).", column=field)
        if sub and base != "sham":
            raise InputError(f"comparator: only 'sham' takes a sham type ('sham:{sub}').",
                             column=field)
        if term not in terms:
            terms.append(term)
    if len(terms) > len(ARM_TYPES):
        raise InputError("comparator: too many terms.", column=field)
    return tuple(terms)


def _choice(value: Any, allowed: tuple[str, ...], field: str) -> str:
    v = str(value)
    if v not in allowed:
        raise InputError(f"{field}: must be one of {', '.join(allowed)}; got {v[:40]!r}.",
                         column=field)
    return v


def parse_level(value: Any) -> float:
    try:
        lv = float(value)
    except (TypeError, ValueError):
        raise InputError(f"level: {str(value)[:40]!r} is not a number (use 0.95 or 95).",
                         column="level") from None
    if 1 < lv < 100:
        lv /= 100
    if not (math.isfinite(lv) and 0.5 <= lv < 1):
        raise InputError("level: the confidence level must be between 0.5 and 0.999 (or 50 "
                         "to 99.9 as a percentage).", column="level")
    return round(lv, 6)


def parse_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("", "0", "false", "no", "off"):
        return False
    raise InputError(f"{field}: use true or false.", column=field)


def analysis_params(*, condition: Any, comparator: Any, outcome: Any = "pain",
                    window: Any = "short", method: Any = "REML", test: Any = "z",
                    level: Any = 0.95, tau2_ci: Any = "QP", pi_type: Any = "default",
                    measure: Any = None, multi_arm: Any = "split",
                    include_low_confidence: Any = False) -> AnalysisParams:
    """Validate the request parameters of an analysis (errors name the parameter)."""
    try:
        out = check_term("OUTCOMES", str(outcome))
    except InputError as e:
        raise InputError(f"outcome: {e}", column="outcome") from None
    try:
        m = canonical_method(str(method))
        t = canonical_test(str(test))
    except InputError as e:
        raise InputError(str(e), column=e.column or "method") from None
    tci = str(tau2_ci).upper() if str(tau2_ci).lower() != "none" else "none"
    return AnalysisParams(
        condition=parse_condition(condition), comparator=parse_comparator(comparator),
        outcome=out, window=_choice(window, WINDOWS, "window"), method=m, test=t,
        level=parse_level(level), tau2_ci=_choice(tci, TAU2_CI_TYPES, "tau2_ci"),
        pi_type=_choice(str(pi_type).lower(), PI_TYPES, "pi_type"),
        measure=None if measure in (None, "") else _choice(str(measure).upper(), MEASURES,
                                                           "measure"),
        multi_arm=_choice(multi_arm, MULTI_ARM, "multi_arm"),
        include_low_confidence=parse_bool(include_low_confidence, "include_low_confidence"))


@functools.cache
def vocabulary() -> dict[str, Any]:
    """Terms and labels the forms and API clients choose from (computed once; read-only)."""
    from ..report.builder import COMPARATORS

    return {
        "conditions": [{"term": c, "label": term_label("CONDITIONS", c)} for c in CONDITIONS],
        "comparators": [{"term": "+".join(g), "label": comparator_label(g)} for g in COMPARATORS],
        "arm_types": [{"term": a, "label": term_label("ARM_TYPES", a)} for a in ARM_TYPES],
        "sham_types": [{"term": s, "label": term_label("SHAM_TYPES", s)} for s in SHAM_TYPES],
        "outcomes": [{"term": o, "label": term_label("OUTCOMES", o)} for o in OUTCOMES],
        "windows": [{"term": w, "label": term_label("WINDOWS", w), "phrase": WINDOW_PHRASES[w]}
                    for w in WINDOWS],
        "risk_of_bias": [{"term": r, "label": ROB_JUDGEMENT_LABELS.get(r, NOT_RECORDED)}
                         for r in ROB_FILTERS],
        "methods": list(METHODS), "tests": list(TESTS), "pi_types": list(PI_TYPES),
        "tau2_ci_types": list(TAU2_CI_TYPES), "measures": list(MEASURES),
    }


# ------------------------------------------------------------------------------------------------
# Analyses
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Analysis:
    """A finding plus the pooled result under the requested estimator options."""

    params: AnalysisParams
    finding: Finding
    result: Any  # MetaResult or None

    @property
    def available(self) -> bool:
        return self.result is not None


def run_analysis(tables: dict[str, list[dict[str, Any]]], p: AnalysisParams) -> Analysis:
    """analyze() for the question; refit with the extra estimator options where asked.

    GENQ needs weights, which analyze() does not pass: the certainty and statement then come
    from the DerSimonian-Laird fit (GENQ with inverse-variance weights *is* DL) and the shown
    result is the GENQ fit with weights 1/vi. The certainty always rests on the 95% CI with the
    default prediction interval, as GRADE rates it; ``level``, ``tau2_ci`` and ``pi_type`` change
    the pooled result shown.
    """
    base_method = "DL" if p.method == "GENQ" else p.method
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finding = analyze(tables, condition=p.condition, comparator=p.comparator_arg,
                          outcome=p.outcome, window=p.window, method=base_method, test=p.test,
                          measure=p.measure, multi_arm=p.multi_arm,
                          include_low_confidence=p.include_low_confidence)
        if not finding.available:
            return Analysis(p, finding, None)
        if p.default_options:
            return Analysis(p, finding, finding.result)
        kwargs: dict[str, Any] = {"method": p.method, "test": p.test, "level": p.level,
                                  "tau2_ci": None if p.tau2_ci == "none" else p.tau2_ci,
                                  "pi_type": p.pi_type}
        if p.method == "GENQ":
            kwargs["weights"] = 1.0 / finding.aset.data["vi"].to_numpy(float)
        result = finding.aset.pool(**kwargs)
    return Analysis(p, finding, result)


_NEAREST = re.compile(r"(window|comparator|outcome)='([^']+)' \((\d+) stud")


def nearest_selections(p: AnalysisParams, message: str | None) -> list[dict[str, Any]]:
    """The registry's "nearest available" suggestions as parameter sets (for links)."""
    out = []
    for kind, value, n in _NEAREST.findall(message or ""):
        changed = {kind: value}
        if kind == "comparator":
            label = f"acupuncture vs {comparator_label(tuple(value.split('+')))}"
        elif kind == "window":
            label = WINDOW_PHRASES.get(value, value)
        else:
            label = OUTCOME_PHRASES.get(value, value.replace("_", " "))
        out.append({"kind": kind, "value": value, "studies": int(n), "label": label,
                    "query": p.query(**changed)})
    return out


def question_dict(p: AnalysisParams) -> dict[str, Any]:
    return {"condition": p.condition, "condition_label": term_label("CONDITIONS", p.condition),
            "comparator": "+".join(p.comparator), "comparator_label":
            comparator_label(p.comparator), "outcome": p.outcome,
            "outcome_label": term_label("OUTCOMES", p.outcome), "window": p.window,
            "window_label": WINDOW_PHRASES[p.window]}


def pooled_answer(tables: dict[str, list[dict[str, Any]]], version: str,
                  p: AnalysisParams) -> dict[str, Any]:
    """The pooled result, certainty with reasons, statement and absolute effects (JSON-safe)."""
    a = run_analysis(tables, p)
    f = a.finding
    opts = {k: getattr(p, k) for k in ("method", "test", "level", "tau2_ci", "pi_type",
                                       "measure", "multi_arm", "include_low_confidence")}
    out: dict[str, Any] = {"available": a.available, "evidence_version": version,
                           "software_version": __version__, "question": question_dict(p),
                           "options": opts, "query": p.query()}
    if not a.available:
        out.update(empty_message=f.empty_message, nearest=nearest_selections(p, f.empty_message),
                   result=None, certainty=None, statement=None, absolute=None,
                   n_participants=None, analysis_set=None, notes=[])
        return json_safe(out)
    cert = f.certainty
    out.update(
        empty_message=None, nearest=[],
        result=a.result.to_dict(),
        certainty={**cert.to_dict(), "reasons": cert.reasons},
        statement=f.statement, absolute=f.absolute, n_participants=f.n_participants,
        analysis_set=_set_summary(f, a.result), notes=list(f.notes) + list(a.result.warnings),
    )
    return json_safe(out)


def _set_summary(f: Finding, result: Any) -> dict[str, Any]:
    aset = f.aset
    rows = []
    weights = list(result.weights)
    for i, r in enumerate(aset.data.to_dict(orient="records")):
        rows.append({**{k: (None if isinstance(v, float) and math.isnan(v) else v)
                        for k, v in r.items()},
                     "weight": weights[i] if i < len(weights) else None})
    return {"measure": aset.measure, "orientation": aset.orientation,
            "value_type": aset.value_type, "scale": aset.scale, "k": aset.k,
            "n_studies": aset.n_studies, "evidence_version": aset.evidence_version,
            "rows": rows, "log": aset.log}


class NoTrials(Exception):
    """An empty selection (the API answers 404 with the registry's message)."""


def _select(tables: dict[str, list[dict[str, Any]]], p: AnalysisParams) -> Any:
    from ..evidence.analysis_sets import select

    try:
        return select(tables, condition=p.condition, comparator=p.comparator_arg,
                      outcome=p.outcome, window=p.window, measure=p.measure,
                      multi_arm=p.multi_arm, include_low_confidence=p.include_low_confidence)
    except InputError as e:
        if "no trials compare" in str(e):
            raise NoTrials(str(e)) from None
        raise


def analysis_set_answer(tables: dict[str, list[dict[str, Any]]],
                        p: AnalysisParams) -> dict[str, Any]:
    """The analysis set itself (rows with provenance and the decision log)."""
    return _select(tables, p).to_dict()


def analysis_set_csv(tables: dict[str, list[dict[str, Any]]], p: AnalysisParams) -> str:
    """The analysis set as metafor-ready CSV text (``AnalysisSet.metafor_frame``)."""
    return _select(tables, p).metafor_frame().to_csv(index=False, lineterminator="\n")


# ------------------------------------------------------------------------------------------------
# Plots
# ------------------------------------------------------------------------------------------------
_STYLE_ATTR = re.compile(r'\sstyle="([^"]*)"')


def csp_safe_svg(svg: str) -> str:
    """Rewrite ``style="a:b;c:d"`` attributes as SVG presentation attributes ``a="b" c="d"``.

    A strict Content-Security-Policy (no ``'unsafe-inline'``) blocks style attributes, also in
    inline SVG; the properties the plots use (font-family, font-size, font-weight) are SVG
    presentation attributes too, so the drawing is unchanged. The values were already escaped
    for an attribute, so they are copied as they are.
    """
    def repl(m: re.Match[str]) -> str:
        decls = [d.split(":", 1) for d in m.group(1).split(";") if ":" in d]
        return "".join(f' {k.strip()}="{v.strip()}"' for k, v in decls
                       if re.fullmatch(r"[a-z-]+", k.strip()))

    return _STYLE_ATTR.sub(repl, svg)


def forest_plot(a: Analysis) -> str:
    """The RevMan-style forest plot (report/forest.py) with study links to the study pages."""
    from ..report.builder import _forest_columns
    from ..report.forest import forest_svg

    f, p = a.finding, a.params
    title = (f"Acupuncture vs {comparator_label(p.comparator)}: "
             f"{OUTCOME_PHRASES.get(p.outcome, p.outcome)}, {WINDOW_PHRASES[p.window]}")
    # Short labels: the right-hand one must fit inside the plot's fixed width.
    favours = ("Favours acupuncture", "Favours control")
    if f.aset.measure in ("RR", "OR") and p.outcome == "response":
        favours = ("Favours control", "Favours acupuncture")
    links = [f"/studies/{quote(str(sid), safe='')}" for sid in f.aset.data["study_id"]]
    svg = forest_svg(a.result, title=title, measure=f.aset.measure,
                     columns=_forest_columns(f), favours=favours, links=links)
    return csp_safe_svg(svg)


def funnel_plot(a: Analysis) -> str:
    from ..report.forest import funnel_svg

    return csp_safe_svg(funnel_svg(a.result, title="Funnel plot", measure=a.finding.aset.measure))


# ------------------------------------------------------------------------------------------------
# Trials: the explorer's table and the study pages
# ------------------------------------------------------------------------------------------------
def _rob_summary(rows: list[dict[str, Any]]) -> str:
    """The overall judgement where recorded (an 'overall' domain, else the worst domain)."""
    if not rows:
        return NOT_RECORDED
    overall = [r["judgement"] for r in rows if str(r.get("domain", "")).lower() == "overall"]
    order = ["low", "unclear", "some_concerns", "high"]
    pool = overall or [r["judgement"] for r in rows]
    worst = max(pool, key=lambda j: order.index(j) if j in order else 0)
    return worst


def trial_rows(tables: dict[str, list[dict[str, Any]]], *, condition: str | None = None,
               comparator: tuple[str, ...] | None = None, outcome: str | None = None,
               window: str | None = None, rob: str | None = None) -> list[dict[str, Any]]:
    """Active trials matching the filters, one row each, with provenance (URL + locator)."""
    from ..evidence._windows import in_window, resolve_timepoint, treatment_weeks

    arms = defaultdict(list)
    for a in tables["arms"]:
        arms[a["study_id"]].append(a)
    values = defaultdict(list)
    for v in tables["outcomes"]:
        if v["status"] == "active":
            values[v["study_id"]].append(v)
    for c in tables["contrasts"]:
        if c["status"] == "active":
            values[c["study_id"]].append(c)
    robs = defaultdict(list)
    for r in tables["risk_of_bias"]:
        robs[r["study_id"]].append(r)
    urls = {s["source_id"]: s.get("url") for s in tables["sources"]}
    out = []
    for s in sorted(tables["studies"], key=lambda s: (s["condition"], s["label"])):
        if s["status"] != "active" or (condition and s["condition"] != condition):
            continue
        sarms = arms.get(s["study_id"], [])
        comps = sorted({a["arm_type"] for a in sarms if a["arm_type"] != "acupuncture"})
        if comparator:
            want = [t.partition(":") for t in comparator]
            if not any(a["arm_type"] == base and (not sub or a.get("sham_type") == sub)
                       for a in sarms for base, _, sub in want):
                continue
        rows = [v for v in values.get(s["study_id"], [])
                if outcome is None or v["outcome"] == outcome]
        if outcome and not rows:
            continue
        if window:
            treat, _ = treatment_weeks(s)
            hit = False
            for v in rows:
                tp, _ = resolve_timepoint(v.get("timepoint_weeks"), v.get("timepoint_label"),
                                          treat)
                if tp is not None and (tp.weeks is not None or window == "immediate") \
                        and in_window(tp, window, treat)[0]:
                    hit = True
                    break
            if not hit:
                continue
        judgement = _rob_summary(robs.get(s["study_id"], []))
        if rob and (judgement if judgement != NOT_RECORDED else "not_recorded") != rob:
            continue
        out.append({
            "study_id": s["study_id"], "label": s["label"], "year": s.get("year"),
            "condition": s["condition"], "condition_label": term_label("CONDITIONS",
                                                                       s["condition"]),
            "comparators": comps,
            "comparator_labels": [term_label("ARM_TYPES", c) for c in comps],
            "outcomes": sorted({v["outcome"] for v in values.get(s["study_id"], [])}),
            "n_randomized": s.get("n_randomized"), "n_sessions": s.get("n_sessions"),
            "risk_of_bias": judgement if judgement == NOT_RECORDED
            else ROB_JUDGEMENT_LABELS.get(judgement, judgement),
            "source_id": s.get("source_id"), "source_url": urls.get(s.get("source_id")),
            "locator": s.get("locator"),
        })
    return out


def study_detail(tables: dict[str, list[dict[str, Any]]], study_id: str) -> dict[str, Any] | None:
    """Everything the registry holds about one study, with every source it cites."""
    study = next((s for s in tables["studies"] if s["study_id"] == study_id), None)
    if study is None:
        return None

    def mine(table: str, key: str) -> list[dict[str, Any]]:
        return sorted((dict(r) for r in tables[table] if r["study_id"] == study_id),
                      key=lambda r: str(r[key]))

    arms, outcomes, contrasts = mine("arms", "arm_id"), mine("outcomes", "value_id"), \
        mine("contrasts", "contrast_id")
    rob = mine("risk_of_bias", "rob_id")
    cited = {study.get("source_id")} | {r.get("source_id") for r in arms + outcomes + contrasts
                                        + rob}
    sources = sorted((dict(s) for s in tables["sources"] if s["source_id"] in cited),
                     key=lambda s: s["source_id"])
    return json_safe({
        "study": dict(study), "condition_label": term_label("CONDITIONS", study["condition"]),
        "arms": arms, "outcomes": outcomes, "contrasts": contrasts, "risk_of_bias": rob,
        "risk_of_bias_summary": _rob_summary(rob), "sources": sources,
    })
