"""What the request handlers share: one :class:`Service` per app."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Hashable
from typing import Any

from starlette.requests import Request

from mailcheck.locale import LANGUAGES, negotiate
from mailcheck.serve.auditor import Auditor
from mailcheck.serve.config import ServeConfig
from mailcheck.serve.guard import RateLimiter, TokenGuard
from mailcheck.serve.sending_view import SpoolWatcher


class Rendered:
    """Rendered bodies by key, the least recently used dropped past ``size``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._bodies: collections.OrderedDict[Hashable, bytes] = collections.OrderedDict()

    def get(self, key: Hashable) -> bytes | None:
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
        return body

    def put(self, key: Hashable, body: bytes) -> None:
        self._bodies[key] = body
        while len(self._bodies) > self.size:
            self._bodies.popitem(last=False)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """The app's shared objects (``request.app.state.service``)."""

    config: ServeConfig
    guard: TokenGuard
    limiter: RateLimiter
    page_limiter: RateLimiter
    auditor: Auditor
    watcher: SpoolWatcher | None
    rendered: Rendered
    summaries: Any = None
    """The report summaries (:class:`~mailcheck.serve.reports_api.ReportSummaries`)."""


#: Scope key holding the prefix the app is served under (``root_path`` at the app's entry).
ROOT_KEY = "mailcheck.root"


def root_of(request: Request) -> str:
    """The prefix the app is served under (``""`` at the root of its host)."""
    return str(request.scope.get(ROOT_KEY, ""))


def service_of(request: Request) -> Service:
    """The :class:`Service` of the app handling ``request``."""
    service: Any = request.app.state.service
    assert isinstance(service, Service)
    return service


def language_of(request: Request) -> str:
    """``?lang=`` when it names a known language, else ``Accept-Language``, else the
    service's default."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    default = service_of(request).config.language
    return negotiate(request.headers.get("accept-language"), default=default)


def authorize(request: Request) -> Service:
    """The service, once the request's token is known and its rate not exhausted."""
    service = service_of(request)
    who = service.guard.check(request.headers.get("authorization"))
    service.limiter.take(who)
    return service
