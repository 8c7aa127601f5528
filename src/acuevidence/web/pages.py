"""Server-rendered pages: home, decision aid, evidence explorer, study pages, methods, editors.

Pages are Jinja2 templates (``web/templates``, autoescaped: nothing user-supplied is ever
rendered unescaped; the only markup inserted as is are the SVG plots that
:mod:`acuevidence.report.forest` builds with every label escaped). Every number comes from the
same cached computations as the JSON API. The public pages only read; the editor area writes
through the registry's audited write path after sign-in, and every POST form carries the
session's CSRF token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..evidence.schema import DATA_TABLES
from ..evidence.vocabulary import WINDOWS
from ..meta import METHODS, TESTS
from .api import client_of, decision_params, study_filters
from .security import ApiError
from .service import PI_TYPES, TAU2_CI_TYPES, analysis_params, vocabulary

__all__ = ["render_error", "router"]

router = APIRouter(include_in_schema=False)
SPECS = {s.name: s for s in DATA_TABLES}


def _ctx(request: Request) -> Any:
    return request.app.state.ctx


def render(request: Request, template: str, status: int = 200, *, no_store: bool = False,
           **context: Any) -> HTMLResponse:
    ctx = _ctx(request)
    snap = ctx.state.fresh() or ctx.snapshot()
    session = getattr(request.state, "session", None)
    html = ctx.env.get_template(template).render(
        request_path=request.url.path, version=snap.version, session=session,
        vocab=vocabulary(), **context)
    resp = HTMLResponse(html, status_code=status)
    if session is not None:
        ctx.sessions.save(resp, session)
    if no_store or session is not None:
        resp.headers["Cache-Control"] = "no-store"
    return resp


def render_error(request: Request, status: int, code: str, message: str, field: str | None,
                 headers: dict[str, str]) -> HTMLResponse:
    """The error shape as an HTML page, for browsers (the API always answers JSON)."""
    try:
        resp = render(request, "error.html.j2", status, code=code, message=message,
                      field=field)
    except Exception:  # noqa: BLE001 - reporting an error must not fail in turn
        from html import escape

        resp = HTMLResponse(f"<!DOCTYPE html><title>Error</title><p>{escape(message)}</p>",
                            status_code=status)
    for k, v in headers.items():
        resp.headers[k] = v
    return resp


def _data(request: Request, kind: str, params: dict[str, Any], compute: Any) -> Any:
    value, _, _ = _ctx(request).cached(kind, params, compute, client_of(request))
    return value


# ------------------------------------------------------------------------------------------------
# Public pages
# ------------------------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    from .questions import home_answers

    ctx = _ctx(request)
    data = _data(request, "home", {}, lambda snap: home_answers(ctx.report()))
    return render(request, "home.html.j2", data=data)


@router.get("/decision-aid", response_class=HTMLResponse)
def decision_page(request: Request, site: str = "", duration: str = "chronic",
                  comparator: str = "sham", window: str = "auto") -> HTMLResponse:
    from .decision import DURATIONS, PAIN_SITES

    data = None
    if site:
        params = decision_params(site, duration, comparator, window)
        ctx = _ctx(request)
        data = _data(request, "decision", params, lambda snap: ctx.decision(snap, params))
    return render(request, "decision.html.j2", data=data, sites=PAIN_SITES,
                  durations=DURATIONS, form={"site": site, "duration": duration,
                                             "comparator": comparator, "window": window},
                  windows=WINDOWS)


def _explorer_context(request: Request, q: dict[str, str]) -> dict[str, Any]:
    from .service import forest_plot, pooled_answer, run_analysis, trial_rows

    filters = study_filters(q.get("condition") or None, q.get("comparator") or None,
                            q.get("outcome") or None, q.get("window") or None,
                            q.get("risk_of_bias") or None)
    rows = _data(request, "studies-page", filters,
                 lambda snap: trial_rows(snap.tables, **filters))
    analysis = plot = None
    complete = all(q.get(k) for k in ("condition", "comparator", "outcome", "window"))
    if complete:
        p = analysis_params(condition=q["condition"], comparator=q["comparator"],
                            outcome=q["outcome"], window=q["window"],
                            method=q.get("method") or "REML", test=q.get("test") or "z",
                            level=q.get("level") or 0.95, tau2_ci=q.get("tau2_ci") or "QP",
                            pi_type=q.get("pi_type") or "default")
        analysis = _data(request, "analysis-page", p.as_dict(),
                         lambda snap: pooled_answer(snap.tables, snap.version, p))
        if analysis["available"]:
            plot = _data(request, "forest-page", p.as_dict(),
                         lambda snap: forest_plot(run_analysis(snap.tables, p)))
    return {"q": q, "rows": rows, "analysis": analysis, "plot": plot, "complete": complete,
            "methods": METHODS, "tests": TESTS, "pi_types": PI_TYPES,
            "tau2_ci_types": TAU2_CI_TYPES}


_EXPLORER_KEYS = ("condition", "comparator", "outcome", "window", "risk_of_bias", "method",
                  "test", "level", "tau2_ci", "pi_type")


def _query(request: Request) -> dict[str, str]:
    return {k: str(request.query_params.get(k, ""))[:200] for k in _EXPLORER_KEYS}


@router.get("/explorer", response_class=HTMLResponse)
def explorer(request: Request) -> HTMLResponse:
    from markupsafe import Markup

    c = _explorer_context(request, _query(request))
    c["plot"] = Markup(c["plot"]) if c["plot"] else None
    return render(request, "explorer.html.j2", **c)


@router.get("/explorer/analysis", response_class=HTMLResponse)
def explorer_fragment(request: Request) -> HTMLResponse:
    """The analysis section alone (the page's script swaps it in when the estimator changes)."""
    from markupsafe import Markup

    c = _explorer_context(request, _query(request))
    if not c["complete"]:
        raise ApiError(400, "invalid_input", "Choose a condition, comparator, outcome and "
                       "window first.", "condition")
    c["plot"] = Markup(c["plot"]) if c["plot"] else None
    return render(request, "_analysis.html.j2", **c)


@router.get("/studies/{study_id}", response_class=HTMLResponse)
def study_page(request: Request, study_id: str) -> HTMLResponse:
    from .service import study_detail

    d = _data(request, "study-page", {"id": study_id[:200]},
              lambda snap: study_detail(snap.tables, study_id[:200]) or {})
    if not d:
        raise ApiError(404, "not_found", f"No study with study_id {study_id[:80]!r}.",
                       "study_id")
    return render(request, "study.html.j2", d=d)


@router.get("/methods", response_class=HTMLResponse)
def methods(request: Request) -> HTMLResponse:
    from ..report.certainty import TYPICAL_SD_0_100
    from .decision import MID_POINTS

    return render(request, "methods.html.j2", mid=MID_POINTS, typical_sd=TYPICAL_SD_0_100)


@router.get("/api-docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    spec = request.app.openapi()
    ops = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            params = [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                       "enum": p.get("schema", {}).get("enum"),
                       "description": p.get("description", "")}
                      for p in op.get("parameters", [])]
            ops.append({"method": method.upper(), "path": path,
                        "summary": op.get("summary", ""), "params": params,
                        "auth": bool(op.get("security"))})
    return render(request, "api_docs.html.j2", ops=ops)


# ------------------------------------------------------------------------------------------------
# Editor area
# ------------------------------------------------------------------------------------------------
def _session(request: Request) -> Any:
    return _ctx(request).sessions.load(request)


def _editor(request: Request) -> str | None:
    s = _session(request)
    if s.editor and s.editor in _ctx(request).editors.by_name:
        return s.editor
    return None


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def _form(request: Request) -> dict[str, str]:
    """The POSTed form, after the CSRF check (403 without the session's token)."""
    form = await request.form()
    data = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    session = _session(request)
    _ctx(request).sessions.check_csrf(session, data.get("csrf_token"))
    return data


@router.get("/editor/login", response_class=HTMLResponse)
def login_page(request: Request, failed: str = "") -> HTMLResponse:
    _session(request)
    return render(request, "login.html.j2", failed=bool(failed),
                  has_editors=len(_ctx(request).editors) > 0)


@router.post("/editor/login")
async def login(request: Request) -> Response:
    ctx = _ctx(request)
    data = await _form(request)
    ctx.limiter.check("login", client_of(request))
    name, password = data.get("name", "")[:200], data.get("password", "")[:1000]
    ed = await run_in_threadpool(ctx.editors.verify_password, name, password)
    if ed is None:
        return _redirect("/editor/login?failed=1")
    session = _session(request)
    ctx.sessions.sign_in(session, ed.name)
    resp = _redirect("/editor")
    ctx.sessions.save(resp, session)
    return resp


@router.post("/editor/logout")
async def logout(request: Request) -> Response:
    await _form(request)
    session = _session(request)
    _ctx(request).sessions.sign_out(session)
    resp = _redirect("/")
    _ctx(request).sessions.save(resp, session)
    return resp


def _need_editor(request: Request) -> str:
    who = _editor(request)
    if who is None:
        raise ApiError(401, "unauthorized", "Sign in as an editor first (/editor/login). The "
                       "public site is read-only.", None)
    return who


@router.get("/editor", response_class=HTMLResponse, response_model=None)
def editor_home(request: Request) -> Response:
    if _editor(request) is None:
        return _redirect("/editor/login")
    hist = _ctx(request).registry.history()
    recent = hist.tail(50).iloc[::-1].to_dict(orient="records")
    return render(request, "editor.html.j2", recent=recent, tables=list(SPECS),
                  no_store=True)


@router.get("/editor/row", response_class=HTMLResponse)
def editor_row(request: Request, table: str, row_id: str, done: str = "") -> HTMLResponse:
    _need_editor(request)
    spec = _spec(table)
    reg = _ctx(request).registry
    row = reg.get(table, row_id[:200])
    if row is None:
        raise ApiError(404, "not_found", f"{table}: no row with {spec.key} {row_id[:80]!r}.",
                       "row_id")
    hist = reg.history(table, row_id).iloc[::-1].to_dict(orient="records")
    return render(request, "editor_row.html.j2", table=table, spec=spec, row=row,
                  history=hist, done=done[:20], no_store=True)


@router.get("/editor/new", response_class=HTMLResponse)
def editor_new(request: Request, table: str) -> HTMLResponse:
    _need_editor(request)
    return render(request, "editor_new.html.j2", table=table, spec=_spec(table),
                  no_store=True)


def _spec(table: str) -> Any:
    if table not in SPECS:
        raise ApiError(404, "not_found", f"Unknown table {table[:40]!r}; tables are "
                       f"{', '.join(SPECS)}.", "table")
    return SPECS[table]


async def _write(request: Request, action: str) -> Response:
    ctx = _ctx(request)
    data = await _form(request)
    who = _need_editor(request)
    ctx.limiter.check("write", client_of(request))
    table = data.get("table", "")
    spec = _spec(table)
    why = data.get("why", "")
    row_id = data.get("row_id", "")

    def do() -> str:
        reg = ctx.registry
        if action == "add":
            values = {c: data[f"field_{c}"] for c in spec.columns if data.get(f"field_{c}")}
            return reg.add(table, values, who=who, why=why)
        if action == "edit":
            changed = {c: (data.get(f"field_{c}") or None) for c in spec.columns
                       if c not in (spec.key, "status") and f"field_{c}" in data
                       and (data.get(f"field_{c}") or "") != (data.get(f"expect_{c}") or "")}
            expected = {c: (data.get(f"expect_{c}") or None) for c in changed}
            return reg.update(table, row_id, changed, who=who, why=why, expected=expected)
        if action == "retract":
            return reg.retract(table, row_id, who=who, why=why)
        return reg.restore(table, row_id, who=who, why=why)

    rid = await run_in_threadpool(do)
    ctx.after_write()
    return _redirect("/editor/row?" + urlencode({"table": table, "row_id": rid,
                                                 "done": action}))


@router.post("/editor/add")
async def editor_add(request: Request) -> Response:
    return await _write(request, "add")


@router.post("/editor/edit")
async def editor_edit(request: Request) -> Response:
    return await _write(request, "edit")


@router.post("/editor/retract")
async def editor_retract(request: Request) -> Response:
    return await _write(request, "retract")


@router.post("/editor/restore")
async def editor_restore(request: Request) -> Response:
    return await _write(request, "restore")


# ------------------------------------------------------------------------------------------------
# Claim checker: paste a page's text or upload a saved file (the server never fetches URLs)
# ------------------------------------------------------------------------------------------------
CHECK_MAX_BYTES = 5 * 1024 * 1024  # the checker's own limit (acuevidence.checker)


@router.get("/check", response_class=HTMLResponse)
def check_page(request: Request) -> HTMLResponse:
    _session(request)
    return render(request, "check.html.j2", report=None, error=None)


@router.post("/check", response_class=HTMLResponse)
async def check_submit(request: Request) -> HTMLResponse:
    from ..checker import check_text
    from ..errors import InputError

    ctx = _ctx(request)
    ctx.limiter.check("check", client_of(request))
    form = await request.form()
    session = _session(request)
    ctx.sessions.check_csrf(session, str(form.get("csrf_token") or ""))
    kind = "text/html" if form.get("kind") == "html" else "text/plain"
    upload = form.get("page")
    raw: bytes | str = ""
    name = None
    if upload is not None and not isinstance(upload, str) and getattr(upload, "filename", ""):
        raw = await upload.read(CHECK_MAX_BYTES + 1)
        name = str(upload.filename)[:200]
        if name.lower().endswith((".html", ".htm")):
            kind = "text/html"
    else:
        raw = str(form.get("text") or "")
    if not raw:
        return render(request, "check.html.j2", 400, report=None,
                      error="Paste the page's text or choose a saved file.", no_store=True)
    try:
        report = await run_in_threadpool(check_text, raw, content_type=kind, source=name)
    except InputError as e:
        return render(request, "check.html.j2", 400, report=None, error=str(e), no_store=True)
    return render(request, "check.html.j2", report=report.to_dict(), error=None, no_store=True)


# ------------------------------------------------------------------------------------------------
# Network meta-analyses (acupuncture against every alternative at once)
# ------------------------------------------------------------------------------------------------
def networks_data(snap: Any) -> list[dict[str, Any]]:
    """The registry's evidence networks as plain data (SVG strings, texts, the result dict)."""
    import warnings

    from ..network import evidence_networks

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nets = evidence_networks(snap.tables)
    return [{"name": name, "title": n.title, "contents": n.contents,
             "indirectness": n.indirectness, "inconsistency": n.inconsistency_text,
             "graph_svg": n.graph_svg() or "", "forest_svg": n.forest_svg() or "",
             "data": n.to_dict()} for name, n in sorted(nets.items())]


@router.get("/networks", response_class=HTMLResponse)
def networks_page(request: Request) -> HTMLResponse:
    from markupsafe import Markup

    nets = _data(request, "networks", {}, networks_data)
    view = [{**n, "graph": Markup(n["graph_svg"]), "forest": Markup(n["forest_svg"])}
            for n in nets]
    return render(request, "networks.html.j2", networks=view)
