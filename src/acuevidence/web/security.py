"""Security plumbing of the web app: headers, one error shape, rate limits, no stack traces.

* :class:`SecurityMiddleware` (plain ASGI, so it adds no per-request task overhead) sets the
  security headers on every response — a strict Content-Security-Policy without
  ``'unsafe-inline'`` (every script and style is a static file), ``X-Content-Type-Options``,
  ``Referrer-Policy``, ``X-Frame-Options`` and ``frame-ancestors 'none'`` — adds a
  ``Server-Timing`` header (the benchmark reads the server time from it), refuses request bodies
  over :data:`MAX_BODY_BYTES`, and turns any exception that escapes the app into the JSON error
  shape with status 500: the traceback goes to the server log, never to the client.
* Every error answers ``{"error": {"code": ..., "message": ..., "field": ...}}``
  (:func:`error_body`); :func:`install_error_handlers` maps HTTP errors, request validation errors,
  :class:`~acuevidence.errors.InputError` (400, its message names the field) and
  :class:`~acuevidence.evidence.store.ConflictError` (409) onto it. Browsers asking for HTML on a
  page (not ``/api``) get the same fields as an HTML page.
* :class:`RateLimiter`: an in-memory token bucket per client IP and bucket name. The app charges
  it only for work that is expensive — a computation that is not in the cache, a sign-in attempt —
  so cached answers stay fast under load while a client cannot make the server recompute
  analyses (or guess passwords) without limit.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import InputError

__all__ = [
    "CSP",
    "MAX_BODY_BYTES",
    "SECURITY_HEADERS",
    "ApiError",
    "RateLimiter",
    "SecurityMiddleware",
    "error_body",
    "install_error_handlers",
]

log = logging.getLogger("acuevidence.web")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
# Editor forms and JSON edits are small; anything larger is refused before it is read.
MAX_BODY_BYTES = 1_000_000


class ApiError(Exception):
    """An error answered with the JSON error shape (raised by the app's own code)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The one error shape of the app."""
    return {"error": {"code": code, "message": message, "field": field}}


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
                 413: "payload_too_large", 415: "unsupported_media_type",
                 422: "invalid_parameter", 429: "rate_limited", 500: "internal_error"}


# ------------------------------------------------------------------------------------------------
# Rate limiting
# ------------------------------------------------------------------------------------------------
class RateLimiter:
    """Token buckets per (bucket, client): ``rate`` tokens per second, at most ``burst`` saved.

    ``limits`` maps a bucket name to ``(rate, burst)``; unknown names use ``default``.
    """

    MAX_CLIENTS = 50_000  # forget idle buckets beyond this many (memory bound)

    def __init__(self, limits: dict[str, tuple[float, float]] | None = None,
                 default: tuple[float, float] = (5.0, 30.0)):
        self.limits = dict(limits or {})
        self.default = default
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, bucket: str, client: str, cost: float = 1.0) -> None:
        """Take ``cost`` tokens or raise :class:`ApiError` 429 with ``Retry-After``."""
        rate, burst = self.limits.get(bucket, self.default)
        if rate <= 0 or math.isinf(rate):
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get((bucket, client), (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens < cost:
                wait = (cost - tokens) / rate
                self._buckets[(bucket, client)] = (tokens, now)
                raise ApiError(429, "rate_limited",
                               f"Too many {bucket} requests from your address; try again in "
                               f"{math.ceil(wait)} s.", None,
                               {"Retry-After": str(max(1, math.ceil(wait)))})
            self._buckets[(bucket, client)] = (tokens - cost, now)
            if len(self._buckets) > self.MAX_CLIENTS:
                # Buckets that have refilled completely carry no information: drop them.
                full = [k for k, (t, ts) in self._buckets.items()
                        if t + (now - ts) * self.limits.get(k[0], self.default)[0] >= burst]
                for k in full:
                    del self._buckets[k]


# ------------------------------------------------------------------------------------------------
# ASGI middleware
# ------------------------------------------------------------------------------------------------
ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]],
                   Awaitable[None]]


