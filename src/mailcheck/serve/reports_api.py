"""``/api/v1/reports/{domain}``: what receivers reported (DMARC aggregate and TLS reports),
explained by :func:`mailcheck.reports.summarize` over the configured store.

Summaries are cached per (domain, days) for ``cache_ttl`` and run in the audit slots (a
summary resolves the domain's SPF tree and the sources' PTR names).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mailcheck.errors import ConfigError, MailcheckError
from mailcheck.serve.auditor import validate_domain
from mailcheck.serve.present import finding_json
from mailcheck.serve.problems import Problem, invalid, not_configured
from mailcheck.serve.state import Service, authorize, language_of

#: Longest period a summary covers.
MAX_DAYS = 366


class ReportSummaries:
    """The report store, opened once, and the cached summaries."""

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size
        self._store: Any = None
        self._cache: OrderedDict[tuple[str, int], tuple[float, Any]] = OrderedDict()

    def _open(self) -> Any:
        from mailcheck.reports import ReportStore, StoreError

        if not Path(self.path).is_file():  # never create a store by looking at it
            raise not_configured(f"no report store at {self.path}")
        try:
            return ReportStore(self.path)
        except StoreError as exc:
            raise Problem(
                503, "reports-unreadable", "The report store cannot be read", str(exc)
            ) from None

    async def summary(self, service: Service, domain: str, days: int) -> Any:
        """The :class:`~mailcheck.reports.DmarcSummary` (cached for ``cache_ttl``)."""
        from mailcheck.reports import summarize

        now = service.config.clock()
        cached = self._cache.get((domain, days))
        if cached is not None and now - cached[0] <= service.config.cache_ttl:
            return cached[1]
        if self._store is None:
            self._store = await asyncio.to_thread(self._open)
        until = time.time()
        try:
            async with service.auditor.slot():
                result = await summarize(
                    self._store, domain, since=until - days * 86400.0, until=until,
                    resolver=service.config.resolver,
                )  # fmt: skip
        except ConfigError as exc:
            raise invalid("domain", str(exc)) from None
        except MailcheckError as exc:
            raise Problem(503, "reports-unreadable", "The report store cannot be read",
                          str(exc)) from None  # fmt: skip
        self._cache[(domain, days)] = (now, result)
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return result


async def reports(request: Request) -> Response:
    """``GET /api/v1/reports/{domain}[?days=30]``: the DMARC and TLS report summary."""
    service = authorize(request)
    domain = validate_domain(request.path_params["domain"])
    text = request.query_params.get("days", "30")
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise invalid("days", f"days must be a whole number from 1 to {MAX_DAYS}")
    if service.summaries is None:
        raise not_configured("no report store: start the service with --reports-db")
    summary = await service.summaries.summary(service, domain, int(text))
    language = language_of(request)
    data: dict[str, Any] = summary.to_dict()
    data["findings"] = [finding_json(f, language) for f in summary.findings]
    return JSONResponse(data, headers={"Cache-Control": "no-store", "Content-Language": language})
