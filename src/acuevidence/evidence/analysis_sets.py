"""Analysis sets: the registry turned into analysis-ready effect sizes, by the rules reviewers use.

:func:`select` picks the trials of a condition that compare acupuncture with a comparator for one
outcome in one follow-up window, and returns an :class:`AnalysisSet`: one row per study comparison
with ``yi``/``vi`` (``data``), every decision taken (``log``), the measure and the evidence version.
``AnalysisSet.pool()`` hands it to :func:`acuevidence.meta_analysis`.

Rules, each applied and logged (``log`` actions: included, excluded, derived, harmonised, split,
combined, chose_timepoint):

1. **Windows** (Cochrane Back and Neck Group; :mod:`acuevidence.evidence._windows`), in weeks
   after randomisation:

   * *immediate*: within 1 week of the end of treatment, ``T - 1 <= t <= T + 1`` with ``T`` =
     ``treatment_weeks`` (else ``n_sessions / sessions_per_week``), or a label saying "end of
     treatment"; centre ``T``;
   * *short*: ``0 < t <= 13`` (up to 3 months); centre 6.5;
   * *intermediate*: ``13 < t <= 52`` (over 3, up to 12 months); centre 32.5;
   * *long*: ``t > 52``; nominal centre 104 (2 years).

   One time point per study and window: the one closest to the centre (ties: the later), or the
   latest / earliest (``timepoint``). Rows without ``timepoint_weeks`` are placed by a clear label
   ("end of treatment", "6 months", "24 h", "1 month after treatment"), else excluded.
   ``window=None`` keeps every post-baseline time point (one row per comparison and time point;
   :meth:`AnalysisSet.pool` then refuses, as that would count trials twice).
2. **Scales and direction** (:mod:`acuevidence.evidence._harmonise`): continuous outcomes are
   oriented so that NEGATIVE ``yi`` favours acupuncture (higher-is-better rows, improvement and
   reduction scores are multiplied by -1). For MD, pain intensity on 0-10 is multiplied by 10
   (mean, SD, SE, CI) onto the common 0-100 pain scale. ``measure=None`` chooses MD when the
   studies a mean difference can take (0-100 pain, else the instrument most studies share, same
   range) include every study an SMD could take, else SMD (Hedges' g), and logs why. Binary
   outcomes: RR by default (OR, RD on request) with acupuncture as group 1; responders oriented so
   that RR > 1 (RD > 0) favours acupuncture (a lower-is-better event definition is counted as its
   complement); adverse events so that RR < 1 favours acupuncture. ``AnalysisSet.orientation``
   states it. One instrument per study (0-100 pain first, then the one most studies in the set
   use; within 0-100 pain: VAS, NRS, CPGS, bothersomeness, SF-36 bodily pain).
3. **Multi-arm trials** without double counting (Cochrane Handbook 23.3.4): with ``"split"``, an
   arm shared by k comparisons enters each with n / k (and events / k; fractional counts are
   kept); with ``"combine"``, the acupuncture arms (and the control arms) are merged into one
   group (Handbook 6.5.2.10 for means and SDs; events and totals summed). Contrast-only trials are
   split or combined through the groups their estimate implies (SD from
   ``sd_from_se_difference``) when both n are known; a shared arm that can be neither split nor
   combined enters through one comparison only (the largest), the others are logged as excluded.
4. **Derived numbers**: SDs from SEs, CIs or medians and SEs from CIs or p-values come from
   :mod:`acuevidence.conversions`; a row without n takes the arm's randomised n (else the n of the
   same arm at the nearest other time point). All are marked ``derived`` with the arithmetic in
   ``derivation``, as are numbers the curation derived (notes say "derived" or "round(").
   ``include_derived=False`` leaves all of them out. ``confidence = low`` rows, and rows whose
   notes say the "±" is probably an SE (Delavar 2021), are excluded unless
   ``include_low_confidence``.
5. **Change vs final**: for SMD never mixed (the type with more studies is kept; a tie goes to the
   type with more participants, then to final values); for MD mixed when ``mix_change_final``
   (Cochrane Handbook 10.5.2), each study giving the set's majority type where it has it. A
   contrast whose scale text does not say what it is a difference of joins either type.
6. **Contrasts** (published between-arm estimates) enter for a pair of arms without usable
   arm-level numbers: ``yi`` = the estimate (log for ratios), oriented by the same rules (arm order,
   direction; a contrast without direction is excluded), ``vi`` from the CI (``se_from_ci``) or
   the p-value (``se_from_p``; "p < x" gives a conservative upper bound, "p > x" is refused); for
   MD only on the set's scale, for SMD through the implied SD (both n needed).
7. Retracted rows never enter; every row traces to ``source_id`` + ``locator`` + ``url``.
8. An empty selection raises :class:`acuevidence.errors.InputError` ("no trials compare X with Y
   for Z") listing the nearest selections that have data.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from ..printer import Report
from ..results import MetaResult, json_safe
from ._candidates import BINARY_MEASURES, CONTINUOUS_MEASURES, Comparator
from ._windows import TIMEPOINT_RULES, WINDOWS
from .store import Registry, evidence_version
from .vocabulary import check_term

__all__ = ["select", "AnalysisSet", "DATA_COLUMNS", "LOG_ACTIONS", "BINARY_OUTCOMES"]

BINARY_OUTCOMES = ("response", "adverse_events")
MULTI_ARM = ("split", "combine")
LOG_ACTIONS = ("included", "excluded", "derived", "harmonised", "split", "combined",
               "chose_timepoint")
DATA_COLUMNS = (
    "study_id", "label", "year", "arm_1", "arm_1_label", "arm_2", "arm_2_label", "n_1", "n_2",
    "mean_1", "sd_1", "mean_2", "sd_2", "events_1", "total_1", "events_2", "total_2",
    "estimate", "se", "yi", "vi", "measure", "outcome", "timepoint_weeks", "timepoint_label",
    "window", "value_type", "scale", "instrument", "derived", "derivation", "confidence",
    "source_id", "locator", "url", "row_ids",
)
_METAFOR = {"n_1": "n1i", "n_2": "n2i", "mean_1": "m1i", "sd_1": "sd1i", "mean_2": "m2i",
            "sd_2": "sd2i"}


# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class AnalysisSet:
    """Analysis-ready effect sizes of one selection, with every decision taken.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per study comparison (columns :data:`DATA_COLUMNS`): the numbers used (arm-level
        mean/SD/n or events/total, or the contrast estimate and SE, all on the analysis scale and
        in the analysis direction), ``yi``, ``vi``, and where each number comes from.
    log : list of dict
        ``{"study_id", "action", "reason"}`` in the order the rules were applied (``study_id`` is
        None for decisions about the whole set).
    measure : str
        ``"MD"``, ``"SMD"``, ``"RR"``, ``"OR"`` or ``"RD"`` (``yi`` of RR and OR is the log ratio).
    orientation : str
        Which direction favours acupuncture.
    criteria : dict
        The arguments of :func:`select`.
    evidence_version : str
        The registry content the set was built from.
    value_type : str or None
        ``"change"`` or ``"final"``: the kind of continuous value the set uses (SMD, or MD with
        ``mix_change_final=False``) or prefers (MD mixing both); None for binary sets.
    scale : str or None
        The common scale of a mean difference (``"pain 0-100"``, ``"RMDQ 0-24"``), or
        ``"standardised (Hedges' g)"``; None for binary sets.
    """

    data: pd.DataFrame
    log: list[dict[str, Any]]
    measure: str
    orientation: str
    criteria: dict[str, Any]
    evidence_version: str
    value_type: str | None = None
    scale: str | None = None

    @property
    def k(self) -> int:
        """Number of comparisons (rows)."""
        return len(self.data)

    @property
    def n_studies(self) -> int:
        return int(self.data["study_id"].nunique())

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`data`."""
        return self.data.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary: measure, orientation, criteria, evidence version, rows, log."""
        return json_safe({
            "measure": self.measure, "orientation": self.orientation,
            "criteria": self.criteria, "evidence_version": self.evidence_version,
            "value_type": self.value_type, "scale": self.scale, "k": self.k,
            "n_studies": self.n_studies,
            "data": [{k: (None if _missing(v) else v) for k, v in rec.items()}
                     for rec in self.data.to_dict(orient="records")],
            "log": self.log,
        })

    def metafor_frame(self) -> pd.DataFrame:
        """The columns of :meth:`to_metafor_csv` as a DataFrame."""
        d = self.data
        out = pd.DataFrame({"study": d["label"].astype(str), "yi": d["yi"].astype(float),
                            "vi": d["vi"].astype(float)})
        if self.measure in BINARY_MEASURES:
            if d["events_1"].notna().any():
                out["ai"] = d["events_1"]
                out["bi"] = d["total_1"] - d["events_1"]
                out["ci"] = d["events_2"]
                out["di"] = d["total_2"] - d["events_2"]
                out["n1i"] = d["total_1"]
                out["n2i"] = d["total_2"]
        elif d["mean_1"].notna().any():
            for src, dst in _METAFOR.items():
                out[dst] = d[src].astype(float)
        out["study_id"] = d["study_id"]
        out["measure"] = self.measure
        return out

    def to_metafor_csv(self, path: str | Path) -> Path:
        """Write a CSV for R: ``dat <- read.csv(path); rma(yi, vi, data = dat, slab = study)``.

        Columns ``study, yi, vi``, then ``ai, bi, ci, di, n1i, n2i`` (binary) or ``m1i, sd1i, n1i,
        m2i, sd2i, n2i`` (continuous) where the set has arm-level numbers (blank for contrast
        rows), ``study_id`` and ``measure``. Floats are written in shortest round-trip form.
        """
        p = Path(path)
        self.metafor_frame().to_csv(p, index=False, float_format=None, lineterminator="\n")
        return p

    def pool(self, **kwargs: Any) -> MetaResult:
        """Pool ``yi``/``vi`` with :func:`acuevidence.meta_analysis` (keyword options passed on),
        labelled by comparison, with this set's measure and evidence version."""
        from ..meta import meta_analysis

        dup = self.data.duplicated(["study_id", "arm_1", "arm_2"], keep=False)
        if dup.any():
            raise InputError(
                "The set holds several time points of the same comparison ("
                + ", ".join(sorted(set(self.data.loc[dup, "study_id"])))
                + "); pooling them would count those trials twice. Select one window "
                "(window='short', 'intermediate', ...).", column="window")
        for key in ("labels", "measure", "evidence_version", "data"):
            if key in kwargs:
                raise InputError(f"pool() sets {key!r} itself; leave it out.", column=key)
        return meta_analysis(self.data["yi"].to_numpy(float), self.data["vi"].to_numpy(float),
                             labels=list(self.data["label"]), measure=self.measure,
                             evidence_version=self.evidence_version, **kwargs)

    def summary(self, fmt: str = "text") -> str:
        """The set as text, Markdown or HTML: criteria, measure, orientation, rows, log counts."""
        c = self.criteria
        rep = Report(f"Analysis set: acupuncture vs {_terms_text(c['comparator'])}, "
                     f"{c['outcome']}, {c['window'] or 'all windows'}")
        rep.add_section("", [
            ("condition", _terms_text(c["condition"])),
            ("measure", self.measure), ("orientation", self.orientation),
            ("value type", self.value_type or "-"), ("scale", self.scale or "-"),
            ("comparisons", str(self.k)), ("studies", str(self.n_studies)),
            ("evidence version", self.evidence_version),
        ])
        cols = ["label", "timepoint_weeks", "value_type", "n_1", "n_2", "yi", "vi", "derived",
                "confidence"]
        rep.add_table("Comparisons", self.data[cols].copy())
        counts = Counter(e["action"] for e in self.log)
        rep.add_section("Log", [(a, str(counts[a])) for a in LOG_ACTIONS if counts[a]])
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (f"<AnalysisSet {self.measure} k={self.k} studies={self.n_studies} "
                f"{self.evidence_version}>")


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _terms_text(v: Any) -> str:
    return " or ".join(v) if isinstance(v, list | tuple) else str(v)


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------
def _as_terms(value: Any, name: str) -> tuple[str, ...]:
    terms = (value,) if isinstance(value, str) else tuple(value or ())
    if not terms or not all(isinstance(t, str) for t in terms):
        raise InputError(f"The '{name}' parameter must be a vocabulary term or a tuple of terms; "
                         f"got {value!r}.", column=name)
    return terms


