"""Security of the web app: headers, CSP, escaping, CSRF, sessions, passwords, tokens, rate limits,
one error shape and no stack traces."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (pip install -e '.[web]')")

from fastapi.testclient import TestClient

from acuevidence.errors import InputError
from acuevidence.evidence.store import Registry
from acuevidence.web import create_app
from acuevidence.web.auth import SESSION_COOKIE, Editors, hash_password, new_token
from acuevidence.web.security import CSP

PASSWORD = "correct horse battery staple"
KNEE = "condition=knee_oa&comparator=sham&outcome=pain&window=immediate"
XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"
HTML = {"Accept": "text/html"}
PAGES = ("/", "/decision-aid", "/decision-aid?site=knee_oa&duration=chronic&comparator=sham",
         "/decision-aid?site=low_back&duration=subacute&comparator=sham",
         f"/explorer?{KNEE}", "/explorer", "/studies/brinkhaus2006", "/methods", "/api-docs",
         "/editor/login")


@pytest.fixture(scope="module")
def editors():
    token, token_hash = new_token()
    return token, {"alice": {"password_hash": hash_password(PASSWORD),
                             "token_hashes": [token_hash]}}


@pytest.fixture(scope="module")
def client(tmp_path_factory, editors):
    reg = Registry.build(tmp_path_factory.mktemp("websec") / "evidence.sqlite")
    app = create_app(reg, secret_key="s" * 32, editors=editors[1],
                     rate_limits={"compute": (1e6, 1e6), "login": (1e6, 1e6)})
    with TestClient(app) as c:
        yield c


@pytest.fixture
def fresh(tmp_path, editors):
    reg = Registry.build(tmp_path / "evidence.sqlite")
    app = create_app(reg, secret_key="s" * 32, editors=editors[1], stamp_ttl=0,
                     rate_limits={"compute": (1e6, 1e6)})
    with TestClient(app) as c:
        yield c, reg, editors[0]


def error_of(resp):
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    return body["error"]


# ------------------------------------------------------------------------------------------------
# Headers and CSP
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", f"/api/analysis?{KNEE}", "/nope", "/static/site.css",
                                  f"/api/analysis/forest.svg?{KNEE}", "/openapi.json"])
def test_security_headers_on_every_response(client, path):
    r = client.get(path)
    h = r.headers
    assert h["content-security-policy"] == CSP
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-frame-options"] == "DENY"
    assert "server-timing" in h


def test_csp_is_strict():
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP and "*" not in CSP
    assert "http" not in CSP  # no external origins (no CDNs)


class _Audit(HTMLParser):
    """Collects what a strict CSP would block: inline scripts and styles, event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.labels: set[str] = set()
        self.controls: list[str] = []
        self._script_src: bool | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self._script_src = bool(a.get("src"))
            if not a.get("src"):
                self.problems.append("inline <script>")
            elif not a["src"].startswith("/static/"):
                self.problems.append(f"external script {a['src']}")
        if tag == "style":
            self.problems.append("inline <style>")
        if tag == "link" and a.get("href", "").startswith(("http:", "https:", "//")):
            self.problems.append(f"external resource {a['href']}")
        for name in a:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"{name}= on <{tag}>")
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append(a.get("id") or f"<{tag} name={a.get('name')}>")


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_code_and_label_every_control(client, path):
    r = client.get(path, headers=HTML)
    assert r.status_code == 200, r.text[:300]
    audit = _Audit()
    audit.feed(r.text)
    assert audit.problems == []
    unlabelled = [c for c in audit.controls if c not in audit.labels]
    assert unlabelled == []


# ------------------------------------------------------------------------------------------------
# Escaping
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [
    f"/explorer?condition={XSS}&comparator=sham&outcome=pain&window=short",
    f"/decision-aid?site={XSS}", f"/studies/{XSS}", f"/explorer?comparator={XSS}"])
def test_reflected_input_is_escaped(client, path):
    r = client.get(path, headers=HTML)
    assert r.status_code in (400, 404, 422)
    # The payload may appear as text, never as markup.
    assert "<script>alert" not in r.text and "<img src=x" not in r.text


def test_stored_input_is_escaped_everywhere(fresh):
    c, _, token = fresh
    auth = {"Authorization": f"Bearer {token}"}
    r = c.patch("/api/editor/studies/sangdee2002", headers=auth,
                json={"values": {"label": XSS}, "why": "escaping test"})
    assert r.status_code == 200, r.text
    r = c.patch("/api/editor/sources/bmccomplementalternmed_biomedcentral_com_01",
                headers=auth, json={"values": {"url": "javascript:alert(1)"}, "why": "test"})
    assert r.status_code in (200, 400, 404)
    for path in ("/studies/sangdee2002", f"/explorer?{KNEE}", "/explorer?condition=knee_oa",
                 "/decision-aid?site=knee_oa&duration=chronic&comparator=sham"):
        page = c.get(path, headers=HTML).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert 'href="javascript:' not in page
    svg = c.get(f"/api/analysis/forest.svg?{KNEE}").text
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    history = c.get("/editor/row?table=studies&row_id=sangdee2002", headers=HTML)
    assert history.status_code == 401  # not signed in: the editor pages need a session


