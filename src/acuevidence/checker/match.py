"""Link claims to the evidence base: analysis sets, published reviews, trials.

:class:`EvidenceBase` wraps the registry tables (``read_csv_dir``) and answers three questions:

* **What does the evidence say** for a condition / comparator / outcome / window?
  :meth:`EvidenceBase.analysis` pools the trials with :func:`acuevidence.report.analysis.analyze`
  (pooled result, GRADE-style certainty, plain-language statement); :meth:`EvidenceBase.review_rows`
  gives the published reviews' pooled results (``reviews.csv``), oriented so that ``favours``
  means "favours acupuncture". Analyses are cached per question, and a cheap index of which
  condition / comparator / outcome combinations have any trial skips the empty ones.
* **Which publication does a citation name?** :meth:`EvidenceBase.match_citation` compares title
  (rapidfuzz ``token_set_ratio``), first author, year, journal and identifiers (PMID, DOI,
  article number) with every review and trial. Any conflict (another first author, a year more
  than one apart, another journal, another article number) rules a candidate out; a match needs
  a near-identical title or two agreeing fields beyond the year. Journal and year alone never
  identify a paper: the candidate is reported as a possibility, not as a match.
* **Does a number trace to anything?** :meth:`EvidenceBase.trace_number` looks for the same count
  of trials or participants among the reviews and trials, consistent with the year and condition
  the sentence names.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..results import json_safe
from ._citations import first_author
from ._lexicon import CONDITION_PATTERNS, FAMILY_OF, journal_key
from .claims import Citation, NumericClaim

__all__ = ["CitationMatch", "EvidenceBase", "EvidenceItem", "NumberTrace", "bundled_evidence"]

LEVELS = ("high", "moderate", "low", "very_low")
TITLE_MATCH = 90.0  # rapidfuzz token_set_ratio for "the same title" (case, punctuation aside)
TOPIC_MATCH = 80.0


@dataclass(frozen=True)
class EvidenceItem:
    """One pooled result, oriented: ``favours`` is True when the estimate favours acupuncture."""

    source: str  # "analysis" (trials pooled here) | "review" (a published pooled result)
    ref: str  # "chronic_nonspecific_lbp / sham / pain / short" or a review's result_id
    label: str
    condition: str
    comparator: str
    outcome: str
    window: str | None
    measure: str
    estimate: float
    ci_lower: float | None
    ci_upper: float | None
    k: int | None
    n: int | None
    certainty: str | None  # high | moderate | low | very_low | None (not graded)
    magnitude: str | None  # none | slight | moderate | large | None (scale unknown)
    favours: bool
    significant: bool
    statement: str = ""
    trials: tuple[str, ...] = ()
    cited: bool = False
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["trials"] = list(self.trials)
        return json_safe(d)

    def describe(self) -> str:
        """One line for reports: the result, its certainty and where it comes from."""
        est = _fmt_effect(self.measure, self.estimate, self.ci_lower, self.ci_upper)
        cert = {"very_low": "very low"}.get(self.certainty or "", self.certainty or "not graded")
        where = (f"{self.k} trial{'s' if self.k != 1 else ''}" if self.k else "")
        if self.source == "analysis":
            return (f"{self.statement} ({est}; {where}; certainty {cert}; pooled from the "
                    f"registry's trials: {', '.join(self.trials[:6])}"
                    f"{' ...' if len(self.trials) > 6 else ''})")
        tag = "cited review" if self.cited else "published review"
        return (f"{tag} {self.label}: {self.comparator.replace('_', ' ')}, {self.outcome}"
                f"{' (' + self.detail + ')' if self.detail else ''}: {est}"
                f"{'; ' + where if where else ''}; certainty {cert}")


@dataclass(frozen=True)
class CitationMatch:
    """The registry record a citation names (``kind`` review or study), and how sure the match is."""

    kind: str
    id: str
    label: str
    conditions: tuple[str, ...]
    agree: tuple[str, ...]
    score: float
    caveat: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "label": self.label,
                "conditions": list(self.conditions), "agree": list(self.agree),
                "score": self.score, "caveat": self.caveat}


@dataclass(frozen=True)
class NumberTrace:
    """Registry records carrying the same number, and near misses that were ruled out (why)."""

    matches: tuple[str, ...]
    ruled_out: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Record:
    kind: str
    id: str
    label: str
    title: str
    year: int | None
    authors: tuple[str, ...]  # surnames, lower case; the first is the first author
    presumed_author: bool
    journal: str | None
    identifiers: frozenset[str]
    conditions: tuple[str, ...]


def _fmt_effect(measure: str, est: float, lo: float | None, hi: float | None) -> str:
    def f(x: float | None) -> str:
        return "-" if x is None or not math.isfinite(x) else f"{x:.2f}"

    ci = f" (95% CI {f(lo)} to {f(hi)})" if lo is not None and hi is not None else ""
    return f"{measure} {f(est)}{ci}"


def _ascii(s: str) -> str:
    import unicodedata

    return "".join(ch for ch in unicodedata.normalize("NFKD", s) if not unicodedata.combining(ch))


class EvidenceBase:
    """The registry, read once, with the lookups the checker needs (see the module docstring)."""

    def __init__(self, tables: dict[str, list[dict[str, Any]]]):
        from ..evidence.store import evidence_version

        self.tables = tables
        self.version = evidence_version(tables)
        self._analysis_cache: dict[tuple, EvidenceItem | None | str] = {}
        self._subsets: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self._available = self._availability()
        self.records = self._records()
        self._review_rows: dict[str, list[dict[str, Any]]] = {}
        for r in tables.get("reviews", []):
            self._review_rows.setdefault(r["review_id"], []).append(r)

    # -- availability ---------------------------------------------------------------------
    def _availability(self) -> set[tuple[str, str, str, str]]:
        """(condition, comparator arm type, outcome, window) where some trial has numbers for an
        acupuncture arm and that comparator in that window: analyses outside it are not run."""
        from ..evidence._windows import WINDOWS, in_window, resolve_timepoint, treatment_weeks

        arms = {a["arm_id"]: a for a in self.tables.get("arms", [])}
        studies = {s["study_id"]: s for s in self.tables.get("studies", [])}
        weeks_of = {sid: treatment_weeks(st)[0] for sid, st in studies.items()}

        def windows(row: dict[str, Any], sid: str) -> set[str]:
            tp, _ = resolve_timepoint(row.get("timepoint_weeks"), row.get("timepoint_label"),
                                      weeks_of.get(sid))
            if tp is None:
                return set()
            return {w for w in WINDOWS if in_window(tp, w, weeks_of.get(sid))[0]}

        per: dict[tuple[str, str, str], set[str]] = {}
        for o in self.tables.get("outcomes", []):
            a = arms.get(o["arm_id"])
            if a is None or o.get("status") == "retracted":
                continue
            for w in windows(o, o["study_id"]):
                per.setdefault((o["study_id"], o["outcome"], w), set()).add(a["arm_type"])
        out: set[tuple[str, str, str, str]] = set()
        for (sid, outcome, w), types in per.items():
            cond = (studies.get(sid) or {}).get("condition")
            if "acupuncture" in types:
                out.update((cond, t, outcome, w) for t in types if t != "acupuncture")
        for c in self.tables.get("contrasts", []):
            a1, a2 = arms.get(c["arm1_id"]), arms.get(c["arm2_id"])
            cond = (studies.get(c["study_id"]) or {}).get("condition")
            if a1 and a2 and c.get("status") != "retracted":
                for w in windows(c, c["study_id"]):
                    for x, y in ((a1, a2), (a2, a1)):
                        if x["arm_type"] == "acupuncture":
                            out.add((cond, y["arm_type"], c["outcome"], w))
        return out

    def _subset(self, condition: str) -> dict[str, list[dict[str, Any]]]:
        """The tables restricted to one condition's trials: the same analysis, a cheaper
        evidence hash (``select`` hashes the tables it is given on every call)."""
        if condition not in self._subsets:
            t = self.tables
            ids = {s["study_id"] for s in t.get("studies", []) if s.get("condition") == condition}
            sub = {name: [r for r in rows if r.get("study_id") in ids]
                   for name, rows in t.items() if name not in ("sources", "reviews")}
            sub["sources"] = t.get("sources", [])
            self._subsets[condition] = sub
        return self._subsets[condition]

    def harm_reports(self) -> list[tuple[str, str]]:
        """(condition, trial label) of every trial that recorded adverse events."""
        studies = {s["study_id"]: s for s in self.tables.get("studies", [])}
        out = set()
        for o in self.tables.get("outcomes", []):
            if o["outcome"] == "adverse_events" and o.get("status") != "retracted":
                s = studies.get(o["study_id"]) or {}
                out.add((str(s.get("condition")), str(s.get("label") or o["study_id"])))
        return sorted(out)

    def has_trials(self, condition: str, comparator: tuple[str, ...], outcome: str,
                   window: str) -> bool:
        return any((condition, c.split(":")[0], outcome, window) in self._available
                   for c in comparator)

    # -- analyses -------------------------------------------------------------------------
    def analysis(self, condition: str, comparator: tuple[str, ...], outcome: str,
                 window: str) -> EvidenceItem | None:
        """The registry's pooled answer to one question (None when no trial answers it)."""
        if condition.startswith("none:") or any(c.startswith("none:") for c in comparator) \
                or outcome.startswith(("none:", "other")) or outcome == "analgesic_use":
            return None
        if not self.has_trials(condition, comparator, outcome, window):
            return None
        key = (condition, comparator, outcome, window)
        if key in self._analysis_cache:
            hit = self._analysis_cache[key]
            return hit if isinstance(hit, EvidenceItem) else None
        from ..report.analysis import BENEFIT_NEGATIVE, analyze
        from ..report.certainty import DEFAULT_MID
        from ..report.statements import magnitude

        comp: str | tuple[str, ...] = comparator[0] if len(comparator) == 1 else comparator
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f = analyze(self._subset(condition), condition=condition, comparator=comp, outcome=outcome,
                            window=window)
        except (ValueError, RuntimeError, ArithmeticError) as e:  # InputError, ConvergenceError
            self._analysis_cache[key] = f"error: {e}"
            return None
        if not f.available or f.result is None:
            self._analysis_cache[key] = None
            return None
        r = f.result
        m = f.aset.measure
        cm = m if m in DEFAULT_MID else "MD"
        benefit_negative = BENEFIT_NEGATIVE.get(outcome, m not in ("RR", "OR"))
        lo, hi = r.ci_lower, r.ci_upper
        sig = lo is not None and hi is not None and (lo > 0 or hi < 0)
        labels = tuple(dict.fromkeys(str(x) for x in f.aset.data.get("label", [])))
        item = EvidenceItem(
            source="analysis", ref=f"{condition} / {'+'.join(comparator)} / {outcome} / {window}",
            label=f"{condition} vs {'+'.join(comparator)}, {outcome}, {window}",
            condition=condition, comparator="+".join(comparator), outcome=outcome, window=window,
            measure=m, estimate=float(r.estimate), ci_lower=lo, ci_upper=hi, k=int(r.k),
            n=f.n_participants, certainty=f.certainty.level if f.certainty else None,
            magnitude=magnitude(r.estimate, cm),
            favours=(r.estimate < 0) == benefit_negative, significant=sig,
            statement=f.statement, trials=labels)
        self._analysis_cache[key] = item
        return item

    # -- published reviews ----------------------------------------------------------------
    def review_rows(self, review_id: str | None = None, *, condition: str | None = None,
                    cited: bool = False) -> list[EvidenceItem]:
        """Published pooled results, of one review or of one condition, oriented."""
        rows = self._review_rows.get(review_id, []) if review_id else [
            r for r in self.tables.get("reviews", []) if r.get("condition") == condition]
        out = []
        for r in rows:
            item = _review_item(r, cited)
            if item is not None:
                out.append(item)
        return out

    # -- citations ------------------------------------------------------------------------
    def _records(self) -> list[_Record]:
        recs: list[_Record] = []
        by_review: dict[str, list[dict[str, Any]]] = {}
        for r in self.tables.get("reviews", []):
            by_review.setdefault(r["review_id"], []).append(r)
        for rid, rows in by_review.items():
            label = " ".join(dict.fromkeys(str(r.get("review_label") or "") for r in rows))
            first = rows[0]
            presumed = re.search(r"presumably ([A-Z][A-Za-z'-]+) et al\.? ((?:19|20)\d{2})"
                                 r"(?: ([A-Z][A-Za-z ]+?))?(?: -|;|\)|$)", label)
            m = re.match(r"^([A-Z][A-Za-z'-]+)(?: [A-Z]{1,3})? (?:19|20)\d{2}\b", label)
            authors: tuple[str, ...] = ()
            if m:
                authors = (_ascii(m.group(1)).lower(),)
            elif presumed:
                authors = (_ascii(presumed.group(1)).lower(),)
            ids = set()
            for m2 in re.finditer(r"\b\d{1,4}:(\d{5,7})\b|PMID (\d{6,9})|"
                                  r"(CD\d{6})|doi (10\.\S+?)[;)]", label):
                if m2.group(1):
                    ids.add(f"article:{m2.group(1)}")
                if m2.group(2):
                    ids.add(f"pmid:{m2.group(2)}")
                if m2.group(3):
                    ids.add(f"cochrane:{m2.group(3)}")
                if m2.group(4):
                    ids.add(f"doi:{m2.group(4).lower()}")
            conds = tuple(dict.fromkeys(str(r["condition"]) for r in rows if r.get("condition")))
            recs.append(_Record("review", rid, label.split(" Acupunct Med 2020 ")[0][:240],
                                _topic_text(label), first.get("year"), authors,
                                bool(presumed) and not m, journal_key(label), frozenset(ids),
                                conds))
        for s in self.tables.get("studies", []):
            if s.get("status") == "retracted":
                continue
            label = str(s.get("label") or s["study_id"])
            m = re.match(r"^([A-Z][A-Za-z'-]+(?:-[A-Z][A-Za-z]+)?)\s+(?:19|20)\d{2}", label)
            ids = set()
            if s.get("pmid"):
                ids.add(f"pmid:{str(s['pmid']).split('.')[0]}")
            if s.get("doi"):
                ids.add(f"doi:{str(s['doi']).lower()}")
            for m2 in re.finditer(r"\b(?:19|20)\d{2}:(\d{5,7})\b|article (\d{5,7})",
                                  str(s.get("journal") or "")):
                ids.add(f"article:{m2.group(1) or m2.group(2)}")
            recs.append(_Record("study", s["study_id"], label, str(s.get("title") or ""),
                                s.get("year"), (_ascii(m.group(1)).lower(),) if m else (), False,
                                journal_key(str(s.get("journal") or "")), frozenset(ids),
                                (str(s.get("condition")),) if s.get("condition") else ()))
        return recs

    def match_citation(self, c: Citation) -> tuple[CitationMatch | None, str]:
        """The record a citation names, or None with a note on near candidates."""
        from rapidfuzz import fuzz

        author = _ascii(c.first_author).lower() if c.first_author else None
        best: CitationMatch | None = None
        near: list[str] = []
        for rec in self.records:
            agree: list[str] = []
            conflict: list[str] = []
            if c.year and rec.year:
                d = abs(int(c.year) - int(rec.year))
                (agree if d == 0 else conflict if d > 1 else agree).append(
                    "year" if d <= 1 else f"year {rec.year}")
            if author and rec.authors:
                (agree if author == rec.authors[0] else conflict).append(
                    "first author" if author == rec.authors[0] else
                    f"first author {rec.authors[0].title()}")
            if c.journal_key and rec.journal:
                (agree if c.journal_key == rec.journal else conflict).append("journal")
            ids = set(c.identifiers)
            same_kind = {i.split(":")[0] for i in ids} & {i.split(":")[0] for i in rec.identifiers}
            if ids & rec.identifiers:
                agree.append("identifier")
            elif same_kind:
                conflict.append("identifier")
            title_score = 0.0
            if c.title and rec.title:
                a, b = c.title.lower(), rec.title.lower()
                title_score = float(fuzz.token_set_ratio(a, b)) if rec.kind == "study" else \
                    float(fuzz.partial_ratio(b, a))
                if rec.kind == "study" and title_score >= TITLE_MATCH:
                    agree.append("title")
                elif rec.kind == "review" and title_score >= TOPIC_MATCH:
                    agree.append("topic")
            if conflict:
                if len(agree) >= 2 or "title" in agree:
                    near.append(f"{rec.id} ({', '.join(agree)} agree; {', '.join(conflict)} "
                                "differ)")
                continue
            strong = {"title", "identifier", "first author"} & set(agree)
            ok = bool(strong) and len(agree) >= 2 or "title" in agree or "identifier" in agree
            if not ok:
                if {"year", "journal"} <= set(agree):
                    near.append(f"{rec.id} (same journal and year, but no title, author or "
                                "identifier to confirm it is the paper cited)")
                continue
            score = len(agree) + title_score / 100
            caveat = ("the registry's own attribution of this review is marked as presumed"
                      if rec.presumed_author else "")
            cand = CitationMatch(rec.kind, rec.id, rec.label, rec.conditions, tuple(agree),
                                 round(score, 3), caveat)
            if best is None or cand.score > best.score:
                best = cand
        note = "" if best else ("; ".join(near[:3]) if near else "")
        return best, note

    # -- numbers --------------------------------------------------------------------------
    def trace_number(self, claim: NumericClaim) -> NumberTrace:
        """Registry records with the same count (and a consistent year and condition)."""
        if claim.unit == "percent":
            return NumberTrace(())
        unit = "participants" if claim.unit == "participants" else "trials"
        matches: list[str] = []
        ruled: list[str] = []
        fams = {FAMILY_OF.get(t, "general") for t in claim.conditions}
        for rid, rows in self._review_rows.items():
            label = str(rows[0].get("review_label") or "")
            values: set[float] = set()
            for r in rows:
                v = r.get("n_participants" if unit == "participants" else "k_studies")
                if v is not None:
                    values.add(float(v))
            for m in re.finditer(r"(\d[\d,]*)\s*(RCTs|trials|studies|participants|individuals|"
                                 r"patients)|n=(\d+)", " ".join(str(r.get('review_label'))
                                                                for r in rows)):
                if m.group(3):
                    if unit == "participants":
                        values.add(float(m.group(3)))
                    continue
                u = "participants" if m.group(2) in ("participants", "individuals", "patients") \
                    else "trials"
                if u == unit:
                    values.add(float(m.group(1).replace(",", "")))
            if claim.value not in values:
                continue
            year = rows[0].get("year")
            rfams = {FAMILY_OF.get(str(r.get("condition")), "general") for r in rows}
            why = []
            if claim.year and year and abs(int(year) - claim.year) > 1:
                why.append(f"published {year}, the page says {claim.year}")
            if fams and not (fams & rfams) and "general" not in rfams | fams:
                why.append(f"about {', '.join(sorted(rfams))}, the sentence about "
                           f"{', '.join(sorted(fams))}")
            (ruled if why else matches).append(f"{rid} ({label[:80]})"
                                               + (f": {'; '.join(why)}" if why else ""))
        if unit == "participants":
            for s in self.tables.get("studies", []):
                if s.get("n_randomized") is not None and float(s["n_randomized"]) == claim.value:
                    matches.append(f"{s['study_id']} (trial, {int(claim.value)} randomised)")
        return NumberTrace(tuple(matches), tuple(ruled))


