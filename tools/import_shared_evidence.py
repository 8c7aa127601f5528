#!/usr/bin/env python3
"""Convert the curated evidence folder into the versioned CSV files of the evidence base.

Usage::

    python tools/import_shared_evidence.py tools/curated_evidence src/acuevidence/evidence/data

Reads ``studies.csv``, ``outcomes.csv``, ``contrasts.csv`` (main folder), the same three files in
``leg/`` and ``reviews.csv``; writes ``sources.csv``, ``studies.csv``, ``arms.csv``,
``outcomes.csv``, ``contrasts.csv``, ``risk_of_bias.csv`` (header only) and ``reviews.csv`` as
described in ``docs/evidence-schema.md``, plus ``IMPORT_LOG.md`` with every decision taken.

Guarantees: no number is changed (cells are copied as the strings that were read; the only cells
moved are text in numeric columns, such as sessions_per_week "2 then 1" or i2 ">50", which go
verbatim into the row's notes); the output is deterministic (same input -> identical bytes: sorted
rows, LF line endings, no timestamps); every curated row is either written or listed in the log
with the reason it was left out. The mapping
rules live in ``shared_evidence_rules.py``, the arms read from the study notes in
``shared_evidence_arms.py``.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import shared_evidence_rules as rules
from shared_evidence_arms import ARM_ALIASES, COUNTS_NOT_USED, NOTE_ARMS, NoteArm
from shared_evidence_reviews import convert_reviews

from acuevidence.evidence.validation import VOCAB_COLUMNS  # the store's own check
from acuevidence.evidence.vocabulary import check_term

# --------------------------------------------------------------------------------------------
# File layouts
# --------------------------------------------------------------------------------------------

IN_COLUMNS: dict[str, tuple[str, ...]] = {
    "studies": ("study_id", "label", "title", "year", "journal", "pmid", "doi", "country",
                "condition", "acupuncture_type", "n_sessions", "sessions_per_week",
                "treatment_weeks", "n_randomized", "notes", "source_url"),
    "outcomes": ("study_id", "arm_label", "arm_type", "outcome", "scale", "direction",
                 "timepoint_weeks", "timepoint_label", "value_type", "n", "mean", "sd", "se",
                 "ci_lb", "ci_ub", "median", "q1", "q3", "events", "total", "source_url",
                 "locator", "confidence", "notes"),
    "contrasts": ("study_id", "arm1_type", "arm2_type", "outcome", "scale", "timepoint_label",
                  "timepoint_weeks", "measure", "estimate", "ci_lb", "ci_ub", "p_value", "n1",
                  "n2", "source_url", "locator", "notes"),
    "reviews": ("review_id", "review_label", "year", "condition", "comparison", "outcome",
                "timepoint_label", "measure", "scale", "estimate", "ci_lb", "ci_ub",
                "k_studies", "n_participants", "i2", "model", "certainty", "source_url",
                "locator"),
}

OUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "sources": ("source_id", "url", "kind", "note"),
    "studies": ("study_id", "label", "title", "year", "journal", "pmid", "doi", "country",
                "condition", "condition_detail", "acupuncture_type", "acupuncture_detail",
                "n_sessions", "sessions_text", "sessions_per_week", "treatment_weeks",
                "n_randomized", "source_id", "locator", "status", "duplicate_note", "notes"),
    "arms": ("arm_id", "study_id", "label", "arm_type", "sham_type", "n_randomized",
             "description", "source_id", "locator"),
    "outcomes": ("value_id", "study_id", "arm_id", "outcome", "outcome_detail", "scale",
                 "scale_min", "scale_max", "direction", "timepoint_weeks", "timepoint_label",
                 "value_type", "n", "mean", "sd", "se", "ci_lb", "ci_ub", "ci_level", "median",
                 "q1", "q3", "events", "total", "source_id", "locator", "confidence", "status",
                 "notes"),
    "contrasts": ("contrast_id", "study_id", "arm1_id", "arm2_id", "outcome", "outcome_detail",
                  "scale", "direction", "timepoint_weeks", "timepoint_label", "measure",
                  "estimate", "ci_lb", "ci_ub", "ci_level", "p_value", "p_value_qualifier", "n1",
                  "n2", "source_id", "locator", "confidence", "status", "notes"),
    "risk_of_bias": ("rob_id", "study_id", "tool", "domain", "judgement", "support",
                     "source_id", "locator"),
    "reviews": ("result_id", "review_id", "review_label", "year", "condition",
                "condition_detail", "comparison", "comparator", "outcome", "outcome_detail",
                "timepoint_label", "window", "measure", "measure_note", "scale", "estimate",
                "ci_lb", "ci_ub", "k_studies", "n_participants", "i2", "model", "certainty",
                "source_id", "locator"),
}
"""Output files and their columns, exactly as in docs/evidence-schema.md."""

ID_COLUMN = {"sources": "source_id", "studies": "study_id", "arms": "arm_id",
             "outcomes": "value_id", "contrasts": "contrast_id", "risk_of_bias": "rob_id",
             "reviews": "result_id"}

# Trials that the two folders both hold. The main-folder copy is kept (AUDIT.md: main rows
# `high`, leg copies annotated as duplicates); leg arm labels map onto the kept study's labels.
DUPLICATE_STUDIES: dict[str, tuple[str, str]] = {
    "tu2024": ("tu2024", ("same study_id, PMID 39401008 and DOI in both folders; leg outcome rows "
               "use the opposite sign convention (decrease as a positive value)")),
    "ea_mfe_sciatica": ("eamfe2017", ("same trial (PMC5405380, ChiCTR-IPR-15006370); AUDIT.md "
                        "section 5.7 and the leg notes say so")),
}
DUPLICATE_ARM_LABELS: dict[tuple[str, str], str] = {
    ("tu2024", "acupuncture"): "Acupuncture",
    ("tu2024", "sham acupuncture"): "Sham acupuncture",
    ("ea_mfe_sciatica", "electroacupuncture"): "Electroacupuncture (EA)",
    ("ea_mfe_sciatica", "medium-frequency electrotherapy"): "Medium-frequency electrotherapy (MFE)",
}

# Study-level caveats of the curation that bear on every contrast of a study (the rows do not
# all repeat them); used for the confidence and direction rules only, never written out.
STUDY_CONTRAST_CAVEATS: dict[str, str] = {
    "foster2007": "sign convention as the paper gives it (CURATION_leg_and_reviews.md, caveat 9)",
}

LOG_SECTIONS = ("Summary", "Duplicated trials", "Rows not imported", "Studies: conditions",
                "Studies: acupuncture types", "Studies: sessions", "Arms", "Sham types",
                "Outcomes", "Contrasts: arms", "Contrasts: confidence", "Contrasts: direction",
                "Contrasts: p-values", "Reviews", "Sources", "Risk of bias")

NUMERIC_RE = re.compile(r"-?\d+(?:\.\d+)?")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


@dataclass
class Row:
    """A curated row with where it came from."""

    data: dict[str, str]
    file: str
    line: int

    @property
    def where(self) -> str:
        """``file:line`` of the row (header = line 1)."""
        return f"{self.file}:{self.line}"


@dataclass
class Conversion:
    """Result of :func:`convert`: output tables, decision log and row provenance."""

    tables: dict[str, list[dict[str, str]]]
    log: dict[str, list[str]]
    provenance: dict[str, str] = field(default_factory=dict)
    """Output id (table-qualified, e.g. ``outcomes/haake2007:v001``) -> source ``file:line``."""


def read_csv(folder: Path, name: str, kind: str) -> list[Row]:
    """Read one curated CSV as strings, checking its header.

    Parameters
    ----------
    folder : Path
        Curated evidence folder.
    name : str
        Path of the file inside the folder (``"leg/outcomes.csv"``).
    kind : str
        Key of :data:`IN_COLUMNS`.

    Returns
    -------
    list of Row
    """
    path = folder / name
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != IN_COLUMNS[kind]:
            raise SystemExit(f"{name}: unexpected columns {reader.fieldnames}")
        rows = []
        for rec in reader:
            rows.append(Row({k: (v if v is not None else "") for k, v in rec.items()}, name,
                            reader.line_num))
    return rows


def slugify(text: str, limit: int = 64) -> str:
    """Lowercase ASCII slug, cut at a word boundary to ``limit`` characters."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("_", 1)[0]
    return slug or "arm"


