"""The evidence report: does acupuncture work for back, hip and leg pain?

:func:`build_report` answers, from the registry, the questions the health pages ask (every
condition they cite x every comparator x pain / function / responders x time windows), and
:func:`write_report` renders it as one self-contained HTML file (inline CSS and SVG, no scripts, no
external resources) and, when Debian's chromium is installed, a PDF of the same page.

The report is a pure function of the evidence version and the software version: no clock, no
randomness, every collection sorted, so building twice gives the same bytes.
"""

from __future__ import annotations

import re
import shutil
import warnings
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import InputError
from ..evidence.vocabulary import term_label
from .analysis import WINDOW_PHRASES, Finding, analyze, comparator_label
from .forest import ForestColumns, forest_svg, funnel_svg

__all__ = [
    "COMPARATORS",
    "CONDITIONS",
    "OUTCOMES",
    "WINDOWS",
    "Report",
    "build_report",
    "write_report",
]

# What the report asks, in this order (the conditions cited by the pages in shared/seeds).
CONDITIONS = ("chronic_nonspecific_lbp", "acute_nonspecific_lbp", "lbp_unspecified", "sciatica",
              "lumbar_disc_herniation", "spinal_stenosis", "hip_oa", "knee_oa", "knee_or_hip_oa",
              "plantar_fasciitis")
COMPARATORS: tuple[tuple[str, ...], ...] = (
    ("sham",), ("no_treatment", "waitlist"), ("usual_care",), ("conventional",),
    ("nsaid", "other_medication"), ("physiotherapy", "exercise"), ("tens",),
)
OUTCOMES = ("pain", "function", "response")
WINDOWS = ("immediate", "short", "intermediate", "long")
FUNNEL_MIN_K = 10
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--no-pdf-header-footer")


@dataclass
class Comparison:
    condition: str
    comparator: tuple[str, ...]
    findings: list[Finding] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.condition}--{'-'.join(self.comparator)}"

    @property
    def label(self) -> str:
        return comparator_label(self.comparator)

    @property
    def available(self) -> list[Finding]:
        return [f for f in self.findings if f.available]


@dataclass
class Report:
    """Everything the report shows, computed once; rendering only lays it out."""

    evidence_version: str
    software_version: str
    method: str
    test: str
    comparisons: list[Comparison]
    missing: dict[str, list[str]]  # condition -> comparator labels without trials
    tables: dict[str, list[dict[str, Any]]]
    key_answers: list[Finding]

    def findings(self) -> list[Finding]:
        return [f for c in self.comparisons for f in c.findings]


def _condition_pairs(tables: dict[str, list[dict[str, Any]]]) -> dict[str, set[str]]:
    """Arm types present per condition (so the report does not query impossible pairs)."""
    cond = {s["study_id"]: s["condition"] for s in tables["studies"] if s["status"] == "active"}
    out: dict[str, set[str]] = defaultdict(set)
    for a in tables["arms"]:
        if a["study_id"] in cond:
            out[cond[a["study_id"]]].add(a["arm_type"])
    return out


def build_report(source: Any = None, *, conditions: tuple[str, ...] | None = None,
                 method: str = "REML", test: str = "z", progress: bool = False) -> Report:
    """Answer every question from the registry (default: the bundled CSV files)."""
    from ..evidence.store import Registry, bundled_csv_dir, evidence_version, read_csv_dir

    if source is None:
        tables = read_csv_dir(bundled_csv_dir())
    elif isinstance(source, Registry):
        tables = source.all_tables()
    else:
        tables = source
    version = evidence_version(tables)
    conds = conditions or CONDITIONS
    unknown = [c for c in conds if c not in CONDITIONS]
    if unknown:
        raise InputError(f"Unknown condition(s) {unknown}; the report covers "
                         f"{', '.join(CONDITIONS)}.", column="--condition")
    present = _condition_pairs(tables)
    jobs = []
    missing: dict[str, list[str]] = {}
    for cond in conds:
        for comp in COMPARATORS:
            if not present.get(cond, set()) & set(comp) or "acupuncture" not in present.get(cond,
                                                                                           set()):
                missing.setdefault(cond, []).append(comparator_label(comp))
                continue
            jobs.append((cond, comp))
    bar = _progress(len(jobs) * len(OUTCOMES) * len(WINDOWS), progress)
    comparisons = []
    for cond, comp in jobs:
        c = Comparison(cond, comp)
        for outcome in OUTCOMES:
            for window in WINDOWS:
                c.findings.append(analyze(tables, condition=cond, comparator=comp,
                                          outcome=outcome, window=window, method=method,
                                          test=test))
                bar.update(1)
        if c.available:
            comparisons.append(c)
        else:
            missing.setdefault(cond, []).append(comparator_label(comp) + " (trials without "
                                                "usable numbers)")
    bar.close()
    key = _key_answers(comparisons)
    return Report(version, __version__, method, test, comparisons, missing, tables, key)


def _key_answers(comparisons: list[Comparison]) -> list[Finding]:
    """Per comparison, the pain result of the earliest window with data (the headline)."""
    out = []
    for c in comparisons:
        pain = [f for f in c.available if f.outcome == "pain"]
        if pain:
            out.append(pain[0])
        else:
            out.append(c.available[0])
    return out


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, show: bool) -> Any:
    if not show:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a core dependency
        return _NoBar()
    return tqdm(total=total, desc="analyses", unit="q", file=sys.stderr, leave=False)


