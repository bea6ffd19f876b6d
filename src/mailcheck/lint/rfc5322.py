"""RFC 5322 rules: the fields a message must have once, address syntax, line length, 8-bit
text in the header. Pure: a :class:`RawMessage` in, findings out.
"""

from __future__ import annotations

import email.utils
import re

from mailcheck import codes
from mailcheck.address import recipients_from_headers
from mailcheck.errors import AddressError
from mailcheck.lint.message import HeaderField, RawMessage, first_eight_bit, longest_lines
from mailcheck.model import Finding

# RFC 5322 §2.1.1: "Each line of characters MUST be no more than 998 characters, and SHOULD
# be no more than 78 characters, excluding the CRLF."
MAX_LINE = 998
RECOMMENDED_LINE = 78
# RFC 5322 §3.6 (table): fields with "max number" 1.
SINGLE_FIELDS = (
    "from", "sender", "reply-to", "to", "cc", "bcc", "message-id", "in-reply-to",
    "references", "subject", "date",
)  # fmt: skip
# RFC 5322 §3.6.2, §3.6.3: fields holding an address-list or mailbox-list.
ADDRESS_FIELDS = ("from", "sender", "reply-to", "to", "cc", "bcc")
# RFC 5322 §3.6.4: msg-id = "<" id-left "@" id-right ">" (no white space inside).
_MSG_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_SUBJECT = "message"


def check_structure(message: RawMessage) -> list[Finding]:
    """Malformed header lines, missing or repeated fields."""
    findings: list[Finding] = []
    if message.malformed or message.too_many_fields:
        lines = [m.line for m in message.malformed[:20]]
        reasons = sorted({m.reason for m in message.malformed})
        if message.too_many_fields:
            reasons.append("too many header fields")
        findings.append(
            codes.LINT_HEADER_MALFORMED.finding(
                _SUBJECT,
                f"{len(message.malformed)} header line(s) are not fields ({', '.join(reasons)}).",
                details={"lines": lines, "reasons": reasons},
                fix="Every header line is 'Name: value' or a continuation starting with a "
                "space or tab; fix the program that builds the message.",
            )
        )
    counts: dict[str, int] = {}
    for field in message.fields:
        counts[field.lower] = counts.get(field.lower, 0) + 1
    for name, code in (
        ("from", codes.LINT_FROM_MISSING),
        ("date", codes.LINT_DATE_MISSING),
        ("message-id", codes.LINT_MESSAGE_ID_MISSING),
    ):
        if not counts.get(name):
            findings.append(
                code.finding(
                    _SUBJECT,
                    f"The message has no {_TITLE[name]} field, which RFC 5322 requires.",
                    details={"field": _TITLE[name]},
                    fix=f"Add a {_TITLE[name]} field when the message is built.",
                )
            )
    repeated = [name for name in SINGLE_FIELDS if counts.get(name, 0) > 1]
    if repeated:
        findings.append(
            codes.LINT_HEADER_DUPLICATE.finding(
                _SUBJECT,
                "Fields that may appear once appear several times: "
                + ", ".join(_TITLE[n] for n in repeated)
                + ".",
                details={"fields": [_TITLE[n] for n in repeated]},
                fix="Keep one of each; a receiver cannot tell which one the reader sees.",
            )
        )
    return findings


_TITLE = {
    "from": "From", "sender": "Sender", "reply-to": "Reply-To", "to": "To", "cc": "Cc",
    "bcc": "Bcc", "message-id": "Message-ID", "in-reply-to": "In-Reply-To",
    "references": "References", "subject": "Subject", "date": "Date",
}  # fmt: skip


def field_addresses(field: HeaderField) -> list[str]:
    """The addr-specs of an address field (display names and groups dropped).

    Raises:
        AddressError: the field holds something that is not a mailbox.
    """
    # mailcheck.address reads address-lists from To fields: the value is given as one.
    recipients, _ = recipients_from_headers(b"To:" + field.raw + b"\r\n\r\n")
    return recipients