def same_number(a: str, b: str) -> bool:
    """Whether two printed numbers are equal up to sign and trailing zeros ("2.3" == "-2.30")."""
    if not a and not b:
        return True
    if not (NUMERIC_RE.fullmatch(a.strip()) and NUMERIC_RE.fullmatch(b.strip())):
        return a.strip() == b.strip()
    return abs(float(a)) == abs(float(b))


def _arm_slug(label: str, used: set[str]) -> str:
    """Slug of an arm label, unique within its study (``used`` is updated).

    Parenthesised detail is left out when the rest is unique ("Observation group (conventional
    + acupuncture + ...)" -> ``observation_group``), so ids stay short and readable.
    """
    short = slugify(re.sub(r"\([^)]*\)?", " ", label))
    slug = short if short != "arm" and short not in used else slugify(label)
    base, k = slug, 2
    while slug in used:
        slug, k = f"{base}_{k}", k + 1
    used.add(slug)
    return slug


class Log:
    """Decision log, grouped by section (deterministic order)."""

    def __init__(self) -> None:
        self.sections: dict[str, list[str]] = {s: [] for s in LOG_SECTIONS}

    def __call__(self, section: str, message: str) -> None:
        self.sections[section].append(message)


# --------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------


def convert(src: Path) -> Conversion:
    """Convert the curated folder ``src`` into the output tables (nothing is written).

    Parameters
    ----------
    src : Path
        The curated evidence folder (with ``leg/``).

    Returns
    -------
    Conversion
    """
    log = Log()
    prov: dict[str, str] = {}
    studies_in = read_csv(src, "studies.csv", "studies") + read_csv(src, "leg/studies.csv",
                                                                    "studies")
    outcomes_in = read_csv(src, "outcomes.csv", "outcomes") + read_csv(src, "leg/outcomes.csv",
                                                                       "outcomes")
    contrasts_in = read_csv(src, "contrasts.csv", "contrasts") + read_csv(
        src, "leg/contrasts.csv", "contrasts")
    reviews_in = read_csv(src, "reviews.csv", "reviews")

    studies, outcomes, contrasts = _deduplicate(studies_in, outcomes_in, contrasts_in, log)
    outcomes = _drop_numberless_events(outcomes, studies, log)

    urls = [r.data["source_url"] for r in studies + outcomes + contrasts + reviews_in]
    sources, source_of = _sources(urls, log)

    study_out = _studies(studies, source_of, log, prov)
    arms, arm_index = _arms(studies, outcomes, contrasts, source_of, log)
    outcome_out = _outcomes(outcomes, arm_index, source_of, log, prov)
    contrast_out = _contrasts(contrasts, arms, outcome_out, source_of, log, prov)
    review_out = convert_reviews(reviews_in, source_of, log, prov)
    log("Risk of bias", "risk_of_bias.csv is written with its header only: the curated data "
        "hold no risk-of-bias judgements (no tool, domain or judgement was read).")

    tables = {"sources": sources, "studies": study_out, "arms": list(arms.values()),
              "outcomes": outcome_out, "contrasts": contrast_out, "risk_of_bias": [],
              "reviews": review_out}
    for name, rows in tables.items():
        rows.sort(key=lambda r, k=ID_COLUMN[name]: r[k])
        _validate(name, rows)
    log("Summary", "read: " + ", ".join(
        f"{n} {len(rs)}" for n, rs in (("studies", studies_in), ("outcomes", outcomes_in),
                                        ("contrasts", contrasts_in), ("reviews", reviews_in))))
    log("Summary", "written: " + ", ".join(f"{n}.csv {len(rs)}" for n, rs in tables.items()))
    return Conversion(tables, log.sections, prov)


