"""The evidence registry: build from CSV, evidence version, audited writes, concurrency, crashes.

The same tests run on SQLite and, when ACUEVIDENCE_TEST_POSTGRES_URL is set (CI starts a server
with .ci/postgres.sh), on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from backends import BACKENDS, empty_database

from acuevidence import InputError
from acuevidence.evidence.store import (
    ConflictError,
    Registry,
    bundled_csv_dir,
    evidence_version,
    read_csv_dir,
)


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path):
    return empty_database(request.param, tmp_path / "evidence.sqlite")


@pytest.fixture
def reg(url):
    r = Registry.build(url)
    yield r
    r.close()


def _new_value(reg: Registry, value_id: str, **over) -> dict:
    """A valid new arm-level value, modelled on an existing row of the bundled data."""
    base = next(r for r in reg.rows("outcomes") if r["value_type"] == "final"
                and r["sd"] and r["n"] and r["status"] == "active")
    row = dict(base)
    row.update(value_id=value_id, notes="added by a test")
    row.update(over)
    return row


# --------------------------------------------------------------------------------------------
def test_build_applies_named_migrations_and_loads_everything(reg):
    assert reg.applied_migrations() == ["0001_initial", "0002_indexes"]
    csv_tables = read_csv_dir(bundled_csv_dir())
    for name, rows in csv_tables.items():
        assert len(reg.rows(name)) == len(rows), name
    assert reg.version == evidence_version(csv_tables)
    assert reg.version.startswith("ev-") and len(reg.version) == 19


def test_export_round_trip_is_byte_identical(reg, tmp_path):
    v1 = reg.export_csv(tmp_path / "a")
    v2 = Registry.build(tmp_path / "b.sqlite", tmp_path / "a").export_csv(tmp_path / "c")
    assert v1 == v2 == reg.version
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "c" / f.name).read_bytes(), f.name


def test_migrate_is_idempotent(reg):
    assert reg.migrate() == []


def test_build_refuses_to_load_twice(url, reg):
    with pytest.raises(InputError, match="already holds data"):
        Registry.build(url)


def test_malformed_csv_is_all_or_nothing(tmp_path, url):
    src = tmp_path / "csv"
    shutil.copytree(bundled_csv_dir(), src)
    lines = (src / "outcomes.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[5].split(",")
    # Break a numeric cell of a row in the middle of the file (the n column).
    i = header.index("n")
    cells[i] = "twelve"
    lines[5] = ",".join(cells)
    (src / "outcomes.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"outcomes.csv line 6, column 'n': 'twelve' is not a number"):
        Registry.build(url, src)


def test_wrong_columns_are_named(tmp_path, url):
    src = tmp_path / "csv"
    shutil.copytree(bundled_csv_dir(), src)
    p = src / "arms.csv"
    p.write_text(p.read_text().replace("arm_type", "armtype", 1))
    with pytest.raises(InputError, match=r"arms.csv: columns do not match.*missing: \['arm_type'\]"):
        Registry.build(url, src)


def test_audited_add_update_retract_restore(reg):
    v0 = reg.version
    rid = reg.add("outcomes", _new_value(reg, "test-value-1"), who="tester", why="unit test")
    v1 = reg.version
    assert v1 != v0
    reg.update("outcomes", rid, {"mean": 12.5}, who="tester", why="typo fixed")
    assert reg.get("outcomes", rid)["mean"] == 12.5
    reg.retract("outcomes", rid, who="tester", why="wrong arm")
    assert reg.get("outcomes", rid)["status"] == "retracted"  # nothing is lost
    assert rid not in set(reg.frame("outcomes")["value_id"])
    assert rid in set(reg.frame("outcomes", include_retracted=True)["value_id"])
    reg.restore("outcomes", rid, who="tester", why="it was right after all")
    reg.update("outcomes", rid, {"status": "retracted"}, who="tester", why="final")
    hist = reg.history("outcomes", rid)
    assert list(hist["action"]) == ["add", "update", "retract", "restore", "update"]
    assert set(hist["who"]) == {"tester"} and hist["reason"].str.len().min() > 0
    assert hist.iloc[1]["field"] == "mean" and hist.iloc[1]["new_value"] == "12.5"


def test_retract_then_restore_returns_the_same_version(reg):
    v0 = reg.version
    vid = reg.rows("outcomes")[0]["value_id"]
    reg.retract("outcomes", vid, who="t", why="check")
    assert reg.version != v0
    reg.restore("outcomes", vid, who="t", why="check")
    assert reg.version == v0


@pytest.mark.parametrize("over,match", [
    ({"outcome": "pian"}, r"outcome.*Did you mean"),
    ({"value_type": "events", "events": 30, "total": 20}, r"events \(30\) exceed the total \(20\)"),
    ({"sd": -1.0}, r"sd: must not be negative"),
    ({"locator": None}, r"locator: every value needs its source"),
    ({"source_id": "no-such-source"}, r"source 'no-such-source' is not in sources"),
    ({"arm_id": "no-such-study:arm"}, r"arm 'no-such-study:arm' does not exist"),
])
def test_invalid_writes_are_refused_and_leave_no_trace(reg, over, match):
    v0 = reg.version
    n0 = len(reg.history())
    with pytest.raises(InputError, match=match):
        reg.add("outcomes", _new_value(reg, "bad-1", **over), who="t", why="t")
    assert reg.version == v0 and len(reg.history()) == n0


def test_write_needs_who_and_why(reg):
    with pytest.raises(InputError, match="who"):
        reg.add("outcomes", _new_value(reg, "x"), who="", why="w")
    with pytest.raises(InputError, match="reason"):
        reg.add("outcomes", _new_value(reg, "x"), who="w", why=" ")


def test_stale_edit_is_a_conflict_not_a_lost_update(reg):
    sid = reg.rows("studies")[0]["study_id"]
    seen = reg.get("studies", sid)["notes"]
    reg.update("studies", sid, {"notes": "first editor"}, who="a", why="w", expected={"notes": seen})
    with pytest.raises(ConflictError, match="someone else changed it"):
        reg.update("studies", sid, {"notes": "second editor"}, who="b", why="w",
                   expected={"notes": seen})
    assert reg.get("studies", sid)["notes"] == "first editor"


# --------------------------------------------------------------------------------------------
# Concurrency: several processes editing at once lose no edit
def _editor(url: str, worker: int, n: int, study_id: str) -> None:
    reg = Registry(url)
    template = next(r for r in reg.rows("outcomes") if r["value_type"] == "final" and r["sd"])
    for i in range(n):
        row = dict(template, value_id=f"w{worker}-{i}", notes=f"worker {worker}")
        reg.add("outcomes", row, who=f"w{worker}", why="concurrency test")
        while True:  # read-modify-write of one shared field, optimistic with retry
            seen = reg.get("studies", study_id)["duplicate_note"]
            new = (seen or "") + f"[{worker}.{i}]"
            try:
                reg.update("studies", study_id, {"duplicate_note": new}, who=f"w{worker}",
                           why="concurrency test", expected={"duplicate_note": seen})
                break
            except ConflictError:
                continue
    reg.close()


def test_concurrent_editors_lose_no_edit(reg, url):
    study_id = reg.rows("studies")[0]["study_id"]
    reg.update("studies", study_id, {"duplicate_note": "start:"}, who="t", why="reset")
    reg.close()
    workers, n = 4, 15
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_editor, args=(url, w, n, study_id)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
        assert p.exitcode == 0
    check = Registry(url)
    ids = {r["value_id"] for r in check.rows("outcomes")}
    assert all(f"w{w}-{i}" in ids for w in range(workers) for i in range(n))
    note = check.get("studies", study_id)["duplicate_note"]
    assert all(f"[{w}.{i}]" in note for w in range(workers) for i in range(n))
    assert len(check.history("outcomes").query("action == 'add'")) == workers * n


# --------------------------------------------------------------------------------------------
# Crash: a writer killed in the middle of a transaction leaves the database consistent
CRASH_WRITER = textwrap.dedent("""
    import sys, time
    from acuevidence.evidence.store import Registry
    reg = Registry(sys.argv[1])
    template = next(r for r in reg.rows("outcomes") if r["value_type"] == "final" and r["sd"])
    with reg.begin() as conn:
        from acuevidence.evidence.schema import outcomes
        for i in range(500):
            conn.execute(outcomes.insert().values(**dict(template, value_id=f"crash-{i}")))
        print("inserted", flush=True)
        time.sleep(600)  # killed here, before COMMIT
