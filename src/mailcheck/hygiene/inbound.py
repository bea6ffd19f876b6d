"""One message from the bounce mailbox -> what it says: a bounce, a complaint, an
unsubscribe request, or something else.

The order matters: an ARF report (``message/feedback-report``) is a complaint even though
it is a ``multipart/report``; a DSN (``message/delivery-status``) is read field by field;
a Microsoft JMRP report in its older shapes (``X-HmXmrOriginalRecipient``) is a complaint;
a mail whose subject is ``unsubscribe TOKEN`` is an RFC 8058 mailto unsubscribe (the
token says who and which list, the sender's address says nothing); only then do the
heuristics of flufl.bounce look at what is left. Auto-replies, human answers and spam
come out as ``other``.

Example::

    inbound = read_inbound(raw, secret=secret)
    for bounce in inbound.bounces:
        if bounce.verified and bounce.kind == "hard":
            ...
"""

from __future__ import annotations

import datetime as dt
import re

from mailcheck.hygiene.arf import read_arf, read_jmrp
from mailcheck.hygiene.dsn import is_dsn, read_dsn, read_other_bounce
from mailcheck.hygiene.inbound_types import InboundKind, InboundMessage
from mailcheck.hygiene.mime import decoded_header, first_header, parse_message
from mailcheck.hygiene.tokens import TokenError, verify_unsubscribe

__all__ = ["HEURISTIC_BYTES", "read_inbound"]

HEURISTIC_BYTES = 256 * 1024
"""How much of a non-standard bounce the heuristic detectors read."""

# What unsubscribe_headers puts in the mailto URI: "subject=unsubscribe%20TOKEN". Mail
# clients may add "Re:" or change the case of the word, never the token.
_UNSUBSCRIBE = re.compile(r"(?i)(?:^|\s)unsubscribe\s+([A-Za-z0-9_-]{16,1024})\s*$")


def read_inbound(
    raw: bytes, /, *, secret: bytes, now: dt.datetime | None = None, max_bytes: int | None = None
) -> InboundMessage:
    """What one message that came back says (see the module docstring).

    Args:
        raw: the message as received.
        secret: the deployment secret that signed VERP, tracking and unsubscribe tokens.
        now: the time unsubscribe tokens are checked against (default: now).
        max_bytes: refuse larger messages (default
            :data:`~.inbound_types.MAX_MESSAGE_BYTES`).

    Raises:
        InboundError: the message cannot be read at all (empty, too large, not mail,
            MIME too deep, a bounce detector failed); ``problem`` says why.
        ConfigError: the secret is unusable.
    """
    msg = parse_message(raw) if max_bytes is None else parse_message(raw, max_bytes=max_bytes)
    message_id = first_header(msg, "Message-ID")
    complaint = read_arf(msg, secret=secret)
    if complaint is not None:
        return InboundMessage(kind=InboundKind.COMPLAINT, message_id=message_id,
                              complaint=complaint)  # fmt: skip
    if is_dsn(msg):
        bounces = read_dsn(msg, secret=secret)
        if bounces:
            return InboundMessage(kind=InboundKind.BOUNCE, message_id=message_id,
                                  bounces=bounces)  # fmt: skip
        # A success notice (NOTIFY=SUCCESS: Action delivered, relayed, expanded).
        return InboundMessage(
            kind=InboundKind.OTHER,
            message_id=message_id,
            problem="a delivery report with no failed or delayed recipient",
        )
    complaint = read_jmrp(msg, secret=secret)
    if complaint is not None:
        return InboundMessage(kind=InboundKind.COMPLAINT, message_id=message_id,
                              complaint=complaint)  # fmt: skip
    subject = decoded_header(msg, "Subject") or ""
    found = _UNSUBSCRIBE.search(subject)
    if found:
        try:
            request = verify_unsubscribe(found.group(1), secret=secret, now=now)
        except TokenError as exc:
            return InboundMessage(kind=InboundKind.UNSUBSCRIBE, message_id=message_id,
                                  problem=str(exc))  # fmt: skip
        return InboundMessage(kind=InboundKind.UNSUBSCRIBE, message_id=message_id,
                              unsubscribe=request)  # fmt: skip
    # flufl.bounce's detectors each read every body line: they see the first 256 KiB (a
    # bounce's own text comes first; what follows is the quoted original), so a large
    # message costs them no more than a small one.
    heuristic = msg if len(raw) <= HEURISTIC_BYTES else parse_message(raw[:HEURISTIC_BYTES])
    bounces = read_other_bounce(heuristic, secret=secret)
    if bounces:
        return InboundMessage(kind=InboundKind.BOUNCE, message_id=message_id, bounces=bounces)
    return InboundMessage(
        kind=InboundKind.OTHER,
        message_id=message_id,
        problem="not a bounce, a complaint or an unsubscribe request",
    )