def _deduplicate(studies: list[Row], outcomes: list[Row], contrasts: list[Row],
                 log: Log) -> tuple[list[Row], list[Row], list[Row]]:
    """Keep one copy of trials held by both folders; move uncovered leg rows to the kept id."""
    main_ids = {r.data["study_id"] for r in studies if not r.file.startswith("leg/")}
    leg_ids = {r.data["study_id"] for r in studies if r.file.startswith("leg/")}
    for sid in sorted(main_ids & leg_ids):
        if sid not in DUPLICATE_STUDIES:
            raise SystemExit(f"study_id {sid!r} is in both folders; add it to DUPLICATE_STUDIES")
    # A trial under two different ids would be double-counted silently: any shared PMID, DOI
    # or source page must be a known duplicate.
    for key in ("pmid", "doi", "source_url"):
        groups: dict[str, set[tuple[bool, str]]] = defaultdict(set)
        for r in studies:
            if r.data[key]:
                groups[r.data[key]].add((r.file.startswith("leg/"), r.data["study_id"]))
        for value, members in sorted(groups.items()):
            ids = {sid for _, sid in members}
            rest = {(leg, sid) for leg, sid in members
                    if not (leg and sid in DUPLICATE_STUDIES and DUPLICATE_STUDIES[sid][0] in ids)}
            if len(rest) > 1:
                raise SystemExit(f"{key} {value!r} shared by {sorted(ids)}: same trial?")
    log("Duplicated trials", "study ids, PMIDs, DOIs and source pages were compared across both "
        "folders; the only shared ones are the two known duplicates below.")
    kept_studies = []
    for r in studies:
        sid = r.data["study_id"]
        if r.file.startswith("leg/") and sid in DUPLICATE_STUDIES:
            keep, why = DUPLICATE_STUDIES[sid]
            log("Duplicated trials", f"`{r.where}` ({sid}) dropped: duplicate of main-folder "
                f"`{keep}` ({why}). The main-folder record is kept (AUDIT.md: `high`).")
            continue
        kept_studies.append(r)

    main_out = [r for r in outcomes if not r.file.startswith("leg/")]
    main_con = [r for r in contrasts if not r.file.startswith("leg/")]
    kept_outcomes, kept_contrasts = list(main_out), list(main_con)
    for r in outcomes:
        if r.file.startswith("leg/") and r.data["study_id"] in DUPLICATE_STUDIES:
            dup = r.data["study_id"]
            keep = DUPLICATE_STUDIES[dup][0]
            label = DUPLICATE_ARM_LABELS[(dup, r.data["arm_label"])]
            twins = [m for m in main_out if m.data["study_id"] == keep
                     and m.data["arm_label"] == label
                     and all(m.data[c] == r.data[c] for c in ("outcome", "timepoint_weeks",
                                                               "value_type"))
                     and all(same_number(m.data[c], r.data[c])
                             for c in ("mean", "events", "total", "median"))
                     and {abs(float(x)) for x in (m.data["ci_lb"], m.data["ci_ub"]) if x}
                     == {abs(float(x)) for x in (r.data["ci_lb"], r.data["ci_ub"]) if x}]
            if twins:
                log("Duplicated trials", f"`{r.where}` dropped: same values as `{twins[0].where}`"
                    f" ({dup} -> {keep}, arm '{label}', {r.data['outcome']}, week "
                    f"{r.data['timepoint_weeks'] or '?'}; mean {r.data['mean']} vs "
                    f"{twins[0].data['mean']}).")
            else:
                moved = Row(dict(r.data, study_id=keep, arm_label=label), r.file, r.line)
                kept_outcomes.append(moved)
                log("Duplicated trials", f"`{r.where}` kept under `{keep}` (no matching row in "
                    "the main folder).")
        elif r.file.startswith("leg/"):
            kept_outcomes.append(r)
    for r in contrasts:
        if r.file.startswith("leg/") and r.data["study_id"] in DUPLICATE_STUDIES:
            dup = r.data["study_id"]
            keep = DUPLICATE_STUDIES[dup][0]
            twins = [m for m in main_con if m.data["study_id"] == keep
                     and all(m.data[c] == r.data[c] for c in ("arm1_type", "arm2_type", "outcome",
                                                               "timepoint_weeks", "measure"))
                     and all(same_number(m.data[c], r.data[c])
                             for c in ("estimate", "ci_lb", "ci_ub"))]
            if twins:
                log("Duplicated trials", f"`{r.where}` dropped: same estimate and CI as "
                    f"`{twins[0].where}` ({dup} -> {keep}, {r.data['outcome']}, "
                    f"{r.data['measure']} {r.data['estimate']}).")
            else:
                kept_contrasts.append(Row(dict(r.data, study_id=keep), r.file, r.line))
                log("Duplicated trials", f"`{r.where}` kept under `{keep}` (no matching row in "
                    "the main folder).")
        elif r.file.startswith("leg/"):
            kept_contrasts.append(r)
    return kept_studies, kept_outcomes, kept_contrasts


