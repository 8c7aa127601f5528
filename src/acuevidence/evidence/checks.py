"""Data checks over the whole registry (``acuevidence evidence check``) and its summary counts.

:func:`run_checks` applies the row rules of :mod:`.validation` to every row and adds the checks that
need more than one row: provenance that resolves, the same trial entered twice, contradictory
values, contrasts that disagree with their own arm-level means, arm sizes that exceed the trial.
Errors make the command (and CI) fail; warnings are reported.

:func:`stats` counts trials, arms and values per condition and comparator.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import pandas as pd

from .schema import DATA_TABLES
from .validation import Problem, row_problems

__all__ = ["Tables", "run_checks", "stats"]

Tables = Mapping[str, list[Mapping[str, Any]]]

# A contrast whose estimate differs from the difference of its arms' means by more than this share of
# the larger absolute value is flagged (adjusted estimates legitimately differ a little).
CONTRAST_AGREEMENT = 0.35
_URL = re.compile(r"^https?://[^\s]+$")


def _active(rows):
    return [r for r in rows if r.get("status", "active") != "retracted"]


def run_checks(tables: Tables) -> list[Problem]:
    """Every problem in the registry, errors first."""
    index = {s.name: {r[s.key]: r for r in tables.get(s.name, [])} for s in DATA_TABLES}

    def lookup(table: str, key: str):
        return index.get(table, {}).get(key)

    out: list[Problem] = []
    for spec in DATA_TABLES:
        for row in tables.get(spec.name, []):
            out.extend(row_problems(spec.name, spec.key, row, lookup))
    out.extend(_source_checks(tables))
    out.extend(_duplicate_trials(tables))
    out.extend(_contradictory_values(tables))
    out.extend(_contrast_vs_arms(tables))
    out.extend(_arm_sizes(tables))
    out.sort(key=lambda p: (p.severity != "error", p.table, p.row_id, p.column))
    return out


def _source_checks(t: Tables) -> list[Problem]:
    out = []
    for s in t.get("sources", []):
        url = s.get("url")
        if url is not None and not _URL.match(url):
            out.append(Problem("warning", "sources", s["source_id"], "url",
                               f"{url!r} is not a web address; say what the source is in 'note'."))
    used = {r.get("source_id") for name in ("studies", "arms", "outcomes", "contrasts", "reviews")
            for r in t.get(name, [])}
    for s in t.get("sources", []):
        if s["source_id"] not in used:
            out.append(Problem("warning", "sources", s["source_id"], "source_id",
                               "source not referenced by any row."))
    return out


def _norm_title(s: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", " ", (s or "").lower()).strip()


def _duplicate_trials(t: Tables) -> list[Problem]:
    out = []
    studies = _active(t.get("studies", []))
    for field in ("doi", "pmid", "title"):
        seen: dict[str, str] = {}
        for s in studies:
            raw = s.get(field)
            key = _norm_title(raw) if field == "title" else (raw or "").strip().lower()
            if not key or (field == "title" and len(key) < 25):
                continue
            if key in seen:
                out.append(Problem("error", "studies", s["study_id"], field,
                                   f"same {field} as study {seen[key]!r}: the same trial entered "
                                   "twice? Merge them (retract one) or correct the field."))
            else:
                seen[key] = s["study_id"]
    return out


_VALUE_FIELDS = ("n", "mean", "sd", "se", "ci_lb", "ci_ub", "median", "q1", "q3", "events",
                 "total")


def _contradictory_values(t: Tables) -> list[Problem]:
    groups: dict[tuple, list[Mapping[str, Any]]] = defaultdict(list)
    for r in _active(t.get("outcomes", [])):
        key = (r["study_id"], r["arm_id"], r["outcome"], r.get("outcome_detail"), r.get("scale"),
               r.get("timepoint_weeks"), r.get("timepoint_label"), r["value_type"])
        groups[key].append(r)
    out = []
    for key, rows in groups.items():
        if len(rows) < 2:
            continue
        first = rows[0]
        for other in rows[1:]:
            diff = [f for f in _VALUE_FIELDS if first.get(f) is not None
                    and other.get(f) is not None and first[f] != other[f]]
            if diff:
                out.append(Problem(
                    "error", "outcomes", other["value_id"], diff[0],
                    f"contradicts {first['value_id']!r} (same arm, outcome, scale and time point): "
                    + ", ".join(f"{f} {first[f]} vs {other[f]}" for f in diff)))
    return out


def _contrast_vs_arms(t: Tables) -> list[Problem]:
    means: dict[tuple, float] = {}
    for r in _active(t.get("outcomes", [])):
        if r["value_type"] in ("final", "change_from_baseline") and r.get("mean") is not None:
            means[(r["arm_id"], r["outcome"], r.get("scale"), r.get("timepoint_weeks"),
                   r["value_type"])] = r["mean"]
    out = []
    for c in _active(t.get("contrasts", [])):
        if c.get("measure") != "MD" or c.get("estimate") is None:
            continue
        for vt in ("final", "change_from_baseline"):
            m1 = means.get((c.get("arm1_id"), c["outcome"], c.get("scale"),
                            c.get("timepoint_weeks"), vt))
            m2 = means.get((c.get("arm2_id"), c["outcome"], c.get("scale"),
                            c.get("timepoint_weeks"), vt))
            if m1 is None or m2 is None:
                continue
            d = m1 - m2
            big = max(abs(d), abs(c["estimate"]), 1e-12)
            if abs(abs(d) - abs(c["estimate"])) > CONTRAST_AGREEMENT * big:
                out.append(Problem("warning", "contrasts", c["contrast_id"], "estimate",
                                   f"estimate {c['estimate']} differs from the arm means' "
                                   f"difference {d:.4g} ({vt}); adjusted estimate or a slip?"))
    return out


def _arm_sizes(t: Tables) -> list[Problem]:
    studies = {s["study_id"]: s for s in t.get("studies", [])}
    total: dict[str, int] = defaultdict(int)
    for a in t.get("arms", []):
        if a.get("n_randomized"):
            total[a["study_id"]] += a["n_randomized"]
    out = []
    for sid, n in total.items():
        nr = studies.get(sid, {}).get("n_randomized")
        if nr and n > nr:
            out.append(Problem("warning", "arms", sid, "n_randomized",
                               f"arm sizes add up to {n}, more than the {nr} randomized."))
    return out


def stats(tables: Tables) -> pd.DataFrame:
    """Trials, arms, arm-level values and contrasts per condition and comparator.

    A trial counts once under each comparator arm type it has (so rows do not add up to the
    number of trials); ``(any)`` rows give per-condition totals.
    """
    studies = {s["study_id"]: s for s in _active(t_rows(tables, "studies"))}
    arms_by_study: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for a in t_rows(tables, "arms"):
        if a["study_id"] in studies:
            arms_by_study[a["study_id"]].append(a)
    n_values = defaultdict(int)
    for r in _active(t_rows(tables, "outcomes")):
        n_values[r["study_id"]] += 1
    n_contrasts = defaultdict(int)
    for r in _active(t_rows(tables, "contrasts")):
        n_contrasts[r["study_id"]] += 1
    rows = []
    agg: dict[tuple[str, str], dict[str, Any]] = {}
    for sid, s in studies.items():
        comps = sorted({a["arm_type"] for a in arms_by_study[sid] if a["arm_type"] != "acupuncture"})
        for comp in comps + ["(any)"]:
            key = (s["condition"], comp)
            d = agg.setdefault(key, {"condition": s["condition"], "comparator": comp, "trials": 0,
                                     "with_numbers": 0, "arms": 0, "outcome_values": 0,
                                     "contrasts": 0})
            d["trials"] += 1
            d["with_numbers"] += int(n_values[sid] + n_contrasts[sid] > 0)
            d["arms"] += len(arms_by_study[sid])
            d["outcome_values"] += n_values[sid]
            d["contrasts"] += n_contrasts[sid]
    rows = sorted(agg.values(), key=lambda d: (d["condition"], d["comparator"] != "(any)",
                                               d["comparator"]))
    return pd.DataFrame(rows, columns=["condition", "comparator", "trials", "with_numbers", "arms",
                                       "outcome_values", "contrasts"])


def t_rows(tables: Tables, name: str) -> list[Mapping[str, Any]]:
    return list(tables.get(name, []))