def _comparators(value: Any, acup_types: tuple[str, ...]) -> tuple[Comparator, ...]:
    out = []
    for term in _as_terms(value, "comparator"):
        arm_type, _, sham = term.partition(":")
        check_term("ARM_TYPES", arm_type)
        if sham:
            if arm_type != "sham":
                raise InputError(f"comparator {term!r}: only 'sham' takes a sham type "
                                 f"('sham:{sham}').", column="comparator")
            check_term("SHAM_TYPES", sham)
        if arm_type in acup_types:
            raise InputError(f"comparator {term!r} is also an acupuncture arm type "
                             f"({', '.join(acup_types)}); head-to-head comparisons of acupuncture "
                             "variants are not analysis sets.", column="comparator")
        out.append(Comparator(arm_type, sham or None))
    return tuple(out)


def _tables(source: Any) -> tuple[Mapping[str, list[dict[str, Any]]], str]:
    if isinstance(source, Registry):
        tables = source.all_tables()
    elif isinstance(source, Mapping):
        tables = source
    else:
        raise InputError("The 'source' must be a Registry or the dict of read_csv_dir(); got "
                         f"{type(source).__name__}.", column="source")
    return tables, evidence_version(tables)


@dataclass
class _Ctx:
    studies: dict[str, dict[str, Any]]
    arms: dict[str, list[dict[str, Any]]]
    arm_by_id: dict[str, dict[str, Any]]
    outcomes: dict[str, list[dict[str, Any]]]
    contrasts: dict[str, list[dict[str, Any]]]
    urls: dict[str, str | None]