def _drop_numberless_events(outcomes: list[Row], studies: list[Row], log: Log) -> list[Row]:
    """Leave out events rows without events/total; their percentage goes into the study notes."""
    kept = []
    notes_of = {r.data["study_id"]: r for r in studies}
    added: dict[str, list[str]] = defaultdict(list)
    for r in outcomes:
        d = r.data
        if d["value_type"] == "events" and not d["events"] and not d["total"]:
            pct = re.findall(r"\d+(?:\.\d+)?%", d["locator"] + " " + d["notes"])
            pct_text = pct[0] if pct else "no percentage"
            added[d["study_id"]].append(f"{d['arm_label']} {pct_text} ({d['timepoint_label']})")
            log("Rows not imported", f"`{r.where}` ({d['study_id']}, '{d['arm_label']}', "
                f"{d['outcome']}): value_type events without events/total, so the row carries "
                f"no number; the percentage ({pct_text}) is kept in the study notes.")
            continue
        kept.append(r)
    for sid, items in added.items():
        row = notes_of[sid]
        row.data = dict(row.data, notes=row.data["notes"] + " [import] Response percentages "
                        "without counts (arm sizes not read; events rows not imported): "
                        + "; ".join(items) + ".")
        log("Rows not imported", f"{sid}: study notes extended with the percentages.")
    return kept


