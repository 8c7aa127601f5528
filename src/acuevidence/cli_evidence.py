"""``acuevidence evidence ...``: the registry from the command line.

Thin layer over :mod:`acuevidence.evidence`: build, version, stats, check, add / edit / retract /
restore (the audited write path), history, select (analysis sets), import and export.
"""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any

from .errors import InputError

__all__ = ["add_evidence_parser", "run_evidence"]


def add_evidence_parser(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("evidence", help="the trial registry: build, check, edit, select",
                        description="The evidence registry (SQLite by default, or PostgreSQL).")
    evsub = ev.add_subparsers(dest="evidence_command", required=True)

    def db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--database", metavar="URL",
                       help="SQLite file or postgresql://... (default: $ACUEVIDENCE_DATABASE or "
                            "~/.local/share/acuevidence/evidence.sqlite, built from the bundled "
                            "CSV files on first use)")
        return p

    def editor(p: argparse.ArgumentParser) -> None:
        p.add_argument("--who", default=None, help="editor name (default: the login name)")
        p.add_argument("--why", required=True, help="reason for the change (recorded)")

    b = db(evsub.add_parser("build", help="(re)build the database from CSV files"))
    b.add_argument("--from", dest="csv_dir", metavar="DIR",
                   help="directory of registry CSV files (default: the bundled ones)")
    b.add_argument("--replace", action="store_true", help="drop and rebuild an existing database")

    db(evsub.add_parser("version", help="print the evidence version (content hash)"))

    s = db(evsub.add_parser("stats", help="trials, arms and values per condition and comparator"))
    s.add_argument("--json", action="store_true")

    c = db(evsub.add_parser("check", help="data checks; exit status 1 on errors"))
    c.add_argument("--csv-dir", metavar="DIR", help="check CSV files instead of a database")
    c.add_argument("--json", action="store_true")
    c.add_argument("--errors-only", action="store_true", help="do not list warnings")

    a = db(evsub.add_parser("add", help="add a row (validated, audited)"))
    a.add_argument("table")
    a.add_argument("--set", dest="fields", action="append", default=[], metavar="FIELD=VALUE",
                   help="a field of the new row (repeat)")
    a.add_argument("--row-json", metavar="FILE", help="the new row as a JSON object")
    editor(a)

    e = db(evsub.add_parser("edit", help="change fields of a row (validated, audited)"))
    e.add_argument("table")
    e.add_argument("row_id")
    e.add_argument("--set", dest="fields", action="append", default=[], metavar="FIELD=VALUE",
                   required=True)
    e.add_argument("--expect", action="append", default=[], metavar="FIELD=VALUE",
                   help="the value you saw; refuse if someone changed it since")
    editor(e)

    for name, help_ in (("retract", "retract a row (kept in the history)"),
                        ("restore", "undo a retraction")):
        r = db(evsub.add_parser(name, help=help_))
        r.add_argument("table")
        r.add_argument("row_id")
        editor(r)

    h = db(evsub.add_parser("history", help="the audit trail"))
    h.add_argument("table", nargs="?")
    h.add_argument("row_id", nargs="?")
    h.add_argument("--json", action="store_true")

    x = db(evsub.add_parser("export", help="export CSV files (a directory), .xlsx or .rm5"))
    x.add_argument("--out", required=True, metavar="PATH")

    i = db(evsub.add_parser("import", help="import CSV files (a directory), .xlsx or .rm5"))
    i.add_argument("path")
    i.add_argument("--mode", default="add", choices=["add", "upsert"])
    i.add_argument("--condition", help="condition of the imported trials (RevMan files)")
    editor(i)

    sel = db(evsub.add_parser("select", help="an analysis set: analysis-ready effect sizes"))
    sel.add_argument("--condition", required=True)
    sel.add_argument("--comparator", required=True)
    sel.add_argument("--outcome", default="pain")
    sel.add_argument("--window", default="short",
                     help="immediate, short, intermediate, long or all")
    sel.add_argument("--measure", default=None, help="MD, SMD, RR, OR or RD (default: chosen)")
    sel.add_argument("--multi-arm", default="split", choices=["split", "combine"])
    sel.add_argument("--include-low-confidence", action="store_true")
    sel.add_argument("--metafor-csv", metavar="FILE", help="also write a metafor-ready CSV")
    sel.add_argument("--json", action="store_true")


