"""Import and export of the evidence registry: CSV directories, Excel workbooks, metafor CSV.

Export writes every table as the reviewed CSV files use them (:func:`export_tables`: a directory
of CSV files, or one ``.xlsx`` workbook with a sheet per table) and an analysis set as a CSV that
R's metafor reads as it is (:func:`export_metafor_csv`). RevMan 5 review files live in
:mod:`acuevidence.evidence.rm5` and are re-exported here.

Import (:func:`import_tables`, and :func:`acuevidence.evidence.rm5.import_rm5`) is **all or
nothing**: every row is checked first (types, duplicate ids, vocabularies, references to sources,
studies and arms, ranges: the rules of :mod:`.validation`) and every problem is reported at once,
naming file (or sheet), row and column. Only then are the rows written, each through the
registry's one audited write path (:meth:`Registry.add` / :meth:`Registry.update`, so each lands
in the audit trail with who and why), and all of them inside a single transaction: a row refused
at the end rolls back the rows before it, and the evidence version is unchanged.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from ..errors import InputError
from .schema import DATA_TABLES, TableSpec
from .store import Registry, _coerce, _kind, evidence_version, write_csv_dir
from .validation import row_problems

__all__ = [
    "METAFOR_RAW_COLUMNS",
    "ImportResult",
    "PendingRow",
    "export_metafor_csv",
    "export_rm5",  # noqa: F822 - resolved lazily by __getattr__ below
    "export_tables",
    "import_rm5",  # noqa: F822
    "import_tables",
    "metafor_columns",
    "read_table_rows",
    "write_rows",
]

ImportMode = Literal["add", "upsert"]
IMPORT_MODES: tuple[str, ...] = ("add", "upsert")

# Problems listed in full in one error message; the rest are counted. A 5,000-row file with a wrong
# column type would otherwise produce a message nobody can read.
MAX_LISTED_PROBLEMS = 25

# Excel stores IEEE doubles, but openpyxl writes numbers with "%.16g", which loses the 17th
# significant digit some doubles need (0.1 + 0.2). Such values are written as text cells holding
# the shortest round-trip form, so an export -> import round trip keeps every bit.
_XLSX_DIGITS = "%.16g"

# Sheets whose name starts with this are notes for people (the "_about" sheet), not tables.
_NOTE_SHEET_PREFIX = "_"

_SPECS: dict[str, TableSpec] = {s.name: s for s in DATA_TABLES}


# ---------------------------------------------------------------------------------------------
# Rows on their way in
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PendingRow:
    """One row to be written, with where it came from (for error messages).

    Attributes
    ----------
    table : str
        Table name (``"outcomes"``).
    values : dict
        Typed values of the columns the input gave (other columns: blank on add, unchanged on
        update).
    where : str
        Where the row came from, e.g. ``"outcomes.csv line 12"``, ``"sheet 'arms' row 3"`` or
        ``"line 240 <DICH_DATA> STUDY_ID='STD-x'"``; every error about the row starts with it.
    position : int
        0-based position of the row in its file or sheet, or the line of an XML element
        (``InputError.rows``).
    """

    table: str
    values: dict[str, Any]
    where: str
    position: int = 0


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote.

    Attributes
    ----------
    added, updated, unchanged : dict of str to int
        Rows per table that were added, updated, or already held exactly these values.
    version_before, version_after : str
        Evidence version before and after the import (equal when nothing changed).
    ids : dict of str to list of str
        The ids added or updated, per table.
    """

    added: dict[str, int]
    updated: dict[str, int]
    unchanged: dict[str, int]
    version_before: str
    version_after: str
    ids: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_written(self) -> int:
        """Rows added or updated, over all tables."""
        return sum(self.added.values()) + sum(self.updated.values())


def _spec(table: str) -> TableSpec:
    try:
        return _SPECS[table]
    except KeyError:
        raise InputError(f"Unknown table {table!r}; tables are {', '.join(_SPECS)}.",
                         column="table") from None