def _sources(urls: list[str], log: Log) -> tuple[list[dict[str, str]], dict[str, str]]:
    """One source row per distinct source_url; ids are host slug + counter (sorted, stable)."""
    by_slug: dict[str, list[str]] = defaultdict(list)
    for url in sorted(set(urls)):
        by_slug[rules.source_slug(url)].append(url)
    rows, source_of = [], {}
    for slug in sorted(by_slug):
        for k, url in enumerate(by_slug[slug], start=1):
            sid = f"{slug}_{k:02d}"
            kind, why = rules.source_kind(url)
            is_url = bool(re.match(r"https?://", url))
            # A non-URL reference is kept verbatim as the note (the rule is in the log).
            note = why if is_url else url
            rows.append({"source_id": sid, "url": url if is_url else "", "kind": kind,
                         "note": note})
            source_of[url] = sid
            log("Sources", f"`{sid}` {kind}: {why}" + ("" if is_url else f" ({url})"))
    return rows, source_of


def _studies(studies: list[Row], source_of: dict[str, str], log: Log,
             prov: dict[str, str]) -> list[dict[str, str]]:
    """studies.csv rows: vocabulary mapping of condition and acupuncture type, sessions."""
    out = []
    dup_notes: dict[str, list[str]] = defaultdict(list)
    for dup, (keep, why) in DUPLICATE_STUDIES.items():
        dup_notes[keep].append(f"also curated as leg/{dup} ({why}); that copy and its "
                               "duplicate rows were dropped at import (IMPORT_LOG.md)")
    for r in studies:
        d = r.data
        sid = d["study_id"]
        if sid != slugify(sid, 200):
            raise SystemExit(f"study_id {sid!r} is not a lowercase slug")
        context = f"{d['title']} {d['notes']}"
        condition, cdetail, crule = rules.map_condition(d["condition"], context)
        log("Studies: conditions", f"{sid}: `{d['condition']}` -> {condition} ({crule})")
        acu, adetail, arule = rules.map_acupuncture_type(d["acupuncture_type"], context)
        if arule != "curated term kept":
            log("Studies: acupuncture types", f"{sid}: -> {acu} ({arule})")
        n_sessions, srule = rules.parse_sessions(d["n_sessions"])
        if srule not in ("blank", "plain number"):
            log("Studies: sessions", f"{sid}: '{d['n_sessions']}' -> {n_sessions or 'blank'} "
                f"({srule})")
        # sessions_per_week and treatment_weeks are numeric columns of the store; text such as
        # "2 then 1" or "5 vs 2" has no single value, so it moves verbatim into the notes.
        numeric: dict[str, str] = {}
        notes = d["notes"]
        for col in ("sessions_per_week", "treatment_weeks"):
            value = d[col]
            if value and not NUMERIC_RE.fullmatch(value):
                numeric[col] = ""
                notes += f" [import] {col} as curated: '{value}' (not a single number)."
                log("Studies: sessions", f"{sid}: {col} '{value}' is not a single number: "
                    "column left blank, text kept in notes")
            else:
                numeric[col] = value
        out.append({
            "study_id": sid, "label": d["label"], "title": d["title"], "year": d["year"],
            "journal": d["journal"], "pmid": d["pmid"], "doi": d["doi"], "country": d["country"],
            "condition": condition, "condition_detail": cdetail, "acupuncture_type": acu,
            "acupuncture_detail": adetail, "n_sessions": n_sessions,
            "sessions_text": d["n_sessions"], "sessions_per_week": numeric["sessions_per_week"],
            "treatment_weeks": numeric["treatment_weeks"], "n_randomized": d["n_randomized"],
            "source_id": source_of[d["source_url"]], "locator": "", "status": "active",
            "duplicate_note": "; ".join(dup_notes.get(sid, [])), "notes": notes,
        })
        prov[f"studies/{sid}"] = r.where
    log("Studies: sessions", "n_sessions keeps only the base number, sessions_text the curated "
        "text; numeric sessions_per_week and treatment_weeks are copied as read.")
    return out


def _check_quote(sid: str, arm: NoteArm, text: str) -> None:
    """Stop unless the arm's quotes and n occur verbatim in the study text."""
    for q in (arm.quote, arm.n_quote):
        if q and q not in text:
            raise SystemExit(f"{sid}: note quote {q!r} not found in the study text")
    if arm.n and not re.search(rf"(?<![\d.]){re.escape(arm.n)}(?![\d.])",
                               arm.n_quote or arm.quote):
        raise SystemExit(f"{sid}: n {arm.n} not in its quote")