class SecurityMiddleware:
    """Security headers, Server-Timing, a body-size limit and the last-resort 500 handler."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False):
        self.app = app
        self.headers = list(SECURITY_HEADERS)
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        started = False
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > MAX_BODY_BYTES
                except ValueError:
                    too_big = True
                if too_big:
                    await _send_json(send, 413, error_body(
                        "payload_too_large", f"Request bodies are limited to {MAX_BODY_BYTES} "
                        "bytes.", None), self.headers)
                    return

        async def send_wrapper(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", [])
                           if h[0].lower() not in _OWN_HEADERS]
                headers.extend(self.headers)
                dur = (time.perf_counter() - start) * 1000
                headers.append((b"server-timing", f"app;dur={dur:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:  # the last resort: log the traceback, answer without it
            incident = uuid.uuid4().hex[:12]
            log.exception("unhandled error %s on %s %s", incident, scope.get("method"),
                          scope.get("path"))
            if not started:
                await _send_json(send, 500, error_body(
                    "internal_error", f"Internal server error (incident {incident}); it was "
                    "logged. Please try again later.", None), self.headers)


_OWN_HEADERS = {h for h, _ in SECURITY_HEADERS} | {b"server-timing"}


async def _send_json(send: Callable, status: int, body: dict[str, Any],
                     headers: list[tuple[bytes, bytes]]) -> None:
    import json

    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode()), *headers]})
    await send({"type": "http.response.body", "body": data})


# ------------------------------------------------------------------------------------------------
# Error handlers
# ------------------------------------------------------------------------------------------------
def _wants_html(request: Any) -> bool:
    path = request.url.path
    if path.startswith("/api") or path == "/openapi.json":
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("query", "path", "body", "header", "cookie")]
    return ".".join(parts) or None


def install_error_handlers(app: Any, render_html_error: Callable[..., Any] | None = None) -> None:
    """Map every error onto :func:`error_body` (HTML for browsers on pages)."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from ..evidence.store import ConflictError
    from .service import NoTrials

    def respond(request: Any, status: int, code: str, message: str, field: str | None,
                headers: dict[str, str] | None = None) -> Any:
        if render_html_error is not None and _wants_html(request):
            return render_html_error(request, status, code, message, field, headers or {})
        return JSONResponse(error_body(code, message, field), status_code=status,
                            headers=headers or None)

    @app.exception_handler(ApiError)
    async def _api_error(request: Any, exc: ApiError) -> Any:
        return respond(request, exc.status, exc.code, exc.message, exc.field, exc.headers)

    @app.exception_handler(InputError)
    async def _input_error(request: Any, exc: InputError) -> Any:
        return respond(request, 400, "invalid_input", str(exc), exc.column)

    @app.exception_handler(NoTrials)
    async def _no_trials(request: Any, exc: NoTrials) -> Any:
        return respond(request, 404, "no_trials", str(exc), "condition")

    @app.exception_handler(ConflictError)
    async def _conflict(request: Any, exc: ConflictError) -> Any:
        return respond(request, 409, "conflict", str(exc), None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Any, exc: RequestValidationError) -> Any:
        errs = exc.errors()
        first = errs[0] if errs else {}
        field = _field_of(first.get("loc", ()))
        msg = str(first.get("msg", "Invalid request."))
        where = f"'{field}'" if field else "the request"
        extra = f" (and {len(errs) - 1} more problem(s))" if len(errs) > 1 else ""
        return respond(request, 422, "invalid_parameter", f"{where}: {msg}{extra}.", field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Any, exc: StarletteHTTPException) -> Any:
        code = _STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
        detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"Nothing at {request.url.path}."
        return respond(request, exc.status_code, code, detail, None,
                       dict(exc.headers) if exc.headers else None)
