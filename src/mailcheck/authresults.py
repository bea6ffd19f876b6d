"""Authentication-Results headers (RFC 8601) and their ARC twins (RFC 8617): build and read.

``authres`` does the grammar; this module turns its objects into frozen,
typed results and back. Reading tells you what a receiver (Gmail, Orange...)
said about a test message; building writes what :func:`mailcheck.verify_message`
found.

Example::

    for header in read_authentication_results(raw_message):
        for result in header.results:
            print(header.authserv_id, result.method, result.result, result.property("header.d"))
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import authres
import authres.core

from mailcheck.errors import ParseError

AR_HEADER = "Authentication-Results"
ARC_AR_HEADER = "ARC-Authentication-Results"
# RFC 8617 §4.1.1: ARC-Authentication-Results = "i=" instance ";" authres-payload.
_ARC_INSTANCE = re.compile(r"\s*i\s*=\s*(\d{1,2})\s*;\s*", re.ASCII)
# RFC 8617 §4.2.1: "The maximum number of ARC Sets that can be attached to a message is 50."
ARC_MAX_INSTANCE = 50


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuthResultProperty:
    """One ``ptype.property=value`` of a result (``header.d=example.org``)."""

    ptype: str
    name: str
    value: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuthResult:
    """One ``method=result`` clause.

    Attributes:
        method: ``dkim``, ``spf``, ``dmarc``, ``arc``... (lower case).
        result: ``pass``, ``fail``, ``temperror``... (lower case).
        reason: the ``reason=`` text, if any.
        properties: the ``ptype.property=value`` items, in order.
        comment: a comment after the result (``dkim=pass (2048-bit key)``), when building.
    """

    method: str
    result: str
    reason: str | None = None
    properties: tuple[AuthResultProperty, ...] = ()
    comment: str | None = None

    def property(self, key: str, /) -> str | None:
        """The first value of ``ptype.name`` (``"header.d"``), or ``None``."""
        ptype, _, name = key.lower().partition(".")
        for prop in self.properties:
            if prop.ptype == ptype and prop.name == name:
                return prop.value
        return None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuthResultsHeader:
    """One Authentication-Results (or ARC-Authentication-Results) header.

    Attributes:
        authserv_id: who added it (``mx.google.com``).
        results: the result clauses (empty for ``none``).
        arc_instance: the ``i=`` of an ARC-Authentication-Results header, else ``None``.
        error: why the header could not be parsed (then ``results`` is empty), else ``None``.
        raw: the header value as found.
    """

    authserv_id: str
    results: tuple[AuthResult, ...] = ()
    arc_instance: int | None = None
    error: str | None = None
    raw: str = ""

    def result(self, method: str, /) -> AuthResult | None:
        """The first result of ``method``, or ``None``."""
        return next((r for r in self.results if r.method == method.lower()), None)

    def to_text(self) -> str:
        """The header value, written by authres (with the ``i=`` prefix for ARC)."""
        value = build_authentication_results(self.authserv_id, self.results)
        return value if self.arc_instance is None else f"i={self.arc_instance}; {value}"


def build_authentication_results(authserv_id: str, results: Sequence[AuthResult], /) -> str:
    """An Authentication-Results header value (without the field name).

    Raises:
        ParseError: the authserv-id or a result is not valid in the header grammar.
    """
    features = authres.all_features()
    items = []
    for res in results:
        props = [
            authres.core.AuthenticationResultProperty(p.ptype, p.name, p.value)
            for p in res.properties
        ]
        try:
            item = features.result(res.method, None, res.result, None, res.reason, None, props)
        except ValueError as exc:
            raise ParseError(res.method, 0, f"invalid result: {exc}") from None
        item.result_comment = res.comment and _safe_comment(res.comment)
        items.append(item)
    try:
        header = features.header(authserv_id=authserv_id, results=items)
        return str(header.header_value())
    except authres.core.AuthResError as exc:
        raise ParseError(authserv_id, 0, f"invalid header: {exc}") from None


def parse_authentication_results(value: str, /, *, arc: bool = False) -> AuthResultsHeader:
    """Parse one header value (unfolded or not); ``arc`` for ARC-Authentication-Results.

    Raises:
        ParseError: the value does not follow RFC 8601 (or RFC 8617 §4.1.1).
    """
    text = _unfold(value)
    instance = None
    if arc:
        match = _ARC_INSTANCE.match(text)
        if match is None or not 1 <= int(match.group(1)) <= ARC_MAX_INSTANCE:
            raise ParseError(value, 0, "ARC-Authentication-Results must start with i=N;")
        instance, text = int(match.group(1)), text[match.end() :]
    try:
        parsed = authres.all_features().parse_value(text)
    except authres.core.SyntaxError as exc:
        remaining = getattr(exc, "parse_text", None) or ""
        position = max(0, len(value) - len(remaining)) if remaining else len(value)
        raise ParseError(value, min(position, len(value)), exc.message or "syntax error") from None
    except (authres.core.AuthResError, ValueError, IndexError, TypeError, AttributeError) as exc:
        raise ParseError(
            value, 0, f"not an Authentication-Results value ({type(exc).__name__})"
        ) from None
    return AuthResultsHeader(
        authserv_id=str(parsed.authserv_id),
        results=tuple(_convert(r) for r in parsed.results),
        arc_instance=instance,
        raw=value,
    )


def read_authentication_results(message: bytes | str, /) -> tuple[AuthResultsHeader, ...]:
    """Every Authentication-Results and ARC-Authentication-Results header, top first.

    A header that does not parse is kept, with its ``error`` set and no results.
    """
    found = []
    for name, value in header_fields(message):
        lower = name.lower()
        if lower not in (AR_HEADER.lower(), ARC_AR_HEADER.lower()):
            continue
        arc = lower == ARC_AR_HEADER.lower()
        try:
            found.append(parse_authentication_results(value, arc=arc))
        except ParseError as exc:
            found.append(AuthResultsHeader(authserv_id="", error=exc.reason, raw=value))
    return tuple(found)


def header_fields(message: bytes | str, /) -> list[tuple[str, str]]:
    """The (name, value) header fields of a message, values unfolded, top first."""
    data = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    fields: list[tuple[str, str]] = []
    for line in re.split(r"\r?\n", data):
        if not line:
            break
        if line[:1] in (" ", "\t"):
            if fields:
                name, value = fields[-1]
                fields[-1] = (name, value + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if colon and name and " " not in name:
            fields.append((name.strip(), value.strip()))
    return fields


def _convert(result: object) -> AuthResult:
    props = tuple(
        AuthResultProperty(ptype=str(p.type), name=str(p.name), value=str(p.value or ""))
        for p in getattr(result, "properties", ())
    )
    reason = getattr(result, "reason", None)
    return AuthResult(
        method=str(getattr(result, "method", "")),
        result=str(getattr(result, "result", "")),
        reason=None if reason is None else str(reason),
        properties=props,
    )


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).strip()


def _safe_comment(text: str) -> str:
    # A comment may not hold unbalanced parentheses or control characters (RFC 5322 §3.2.2).
    return re.sub(r"[^\x20-\x7e]|[()\\]", "?", text)