def _arms(studies: list[Row], outcomes: list[Row], contrasts: list[Row],
          source_of: dict[str, str], log: Log
          ) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], str]]:
    """Derive arms from outcome labels, study notes and contrast-only arm types.

    Returns the arms by arm_id (each with a private ``_curated`` type set for contrast matching)
    and an index (study_id, curated label) -> arm_id.
    """
    arms: dict[str, dict[str, str]] = {}
    index: dict[tuple[str, str], str] = {}
    study_rows = {r.data["study_id"]: r for r in studies}
    by_study: dict[str, list[Row]] = defaultdict(list)
    for r in outcomes:
        by_study[r.data["study_id"]].append(r)
    con_by_study: dict[str, list[Row]] = defaultdict(list)
    for r in contrasts:
        con_by_study[r.data["study_id"]].append(r)
    for (sid, alias), label in ARM_ALIASES.items():
        log("Arms", f"{sid}: '{alias}' is the same arm as '{label}' (merged)")
    for sid, why in COUNTS_NOT_USED.items():
        log("Arms", f"{sid}: per-arm numbers in the notes not used as n_randomized ({why})")
    for sid, srow in study_rows.items():
        s = srow.data
        study_text = f"{s['notes']} || {s['acupuncture_type']} || {s['title']}"
        found: dict[str, dict[str, str]] = {}          # label -> arm (insertion order)
        for r in by_study.get(sid, []):
            label = ARM_ALIASES.get((sid, r.data["arm_label"]), r.data["arm_label"])
            arm = found.setdefault(label, {"label": label, "_curated": r.data["arm_type"],
                                           "_origin": "outcome rows",
                                           "source_id": source_of[r.data["source_url"]],
                                           "locator": r.data["locator"], "description": "",
                                           "n_randomized": ""})
            if arm["_curated"] != r.data["arm_type"]:
                raise SystemExit(f"{sid}: arm {label!r} has two types")
            index[(sid, r.data["arm_label"])] = label
        for note in NOTE_ARMS.get(sid, ()):
            _check_quote(sid, note, study_text)
            arm = found.get(note.label)
            if arm is None:
                arm = found[note.label] = {"label": note.label, "_curated": note.arm_type,
                                           "_origin": "study notes"}
            elif arm["_curated"] != note.arm_type:
                raise SystemExit(f"{sid}: note arm {note.label!r} type differs from outcomes")
            arm.update(description=note.quote, n_randomized=note.n,
                       source_id=source_of[s["source_url"]],
                       locator=f'studies.csv notes: "{note.n_quote or note.quote}"')
        for r in con_by_study.get(sid, []):
            for col in ("arm1_type", "arm2_type"):
                t = r.data[col]
                if not any(a["_curated"] == t for a in found.values()):
                    label = f"{t} (arm named only in contrasts)"
                    found[label] = {"label": label, "_curated": t, "_origin": "contrast rows",
                                    "description": "", "n_randomized": "",
                                    "source_id": source_of[r.data["source_url"]],
                                    "locator": r.data["locator"]}
                    log("Arms", f"{sid}: arm of type {t} exists only in contrast `{r.where}`")
        used: set[str] = set()
        for label, arm in found.items():
            slug = _arm_slug(label, used)
            arm_type, trule = rules.normalise_arm_type(arm["_curated"], label)
            if trule != "curated term kept":
                log("Arms", f"{sid}:{slug}: arm_type {arm['_curated']} -> {arm_type} ({trule})")
            sham = ""
            if arm_type == "sham":
                sham, srule = rules.sham_type(f"{label} {arm['description']}")
                log("Sham types", f"{sid}:{slug}: {sham} ({srule})")
            arm_id = f"{sid}:{slug}"
            arms[arm_id] = {"arm_id": arm_id, "study_id": sid, "label": label,
                            "arm_type": arm_type, "sham_type": sham,
                            "n_randomized": arm["n_randomized"],
                            "description": arm["description"], "source_id": arm["source_id"],
                            "locator": arm["locator"], "_curated": arm["_curated"]}
            for (isid, raw), lab in list(index.items()):
                if isid == sid and lab == label:
                    index[(isid, raw)] = arm_id
        origins = defaultdict(int)
        for arm in found.values():
            origins[arm["_origin"]] += 1
        with_n = sum(1 for a in found.values() if a["n_randomized"])
        log("Arms", f"{sid}: {len(found)} arms (" + ", ".join(
            f"{v} from {k}" for k, v in origins.items()) + f"); n_randomized from notes for "
            f"{with_n}")
    return arms, index


