"""The plain types of mail that comes back: bounces, complaints, unsubscribe requests.

Nothing here does I/O or imports another hygiene module but :mod:`.tokens`' request type.
A report is untrusted mail: every text field is cut to a bounded length and stripped of
control characters before it lands here (:func:`clean_text`).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from mailcheck.errors import MailcheckError
from mailcheck.hygiene.tokens import UnsubscribeRequest
from mailcheck.model import ToDict

__all__ = [
    "MAX_FIELD_CHARS",
    "MAX_MESSAGE_BYTES",
    "MAX_RECIPIENT_BLOCKS",
    "Bounce",
    "BounceKind",
    "Complaint",
    "InboundError",
    "InboundKind",
    "InboundMessage",
    "InboundProblem",
    "MatchedBy",
    "clean_text",
]

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
"""Larger messages are not parsed (a bounce quotes at most the original message)."""
MAX_HEADER_BYTES = 1024 * 1024
"""A header section larger than this is abuse, not a bounce."""
MAX_RECIPIENT_BLOCKS = 1000
"""Per-recipient blocks read from one DSN; the rest are ignored (and counted)."""
MAX_FIELD_CHARS = 1000
"""Longest text kept from one report field (a Diagnostic-Code, a User-Agent)."""


def clean_text(value: object, /, *, limit: int = MAX_FIELD_CHARS) -> str:
    """``value`` as one line of printable text, at most ``limit`` characters."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value)[: limit * 4])
    return " ".join(text.split())[:limit]


class InboundProblem(enum.StrEnum):
    """Why a message could not be read at all (it is kept aside with this reason)."""

    EMPTY = "empty"
    TOO_LARGE = "too-large"
    HEADERS_TOO_LARGE = "headers-too-large"
    NOT_A_MESSAGE = "not-a-message"
    TOO_DEEP = "mime-too-deep"
    DETECTOR_FAILED = "detector-failed"


class InboundError(MailcheckError, ValueError):
    """A message that cannot be read as mail; ``problem`` says why in a stable word.

    The text never quotes the message (it is untrusted and may be large).
    """

    def __init__(self, problem: InboundProblem, reason: str) -> None:
        self.problem = problem
        self.reason = reason
        super().__init__(f"{problem}: {reason}")


class BounceKind(enum.StrEnum):
    """What a bounce says about the recipient's address."""

    HARD = "hard"
    """The address does not work (5.1.1 user unknown, 5.1.10 null MX, 5.2.1 disabled)."""
    SOFT = "soft"
    """It failed for now (4.2.2 mailbox full, a delay); counted, suppressed after N in M days."""
    UNKNOWN = "unknown"
    """The report does not say enough, or it is about us (5.7.1 policy), not the address."""


class MatchedBy(enum.StrEnum):
    """How a report was tied to the recipient we sent to.

    Only ``verp`` and ``tracking`` are verified (a signed token, see :mod:`.tokens`):
    they alone may suppress. ``unverified`` reports name an address that anybody could
    have written into a forged report; they are counted and shown, never acted on.
    """

    VERP = "verp"
    TRACKING = "tracking"
    UNVERIFIED = "unverified"