# ------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------
def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def _forest_columns(f: Finding) -> ForestColumns | None:
    d = f.aset.data
    if f.aset.measure in ("RR", "OR", "RD"):
        if d["events_1"].isna().any():
            return None
        cells = tuple((str(int(r.events_1)), str(int(r.total_1)), str(int(r.events_2)),
                       str(int(r.total_2))) for r in d.itertuples())
        return ForestColumns(("Acupuncture", comparator_label(f.comparator).capitalize()[:14]),
                             ("Events", "Total"), cells)
    if d["mean_1"].isna().any():
        return None

    def n(x: Any) -> str:
        return "-" if x != x else f"{x:.1f}"

    cells = tuple((n(r.mean_1), n(r.sd_1), str(int(r.n_1)) if r.n_1 == r.n_1 else "-",
                   n(r.mean_2), n(r.sd_2), str(int(r.n_2)) if r.n_2 == r.n_2 else "-")
                  for r in d.itertuples())
    return ForestColumns(("Acupuncture", comparator_label(f.comparator).capitalize()[:14]),
                         ("Mean", "SD", "Total"), cells)


def _plots(f: Finding) -> dict[str, str]:
    title = (f"Acupuncture vs {comparator_label(f.comparator)}: {f.outcome}, "
             f"{WINDOW_PHRASES[f.window]}")
    links = [f"#study-{_slug(s)}" for s in f.aset.data["study_id"]]
    favours = ("Favours acupuncture", "Favours comparator")
    if f.aset.measure in ("RR", "OR"):
        favours = ("Favours comparator", "Favours acupuncture")
    out = {"forest": forest_svg(f.result, title=title, measure=f.aset.measure,
                                columns=_forest_columns(f), favours=favours, links=links)}
    if f.result.k >= FUNNEL_MIN_K:
        out["funnel"] = funnel_svg(f.result, title="Funnel plot", measure=f.aset.measure)
    return out


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document."""
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(loader=PackageLoader("acuevidence", "report/templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["label"] = lambda t, v: term_label(v, t) if t else ""
    env.filters["slug"] = _slug
    env.filters["id"] = id
    env.filters["num"] = lambda x, d=2: "-" if x is None or x != x else f"{x:.{d}f}"
    plots = {id(f): {k: Markup(v) for k, v in _plots(f).items()}
             for c in report.comparisons for f in c.available}
    studies = {s["study_id"]: s for s in report.tables["studies"]}
    sources = {s["source_id"]: s for s in report.tables["sources"]}
    in_analyses = {sid for f in report.findings() if f.available
                   for sid in f.aset.data["study_id"]}
    # Every active trial gets an entry (the safety table and reviews link to them too).
    used_studies = sorted(s["study_id"] for s in report.tables["studies"]
                          if s["status"] == "active")
    arms = defaultdict(list)
    for a in sorted(report.tables["arms"], key=lambda a: a["arm_id"]):
        arms[a["study_id"]].append(a)
    values = defaultdict(list)
    for v in sorted(report.tables["outcomes"], key=lambda r: r["value_id"]):
        if v["status"] == "active":
            values[v["study_id"]].append(v)
    from .sections import (
        adverse_events,
        reviews_side_by_side,
        sessions_regressions,
        sessions_table,
    )

    from ..network import evidence_networks

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        networks = [
            {"net": n, "graph": Markup(n.graph_svg() or ""), "forest": Markup(n.forest_svg() or "")}
            for _, n in sorted(evidence_networks(report.tables).items())
        ]
    return env.get_template("report.html.j2").render(
        networks=networks,
        r=report, plots=plots, studies=studies, sources=sources, used_studies=used_studies,
        in_analyses=in_analyses,
        arms=arms, values=values, window_phrases=WINDOW_PHRASES,
        sessions=sessions_table(report.tables),
        sessions_reg=sessions_regressions(report),
        safety=adverse_events(report.tables),
        reviews=reviews_side_by_side(report),
        cond_label=lambda c: term_label("CONDITIONS", c),
        comp_label=comparator_label,
    )


def write_report(report: Report, out_dir: str | Path, formats: tuple[str, ...] = ("html", "pdf"),
                 ) -> dict[str, Path]:
    """Write ``report.html`` (and ``report.pdf``) into ``out_dir``; return the paths written."""
    bad = [f for f in formats if f not in ("html", "pdf")]
    if bad:
        raise InputError(f"Unknown report format(s) {bad}; use html and/or pdf.",
                         column="--format")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / "report.html"
    html_path.write_text(render_html(report), encoding="utf-8")
    written = {"html": html_path}
    if "pdf" in formats:
        written["pdf"] = html_to_pdf(html_path, out / "report.pdf")
    if "html" not in formats:
        html_path.unlink()
        del written["html"]
    return written


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def html_to_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print the HTML page to PDF with headless chromium (Debian's package).

    Chromium stamps the creation time into the PDF; it is replaced by a fixed date of the same
    length, so the file (and its cross-reference offsets) stay byte-identical between builds.
    """
    exe = find_chromium()
    if exe is None:
        raise InputError("The PDF needs Debian's chromium (apt-get install chromium); the HTML "
                         "report was written. Use --format html to skip the PDF.",
                         column="--format")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
               f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0 or not pdf_path.exists():
        raise InputError(f"chromium could not print the PDF: {proc.stderr.strip()[-300:]}",
                         column="--format")
    data = pdf_path.read_bytes()
    data = re.sub(rb"\(D:\d{14}", b"(D:20000101000000", data)
    pdf_path.write_bytes(data)
    return pdf_path
