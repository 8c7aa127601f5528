"""RevMan 5 review files (``.rm5``): export study data, import a review into the registry.

:func:`export_rm5` writes the arm-level data of the registry (or of analysis sets) as a review
RevMan 5 opens: one COMPARISON per pair of arm types, DICH outcomes for events, CONT outcomes for
means and SDs, IV (generic inverse variance) outcomes for contrast-only data, one subgroup per
time point. :func:`import_rm5` reads a review (RevMan's or ours) into registry rows and adds them
through the registry's audited write path, all or nothing. The file format itself, and the public
material it follows, are in :mod:`acuevidence.evidence._rm5_xml`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree as ET

from scipy.stats import norm

from ..errors import InputError
from . import vocabulary as voc
from ._rm5_xml import (
    INTEGER_ATTRS,
    IV_MEASURE_NAMES,
    KINDS,
    MEASURE_ALIASES,
    RATIO_MEASURES,
    REQUIRED_ATTRS,
    Comparison,
    Data,
    Node,
    Outcome,
    Study,
    decode_study_id,
    infer_direction,
    number_attr,
    parse_timepoint,
    parse_xml,
    review_xml,
    timepoint_name,
)
from .interchange import ImportResult, PendingRow, write_rows
from .store import Registry

__all__ = ["MAX_RM5_BYTES", "Rm5Export", "Rm5Import", "export_rm5", "import_rm5"]

MAX_RM5_BYTES = 256 * 1024 * 1024
"""Largest ``.rm5`` file read (bytes); large Cochrane reviews are tens of MB."""

_CHANGE_MARK = " (change from baseline)"
_CHANGE_WORDS = re.compile(r"change\s+(from|since|vs\.?|versus)\s+baseline|change\s+scores?",
                           re.IGNORECASE)
_KEYS = {"sources": "source_id", "studies": "study_id", "arms": "arm_id",
         "outcomes": "value_id", "contrasts": "contrast_id"}


def _slug(text: str) -> str:
    """Lowercase ASCII slug as the registry's ids are (``Smith 2010a`` -> ``smith_2010a``).

    ``_`` and ``-`` are kept, so a registry id written by :func:`export_rm5` comes back as it was.
    """
    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9_-]+", "_", t).strip("_-") or "x"


def _z(level: float) -> float:
    return float(norm.ppf(0.5 + level / 2))


@dataclass(frozen=True)
class Rm5Export:
    """What :func:`export_rm5` wrote.

    Attributes
    ----------
    path : Path
        The file.
    n_studies, n_comparisons, n_outcomes, n_data : int
        Counts of STUDY, COMPARISON, ``*_OUTCOME`` and ``*_DATA`` elements.
    skipped : list of str
        Data left out, each with the reason (incomplete arm data, a study twice in a subgroup).
    """

    path: Path
    n_studies: int
    n_comparisons: int
    n_outcomes: int
    n_data: int
    skipped: list[str]


@dataclass(frozen=True)
class Rm5Import:
    """What :func:`import_rm5` read (and, given a registry, wrote).

    Attributes
    ----------
    title : str
        The review's title.
    tables : dict of str to list of dict
        The registry rows made from the file, per table.
    skipped : list of str
        Elements not imported and why (no data, an outcome type the registry cannot hold).
    result : ImportResult or None
        What was written; None when no registry was given.
    """

    title: str
    tables: dict[str, list[dict[str, Any]]]
    skipped: list[str]
    result: ImportResult | None


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------
def export_rm5(source: Any, path: str | Path, *, title: str,
               studies: Iterable[str] | None = None, outcomes: Iterable[str] | None = None,
               include_contrasts: bool = True, registry: Registry | None = None,
               random_effects: bool = True) -> Rm5Export:
    """Write a RevMan 5 review file with the studies and their data.

    Parameters
    ----------
    source : Registry, DataFrame, analysis set, or a mapping or sequence of them
        A registry: active arm-level values pair each acupuncture arm with each control arm of
        a study; one COMPARISON per pair of arm types ("Acupuncture versus Sham ..."), one
        outcome per outcome domain, value type and direction (CONT for means/SDs, MD when every
        study used one scale and SMD otherwise; DICH for events, RR), one subgroup per time
        point; contrasts without arm-level data become IV outcomes (ratios on the log scale).
        Analysis sets (objects with a ``data`` DataFrame, or DataFrames) with ``study_id`` and
        ``ai/n1i/ci/n2i`` (or ``ai/bi/ci/di``), ``m1i/sd1i/n1i/m2i/sd2i/n2i``, or ``yi/vi``:
        one outcome each, named by the mapping key or the set's ``name``.
    path : str or Path
        The ``.rm5`` file to write.
    title : str
        The review's title (COVER_SHEET/TITLE).
    studies, outcomes : iterable of str, optional
        With a registry: only these study ids / outcome domains (``OUTCOMES`` terms).
    include_contrasts : bool, default True
        With a registry: write contrast-only data as IV outcomes.
    registry : Registry, optional
        With analysis sets: where to look up study names and years.
    random_effects : bool, default True
        The model RevMan is told to use (``RANDOM="YES"``).

    Returns
    -------
    Rm5Export
    """
    if not title or not str(title).strip():
        raise InputError("export_rm5 needs a title for the review.", column="title")
    if isinstance(source, Registry):
        studies_, comparisons, skipped = _from_registry(
            source, None if studies is None else set(studies),
            None if outcomes is None else set(outcomes), include_contrasts)
    else:
        studies_, comparisons, skipped = _from_sets(source, registry)
    root = review_xml(str(title), studies_, comparisons, random_effects=random_effects)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(p, encoding="UTF-8", xml_declaration=True)
    outs = [o for c in comparisons for o in c.outcomes]
    n_data = sum(len(d) for o in outs for d in o.subgroups.values())
    return Rm5Export(p, len(studies_), len(comparisons), len(outs), n_data, skipped)


class _Analyses:
    """Comparisons and outcomes being built from the registry, keyed by arm types."""

    def __init__(self) -> None:
        self.comparisons: dict[tuple[str, str], Comparison] = {}
        self.outcomes: dict[tuple[Any, ...], Outcome] = {}
        self.scales: dict[int, set[str | None]] = {}

    def outcome(self, kind: str, t1: str, t2: str, key: tuple[Any, ...], name: str,
                measure: str, direction: str | None) -> Outcome:
        label1, label2 = voc.term_label("ARM_TYPES", t1), voc.term_label("ARM_TYPES", t2)
        cmp = self.comparisons.setdefault((t1, t2), Comparison(f"{label1} versus {label2}"))
        okey = (t1, t2, kind, *key)
        if okey not in self.outcomes:
            # Group labels are the arm types' labels, so an import gets the arm types back.
            self.outcomes[okey] = Outcome(kind, name, measure, label1, label2, direction)
            cmp.outcomes.append(self.outcomes[okey])
        return self.outcomes[okey]

    def add(self, out: Outcome, subgroup: str, data: Data, where: str,
            skipped: list[str]) -> bool:
        rows = out.subgroups.setdefault(subgroup, [])
        if any(d.study_id == data.study_id for d in rows):
            # RevMan holds a study once per subgroup; a second pair of arms is left out.
            skipped.append(f"{where}: the study is already in this subgroup.")
            return False
        rows.append(data)
        return True


def _from_registry(reg: Registry, study_ids: set[str] | None, terms: set[str] | None,
                   include_contrasts: bool) -> tuple[list[Study], list[Comparison], list[str]]:
    skipped: list[str] = []
    srows = {s["study_id"]: s for s in reg.rows("studies", include_retracted=False)
             if study_ids is None or s["study_id"] in study_ids}
    arms = {a["arm_id"]: a for a in reg.rows("arms") if a["study_id"] in srows}
    an = _Analyses()
    covered: set[tuple[Any, ...]] = set()
    # Arm-level values of one study, outcome and time point, by arm.
    groups: dict[tuple[Any, ...], dict[str, list[dict[str, Any]]]] = {}
    for v in reg.rows("outcomes", include_retracted=False):
        if v["study_id"] not in srows or (terms is not None and v["outcome"] not in terms):
            continue
        key = (v["study_id"], v["outcome"], v["value_type"], v["direction"],
               v["timepoint_weeks"], v["timepoint_label"], v["outcome_detail"], v["scale"])
        groups.setdefault(key, {}).setdefault(v["arm_id"], []).append(v)
    for key, by_arm in sorted(groups.items(), key=lambda kv: str(kv[0])):
        sid, term, vtype, direction, weeks, tlabel, _detail, scale = key
        exp = sorted(a for a in by_arm if a in arms and arms[a]["arm_type"] == "acupuncture")
        ctl = sorted(a for a in by_arm if a in arms and arms[a]["arm_type"] != "acupuncture")
        sub = timepoint_name(weeks, tlabel)
        for a in exp + ctl:
            for extra in by_arm[a][1:]:
                skipped.append(f"{extra['value_id']}: {by_arm[a][0]['value_id']} gives the same "
                               "arm, outcome and time point and is exported instead.")
        for a1 in exp:
            for a2 in ctl:
                v1, v2 = by_arm[a1][0], by_arm[a2][0]
                where = f"{sid} {term} {sub}: {a1} vs {a2}"
                data = _arm_pair_data(sid, vtype, v1, v2)
                if data is None:
                    skipped.append(f"{where}: " + ("events or total missing." if vtype == "events"
                                                   else "mean, SD or n missing (RevMan needs "
                                                        "all three)."))
                    continue
                kind = "DICH" if vtype == "events" else "CONT"
                name = voc.term_label("OUTCOMES", term) + (
                    _CHANGE_MARK if vtype == "change_from_baseline" else "")
                out = an.outcome(kind, arms[a1]["arm_type"], arms[a2]["arm_type"],
                                 (term, vtype, direction), name, "RR" if kind == "DICH" else "MD",
                                 direction)
                if an.add(out, sub, data, where, skipped):
                    an.scales.setdefault(id(out), set()).add(scale)
                    covered.add((sid, a1, a2, term, weeks, tlabel))
    for out in an.outcomes.values():
        if out.kind == "CONT":
            used = an.scales.get(id(out), set())
            one = len(used) == 1 and None not in used
            out.units = next(iter(used)) if one else None
            out.measure = "MD" if one else "SMD"  # MD only when every study used one scale
    if include_contrasts:
        _contrasts_to_iv(reg, srows, arms, terms, covered, an, skipped)
    comparisons = [c for c in an.comparisons.values() if c.outcomes]
    for out in an.outcomes.values():
        # Subgroups in time order (RevMan shows them as written), unknown times last.
        def when(name: str) -> tuple[bool, float, str]:
            weeks = parse_timepoint(name)[0]
            return (weeks is None, weeks or 0.0, name)

        out.subgroups = dict(sorted(out.subgroups.items(), key=lambda kv: when(kv[0])))
    with_data = {d.study_id for c in comparisons for o in c.outcomes
                 for rows in o.subgroups.values() for d in rows}
    studies = [Study(s, srows[s]["label"] or s, srows[s]["year"], srows[s]["title"],
                     srows[s]["journal"]) for s in sorted(with_data)]
    return studies, comparisons, skipped


def _arm_pair_data(sid: str, vtype: str, v1: Mapping[str, Any],
                   v2: Mapping[str, Any]) -> Data | None:
    if vtype == "events":
        cols = {"EVENTS_{}": "events", "TOTAL_{}": "total"}
    else:
        cols = {"MEAN_{}": "mean", "SD_{}": "sd", "TOTAL_{}": "n"}
    values: dict[str, float | int] = {}
    for g, v in (("1", v1), ("2", v2)):
        for attr, col in cols.items():
            if v[col] is None:
                return None
            values[attr.format(g)] = v[col]
    return Data(sid, values)


def _contrasts_to_iv(reg: Registry, srows: Mapping[str, Any], arms: Mapping[str, Any],
                     terms: set[str] | None, covered: set[tuple[Any, ...]], an: _Analyses,
                     skipped: list[str]) -> None:
    """Contrast-only data (no arm-level pair exported) as generic inverse variance data."""
    for c in reg.rows("contrasts", include_retracted=False):
        if c["study_id"] not in srows or (terms is not None and c["outcome"] not in terms):
            continue
        where = f"contrast {c['contrast_id']}"
        a1, a2 = arms.get(c["arm1_id"] or ""), arms.get(c["arm2_id"] or "")
        if a1 is None or a2 is None:
            skipped.append(f"{where}: both arms are needed for a RevMan comparison.")
            continue
        flip = a1["arm_type"] != "acupuncture" and a2["arm_type"] == "acupuncture"
        e, k = (a2, a1) if flip else (a1, a2)
        if e["arm_type"] != "acupuncture" or k["arm_type"] == "acupuncture":
            skipped.append(f"{where}: not acupuncture versus a control.")
            continue
        if (c["study_id"], e["arm_id"], k["arm_id"], c["outcome"], c["timepoint_weeks"],
                c["timepoint_label"]) in covered:
            continue  # its arm-level data are exported already
        m, est, lo, hi = c["measure"], c["estimate"], c["ci_lb"], c["ci_ub"]
        if m not in IV_MEASURE_NAMES or None in (est, lo, hi):
            skipped.append(f"{where}: needs an estimate with its CI.")
            continue
        if m in RATIO_MEASURES and min(est, lo, hi) <= 0:
            skipped.append(f"{where}: a {m} must be positive.")
            continue
        tr = math.log if m in RATIO_MEASURES else float  # IV ratios are entered as ln(ratio)
        effect, se = tr(est), (tr(hi) - tr(lo)) / (2 * _z(c["ci_level"] or 0.95))
        if not se > 0:
            skipped.append(f"{where}: the CI has no width, so no SE.")
            continue
        values: dict[str, float | int] = {"EFFECT_SIZE": -effect if flip else effect, "SE": se}
        n1, n2 = (c["n2"], c["n1"]) if flip else (c["n1"], c["n2"])
        if n1 and n2:
            values.update(TOTAL_1=n1, TOTAL_2=n2)
        out = an.outcome("IV", e["arm_type"], k["arm_type"], (c["outcome"], m, c["direction"]),
                         voc.term_label("OUTCOMES", c["outcome"]), m, c["direction"])
        an.add(out, timepoint_name(c["timepoint_weeks"], c["timepoint_label"]),
               Data(c["study_id"], values), where, skipped)


def _set_items(source: Any) -> list[tuple[str | None, Any]]:
    import pandas as pd

    if isinstance(source, Mapping):
        return list(source.items())
    if isinstance(source, pd.DataFrame) or hasattr(source, "data"):
        return [(None, source)]
    if isinstance(source, Iterable) and not isinstance(source, (str, bytes)):
        return [(None, s) for s in source]
    raise InputError("export_rm5 needs a Registry, a DataFrame, an analysis set, or a mapping "
                     f"or list of them; got {type(source).__name__}.", column="source")


_CONT_RAW = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
_DICH_RAW = ("ai", "n1i", "ci", "n2i")


def _attr(obj: Any, name: str) -> Any:
    """An analysis set's attribute; None for DataFrames (whose columns look like attributes)."""
    import pandas as pd

    return None if isinstance(obj, pd.DataFrame) else getattr(obj, name, None)


