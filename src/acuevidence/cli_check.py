"""``acuevidence check PAGE``: test a saved health page's claims against the evidence (thin CLI).

Parses the options, calls :func:`acuevidence.checker.check_file` and writes the report. The lead
wires :func:`add_check_parser` and :func:`run_check` into :mod:`acuevidence.cli`; errors are
raised as :class:`acuevidence.errors.InputError` (the CLI prints one line, exit status 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_check_parser", "run_check"]

CHECK_HELP = """\
Check a health web page's claims against the evidence base, claim by claim: efficacy statements,
numbers (trials, participants, percentages), safety statements and citations, each with a verdict
(supported, overstated, contradicted, off-topic citation, duplicate citation, unverifiable number,
not assessable), its reason and the evidence. PAGE is a saved file (HTML or plain text); the
checker never fetches a URL. Files over 5 MiB, or with more than 1,000,000 characters of text,
and binary files are refused.
"""


def add_check_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``check`` subcommand to the CLI's subparsers."""
    p = subparsers.add_parser("check", help="check a health page's claims against the evidence",
                              description=CHECK_HELP)
    p.add_argument("page", metavar="PAGE", help="saved page: .html/.htm or plain text")
    p.add_argument("--format", default="text", choices=["text", "json", "html", "markdown"],
                   help="report format (default text; html highlights the claims in the page)")
    p.add_argument("--out", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--as", dest="content_type", choices=["html", "text"], default=None,
                   help="read PAGE as HTML or plain text (default: by extension and content)")
    return p


def run_check(args: argparse.Namespace) -> int:
    """Run ``acuevidence check``; returns the exit status (errors raise InputError)."""
    from .checker import check_file

    ct = {"html": "text/html", "text": "text/plain", None: None}[args.content_type]
    report = check_file(args.page, content_type=ct)
    out = report.summary(args.format)
    if args.out:
        Path(args.out).write_text(out, encoding="utf-8")
        print(f"{len(report.claims)} claims checked -> {args.out}")
    else:
        print(out, end="" if out.endswith("\n") else "\n")
    return 0
