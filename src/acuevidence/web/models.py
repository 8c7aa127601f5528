"""Response models of the JSON API (they document /openapi.json).

Field names are the library's (``estimate``, ``ci_lower``, ``tau2``, ``p_value`` ...): the nested
``result`` is exactly :meth:`acuevidence.results.MetaResult.to_dict`, ``certainty`` is
:meth:`acuevidence.report.certainty.Certainty.to_dict` plus ``reasons``. Nested records that
mirror registry rows are open objects (their columns are documented in
``docs/evidence-schema.md``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AnalysisOut",
    "AnalysisSetOut",
    "DecisionAidOut",
    "ErrorOut",
    "HistoryOut",
    "QuestionsOut",
    "StudyDetailOut",
    "StudyListOut",
    "VersionOut",
    "VocabularyOut",
    "WriteOut",
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorBody(BaseModel):
    code: str = Field(description="machine-readable error code, e.g. not_found, invalid_input")
    message: str = Field(description="what is wrong and how to fix it")
    field: str | None = Field(None, description="the request parameter or field at fault")


class ErrorOut(BaseModel):
    """The one error shape of every 4xx and 5xx answer."""

    error: ErrorBody


class VersionOut(BaseModel):
    evidence_version: str = Field(description="content hash of the registry (ev-...)")
    software_version: str
    database: str = Field(description="sqlite or postgresql")


class Term(_Open):
    term: str
    label: str


class VocabularyOut(_Open):
    conditions: list[Term]
    comparators: list[Term]
    outcomes: list[Term]
    windows: list[Term]
    methods: list[str]
    tests: list[str]
    pi_types: list[str]
    tau2_ci_types: list[str]


class StudyRow(_Open):
    study_id: str
    label: str
    year: int | None = None
    condition: str
    comparators: list[str]
    outcomes: list[str]
    n_randomized: int | None = None
    n_sessions: float | None = None
    risk_of_bias: str = Field(description="overall judgement, or 'not recorded'")
    source_url: str | None = None
    locator: str | None = None


class StudyListOut(BaseModel):
    evidence_version: str
    count: int
    studies: list[StudyRow]


class StudyDetailOut(_Open):
    evidence_version: str
    study: dict[str, Any]
    arms: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    contrasts: list[dict[str, Any]]
    risk_of_bias: list[dict[str, Any]]
    sources: list[dict[str, Any]]


class Nearest(_Open):
    kind: str = Field(description="window, comparator or outcome")
    value: str
    studies: int
    label: str
    query: str = Field(description="query string of the nearest selection")


class Question(_Open):
    condition: str
    comparator: str
    outcome: str
    window: str


class AnalysisOut(_Open):
    """A pooled analysis: result, certainty with reasons, statement, absolute effects."""

    available: bool = Field(description="false when no trials compare what was asked")
    evidence_version: str
    software_version: str
    question: Question
    options: dict[str, Any]
    result: dict[str, Any] | None = Field(None, description="MetaResult.to_dict()")
    certainty: dict[str, Any] | None = None
    statement: str | None = None
    absolute: dict[str, Any] | None = None
    n_participants: int | None = None
    analysis_set: dict[str, Any] | None = None
    empty_message: str | None = None
    nearest: list[Nearest] = []
    notes: list[str] = []
    links: dict[str, str] = {}


class AnalysisSetOut(_Open):
    measure: str
    orientation: str
    criteria: dict[str, Any]
    evidence_version: str
    k: int
    n_studies: int
    data: list[dict[str, Any]]
    log: list[dict[str, Any]]


class DecisionAidOut(_Open):
    evidence_version: str
    available: bool
    situation: dict[str, Any]
    window: str | None = None
    statement: str | None = None
    effect: dict[str, Any] | None = Field(None, description="expected change in pain on 0-100")
    chance: dict[str, Any] | None = Field(None, description="people per 100 with a meaningful "
                                          "improvement, with and without acupuncture")
    certainty: dict[str, Any] | None = None
    sessions: dict[str, Any] | None = None
    harms: dict[str, Any] | None = None
    meaning: list[str] = []
    empty_message: str | None = None
    nearest: list[Nearest] = []


class QuestionsOut(_Open):
    evidence_version: str
    questions: list[dict[str, Any]]


class HistoryOut(BaseModel):
    count: int
    changes: list[dict[str, Any]]


class WriteOut(BaseModel):
    table: str
    row_id: str
    action: str
    who: str
    evidence_version: str


class RowIn(BaseModel):
    """A new row (add) or the fields to change (update), with the reason."""

    values: dict[str, str | int | float | None] = Field(description="field -> value")
    why: str = Field(min_length=1, max_length=2000, description="reason, recorded in the history")
    expected: dict[str, str | int | float | None] | None = Field(
        None, description="update only: the values you saw; a concurrent change is a 409")


class ReasonIn(BaseModel):
    why: str = Field(min_length=1, max_length=2000)