def _set_direction(obj: Any, data: Any, kind: str) -> str | None:
    """Which values favour group 1 (acupuncture), as the set says or its rules imply."""
    given = _attr(obj, "direction")
    if given is not None:
        return str(given)
    if _attr(obj, "orientation") is None:
        return None  # a bare DataFrame: unknown, so the graph labels stay neutral
    if kind in ("CONT", "IV") and str(_attr(obj, "measure")) in ("MD", "SMD"):
        return "lower_better"  # analysis sets orient continuous outcomes: negative favours
    outcomes = set(data["outcome"].dropna()) if "outcome" in data.columns else set()
    if outcomes == {"response"}:
        return "higher_better"
    if outcomes == {"adverse_events"}:
        return "lower_better"
    return None


def _from_sets(source: Any, registry: Registry | None
               ) -> tuple[list[Study], list[Comparison], list[str]]:
    import pandas as pd

    from .interchange import metafor_columns

    known = {s["study_id"]: s for s in registry.rows("studies")} if registry else {}
    cmp = Comparison("Analysis sets")
    studies: dict[str, Study] = {}
    skipped: list[str] = []

    def complete(r: Mapping[str, Any], cols: Iterable[str]) -> bool:
        return all(c in r and r[c] is not None and not pd.isna(r[c]) for c in cols)

    for i, (key, obj) in enumerate(_set_items(source), start=1):
        data = metafor_columns(obj)
        cols = set(data.columns)
        if not ({"yi", "vi"} <= cols or set(_CONT_RAW) <= cols or set(_DICH_RAW) <= cols
                or {"ai", "bi", "ci", "di"} <= cols):
            raise InputError(f"export_rm5: analysis {key or i!r} needs columns ai/n1i/ci/n2i "
                             "(or ai/bi/ci/di), m1i/sd1i/n1i/m2i/sd2i/n2i, or yi/vi; it has "
                             f"{list(data.columns)}.", column=str(key or i))
        name = str(key or _attr(obj, "name") or f"Analysis {i}")
        measure = str(_attr(obj, "measure") or (
            data["measure"].dropna().iloc[0] if "measure" in data.columns
            and data["measure"].notna().any() else ""))
        # Arm-level numbers where a row has them (RevMan recomputes the effect), else yi/vi.
        rows: dict[str, list[Data]] = {"CONT": [], "DICH": [], "IV": []}
        for j, r in enumerate(data.to_dict("records")):
            sid = str(r.get("study_id") or r.get("label") or f"study-{j + 1}")
            if complete(r, _CONT_RAW):
                kind, raw = "CONT", {"MEAN_1": r["m1i"], "SD_1": r["sd1i"], "TOTAL_1": r["n1i"],
                                     "MEAN_2": r["m2i"], "SD_2": r["sd2i"], "TOTAL_2": r["n2i"]}
            elif complete(r, _DICH_RAW) or complete(r, ("ai", "bi", "ci", "di")):
                n1 = r["n1i"] if complete(r, ("n1i",)) else r["ai"] + r["bi"]
                n2 = r["n2i"] if complete(r, ("n2i",)) else r["ci"] + r["di"]
                kind, raw = "DICH", {"EVENTS_1": r["ai"], "TOTAL_1": n1,
                                     "EVENTS_2": r["ci"], "TOTAL_2": n2}
            elif complete(r, ("yi", "vi")) and float(r["vi"]) > 0:
                # yi of ratio measures is already the log ratio (metafor's convention), which
                # is what RevMan's generic inverse variance data hold.
                kind, raw = "IV", {"EFFECT_SIZE": r["yi"], "SE": math.sqrt(float(r["vi"]))}
            else:
                skipped.append(f"{name}: {sid} has neither arm-level numbers nor yi/vi.")
                continue
            if kind != "IV" and any(float(v) != int(float(v)) for a, v in raw.items()
                                    if a in INTEGER_ATTRS):
                # Split multi-arm counts (n / k) are fractional; RevMan needs whole numbers.
                kind, raw = "IV", {"EFFECT_SIZE": r["yi"], "SE": math.sqrt(float(r["vi"]))}
            rows[kind].append(Data(sid, {a: int(float(v)) if a in INTEGER_ATTRS else float(v)
                                         for a, v in raw.items()}))
            if sid not in studies:
                s = known.get(sid, {})
                year = r.get("year", s.get("year"))
                studies[sid] = Study(sid, str(s.get("label") or r.get("label") or sid),
                                     None if year is None or pd.isna(year) else int(year),
                                     s.get("title"), s.get("journal"))
        arm_level = bool(rows["CONT"] or rows["DICH"])
        for kind, data_rows in rows.items():
            if not data_rows:
                continue
            m = measure if measure in {"CONT": ("MD", "SMD"), "DICH": ("RR", "OR", "RD"),
                                       "IV": tuple(IV_MEASURE_NAMES)}[kind] else \
                {"CONT": "MD", "DICH": "RR", "IV": measure or "MD"}[kind]
            out = Outcome(kind, name + (" (effect estimates)" if kind == "IV" and arm_level
                                        else ""), m,
                          str(_attr(obj, "label1") or "Acupuncture"),
                          str(_attr(obj, "label2") or "Control"),
                          _set_direction(obj, data, kind))
            out.subgroups[""] = data_rows
            cmp.outcomes.append(out)
    return sorted(studies.values(), key=lambda s: s.study_id), [cmp], skipped


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------
_ARM_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sham", ("sham", "placebo", "minimal acupuncture", "non-penetrating", "streitberger")),
    ("waitlist", ("wait",)),
    ("no_treatment", ("no treatment", "no intervention", "untreated")),
    ("usual_care", ("usual care", "routine care", "standard care")),
    ("tens", ("tens",)),
    ("nsaid", ("nsaid", "diclofenac", "ibuprofen", "naproxen")),
    ("physiotherapy", ("physiotherapy", "physical therapy")),
    ("exercise", ("exercise",)),
    ("massage", ("massage",)),
    ("self_care", ("self-care", "self care", "education")),
    ("acupuncture", ("acupuncture", "needl", "electroacupuncture", "experimental")),
)
_OUTCOME_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("adverse_events", ("adverse", "side effect", "harm")),
    ("response", ("respon", "improved", "success")),
    ("quality_of_life_mental", ("mental", "mcs")),
    ("quality_of_life", ("quality of life", "qol", "sf-36", "sf-12", "eq-5d", "pcs")),
    ("global_impression", ("global", "impression")),
    ("analgesic_use", ("analgesic", "medication")),
    ("function", ("function", "disabil", "odi", "rmdq", "roland")),
    ("pain", ("pain", "vas", "nrs")),
)


