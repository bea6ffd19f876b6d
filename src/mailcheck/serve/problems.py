"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error of the API is a :class:`Problem`: a stable ``type`` URI (documented in
``docs/embedding.md``), a ``title``, the HTTP ``status`` and a ``detail`` for people. The
``code`` member is mailcheck's own stable identifier (RFC 9457 §3.2 allows extension
members). ``detail`` never echoes untrusted input unescaped into HTML: these bodies are
JSON, and the pages render their own error page through autoescaping templates.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

#: Base of the problem type URIs (RFC 9457 §3.1.1: a URI that identifies the type).
TYPE_BASE = "https://mailcheck.invalid/problems/"
MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """An error answered as problem details.

    Args:
        status: the HTTP status.
        code: the stable kebab-case identifier (the last part of the ``type`` URI).
        title: a short summary of the problem type (the same for every occurrence).
        detail: this occurrence, for people.
        headers: extra response headers (``Retry-After``, ``WWW-Authenticate``).
        extra: extension members (``retry_after``, ``field``...).
    """

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str = "",
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = headers or {}
        self.extra = extra

    def to_dict(self, instance: str = "") -> dict[str, Any]:
        """The problem details object."""
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "code": self.code,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        return body | self.extra

    def response(self, instance: str = "") -> JSONResponse:
        """The JSON response carrying this problem."""
        return JSONResponse(
            self.to_dict(instance),
            status_code=self.status,
            headers=self.headers,
            media_type=MEDIA_TYPE,
        )


def unauthorized(detail: str) -> Problem:
    """401 with the RFC 6750 challenge."""
    return Problem(
        401, "unauthorized", "A valid bearer token is required", detail,
        headers={"WWW-Authenticate": 'Bearer realm="mailcheck"'},
    )  # fmt: skip


def rate_limited(retry_after: float) -> Problem:
    """429 with Retry-After (whole seconds, at least 1)."""
    seconds = max(1, int(retry_after + 0.999))
    return Problem(
        429, "rate-limited", "Too many requests",
        f"this token's request rate is exhausted; retry in {seconds} s",
        headers={"Retry-After": str(seconds)}, retry_after=seconds,
    )  # fmt: skip


def invalid(field: str, detail: str) -> Problem:
    """400 for a request value that is not acceptable (nothing was resolved)."""
    return Problem(400, "invalid-request", "The request is not valid", detail, field=field)


def busy(retry_after: float) -> Problem:
    """503: too many audits waiting already."""
    seconds = max(1, int(retry_after))
    return Problem(
        503, "busy", "Too many audits in progress", "retry later",
        headers={"Retry-After": str(seconds)}, retry_after=seconds,
    )  # fmt: skip


def not_found(detail: str = "no such resource") -> Problem:
    """404."""
    return Problem(404, "not-found", "Not found", detail)


def not_configured(what: str) -> Problem:
    """404 for a part of the service that was not configured (no spool, no reports)."""
    return Problem(404, "not-configured", "Not configured on this server", what)