def _check_who_why(who: str, why: str) -> None:
    # The write path checks these too, but only once the first row is written; checking here
    # fails before a large file is read and validated.
    if not who or not str(who).strip():
        raise InputError("An import needs 'who' (the editor's name) for the audit trail.",
                         column="who")
    if not why or not str(why).strip():
        raise InputError("An import needs a reason ('why') for the audit trail.", column="why")


def _problem_message(problems: list[tuple[str, str, str]], what: str) -> str:
    lines = [f"{where}, column '{col}': {msg}" for where, col, msg in
             problems[:MAX_LISTED_PROBLEMS]]
    more = len(problems) - MAX_LISTED_PROBLEMS
    if more > 0:
        lines.append(f"... and {more} more.")
    return (f"{what}: {len(problems)} problem(s); nothing was written.\n  "
            + "\n  ".join(lines))


class _SharedTransaction(Registry):
    """The same registry, with every write joining one transaction that is already open.

    :meth:`Registry.write` (the one audited write path: validation, insert or update, audit log)
    opens ``self.begin()`` for each write. Handing it this view, whose ``begin`` yields the open
    connection, runs many writes through exactly that code in a single transaction, without a
    second write path and without changes to the store. The view is local to one import, so
    other threads using the registry meanwhile are not drawn into the transaction.
    """

    def __init__(self, registry: Registry, conn: Connection):
        self.__dict__.update(registry.__dict__)
        self._conn = conn

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        yield self._conn


def write_rows(registry: Registry, rows: Sequence[PendingRow], *, who: str, why: str,
               mode: ImportMode = "add", what: str = "import") -> ImportResult:
    """Validate rows, then write them all through the audited path in one transaction.

    Parameters
    ----------
    registry : Registry
        Where to write.
    rows : sequence of PendingRow
        The rows, in any order (they are written sources first, then studies, arms, values, so
        that references resolve).
    who, why : str
        Editor and reason, recorded in the audit trail for every row.
    mode : {"add", "upsert"}
        ``"add"``: every id must be new. ``"upsert"``: rows whose id exists are updated (only the
        columns the input gave, and only where they differ), the others added.
    what : str
        Name of the input in error messages (a file name).

    Returns
    -------
    ImportResult

    Raises
    ------
    InputError
        Listing every problem found (file/sheet, row, column) before anything was written, or
        naming the row the write path refused, after rolling back every row written before it.
    """
    _check_who_why(who, why)
    if mode not in IMPORT_MODES:
        raise InputError(f"The 'mode' parameter must be one of {IMPORT_MODES}. Got {mode!r} "
                         "instead.", column="mode")
    version_before = registry.version
    plan = _plan(registry, rows, mode, what)
    added = {s.name: 0 for s in DATA_TABLES}
    updated = dict(added)
    unchanged = dict(added)
    ids: dict[str, list[str]] = {s.name: [] for s in DATA_TABLES}
    order = {s.name: i for i, s in enumerate(DATA_TABLES)}
    with registry.begin() as conn:
        joined = _SharedTransaction(registry, conn)
        for action, row, values in sorted(plan, key=lambda p: order[p[1].table]):
            spec = _SPECS[row.table]
            rid = str(row.values[spec.key])
            try:
                if action == "add":
                    joined.add(row.table, values, who=who, why=why)
                    added[row.table] += 1
                elif action == "update":
                    joined.update(row.table, rid, values, who=who, why=why)
                    updated[row.table] += 1
                else:
                    unchanged[row.table] += 1
                    continue
            except InputError as e:
                # Raising out of the `with` rolls back every row this import wrote before.
                raise InputError(f"{what}: {row.where}: {e} Nothing was written.",
                                 column=e.column, rows=[row.position]) from e
            ids[row.table].append(rid)
    return ImportResult(added=added, updated=updated, unchanged=unchanged,
                        version_before=version_before, version_after=registry.version, ids=ids)


