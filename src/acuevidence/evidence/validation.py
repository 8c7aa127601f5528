"""Row rules of the evidence registry: vocabularies, references, provenance and ranges.

:func:`row_problems` lists what is wrong with one row (errors and warnings, each naming the column);
the write path refuses a row with errors (:func:`validate_row`), and ``acuevidence evidence check``
runs the same rules over every row (plus the database-wide checks in :mod:`.checks`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from ..errors import InputError
from . import vocabulary as voc
from .schema import TableSpec, arms, sources, studies

__all__ = ["VOCAB_COLUMNS", "Problem", "row_problems", "validate_row"]

# Which vocabulary governs which column (None = free text).
VOCAB_COLUMNS: dict[str, dict[str, str]] = {
    "sources": {"kind": "SOURCE_KINDS"},
    "studies": {"condition": "CONDITIONS", "acupuncture_type": "ACUPUNCTURE_TYPES",
                "status": "STATUS"},
    "arms": {"arm_type": "ARM_TYPES", "sham_type": "SHAM_TYPES"},
    "outcomes": {"outcome": "OUTCOMES", "direction": "DIRECTIONS", "value_type": "VALUE_TYPES",
                 "confidence": "CONFIDENCE", "status": "STATUS"},
    "contrasts": {"outcome": "OUTCOMES", "direction": "DIRECTIONS", "measure": "MEASURES",
                  "p_value_qualifier": "P_VALUE_QUALIFIERS", "confidence": "CONFIDENCE",
                  "status": "STATUS"},
    "reviews": {"condition": "CONDITIONS", "comparator": "ARM_TYPES", "outcome": "OUTCOMES",
                "window": "WINDOWS", "measure": "MEASURES"},
    "risk_of_bias": {"tool": "ROB_TOOLS", "judgement": "ROB_JUDGEMENTS"},
}

RATIO_MEASURES = ("RR", "OR", "HR")


@dataclass(frozen=True)
class Problem:
    """One finding: severity ``error`` (refused on write) or ``warning`` (allowed, reported)."""

    severity: str
    table: str
    row_id: str
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.table} {self.row_id} [{self.column}]: {self.message}"


Lookup = Callable[[str, str], dict[str, Any] | None]


def connection_lookup(conn: Connection) -> Lookup:
    """Look rows up by (table, id) inside a transaction."""
    specs = {"studies": (studies, "study_id"), "arms": (arms, "arm_id"),
             "sources": (sources, "source_id")}

    def get(table: str, key: str) -> dict[str, Any] | None:
        t, col = specs[table]
        r = conn.execute(select(t).where(t.c[col] == key)).first()
        return dict(r._mapping) if r else None

    return get


def validate_row(conn: Connection, spec: TableSpec, row: Mapping[str, Any]) -> None:
    """Raise :class:`InputError` listing every error of ``row`` (warnings pass)."""
    errors = [p for p in row_problems(spec.name, spec.key, row, connection_lookup(conn))
              if p.severity == "error"]
    if errors:
        msg = "; ".join(f"{p.column}: {p.message}" for p in errors)
        raise InputError(f"{spec.name} {row.get(spec.key)!r} is not valid: {msg}",
                         column=errors[0].column)


def row_problems(table: str, key: str, row: Mapping[str, Any], lookup: Lookup) -> list[Problem]:
    """Every problem of one row, given a way to look up referenced rows."""
    rid = str(row.get(key))
    out: list[Problem] = []

    def err(col: str, msg: str, severity: str = "error") -> None:
        out.append(Problem(severity, table, rid, col, msg))

    for col, vocab in VOCAB_COLUMNS.get(table, {}).items():
        value = row.get(col)
        if value is None:
            continue
        try:
            voc.check_term(vocab, value)
        except InputError as e:
            err(col, str(e))

    sid = row.get("source_id")
    if sid is not None and table != "sources" and lookup("sources", sid) is None:
        err("source_id", f"source {sid!r} is not in sources; add the source first.")
    if table in ("outcomes", "contrasts"):
        for col in ("source_id", "locator", "confidence"):
            if row.get(col) is None:
                err(col, "every value needs its source (source_id + locator) and a confidence.")
    if table == "sources" and row.get("url") is None and row.get("note") is None:
        err("url", "a source needs a URL (or, for a non-web source, a note saying what it is).")

    study_id = row.get("study_id")
    if table in ("arms", "outcomes", "contrasts", "risk_of_bias") and study_id is not None:
        if lookup("studies", study_id) is None:
            err("study_id", f"study {study_id!r} does not exist.")
    arm_cols = {"outcomes": ("arm_id",), "contrasts": ("arm1_id", "arm2_id")}.get(table, ())
    for col in arm_cols:
        aid = row.get(col)
        if aid is None:
            if table == "outcomes":
                err(col, "an arm-level value needs its arm.")
            continue
        arm = lookup("arms", aid)
        if arm is None:
            err(col, f"arm {aid!r} does not exist.")
        elif arm["study_id"] != study_id:
            err(col, f"arm {aid!r} belongs to study {arm['study_id']!r}, not {study_id!r}.")

    if table == "outcomes":
        out.extend(_outcome_ranges(table, rid, row))
    if table == "contrasts":
        out.extend(_contrast_ranges(table, rid, row))
    if table == "arms" and row.get("sham_type") is not None and row.get("arm_type") != "sham":
        err("sham_type", "only sham arms have a sham type.")
    if table == "studies":
        for col in ("n_randomized", "n_sessions", "treatment_weeks", "sessions_per_week"):
            v = row.get(col)
            if v is not None and v <= 0:
                err(col, f"must be positive; got {v}.")
    return out


def _outcome_ranges(table: str, rid: str, r: Mapping[str, Any]) -> list[Problem]:
    out: list[Problem] = []

    def p(col: str, msg: str, severity: str = "error") -> None:
        out.append(Problem(severity, table, rid, col, msg))

    vt = r.get("value_type")
    for col in ("n", "total"):
        if r.get(col) is not None and r[col] <= 0:
            p(col, f"must be positive; got {r[col]}.")
    if r.get("events") is not None:
        if r["events"] < 0:
            p("events", f"must not be negative; got {r['events']}.")
        if r.get("total") is not None and r["events"] > r["total"]:
            p("events", f"events ({r['events']}) exceed the total ({r['total']}).")
    if vt == "events" and (r.get("events") is None or r.get("total") is None):
        p("events", "an events row needs events and total.")
    if vt in ("final", "change_from_baseline") and r.get("mean") is None and \
            r.get("median") is None:
        p("mean", "a continuous value needs a mean or a median.")
    for col in ("se",):
        if r.get(col) is not None and r[col] <= 0:
            p(col, f"must be positive; got {r[col]}.")
    sd = r.get("sd")
    if sd is not None:
        if sd < 0:
            p("sd", f"must not be negative; got {sd}.")
        elif sd == 0:
            p("sd", "SD = 0: leave this row out of SD-based analyses (verbatim from the source?).",
              "warning")
    lo, hi = r.get("ci_lb"), r.get("ci_ub")
    if lo is not None and hi is not None:
        if lo > hi:
            p("ci_lb", f"CI lower bound {lo} is above the upper bound {hi}.")
        m = r.get("mean")
        if m is not None and not lo <= m <= hi:
            p("mean", f"mean {m} lies outside its own CI ({lo}, {hi}).")
    lvl = r.get("ci_level")
    if lvl is not None and not 0 < lvl < 1:
        p("ci_level", f"must be in (0, 1), e.g. 0.95; got {lvl}.")
    smin, smax = r.get("scale_min"), r.get("scale_max")
    if smin is not None and smax is not None:
        if smin >= smax:
            p("scale_min", f"scale minimum {smin} is not below the maximum {smax}.")
        m = r.get("mean")
        if m is not None and vt == "final" and not smin <= m <= smax:
            p("mean", f"final mean {m} lies outside the scale ({smin} to {smax}).")
        if m is not None and vt == "change_from_baseline" and abs(m) > smax - smin:
            p("mean", f"change {m} is larger than the scale's width ({smax - smin}).")
    q1, med, q3 = r.get("q1"), r.get("median"), r.get("q3")
    if q1 is not None and q3 is not None and q1 > q3:
        p("q1", f"first quartile {q1} is above the third ({q3}).")
    if med is not None and q1 is not None and q3 is not None and not q1 <= med <= q3:
        p("median", f"median {med} lies outside its quartiles ({q1}, {q3}).")
    if r.get("timepoint_weeks") is not None and r["timepoint_weeks"] < 0:
        p("timepoint_weeks", "must not be negative.")
    if r.get("confidence") == "low":
        p("confidence", "unverified value (confidence low): use in sensitivity analyses only.",
          "warning")
    return out


def _contrast_ranges(table: str, rid: str, r: Mapping[str, Any]) -> list[Problem]:
    out: list[Problem] = []

    def p(col: str, msg: str, severity: str = "error") -> None:
        out.append(Problem(severity, table, rid, col, msg))

    est, lo, hi, m = r.get("estimate"), r.get("ci_lb"), r.get("ci_ub"), r.get("measure")
    if lo is not None and hi is not None:
        if lo > hi:
            p("ci_lb", f"CI lower bound {lo} is above the upper bound {hi}.")
        elif est is not None and not lo <= est <= hi:
            p("estimate", f"estimate {est} lies outside its own CI ({lo}, {hi}).")
    if m in RATIO_MEASURES:
        for col, v in (("estimate", est), ("ci_lb", lo), ("ci_ub", hi)):
            if v is not None and v <= 0:
                p(col, f"a {m} must be positive; got {v}.")
    if m == "RD":
        for col, v in (("estimate", est), ("ci_lb", lo), ("ci_ub", hi)):
            if v is not None and not -1 <= v <= 1:
                p(col, f"a risk difference is a proportion in [-1, 1]; got {v} "
                       "(percentage points?).")
    pv = r.get("p_value")
    if pv is not None and not 0 <= pv <= 1:
        p("p_value", f"must be in [0, 1]; got {pv}.")
    for col in ("n1", "n2"):
        if r.get(col) is not None and r[col] <= 0:
            p(col, f"must be positive; got {r[col]}.")
    if est is None and lo is None and pv is None:
        p("estimate", "a contrast needs an estimate (with a CI or p-value).")
    return out