def _pairs(items: list[str], flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"{flag} expects FIELD=VALUE; got {item!r}.", column=flag)
        k, v = item.split("=", 1)
        out[k.strip()] = None if v == "" else v
    return out


def _registry(args: argparse.Namespace):
    from .evidence.store import Registry

    return Registry.open_default(args.database)


def _who(args: argparse.Namespace) -> str:
    return args.who or getpass.getuser()


def _json(obj: Any) -> None:
    from .results import json_safe

    print(json.dumps(json_safe(obj), indent=2, allow_nan=False, default=str))


def run_evidence(args: argparse.Namespace) -> int:
    cmd = args.evidence_command
    if cmd == "build":
        from .evidence.store import Registry, default_database

        reg = Registry.build(args.database or default_database(), args.csv_dir,
                             replace=args.replace)
        print(f"built {reg.url} (evidence version {reg.version})")
        return 0
    if cmd == "check" and args.csv_dir:
        from .evidence.store import read_csv_dir

        tables = read_csv_dir(args.csv_dir)
        return _report_checks(tables, args)
    reg = _registry(args)
    if cmd == "version":
        print(reg.version)
        return 0
    if cmd == "stats":
        from .evidence.checks import stats

        frame = stats(reg.all_tables())
        if args.json:
            _json({"evidence_version": reg.version, "rows": frame.to_dict(orient="records")})
        else:
            print(f"evidence version {reg.version}")
            print(frame.to_string(index=False))
        return 0
    if cmd == "check":
        return _report_checks(reg.all_tables(), args)
    if cmd == "add":
        row = _pairs(args.fields, "--set")
        if args.row_json:
            with open(args.row_json, encoding="utf-8") as fh:
                row = {**json.load(fh), **row}
        rid = reg.add(args.table, row, who=_who(args), why=args.why)
        print(f"added {args.table} {rid} (evidence version {reg.version})")
        return 0
    if cmd == "edit":
        reg.update(args.table, args.row_id, _pairs(args.fields, "--set"), who=_who(args),
                   why=args.why, expected=_pairs(args.expect, "--expect") or None)
        print(f"updated {args.table} {args.row_id} (evidence version {reg.version})")
        return 0
    if cmd in ("retract", "restore"):
        getattr(reg, cmd)(args.table, args.row_id, who=_who(args), why=args.why)
        print(f"{cmd}d {args.table} {args.row_id} (evidence version {reg.version})")
        return 0
    if cmd == "history":
        frame = reg.history(args.table, args.row_id)
        if args.json:
            _json(frame.to_dict(orient="records"))
        else:
            print(frame.to_string(index=False) if len(frame) else "no changes recorded")
        return 0
    if cmd == "export":
        return _export(reg, args.out)
    if cmd == "import":
        return _import(reg, args)
    if cmd == "select":
        return _select(reg, args)
    raise InputError(f"unknown evidence command {cmd!r}", column="command")


def _report_checks(tables: Any, args: argparse.Namespace) -> int:
    from .evidence.checks import run_checks

    problems = run_checks(tables)
    errors = [p for p in problems if p.severity == "error"]
    shown = errors if args.errors_only else problems
    if args.json:
        _json({"errors": len(errors), "warnings": len(problems) - len(errors),
               "problems": [p.__dict__ for p in shown]})
    else:
        for p in shown:
            print(p)
        print(f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s)")
    return 1 if errors else 0


def _export(reg: Any, out: str) -> int:
    low = out.lower()
    if low.endswith(".rm5"):
        from .evidence.interchange import export_rm5

        export_rm5(reg, out, title="acuevidence export")
    elif low.endswith(".xlsx") or not low.endswith(".csv"):
        from .evidence.interchange import export_tables

        export_tables(reg, out)
    else:
        raise InputError("--out must be a directory, an .xlsx workbook or an .rm5 file.",
                         column="--out")
    print(f"exported evidence version {reg.version} to {out}")
    return 0


def _import(reg: Any, args: argparse.Namespace) -> int:
    if args.path.lower().endswith(".rm5"):
        from .evidence.interchange import import_rm5

        if not args.condition:
            raise InputError("RevMan files do not say the condition: give --condition.",
                             column="--condition")
        import_rm5(args.path, reg, who=_who(args), why=args.why, condition=args.condition)
    else:
        from .evidence.interchange import import_tables

        import_tables(reg, args.path, who=_who(args), why=args.why, mode=args.mode)
    print(f"imported {args.path} (evidence version {reg.version})")
    return 0