# ------------------------------------------------------------------------------------------------
# CSRF, sessions, passwords, tokens
# ------------------------------------------------------------------------------------------------
def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


def _sign_in(c) -> str:
    csrf = _csrf(c.get("/editor/login").text)
    r = c.post("/editor/login", data={"name": "alice", "password": PASSWORD,
                                      "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/editor"
    return _csrf(c.get("/editor").text)


def test_post_without_csrf_token_is_refused(fresh):
    c, reg, _ = fresh
    r = c.post("/editor/login", data={"name": "alice", "password": PASSWORD})
    assert r.status_code == 403 and error_of(r)["code"] == "csrf_failed"
    csrf = _sign_in(c)
    data = {"table": "studies", "row_id": "brinkhaus2006", "field_year": "1999",
            "expect_year": "2006", "why": "csrf test"}
    for token in (None, "forged", csrf[:-2] + "xx"):
        form = dict(data, **({"csrf_token": token} if token else {}))
        r = c.post("/editor/edit", data=form)
        assert r.status_code == 403, token
    assert reg.history().empty
    r = c.post("/editor/edit", data=dict(data, csrf_token=csrf), follow_redirects=False)
    assert r.status_code == 303 and len(reg.history()) == 1


def test_token_from_another_session_is_refused(fresh):
    c, _, _ = fresh
    other = _csrf(c.get("/editor/login").text)
    c.cookies.clear()
    c.get("/editor/login")  # a new session with its own token
    r = c.post("/editor/login", data={"name": "alice", "password": PASSWORD,
                                      "csrf_token": other})
    assert r.status_code == 403


def test_session_cookie_is_signed_httponly_and_strict(fresh):
    c, _, _ = fresh
    r = c.get("/editor/login")
    cookie = r.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    _sign_in(c)
    assert c.get("/editor", follow_redirects=False).status_code == 200
    value = c.cookies.get(SESSION_COOKIE)
    c.cookies.clear()
    ok = c.get("/editor", headers={"Cookie": f"{SESSION_COOKIE}={value}"},
               follow_redirects=False)
    assert ok.status_code == 200
    # the payload is readable (signed, not encrypted): change the editor's name, keep the signature
    import base64

    payload, _, sig = value.partition(".")
    forged = base64.urlsafe_b64encode(base64.urlsafe_b64decode(payload + "==")
                                      .replace(b"alice", b"admin")).rstrip(b"=").decode()
    for bad in (value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"),
                f"{forged}.{sig}"):
        r = c.get("/editor", headers={"Cookie": f"{SESSION_COOKIE}={bad}"},
                  follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/editor/login"


def test_wrong_password_and_sign_out(fresh):
    c, _, _ = fresh
    csrf = _csrf(c.get("/editor/login").text)
    r = c.post("/editor/login", data={"name": "alice", "password": "wrong", "csrf_token": csrf},
               follow_redirects=False)
    assert r.headers["location"] == "/editor/login?failed=1"
    assert c.get("/editor", follow_redirects=False).status_code == 303
    csrf = _sign_in(c)
    r = c.post("/editor/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/editor", follow_redirects=False).status_code == 303


def test_passwords_and_tokens_are_hashed_at_rest(tmp_path):
    h = hash_password(PASSWORD)
    assert h.startswith("$argon2id$") and PASSWORD not in h
    token, th = new_token()
    assert th.startswith("sha256:") and token not in th
    f = tmp_path / "editors.toml"
    f.write_text(f'[alice]\npassword_hash = "{h}"\ntoken_hashes = ["{th}"]\n')
    eds = Editors.load(f)
    assert eds.verify_password("alice", PASSWORD).name == "alice"
    assert eds.verify_password("alice", "nope") is None
    assert eds.verify_password("mallory", PASSWORD) is None
    assert eds.verify_token(token).name == "alice" and eds.verify_token("x" * 43) is None
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"bob": "hunter2"}))
    with pytest.raises(InputError, match="never in plain text"):
        Editors.load(plain)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"bob": {"token_hashes": ["hunter2"]}}))
    with pytest.raises(InputError, match="sha256"):
        Editors.load(bad)


