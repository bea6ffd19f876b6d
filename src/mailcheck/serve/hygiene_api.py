"""The suppression list (``GET /api/v1/suppressions``, bearer token) and the RFC 8058
one-click unsubscribe endpoint (``/unsubscribe``, no token: the signed token in the URL is
the credential).

RFC 8058 §3.1: the List-Unsubscribe URL is POSTed with the body
``List-Unsubscribe=One-Click``; a GET must not unsubscribe (mail scanners follow links), so
a GET shows a page whose button makes that POST. The token is checked with
:func:`mailcheck.hygiene.tokens.verify_unsubscribe`; a verified request adds an
``unsubscribe`` suppression for its list to the spool, as ``mailcheck bounces ingest`` does
for ``mailto:`` unsubscribes. The answer never says who was unsubscribed.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mailcheck.errors import ConfigError, MailcheckError
from mailcheck.serve.problems import Problem, invalid, not_configured
from mailcheck.serve.state import Service, authorize, service_of

#: The largest POST body read (RFC 8058's body is 26 bytes).
MAX_BODY = 4096
#: RFC 8058 §3.1: "The POST request MUST contain the key/value pair
#: List-Unsubscribe=One-Click".
ONE_CLICK = "List-Unsubscribe=One-Click"


def _spool_path(service: Service) -> str:
    if service.watcher is None:
        raise not_configured("no spool: start the service with --spool")
    return service.watcher.path


async def suppressions(request: Request) -> Response:
    """``GET /api/v1/suppressions[?scope=&value=&reason=&after=&limit=]``: entries in force,
    oldest first, and the counts; page with ``after`` (the last ``cursor``)."""
    from mailcheck.hygiene import SuppressionList
    from mailcheck.sending.spool import SqliteSpool

    service = authorize(request)
    path = _spool_path(service)
    query = request.query_params
    numbers = {}
    for name, default in (("after", "0"), ("limit", "100")):
        text = query.get(name, default)
        if not text.isdigit() or len(text) > 18:
            raise invalid(name, f"{name} must be a whole number")
        numbers[name] = int(text)
    spool = SqliteSpool.open_readonly(path)
    try:
        listing = SuppressionList(spool)
        try:
            rows = await listing.list(
                scope=query.get("scope") or None, scope_value=query.get("value") or None,
                reasons=[query["reason"]] if query.get("reason") else (),
                after=numbers["after"], limit=min(numbers["limit"], 1000),
            )  # fmt: skip
        except ConfigError as exc:
            raise invalid("query", str(exc)) from None
        counts = await listing.counts()
    finally:
        spool.close()
    entries = [{"cursor": cursor, **entry.to_dict()} for cursor, entry in rows]
    return JSONResponse(
        {"counts": counts, "entries": entries, "next_after": rows[-1][0] if rows else None},
        headers={"Cache-Control": "no-store"},
    )


def _request_of(service: Service, token: str) -> Any:
    from mailcheck.hygiene.tokens import TokenError, verify_unsubscribe

    secret = service.config.unsubscribe_secret
    if secret is None:
        raise not_configured("unsubscribing is not configured on this server")
    try:
        return verify_unsubscribe(token, secret=secret)
    except TokenError:
        # One answer for malformed, forged and expired: no oracle for token forgers.
        raise invalid("t", "this unsubscribe link is not valid (or has expired)") from None


async def unsubscribe(request: Request) -> Response:
    """``GET /unsubscribe?t=TOKEN``: a page with a button; ``POST`` (RFC 8058 one-click,
    body ``List-Unsubscribe=One-Click``): the address leaves the list."""
    from mailcheck.serve import pages

    service = service_of(request)
    client = request.client.host if request.client else "-"
    service.page_limiter.take(f"unsubscribe:{client}")
    _spool_path(service)
    token = request.query_params.get("t", "")
    if request.method == "GET":
        _request_of(service, token)  # a dead link says so before the button
        return pages.unsubscribe_page(request, token=token, done=False)
    body = await _bounded_body(request)
    if not one_click_body(body, request.headers.get("content-type", "")):
        raise invalid("body", f"the POST body must be {ONE_CLICK} (RFC 8058)")
    found = _request_of(service, token)
    await _suppress(service, found)
    if "text/html" in request.headers.get("accept", ""):
        return pages.unsubscribe_page(request, token="", done=True)
    return JSONResponse({"unsubscribed": True}, headers={"Cache-Control": "no-store"})


def one_click_body(body: str, content_type: str) -> bool:
    """Whether the body holds ``List-Unsubscribe=One-Click`` (form-encoded, or as a
    multipart form field: RFC 8058 §3.1 allows both)."""
    if content_type.startswith("multipart/form-data"):
        return 'name="List-Unsubscribe"' in body and "One-Click" in body
    return urllib.parse.parse_qs(body.strip()).get("List-Unsubscribe") == ["One-Click"]


async def _bounded_body(request: Request) -> str:
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY:
        raise Problem(
            413, "too-large", "The request body is too large", f"at most {MAX_BODY} bytes"
        )
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise Problem(
                413, "too-large", "The request body is too large", f"at most {MAX_BODY} bytes"
            )
    return data.decode("utf-8", "replace")


async def _suppress(service: Service, found: Any) -> None:
    from mailcheck.hygiene import SuppressionList, SuppressionReason
    from mailcheck.sending.spool import SqliteSpool

    # Written beside a running Sender: no crash recovery, SQLite's locking in between.
    spool = SqliteSpool(_spool_path(service), recover=False)
    try:
        await SuppressionList(spool).add(
            found.address, reason=SuppressionReason.UNSUBSCRIBE, list=found.list,
            source="one-click unsubscribe (RFC 8058)",
        )  # fmt: skip
    except MailcheckError as exc:
        raise Problem(503, "spool-unwritable", "The unsubscription could not be recorded",
                      "retry later") from exc  # fmt: skip
    finally:
        spool.close()