def _select(reg: Any, args: argparse.Namespace) -> int:
    from .evidence.analysis_sets import select

    window = None if args.window == "all" else args.window
    aset = select(reg, condition=args.condition, comparator=args.comparator,
                  outcome=args.outcome, window=window, measure=args.measure,
                  multi_arm=args.multi_arm, include_low_confidence=args.include_low_confidence)
    if args.metafor_csv:
        aset.to_metafor_csv(args.metafor_csv)
    if args.json:
        _json(aset.to_dict())
    else:
        print(aset.summary())
    return 0



# ------------------------------------------------------------------------------------------------
# acuevidence report / acuevidence analyze
def add_report_parsers(sub: argparse._SubParsersAction) -> None:
    rep = sub.add_parser("report", help="build the evidence report (HTML and PDF)",
                         description="The full evidence report from the registry.")
    rep.add_argument("--out", default="report", metavar="DIR", help="output directory (report)")
    rep.add_argument("--format", default=None,
                     help="html,pdf (default: both; the PDF needs Debian's chromium and is "
                          "skipped with a warning when it is missing)")
    rep.add_argument("--condition", action="append", default=None,
                     help="limit to a condition (repeat); default: all")
    rep.add_argument("--method", default="REML", help="tau^2 estimator (default REML)")
    rep.add_argument("--test", default="z", help="z, t, knha or adhoc (default z)")
    rep.add_argument("--database", metavar="URL",
                     help="registry database (default: the bundled CSV files)")

    an = sub.add_parser("analyze", help="one question: pooled result, certainty, statement")
    an.add_argument("--condition", required=True)
    an.add_argument("--comparator", required=True,
                    help="arm type, or several joined by '+' (nsaid+other_medication)")
    an.add_argument("--outcome", default="pain")
    an.add_argument("--window", default="short", help="immediate, short, intermediate, long, all")
    an.add_argument("--method", default="REML")
    an.add_argument("--test", default="z")
    an.add_argument("--mid", type=float, default=None,
                    help="minimal important difference on the analysis scale (default 10 "
                         "points on 0-100; 0.5 for SMD; 0.25 for ratios)")
    an.add_argument("--database", metavar="URL")
    an.add_argument("--json", action="store_true")


def run_report(args: argparse.Namespace) -> int:
    import sys as _sys
    import time

    from .report.builder import build_report, find_chromium, write_report

    t0 = time.perf_counter()
    source = _registry(args) if args.database else None
    if args.format:
        formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    else:
        formats = ("html", "pdf") if find_chromium() else ("html",)
        if "pdf" not in formats:
            print("warning: PDF skipped: install Debian's chromium (apt-get install chromium) "
                  "for report.pdf", file=_sys.stderr)
    report = build_report(source, conditions=tuple(args.condition) if args.condition else None,
                          method=args.method, test=args.test, progress=True)
    paths = write_report(report, args.out, formats)
    n = sum(1 for f in report.findings() if f.available)
    print(f"evidence report: {n} pooled analyses in {len(report.comparisons)} comparisons "
          f"(evidence version {report.evidence_version}, {time.perf_counter() - t0:.1f} s)")
    for kind, path in paths.items():
        print(f"  {kind}: {path}")
    return 0


def run_analyze(args: argparse.Namespace) -> int:
    import sys as _sys

    from .report.analysis import analyze

    comp = args.comparator.split("+")
    comparator = comp[0] if len(comp) == 1 else tuple(comp)
    source = _registry(args) if args.database else None
    if source is None:
        from .evidence.store import bundled_csv_dir, read_csv_dir

        source = read_csv_dir(bundled_csv_dir())
    f = analyze(source, condition=args.condition, comparator=comparator, outcome=args.outcome,
                window=None if args.window == "all" else args.window, method=args.method,
                test=args.test, mid=args.mid)
    if args.json:
        _json(f.to_dict())
        return 0 if f.available else 1
    if not f.available:
        print(f.empty_message, file=_sys.stderr)
        return 1
    print(f.statement)
    print(f"certainty: {f.certainty.label}" + "".join(f"\n  - {x}" for x in f.certainty.reasons))
    if f.absolute.get("text"):
        print(f"what it means: {f.absolute['text']}")
    print()
    print(f.result.summary())
    return 0