def test_every_write_route_refuses_anonymous_requests(client):
    """No route that changes anything answers an anonymous request with success."""
    from fastapi.routing import APIRoute

    def walk(routes):
        for r in routes:
            inner = getattr(r, "original_router", None)  # included routers (FastAPI >= 0.16x)
            yield from walk(inner.routes) if inner is not None else [r]

    routes = [r for r in walk(client.app.routes) if isinstance(r, APIRoute)
              and r.methods & {"POST", "PUT", "PATCH", "DELETE"}]
    assert len(routes) >= 9
    for route in routes:
        path = route.path.replace("{table}", "outcomes").replace("{row_id}", "x")
        for method in route.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            r = client.request(method, path, json={"values": {}, "why": "x"})
            assert r.status_code in (401, 403), (method, path, r.status_code)
            assert error_of(r)["code"] in ("unauthorized", "csrf_failed")


def test_the_public_site_has_no_write_methods(client):
    for path in ("/", "/explorer", "/api/analysis", "/api/studies"):
        r = client.post(path)
        assert r.status_code == 405 and error_of(r)["code"] == "method_not_allowed"


# ------------------------------------------------------------------------------------------------
# Rate limits, errors, stack traces
# ------------------------------------------------------------------------------------------------
def test_rate_limit_on_expensive_work(tmp_path):
    reg = Registry.build(tmp_path / "evidence.sqlite")
    app = create_app(reg, secret_key="s" * 32, rate_limits={"compute": (0.001, 3)})
    with TestClient(app) as c:
        windows = ["immediate", "short", "intermediate", "long"]
        codes = [c.get(f"/api/analysis?condition=knee_oa&comparator=sham&window={w}")
                 .status_code for w in windows]
        assert codes[:3] == [200, 200, 200] and codes[3] == 429
        r = c.get("/api/analysis?condition=knee_oa&comparator=sham&window=long")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert error_of(r)["code"] == "rate_limited"
        # answers already computed stay available: the limit only charges new computations
        cached = c.get("/api/analysis?condition=knee_oa&comparator=sham&window=immediate")
        assert cached.status_code == 200 and cached.headers["x-cache"] == "hit"


def test_rate_limit_on_sign_in(tmp_path, editors):
    reg = Registry.build(tmp_path / "evidence.sqlite")
    app = create_app(reg, secret_key="s" * 32, editors=editors[1],
                     rate_limits={"login": (0.001, 2)})
    with TestClient(app) as c:
        csrf = _csrf(c.get("/editor/login").text)
        codes = [c.post("/editor/login", data={"name": "alice", "password": "guess",
                                               "csrf_token": csrf},
                        follow_redirects=False).status_code for _ in range(3)]
        assert codes == [303, 303, 429]


def test_an_internal_error_reveals_nothing(client, monkeypatch):
    from acuevidence.web import service

    def boom(*a, **k):
        raise RuntimeError("secret detail /etc/passwd")

    monkeypatch.setattr(service, "pooled_answer", boom)
    for headers in ({}, HTML):
        r = client.get("/api/analysis?condition=hip_oa&comparator=sham&window=long",
                       headers=headers)
        assert r.status_code == 500
        err = error_of(r)
        assert err["code"] == "internal_error"
        assert "secret" not in r.text and "Traceback" not in r.text and "passwd" not in r.text
        assert r.headers["content-security-policy"] == CSP
    r = client.get("/explorer?condition=hip_oa&comparator=sham&outcome=pain&window=long",
                   headers=HTML)
    assert r.status_code == 500 and "secret" not in r.text and "Traceback" not in r.text


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/nope", 404, "not_found"),
    ("GET", "/api/nope", 404, "not_found"),
    ("DELETE", "/api/analysis", 405, "method_not_allowed"),
    ("GET", "/api/analysis", 422, "invalid_parameter"),
    ("GET", "/api/studies?window=eventually", 400, "invalid_input"),
    ("GET", "/api/editor/history", 401, "unauthorized"),
])
def test_one_error_shape(client, method, path, status, code):
    r = client.request(method, path)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/json")
    assert error_of(r)["code"] == code


def test_browsers_get_the_error_as_a_page(client):
    r = client.get("/nope", headers=HTML)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert 'data-code="not_found"' in r.text


def test_large_bodies_are_refused(client):
    r = client.post("/editor/login", content=b"x" * 2_000_001,
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"


def test_cli_prints_a_password_hash_and_a_token(monkeypatch, capsys):
    import io

    from acuevidence.cli_web import main

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["--hash-password"]) == 0
    h = capsys.readouterr().out.strip()
    assert h.startswith("$argon2id$")
    assert Editors.load({"zoe": h}).verify_password("zoe", PASSWORD) is not None
    assert main(["--new-token"]) == 0
    out = capsys.readouterr().out
    token = re.search(r"token \(.*\): (\S+)", out).group(1)
    digest = re.search(r'token_hashes = \["(sha256:[0-9a-f]{64})"\]', out).group(1)
    eds = Editors.load({"zoe": {"password_hash": h, "token_hashes": [digest]}})
    assert eds.verify_token(token).name == "zoe"
    assert main(["--port", "0"]) == 2
    assert "--port" in capsys.readouterr().err
