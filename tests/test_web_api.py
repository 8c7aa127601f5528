"""The web app's JSON API, in process (FastAPI TestClient): the numbers are the library's.

Every answer is compared with what the library computes for the same question, so the API can
never drift from :func:`acuevidence.report.analysis.analyze` and the analysis sets.
"""

from __future__ import annotations

import io
import json
import math
import statistics
import warnings

import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (pip install -e '.[web]')")

from fastapi.testclient import TestClient
from scipy import stats

from acuevidence.evidence.analysis_sets import select
from acuevidence.evidence.store import Registry
from acuevidence.meta import METHODS, TESTS
from acuevidence.report.analysis import analyze
from acuevidence.results import json_safe
from acuevidence.web import create_app
from acuevidence.web.auth import hash_password, new_token

KNEE = "condition=knee_oa&comparator=sham&outcome=pain&window=immediate"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return Registry.build(tmp_path_factory.mktemp("web") / "evidence.sqlite")


@pytest.fixture(scope="module")
def tables(registry):
    return registry.all_tables()


@pytest.fixture(scope="module")
def client(registry):
    # Hundreds of distinct analyses from one client: lift the compute rate limit.
    app = create_app(registry, secret_key="k" * 32, rate_limits={"compute": (1e6, 1e6)})
    with TestClient(app) as c:
        yield c


@pytest.fixture
def writable(tmp_path):
    """A fresh registry, an editor with a password and an API token, and a client."""
    reg = Registry.build(tmp_path / "evidence.sqlite")
    token, token_hash = new_token()
    editors = {"alice": {"password_hash": hash_password(PASSWORD), "token_hashes": [token_hash]}}
    app = create_app(reg, secret_key="k" * 32, editors=editors, stamp_ttl=0)
    with TestClient(app) as c:
        yield c, reg, token


