"""The evidence report: numbers equal the library's, deterministic bytes, real-browser rendering."""

from __future__ import annotations

import html
import os
import re
import warnings
from pathlib import Path

import pytest

from acuevidence.cli import main
from acuevidence.evidence.store import bundled_csv_dir, read_csv_dir
from acuevidence.report.analysis import analyze
from acuevidence.report.builder import build_report, find_chromium, render_html, write_report

ARTIFACTS = Path(os.environ.get("ACUEVIDENCE_ARTIFACTS",
                                Path(__file__).resolve().parents[1] / "test-artifacts"))
CHROMIUM = find_chromium()
if os.environ.get("CI") and CHROMIUM is None:
    raise RuntimeError("CI must install Debian's chromium for the report and browser tests")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                    "(apt-get install chromium); CI installs it")


@pytest.fixture(scope="module")
def report():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_report()


@pytest.fixture(scope="module")
def written(report, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    formats = ("html", "pdf") if CHROMIUM else ("html",)
    return write_report(report, out, formats)


def test_report_numbers_equal_the_library(report):
    tables = read_csv_dir(bundled_csv_dir())
    checked = 0
    for f in report.findings():
        if not f.available:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lib = analyze(tables, condition=f.condition, comparator=f.comparator,
                          outcome=f.outcome, window=f.window)
        assert lib.result.to_dict() == f.result.to_dict()
        assert lib.statement == f.statement and lib.certainty.level == f.certainty.level
        checked += 1
    assert checked >= 10


def test_html_shows_the_library_numbers(report, written):
    text = written["html"].read_text()
    for f in report.key_answers:
        assert html.escape(f.statement) in text
    f = next(f for f in report.findings() if f.available and f.aset.measure == "MD")
    cell = f"MD {f.result.estimate:.2f} ({f.result.ci_lower:.2f} to {f.result.ci_upper:.2f})"
    assert cell in text
    assert report.evidence_version in text and "acuevidence" in text


def test_every_condition_of_the_pages_is_answered_or_listed(report, written):
    text = written["html"].read_text()
    for cond in ("Chronic non-specific low back pain", "Sciatica", "Knee osteoarthritis",
                 "Hip osteoarthritis", "Plantar fasciitis", "Lumbar spinal stenosis"):
        assert cond in text, cond
    assert "Questions the trials cannot answer" in text and "Is it safe?" in text
    assert "How many sessions?" in text and "What published reviews conclude" in text


def test_building_twice_gives_the_same_bytes(report, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = build_report()
    assert render_html(again) == render_html(report)


@needs_chromium
def test_pdf_renders_and_is_deterministic(report, written, tmp_path):
    pdf = written["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 5
    second = write_report(report, tmp_path, ("pdf",))["pdf"].read_bytes()
    assert second == pdf


@needs_chromium
def test_report_in_a_real_browser(written):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(written["html"].as_uri())
        assert page.title().startswith("Does acupuncture work")
        # No broken images: every <img> loaded (the plots are inline SVG) and SVGs have size.
        broken = page.evaluate("""() => [...document.images]
            .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)""")
        assert broken == []
        sizes = page.evaluate("""() => [...document.querySelectorAll('svg')]
            .map(s => s.getBoundingClientRect().width)""")
        assert len(sizes) >= 10 and min(sizes) > 100
        # Provenance links resolve: every in-page link has its target.
        missing = page.evaluate("""() => [...document.querySelectorAll('a[href^="#"]')]
            .map(a => a.getAttribute('href').slice(1))
            .filter(id => !document.getElementById(decodeURIComponent(id)))""")
        assert missing == []
        external = page.evaluate("""() => [...document.querySelectorAll('a[href^="http"]')]
            .map(a => a.href)""")
        assert external and all(u.startswith(("http://", "https://")) for u in external)
        # A study link in a forest plot leads to its entry with sources.
        first = page.locator("svg a").first
        target = first.get_attribute("href")
        assert page.locator(target).count() == 1
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=False)
        assert errors == []
        browser.close()
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def test_cli_report_and_analyze(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path), "--format", "html",
                 "--condition", "knee_oa"]) == 0
    out = capsys.readouterr().out
    assert "evidence report:" in out and (tmp_path / "report.html").exists()
    assert main(["analyze", "--condition", "knee_oa", "--comparator", "sham", "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["available"] and data["certainty"]["level"]
    assert main(["analyze", "--condition", "plantar_fasciitis", "--comparator", "tens"]) == 1
    assert "no trials compare" in capsys.readouterr().err
