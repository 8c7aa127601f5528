"""The web app: a FastAPI application over the evidence registry.

``create_app(database)`` opens the registry (the bundled CSV files built into SQLite unless a
SQLite path or ``postgresql://...`` URL is given) and mounts the pages (:mod:`.pages`), the JSON
API under ``/api`` (:mod:`.api`, documented at ``/openapi.json``) and the static files. Answers are
computed by the library and cached by evidence version and parameters (:mod:`.cache`); the
security plumbing is in :mod:`.security` and :mod:`.auth`.

The interactive Swagger/ReDoc pages are switched off: they load scripts from a CDN and run inline
scripts, which the Content-Security-Policy forbids. ``/api-docs`` lists the API instead, rendered
from the same OpenAPI document.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .. import __version__
from ..evidence.store import Registry
from .auth import Editors, Sessions
from .cache import EvidenceState, ResultCache, Snapshot, settle_gc
from .security import RateLimiter, SecurityMiddleware, install_error_handlers

__all__ = ["DEFAULT_RATE_LIMITS", "WebContext", "create_app"]

log = logging.getLogger("acuevidence.web")

# (tokens per second, burst) per client IP. "compute": an answer that is not cached yet;
# "login": sign-in attempts (slows password guessing); "write": audited edits.
DEFAULT_RATE_LIMITS: dict[str, tuple[float, float]] = {
    "compute": (5.0, 60.0),
    "login": (0.2, 5.0),
    "write": (2.0, 30.0),
}


@dataclass
class WebContext:
    """What every request handler needs: the registry, its cached state and the security setup."""

    registry: Registry
    state: EvidenceState
    cache: ResultCache
    limiter: RateLimiter
    editors: Editors
    sessions: Sessions
    env: Any  # jinja2.Environment
    database_kind: str
    settle: bool = False  # collect-and-freeze after new cached state (see cache.settle_gc)
    warm: bool = False  # precompute pages at startup and after every write
    _warm_lock: threading.Lock = field(default_factory=threading.Lock)
    _warming: bool = False
    _warm_wanted: bool = False

    # -- cached computations ---------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return self.state.snapshot()

    def cached(self, kind: str, params: Mapping[str, Any], compute: Callable[[Snapshot], Any],
               client: str, *, limit: bool = True) -> tuple[Any, bool, str]:
        """``(value, hit, version)``: ``compute(snapshot)`` once per version and parameters;
        a miss costs the client a "compute" token (the rate limit of expensive work)."""
        snap = self.snapshot()
        key = ResultCache.key(snap.version, kind, dict(params))
        before = (lambda: self.limiter.check("compute", client)) if limit else None
        value, hit = self.cache.get_or_compute(key, lambda: compute(snap), before)
        if not hit and self.settle:
            settle_gc()
        return value, hit, snap.version

    def peek(self, kind: str, params: Mapping[str, Any]) -> tuple[Any, str] | None:
        """The cached value when the snapshot is fresh (no database access, no thread hop)."""
        snap = self.state.fresh()
        if snap is None:
            return None
        value = self.cache.peek(ResultCache.key(snap.version, kind, dict(params)))
        return None if value is None else (value, snap.version)

    def report(self) -> Any:
        """The full evidence report of the current version (built once per version)."""
        from ..report.builder import build_report

        def build(snap: Snapshot) -> Any:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return build_report(snap.tables)

        value, _, _ = self.cached("report", {}, build, "-", limit=False)
        return value

    def ready_report(self, snap: Snapshot) -> Any | None:
        """The report of ``snap``'s version if it is built already (never builds it)."""
        return self.cache.peek(ResultCache.key(snap.version, "report", {}))

    def decision(self, snap: Snapshot, params: Mapping[str, Any]) -> dict[str, Any]:
        """The decision aid, reusing the report's findings when the report is built."""
        from .decision import decision_aid, report_lookup

        report = self.ready_report(snap)
        return decision_aid(snap.tables, snap.version, **params,
                            lookup=report_lookup(report) if report is not None else None)

    def after_write(self) -> None:
        self.state.invalidate()
        if self.warm:
            self.start_warming()

    def start_warming(self) -> None:
        """Precompute the home page and every decision aid of the current version in the
        background (one warmer at a time; a newer version restarts it)."""
        with self._warm_lock:
            self._warm_wanted = True
            if self._warming:
                return
            self._warming = True
        threading.Thread(target=self._warm_loop, daemon=True, name="acuevidence-warm").start()

    def _warm_loop(self) -> None:
        from .decision import DURATIONS, PAIN_SITES
        from .questions import home_answers
        from .service import vocabulary

        while True:
            with self._warm_lock:
                if not self._warm_wanted:
                    self._warming = False
                    return
                self._warm_wanted = False
            try:
                version = self.snapshot().version
                self.cached("home", {}, lambda s: home_answers(self.report()), "-",
                            limit=False)
                for site, (_, target) in PAIN_SITES.items():
                    durations = list(DURATIONS) if isinstance(target, dict) else ["chronic"]
                    for duration in durations:
                        for comp in vocabulary()["comparators"]:
                            if self.snapshot().version != version:
                                break  # changed meanwhile: the loop runs again
                            params = {"site": site, "duration": duration,
                                      "comparator": comp["term"], "window": "auto"}
                            self.cached("decision", params,
                                        lambda s, p=params: self.decision(s, p), "-",
                                        limit=False)
            except Exception:
                log.exception("precomputing the pages failed")


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("acuevidence", "web/templates"),
                      autoescape=select_autoescape(["html", "j2", "svg"], default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda x, d=1: "-" if _missing(x) else f"{x:.{d}f}"
    env.filters["pct"] = lambda x: "-" if _missing(x) else f"{x:.0f}"
    # Only http(s) URLs become links: a registry value such as "javascript:..." stays text.
    env.filters["http_url"] = lambda u: u if isinstance(u, str) and u.lower().startswith(
        ("http://", "https://")) else ""
    env.globals["software_version"] = __version__
    return env


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _database_kind(reg: Registry) -> str:
    return "sqlite" if reg.is_sqlite else "postgresql"


def create_app(database: str | Path | None = None, *, secret_key: str | None = None,
               editors: str | Path | Mapping[str, Any] | Editors | None = None,
               rate_limits: Mapping[str, tuple[float, float]] | None = None,
               secure_cookies: bool = False, stamp_ttl: float = 1.0,
               warm: bool = False, freeze_gc: bool = False) -> Any:
    """The FastAPI application.

    Parameters
    ----------
    database : str or Path, optional
        SQLite file or ``postgresql://...`` URL (default: ``Registry.open_default``: the
        bundled CSV files built into ``~/.local/share/acuevidence/evidence.sqlite``).
    secret_key : str, optional
        Signs the session cookies (default: ``$ACUEVIDENCE_SECRET_KEY``, else a random key, so
        sessions end when the server restarts).
    editors : path, mapping or Editors, optional
        The editors file (JSON or TOML: name -> argon2 hash, or a table with ``password_hash``
        and ``token_hashes``); None: nobody can sign in and the site is read-only.
    rate_limits : mapping, optional
        ``bucket -> (tokens per second, burst)`` overriding :data:`DEFAULT_RATE_LIMITS`.
    secure_cookies : bool
        Mark the session cookie ``Secure`` (serve over HTTPS) and send HSTS.
    stamp_ttl : float
        Seconds between checks whether the database changed (see :mod:`.cache`).
    freeze_gc : bool
        After building long-lived state (a snapshot, a cached answer) collect garbage and freeze
        the survivors (``gc.freeze``), so full collections no longer stall requests for 100+ ms
        (the p99 latency). For a server process (``acuevidence serve`` sets it); it changes the
        garbage collector of the whole process.
    warm : bool
        Precompute the home page (the full report) and every decision aid in a background
        thread at startup and after every write, so visitors get cached pages.
    """
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    registry = database if isinstance(database, Registry) else Registry.open_default(database)
    key = secret_key or os.environ.get("ACUEVIDENCE_SECRET_KEY") or secrets.token_urlsafe(32)
    ctx = WebContext(
        registry=registry, state=EvidenceState(registry, stamp_ttl=stamp_ttl, settle=freeze_gc),
        cache=ResultCache(), limiter=RateLimiter({**DEFAULT_RATE_LIMITS, **(rate_limits or {})}),
        editors=Editors.load(editors), sessions=Sessions(key, secure=secure_cookies),
        env=_environment(), database_kind=_database_kind(registry), warm=warm,
        settle=freeze_gc)

    @asynccontextmanager
    async def lifespan(app: Any):
        if warm:
            ctx.start_warming()
        yield

    app = FastAPI(
        title="acuevidence", version=__version__, lifespan=lifespan,
        description="Does acupuncture work for back, hip and leg pain? The trials, the pooled "
                    "analyses (every estimator of metafor), the certainty of the evidence and a "
                    "patient decision aid, as JSON. Every error answers "
                    '{"error": {"code", "message", "field"}}.',
        docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None)
    app.state.ctx = ctx
    from .api import router as api_router
    from .pages import render_error
    from .pages import router as page_router

    install_error_handlers(app, render_error)
    app.include_router(api_router)
    app.include_router(page_router)
    static = resources.files("acuevidence").joinpath("web", "static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.add_middleware(SecurityMiddleware, hsts=secure_cookies)
    return app
