"""Reading untrusted reports safely with the stdlib ``email`` package, and tying them to
the recipient we sent to.

Parsing uses the ``compat32`` policy: it registers defects instead of raising on broken
headers, which is what mail from strangers needs; sizes and MIME depth are bounded before
and while walking. Matching (:func:`match_recipient`) tries the signed tokens only:

1. the VERP return path the report was delivered to (``Delivered-To``,
   ``X-Original-To``, ``Envelope-To``, ``To``), then the addresses the report quotes as
   the original envelope sender (a DSN's ``X-Postfix-Sender``, an ARF report's
   ``Original-Mail-From``), then the ``Return-Path`` of the attached original;
2. the ``X-Mailcheck-Id`` tracking header of the attached original, then a DSN's
   ``Original-Envelope-Id`` (RFC 3461 ENVID, if the sender set it to the token);
3. otherwise nothing is verified: the report's own address is only a hint.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import re
from collections.abc import Iterable, Iterator
from email.message import Message

from mailcheck.hygiene.inbound_types import (
    MAX_HEADER_BYTES,
    MAX_MESSAGE_BYTES,
    InboundError,
    InboundProblem,
    MatchedBy,
    clean_text,
)
from mailcheck.hygiene.tokens import TRACKING_HEADER, recipient_id_from_token, verp_recipient_id

__all__ = [
    "ORIGINAL_TYPES",
    "decoded_header",
    "first_header",
    "iter_parts",
    "match_recipient",
    "original_headers",
    "parse_message",
    "part_text",
]

MAX_PARTS = 500
"""MIME parts looked at in one message; a report has three or four."""
MAX_DEPTH = 16
"""MIME nesting followed; deeper parts are not looked at."""
#: Where a report quotes the original message (RFC 3462/6522 §3, RFC 5965 §2 (d)).
ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
_DELIVERED_TO = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def parse_message(raw: bytes, /, *, max_bytes: int = MAX_MESSAGE_BYTES) -> Message:
    """``raw`` as a :class:`~email.message.Message`, or :class:`InboundError`.

    Raises:
        InboundError: empty, larger than ``max_bytes``, a header section over 1 MiB, no
            header field at all (random bytes), or MIME nested beyond Python's recursion.
    """
    if not raw.strip():
        raise InboundError(InboundProblem.EMPTY, "the message is empty")
    if len(raw) > max_bytes:
        raise InboundError(InboundProblem.TOO_LARGE, f"{len(raw)} bytes, over {max_bytes}")
    end = _HEADER_END.search(raw, 0, MAX_HEADER_BYTES + 4)
    if end is None and len(raw) > MAX_HEADER_BYTES:
        raise InboundError(InboundProblem.HEADERS_TOO_LARGE, f"over {MAX_HEADER_BYTES} bytes")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    except RecursionError as exc:
        raise InboundError(InboundProblem.TOO_DEEP, "MIME nested too deeply") from exc
    if not msg.keys():
        raise InboundError(InboundProblem.NOT_A_MESSAGE, "no header field: not a mail message")
    return msg


def iter_parts(msg: Message, /) -> Iterator[Message]:
    """Every part of ``msg`` (itself first), breadth-first, bounded in count and depth.

    Only ``multipart/*`` parts are entered.
    """
    queue: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while queue and seen < MAX_PARTS:
        part, depth = queue.pop(0)
        seen += 1
        yield part
        # Only multiparts are entered: a message/rfc822 holds the original mail (quoted,
        # not part of the report) and a message/delivery-status its field blocks.
        if depth >= MAX_DEPTH or part.get_content_maintype() != "multipart":
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            queue.extend((child, depth + 1) for child in payload if isinstance(child, Message))


def part_text(part: Message, /, *, limit: int = MAX_MESSAGE_BYTES) -> str:
    """The decoded text of a leaf part (transfer encoding undone, charset best effort)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw[:limit] if isinstance(raw, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload[:limit].decode(charset, "replace")
    except LookupError:  # an unknown charset name
        return payload[:limit].decode("utf-8", "replace")


def first_header(msg: Message, name: str, /) -> str | None:
    """The first ``name`` field, unfolded and cleaned, or None."""
    value = msg.get(name)
    if value is None:
        return None
    text = clean_text(value)
    return text or None


def decoded_header(msg: Message, name: str, /) -> str | None:
    """The first ``name`` field with RFC 2047 encoded words decoded (a Subject)."""
    value = msg.get(name)
    if value is None:
        return None
    try:
        chunks = email.header.decode_header(str(value))
        text = "".join(
            c.decode(cs or "ascii", "replace") if isinstance(c, bytes) else c for c, cs in chunks
        )
    except (LookupError, ValueError):
        text = str(value)
    return clean_text(text) or None


def original_headers(msg: Message, /) -> Message | None:
    """The header section of the original message a report quotes, or None.

    ``message/rfc822`` holds it as a sub-message; ``text/rfc822-headers`` (RFC 6522)
    and ``message/rfc822-headers`` hold only the header text, parsed here.
    """
    for part in iter_parts(msg):
        ctype = part.get_content_type()
        if ctype not in ORIGINAL_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            inner = payload[0]
            if not _encoded(part) or inner.keys():
                return inner
            # RFC 2046 §5.2.1 forbids base64 or quoted-printable on message/rfc822, yet
            # some feedback loops encode the original: the email package then sees a
            # message without headers whose body is the encoded text. Decode it here.
            part = _reencoded(part, inner)
        text = part_text(part, limit=MAX_HEADER_BYTES)
        if text.strip():
            return email.message_from_string(text, policy=email.policy.compat32)
    return None


def _encoded(part: Message) -> bool:
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    return cte in ("base64", "quoted-printable")


def _reencoded(part: Message, inner: Message) -> Message:
    """A text part carrying ``inner``'s body with ``part``'s transfer encoding."""
    body = inner.get_payload()
    text = Message()
    text["Content-Type"] = "text/plain; charset=utf-8"
    text["Content-Transfer-Encoding"] = str(part["Content-Transfer-Encoding"])
    text.set_payload(body if isinstance(body, str) else "")
    return text


def _addresses(values: Iterable[str | None]) -> Iterator[str]:
    """The addresses in header values that could be VERP paths (they hold a ``+``)."""
    for value in values:
        if not value or "+" not in value:
            continue
        for _name, address in email.utils.getaddresses([value[:2000]]):
            if address:
                yield address
        # "rfc822; addr" (DSN and ARF fields) and bare "<addr>" forms.
        tail = value.rpartition(";")[2].strip().strip("<>").strip()
        if "@" in tail:
            yield tail


def match_recipient(
    report: Message,
    original: Message | None,
    /,
    *,
    secret: bytes,
    quoted_senders: Iterable[str | None] = (),
    envelope_ids: Iterable[str | None] = (),
) -> tuple[int | None, MatchedBy]:
    """The spool recipient id the report's signed tokens name, and how it was found.

    Args:
        report: the report (bounce or ARF) as received.
        original: the original message's headers it quotes, if any.
        secret: the deployment secret that signed the tokens.
        quoted_senders: envelope senders the report states (``X-Postfix-Sender``,
            ``Original-Mail-From``).
        envelope_ids: RFC 3461 ``Original-Envelope-Id`` values.

    Returns:
        ``(id, MatchedBy.VERP | MatchedBy.TRACKING)``, or ``(None, MatchedBy.UNVERIFIED)``
        when no token verifies: then nothing may be suppressed on its word.
    """
    paths: list[str | None] = []
    for name in _DELIVERED_TO:
        paths.extend(str(v) for v in report.get_all(name) or ())
    paths.extend(quoted_senders)
    if original is not None:
        paths.extend(str(v) for v in original.get_all("Return-Path") or ())
    for address in _addresses(paths):
        found = verp_recipient_id(address, secret=secret)
        if found is not None:
            return found, MatchedBy.VERP
    tokens: list[str | None] = []
    if original is not None:
        tokens.extend(str(v) for v in original.get_all(TRACKING_HEADER) or ())
    tokens.extend(envelope_ids)
    for token in tokens:
        if token:
            found = recipient_id_from_token(token.strip()[:100], secret=secret)
            if found is not None:
                return found, MatchedBy.TRACKING
    return None, MatchedBy.UNVERIFIED
