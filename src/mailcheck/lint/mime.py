"""MIME structure rules: MIME-Version, multipart boundaries, transfer encodings, 8-bit
bodies without declaration. Pure and bounded (depth and part count).
"""

from __future__ import annotations

import dataclasses
import re

from mailcheck import codes
from mailcheck.lint.message import HeaderField, RawMessage, has_eight_bit, read_message
from mailcheck.model import Finding

# RFC 2045 §6.1: mechanism := "7bit" / "8bit" / "binary" / "quoted-printable" / "base64"
# (x-tokens are allowed by the grammar, but no receiver decodes them).
ENCODINGS = frozenset({"7bit", "8bit", "binary", "quoted-printable", "base64"})
# RFC 2045 §6.4: "If an entity is of type "multipart" the Content-Transfer-Encoding is not
# permitted to have any value other than "7bit", "8bit" or "binary"." (message/* likewise,
# RFC 2046 §5.2.1.)
IDENTITY_ENCODINGS = frozenset({"7bit", "8bit", "binary"})
EIGHT_BIT_ENCODINGS = frozenset({"8bit", "binary"})
# RFC 2046 §5.1.1: boundary := 0*69<bchars> bcharsnospace (1 to 70 characters).
MAX_BOUNDARY = 70
#: Bounds against hostile nesting: no real message comes near them.
MAX_DEPTH = 20
MAX_PARTS = 2000

_TYPE = re.compile(r"\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*/\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)")
_BOUNDARY = re.compile(r';\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', re.I)


@dataclasses.dataclass(slots=True)
class _Walk:
    """What the walk collected: problems per code, as (part path, reason)."""

    problems: dict[str, list[dict[str, str]]] = dataclasses.field(default_factory=dict)
    parts: int = 0

    def add(self, code: str, path: str, reason: str) -> None:
        items = self.problems.setdefault(code, [])
        if len(items) < 20:
            items.append({"part": path, "reason": reason})


def check_mime(message: RawMessage) -> list[Finding]:
    """MIME-Version, boundaries, transfer encodings and 8-bit text of every part."""
    walk = _Walk()
    has_mime_fields = any(
        f.lower in ("content-type", "content-transfer-encoding") for f in message.fields
    )
    if has_mime_fields and message.first("mime-version") is None:
        # RFC 2045 §4: messages composed under MIME "MUST include such a header field".
        walk.add(codes.LINT_MIME_MALFORMED.id, "1", "Content-Type without MIME-Version")
    _entity(message.fields, message.body, "1", 0, walk)
    return [_finding(code, items) for code, items in walk.problems.items()]


def _entity(
    fields: tuple[HeaderField, ...], body: bytes, path: str, depth: int, walk: _Walk
) -> None:
    walk.parts += 1
    content_type = next((f for f in fields if f.lower == "content-type"), None)
    encoding_field = next((f for f in fields if f.lower == "content-transfer-encoding"), None)
    encoding = encoding_field.value.lower() if encoding_field else "7bit"
    main, sub = "text", "plain"
    if content_type is not None:
        found = _TYPE.match(content_type.value)
        if found is None:
            walk.add(codes.LINT_MIME_MALFORMED.id, path, "a Content-Type that is not type/subtype")
        else:
            main, sub = found.group(1).lower(), found.group(2).lower()
    if encoding not in ENCODINGS:
        walk.add(
            codes.LINT_TRANSFER_ENCODING_INVALID.id, path, f"unknown encoding {encoding[:40]!r}"
        )
    elif main in ("multipart", "message") and encoding not in IDENTITY_ENCODINGS:
        walk.add(codes.LINT_TRANSFER_ENCODING_INVALID.id, path, f"{encoding} on a {main}/* entity")
    if main == "multipart" and content_type is not None:
        _multipart(content_type.value, body, path, depth, walk)
    elif encoding not in EIGHT_BIT_ENCODINGS and has_eight_bit(body):
        walk.add(
            codes.LINT_EIGHT_BIT_UNDECLARED.id,
            path,
            f"8-bit text in a {main}/{sub} part declared {encoding}",
        )