def _plan(registry: Registry, rows: Sequence[PendingRow], mode: str,
          what: str) -> list[tuple[str, PendingRow, dict[str, Any]]]:
    """Decide add / update / unchanged per row and check every rule first (all problems)."""
    problems: list[tuple[str, str, str]] = []
    positions: list[int] = []
    current = {s.name: {r[s.key]: r for r in registry.rows(s.name)} for s in DATA_TABLES}
    final: dict[str, dict[Any, dict[str, Any]]] = {s.name: {} for s in DATA_TABLES}
    seen: dict[tuple[str, Any], str] = {}
    plan: list[tuple[str, PendingRow, dict[str, Any]]] = []

    def problem(row: PendingRow, col: str, msg: str) -> None:
        problems.append((row.where, col, msg))
        positions.append(row.position)

    for row in rows:
        spec = _spec(row.table)
        unknown = [c for c in row.values if c not in spec.columns]
        if unknown:
            problem(row, unknown[0], f"unknown column(s) {unknown} for table {spec.name}.")
            continue
        rid = row.values.get(spec.key)
        if rid is None:
            problem(row, spec.key, f"'{spec.key}' is empty; every row needs its id.")
            continue
        if (spec.name, rid) in seen:
            problem(row, spec.key, f"duplicate {spec.key} {rid!r} (also at "
                                   f"{seen[(spec.name, rid)]}).")
            continue
        seen[(spec.name, rid)] = row.where
        old = current[spec.name].get(rid)
        if old is None:
            new = {c: row.values.get(c) for c in spec.columns}
            if "status" in spec.columns and new["status"] is None:
                new["status"] = "active"  # as the write path does
            plan.append(("add", row, new))
        elif mode == "add":
            problem(row, spec.key, f"{spec.key} {rid!r} already exists in the registry; use "
                                   "mode='upsert' to update it, or give the row a new id.")
            continue
        else:
            new = dict(old)
            new.update(row.values)
            diff = {c: v for c, v in row.values.items() if old.get(c) != v}
            plan.append(("update" if diff else "same", row, diff))
        final[spec.name][rid] = new

    def lookup(table: str, key: str) -> dict[str, Any] | None:
        # Rows of this import first (they may add the study an arm refers to), then the registry.
        return final[table].get(key) or current[table].get(key)

    for action, row, _values in plan:
        if action == "same":
            continue  # nothing will be written, so nothing to refuse
        spec = _SPECS[row.table]
        new = final[spec.name][row.values[spec.key]]
        for p in row_problems(spec.name, spec.key, new, lookup):
            if p.severity == "error":
                problem(row, p.column, p.message)
    if problems:
        raise InputError(_problem_message(problems, what), column=problems[0][1],
                         rows=sorted(set(positions)))
    return plan


# ---------------------------------------------------------------------------------------------
# Reading tables: CSV directory or Excel workbook
# ---------------------------------------------------------------------------------------------
def _typed_row(spec: TableSpec, raw: Mapping[str, Any], where: str, position: int,
               problems: list[tuple[str, str, str]]) -> PendingRow:
    values: dict[str, Any] = {}
    for col, value in raw.items():
        kind = _kind(spec, col)
        if kind == "text" and isinstance(value, float) and value.is_integer():
            value = int(value)  # a PMID typed into Excel comes back as 12345678.0
        if kind == "text" and isinstance(value, datetime):
            value = value.isoformat()
        try:
            values[col] = _coerce(value, kind, col)
        except InputError as e:
            problems.append((where, col, str(e).split(": ", 1)[-1]))
            values[col] = None
    return PendingRow(spec.name, values, where, position)