def _topic_text(label: str) -> str:
    m = re.search(r"acupuncture for ([a-z][a-z -]+)", label, re.IGNORECASE)
    return m.group(0) if m else ""


_POSITIVE = re.compile(r"positive favours acupuncture|higher better|higher = better|"
                       r"positive favours", re.IGNORECASE)
_LOWER_RR = re.compile(r"lower favours acupuncture|persisting", re.IGNORECASE)


def _review_item(r: dict[str, Any], cited: bool) -> EvidenceItem | None:
    from ..report.statements import magnitude

    est = r.get("estimate")
    measure = str(r.get("measure") or "")
    if est is None or measure not in ("MD", "SMD", "RR", "OR"):
        return None
    lo, hi = r.get("ci_lb"), r.get("ci_ub")
    notes = f"{r.get('measure_note') or ''} {r.get('scale') or ''}"
    outcome = str(r.get("outcome") or "other")
    if measure in ("RR", "OR"):
        positive_good = not _LOWER_RR.search(notes)
        null = 1.0
        size = math.log(est) if est > 0 else None
        mag = magnitude(size, "RR") if size is not None else None
    else:
        positive_good = bool(_POSITIVE.search(notes)) or outcome == "response"
        null = 0.0
        mid = _scale_mid(measure, str(r.get("scale") or ""))
        mag = magnitude(est, measure, mid) if mid else None
    favours = (est > null) == positive_good and est != null
    sig = lo is not None and hi is not None and (lo > null or hi < null)
    cert = str(r.get("certainty") or "").lower()
    level = next((lv for lv in LEVELS if cert.startswith((lv.replace("_", " "), lv))), None)
    label = str(r.get("review_label") or r["review_id"])
    short = re.split(r"\s*\(|,", label)[0][:60]
    return EvidenceItem(
        source="review", ref=str(r["result_id"]), label=short, condition=str(r.get("condition")),
        comparator=str(r.get("comparator") or "other"), outcome=outcome,
        window=r.get("window"), measure=measure, estimate=float(est), ci_lower=lo, ci_upper=hi,
        k=int(r["k_studies"]) if r.get("k_studies") is not None else None,
        n=int(r["n_participants"]) if r.get("n_participants") is not None else None,
        certainty=level, magnitude=mag, favours=favours, significant=sig,
        statement=str(r.get("comparison") or ""), cited=cited,
        detail=str(r.get("outcome_detail") or r.get("scale") or ""))


def _scale_mid(measure: str, scale: str) -> float | None:
    if measure == "SMD":
        return 0.5
    s = scale.lower()
    if "0-100" in s:
        return 10.0
    if "0-10" in s:
        return 1.0
    return None


@lru_cache(maxsize=4)
def _bundled(version_key: str) -> EvidenceBase:
    from ..evidence.store import bundled_csv_dir, read_csv_dir

    return EvidenceBase(read_csv_dir(bundled_csv_dir()))


def bundled_evidence() -> EvidenceBase:
    """The bundled registry (read once per process; keyed by the CSV files' modification times)."""
    from ..evidence.store import bundled_csv_dir

    d = bundled_csv_dir()
    key = ";".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in sorted(d.glob("*.csv")))
    return _bundled(key)


def condition_family(terms: tuple[str, ...]) -> set[str]:
    return {FAMILY_OF.get(t, "general") for t in terms}


def conditions_in(text: str) -> tuple[str, ...]:
    found: list[str] = []
    for term in CONDITION_PATTERNS:
        if term.pattern.search(text):
            found.extend(t for t in term.terms if t not in found)
    return tuple(found)


_ = first_author  # re-exported for callers that parse author strings alongside matching