def _outcomes(outcomes: list[Row], arm_index: dict[tuple[str, str], str],
              source_of: dict[str, str], log: Log, prov: dict[str, str]
              ) -> list[dict[str, str]]:
    """outcomes.csv rows (numbers copied as read)."""
    out = []
    counter: dict[str, int] = defaultdict(int)
    mapped: dict[str, list[str]] = defaultdict(list)
    ranges: dict[str, str] = {}
    for r in outcomes:
        d = r.data
        sid = d["study_id"]
        counter[sid] += 1
        vid = f"{sid}:v{counter[sid]:03d}"
        outcome, detail, orule = rules.map_outcome(d["outcome"])
        if orule != "curated term kept":
            mapped[orule].append(vid)
        lo, hi, rrule = rules.scale_range(d["scale"])
        ranges.setdefault(d["scale"], f"'{d['scale']}' -> "
                          + (f"{lo}..{hi}" if lo else "blank") + f" ({rrule})")
        has_ci = bool(d["ci_lb"] or d["ci_ub"])
        level = rules.ci_level(d["locator"] + " " + d["notes"])[0] if has_ci else ""
        out.append({
            "value_id": vid, "study_id": sid, "arm_id": arm_index[(sid, d["arm_label"])],
            "outcome": outcome, "outcome_detail": detail, "scale": d["scale"],
            "scale_min": lo, "scale_max": hi, "direction": d["direction"],
            "timepoint_weeks": d["timepoint_weeks"], "timepoint_label": d["timepoint_label"],
            "value_type": d["value_type"], "n": d["n"], "mean": d["mean"], "sd": d["sd"],
            "se": d["se"], "ci_lb": d["ci_lb"], "ci_ub": d["ci_ub"], "ci_level": level,
            "median": d["median"], "q1": d["q1"], "q3": d["q3"], "events": d["events"],
            "total": d["total"], "source_id": source_of[d["source_url"]],
            "locator": d["locator"], "confidence": d["confidence"], "status": "active",
            "notes": d["notes"],
        })
        prov[f"outcomes/{vid}"] = r.where
    for why, ids in mapped.items():
        log("Outcomes", f"{why}: {len(ids)} rows")
    log("Outcomes", "ci_level is 0.95 on every row with a CI (no other level is stated on an "
        "imported row; the 90% CIs of Shin 2015 were never copied) and blank without a CI.")
    for text in sorted(ranges.values()):
        log("Outcomes", "scale range " + text)
    return out


def _pick_arm(sid: str, arm_type: str, role: str, text: str, arms: list[dict[str, str]],
              exclude: str, where: str, log: Log) -> tuple[str, bool]:
    """arm_id for a contrast's arm1/arm2 type; returns (arm_id, ambiguous)."""
    cands = [a for a in arms if a["_curated"] == arm_type and a["arm_id"] != exclude]
    if len(cands) == 1:
        return cands[0]["arm_id"], False
    if not cands:
        raise SystemExit(f"{where}: no arm of type {arm_type} in {sid}")
    segment = rules.arm_segment(text, role).lower()
    stop = {"acupuncture", "group", "arm", "and", "the", "with", "plus", "only", "alone"}

    def score(arm: dict[str, str]) -> int:
        words = {w for w in re.findall(r"[a-z]{3,}", arm["label"].lower()) if w not in stop}
        return sum(1 for w in words if re.search(rf"\b{w}\b", segment))

    scored = sorted(((score(a), a["arm_id"]) for a in cands), key=lambda t: (-t[0], t[1]))
    if segment and scored[0][0] > scored[1][0]:
        log("Contrasts: arms", f"`{where}` {role} ({arm_type}): '{segment}' -> "
            f"`{scored[0][1]}` (of {len(cands)} {arm_type} arms)")
        return scored[0][1], False
    log("Contrasts: arms", f"`{where}` {role} ({arm_type}): ambiguous among "
        f"{[a['arm_id'] for a in cands]}; first kept, confidence low")
    return scored[0][1], True