def _infer_term(vocabulary: str, text: str,
                keywords: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    """Vocabulary term for a free-text name: its term or label, else keywords, else other."""
    t = " ".join(text.lower().split())
    # The term or label itself first (what export_rm5 writes), the longest label first so that
    # "Other medication" wins over "Other".
    for term, label in sorted(voc.LABELS[vocabulary].items(), key=lambda kv: -len(kv[1])):
        if t == term or t.startswith(label.lower()):
            return term
    for term, words in keywords:
        # At the start of a word: "tens" must not match "intensive".
        if any(re.search(r"\b" + re.escape(w), t) for w in words):
            return term
    return "other"


@dataclass(frozen=True)
class _Options:
    condition: str
    confidence: str
    source_id: str
    id_prefix: str
    arm_types: Mapping[str, str]
    outcome_terms: Mapping[str, str]
    direction: str | Mapping[str, str] | None


class _Reader:
    """Turns a parsed review into registry rows, remembering where each row came from."""

    def __init__(self, root: Node, opts: _Options):
        self.root, self.o = root, opts
        self.tables: dict[str, list[dict[str, Any]]] = {t: [] for t in _KEYS}
        self.where: dict[tuple[str, str], tuple[str, int]] = {}
        self.skipped: list[str] = []
        self.studies: dict[str, str] = {}  # RevMan STUDY ID -> registry study_id
        self.arms: dict[str, dict[str, Any]] = {}
        self.ids: set[str] = set()

    def row(self, table: str, row: dict[str, Any], where: str, line: int) -> None:
        self.tables[table].append(row)
        self.where[(table, row[_KEYS[table]])] = (where, line)

    def unique(self, base: str) -> str:
        out, k = base, 2
        while out in self.ids:
            out, k = f"{base}-{k}", k + 1
        self.ids.add(out)
        return out

    def read_studies(self) -> None:
        for inc in self.root.iter("INCLUDED_STUDIES"):
            for st in inc.iter("STUDY"):
                where = f"line {st.line} <STUDY>"
                rid = st.attrib.get("ID", "").strip()
                if not rid:
                    raise InputError(f"{where}: attribute ID is missing.", column="ID")
                study_id = self.o.id_prefix + _slug(decode_study_id(rid))
                if study_id in self.studies.values():
                    raise InputError(f"{where}: ID {rid!r} gives the study id {study_id!r}, as "
                                     "another STUDY does.", column="ID")
                self.studies[rid] = study_id
                ref = st.find("REFERENCE")
                year = re.match(r"\s*(\d{4})", st.attrib.get("YEAR", ""))
                self.row("studies", {
                    "study_id": study_id, "label": st.attrib.get("NAME") or decode_study_id(rid),
                    "title": (ref.child_text("TI") or None) if ref is not None else None,
                    "journal": (ref.child_text("SO") or None) if ref is not None else None,
                    "year": int(year.group(1)) if year else None,
                    "condition": self.o.condition, "source_id": self.o.source_id,
                    "locator": f"INCLUDED_STUDIES/STUDY ID={rid}", "status": "active"},
                    f"{where} ID={rid!r}", st.line)

    def arm(self, study_id: str, label: str, locator: str, line: int) -> str:
        aid = f"{study_id}:{_slug(label)}"
        if aid not in self.arms:
            term = self.o.arm_types.get(label) or _infer_term("ARM_TYPES", label, _ARM_KEYWORDS)
            self.arms[aid] = {"arm_id": aid, "study_id": study_id, "label": label,
                              "arm_type": term, "source_id": self.o.source_id,
                              "locator": locator}
            self.row("arms", self.arms[aid], f"line {line} (group label {label!r})", line)
        return aid

    def read_analyses(self) -> None:
        for ci, cmp in enumerate(self.root.iter("COMPARISON"), start=1):
            cno = cmp.attrib.get("NO", "").strip() or str(ci)
            cname = cmp.child_text("NAME") or f"Comparison {cno}"
            outcomes = [o for o in cmp.children if o.tag.endswith("_OUTCOME")]
            for oi, onode in enumerate(outcomes, start=1):
                ono = onode.attrib.get("NO", "").strip() or str(oi)
                self.read_outcome(cname, onode, f"rm5_c{_slug(cno)}_o{_slug(ono)}")

    def read_outcome(self, cname: str, onode: Node, tag: str) -> None:
        kind = onode.tag.removesuffix("_OUTCOME")
        oname = onode.child_text("NAME") or f"Outcome {onode.attrib.get('NO', '?')}"
        where = f"line {onode.line} <{onode.tag}> '{oname}'"
        if kind not in KINDS:
            self.skipped.append(f"{where}: not imported (only DICH, CONT and IV data are).")
            return
        label1 = onode.child_text("GROUP_LABEL_1") or "Experimental"
        label2 = onode.child_text("GROUP_LABEL_2") or "Control"
        if _slug(label1) == _slug(label2):
            raise InputError(f"{where}: GROUP_LABEL_1 and GROUP_LABEL_2 are both {label1!r}; "
                             "the two arms need different labels.", column="GROUP_LABEL_2")
        d = self.o.direction
        direction = d if isinstance(d, str) else (d or {}).get(oname) or infer_direction(
            onode.child_text("GRAPH_LABEL_1"), onode.child_text("GRAPH_LABEL_2"), label1, label2)
        if direction is None and kind != "IV":
            raise InputError(f"{where}: the graph labels do not say whether lower or higher "
                             "values are better; pass direction='lower_better' or "
                             "'higher_better' (or a mapping per outcome name).",
                             column="GRAPH_LABEL_1")
        measure = (onode.attrib.get("EFFECT_MEASURE") or onode.child_text("EFFECT_MEASURE")
                   or ("RR" if kind == "DICH" else "MD"))
        code = MEASURE_ALIASES.get(measure.strip().lower())
        log_data = onode.attrib.get("LOG_DATA", "YES" if code in RATIO_MEASURES else "NO")
        ctx = {"kind": kind, "oname": oname, "label1": label1, "label2": label2,
               "code": code, "measure": measure, "log": log_data.upper() == "YES",
               "level": number_attr(onode, "CI_STUDY", where) / 100
               if onode.attrib.get("CI_STUDY", "").strip() else 0.95,
               "units": onode.attrib.get("UNITS") or None,
               "base": {"outcome": self.o.outcome_terms.get(oname) or _infer_term(
                        "OUTCOMES", oname, _OUTCOME_KEYWORDS), "outcome_detail": oname,
                        "direction": direction, "source_id": self.o.source_id,
                        "confidence": self.o.confidence, "status": "active"}}
        subgroups = [(s, s.child_text("NAME")) for s in onode.children
                     if s.tag == f"{kind}_SUBGROUP"] or [(onode, "")]
        for si, (snode, sname) in enumerate(subgroups, start=1):
            weeks, tlabel = parse_timepoint(sname)
            ctx["locator"] = " / ".join(x for x in (cname, oname, sname) if x)
            # Short ids from the element numbers ("rm5_c1_o2_s3"); the locator has the names.
            sno = snode.attrib.get("NO", "").strip() or str(si)
            ctx["tag"] = tag + (f"_s{_slug(sno)}" if snode is not onode else "")
            for dnode in snode.children:
                if dnode.tag == f"{kind}_DATA":
                    self.read_data(dnode, ctx, weeks, tlabel)

    def read_data(self, dnode: Node, ctx: dict[str, Any], weeks: float | None,
                  tlabel: str | None) -> None:
        kind, locator = ctx["kind"], ctx["locator"]
        where = f"line {dnode.line} <{dnode.tag}>"
        rid = dnode.attrib.get("STUDY_ID", "").strip()
        if not rid:
            raise InputError(f"{where}: attribute STUDY_ID is missing.", column="STUDY_ID")
        if rid not in self.studies:
            raise InputError(f"{where}: STUDY_ID={rid!r} is not among the INCLUDED_STUDIES.",
                             column="STUDY_ID")
        where += f" STUDY_ID={rid!r}"
        vals = {a: number_attr(dnode, a, where) for a in REQUIRED_ATTRS[kind]}
        study_id, line = self.studies[rid], dnode.line
        base = {**ctx["base"], "study_id": study_id, "timepoint_weeks": weeks,
                "timepoint_label": tlabel, "locator": locator, "scale": ctx["units"]}

        def arm(g: str) -> str:
            return self.arm(study_id, ctx[f"label{g}"], f"{locator}: GROUP_LABEL_{g}", line)

        if kind == "IV":
            self.read_iv(dnode, vals, base, arm("1"), arm("2"), ctx, where)
            return
        for g in ("1", "2"):
            total = vals[f"TOTAL_{g}"]
            if kind == "DICH" and vals[f"EVENTS_{g}"] > total:
                raise InputError(f"{where}: EVENTS_{g}={vals[f'EVENTS_{g}']} exceeds "
                                 f"TOTAL_{g}={total}.", column=f"EVENTS_{g}")
            if total == 0:
                # RevMan's placeholder for a study without data in this outcome.
                self.skipped.append(f"{where}: group {g} has TOTAL_{g}=0 (no data).")
                continue
            row = {**base, "arm_id": arm(g)}
            if kind == "DICH":
                # n = total: the registry's events rows give the analysed number in both.
                row.update(value_type="events", events=vals[f"EVENTS_{g}"], total=total,
                           n=total)
            else:
                # Not a bare "change": "Global impression of change" is a final value.
                change = bool(_CHANGE_WORDS.search(ctx["oname"]))
                row.update(value_type="change_from_baseline" if change else "final",
                           mean=vals[f"MEAN_{g}"], sd=vals[f"SD_{g}"], n=total)
            row["value_id"] = self.unique(f"{row['arm_id']}:{ctx['tag']}")
            self.row("outcomes", row, where, line)

    def read_iv(self, dnode: Node, vals: dict[str, float | int], base: dict[str, Any],
                a1: str, a2: str, ctx: dict[str, Any], where: str) -> None:
        code = ctx["code"]
        if code is None:
            self.skipped.append(f"{where}: effect measure {ctx['measure']!r} has no registry "
                                "equivalent.")
            return
        est, se = float(vals["EFFECT_SIZE"]), float(vals["SE"])
        if se <= 0:
            raise InputError(f"{where}: attribute SE={se!r} must be positive.", column="SE")
        n = {a: number_attr(dnode, a, where) for a in ("TOTAL_1", "TOTAL_2")
             if dnode.attrib.get(a, "").strip()}
        z = _z(ctx["level"])
        lo, hi = est - z * se, est + z * se
        on_log = code in RATIO_MEASURES and ctx["log"]
        if on_log:
            est, lo, hi = math.exp(est), math.exp(lo), math.exp(hi)
        cid = self.unique(f"{base['study_id']}:{ctx['tag']}")
        self.row("contrasts", {
            **base, "contrast_id": cid, "arm1_id": a1, "arm2_id": a2, "measure": code,
            "estimate": est, "ci_lb": lo, "ci_ub": hi, "ci_level": ctx["level"],
            "n1": n.get("TOTAL_1") or None, "n2": n.get("TOTAL_2") or None,
            # The SE itself has no column; keep it verbatim so nothing is lost.
            "notes": f"RevMan IV data: EFFECT_SIZE {vals['EFFECT_SIZE']!r}, SE {se!r}"
                     f"{' (log scale)' if on_log else ''}."}, where, dnode.line)


def import_rm5(path: str | Path, registry: Registry | None = None, *, who: str, why: str,
               condition: str, confidence: str = "medium", source_id: str | None = None,
               id_prefix: str = "", arm_types: Mapping[str, str] | None = None,
               outcome_terms: Mapping[str, str] | None = None,
               direction: str | Mapping[str, str] | None = None,
               mode: Literal["add", "upsert"] = "add") -> Rm5Import:
    """Read a RevMan 5 review and add its studies and data to the registry, all or nothing.

    Makes one ``sources`` row for the file (its ``file:`` URL), a ``studies`` row per included
    study, an ``arms`` row per study and group label (GROUP_LABEL_1 is the experimental arm), two
    ``outcomes`` rows per DICH_DATA (``value_type`` ``events``) or CONT_DATA (``final``, or
    ``change_from_baseline`` when the outcome's name says "change"), and a ``contrasts`` row per
    IV_DATA (estimate and a CI from EFFECT_SIZE and SE; the SE verbatim in ``notes``). Each
    value's ``locator`` names comparison, outcome and subgroup; the subgroup's name gives the
    time point ("8 weeks", "3 months", "end of treatment (8 weeks)").

    Parameters
    ----------
    path : str or Path
        The ``.rm5`` file.
    registry : Registry, optional
        Where to write; without one, the file is only read and checked.
    who, why : str
        Editor and reason for the audit trail.
    condition : str
        ``CONDITIONS`` term for every study (RevMan files do not code it).
    confidence : str, default "medium"
        ``CONFIDENCE`` of the imported values (copied from a review, not read in the trials).
    source_id : str, optional
        Id of the source row for the file; default ``rm5-<file stem>``. An existing source with
        the same URL is reused.
    id_prefix : str, default ""
        Prefix for study ids, to keep a review's "Smith 2010" apart from the registry's.
    arm_types : mapping of str to str, optional
        Group label -> ``ARM_TYPES`` term; otherwise inferred from the label ("Sham ..." ->
        sham, unknown -> other).
    outcome_terms : mapping of str to str, optional
        Outcome name -> ``OUTCOMES`` term; otherwise inferred (unknown -> other).
    direction : str or mapping of str to str, optional
        ``lower_better`` / ``higher_better``, for all outcomes or per outcome name; otherwise
        read from the graph labels ("Favours experimental" on the left: lower is better).
    mode : {"add", "upsert"}
        As in :func:`acuevidence.evidence.interchange.import_tables`.

    Returns
    -------
    Rm5Import

    Raises
    ------
    InputError
        Not XML, hostile XML, not a RevMan review, a missing or non-numeric attribute, events
        above the total, an unknown study id (each naming the element, its line and the
        attribute), or rows the registry refuses; nothing is written.
    """
    p = Path(path)
    voc.check_term("CONDITIONS", condition)
    voc.check_term("CONFIDENCE", confidence)
    dirs = [direction] if isinstance(direction, str) else list((direction or {}).values())
    for d in dirs:
        voc.check_term("DIRECTIONS", d)
    for t in (arm_types or {}).values():
        voc.check_term("ARM_TYPES", t)
    for t in (outcome_terms or {}).values():
        voc.check_term("OUTCOMES", t)
    if registry is not None and (not who or not str(who).strip() or not why
                                 or not str(why).strip()):
        raise InputError("import_rm5 needs 'who' and 'why' for the audit trail.",
                         column="who" if not who or not str(who).strip() else "why")
    if not p.is_file():
        raise InputError(f"{p}: no such file.", column="path")
    if p.stat().st_size > MAX_RM5_BYTES:
        raise InputError(f"{p.name}: larger than {MAX_RM5_BYTES // 2**20} MiB; refused.",
                         column="path")
    root = parse_xml(p.read_bytes(), p.name)
    if root.tag != "COCHRANE_REVIEW":
        raise InputError(f"{p.name} line {root.line}: the root element is <{root.tag}>, not "
                         "<COCHRANE_REVIEW>: not a RevMan 5 review file.", column=root.tag)
    title = next((c.child_text("TITLE") for c in root.iter("COVER_SHEET")), "") or p.stem
    sid = source_id or _slug("rm5-" + p.stem)
    reader = _Reader(root, _Options(condition, confidence, sid, id_prefix, arm_types or {},
                                    outcome_terms or {}, direction))
    reader.row("sources", {"source_id": sid, "url": p.resolve().as_uri(), "kind": "secondary",
                           "note": f"RevMan 5 review file {p.name}: {title}"}, "the file", 0)
    try:
        reader.read_studies()
        reader.read_analyses()
    except InputError as e:
        raise InputError(f"{p.name} {e}", column=e.column) from None
    result = None
    if registry is not None:
        existing = registry.get("sources", sid)
        if existing is not None and existing.get("url") == reader.tables["sources"][0]["url"]:
            reader.tables["sources"] = []  # the same file imported before: reuse its source
        rows = [PendingRow(t, dict(r), *reader.where[(t, r[_KEYS[t]])])
                for t, rs in reader.tables.items() for r in rs]
        result = write_rows(registry, rows, who=who, why=why, mode=mode, what=p.name)
    return Rm5Import(title, reader.tables, reader.skipped, result)

