"""The web app in a real browser: Debian's chromium driven by Playwright against a uvicorn server
on loopback. Uses the decision aid and the explorer as a visitor would (mouse and keyboard), the
editor area, and checks accessibility basics (labels, keyboard, WCAG AA contrast, no horizontal
scrolling on a phone) and that the strict CSP blocks nothing the pages need. Screenshots go to
``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (pip install -e '.[web]')")
pytest.importorskip("uvicorn", reason="the web extra is not installed (pip install -e '.[web]')")
pytest.importorskip("playwright", reason="playwright is not installed (test extra)")

from acuevidence.evidence.store import Registry
from acuevidence.report.builder import find_chromium
from acuevidence.web import create_app
from acuevidence.web.auth import hash_password

ARTIFACTS = Path(os.environ.get("ACUEVIDENCE_ARTIFACTS",
                                Path(__file__).resolve().parents[1] / "test-artifacts"))
CHROMIUM = find_chromium()
if os.environ.get("CI") and CHROMIUM is None:
    raise RuntimeError("CI must install Debian's chromium for the browser tests")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(apt-get install chromium); CI installs it")
PASSWORD = "e2e password 1"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# WCAG 2.x contrast of every element's own text against its (opaque) background.
CONTRAST_JS = """() => {
  function rgb(s) { const m = s.match(/[\\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; }
  function lum(c) {
    const a = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92
                                                   : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2];
  }
  function bg(el) {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0.99) { return c; }
    }
    return [255, 255, 255, 1];
  }
  const bad = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("svg")) { continue; }
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) { continue; }
    const st = getComputedStyle(el);
    if (st.visibility === "hidden" || st.display === "none") { continue; }
    const l1 = lum(rgb(st.color)), l2 = lum(bg(el));
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < need) { bad.push(el.tagName + " '" + el.textContent.trim().slice(0, 40) +
                                 "' " + ratio.toFixed(2)); }
  }
  return bad;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    reg = Registry.build(tmp_path_factory.mktemp("e2e") / "evidence.sqlite")
    app = create_app(reg, secret_key="e" * 32, stamp_ttl=0, warm=True,
                     editors={"erin": hash_password(PASSWORD)},
                     rate_limits={"compute": (1e6, 1e6)})
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                        access_log=False))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", reg
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A page that records console errors (CSP violations are reported there) and JS errors."""
    ctx = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    pg = ctx.new_page()
    pg.problems = []
    pg.on("console", lambda m: pg.problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    pg.set_default_timeout(120_000)  # the first home page builds the whole report
    yield pg
    ctx.close()


def shot(pg, name: str, full: bool = True) -> Path:
    path = ARTIFACTS / f"web-{name}.png"
    pg.screenshot(path=str(path), full_page=full)
    assert path.stat().st_size > 10_000
    return path


def no_horizontal_scroll(pg) -> bool:
    return pg.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


# ------------------------------------------------------------------------------------------------
def test_home_answers_the_questions(server, page):
    base, _ = server
    page.goto(base + "/")
    assert page.title().startswith("The questions patients ask")
    sections = page.locator("section.question")
    assert sections.count() == 7
    assert "Does acupuncture work for back pain?" in sections.first.inner_text()
    answers = page.locator("ul.answers a")
    assert answers.count() >= 10
    statement = answers.first.inner_text()
    shot(page, "home", full=False)
    assert page.evaluate(CONTRAST_JS) == []
    answers.first.click()
    page.wait_for_url(re.compile(r"/explorer\?"))
    assert page.locator("#analysis p.statement").inner_text() == statement
    assert page.problems == []


def test_decision_aid_with_the_keyboard(server, page):
    base, _ = server
    page.goto(base + "/decision-aid")
    # The first Tab reaches the skip link, which moves to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    page.locator("#site").focus()
    page.keyboard.type("Knee o")  # type-ahead selects "Knee osteoarthritis"
    assert page.locator("#site").input_value() == "knee_oa"
    page.select_option("#duration", "chronic")
    page.select_option("#comparator", "sham")
    page.locator("#window").focus()
    page.keyboard.press("Tab")  # to the submit button
    assert page.evaluate("() => document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"site=knee_oa"))
    data = page.request.get(base + "/api/decision-aid?site=knee_oa&duration=chronic"
                                   "&comparator=sham&window=auto").json()
    assert page.locator("#result-h").inner_text().startswith("Knee osteoarthritis")
    arrays = page.locator("figure.iconarray")
    assert arrays.count() == 2
    with_n = round(data["chance"]["with"])
    without_n = round(data["chance"]["without"])
    assert arrays.nth(0).locator("use.on").count() == with_n
    assert arrays.nth(0).locator("use").count() == 100
    assert arrays.nth(1).locator("use.on").count() == without_n
    title = arrays.nth(0).locator("title").text_content()
    assert f"{with_n} out of 100" in title
    text = page.locator("#result").inner_text()
    assert data["statement"] in text and data["certainty"]["label"] in text
    for reason in data["certainty"]["reasons"]:
        assert reason in text
    assert "How many sessions?" in text and "Harms reported" in text
    for line in data["meaning"]:
        assert line in text
    shot(page, "decision-aid")
    assert page.evaluate(CONTRAST_JS) == []
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    shot(page, "decision-aid-phone")
    assert page.problems == []


def test_decision_aid_empty_selection_links_to_the_nearest(server, page):
    base, _ = server
    page.goto(base + "/decision-aid?site=low_back&duration=subacute&comparator=sham")
    text = page.locator(".empty").inner_text()
    assert "no trials compare" in text
    page.get_by_role("link", name="more than 12 weeks").click()
    page.wait_for_url(re.compile(r"duration=chronic"))
    assert page.locator("figure.iconarray").count() in (0, 2)
    assert page.locator(".bignum").count() == 1
    assert page.problems == []


def test_explorer_filters_reanalyses_and_downloads(server, page):
    base, _ = server
    page.goto(base + "/explorer")
    page.select_option("#f-condition", "knee_oa")
    page.select_option("#f-comparator", "sham")
    page.select_option("#f-outcome", "pain")
    page.select_option("#f-window", "immediate")
    page.get_by_role("button", name="Show trials").click()
    page.wait_for_url(re.compile(r"window=immediate"))
    rows = page.locator("#trials tbody tr")
    assert rows.count() >= 3
    assert page.locator("#trials tbody tr td").filter(has_text="not recorded").count() >= 3
    svg = page.locator(".plot svg")
    assert svg.count() == 1 and svg.bounding_box()["width"] > 300
    api = page.request.get(base + "/api/analysis?condition=knee_oa&comparator=sham"
                                  "&outcome=pain&window=immediate").json()
    assert page.locator('[data-field="estimate"]').inner_text() == \
        f"{api['result']['estimate']:.2f}"
    # provenance: every included comparison links to its source
    links = page.locator("#set-rows a[href^='http']")
    assert links.count() >= 1
    shot(page, "explorer")
    # switch the estimator: the script re-renders the analysis in place
    page.select_option("#o-method", "DL")
    page.wait_for_function("() => document.querySelector('[data-field=\"method\"]')"
                           ".textContent.startsWith('DL')")
    assert "method=DL" in page.url
    dl = page.request.get(base + "/api/analysis?condition=knee_oa&comparator=sham"
                                 "&outcome=pain&window=immediate&method=DL").json()
    assert page.locator('[data-field="estimate"]').inner_text() == \
        f"{dl['result']['estimate']:.2f}"
    page.select_option("#o-test", "knha")
    page.wait_for_function("() => document.querySelector('[data-field=\"method\"]')"
                           ".textContent.includes('knha')")
    # downloads: the analysis set as CSV, the result as JSON
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("Download the analysis set")).click()
    csv = Path(info.value.path()).read_text()
    assert csv.splitlines()[0].startswith("study,yi,vi")
    assert csv == page.request.get(base + "/api/analysis-set.csv?condition=knee_oa"
                                          "&comparator=sham&outcome=pain&window=immediate").text()
    href = page.get_by_role("link", name="the result as JSON").get_attribute("href")
    got = page.request.get(base + href).json()
    assert got["options"]["method"] == "DL" and got["options"]["test"] == "knha"
    shot(page, "explorer-dl-knha", full=False)
    assert page.evaluate(CONTRAST_JS) == []
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    assert page.problems == []


def test_study_page_lists_every_value_with_its_source(server, page):
    base, reg = server
    page.goto(base + "/explorer?condition=knee_oa&comparator=sham&outcome=pain&window=immediate")
    page.locator("#set-rows tbody th a").first.click()
    page.wait_for_url(re.compile(r"/studies/"))
    sid = page.url.rsplit("/", 1)[1]
    n = sum(1 for v in reg.rows("outcomes") if v["study_id"] == sid)
    assert page.locator("#values tbody tr").count() == n
    assert page.locator("#sources li").count() >= 1
    shot(page, "study")
    assert page.problems == []


def test_editor_signs_in_edits_and_sees_the_history(server, page):
    base, reg = server
    page.goto(base + "/editor")
    page.wait_for_url(re.compile(r"/editor/login"))
    page.fill("#name", "erin")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/editor$"))
    page.select_option("#find-table", "studies")
    page.fill("#find-id", "vas2004")
    page.get_by_role("button", name="Open").click()
    page.wait_for_url(re.compile(r"/editor/row"))
    page.fill("#field-n_sessions", "9")
    page.fill("#why-edit", "sessions read from the methods section")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(r"done=edit"))
    hist = page.locator("#history tbody tr").first.inner_text()
    assert "erin" in hist and "n_sessions" in hist and "sessions read" in hist
    assert reg.get("studies", "vas2004")["n_sessions"] == 9
    shot(page, "editor")
    page.goto(base + "/studies/vas2004")
    assert "9" in page.locator("dl.facts").inner_text()
    assert page.problems == []