def _contrasts(contrasts: list[Row], arms: dict[str, dict[str, str]],
               outcome_out: list[dict[str, str]], source_of: dict[str, str], log: Log,
               prov: dict[str, str]) -> list[dict[str, str]]:
    """contrasts.csv rows: arm ids, confidence, direction and p-value qualifier."""
    out = []
    counter: dict[str, int] = defaultdict(int)
    by_study: dict[str, list[dict[str, str]]] = defaultdict(list)
    for a in arms.values():
        by_study[a["study_id"]].append(a)
    for r in contrasts:
        d = r.data
        sid = d["study_id"]
        counter[sid] += 1
        cid = f"{sid}:c{counter[sid]:02d}"
        text = " ".join((d["scale"], d["locator"], d["notes"]))
        arm1, amb1 = _pick_arm(sid, d["arm1_type"], "arm1", text, by_study[sid], "", r.where,
                               log)
        arm2, amb2 = _pick_arm(sid, d["arm2_type"], "arm2", text, by_study[sid], arm1, r.where,
                               log)
        outcome, detail, _ = rules.map_outcome(d["outcome"])
        context = " ".join((d["timepoint_label"], d["locator"], d["notes"],
                            STUDY_CONTRAST_CAVEATS.get(sid, "")))
        conf, crule = rules.contrast_confidence(d["scale"] + " " + context)
        notes = d["notes"]
        if amb1 or amb2:
            conf, crule = "low", "arm assignment ambiguous"
            notes = (notes + " " if notes else "") + "[import] arm assignment ambiguous."
        log("Contrasts: confidence", f"`{cid}` ({r.where}): {conf} ({crule})")
        arm_dirs = sorted({o["direction"] for o in outcome_out
                           if o["study_id"] == sid and o["scale"] == d["scale"]
                           and o["outcome"] == outcome})
        direction, drule = rules.contrast_direction(
            d["scale"], context, arms[arm1]["label"], arms[arm2]["label"], d["measure"],
            outcome, arm_dirs)
        log("Contrasts: direction", f"`{cid}`: {direction or 'blank'} ({drule})")
        p_value, qualifier = rules.split_p_value(d["p_value"])
        if qualifier:
            log("Contrasts: p-values", f"`{cid}`: '{d['p_value']}' -> p_value {p_value}, "
                f"qualifier '{qualifier}'")
        has_ci = bool(d["ci_lb"] or d["ci_ub"])
        out.append({
            "contrast_id": cid, "study_id": sid, "arm1_id": arm1, "arm2_id": arm2,
            "outcome": outcome, "outcome_detail": detail, "scale": d["scale"],
            "direction": direction, "timepoint_weeks": d["timepoint_weeks"],
            "timepoint_label": d["timepoint_label"], "measure": d["measure"],
            "estimate": d["estimate"], "ci_lb": d["ci_lb"], "ci_ub": d["ci_ub"],
            "ci_level": rules.ci_level(d["locator"])[0] if has_ci else "",
            "p_value": p_value, "p_value_qualifier": qualifier, "n1": d["n1"], "n2": d["n2"],
            "source_id": source_of[d["source_url"]], "locator": d["locator"],
            "confidence": conf, "status": "active", "notes": notes,
        })
        prov[f"contrasts/{cid}"] = r.where
    return out


def _validate(name: str, rows: list[dict[str, str]]) -> None:
    """Stop on a vocabulary violation or a duplicated id (the output must satisfy the schema)."""
    ids = [r[ID_COLUMN[name]] for r in rows]
    if len(ids) != len(set(ids)):
        raise SystemExit(f"{name}: duplicated ids")
    for row in rows:
        for col, vocab in VOCAB_COLUMNS.get(name, {}).items():
            if row[col]:
                check_term(vocab, row[col])


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def render_csv(name: str, rows: list[dict[str, str]]) -> str:
    """CSV text of one output table (header + rows, LF line endings)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(OUT_COLUMNS[name])
    for row in rows:
        writer.writerow([row[c] for c in OUT_COLUMNS[name]])
    return buf.getvalue()


def render_log(conv: Conversion, with_provenance: bool = True) -> str:
    """Markdown text of the decision log (and, for the file, the row provenance)."""
    lines = ["# Import log: curated evidence -> versioned CSV files", "",
             ("Written by `tools/import_shared_evidence.py` (deterministic; rerun to regenerate). "
             "Every decision the converter takes is listed here; no number was changed."), ""]
    for section in LOG_SECTIONS:
        entries = conv.log[section]
        if not entries:
            continue
        lines += [f"## {section}", ""] + [f"- {e}" for e in entries] + [""]
    if with_provenance:
        lines += ["## Row provenance", "",
                  "Output row (`table/id`) <- curated file and line (header = line 1).", ""]
        lines += [f"- `{k}` <- `{v}`" for k, v in sorted(conv.provenance.items())] + [""]
    return "\n".join(lines)


def write(conv: Conversion, out: Path) -> None:
    """Write the output tables and IMPORT_LOG.md into ``out`` (LF, UTF-8)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in conv.tables.items():
        (out / f"{name}.csv").write_bytes(render_csv(name, rows).encode("utf-8"))
    (out / "IMPORT_LOG.md").write_bytes(render_log(conv).encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="curated evidence folder (with leg/)")
    parser.add_argument("output", type=Path, help="output folder for the CSV files")
    args = parser.parse_args(argv)
    conv = convert(args.source)
    write(conv, args.output)
    sys.stdout.write(render_log(conv, with_provenance=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