""")


def test_writer_killed_mid_transaction_leaves_database_consistent(reg, url, tmp_path):
    v0 = reg.version
    n0 = len(reg.rows("outcomes"))
    reg.close()
    script = tmp_path / "writer.py"
    script.write_text(CRASH_WRITER)
    proc = subprocess.Popen([sys.executable, str(script), url], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "inserted"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    time.sleep(0.5)
    after = Registry(url)
    assert len(after.rows("outcomes")) == n0
    assert after.version == v0
    if url.endswith(".sqlite"):
        con = sqlite3.connect(url)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
    # and the database still takes writes
    after.add("outcomes", _new_value(after, "after-crash"), who="t", why="after crash")
    assert after.get("outcomes", "after-crash") is not None


def test_sqlite_file_opens_in_plain_sqlite(tmp_path):
    url = str(tmp_path / "plain.sqlite")
    Registry.build(url).close()
    con = sqlite3.connect(url)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"studies", "arms", "outcomes", "contrasts", "reviews", "sources", "changes",
            "schema_migrations"} <= tables
    con.close()


def test_open_default_builds_once(tmp_path, monkeypatch):
    target = tmp_path / "home" / "evidence.sqlite"
    monkeypatch.setenv("ACUEVIDENCE_DATABASE", str(target))
    r1 = Registry.open_default()
    v = r1.version
    r1.add("outcomes", _new_value(r1, "kept"), who="t", why="persisted edit")
    r1.close()
    r2 = Registry.open_default()
    assert r2.get("outcomes", "kept") is not None and r2.version != v
    assert Path(target).exists()
