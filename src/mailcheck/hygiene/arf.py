"""ARF complaints (RFC 5965): "this is spam" reports from feedback loops (RFC 6449).

A report is ``multipart/report; report-type=feedback-report`` with three parts: a human
note, a ``message/feedback-report`` part of fields (``Feedback-Type``, ``User-Agent``,
``Version``, ``Original-Mail-From``, ``Original-Rcpt-To``, ``Arrival-Date``,
``Source-IP``, ``Reported-Domain``...), and the reported message or its headers. The big
providers follow it with a few habits of their own:

* Yahoo's Complaint Feedback Loop (https://senders.yahooinc.com/faqs/) sends from
  ``feedback@arf.mail.yahoo.com`` for mail signed with an enrolled DKIM domain, quoting
  the full original headers (lately the headers only);
* Microsoft's JMRP sends from ``staff@hotmail.com`` ("RFC822 Attachment" format), names
  the recipient in ``X-HmXmrOriginalRecipient`` inside the quoted message and no
  ``Original-Rcpt-To``.

The recipient is found by the signed tokens the quoted message carries
(:func:`~.mime.match_recipient`: its VERP ``Return-Path``, the ``Original-Mail-From``,
its ``X-Mailcheck-Id``); the addresses a report states are kept as unverified hints.
"""

from __future__ import annotations

import email
import email.policy
import ipaddress
from email.message import Message

from mailcheck.hygiene.inbound_types import Complaint, clean_text
from mailcheck.hygiene.mime import (
    first_header,
    iter_parts,
    match_recipient,
    original_headers,
)

__all__ = ["FEEDBACK_TYPES", "is_arf", "read_arf", "read_jmrp"]

#: RFC 5965 §7.3 "Feedback Report Type Values" registry (with RFC 6591's auth-failure).
FEEDBACK_TYPES = frozenset({"abuse", "fraud", "other", "virus", "not-spam", "auth-failure"})
_MAX_LIST = 20  # Original-Rcpt-To / Reported-Domain fields kept from one report

# What a report's User-Agent or sender domain says about its provider (the group names
# of sending/providers.toml).
_PROVIDERS = (
    ("yahoo", ("yahoo", "aol")),
    ("microsoft", ("hotmail", "microsoft", "outlook", "msn")),
    ("google", ("google", "gmail")),
)


def _report_part(msg: Message) -> Message | None:
    for part in iter_parts(msg):
        if part.get_content_type() == "message/feedback-report":
            return part
    return None


def is_arf(msg: Message, /) -> bool:
    """Whether ``msg`` holds a ``message/feedback-report`` part."""
    return _report_part(msg) is not None


def _fields(part: Message) -> Message:
    """The field block of a feedback-report part (the email package parses it as a
    sub-message; a part that came as plain text is parsed here)."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    text = payload if isinstance(payload, str) else ""
    return email.message_from_string(text.lstrip("\r\n")[:65536], policy=email.policy.compat32)


def _all(block: Message, name: str) -> tuple[str, ...]:
    values = [clean_text(v, limit=320) for v in (block.get_all(name) or ())[:_MAX_LIST]]
    return tuple(v.strip("<>").strip() for v in values if v.strip("<>").strip())


def _ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        return None


def _provider(msg: Message, user_agent: str | None) -> str | None:
    sender = (first_header(msg, "From") or "") + " " + (first_header(msg, "Return-Path") or "")
    text = f"{user_agent or ''} {sender}".lower()
    for name, needles in _PROVIDERS:
        if any(n in text for n in needles):
            return name
    return None


def read_arf(msg: Message, /, *, secret: bytes) -> Complaint | None:
    """The complaint an ARF report makes, or None if ``msg`` is not one.

    A ``Feedback-Type`` outside :data:`FEEDBACK_TYPES` is kept lower-cased as given;
    :attr:`Complaint.is_spam_complaint` decides what counts.
    """
    part = _report_part(msg)
    if part is None:
        return None
    block = _fields(part)
    original = original_headers(msg)
    feedback = (first_header(block, "Feedback-Type") or "other").lower().split()[0][:32]
    mail_from = first_header(block, "Original-Mail-From")
    rcpt_to = _all(block, "Original-Rcpt-To")
    if not rcpt_to and original is not None:  # Microsoft JMRP names it in the original
        rcpt_to = _all(original, "X-HmXmrOriginalRecipient")
    rid, matched = match_recipient(msg, original, secret=secret, quoted_senders=[mail_from])
    user_agent = first_header(block, "User-Agent")
    return Complaint(
        feedback_type=feedback,
        user_agent=user_agent,
        version=first_header(block, "Version"),
        original_mail_from=mail_from.strip("<>").strip() if mail_from else None,
        original_rcpt_to=rcpt_to,
        arrival_date=first_header(block, "Arrival-Date") or first_header(block, "Received-Date"),
        source_ip=_ip(first_header(block, "Source-IP")),
        reported_domain=_all(block, "Reported-Domain"),
        reporting_mta=(first_header(block, "Reporting-MTA") or "").partition(";")[2].strip()
        or None,
        provider=_provider(msg, user_agent),
        verp_recipient_id=rid,
        matched_by=matched,
        message_id=first_header(msg, "Message-ID"),
        original_message_id=first_header(original, "Message-ID") if original else None,
    )


def read_jmrp(msg: Message, /, *, secret: bytes) -> Complaint | None:
    """A Microsoft JMRP complaint in its pre-ARF shapes, or None.

    JMRP partners may choose the "RFC822 Attachment" format (the reported message attached
    to a mail from ``staff@hotmail.com``) or the "Original" one (the reported message
    forwarded as it is); neither has a ``message/feedback-report`` part. Both carry the
    complaining address in ``X-HmXmrOriginalRecipient``, which is how they are known. The
    recipient is matched by the tokens of the reported message, as for ARF.
    """
    original = original_headers(msg)
    if original is None or original.get("X-HmXmrOriginalRecipient") is None:
        original = msg if msg.get("X-HmXmrOriginalRecipient") is not None else None
    if original is None:
        return None
    rid, matched = match_recipient(msg, original, secret=secret)
    return Complaint(
        feedback_type="abuse",
        original_rcpt_to=_all(original, "X-HmXmrOriginalRecipient"),
        provider="microsoft",
        verp_recipient_id=rid,
        matched_by=matched,
        message_id=first_header(msg, "Message-ID"),
        original_message_id=first_header(original, "Message-ID"),
    )
