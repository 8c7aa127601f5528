"""The evidence registry: a database built from the versioned CSV files, with one audited write path.

``Registry(url)`` opens a SQLite file (a path, or ``sqlite:///...``) or a PostgreSQL database
(``postgresql://user@host/db``); the same code runs on both. ``Registry.build(url, csv_dir)`` creates
the schema through the named migrations and loads the CSV files in one transaction (all or nothing).

The **evidence version** is a content hash: SHA-256 over a canonical serialisation of every data
table (rows sorted by id, values typed, floats in shortest round-trip form). It is the same for the
CSV files and for a database built from them, changes with any edit or retraction, and is what every
analysis records.

Every write (add, update, retract, restore) goes through :meth:`Registry.write`: validated, in one
transaction, and recorded in the ``changes`` table (who, when, what, why). Retracting sets
``status = 'retracted'``; nothing is deleted, and :meth:`Registry.restore` brings it back.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, event, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.types import Float, Integer

from ..errors import EvidenceError, InputError
from .schema import DATA_TABLES, MIGRATIONS, TableSpec, changes, meta, migrations

__all__ = [
    "ConflictError",
    "Registry",
    "bundled_csv_dir",
    "default_database",
    "evidence_version",
    "read_csv_dir",
    "write_csv_dir",
]

VERSION_PREFIX = "ev-"
# SQLite waits this long for another writer before giving up (seconds).
SQLITE_BUSY_TIMEOUT = 60


class ConflictError(EvidenceError, RuntimeError):
    """An edit was based on a value that another writer has changed in the meantime."""


def bundled_csv_dir() -> Path:
    """The CSV files shipped with the package (the reviewed source of truth)."""
    return Path(str(resources.files("acuevidence").joinpath("evidence", "data")))


def default_database() -> Path:
    """Where the CLI keeps its SQLite database unless told otherwise.

    ``$ACUEVIDENCE_DATABASE`` if set, else ``$XDG_DATA_HOME/acuevidence/evidence.sqlite``
    (``~/.local/share/...``).
    """
    env = os.environ.get("ACUEVIDENCE_DATABASE")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "acuevidence" / "evidence.sqlite"


# ---------------------------------------------------------------------------------------------
# Typed values and the canonical serialisation behind the evidence version
# ---------------------------------------------------------------------------------------------
def _kind(spec: TableSpec, column: str) -> str:
    t = spec.table.c[column].type
    if isinstance(t, Integer):
        return "int"
    if isinstance(t, Float):
        return "float"
    return "text"


def _coerce(value: Any, kind: str, where: str) -> Any:
    """Convert a CSV string or Python value to the column's type ('' and None -> None)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    if kind == "text":
        return str(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {value!r} is not a number.", column=where) from None
    if not math.isfinite(f):
        raise InputError(f"{where}: {value!r} is not a finite number.", column=where)
    if kind == "int":
        if f != int(f):
            raise InputError(f"{where}: {value!r} must be a whole number.", column=where)
        return int(f)
    return f + 0.0  # -0.0 -> 0.0: databases do not keep the sign of zero


def _canon(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value + 0.0)  # shortest round-trip form, no signed zero
    return value


def evidence_version(tables: Mapping[str, Iterable[Mapping[str, Any]]]) -> str:
    """Content hash of typed table rows: ``ev-`` + 16 hex digits of SHA-256."""
    h = hashlib.sha256()
    for spec in DATA_TABLES:
        rows = sorted(tables.get(spec.name, []), key=lambda r: str(r[spec.key]))
        h.update(spec.name.encode() + b"\n")
        for row in rows:
            h.update(json.dumps([_canon(row.get(c)) for c in spec.columns],
                                ensure_ascii=False).encode() + b"\n")
    return VERSION_PREFIX + h.hexdigest()[:16]


def read_csv_dir(csv_dir: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Read and type the CSV files of ``csv_dir`` (errors name file, row and column)."""
    d = Path(csv_dir)
    out: dict[str, list[dict[str, Any]]] = {}
    for spec in DATA_TABLES:
        path = d / spec.csv
        if not path.exists():
            raise InputError(f"{path}: file missing (every table needs its CSV, header only if "
                             "empty).", column=spec.csv)
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in spec.columns if c not in header]
            extra = [c for c in header if c not in spec.columns]
            if missing or extra:
                raise InputError(
                    f"{path}: columns do not match the schema (missing: {missing or 'none'}; "
                    f"unexpected: {extra or 'none'}). See docs/evidence-schema.md.",
                    column=spec.csv)
            kinds = {c: _kind(spec, c) for c in spec.columns}
            rows = []
            seen: set[str] = set()
            for line, raw in enumerate(reader, start=2):
                row = {c: _coerce(raw[c], kinds[c], f"{spec.csv} line {line}, column '{c}'")
                       for c in spec.columns}
                key = row[spec.key]
                if key is None:
                    raise InputError(f"{spec.csv} line {line}: '{spec.key}' is empty.",
                                     column=spec.key)
                if key in seen:
                    raise InputError(f"{spec.csv} line {line}: duplicate {spec.key} {key!r}.",
                                     column=spec.key)
                seen.add(key)
                rows.append(row)
        out[spec.name] = rows
    return out


def write_csv_dir(tables: Mapping[str, list[Mapping[str, Any]]], csv_dir: str | Path) -> None:
    """Write tables as canonical CSV files (sorted by id, LF line endings)."""
    d = Path(csv_dir)
    d.mkdir(parents=True, exist_ok=True)
    for spec in DATA_TABLES:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(spec.columns)
        for row in sorted(tables.get(spec.name, []), key=lambda r: str(r[spec.key])):
            w.writerow(["" if row.get(c) is None else _csv_value(row.get(c))
                        for c in spec.columns])
        (d / spec.csv).write_text(buf.getvalue(), encoding="utf-8")


def _csv_value(v: Any) -> str:
    if isinstance(v, float):
        # Whole numbers as the curators typed them ("8", not "8.0"); else shortest round trip.
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------
def _engine_url(url: str | Path) -> str:
    s = str(url)
    if s.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + s.split("://", 1)[1]
    if "://" in s:
        return s
    return f"sqlite:///{Path(s).expanduser()}"


class Registry:
    """An evidence registry in SQLite or PostgreSQL.

    Parameters
    ----------
    url : str or Path
        A SQLite file path, ``sqlite:///path``, or ``postgresql://user@host/db``.
    """

    def __init__(self, url: str | Path):
        self.url = _engine_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT}
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _sqlite_transactions(self.engine)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def build(cls, url: str | Path, csv_dir: str | Path | None = None, *,
              replace: bool = False) -> Registry:
        """Create the schema and load the CSV files (default: the bundled ones), all or nothing."""
        tables = read_csv_dir(csv_dir or bundled_csv_dir())
        reg = cls(url)
        if replace:
            reg.drop_all()
        reg.migrate()
        with reg.begin() as conn:
            n = conn.execute(select(func.count()).select_from(DATA_TABLES[1].table)).scalar_one()
            if n:
                raise InputError(f"{reg.url}: the database already holds data; use replace=True "
                                 "to rebuild it from the CSV files.", column="database")
            for spec in DATA_TABLES:
                if tables[spec.name]:
                    conn.execute(spec.table.insert(), tables[spec.name])
            _set_meta(conn, "built_from", str(csv_dir or "bundled"))
            _set_meta(conn, "built_at", _now())
        return reg

    @classmethod
    def open_default(cls, url: str | Path | None = None) -> Registry:
        """Open ``url`` (default: :func:`default_database`), building it from the bundled CSV
        files when it does not exist yet."""
        target = url or default_database()
        s = str(target)
        if "://" not in s and not Path(s).expanduser().exists():
            Path(s).expanduser().parent.mkdir(parents=True, exist_ok=True)
            return cls.build(s)
        reg = cls(target)
        reg.migrate()
        return reg

    def migrate(self) -> list[str]:
        """Apply pending migrations in order; return the names applied now."""
        applied_now = []
        with self.begin() as conn:
            migrations.create(conn, checkfirst=True)
        for name, fn in MIGRATIONS:
            with self.begin() as conn:
                done = conn.execute(select(migrations.c.name).where(migrations.c.name == name))
                if done.first():
                    continue
                fn(conn)
                conn.execute(migrations.insert().values(name=name, applied_at=_now()))
                applied_now.append(name)
        return applied_now

    def applied_migrations(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(migrations.c.name).order_by(migrations.c.name))
                        .scalars())

    def drop_all(self) -> None:
        from .schema import metadata

        with self.begin() as conn:
            metadata.drop_all(conn)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite, so writers queue, never interleave)."""
        with self.engine.connect() as conn:
            conn.info["immediate"] = True  # read once by the SQLite "begin" listener
            with conn.begin():
                yield conn

    def close(self) -> None:
        self.engine.dispose()

    # -- reading -----------------------------------------------------------------------------
    def rows(self, table: str, *, include_retracted: bool = True) -> list[dict[str, Any]]:
        spec = _spec(table)
        stmt = select(spec.table).order_by(spec.table.c[spec.key])
        if not include_retracted and "status" in spec.columns:
            stmt = stmt.where(spec.table.c.status != "retracted")
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def frame(self, table: str, *, include_retracted: bool = False) -> pd.DataFrame:
        """A table as a DataFrame (retracted rows left out unless asked for)."""
        spec = _spec(table)
        return pd.DataFrame(self.rows(table, include_retracted=include_retracted),
                            columns=spec.columns)

    def get(self, table: str, row_id: str) -> dict[str, Any] | None:
        spec = _spec(table)
        with self.engine.connect() as conn:
            r = conn.execute(select(spec.table).where(spec.table.c[spec.key] == row_id)).first()
        return dict(r._mapping) if r else None

    def all_tables(self) -> dict[str, list[dict[str, Any]]]:
        with self.engine.connect() as conn:
            return {s.name: [dict(r._mapping) for r in conn.execute(select(s.table))]
                    for s in DATA_TABLES}

    @property
    def version(self) -> str:
        """The evidence version of the current content (see :func:`evidence_version`)."""
        return evidence_version(self.all_tables())

    def export_csv(self, csv_dir: str | Path) -> str:
        """Write the current content as the CSV files; return the evidence version."""
        tables = self.all_tables()
        write_csv_dir(tables, csv_dir)
        return evidence_version(tables)

    def history(self, table: str | None = None, row_id: str | None = None) -> pd.DataFrame:
        """The audit trail, oldest first (optionally for one table / row)."""
        stmt = select(changes).order_by(changes.c.change_id)
        if table:
            stmt = stmt.where(changes.c.table_name == table)
        if row_id:
            stmt = stmt.where(changes.c.row_id == row_id)
        with self.engine.connect() as conn:
            return pd.DataFrame([dict(r._mapping) for r in conn.execute(stmt)],
                                columns=[c.name for c in changes.columns])

    # -- the one write path ----------------------------------------------------------------
    def add(self, table: str, row: Mapping[str, Any], *, who: str, why: str) -> str:
        """Insert a new row (validated); return its id."""
        return self.write("add", table, row=row, who=who, why=why)

    def update(self, table: str, row_id: str, values: Mapping[str, Any], *, who: str, why: str,
               expected: Mapping[str, Any] | None = None) -> str:
        """Change fields of a row. ``expected`` (field -> value the editor saw) turns a concurrent
        change by someone else into a :class:`ConflictError` instead of a silent overwrite."""
        return self.write("update", table, row_id=row_id, values=values, who=who, why=why,
                          expected=expected)

    def retract(self, table: str, row_id: str, *, who: str, why: str) -> str:
        """Mark a row retracted; it stays in the database and the history."""
        return self.write("retract", table, row_id=row_id, who=who, why=why)

    def restore(self, table: str, row_id: str, *, who: str, why: str) -> str:
        """Undo a retraction."""
        return self.write("restore", table, row_id=row_id, who=who, why=why)

    def write(self, action: str, table: str, *, who: str, why: str, row: Mapping | None = None,
              row_id: str | None = None, values: Mapping | None = None,
              expected: Mapping | None = None) -> str:
        from .validation import validate_row

        spec = _spec(table)
        if not who or not str(who).strip():
            raise InputError("Every change needs 'who' (the editor's name).", column="who")
        if not why or not str(why).strip():
            raise InputError("Every change needs a reason ('why').", column="why")
        kinds = {c: _kind(spec, c) for c in spec.columns}
        with self.begin() as conn:
            if action == "add":
                assert row is not None
                unknown = [c for c in row if c not in spec.columns]
                if unknown:
                    raise InputError(f"{table}: unknown field(s) {unknown}; fields are "
                                     f"{', '.join(spec.columns)}.", column=unknown[0])
                new = {c: _coerce(row.get(c), kinds[c], f"{table}.{c}") for c in spec.columns}
                if "status" in spec.columns and new["status"] is None:
                    new["status"] = "active"
                rid = new[spec.key]
                if rid is None:
                    raise InputError(f"{table}: '{spec.key}' is required.", column=spec.key)
                validate_row(conn, spec, new)
                try:
                    conn.execute(spec.table.insert().values(**new))
                except IntegrityError:
                    raise InputError(f"{table}: {spec.key} {rid!r} already exists; use update.",
                                     column=spec.key) from None
                _log(conn, who, "add", table, rid, None, None, json.dumps(new, default=str), why)
                return str(rid)
            assert row_id is not None
            # FOR UPDATE: on PostgreSQL (READ COMMITTED) two editors could otherwise both read
            # the old value, both pass the `expected` check and the later write would silently
            # win. SQLite needs no row lock: BEGIN IMMEDIATE already serialises writers.
            current = conn.execute(select(spec.table).where(spec.table.c[spec.key] == row_id)
                                   .with_for_update()).first()
            if current is None:
                raise InputError(f"{table}: no row with {spec.key} {row_id!r}.", column=spec.key)
            cur = dict(current._mapping)
            if action in ("retract", "restore"):
                if "status" not in spec.columns:
                    raise InputError(f"{table} rows cannot be retracted.", column="status")
                target = "retracted" if action == "retract" else "active"
                if cur["status"] == target:
                    raise InputError(f"{table} {row_id!r} is already {target}.", column="status")
                values = {"status": target}
            assert values is not None
            unknown = [c for c in values if c not in spec.columns]
            if unknown:
                raise InputError(f"{table}: unknown field(s) {unknown}.", column=unknown[0])
            if spec.key in values and values[spec.key] != row_id:
                raise InputError(f"{table}: the id '{spec.key}' cannot be changed; add a new row "
                                 "and retract this one.", column=spec.key)
            if expected:
                for c, v in expected.items():
                    if _coerce(v, kinds[c], c) != cur.get(c):
                        raise ConflictError(
                            f"{table} {row_id!r}: {c} is now {cur.get(c)!r}, not {v!r} as you saw "
                            "it; someone else changed it. Reload and edit again.")
            new = dict(cur)
            new.update({c: _coerce(v, kinds[c], f"{table}.{c}") for c, v in values.items()})
            validate_row(conn, spec, new)
            diff = {c: (cur.get(c), new[c]) for c in values if cur.get(c) != new[c]}
            if not diff:
                raise InputError(f"{table} {row_id!r}: nothing to change.", column=spec.key)
            conn.execute(spec.table.update().where(spec.table.c[spec.key] == row_id)
                         .values(**{c: n for c, (_, n) in diff.items()}))
            for c, (old, nv) in diff.items():
                _log(conn, who, action, table, row_id, c, old, nv, why)
            return row_id


def _spec(table: str) -> TableSpec:
    for s in DATA_TABLES:
        if s.name == table:
            return s
    raise InputError(f"Unknown table {table!r}; tables are "
                     f"{', '.join(s.name for s in DATA_TABLES)}.", column="table")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _log(conn: Connection, who: str, action: str, table: str, row_id: Any, field: str | None,
         old: Any, new: Any, why: str) -> None:
    conn.execute(changes.insert().values(
        at=_now(), who=str(who), action=action, table_name=table, row_id=str(row_id),
        field=field, old_value=None if old is None else str(old),
        new_value=None if new is None else str(new), reason=str(why)))


def _set_meta(conn: Connection, key: str, value: str) -> None:
    conn.execute(meta.delete().where(meta.c.key == key))
    conn.execute(meta.insert().values(key=key, value=value))


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, start transactions, and start them IMMEDIATE.

    pysqlite's own transaction handling defers BEGIN, so two writers could both read and then one
    fail on upgrade; BEGIN IMMEDIATE takes the write lock first, so concurrent editors queue up
    (waiting up to SQLITE_BUSY_TIMEOUT) and no edit is lost. WAL lets readers go on meanwhile.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # pragma: no cover - exercised via every connection
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # pragma: no cover
        # Writers take the lock at BEGIN; readers start a plain (deferred) snapshot.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.pop("immediate", False) else "BEGIN")


def is_locked_error(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "locked" in str(exc).lower()


_ = text  # re-exported helpers may use raw SQL