def check_addresses(message: RawMessage) -> tuple[list[Finding], str | None]:
    """Syntax of the address fields; returns the findings and the From address (or None)."""
    findings: list[Finding] = []
    from_address: str | None = None
    bad: list[dict[str, object]] = []
    for field in message.fields:
        if field.lower not in ADDRESS_FIELDS:
            continue
        try:
            addresses = field_addresses(field)
        except AddressError as exc:
            bad.append({"field": field.name, "line": field.line, "reason": exc.reason})
            continue
        if field.lower == "from" and from_address is None:
            if len(addresses) == 1:
                from_address = addresses[0]
            else:
                findings.append(
                    codes.LINT_FROM_NOT_SINGLE.finding(
                        _SUBJECT,
                        f"The From field holds {len(addresses)} addresses; receivers (Gmail "
                        "first) refuse anything but one.",
                        details={"count": len(addresses)},
                        fix="Put exactly one address in From; others go in Reply-To.",
                    )
                )
    if bad:
        findings.append(
            codes.LINT_ADDRESS_INVALID.finding(
                _SUBJECT,
                f"{len(bad)} address field(s) hold something that is not a mail address "
                f"(first: {bad[0]['field']}: {bad[0]['reason']}).",
                details={"fields": bad[:20]},
                fix="Write each address as name@domain.example, with an optional display "
                'name: "Jo Doe" <jo@example.org>.',
            )
        )
    return findings, from_address


def check_dates_and_ids(message: RawMessage) -> list[Finding]:
    """The Date parses (RFC 5322 §3.3); the Message-ID is ``<left@right>`` (§3.6.4)."""
    findings: list[Finding] = []
    date = message.first("date")
    if date is not None and not _date_parses(date.value):
        findings.append(
            codes.LINT_DATE_INVALID.finding(
                _SUBJECT,
                "The Date field is not an RFC 5322 date.",
                details={"value": date.value[:200]},
                fix="Write it as 'Sun, 06 Dec 2026 08:21:06 +0000' "
                "(Python: email.utils.format_datetime).",
            )
        )
    message_id = message.first("message-id")
    if message_id is not None and not _MSG_ID.fullmatch(message_id.value):
        findings.append(
            codes.LINT_MESSAGE_ID_INVALID.finding(
                _SUBJECT,
                "The Message-ID is not of the form <unique@domain>.",
                details={"value": message_id.value[:200]},
                fix="Python: email.utils.make_msgid(domain='example.org').",
            )
        )
    return findings


def _date_parses(value: str) -> bool:
    try:
        email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    return True


def check_lines(message: RawMessage, raw: bytes) -> list[Finding]:
    """Line lengths of the whole message (RFC 5322 §2.1.1)."""
    longest, line, over = longest_lines(raw, over=MAX_LINE)
    if over:
        return [
            codes.LINT_LINE_TOO_LONG.finding(
                _SUBJECT,
                f"{over} line(s) are longer than {MAX_LINE} characters (the longest, line "
                f"{line}, has {longest}); servers may cut them or refuse the message.",
                details={"longest": longest, "line": line, "count": over},
                fix="Encode the part as quoted-printable or base64 (HTML bodies from "
                "templates are the usual cause).",
            )
        ]
    if longest > RECOMMENDED_LINE:
        _, _, over78 = longest_lines(raw, over=RECOMMENDED_LINE)
        return [
            codes.LINT_LINE_LONG.finding(
                _SUBJECT,
                f"{over78} line(s) are longer than {RECOMMENDED_LINE} characters (longest "
                f"{longest}, line {line}).",
                details={"longest": longest, "line": line, "count": over78},
                fix="Quoted-printable keeps lines at 76 characters.",
            )
        ]
    return []


def check_header_eight_bit(message: RawMessage) -> list[Finding]:
    """Raw 8-bit text in header fields: needs RFC 2047 encoding (or SMTPUTF8, RFC 6532)."""
    names = [f.name for f in message.fields if first_eight_bit(f.raw) >= 0]
    if not names:
        return []
    return [
        codes.LINT_EIGHT_BIT_HEADER.finding(
            _SUBJECT,
            "Header fields hold raw 8-bit text: only a server announcing SMTPUTF8 may take "
            f"them ({', '.join(dict.fromkeys(names))}).",
            details={"fields": list(dict.fromkeys(names))[:20]},
            fix="Encode display names and Subject as RFC 2047 encoded-words "
            "(=?utf-8?q?...?=); Python's email package does it with policy=SMTP.",
        )
    ]