def _index(tables: Mapping[str, list[dict[str, Any]]]) -> _Ctx:
    def by_study(rows):
        out: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            out.setdefault(r["study_id"], []).append(dict(r))
        return out

    arms = [dict(a) for a in tables.get("arms", [])]
    return _Ctx(
        studies={s["study_id"]: dict(s) for s in tables.get("studies", [])},
        arms=by_study(arms), arm_by_id={a["arm_id"]: a for a in arms},
        outcomes=by_study(tables.get("outcomes", [])),
        contrasts=by_study(tables.get("contrasts", [])),
        urls={s["source_id"]: s.get("url") for s in tables.get("sources", [])},
    )


@dataclass
class _Log:
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, study_id: str | None, action: str, reason: str) -> None:
        assert action in LOG_ACTIONS
        self.entries.append({"study_id": study_id, "action": action, "reason": reason})


# ---------------------------------------------------------------------------------------------
# select
# ---------------------------------------------------------------------------------------------
def select(source: Registry | Mapping[str, list[dict[str, Any]]], *,
           condition: str | Sequence[str], comparator: str | Sequence[str],
           outcome: str = "pain", window: str | None = "short", measure: str | None = None,
           multi_arm: str = "split", timepoint: str = "centre",
           include_low_confidence: bool = False, include_derived: bool = True,
           mix_change_final: bool = True,
           acupuncture_arm_types: Sequence[str] = ("acupuncture",)) -> AnalysisSet:
    """Select the trials comparing acupuncture with ``comparator`` and compute their effect sizes.

    Parameters
    ----------
    source : Registry or dict
        The registry, or the typed tables of :func:`acuevidence.evidence.store.read_csv_dir`.
    condition : str or tuple of str
        Vocabulary ``CONDITIONS`` term(s).
    comparator : str or tuple of str
        Vocabulary ``ARM_TYPES`` term(s); ``"sham:<sham type>"`` restricts to one sham type
        (``"sham:non_penetrating"``); a tuple groups types (``("usual_care", "conventional")``).
    outcome : str
        Vocabulary ``OUTCOMES`` term.
    window : {"immediate", "short", "intermediate", "long"} or None
        Follow-up window (module docstring); None keeps every post-baseline time point.
    measure : {"MD", "SMD", "RR", "OR", "RD"} or None
        None: MD where possible, else SMD, for continuous outcomes; RR for binary ones.
    multi_arm : {"split", "combine"}
        How a control (or acupuncture) arm shared by several comparisons enters.
    timepoint : {"centre", "latest", "earliest"}
        Which time point of a study represents the window.
    include_low_confidence, include_derived, mix_change_final : bool
        See the module docstring (rules 4 and 5).
    acupuncture_arm_types : tuple of str
        Arm types counted as the acupuncture group.

    Returns
    -------
    AnalysisSet

    Raises
    ------
    InputError
        An unknown term or option, or an empty selection (the message lists the nearest
        selections with data).
    """
    acup_types = _as_terms(acupuncture_arm_types, "acupuncture_arm_types")
    for t in acup_types:
        check_term("ARM_TYPES", t)
    conds = _as_terms(condition, "condition")
    for t in conds:
        check_term("CONDITIONS", t)
    comps = _comparators(comparator, acup_types)
    check_term("OUTCOMES", outcome)
    _check_choice(window, WINDOWS, "window", allow_none=True)
    _check_choice(measure, CONTINUOUS_MEASURES + BINARY_MEASURES, "measure", allow_none=True)
    _check_choice(multi_arm, MULTI_ARM, "multi_arm")
    _check_choice(timepoint, TIMEPOINT_RULES, "timepoint")
    criteria = {
        "condition": condition if isinstance(condition, str) else list(conds),
        "comparator": comparator if isinstance(comparator, str) else [str(c) for c in comps],
        "outcome": outcome, "window": window, "measure": measure, "multi_arm": multi_arm,
        "timepoint": timepoint, "include_low_confidence": bool(include_low_confidence),
        "include_derived": bool(include_derived), "mix_change_final": bool(mix_change_final),
        "acupuncture_arm_types": list(acup_types),
    }
    tables, version = _tables(source)
    ctx = _index(tables)
    opts = dict(outcome=outcome, acup_types=acup_types, include_low=bool(include_low_confidence),
                include_derived=bool(include_derived))
    from ._select import build  # the selection rules live there (module size)

    return build(ctx, conds, comps, opts, criteria, version, window=window, measure=measure,
                 multi_arm=multi_arm, timepoint=timepoint, mix=bool(mix_change_final))


def _check_choice(value: Any, allowed: tuple[str, ...], name: str,
                  allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value not in allowed:
        extra = " or None" if allow_none else ""
        raise InputError(f"The '{name}' parameter must be one of {', '.join(allowed)}{extra}. "
                         f"Got {value!r} instead.", column=name)