class InboundKind(enum.StrEnum):
    """What one message turned out to be."""

    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    OTHER = "other"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Bounce(ToDict):
    """One recipient a bounce reports.

    Attributes:
        recipient: the address as the report names it (Original-Recipient, else
            Final-Recipient, else what the detector found); untrusted.
        status: the RFC 3463 enhanced status code (``5.1.1``), or None.
        action: the RFC 3464 Action (``failed``, ``delayed``), or None.
        diagnostic: the Diagnostic-Code text (e.g. the remote reply), cut to one line.
        remote_mta: the Remote-MTA that answered, or None.
        kind: hard, soft or unknown (see :class:`BounceKind`).
        verp_recipient_id: the spool recipient id a verified token names, or None.
        matched_by: how the recipient was identified (:class:`MatchedBy`).
        message_id: the Message-ID of the bounce itself (its source, for the record).
        original_message_id: the Message-ID of the mail that bounced, if quoted.
        detector: ``rfc3464`` for a standard DSN, ``flufl.bounce`` for the others.
    """

    recipient: str | None
    status: str | None = None
    action: str | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    kind: BounceKind
    verp_recipient_id: int | None = None
    matched_by: MatchedBy = MatchedBy.UNVERIFIED
    message_id: str | None = None
    original_message_id: str | None = None
    detector: str = "rfc3464"

    @property
    def verified(self) -> bool:
        """True when a signed token names the recipient (only then may it suppress)."""
        return self.verp_recipient_id is not None and self.matched_by is not MatchedBy.UNVERIFIED


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Complaint(ToDict):
    """One ARF (RFC 5965) feedback report: somebody pressed "this is spam".

    Attributes:
        feedback_type: ``abuse``, ``fraud``, ``virus``, ``other``, ``not-spam``,
            ``auth-failure`` (RFC 5965 §7.3 registry; RFC 6591), lower-cased.
        user_agent: the reporter's software (``Yahoo!-Mail-Feedback/2.0``).
        version: the ARF version (``1``).
        original_mail_from: the envelope sender of the reported mail (our VERP path).
        original_rcpt_to: the envelope recipients, when the provider says (most redact).
        arrival_date: when the provider received the mail (text as given).
        source_ip: the IP that delivered it (ours).
        reported_domain: the domains the report is about.
        reporting_mta: the provider's MTA.
        provider: the mailbox provider, guessed from the report (``yahoo``,
            ``microsoft``...), or None.
        verp_recipient_id: the spool recipient id a verified token names, or None.
        matched_by: how the recipient was identified.
        message_id: the Message-ID of the report.
        original_message_id: the Message-ID of the reported mail.
    """

    feedback_type: str
    user_agent: str | None = None
    version: str | None = None
    original_mail_from: str | None = None
    original_rcpt_to: tuple[str, ...] = ()
    arrival_date: str | None = None
    source_ip: str | None = None
    reported_domain: tuple[str, ...] = ()
    reporting_mta: str | None = None
    provider: str | None = None
    verp_recipient_id: int | None = None
    matched_by: MatchedBy = MatchedBy.UNVERIFIED
    message_id: str | None = None
    original_message_id: str | None = None

    @property
    def verified(self) -> bool:
        """True when a signed token names the recipient (only then may it suppress)."""
        return self.verp_recipient_id is not None and self.matched_by is not MatchedBy.UNVERIFIED

    @property
    def is_spam_complaint(self) -> bool:
        """Whether it counts as a complaint: every type but ``not-spam`` (the reader
        rescued it from the spam folder) and ``auth-failure`` (RFC 6591, a DKIM/SPF
        failure report, not a person's judgement)."""
        return self.feedback_type not in ("not-spam", "auth-failure")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage(ToDict):
    """What one message that came back says.

    Attributes:
        kind: bounce, complaint, unsubscribe (a mail to the RFC 8058 mailto address) or
            other (an auto-reply, a human answer, spam).
        message_id: its Message-ID, or None.
        bounces: the recipients a bounce reports (empty unless ``kind`` is bounce).
        complaint: the complaint, for ``kind`` complaint.
        unsubscribe: the verified request, for ``kind`` unsubscribe.
        problem: why nothing can be done with it although it was read (an expired or
            forged unsubscribe token, a DSN with no failed recipient...), or None.
    """

    kind: InboundKind
    message_id: str | None = None
    bounces: tuple[Bounce, ...] = ()
    complaint: Complaint | None = None
    unsubscribe: UnsubscribeRequest | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "kind": str(self.kind),
            "message_id": self.message_id,
            "bounces": [b.to_dict() for b in self.bounces],
            "complaint": self.complaint.to_dict() if self.complaint else None,
            "unsubscribe": self.unsubscribe.to_dict() if self.unsubscribe else None,
            "problem": self.problem,
        }
