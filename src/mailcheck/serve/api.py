"""The JSON API (``/api/v1``), ``/healthz`` and ``/metrics``.

Every route but ``/healthz``, ``/api/v1/openapi.json`` and ``/api/v1/schema/report.json``
wants ``Authorization: Bearer <token>`` and spends one request of the token's rate. Input
is validated before anything is resolved; no route fetches a URL the caller gives.
Errors are RFC 9457 problem details (:mod:`mailcheck.serve.problems`).
"""

from __future__ import annotations

import ipaddress
import json
from functools import cache
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mailcheck import __version__
from mailcheck.errors import ConfigError, SpoolError, TempError
from mailcheck.model import to_dict
from mailcheck.sending.providers import ProviderSet
from mailcheck.serve import hygiene_api, reports_api
from mailcheck.serve import metrics as prometheus
from mailcheck.serve.auditor import validate_domain
from mailcheck.serve.present import finding_json, report_json
from mailcheck.serve.problems import Problem, invalid, not_configured
from mailcheck.serve.sending_view import SendingView
from mailcheck.serve.state import Service, authorize, language_of

OPENAPI = Path(__file__).parent / "openapi.json"
#: Longest IP text read.
MAX_IP_INPUT = 64


def _json(data: Any, language: str | None = None, **headers: str) -> JSONResponse:
    extra = {"Cache-Control": "no-store"} | headers
    if language:
        extra["Content-Language"] = language
    return JSONResponse(data, headers=extra)


async def healthz(request: Request) -> Response:
    """``GET /healthz``: the process answers (no token, nothing resolved)."""
    return _json({"status": "ok", "version": __version__})


async def metrics(request: Request) -> Response:
    """``GET /metrics`` (bearer token): Prometheus text."""
    service = authorize(request)
    view = await _look(service) if service.watcher is not None else None
    body = prometheus.render(
        service.auditor, service.limiter.refused + service.page_limiter.refused, view
    )
    return Response(body, media_type=prometheus.MEDIA_TYPE, headers={"Cache-Control": "no-store"})


async def audit(request: Request) -> Response:
    """``GET /api/v1/audit/{domain}[?fresh=1]``: the domain's report (cached)."""
    service = authorize(request)
    domain = validate_domain(request.path_params["domain"])
    fresh = _flag(request, "fresh")
    entry = await service.auditor.report(domain, fresh=fresh)
    language = language_of(request)
    age = max(0, int(service.config.clock() - entry.at))
    # A cached report is rendered once per language, not once per request.
    key = (domain, language, entry.at)
    body = service.rendered.get(key)
    if body is None:
        body = bytes(JSONResponse(report_json(entry.report, language)).body)
        service.rendered.put(key, body)
    return Response(body, media_type="application/json", headers={
        "Cache-Control": "no-store", "Content-Language": language,
        "X-Mailcheck-Cache": "hit" if entry.cached else "miss", "Age": str(age),
    })  # fmt: skip


async def check_ip(request: Request) -> Response:
    """``GET /api/v1/ip/{ip}``: reverse DNS, HELO and blocklists of one address."""
    service = authorize(request)
    text = request.path_params["ip"]
    if len(text) > MAX_IP_INPUT:
        raise invalid("ip", "not an IP address")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise invalid("ip", "not an IP address") from None
    report = await service.auditor.check_ip(str(ip))
    language = language_of(request)
    data = report.to_dict()
    data["findings"] = [finding_json(f, language) for f in report.findings]
    return _json(data, language)


async def provider(request: Request) -> Response:
    """``GET /api/v1/provider/{domain}``: the provider group of a destination domain."""
    service = authorize(request)
    domain = validate_domain(request.path_params["domain"])
    providers = service.watcher.providers if service.watcher else _builtin_providers()
    assert service.config.resolver is not None
    try:
        match = await providers.resolve(domain, resolver=service.config.resolver)
    except TempError as exc:
        raise Problem(503, "dns-failure", "DNS could not answer", str(exc),
                      headers={"Retry-After": "30"}) from None  # fmt: skip
    return _json({
        "domain": match.domain,
        "group": match.group,
        "provider": match.provider.name,
        "known_provider": match.provider.name != providers.default.name,
        "mx_hosts": list(match.mx_hosts),
        "limits": to_dict(providers.limits_of(match.group)),
    })  # fmt: skip


@cache
def _builtin_providers() -> ProviderSet:
    return ProviderSet.load()


async def spool(request: Request) -> Response:
    """``GET /api/v1/spool``: recipients per state, per provider group, the last 24 h."""
    service = authorize(request)
    view = await _look(service)
    return _json(view.to_dict())


async def spool_providers(request: Request) -> Response:
    """``GET /api/v1/spool/providers``: per provider group (delivered, waiting, paused...)."""
    service = authorize(request)
    view = await _look(service)
    return _json({"providers": [p.to_dict() for p in view.progress.providers]})


async def _look(service: Service) -> SendingView:
    if service.watcher is None:
        raise not_configured("no spool: start the service with --spool")
    try:
        return await service.watcher.look()
    except (ConfigError, SpoolError) as exc:
        raise Problem(503, "spool-unreadable", "The spool cannot be read", str(exc)) from None


async def openapi(request: Request) -> Response:
    """``GET /api/v1/openapi.json``: the OpenAPI description (no token)."""
    return JSONResponse(_openapi())


@cache
def _openapi() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(OPENAPI.read_text(encoding="utf-8"))
    data["info"]["version"] = __version__
    return data


async def schema(request: Request) -> Response:
    """``GET /api/v1/schema/report.json``: the JSON Schema of a report (no token)."""
    from mailcheck.schema import report_schema

    return JSONResponse(report_schema())


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "")
    if value not in ("", "0", "1", "true", "false"):
        raise invalid(name, f"{name} must be 0, 1, true or false")
    return value in ("1", "true")


ROUTES = [
    Route("/audit/{domain}", audit),
    Route("/ip/{ip}", check_ip),
    Route("/provider/{domain}", provider),
    Route("/spool", spool),
    Route("/spool/providers", spool_providers),
    Route("/reports/{domain}", reports_api.reports),
    Route("/suppressions", hygiene_api.suppressions),
    Route("/openapi.json", openapi),
    Route("/schema/report.json", schema),
]