def _check_header(spec: TableSpec, header: Sequence[Any], source: str) -> list[str]:
    cols = ["" if h is None else str(h).strip() for h in header]
    while cols and not cols[-1]:
        cols.pop()  # Excel reports formatted but empty cells after the last column
    if "" in cols:
        raise InputError(f"{source}: column {cols.index('') + 1} of the header has no name; "
                         "its values would be lost.", column=f"#{cols.index('') + 1}")
    unknown = [c for c in cols if c not in spec.columns]
    if unknown:
        raise InputError(f"{source}: unknown column(s) {unknown} for table {spec.name}; columns "
                         f"are {', '.join(spec.columns)} (docs/evidence-schema.md).",
                         column=unknown[0])
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise InputError(f"{source}: column(s) {dupes} appear more than once.", column=dupes[0])
    if spec.key not in cols:
        raise InputError(f"{source}: the id column '{spec.key}' is missing.", column=spec.key)
    return cols


def read_table_rows(path: str | Path) -> list[PendingRow]:
    """Read a CSV directory or an ``.xlsx`` workbook into typed rows (nothing is written).

    Every file (or sheet) must be named after a table (``outcomes.csv``, sheet ``outcomes``);
    tables may be left out, and a file may give a subset of the columns as long as it has the id
    column. Cells are typed as the schema says.

    Parameters
    ----------
    path : str or Path
        A directory of CSV files or an Excel workbook (``.xlsx``).

    Returns
    -------
    list of PendingRow

    Raises
    ------
    InputError
        Unknown file, sheet or column, a missing id column, or cells of the wrong type (all of
        them listed, with file or sheet, row and column).
    """
    p = Path(path)
    if p.is_dir():
        return _read_csv_rows(p)
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx_rows(p)
    if not p.exists():
        raise InputError(f"{p}: no such file or directory.", column="path")
    raise InputError(f"{p}: expected a directory of CSV files or an .xlsx workbook.",
                     column="path")


def _read_csv_rows(d: Path) -> list[PendingRow]:
    by_file = {s.csv: s for s in DATA_TABLES}
    found = sorted(f.name for f in d.iterdir() if f.suffix.lower() == ".csv")
    unknown = [f for f in found if f not in by_file]
    if unknown:
        raise InputError(f"{d}: unknown CSV file(s) {unknown}; table files are "
                         f"{', '.join(by_file)}.", column=unknown[0])
    if not found:
        raise InputError(f"{d}: no table CSV files ({', '.join(by_file)}) found.", column="path")
    rows: list[PendingRow] = []
    problems: list[tuple[str, str, str]] = []
    for spec in DATA_TABLES:
        f = d / spec.csv
        if not f.exists():
            continue
        # utf-8-sig: a CSV saved by Excel starts with a byte-order mark.
        with f.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                continue
            cols = _check_header(spec, header, spec.csv)
            for position, cells in enumerate(reader):
                line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(cols):
                    # The first column without its cell, or the last one when there are more.
                    col = cols[len(cells)] if len(cells) < len(cols) else cols[-1]
                    msg = (f"{len(cells)} cells but the header has {len(cols)} columns (an "
                           "unquoted comma?).")
                    problems.append((f"{spec.csv} line {line}", col, msg))
                    continue
                raw = dict(zip(cols, cells))
                rows.append(_typed_row(spec, raw, f"{spec.csv} line {line}", position,
                                       problems))
    if problems:
        raise InputError(_problem_message(problems, str(d)), column=problems[0][1])
    return rows


