"""Command-line interface: ``acuevidence effects`` and ``acuevidence pool``.

Thin by design: parse the options, read the table, call the library, render text or JSON.
Domain errors (:class:`~acuevidence.errors.EvidenceError`) become a one-line message on stderr
and exit status 2; JSON output uses exactly the library's field names.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .errors import EvidenceError, InputError

__all__ = ["build_parser", "main", "read_table"]

ESCALC_ARGS = ("ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i", "x1i", "x2i",
               "t1i", "t2i", "ri", "ni", "xi", "mi", "sdi", "ti")
LOG_MEASURES = {"RR", "OR", "PETO", "IRR", "ROM", "MH-OR", "MH-RR"}

# Bundled examples: file, effect-size measure and columns (readable alias -> column).
EXAMPLES: dict[str, dict[str, Any]] = {
    "lee2004": {
        "file": "lee2004_p6_nausea.csv",
        "title": "Acupoint P6 stimulation vs sham for postoperative nausea (Lee & Done 2004, "
                 "Cochrane CD003281; 16 trials)",
        "measure": "RR",
        "columns": {"ai": "events_p6", "n1i": "n_p6", "ci": "events_sham", "n2i": "n_sham"},
        "labels": "study",
    },
}


def read_table(path: str | Path, sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV, TSV or Excel file into a DataFrame, with clear errors."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"File not found: {p}", column="--csv")
    suffix = p.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(p, sheet_name=sheet or 0)
        if suffix in (".tsv", ".tab"):
            return pd.read_csv(p, sep="\t")
        return pd.read_csv(p, sep=None, engine="python")  # sniff , or ;
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, UnicodeDecodeError) as e:
        raise InputError(f"Cannot read {p} as a table ({suffix or 'no extension'}): {e}",
                         column="--csv") from None


def _example(name: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    spec = EXAMPLES.get(name)
    if spec is None:
        raise InputError(f"Unknown example {name!r}; available: {', '.join(EXAMPLES)}.",
                         column="--example")
    with resources.files("acuevidence").joinpath("data", spec["file"]).open("r") as fh:
        return pd.read_csv(fh), spec


# ------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acuevidence",
        description="Meta-analysis of acupuncture trials, validated against R's metafor.",
    )
    parser.add_argument("--version", action="version", version=f"acuevidence {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    eff = sub.add_parser("effects", help="compute effect sizes (metafor's escalc)",
                         description="Compute effect sizes yi and variances vi from a table.")
    eff.add_argument("--measure", required=True, help="MD, SMD, RR, OR, RD, ... (escalc codes)")
    _add_input(eff)
    for arg in ESCALC_ARGS:
        eff.add_argument(f"--{arg}", metavar="COL", help=f"column holding escalc's {arg}")
    eff.add_argument("--add", type=float, default=0.5, help="zero-cell correction (default 0.5)")
    eff.add_argument("--to", default="only0", choices=["only0", "all", "if0all", "none"])
    eff.add_argument("--drop00", action="store_true", help="drop double-zero studies (NaN yi)")
    eff.add_argument("--vtype", default="LS", help="variance type (LS, UB, AV, ...)")
    eff.add_argument("--out", metavar="FILE", help="write the table (with yi, vi) to a CSV file")
    eff.add_argument("--json", action="store_true", help="print JSON records")

    pool = sub.add_parser("pool", help="pool effect sizes (metafor's rma)",
                          description="Common-effect or random-effects meta-analysis.")
    _add_input(pool, required=False)
    pool.add_argument("--example", choices=sorted(EXAMPLES),
                      help="analyse a bundled example data set instead of --csv")
    pool.add_argument("--yi", metavar="COL", help="column of effect sizes")
    pool.add_argument("--vi", metavar="COL", help="column of sampling variances")
    pool.add_argument("--sei", metavar="COL", help="column of standard errors (instead of --vi)")
    pool.add_argument("--labels", metavar="COL", help="column of study labels")
    pool.add_argument("--weights", metavar="COL", help="column of custom weights (or GENQ)")
    pool.add_argument("--subgroup", metavar="COL", help="column defining subgroups")
    pool.add_argument("--tau2-model", default="separate", choices=["separate", "common"],
                      help="subgroups: separate tau^2 per subgroup or one common tau^2")
    pool.add_argument("--method", default="REML", help="EE/FE/CE, DL, REML, PM, ... (default REML)")
    pool.add_argument("--test", default="z", help="z, t, knha (knapp-hartung), adhoc")
    pool.add_argument("--level", type=float, default=0.95, help="confidence level (0.95)")
    pool.add_argument("--tau2", type=float, default=None, help="fix tau^2 at this value")
    pool.add_argument("--tau2-ci", default="QP", help="QP (Q-profile), PL (profile likelihood) "
                      "or none")
    pool.add_argument("--pi-type", default="default", help="default, riley, t or simple")
    pool.add_argument("--measure", default=None,
                      help="effect measure of yi (for labels; log measures are also shown "
                           "exponentiated)")
    pool.add_argument("--json", action="store_true", help="print JSON with the library's names")

    from .cli_evidence import add_evidence_parser, add_report_parsers

    add_evidence_parser(sub)
    add_report_parsers(sub)

    from .cli_batch import add_simulate_parser
    from .cli_check import add_check_parser
    from .cli_web import add_serve_parser

    add_simulate_parser(sub)
    add_serve_parser(sub)
    add_check_parser(sub)
    return parser


def _add_input(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--csv", "--data", dest="csv", metavar="FILE", required=required,
                   help="input table: .csv, .tsv or .xlsx")
    p.add_argument("--sheet", default=None, help="Excel sheet name (default: the first)")


# ------------------------------------------------------------------------------------------
def _cmd_effects(args: argparse.Namespace) -> int:
    from .effect_sizes import effect_sizes

    data = read_table(args.csv, args.sheet)
    cols = {a: getattr(args, a) for a in ESCALC_ARGS if getattr(args, a) is not None}
    out = effect_sizes(args.measure, data, add=args.add, to=args.to, drop00=args.drop00,
                       vtype=args.vtype, **cols)
    if args.out:
        out.to_csv(args.out, index=False)
    if args.json:
        _print_json(out.to_dict(orient="records"))
    else:
        print(out.to_string(index=False))
    return 0


def _cmd_pool(args: argparse.Namespace) -> int:
    from .meta import meta_analysis
    from .subgroups import subgroup_analysis

    title = None
    if args.example:
        raw, spec = _example(args.example)
        from .effect_sizes import effect_sizes

        data = effect_sizes(spec["measure"], raw, **spec["columns"])
        yi, vi, labels, measure, title = "yi", "vi", spec["labels"], spec["measure"], spec["title"]
    else:
        if not args.csv:
            raise InputError("Give --csv FILE (or --example NAME).", column="--csv")
        if not args.yi or not (args.vi or args.sei):
            raise InputError("Give --yi COL and --vi COL (or --sei COL).", column="--yi")
        data = read_table(args.csv, args.sheet)
        yi, vi, labels, measure = args.yi, args.vi, args.labels, args.measure
    tau2_ci = None if str(args.tau2_ci).lower() == "none" else args.tau2_ci
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.subgroup:
            res = subgroup_analysis(yi, vi if not args.sei else None, args.subgroup, data=data,
                                    sei=args.sei, method=args.method, test=args.test,
                                    level=args.level, tau2=args.tau2_model, labels=labels)
        else:
            res = meta_analysis(yi, vi if not args.sei else None, data=data, sei=args.sei,
                                method=args.method, test=args.test, level=args.level,
                                weights=args.weights, tau2=args.tau2, tau2_ci=tau2_ci,
                                pi_type=args.pi_type, labels=labels, measure=measure)
    if args.json:
        out = res.to_dict()
        if title:
            out["title"] = title
        _print_json(out)
        return 0
    if title:
        print(title)
        print()
    print(res.summary())
    if not args.subgroup and measure and measure.upper() in LOG_MEASURES:
        print()
        print(_exp_line(res, measure.upper()))
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    return 0


def _exp_line(res: Any, measure: str) -> str:
    def f(x: float | None) -> str:
        return "-" if x is None else f"{math.exp(x):.3f}"

    lv = f"{100 * res.level:g}%"
    line = (f"{measure} (exponentiated): {f(res.estimate)} ({lv} CI {f(res.ci_lower)} to "
            f"{f(res.ci_upper)})")
    if res.method not in ("EE", "FE", "CE"):
        line += f"; {lv} prediction interval {f(res.pi_lower)} to {f(res.pi_upper)}"
    return line


def _print_json(obj: Any) -> None:
    from .results import json_safe

    print(json.dumps(json_safe(obj), indent=2, allow_nan=False))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``acuevidence`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "effects":
            return _cmd_effects(args)
        if args.command == "pool":
            return _cmd_pool(args)
        if args.command == "evidence":
            from .cli_evidence import run_evidence

            return run_evidence(args)
        if args.command == "check":
            from .cli_check import run_check

            return run_check(args)
        if args.command == "serve":
            from .cli_web import run_serve

            return run_serve(args)
        if args.command == "simulate":
            from .cli_batch import run_simulate

            return run_simulate(args)
        if args.command == "report":
            from .cli_evidence import run_report

            return run_report(args)
        if args.command == "analyze":
            from .cli_evidence import run_analyze

            return run_analyze(args)
    except EvidenceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")
    return 2  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
