"""Authentication-Results headers (RFC 8601) and their ARC twins (RFC 8617): build and read.

Reading tells you what a receiver (Gmail, Orange...) said about a test message;
building writes what :func:`mailcheck.verify_message` found. Both follow the
RFC 8601 §2.2 grammar here, in linear time, with no recursion.

Building never lets a value change the header's structure: every value
(``authserv-id``, ``reason``, property values) is written as an RFC 2045 token,
as an address when it is a plain ``local-part@domain``, or else as a
quoted-string with ``\\`` and ``"`` escaped; comments have ``(``, ``)`` and ``\\``
escaped. A value holding a control character (CR, LF, NUL, any other C0 or C1
control, DEL, U+2028/U+2029) or a lone surrogate is refused with
:class:`~mailcheck.errors.ParseError`: no line break ever reaches a header.
Reading what was built gives back exactly what was written (keywords in lower case).

Reading is bounded: a value longer than :data:`MAX_VALUE_LENGTH` or with comments
nested deeper than :data:`MAX_COMMENT_DEPTH` is an error (a header kept with
``error`` set by :func:`read_authentication_results`).

Example::

    for header in read_authentication_results(raw_message):
        for result in header.results:
            print(header.authserv_id, result.method, result.result, result.property("header.d"))
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mailcheck.authres_grammar import (
    MAX_COMMENT_DEPTH,
    AuthResult,
    AuthResultProperty,
    AuthResultsHeader,
    Reader,
)
from mailcheck.errors import ParseError

__all__ = [
    "ARC_AR_HEADER",
    "ARC_MAX_INSTANCE",
    "AR_HEADER",
    "MAX_COMMENT_DEPTH",
    "MAX_VALUE_LENGTH",
    "AuthResult",
    "AuthResultProperty",
    "AuthResultsHeader",
    "build_authentication_results",
    "drop_unsafe_characters",
    "header_fields",
    "parse_authentication_results",
    "read_authentication_results",
]

AR_HEADER = "Authentication-Results"
ARC_AR_HEADER = "ARC-Authentication-Results"
# RFC 8617 §4.1.1: ARC-Authentication-Results = "i=" instance ";" authres-payload.
_ARC_INSTANCE = re.compile(r"[ \t]*i[ \t]*=[ \t]*(\d{1,2})[ \t]*;", re.ASCII)
# RFC 8617 §4.2.1: "The maximum number of ARC Sets that can be attached to a message is 50."
ARC_MAX_INSTANCE = 50
# Real headers are a few hundred characters; a longer value is not parsed (kept with .error).
MAX_VALUE_LENGTH = 64 * 1024

# Never in a header we build: line breaks (CR, LF, and what str.splitlines() also splits on),
# NUL, the other C0 and C1 controls, DEL, and lone surrogates (not encodable in UTF-8).
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# RFC 2045 §5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>.
_TOKEN = re.compile(r"[!#$%&'*+.^_`{|}~0-9A-Za-z-]+")
# RFC 8601 §2.2: pvalue = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS];
# written unquoted only as dot-atom "@" host name, never with anything a parser could split on.
_ATOM = r"[!#$%&'*+/=?^_`{|}~0-9A-Za-z-]+"
_ADDRESS = re.compile(
    rf"(?:{_ATOM}(?:\.{_ATOM})*)?@[0-9A-Za-z](?:[0-9A-Za-z-]*[0-9A-Za-z])?"
    r"(?:\.[0-9A-Za-z](?:[0-9A-Za-z-]*[0-9A-Za-z])?)*"
)
# RFC 8601 §2.2: Keyword = ldh-str (methods, results, ptypes, properties).
_KEYWORD = re.compile(r"[A-Za-z0-9-]*[A-Za-z0-9]")


# --- building ---------------------------------------------------------------------------------


def build_authentication_results(authserv_id: str, results: Sequence[AuthResult], /) -> str:
    """An Authentication-Results header value (without the field name), on one line.

    Keywords (method, result, ptype, property) are written in lower case; values
    are quoted when they are not tokens (see the module docstring).

    Raises:
        ParseError: a value holds a control character or a lone surrogate, or a
            keyword is not an RFC 8601 ``Keyword`` (letters, digits, inner hyphens).
    """
    parts = [_value(authserv_id, "authserv-id")]
    for res in results:
        clause = f"{_keyword(res.method, 'method')}={_keyword(res.result, 'result')}"
        if res.comment is not None:
            clause += f" ({_comment(res.comment)})"
        if res.reason is not None:
            clause += f" reason={_value(res.reason, 'reason')}"
        for prop in res.properties:
            key = f"{_keyword(prop.ptype, 'ptype')}.{_keyword(prop.name, 'property')}"
            clause += f" {key}={_pvalue(prop.value, key)}"
        parts.append(clause)
    if not results:
        parts.append("none")
    return "; ".join(parts)


def drop_unsafe_characters(text: str, /) -> str:
    """``text`` without the characters a built header refuses (what verify does with
    values taken from a message, such as a DKIM ``d=`` or ``s=``)."""
    return _UNSAFE.sub("", text)


def _check_safe(text: str, what: str) -> None:
    bad = _UNSAFE.search(text)
    if bad is not None:
        raise ParseError(
            text, bad.start(), f"{what}: control character {bad.group()!r} refused in a header"
        )


def _keyword(text: str, what: str) -> str:
    if not _KEYWORD.fullmatch(text):
        _check_safe(text, what)
        raise ParseError(text, 0, f"{what} {text[:60]!r} is not a keyword (letters, digits, '-')")
    return text.lower()


def _value(text: str, what: str) -> str:
    _check_safe(text, what)
    if _TOKEN.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pvalue(text: str, what: str) -> str:
    _check_safe(text, what)
    return text if _ADDRESS.fullmatch(text) else _value(text, what)


def _comment(text: str) -> str:
    _check_safe(text, "comment")
    return re.sub(r"([()\\])", r"\\\1", text)


# --- reading ----------------------------------------------------------------------------------


def parse_authentication_results(value: str, /, *, arc: bool = False) -> AuthResultsHeader:
    """Parse one header value (unfolded or not); ``arc`` for ARC-Authentication-Results.

    Raises:
        ParseError: the value does not follow RFC 8601 (or RFC 8617 §4.1.1), is longer
            than :data:`MAX_VALUE_LENGTH`, or nests comments deeper than
            :data:`MAX_COMMENT_DEPTH`.
    """
    if len(value) > MAX_VALUE_LENGTH:
        raise ParseError(value, MAX_VALUE_LENGTH, f"longer than {MAX_VALUE_LENGTH} characters")
    text = re.sub(r"\r?\n(?=[ \t])", "", value)
    instance = None
    start = 0
    if arc:
        match = _ARC_INSTANCE.match(text)
        if match is None or not 1 <= int(match.group(1)) <= ARC_MAX_INSTANCE:
            raise ParseError(value, 0, "ARC-Authentication-Results must start with i=N;")
        instance, start = int(match.group(1)), match.end()
    reader = Reader(text, start)
    try:
        authserv_id, results = reader.payload()
    except ParseError as exc:
        raise ParseError(value, min(exc.position, len(value)), exc.reason) from None
    return AuthResultsHeader(
        authserv_id=authserv_id, results=results, arc_instance=instance, raw=value
    )


def read_authentication_results(message: bytes | str, /) -> tuple[AuthResultsHeader, ...]:
    """Every Authentication-Results and ARC-Authentication-Results header, top first.

    A header that does not parse (including one over the bounds) is kept, with
    its ``error`` set and no results; this never raises for any input.
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
    """The (name, value) header fields of a message, values unfolded, top first.

    Only the header block is read (up to the first empty line); time is linear in its size.
    """
    if isinstance(message, bytes):
        end = re.search(rb"\r?\n\r?\n", message)
        block = message[: end.start()] if end else message
        data = block.decode("utf-8", "replace")
    else:
        end_text = re.search(r"\r?\n\r?\n", message)
        data = message[: end_text.start()] if end_text else message
    fields: list[tuple[str, list[str]]] = []
    for line in re.split(r"\r?\n", data):
        if not line:
            break
        if line[:1] in (" ", "\t"):
            if fields:
                fields[-1][1].append(line.strip())
            continue
        name, colon, value = line.partition(":")
        if colon and name and " " not in name:
            fields.append((name.strip(), [value.strip()]))
    return [(name, " ".join(parts)) for name, parts in fields]
