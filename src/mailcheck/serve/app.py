"""``create_app``: the ASGI application (Starlette) with its routes, headers and errors."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailcheck.lookup.resolver import DnsResolver
from mailcheck.serve import api, hygiene_api, pages
from mailcheck.serve.auditor import Auditor
from mailcheck.serve.config import ServeConfig
from mailcheck.serve.guard import RateLimiter, TokenGuard
from mailcheck.serve.problems import Problem
from mailcheck.serve.reports_api import ReportSummaries
from mailcheck.serve.sending_view import SpoolWatcher
from mailcheck.serve.state import ROOT_KEY, Rendered, Service, root_of

_HERE = Path(__file__).parent
log = logging.getLogger("mailcheck.serve")


def create_app(config: ServeConfig | None = None, /) -> Starlette:
    """The ASGI app: ``/api/v1`` (bearer token), the pages, ``/healthz``, ``/metrics``.

    Args:
        config: the settings (default: no token, so the API refuses every request).

    Example:
        >>> app = create_app(ServeConfig(tokens=("0123456789abcdef",)))  # doctest: +SKIP
        >>> # uvicorn.run(app, host="127.0.0.1", port=8025)
    """
    config = config or ServeConfig()
    if config.resolver is None:
        # Answers are kept no longer than the re-check interval: "re-check" after fixing a
        # record sees the new record (the reports themselves are cached for cache_ttl).
        resolver = DnsResolver(max_ttl=max(1, int(config.recheck_after)))
        config = dataclasses.replace(config, resolver=resolver)
    assert config.resolver is not None
    service = Service(
        config=config,
        guard=TokenGuard(config.tokens),
        limiter=RateLimiter(config.rate_per_minute, config.burst, clock=config.clock),
        page_limiter=RateLimiter(config.rate_per_minute, config.burst, clock=config.clock),
        auditor=Auditor(config),
        rendered=Rendered(2 * config.cache_size),
        watcher=(SpoolWatcher(config.spool, resolver=config.resolver) if config.spool else None),
        summaries=(
            ReportSummaries(config.reports_db, config.cache_size) if config.reports_db else None
        ),
    )
    routes = [
        Route("/healthz", api.healthz),
        Route("/unsubscribe", hygiene_api.unsubscribe, methods=["GET", "POST"]),
        Route("/metrics", api.metrics),
        Mount("/api/v1", routes=api.ROUTES),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
        *pages.ROUTES,
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders, config=config)],
        exception_handlers={
            Problem: _problem,
            HTTPException: _http_error,
            Exception: _internal,
        },
    )
    app.state.service = service
    return app


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    if _is_api(request):
        return exc.response(request.url.path)
    return pages.error_page(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    problem = Problem(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))
    return await _problem(request, problem)


async def _internal(request: Request, exc: Exception) -> Response:
    # The exception's text may hold what a remote server said: logged, never answered.
    log.exception("internal error on %s", request.url.path)
    return await _problem(
        request, Problem(500, "internal-error", "Internal error", "see the server's log")
    )


def _is_api(request: Request) -> bool:
    path = request.url.path[len(root_of(request)) :]
    if path.startswith("/unsubscribe"):  # mail clients POST it; people open it
        return "text/html" not in request.headers.get("accept", "")
    return path.startswith(("/api/", "/metrics", "/healthz"))


class SecurityHeaders:
    """Adds the security headers to every response (pages, API, static files).

    The Content-Security-Policy allows nothing inline: scripts and styles come from
    ``/static`` only, images from this origin only; forms post to this origin; the
    pages may be framed by the origins in ``frame_ancestors`` only.
    """

    def __init__(self, app: ASGIApp, config: ServeConfig) -> None:
        self.app = app
        ancestors = " ".join(("'self'", *config.frame_ancestors))
        self.headers = [
            (b"content-security-policy", (
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
                " connect-src 'self'; form-action 'self'; base-uri 'none';"
                f" frame-ancestors {ancestors}"
            ).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]  # fmt: skip
        if not config.frame_ancestors:
            self.headers.append((b"x-frame-options", b"SAMEORIGIN"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The deployment's prefix (a Mount below changes root_path; links need this one).
        scope[ROOT_KEY] = scope.get("root_path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