def _read_xlsx_rows(f: Path) -> list[PendingRow]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(f, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as e:
        # KeyError/ValueError: a zip that is not a workbook (openpyxl's own wording is obscure).
        raise InputError(f"{f}: cannot be read as an Excel workbook ({e}).",
                         column="path") from None
    try:
        names = [n for n in wb.sheetnames if not n.startswith(_NOTE_SHEET_PREFIX)]
        unknown = [n for n in names if n not in _SPECS]
        if unknown:
            raise InputError(f"{f.name}: unknown sheet(s) {unknown}; sheets are named after the "
                             f"tables ({', '.join(_SPECS)}); notes go in sheets whose name starts "
                             f"with '{_NOTE_SHEET_PREFIX}'.", column=unknown[0])
        rows: list[PendingRow] = []
        problems: list[tuple[str, str, str]] = []
        for spec in DATA_TABLES:
            if spec.name not in names:
                continue
            it = wb[spec.name].iter_rows(values_only=True)
            header = next(it, None)
            if header is None:
                continue
            source = f"{f.name} sheet '{spec.name}'"
            cols = _check_header(spec, header, source)
            for position, cells in enumerate(it):
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                    continue  # Excel keeps formatted but empty rows
                where = f"sheet '{spec.name}' row {position + 2}"
                extra = [c for c in cells[len(cols):] if c not in (None, "")]
                if extra:
                    msg = f"values beyond the last named column: {extra[:3]}."
                    problems.append((where, str(cols[-1]), msg))
                    continue
                # A row may end early: its missing cells are blank, not "not given".
                raw = {c: cells[i] if i < len(cells) else None for i, c in enumerate(cols)}
                rows.append(_typed_row(spec, raw, where, position, problems))
    finally:
        wb.close()
    if problems:
        raise InputError(_problem_message(problems, f.name), column=problems[0][1])
    return rows


# ---------------------------------------------------------------------------------------------
# Export / import of the tables
# ---------------------------------------------------------------------------------------------
Tables = Mapping[str, Sequence[Mapping[str, Any]]]


def _tables_of(source: Registry | Tables) -> dict[str, list[Mapping[str, Any]]]:
    if isinstance(source, Registry):
        return {name: list(rows) for name, rows in source.all_tables().items()}
    unknown = [t for t in source if t not in _SPECS]
    if unknown:
        raise InputError(f"Unknown table(s) {unknown}; tables are {', '.join(_SPECS)}.",
                         column=unknown[0])
    return {name: list(rows) for name, rows in source.items()}


def export_tables(source: Registry | Tables, path: str | Path, *,
                  format: Literal["auto", "csv", "xlsx"] = "auto") -> str:
    """Write every table (retracted rows included) as CSV files or one Excel workbook.

    Parameters
    ----------
    source : Registry or mapping of table name to rows
        What to export.
    path : str or Path
        A directory (CSV files, the format of the bundled data: ``docs/evidence-schema.md``) or a
        file ending in ``.xlsx`` (one sheet per table, header row first, plus an ``_about`` sheet
        with the evidence version).
    format : {"auto", "csv", "xlsx"}
        ``"auto"`` chooses by the suffix of ``path``.

    Returns
    -------
    str
        The evidence version of what was written.
    """
    tables = _tables_of(source)
    version = evidence_version(tables)
    p = Path(path)
    fmt = format if format != "auto" else ("xlsx" if p.suffix.lower() == ".xlsx" else "csv")
    if fmt == "csv":
        write_csv_dir(tables, p)
    elif fmt == "xlsx":
        _write_xlsx(tables, p, version)
    else:
        raise InputError(f"The 'format' parameter must be one of ('auto', 'csv', 'xlsx'). Got "
                         f"{format!r} instead.", column="format")
    return version


def _xlsx_value(v: Any) -> tuple[Any, bool]:
    """Cell value, and whether it must be stored as text."""
    if isinstance(v, str):
        # Stored as text explicitly: openpyxl turns "=..." into a formula, and a formula in a
        # shared workbook is code run on the reader's machine.
        return v, True
    if isinstance(v, float) and math.isfinite(v) and float(_XLSX_DIGITS % v) != v:
        return repr(v), True
    return v, False


def _write_xlsx(tables: Mapping[str, Sequence[Mapping[str, Any]]], path: Path,
                version: str) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils.exceptions import IllegalCharacterError

    wb = Workbook(write_only=True)
    for spec in DATA_TABLES:
        ws = wb.create_sheet(spec.name)
        ws.append(spec.columns)
        for row in sorted(tables.get(spec.name, []), key=lambda r: str(r[spec.key])):
            cells = []
            for c in spec.columns:
                value, as_text = _xlsx_value(row.get(c))
                try:
                    cell = WriteOnlyCell(ws, value=value)
                except IllegalCharacterError:
                    raise InputError(f"{spec.name} {row[spec.key]!r}, column '{c}': contains a "
                                     "control character Excel cannot store.", column=c) from None
                if as_text:
                    cell.data_type = "s"
                cells.append(cell)
            ws.append(cells)
    about = wb.create_sheet(_NOTE_SHEET_PREFIX + "about")
    about.append(["key", "value"])
    about.append(["evidence_version", version])
    about.append(["exported_at", datetime.now(UTC).isoformat(timespec="seconds")])
    about.append(["format", "one sheet per table, columns as docs/evidence-schema.md"])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def import_tables(registry: Registry, path: str | Path, *, who: str, why: str,
                  mode: ImportMode = "add") -> ImportResult:
    """Import a CSV directory or an Excel workbook into the registry, all or nothing.

    Parameters
    ----------
    registry : Registry
        Where to write.
    path : str or Path
        A directory of table CSV files (any subset of ``sources.csv``, ``studies.csv``, ...) or an
        ``.xlsx`` workbook with sheets named after the tables (as :func:`export_tables` writes).
    who, why : str
        Editor and reason, recorded in the audit trail for every row.
    mode : {"add", "upsert"}
        ``"add"``: every id must be new. ``"upsert"``: existing rows are updated with the columns
        the file gives (a blank cell clears the value), new ones added.

    Returns
    -------
    ImportResult

    Raises
    ------
    InputError
        Naming file or sheet, row and column of every problem; nothing is written.
    """
    _check_who_why(who, why)
    rows = read_table_rows(path)
    return write_rows(registry, rows, who=who, why=why, mode=mode, what=Path(path).name)


# ---------------------------------------------------------------------------------------------
# metafor
# ---------------------------------------------------------------------------------------------
METAFOR_RAW_COLUMNS: tuple[str, ...] = ("ai", "bi", "ci", "di", "n1i", "n2i",
                                        "m1i", "sd1i", "m2i", "sd2i")
"""Raw-data columns of metafor's ``escalc`` (2x2 counts, means/SDs/sizes), in output order."""


# The analysis sets' arm-level column names -> metafor's.
_ARM_TO_METAFOR = {"mean_1": "m1i", "sd_1": "sd1i", "n_1": "n1i",
                   "mean_2": "m2i", "sd_2": "sd2i", "n_2": "n2i"}


def metafor_columns(frame_or_set: Any) -> pd.DataFrame:
    """The rows of a DataFrame or analysis set with escalc's raw columns under metafor's names.

    An analysis set's own :meth:`metafor_frame` is used when it has one. Otherwise columns
    already named ``ai ... sd2i`` are kept, and the analysis sets' arm columns are renamed
    (``mean_1, sd_1, n_1, ...`` -> ``m1i, sd1i, n1i, ...``; ``events_1, total_1, events_2,
    total_2`` -> ``ai, bi, ci, di, n1i, n2i``). Rows without arm-level numbers keep blanks.
    """
    make = getattr(frame_or_set, "metafor_frame", None)
    data = make() if callable(make) else getattr(frame_or_set, "data", frame_or_set)
    if not isinstance(data, pd.DataFrame):
        raise InputError("Expected a DataFrame (or an analysis set with a .data DataFrame); got "
                         f"{type(frame_or_set).__name__}.", column="data")
    out = data.copy()
    cols = set(out.columns)
    if cols & set(METAFOR_RAW_COLUMNS):
        return out
    if set(_ARM_TO_METAFOR) <= cols and out["mean_1"].notna().any():
        for src, dst in _ARM_TO_METAFOR.items():
            out[dst] = out[src]
    elif {"events_1", "total_1", "events_2", "total_2"} <= cols and out["events_1"].notna().any():
        out["ai"], out["ci"] = out["events_1"], out["events_2"]
        out["bi"] = out["total_1"] - out["events_1"]
        out["di"] = out["total_2"] - out["events_2"]
        out["n1i"], out["n2i"] = out["total_1"], out["total_2"]
    return out


def export_metafor_csv(frame_or_set: Any, path: str | Path, *,
                       extra_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Write effect sizes as a CSV that metafor reads as it is.

    The columns use metafor's names: ``study`` (the label, for ``slab``), ``yi``, ``vi``, ``sei``,
    the raw columns of ``escalc`` that are present (``ai, bi, ci, di, n1i, n2i`` or
    ``m1i, sd1i, n1i, m2i, sd2i, n2i``; see :func:`metafor_columns`), ``study_id`` and
    ``measure`` when known, then ``extra_columns``. Floats are written in shortest round-trip
    form, so R reads the same doubles. In R::

        dat <- read.csv("effects.csv")
        rma(yi, vi, data = dat, slab = study)

    Parameters
    ----------
    frame_or_set : DataFrame or analysis set
        Any DataFrame with ``yi`` and ``vi`` (an :class:`AnalysisSet`'s ``data``, or the set
        itself); the label is taken from ``label``, else ``study``, else ``study_id``.
    path : str or Path
        The CSV file to write.
    extra_columns : iterable of str
        Further columns to keep (moderators).

    Returns
    -------
    DataFrame
        What was written.

    Raises
    ------
    InputError
        ``yi`` or ``vi`` missing, not finite, or ``vi <= 0`` (the rows are named).
    """
    data = metafor_columns(frame_or_set)
    missing = [c for c in ("yi", "vi") if c not in data.columns]
    if missing:
        raise InputError(f"export_metafor_csv needs columns yi and vi; missing {missing}. "
                         f"Columns are {list(data.columns)}.", column=missing[0])
    yi = pd.to_numeric(data["yi"], errors="coerce").to_numpy(dtype=float)
    vi = pd.to_numeric(data["vi"], errors="coerce").to_numpy(dtype=float)
    for name, arr, bad in (("yi", yi, ~np.isfinite(yi)),
                           ("vi", vi, ~np.isfinite(vi) | (vi <= 0))):
        if bad.any():
            rows = [int(i) for i in np.flatnonzero(bad)]
            raise InputError(f"export_metafor_csv: column '{name}' must be finite"
                             f"{' and positive' if name == 'vi' else ''}; rows {rows[:10]} are "
                             f"not ({arr[bad][:10].tolist()}).", column=name, rows=rows)
    out = pd.DataFrame(index=data.index)
    label_col = next((c for c in ("label", "study", "study_id") if c in data.columns), None)
    out["study"] = (data[label_col].astype(str) if label_col
                    else [f"study {i + 1}" for i in range(len(data))])
    out["yi"] = yi
    out["vi"] = vi
    out["sei"] = np.sqrt(vi)  # metafor takes sei= as well as vi=; handy for checking by eye
    for c in METAFOR_RAW_COLUMNS:
        if c in data.columns:
            out[c] = data[c]
    keep = [c for c in ("study_id", "measure") if c in data.columns and c not in out.columns]
    for c in [*keep, *extra_columns]:
        if c not in data.columns:
            raise InputError(f"export_metafor_csv: no column {c!r} to keep; columns are "
                             f"{list(data.columns)}.", column=c)
        if c not in out.columns:
            out[c] = data[c]
    out = out.reset_index(drop=True)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    # float_format=None writes repr: the shortest text that reads back as the same double.
    out.to_csv(p, index=False, lineterminator="\n")
    return out


def __getattr__(name: str) -> Any:
    # export_rm5 / import_rm5 live in .rm5, which imports this module's write path; resolving
    # them lazily (PEP 562) keeps one import surface without an import cycle.
    if name in ("export_rm5", "import_rm5"):
        from . import rm5

        return getattr(rm5, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