def lib(tables, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(tables, **kw)


def error_of(resp):
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    return body["error"]


# ------------------------------------------------------------------------------------------------
def test_version_is_the_registry_version(client, registry):
    r = client.get("/api/version")
    assert r.status_code == 200
    assert r.json()["evidence_version"] == registry.version
    assert r.json()["database"] == "sqlite"


def test_vocabulary_lists_every_estimator(client):
    v = client.get("/api/vocabulary").json()
    assert v["methods"] == list(METHODS) and v["tests"] == list(TESTS)
    assert {"term": "knee_oa", "label": "Knee osteoarthritis"} in v["conditions"]


def test_studies_list_filters_and_provenance(client, tables):
    everything = client.get("/api/studies").json()
    active = [s for s in tables["studies"] if s["status"] == "active"]
    assert everything["count"] == len(active)
    knee = client.get("/api/studies", params={"condition": "knee_oa", "comparator": "sham",
                                              "outcome": "pain"}).json()
    assert 0 < knee["count"] < everything["count"]
    urls = {s["source_id"]: s["url"] for s in tables["sources"]}
    for row in knee["studies"]:
        assert row["condition"] == "knee_oa" and "sham" in row["comparators"]
        assert "pain" in row["outcomes"]
        assert row["source_url"] == urls.get(row["source_id"])
        assert row["risk_of_bias"] == "not recorded"  # the registry has no judgements yet
    assert client.get("/api/studies", params={"risk_of_bias": "low"}).json()["count"] == 0
    assert client.get("/api/studies", params={"risk_of_bias": "not_recorded"}).json()[
        "count"] == everything["count"]


def test_study_detail_and_the_404_shape(client, tables):
    d = client.get("/api/studies/brinkhaus2006").json()
    assert d["study"]["study_id"] == "brinkhaus2006"
    n_values = sum(1 for v in tables["outcomes"] if v["study_id"] == "brinkhaus2006")
    assert len(d["outcomes"]) == n_values and d["sources"]
    cited = {v["source_id"] for v in d["outcomes"]}
    assert cited <= {s["source_id"] for s in d["sources"]}
    r = client.get("/api/studies/no_such_trial")
    assert r.status_code == 404
    assert error_of(r) == {"code": "not_found", "message": "No study with study_id "
                           "'no_such_trial'.", "field": "study_id"}


def test_pooled_analysis_equals_the_library(client, tables):
    r = client.get(f"/api/analysis?{KNEE}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    got = r.json()
    f = lib(tables, condition="knee_oa", comparator="sham", outcome="pain", window="immediate")
    assert got["available"] is True
    assert got["result"] == json.loads(json.dumps(json_safe(f.result.to_dict())))
    assert got["statement"] == f.statement
    assert got["certainty"]["level"] == f.certainty.level
    assert got["certainty"]["reasons"] == f.certainty.reasons
    assert got["absolute"] == json.loads(json.dumps(json_safe(f.absolute)))
    assert got["n_participants"] == f.n_participants
    assert got["analysis_set"]["k"] == f.aset.k
    assert [row["study_id"] for row in got["analysis_set"]["rows"]] == list(
        f.aset.data["study_id"])
    assert got["links"]["forest_svg"].startswith("/api/analysis/forest.svg?")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", TESTS)
def test_every_estimator_and_test(client, tables, method, test):
    r = client.get(f"/api/analysis?{KNEE}&method={method}&test={test}")
    assert r.status_code == 200, r.text
    res = r.json()["result"]
    aset = select(tables, condition="knee_oa", comparator="sham", outcome="pain",
                  window="immediate")
    kw = {"weights": 1 / aset.data["vi"].to_numpy(float)} if method == "GENQ" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = aset.pool(method=method, test=test, **kw)
    assert res["method"] == want.method and res["test"] == want.test
    for name in ("estimate", "se", "ci_lower", "ci_upper", "tau2", "p_value", "pi_lower"):
        assert res[name] == pytest.approx(getattr(want, name), rel=1e-12, abs=1e-14), name


@pytest.mark.parametrize("options, kwargs", [
    ("level=90", {"level": 0.9}),
    ("level=0.99&tau2_ci=PL", {"level": 0.99, "tau2_ci": "PL"}),
    ("pi_type=riley", {"pi_type": "riley"}),
    ("tau2_ci=none&method=PM&test=knha", {"tau2_ci": None, "method": "PM", "test": "knha"}),
])
def test_estimator_options(client, tables, options, kwargs):
    got = client.get(f"/api/analysis?{KNEE}&{options}").json()
    aset = select(tables, condition="knee_oa", comparator="sham", outcome="pain",
                  window="immediate")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = aset.pool(**{"method": "REML", "test": "z", **kwargs}).to_dict()
    assert got["result"] == json.loads(json.dumps(json_safe(want)))
    assert got["options"]["level"] == kwargs.get("level", 0.95)


def test_an_empty_selection_names_the_nearest(client, tables):
    q = "condition=chronic_nonspecific_lbp&comparator=nsaid%2Bother_medication&window=short"
    got = client.get(f"/api/analysis?{q}").json()
    f = lib(tables, condition="chronic_nonspecific_lbp", comparator=("nsaid", "other_medication"),
            window="short")
    assert got["available"] is False and got["result"] is None
    assert got["empty_message"] == f.empty_message and "no trials compare" in f.empty_message
    assert got["nearest"], "the registry names the nearest selections"
    for n in got["nearest"]:
        assert n["kind"] in ("window", "comparator", "outcome")
        again = client.get(f"/api/analysis?{n['query']}").json()
        assert again["question"][n["kind"]] == n["value"]
    r = client.get(f"/api/analysis/forest.svg?{q}")
    assert r.status_code == 404 and error_of(r)["code"] == "no_plot"


@pytest.mark.parametrize("query, status, field", [
    ("condition=knee_ox&comparator=sham", 400, "condition"),
    ("condition=knee_oa&comparator=shame", 400, "comparator"),
    ("condition=knee_oa&comparator=acupuncture", 400, "comparator"),
    ("condition=knee_oa&comparator=sham&method=bogus", 400, "method"),
    ("condition=knee_oa&comparator=sham&test=w", 400, "test"),
    ("condition=knee_oa&comparator=sham&window=forever", 400, "window"),
    ("condition=knee_oa&comparator=sham&level=1.5", 400, "level"),
    ("condition=knee_oa&comparator=sham&level=abc", 422, "level"),
    ("comparator=sham", 422, "condition"),
    ("condition=knee_oa&comparator=sham&window=immediate&method=ML&tau2_ci=PX", 400, "tau2_ci"),
])
def test_input_errors_name_the_field(client, query, status, field):
    r = client.get(f"/api/analysis?{query}")
    assert r.status_code == status, r.text
    err = error_of(r)
    assert err["field"] == field
    assert "Traceback" not in err["message"] and err["message"]


def test_input_error_from_the_engine_keeps_its_message(client):
    # Profile-likelihood CIs exist for ML/REML only: the engine's InputError reaches the client.
    r = client.get(f"/api/analysis?{KNEE}&method=DL&tau2_ci=PL")
    assert r.status_code == 400
    err = error_of(r)
    assert err["code"] == "invalid_input" and "profile-likelihood" in err["message"]


def test_forest_plot_is_svg_linking_to_the_studies(client, tables):
    r = client.get(f"/api/analysis/forest.svg?{KNEE}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    svg = r.text
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "style=" not in svg  # CSP-safe: presentation attributes only
    f = lib(tables, condition="knee_oa", comparator="sham", outcome="pain", window="immediate")
    for sid, label in zip(f.aset.data["study_id"], f.aset.data["label"], strict=True):
        assert f'href="/studies/{sid}"' in svg and label in svg
    assert f"{f.result.estimate:.2f}".replace("-", "\u2212") in svg


def test_funnel_plot_needs_ten_trials(client):
    r = client.get(f"/api/analysis/funnel.svg?{KNEE}")
    assert r.status_code == 404 and "at least 10" in error_of(r)["message"]


def test_csv_download_is_the_metafor_frame(client, tables):
    r = client.get(f"/api/analysis-set.csv?{KNEE}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    got = pd.read_csv(io.StringIO(r.text))
    want = select(tables, condition="knee_oa", comparator="sham", outcome="pain",
                  window="immediate").metafor_frame()
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_dtype=False)


def test_analysis_set_json(client, tables):
    got = client.get(f"/api/analysis-set?{KNEE}").json()
    want = select(tables, condition="knee_oa", comparator="sham", outcome="pain",
                  window="immediate").to_dict()
    assert got == json.loads(json.dumps(want))


def test_decision_aid_from_responders(client, tables):
    d = client.get("/api/decision-aid", params={"site": "knee_oa", "duration": "chronic",
                                                "comparator": "sham"}).json()
    assert d["available"] and d["situation"]["condition"] == "knee_oa"
    w = d["window"]
    pain = lib(tables, condition="knee_oa", comparator="sham", outcome="pain", window=w)
    resp = lib(tables, condition="knee_oa", comparator="sham", outcome="response", window=w)
    assert d["effect"]["points"] == pytest.approx(pain.absolute["points"])
    assert d["chance"]["method"] == "responders"
    assert d["chance"]["without"] == pytest.approx(resp.absolute["control_per_100"])
    assert d["chance"]["with"] == pytest.approx(resp.absolute["acupuncture_per_100"])
    assert d["certainty"]["level"] == pain.certainty.level
    assert d["certainty"]["reasons"] == pain.certainty.reasons
    studies = {s["study_id"]: s for s in tables["studies"]}
    ns = [studies[s]["n_sessions"] for s in sorted(set(pain.aset.data["study_id"]))
          if studies[s]["n_sessions"] is not None]
    assert d["sessions"]["median"] == statistics.median(ns)
    assert d["harms"]["rows"] and all(h["condition"] == "knee_oa" for h in d["harms"]["rows"])
    assert any("Out of 100 people like you" in line for line in d["meaning"])


def test_decision_aid_derived_from_the_mean_difference(client, tables):
    from acuevidence.web.decision import MID_POINTS, control_change

    d = client.get("/api/decision-aid", params={"site": "knee_oa", "duration": "chronic",
                                                "comparator": "nsaid+other_medication"}).json()
    ch = d["chance"]
    assert ch["method"] == "derived" and ch["threshold_points"] == MID_POINTS
    ctrl = control_change(tables, "knee_oa", ("nsaid", "other_medication"), d["window"])
    tau = MID_POINTS / ch["sd"]
    assert ch["control_change_sd"] == pytest.approx(ctrl["z"])
    assert ch["without"] == pytest.approx(100 * stats.norm.cdf(-tau - ctrl["z"]))
    pts = d["effect"]["points"]
    assert ch["with"] == pytest.approx(100 * stats.norm.cdf(-tau - ctrl["z"] - pts / ch["sd"]))
    assert ch["with_lower"] <= ch["with"] <= ch["with_upper"]
    assert 0 <= ch["without"] < ch["with"] <= 100  # acupuncture lowered pain here
    assert 0 <= d["bayes"]["probability"] <= 100


def test_decision_aid_empty_selection(client):
    d = client.get("/api/decision-aid", params={"site": "low_back", "duration": "subacute",
                                                "comparator": "sham"}).json()
    assert d["available"] is False and d["situation"]["condition"] == "subacute_nonspecific_lbp"
    assert d["empty_message"].startswith("no trials compare")
    assert {r["duration"] for r in d["related"]} == {"acute", "chronic", "unsure"}
    r = client.get("/api/decision-aid", params={"site": "elbow", "duration": "chronic"})
    assert r.status_code == 400 and error_of(r)["field"] == "site"


def test_home_questions_are_the_report_key_answers(client):
    got = client.get("/api/questions").json()
    report = client.app.state.ctx.report()
    assert got["evidence_version"] == report.evidence_version
    by_id = {q["id"]: q for q in got["questions"]}
    back = {(a["condition"], a["comparator"]): a["statement"]
            for a in by_id["back-pain"]["answers"]}
    for f in report.key_answers:
        if f.condition in ("chronic_nonspecific_lbp", "acute_nonspecific_lbp",
                           "lbp_unspecified"):
            assert back[(f.condition, "+".join(f.comparator))] == f.statement
    assert by_id["sessions"]["sessions"] and by_id["safety"]["summary"]
    for q in got["questions"]:
        for a in q["answers"]:
            assert client.get(f"/api/analysis?{a['query']}").json()["statement"] == a["statement"]


def test_answers_are_cached_by_version_and_parameters(client):
    q = "condition=sciatica&comparator=sham&window=immediate&method=DL"
    first = client.get(f"/api/analysis?{q}")
    second = client.get(f"/api/analysis?{q}")
    assert second.headers["x-cache"] == "hit" and second.content == first.content
    other = client.get(f"/api/analysis?{q}&level=0.9")
    assert other.headers["x-cache"] == "miss"


# ------------------------------------------------------------------------------------------------
# Writes: the audited write path (done-means tests)
# ------------------------------------------------------------------------------------------------
def test_an_unauthenticated_write_is_refused(writable):
    c, reg, token = writable
    body = {"values": {"sd": 12.5}, "why": "checked the table"}
    for headers in ({}, {"Authorization": "Bearer not-a-token"},
                    {"Authorization": f"Basic {token}"}):
        r = c.patch("/api/editor/outcomes/brinkhaus2006:v001", json=body, headers=headers)
        assert r.status_code in (401, 403), r.text
        assert error_of(r)["code"] in ("unauthorized", "forbidden")
    r = c.post("/editor/edit", data={"table": "outcomes", "row_id": "brinkhaus2006:v001",
                                     "field_sd": "1", "expect_sd": "30.3", "why": "x"})
    assert r.status_code == 403
    assert reg.history().empty, "nothing was written"


def test_an_authenticated_edit_appears_in_the_audit_trail(writable):
    c, reg, token = writable
    auth = {"Authorization": f"Bearer {token}"}
    before = reg.get("outcomes", "brinkhaus2006:v001")
    v0 = c.get("/api/version").json()["evidence_version"]
    r = c.patch("/api/editor/outcomes/brinkhaus2006:v001", headers=auth,
                json={"values": {"sd": 31.0}, "expected": {"sd": before["sd"]},
                      "why": "SD re-read from Table 2"})
    assert r.status_code == 200, r.text
    assert r.json()["who"] == "alice" and r.json()["evidence_version"] != v0
    hist = reg.history("outcomes", "brinkhaus2006:v001")
    last = hist.iloc[-1]
    assert (last["who"], last["action"], last["field"]) == ("alice", "update", "sd")
    assert float(last["old_value"]) == before["sd"] and float(last["new_value"]) == 31.0
    assert last["reason"] == "SD re-read from Table 2"
    listed = c.get("/api/editor/history", params={"table": "outcomes"}, headers=auth).json()
    assert listed["changes"][0]["who"] == "alice" and listed["count"] == 1
    # the public API serves the new evidence version at once
    assert c.get("/api/version").json()["evidence_version"] == reg.version != v0


def test_a_signed_in_editor_edits_through_the_form(writable):
    c, reg, _ = writable
    page = c.get("/editor/login")
    csrf = _csrf(page.text)
    r = c.post("/editor/login", data={"name": "alice", "password": PASSWORD,
                                      "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/editor"
    row = c.get("/editor/row", params={"table": "studies", "row_id": "brinkhaus2006"})
    assert row.status_code == 200
    csrf = _csrf(row.text)  # a new token after sign-in
    r = c.post("/editor/edit", data={"csrf_token": csrf, "table": "studies",
                                     "row_id": "brinkhaus2006", "field_n_sessions": "13",
                                     "expect_n_sessions": "12.0", "why": "protocol says 13"},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    last = reg.history("studies", "brinkhaus2006").iloc[-1]
    assert (last["who"], last["field"], last["reason"]) == ("alice", "n_sessions",
                                                            "protocol says 13")
    page = c.get(r.headers["location"])
    assert "protocol says 13" in page.text and "alice" in page.text


def test_retract_and_restore_change_the_analysis(writable):
    c, reg, token = writable
    auth = {"Authorization": f"Bearer {token}"}
    k0 = c.get(f"/api/analysis?{KNEE}").json()["result"]["k"]
    sangdee = [v["value_id"] for v in reg.rows("outcomes") if v["study_id"] == "sangdee2002"
               and v["outcome"] == "pain"]
    for vid in sangdee:
        r = c.post(f"/api/editor/outcomes/{vid}/retract", json={"why": "duplicate"},
                   headers=auth)
        assert r.status_code == 200, r.text
    assert c.get(f"/api/analysis?{KNEE}").json()["result"]["k"] == k0 - 1
    for vid in sangdee:
        assert c.post(f"/api/editor/outcomes/{vid}/restore", json={"why": "not a duplicate"},
                      headers=auth).status_code == 200
    assert c.get(f"/api/analysis?{KNEE}").json()["result"]["k"] == k0


def test_add_row_and_conflict(writable):
    c, reg, token = writable
    auth = {"Authorization": f"Bearer {token}"}
    r = c.post("/api/editor/sources", headers=auth, json={
        "values": {"source_id": "new_src", "url": "https://example.org/trial", "kind": "primary"},
        "why": "new source"})
    assert r.status_code == 201 and reg.get("sources", "new_src")["kind"] == "primary"
    r = c.patch("/api/editor/sources/new_src", headers=auth, json={
        "values": {"note": "b"}, "expected": {"note": "someone else's"}, "why": "x"})
    assert r.status_code == 409 and error_of(r)["code"] == "conflict"
    r = c.post("/api/editor/sources", headers=auth, json={
        "values": {"source_id": "bad", "kind": "rumour"}, "why": "x"})
    assert r.status_code == 400 and error_of(r)["code"] == "invalid_input"
    r = c.post("/api/editor/no_table", headers=auth, json={"values": {}, "why": "x"})
    assert r.status_code == 404


def test_openapi_documents_the_api(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for p in ("/api/version", "/api/studies", "/api/studies/{study_id}", "/api/analysis",
              "/api/analysis-set", "/api/analysis-set.csv", "/api/analysis/forest.svg",
              "/api/analysis/funnel.svg", "/api/decision-aid", "/api/questions",
              "/api/editor/{table}", "/api/editor/history"):
        assert p in paths, p
    get = paths["/api/analysis"]["get"]
    names = {p["name"] for p in get["parameters"]}
    assert {"method", "test", "level", "tau2_ci", "pi_type"} <= names
    method = next(p for p in get["parameters"] if p["name"] == "method")
    assert method["schema"]["enum"] == list(METHODS)
    assert "ErrorOut" in spec["components"]["schemas"]
    assert "AnalysisOut" in json.dumps(get["responses"]["200"])
    assert "/" not in [p for p in paths if not p.startswith("/api")], "pages stay out of the API"


def _csrf(html: str) -> str:
    import re

    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "the form carries a CSRF token"
    return m.group(1)


def test_numbers_are_finite_json(client):
    text = client.get(f"/api/analysis?{KNEE}").text
    assert "NaN" not in text and "Infinity" not in text
    assert math.isfinite(json.loads(text)["result"]["estimate"])


def test_cache_is_bounded_and_sees_writes_made_elsewhere(tmp_path):
    import gc
    import time

    from acuevidence.web.cache import EvidenceState, ResultCache, settle_gc

    cache = ResultCache(max_entries=3)
    for i in range(5):
        value, hit = cache.get_or_compute(ResultCache.key("v", "k", {"i": i}), lambda i=i: i)
        assert value == i and not hit
    assert len(cache) == 3
    assert cache.get_or_compute(ResultCache.key("v", "k", {"i": 4}), lambda: -1) == (4, True)
    assert cache.get_or_compute(ResultCache.key("v", "k", {"i": 0}), lambda: -1) == (-1, False)

    reg = Registry.build(tmp_path / "evidence.sqlite")
    state = EvidenceState(reg, stamp_ttl=0.2)
    before = state.snapshot()
    reg.update("studies", "vas2004", {"n_sessions": 7}, who="cli user", why="edited elsewhere")
    assert state.snapshot() is before  # within the stamp's time to live
    time.sleep(0.25)
    after = state.snapshot()
    assert after.version == reg.version != before.version
    try:
        assert settle_gc(force=True) and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # leave the test process's collector as it was


def test_serve_parser_wires_into_a_cli():
    import argparse

    from acuevidence.cli_web import add_serve_parser

    parser = argparse.ArgumentParser(prog="acuevidence")
    add_serve_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "--port", "8123", "--database", "x.sqlite",
                              "--editors", "editors.toml"])
    assert (args.command, args.host, args.port, args.database, args.editors) == (
        "serve", "127.0.0.1", 8123, "x.sqlite", "editors.toml")


def test_an_empty_analysis_set_is_404_with_the_registry_message(client):
    q = "condition=chronic_nonspecific_lbp&comparator=nsaid%2Bother_medication&window=short"
    for path in ("/api/analysis-set", "/api/analysis-set.csv"):
        r = client.get(f"{path}?{q}")
        assert r.status_code == 404
        err = error_of(r)
        assert err["code"] == "no_trials" and "nearest available" in err["message"].lower()
