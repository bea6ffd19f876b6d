"""Bounces that come back after delivery: RFC 3464 DSNs, and the others through flufl.bounce.

A standard DSN (``multipart/report; report-type=delivery-status``) is read field by field
with the stdlib ``email`` package: per recipient, ``Final-Recipient``,
``Original-Recipient``, ``Action``, ``Status``, ``Diagnostic-Code``, ``Remote-MTA``. The
non-standard bounces real MTAs still send (qmail, Exchange, old Yahoo...) go to
`flufl.bounce <https://flufl-bounce.readthedocs.io/>`_, the detector GNU Mailman uses, rather
than to a home-made regex zoo; it names the failing addresses and whether they failed for
good, and nothing else.

Every :class:`~.inbound_types.Bounce` says how its recipient was identified
(:func:`~.mime.match_recipient`); only a verified one may suppress.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from email.message import Message

from mailcheck.hygiene.bounce_kind import bounce_kind
from mailcheck.hygiene.inbound_types import (
    MAX_RECIPIENT_BLOCKS,
    Bounce,
    BounceKind,
    InboundError,
    InboundProblem,
    MatchedBy,
    clean_text,
)
from mailcheck.hygiene.mime import (
    first_header,
    iter_parts,
    match_recipient,
    original_headers,
    part_text,
)

__all__ = ["is_dsn", "read_dsn", "read_other_bounce"]

# flufl.bounce logs a detector's exception with a traceback before re-raising it; we catch
# and report it, so the traceback must not reach a CLI's stderr through logging's
# last-resort handler.
logging.getLogger("flufl.bounce").addHandler(logging.NullHandler())

# RFC 3464 §2.3.4: status-code = DIGIT "." 1*3DIGIT "." 1*3DIGIT (RFC 3463 classes 2, 4, 5).
_STATUS = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?!\d)")
_BLOCK_SPLIT = re.compile(r"\r?\n[ \t]*\r?\n")
# Actions that report a failure (RFC 3464 §2.3.3); "error" is opensmtpd's non-standard one.
_FAILED = ("failed", "error")
_DELAYED = ("delayed",)
_MAX_TEXT = 64 * 1024


def is_dsn(msg: Message, /) -> bool:
    """Whether ``msg`` holds an RFC 3464 delivery-status part (RFC 6522 report or not)."""
    return _status_part(msg) is not None


def _status_part(msg: Message) -> Message | None:
    for part in iter_parts(msg):
        if part.get_content_type() in ("message/delivery-status", "text/delivery-status"):
            return part
    return None


def _blocks(part: Message) -> list[Message]:
    """The field blocks of a delivery-status part (parsed by ``email``, or by us when the
    part came as text)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = part_text(part, limit=_MAX_TEXT * 16)
    return [
        email.message_from_string(chunk.strip("\r\n") + "\n", policy=email.policy.compat32)
        for chunk in _BLOCK_SPLIT.split(text)
        if chunk.strip()
    ]


def _typed(value: str | None) -> str | None:
    """``"rfc822; a@b"`` -> ``"a@b"`` (RFC 3464 §2.3.2: address-type ";" generic-address)."""
    if not value:
        return None
    text = value.partition(";")[2] if ";" in value else value
    text = text.strip().strip("<>").strip()
    return text or None


def _status(value: str | None) -> str | None:
    if not value:
        return None
    found = _STATUS.search(value[:100])
    return ".".join(found.groups()) if found else None


def _action(value: str | None) -> str | None:
    if not value:
        return None
    words = value.lower().split()
    return words[0][:32] if words else None


