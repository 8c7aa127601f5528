"""The database backends the evidence-store tests run on: SQLite always, PostgreSQL where
``ACUEVIDENCE_TEST_POSTGRES_URL`` names a server (under CI it must: .ci/postgres.sh starts one)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from acuevidence.evidence.store import Registry

PG_URL = os.environ.get("ACUEVIDENCE_TEST_POSTGRES_URL")
if os.environ.get("CI") and not PG_URL:
    raise RuntimeError("CI must provide ACUEVIDENCE_TEST_POSTGRES_URL (see .ci/postgres.sh)")

BACKENDS = ["sqlite", pytest.param("postgresql", marks=[
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="no PostgreSQL server: set "
                       "ACUEVIDENCE_TEST_POSTGRES_URL (.ci/postgres.sh starts one)"),
])]


def reset_postgres(url: str) -> None:
    """Drop everything in the test server's public schema."""
    reg = Registry(url)
    with reg.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    reg.close()


def empty_database(backend: str, sqlite_path: Path) -> str:
    """The URL of an empty database on ``backend`` (a fixture parameter from BACKENDS)."""
    if backend == "sqlite":
        return str(sqlite_path)
    assert PG_URL is not None  # the parameter is skipped without a server
    reset_postgres(PG_URL)
    return PG_URL