def _multipart(value: str, body: bytes, path: str, depth: int, walk: _Walk) -> None:
    found = _BOUNDARY.search(value)
    malformed = codes.LINT_MIME_MALFORMED.id
    if found is None:
        walk.add(malformed, path, "a multipart without a boundary parameter")
        return
    boundary = found.group(1) if found.group(1) is not None else found.group(2)
    if not 1 <= len(boundary) <= MAX_BOUNDARY:
        walk.add(malformed, path, f"a boundary of {len(boundary)} characters (1 to 70)")
        return
    if depth >= MAX_DEPTH:
        walk.add(malformed, path, f"multiparts nested deeper than {MAX_DEPTH}")
        return
    parts, closed = split_multipart(body, boundary.encode("utf-8", "surrogateescape"))
    if parts is None:
        walk.add(malformed, path, "the boundary never appears in the body")
        return
    if not closed:
        walk.add(malformed, path, "no closing boundary delimiter")
    if not parts:
        walk.add(malformed, path, "a multipart with no part")
    for index, part in enumerate(parts, start=1):
        if walk.parts >= MAX_PARTS:
            walk.add(malformed, path, f"more than {MAX_PARTS} parts")
            return
        inner = read_message(part)
        child = f"{path}.{index}"
        if inner.malformed:
            walk.add(malformed, child, "a part's header line is not a field")
        _entity(inner.fields, inner.body, child, depth + 1, walk)


def split_multipart(body: bytes, boundary: bytes) -> tuple[list[bytes] | None, bool]:
    """The parts of a multipart body and whether the closing delimiter was seen.

    ``None`` for the parts when no delimiter line appears at all. RFC 2046 §5.1.1: the
    delimiter is a line ``--boundary`` (``--boundary--`` closes), possibly followed by
    white space; the line break before it belongs to the delimiter.
    """
    marker = b"--" + boundary
    parts: list[bytes] = []
    start: int | None = None
    seen = False
    at = body.find(marker)
    while at >= 0:
        line_end = body.find(b"\n", at)
        line_end = len(body) if line_end < 0 else line_end
        rest = body[at + len(marker) : line_end].rstrip(b"\r").rstrip(b" \t")
        if (at == 0 or body[at - 1] == 0x0A) and rest in (b"", b"--"):
            seen = True
            if start is not None:
                # The CRLF (or LF) before the delimiter is part of it.
                end = at - 2 if body[max(at - 2, 0) : at] == b"\r\n" else at - 1
                parts.append(body[start : max(end, start)])
            if rest == b"--":
                return parts, True
            start = line_end + 1
        at = body.find(marker, line_end)
    return (parts if seen else None), False


_REASONS = {
    codes.LINT_MIME_MALFORMED.id: (
        "The MIME structure is broken",
        "Build the message with a MIME library (Python's email package) rather than by "
        "joining strings.",
    ),
    codes.LINT_TRANSFER_ENCODING_INVALID.id: (
        "A Content-Transfer-Encoding is unknown or not allowed where it is",
        "Use 7bit, 8bit, quoted-printable or base64 on leaf parts, and only 7bit or 8bit on "
        "multipart and message parts.",
    ),
    codes.LINT_EIGHT_BIT_UNDECLARED.id: (
        "A part holds 8-bit text but is declared 7bit",
        "Encode the part as quoted-printable or base64, or declare "
        "Content-Transfer-Encoding: 8bit (and send with 8BITMIME).",
    ),
}


def _finding(code: str, items: list[dict[str, str]]) -> Finding:
    title, fix = _REASONS[code]
    first = items[0]
    return codes.REGISTRY[code].finding(
        "message",
        f"{title} (part {first['part']}: {first['reason']}).",
        details={"problems": items},
        fix=fix,
    )