def read_dsn(msg: Message, /, *, secret: bytes) -> tuple[Bounce, ...]:
    """The failed and delayed recipients of an RFC 3464 DSN (empty if it reports none).

    Blocks whose Action is ``delivered``, ``relayed`` or ``expanded`` are success
    notices and are left out. At most :data:`~.inbound_types.MAX_RECIPIENT_BLOCKS` are read.
    """
    part = _status_part(msg)
    if part is None:
        return ()
    blocks = _blocks(part)[: MAX_RECIPIENT_BLOCKS + 1]
    # RFC 3464 §2.2: the per-message fields come first, in a block of their own.
    head = next((b for b in blocks if b.get("Final-Recipient") is None), None)
    original = original_headers(msg)
    senders = [first_header(head, "X-Postfix-Sender")] if head is not None else []
    envids = [first_header(head, "Original-Envelope-Id")] if head is not None else []
    rid, matched = match_recipient(
        msg, original, secret=secret, quoted_senders=senders, envelope_ids=envids
    )
    message_id = first_header(msg, "Message-ID")
    original_id = first_header(original, "Message-ID") if original else None
    bounces = []
    for block in blocks:
        if block.get("Final-Recipient") is None and block.get("Original-Recipient") is None:
            continue
        action = _action(first_header(block, "Action"))
        status = _status(first_header(block, "Status"))
        if action is not None and action not in _FAILED + _DELAYED:
            continue  # delivered, relayed, expanded: not a bounce
        diagnostic = _typed(first_header(block, "Diagnostic-Code"))
        recipient = _typed(first_header(block, "Original-Recipient")) or _typed(
            first_header(block, "Final-Recipient")
        )
        kind = BounceKind.SOFT if action in _DELAYED else bounce_kind(status, diagnostic)
        bounces.append(
            Bounce(
                recipient=clean_text(recipient, limit=320) if recipient else None,
                status=status,
                action=action,
                diagnostic=diagnostic,
                remote_mta=_typed(first_header(block, "Remote-MTA")),
                kind=kind,
                detector="rfc3464",
                verp_recipient_id=rid,
                matched_by=matched,
                message_id=message_id,
                original_message_id=original_id,
            )
        )
    return tuple(bounces)


def _scan_status(msg: Message) -> tuple[str | None, str | None]:
    """The first enhanced status code in the human-readable text, and its line."""
    for part in iter_parts(msg):
        if part.get_content_type() != "text/plain":
            continue
        for line in part_text(part, limit=_MAX_TEXT).splitlines():
            found = _STATUS.search(line)
            if found and found.group(1) in "45":
                return ".".join(found.groups()), clean_text(line)
    return None, None


def read_other_bounce(msg: Message, /, *, secret: bytes) -> tuple[Bounce, ...]:
    """A non-standard bounce, through ``flufl.bounce.all_failures`` (empty: not a bounce).

    flufl.bounce tells temporary from permanent failures where it can, and reports a
    failure it cannot tell as permanent. A permanent one is hard only when the text also
    carries an enhanced status code that says so; otherwise it counts as soft (repeated
    soft bounces suppress after the configured limit), because a heuristic alone is too
    weak a reason to stop mailing someone at once.

    Raises:
        InboundError: a detector failed on this message (``detector-failed``).
    """
    from mailcheck._optional import require

    all_failures = require("flufl.bounce", "bounces").all_failures

    try:
        temporary, permanent = all_failures(msg)
    except Exception as exc:  # third-party heuristics on hostile input: any failure
        raise InboundError(
            InboundProblem.DETECTOR_FAILED, f"flufl.bounce failed: {type(exc).__name__}"
        ) from exc
    if not temporary and not permanent:
        return ()
    original = original_headers(msg)
    rid, matched = match_recipient(msg, original, secret=secret)
    status, line = _scan_status(msg)
    found = bounce_kind(status, line) if status else BounceKind.UNKNOWN
    bounces = []
    addresses = [(a, False) for a in sorted(temporary)] + [(a, True) for a in sorted(permanent)]
    for address, failed_for_good in addresses[:MAX_RECIPIENT_BLOCKS]:
        if failed_for_good:
            kind = BounceKind.HARD if found is BounceKind.HARD else BounceKind.SOFT
        else:
            kind = BounceKind.SOFT
        bounces.append(
            Bounce(
                recipient=clean_text(address.decode("ascii", "replace"), limit=320),
                status=status,
                action="failed" if failed_for_good else "delayed",
                diagnostic=line,
                kind=kind,
                verp_recipient_id=rid,
                matched_by=matched if rid is not None else MatchedBy.UNVERIFIED,
                message_id=first_header(msg, "Message-ID"),
                original_message_id=first_header(original, "Message-ID") if original else None,
                detector="flufl.bounce",
            )
        )
    return tuple(bounces)
