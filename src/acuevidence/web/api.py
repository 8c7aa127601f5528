"""The JSON API under ``/api``: every page's data, documented by OpenAPI (``/openapi.json``).

Read endpoints are public and cached by evidence version and parameters (``X-Cache: hit|miss``);
a miss is charged to the client's "compute" rate limit. Writes go through the registry's audited
write path and need an editor's API token (``Authorization: Bearer <token>``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .. import __version__
from ..evidence.schema import DATA_TABLES
from ..evidence.vocabulary import ARM_TYPES, CONDITIONS, OUTCOMES, SHAM_TYPES, WINDOWS
from ..meta import METHODS, TESTS
from ..report.builder import COMPARATORS as REPORT_COMPARATORS
from . import models as m
from .security import ApiError
from .service import (
    MEASURES,
    PI_TYPES,
    ROB_FILTERS,
    TAU2_CI_TYPES,
    AnalysisParams,
    analysis_params,
    parse_comparator,
    parse_condition,
)

__all__ = ["router"]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": m.ErrorOut, "description": desc} for code, desc in (
        (400, "invalid input (the message names the parameter)"),
        (404, "not found"), (422, "invalid parameter"), (429, "rate limited"),
        (500, "internal error (no details are sent)"))}
WRITE_ERRORS = {**ERRORS, 401: {"model": m.ErrorOut, "description": "no or wrong API token"},
                409: {"model": m.ErrorOut, "description": "someone else changed the row"}}

router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)
bearer = HTTPBearer(auto_error=False, description="an editor's API token")
TABLES = tuple(s.name for s in DATA_TABLES)
# Documented comparator values: the report's comparator groups, every arm type and sham type.
# The server also accepts any other '+'-joined group of arm types (validated term by term).
COMPARATORS = tuple(dict.fromkeys(
    ["+".join(g) for g in REPORT_COMPARATORS]
    + [a for a in ARM_TYPES if a != "acupuncture"] + [f"sham:{s}" for s in SHAM_TYPES]))


def _enum(values: Any) -> dict[str, Any]:
    return {"enum": list(values)}


# Query parameters shared by the analysis endpoints (documented enums; validated by the library).
def _analysis_query(
    condition: str = Query(..., max_length=60, json_schema_extra=_enum(CONDITIONS),
                           description="vocabulary CONDITIONS term"),
    comparator: str = Query(..., max_length=200, json_schema_extra=_enum(COMPARATORS),
                            description="arm type, 'sham:<sham type>', or a group joined with "
                                        "'+' (nsaid+other_medication)"),
    outcome: str = Query("pain", max_length=40, json_schema_extra=_enum(OUTCOMES)),
    window: str = Query("short", max_length=20, json_schema_extra=_enum(WINDOWS)),
    method: str = Query("REML", max_length=40, json_schema_extra=_enum(METHODS),
                        description="tau^2 estimator or EE/FE/CE (readable names accepted)"),
    test: str = Query("z", max_length=20, json_schema_extra=_enum(TESTS)),
    level: float = Query(0.95, ge=0.5, lt=100, description="0.95 or 95"),
    tau2_ci: str = Query("QP", max_length=10, json_schema_extra=_enum(TAU2_CI_TYPES)),
    pi_type: str = Query("default", max_length=10, json_schema_extra=_enum(PI_TYPES)),
    measure: str | None = Query(None, max_length=5, json_schema_extra=_enum(MEASURES)),
    multi_arm: str = Query("split", max_length=10, json_schema_extra=_enum(("split",
                                                                              "combine"))),
    include_low_confidence: bool = Query(False),
) -> AnalysisParams:
    return analysis_params(condition=condition, comparator=comparator, outcome=outcome,
                           window=window, method=method, test=test, level=level,
                           tau2_ci=tau2_ci, pi_type=pi_type, measure=measure,
                           multi_arm=multi_arm, include_low_confidence=include_low_confidence)


Params = Annotated[AnalysisParams, Depends(_analysis_query)]


def _ctx(request: Request) -> Any:
    return request.app.state.ctx


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _json(value: bytes, hit: bool, version: str, status: int = 200) -> Response:
    return Response(value, status_code=status, media_type="application/json",
                    headers={"X-Cache": "hit" if hit else "miss",
                             "X-Evidence-Version": version})


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()


async def _cached(request: Request, kind: str, params: dict[str, Any], compute: Any,
                  media_type: str = "application/json") -> Response:
    """Serve a cached answer straight from memory, else compute it in the thread pool."""
    ctx = _ctx(request)
    got = ctx.peek(kind, params)
    if got is not None:
        value, version, hit = got[0], got[1], True
    else:
        value, hit, version = await run_in_threadpool(ctx.cached, kind, params, compute,
                                                      client_of(request))
    return Response(value, media_type=media_type,
                    headers={"X-Cache": "hit" if hit else "miss", "X-Evidence-Version": version})


def _links(p: AnalysisParams) -> dict[str, str]:
    q = p.query()
    return {"self": f"/api/analysis?{q}", "forest_svg": f"/api/analysis/forest.svg?{q}",
            "funnel_svg": f"/api/analysis/funnel.svg?{q}", "csv": f"/api/analysis-set.csv?{q}",
            "analysis_set": f"/api/analysis-set?{q}", "page": f"/explorer?{q}"}


# ------------------------------------------------------------------------------------------------
# Read endpoints
# ------------------------------------------------------------------------------------------------
@router.get("/version", response_model=m.VersionOut, summary="The evidence version")
async def version(request: Request) -> Any:
    snap = await run_in_threadpool(_ctx(request).snapshot)
    return {"evidence_version": snap.version, "software_version": __version__,
            "database": _ctx(request).database_kind}


@router.get("/vocabulary", response_model=m.VocabularyOut, summary="Terms to choose from")
async def vocabulary_terms() -> Any:
    from .service import vocabulary

    return vocabulary()


@router.get("/questions", response_model=m.QuestionsOut,
            summary="The patients' questions, answered (the home page)")
async def questions(request: Request) -> Response:
    from .questions import home_answers

    ctx = _ctx(request)

    def compute(snap: Any) -> bytes:
        data, _, _ = ctx.cached("home", {}, lambda s: home_answers(ctx.report()), "-",
                                limit=False)
        return _dumps(data)

    return await _cached(request, "home.json", {}, compute)


@router.get("/studies", response_model=m.StudyListOut, summary="Trials, filtered")
async def studies(
    request: Request,
    condition: str | None = Query(None, max_length=60, json_schema_extra=_enum(CONDITIONS)),
    comparator: str | None = Query(None, max_length=200, json_schema_extra=_enum(COMPARATORS)),
    outcome: str | None = Query(None, max_length=40, json_schema_extra=_enum(OUTCOMES)),
    window: str | None = Query(None, max_length=20, json_schema_extra=_enum(WINDOWS)),
    risk_of_bias: str | None = Query(None, max_length=20, json_schema_extra=_enum(ROB_FILTERS)),
) -> Response:
    f = study_filters(condition, comparator, outcome, window, risk_of_bias)

    def compute(snap: Any) -> bytes:
        from .service import trial_rows

        rows = trial_rows(snap.tables, **f)
        return _dumps({"evidence_version": snap.version, "count": len(rows), "studies": rows})

    return await _cached(request, "studies", f, compute)


def study_filters(condition: str | None, comparator: str | None, outcome: str | None,
                  window: str | None, rob: str | None) -> dict[str, Any]:
    """Validated explorer filters (empty strings mean 'any')."""
    from ..errors import InputError
    from ..evidence.vocabulary import check_term

    out: dict[str, Any] = {"condition": parse_condition(condition) if condition else None,
                           "comparator": parse_comparator(comparator) if comparator else None,
                           "outcome": None, "window": None, "rob": None}
    if outcome:
        try:
            out["outcome"] = check_term("OUTCOMES", outcome)
        except InputError as e:
            raise InputError(f"outcome: {e}", column="outcome") from None
    if window:
        if window not in WINDOWS:
            raise InputError(f"window: must be one of {', '.join(WINDOWS)}.", column="window")
        out["window"] = window
    if rob:
        if rob not in ROB_FILTERS:
            raise InputError(f"risk_of_bias: must be one of {', '.join(ROB_FILTERS)}.",
                             column="risk_of_bias")
        out["rob"] = rob
    return out


@router.get("/studies/{study_id}", response_model=m.StudyDetailOut,
            summary="One study with all its data and sources")
async def study(request: Request, study_id: str = Path(..., max_length=200)) -> Response:
    def compute(snap: Any) -> bytes:
        from .service import study_detail

        d = study_detail(snap.tables, study_id)
        return b"" if d is None else _dumps({"evidence_version": snap.version, **d})

    resp = await _cached(request, "study", {"id": study_id}, compute)
    if not resp.body:
        raise ApiError(404, "not_found", f"No study with study_id {study_id[:80]!r}.",
                       "study_id")
    return resp


@router.get("/analysis", response_model=m.AnalysisOut,
            summary="Pooled result, certainty with reasons, statement, absolute effects")
async def analysis(request: Request, p: Params) -> Response:
    ctx = _ctx(request)

    def compute(snap: Any) -> bytes:
        from .service import pooled_answer

        data, _, _ = ctx.cached("analysis-page", p.as_dict(),
                                lambda s: pooled_answer(s.tables, s.version, p), "-",
                                limit=False)
        return _dumps({**data, "links": _links(p)})

    return await _cached(request, "analysis", p.as_dict(), compute)


@router.get("/analysis-set", response_model=m.AnalysisSetOut,
            summary="The analysis set: effect sizes with provenance and the decision log")
async def analysis_set(request: Request,
                       p: Params) -> Response:
    def compute(snap: Any) -> bytes:
        from .service import analysis_set_answer

        return _dumps(analysis_set_answer(snap.tables, p))

    return await _cached(request, "analysis-set", _set_key(p), compute)


def _set_key(p: AnalysisParams) -> dict[str, Any]:
    d = p.as_dict()
    return {k: d[k] for k in ("condition", "comparator", "outcome", "window", "measure",
                              "multi_arm", "include_low_confidence")}


@router.get("/analysis-set.csv", summary="The analysis set as metafor-ready CSV",
            response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "CSV for R"}})
async def analysis_set_csv(request: Request,
                           p: Params) -> Response:
    def compute(snap: Any) -> bytes:
        from .service import analysis_set_csv as csv_text

        return csv_text(snap.tables, p).encode()

    resp = await _cached(request, "analysis-set.csv", _set_key(p), compute,
                         media_type="text/csv; charset=utf-8")
    name = f"{p.condition}-{'+'.join(p.comparator)}-{p.outcome}-{p.window}.csv".replace(":", "_")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


def _plot(kind: str) -> Any:
    async def endpoint(request: Request, p: Params) -> Response:
        def compute(snap: Any) -> bytes:
            from ..report.builder import FUNNEL_MIN_K
            from .service import forest_plot, funnel_plot, run_analysis

            a = run_analysis(snap.tables, p)
            if not a.available:
                return _dumps({"missing": a.finding.empty_message})
            if kind == "funnel" and a.result.k < FUNNEL_MIN_K:
                return _dumps({"missing": f"A funnel plot needs at least {FUNNEL_MIN_K} "
                                          f"trials; this analysis has {a.result.k}."})
            return (forest_plot(a) if kind == "forest" else funnel_plot(a)).encode()

        resp = await _cached(request, f"{kind}.svg", p.as_dict(), compute,
                             media_type="image/svg+xml")
        if resp.body.startswith(b"{"):
            raise ApiError(404, "no_plot", json.loads(resp.body)["missing"], "condition")
        return resp

    endpoint.__name__ = f"{kind}_svg"
    return endpoint


router.add_api_route("/analysis/forest.svg", _plot("forest"), methods=["GET"],
                     summary="Forest plot (SVG)", response_class=Response,
                     responses={200: {"content": {"image/svg+xml": {}}}})
router.add_api_route("/analysis/funnel.svg", _plot("funnel"), methods=["GET"],
                     summary="Funnel plot (SVG; needs at least 10 trials)",
                     response_class=Response,
                     responses={200: {"content": {"image/svg+xml": {}}}})


@router.get("/decision-aid", response_model=m.DecisionAidOut,
            summary="The decision aid's numbers for one situation")
async def decision(
    request: Request,
    site: str = Query(..., max_length=40, json_schema_extra=_enum(
        ("low_back", "sciatica", "disc_herniation", "stenosis", "hip_oa", "knee_oa",
         "knee_or_hip_oa", "plantar_fasciitis"))),
    duration: str = Query("chronic", max_length=20, json_schema_extra=_enum(
        ("acute", "subacute", "chronic", "unsure"))),
    comparator: str = Query("sham", max_length=200, json_schema_extra=_enum(COMPARATORS)),
    window: str = Query("auto", max_length=20, json_schema_extra=_enum(("auto", *WINDOWS))),
) -> Response:
    params = decision_params(site, duration, comparator, window)

    ctx = _ctx(request)

    def compute(snap: Any) -> bytes:
        data, _, _ = ctx.cached("decision", params, lambda s: ctx.decision(s, params), "-",
                                limit=False)
        return _dumps(data)

    return await _cached(request, "decision.json", params, compute)


def decision_params(site: str, duration: str, comparator: str, window: str) -> dict[str, Any]:
    from .decision import resolve_condition

    resolve_condition(site, duration)  # validates both
    comp = parse_comparator(comparator)
    if window not in ("auto", *WINDOWS):
        from ..errors import InputError

        raise InputError(f"window: must be auto or one of {', '.join(WINDOWS)}.",
                         column="window")
    return {"site": site, "duration": duration, "comparator": "+".join(comp), "window": window}


# ------------------------------------------------------------------------------------------------
# Editor endpoints (API token)
# ------------------------------------------------------------------------------------------------
def editor_from_token(request: Request,
                      creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    ctx = _ctx(request)
    if creds is None or creds.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "This needs an editor's API token "
                       "(Authorization: Bearer <token>). The public site is read-only.", None,
                       {"WWW-Authenticate": "Bearer"})
    ctx.limiter.check("login", client_of(request), cost=0.2)
    ed = ctx.editors.verify_token(creds.credentials)
    if ed is None:
        ctx.limiter.check("login", client_of(request))
        raise ApiError(401, "unauthorized", "The API token is not valid.", None,
                       {"WWW-Authenticate": "Bearer"})
    return ed.name


Editor = Annotated[str, Depends(editor_from_token)]


def _table(table: str) -> str:
    if table not in TABLES:
        raise ApiError(404, "not_found", f"Unknown table {table[:40]!r}; tables are "
                       f"{', '.join(TABLES)}.", "table")
    return table


async def _write(request: Request, who: str, action: str, table: str, **kw: Any) -> dict:
    ctx = _ctx(request)
    ctx.limiter.check("write", client_of(request))

    def do() -> dict[str, Any]:
        reg = ctx.registry
        if action == "add":
            rid = reg.add(table, kw["values"], who=who, why=kw["why"])
        elif action == "update":
            rid = reg.update(table, kw["row_id"], kw["values"], who=who, why=kw["why"],
                             expected=kw.get("expected"))
        elif action == "retract":
            rid = reg.retract(table, kw["row_id"], who=who, why=kw["why"])
        else:
            rid = reg.restore(table, kw["row_id"], who=who, why=kw["why"])
        ctx.after_write()
        return {"table": table, "row_id": rid, "action": action, "who": who,
                "evidence_version": ctx.snapshot().version}

    return await run_in_threadpool(do)


@router.post("/editor/{table}", response_model=m.WriteOut, status_code=201,
             summary="Add a row (audited)", responses=WRITE_ERRORS)
async def add_row(request: Request, body: m.RowIn, who: Editor,
                  table: str = Path(..., max_length=40)) -> Any:
    return await _write(request, who, "add", _table(table), values=body.values, why=body.why)


@router.patch("/editor/{table}/{row_id}", response_model=m.WriteOut,
              summary="Change fields of a row (audited)", responses=WRITE_ERRORS)
async def update_row(request: Request, body: m.RowIn, who: Editor,
                     table: str = Path(..., max_length=40),
                     row_id: str = Path(..., max_length=200)) -> Any:
    return await _write(request, who, "update", _table(table), row_id=row_id,
                        values=body.values, why=body.why, expected=body.expected)


@router.post("/editor/{table}/{row_id}/retract", response_model=m.WriteOut,
             summary="Retract a row (kept in the history)", responses=WRITE_ERRORS)
async def retract_row(request: Request, body: m.ReasonIn, who: Editor,
                      table: str = Path(..., max_length=40),
                      row_id: str = Path(..., max_length=200)) -> Any:
    return await _write(request, who, "retract", _table(table), row_id=row_id, why=body.why)


@router.post("/editor/{table}/{row_id}/restore", response_model=m.WriteOut,
             summary="Undo a retraction", responses=WRITE_ERRORS)
async def restore_row(request: Request, body: m.ReasonIn, who: Editor,
                      table: str = Path(..., max_length=40),
                      row_id: str = Path(..., max_length=200)) -> Any:
    return await _write(request, who, "restore", _table(table), row_id=row_id, why=body.why)


@router.get("/editor/history", response_model=m.HistoryOut, summary="The audit trail",
            responses=WRITE_ERRORS)
async def history(request: Request, who: Editor,
                  table: str | None = Query(None, max_length=40),
                  row_id: str | None = Query(None, max_length=200),
                  limit: int = Query(200, ge=1, le=5000)) -> Any:
    if table:
        _table(table)
    ctx = _ctx(request)
    frame = await run_in_threadpool(ctx.registry.history, table, row_id)
    rows = frame.tail(limit).iloc[::-1].to_dict(orient="records")
    from ..results import json_safe

    return {"count": len(rows), "changes": json_safe(rows)}


@router.get("/networks", summary="Network meta-analyses of the registry (chronic LBP, knee OA)")
async def networks(request: Request) -> Any:
    """Each network's treatments, estimates against the reference, consistency, ranking and
    the certainty caveats (indirectness, inconsistency), with its evidence version."""
    from .pages import networks_data

    ctx = _ctx(request)
    value, _, version = await run_in_threadpool(ctx.cached, "networks", {}, networks_data,
                                                client_of(request))
    return {"evidence_version": version,
            "networks": [{k: v for k, v in n.items() if not k.endswith("_svg")} | {
                "graph_svg": n["graph_svg"], "forest_svg": n["forest_svg"]} for n in value]}
