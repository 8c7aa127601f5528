"""Tables of the evidence registry and the named, ordered migrations that create them.

One definition serves SQLite and PostgreSQL (SQLAlchemy Core). The data tables mirror the CSV files of
``docs/evidence-schema.md`` column for column; ``changes`` is the audit trail (who, when, what, why),
``meta`` holds key/value facts about the build and ``schema_migrations`` the applied migrations.

A migration is a name (``0001_initial``) and a function of a connection. Migrations are applied in
order, each in the same transaction as its record in ``schema_migrations``; never edit an applied
migration, append a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["metadata", "DATA_TABLES", "TableSpec", "MIGRATIONS", "changes", "meta", "migrations"]

metadata = MetaData()


@dataclass(frozen=True)
class TableSpec:
    """A data table: its SQLAlchemy table, primary-key column and CSV file name."""

    table: Table
    key: str
    csv: str

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.table.columns]


def _t(name: str, *cols: Column) -> Table:
    return Table(name, metadata, *cols)


def _text(name: str, *, key: bool = False, nullable: bool = True) -> Column:
    return Column(name, Text, primary_key=key, nullable=False if key else nullable)


sources = _t(
    "sources",
    _text("source_id", key=True), _text("url"), _text("kind", nullable=False), _text("note"),
)

studies = _t(
    "studies",
    _text("study_id", key=True), _text("label", nullable=False), _text("title"),
    Column("year", Integer), _text("journal"), _text("pmid"), _text("doi"), _text("country"),
    _text("condition", nullable=False), _text("condition_detail"),
    _text("acupuncture_type"), _text("acupuncture_detail"),
    Column("n_sessions", Float), _text("sessions_text"), Column("sessions_per_week", Float),
    Column("treatment_weeks", Float), Column("n_randomized", Integer),
    _text("source_id"), _text("locator"), _text("status", nullable=False),
    _text("duplicate_note"), _text("notes"),
)

arms = _t(
    "arms",
    _text("arm_id", key=True), _text("study_id", nullable=False), _text("label", nullable=False),
    _text("arm_type", nullable=False), _text("sham_type"), Column("n_randomized", Integer),
    _text("description"), _text("source_id"), _text("locator"),
)

outcomes = _t(
    "outcomes",
    _text("value_id", key=True), _text("study_id", nullable=False), _text("arm_id", nullable=False),
    _text("outcome", nullable=False), _text("outcome_detail"), _text("scale"),
    Column("scale_min", Float), Column("scale_max", Float), _text("direction", nullable=False),
    Column("timepoint_weeks", Float), _text("timepoint_label"),
    _text("value_type", nullable=False), Column("n", Integer), Column("mean", Float),
    Column("sd", Float), Column("se", Float), Column("ci_lb", Float), Column("ci_ub", Float),
    Column("ci_level", Float), Column("median", Float), Column("q1", Float), Column("q3", Float),
    Column("events", Integer), Column("total", Integer),
    _text("source_id", nullable=False), _text("locator", nullable=False),
    _text("confidence", nullable=False), _text("status", nullable=False), _text("notes"),
)

contrasts = _t(
    "contrasts",
    _text("contrast_id", key=True), _text("study_id", nullable=False), _text("arm1_id"),
    _text("arm2_id"), _text("outcome", nullable=False), _text("outcome_detail"), _text("scale"),
    _text("direction"), Column("timepoint_weeks", Float), _text("timepoint_label"),
    _text("measure", nullable=False), Column("estimate", Float), Column("ci_lb", Float),
    Column("ci_ub", Float), Column("ci_level", Float), Column("p_value", Float),
    _text("p_value_qualifier"), Column("n1", Integer), Column("n2", Integer),
    _text("source_id", nullable=False), _text("locator", nullable=False),
    _text("confidence", nullable=False), _text("status", nullable=False), _text("notes"),
)

risk_of_bias = _t(
    "risk_of_bias",
    _text("rob_id", key=True), _text("study_id", nullable=False), _text("tool", nullable=False),
    _text("domain", nullable=False), _text("judgement", nullable=False), _text("support"),
    _text("source_id"), _text("locator"),
)

reviews = _t(
    "reviews",
    _text("result_id", key=True), _text("review_id", nullable=False), _text("review_label"),
    Column("year", Integer), _text("condition"), _text("condition_detail"), _text("comparison"),
    _text("comparator"), _text("outcome"), _text("outcome_detail"), _text("timepoint_label"),
    _text("window"), _text("measure"), _text("measure_note"), _text("scale"),
    Column("estimate", Float), Column("ci_lb", Float), Column("ci_ub", Float),
    Column("k_studies", Integer), Column("n_participants", Integer), Column("i2", Float),
    _text("model"), _text("certainty"), _text("source_id"), _text("locator"),
)

changes = _t(
    "changes",
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False), _text("who", nullable=False),
    _text("action", nullable=False), _text("table_name", nullable=False),
    _text("row_id", nullable=False), _text("field"), _text("old_value"), _text("new_value"),
    _text("reason", nullable=False),
)

meta = _t("meta", _text("key", key=True), _text("value"))

migrations = _t(
    "schema_migrations",
    Column("name", String(100), primary_key=True), Column("applied_at", String(40), nullable=False),
)

# Order matters: referenced tables first (sources, studies, arms).
DATA_TABLES: tuple[TableSpec, ...] = (
    TableSpec(sources, "source_id", "sources.csv"),
    TableSpec(studies, "study_id", "studies.csv"),
    TableSpec(arms, "arm_id", "arms.csv"),
    TableSpec(outcomes, "value_id", "outcomes.csv"),
    TableSpec(contrasts, "contrast_id", "contrasts.csv"),
    TableSpec(risk_of_bias, "rob_id", "risk_of_bias.csv"),
    TableSpec(reviews, "result_id", "reviews.csv"),
)


def _0001_initial(conn: Connection) -> None:
    tables = [s.table for s in DATA_TABLES] + [changes, meta]
    metadata.create_all(conn, tables=tables)


def _0002_indexes(conn: Connection) -> None:
    # Analysis sets filter values by study and outcome; the audit trail is read by row.
    # Plain DDL: sqlalchemy Index objects would attach themselves to the shared metadata and
    # make a later create_all build them out of order.
    from sqlalchemy import text

    for stmt in (
        "CREATE INDEX ix_arms_study ON arms (study_id)",
        "CREATE INDEX ix_outcomes_study_outcome ON outcomes (study_id, outcome)",
        "CREATE INDEX ix_contrasts_study_outcome ON contrasts (study_id, outcome)",
        "CREATE INDEX ix_changes_row ON changes (table_name, row_id)",
    ):
        conn.execute(text(stmt))


MIGRATIONS: tuple[tuple[str, Callable[[Connection], None]], ...] = (
    ("0001_initial", _0001_initial),
    ("0002_indexes", _0002_indexes),
)
