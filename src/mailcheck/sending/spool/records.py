"""The spool's values: recipient states, event kinds, priorities and the rows it returns."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import re
from typing import Any

__all__ = [
    "BULK",
    "FINAL_STATES",
    "RETRY_STATES",
    "STATES",
    "TRANSACTIONAL",
    "WAITING_STATES",
    "EventKind",
    "Job",
    "RecipientRow",
    "RecipientState",
    "SpoolEvent",
    "Submitted",
    "submission_key",
]


class RecipientState(enum.StrEnum):
    """Where a recipient is::

        queued -> sending -> delivered | deferred | bounced | expired | suppressed
        deferred -> sending (when its next attempt is due)

    ``suppressed``: the suppression list stopped it, at submission (it was never queued)
    or when it was claimed or about to be sent; the reason is its ``last_reply``.

    The values are what the spool stores and what JSON shows.
    """

    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    EXPIRED = "expired"
    SUPPRESSED = "suppressed"


class EventKind(enum.StrEnum):
    """The state changes the spool reports once each (the values are stored as they are).

    Besides recipient states: ``tenant-paused`` (a complaint rate paused a tenant's bulk
    mail; ``rcpt`` holds the tenant, ``reply`` the reason) and ``complaint-warning`` (a
    tenant's complaint rate crossed the warning threshold; same fields).
    """

    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    EXPIRED = "expired"
    SUPPRESSED = "suppressed"
    TENANT_PAUSED = "tenant-paused"
    COMPLAINT_WARNING = "complaint-warning"


#: Every recipient state, in the order of the life of a recipient.
STATES: tuple[RecipientState, ...] = tuple(RecipientState)
#: States a recipient never leaves by itself: what ``purge`` may delete.
FINAL_STATES = (
    RecipientState.DELIVERED,
    RecipientState.BOUNCED,
    RecipientState.EXPIRED,
    RecipientState.SUPPRESSED,
)
#: States ``retry`` accepts: deferred by default; bounced or expired only when named.
RETRY_STATES = (RecipientState.DEFERRED, RecipientState.BOUNCED, RecipientState.EXPIRED)
#: States of recipients waiting for an attempt.
WAITING_STATES = (RecipientState.QUEUED, RecipientState.DEFERRED)

#: Priority of newsletters and other bulk mail.
BULK = 0
#: Priority of password resets, confirmations and other mail someone is waiting for: it goes
#: before bulk mail waiting for the same budget.
TRANSACTIONAL = 10


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One message to the recipients of one domain, claimed for an attempt."""

    message_id: int
    domain: str
    mail_from: str
    tenant: str | None
    raw: bytes
    created: float
    recipients: tuple[tuple[int, str, int], ...]  # (recipient id, address, attempts so far)
    priority: int = BULK
    list_id: str | None = None  # the mailing list named at submission
    generation: int = 0  # the suppression list's generation when it was claimed


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RecipientRow:
    """One recipient as the admin API shows it (no body).

    Attributes:
        id: the recipient id (what ``retry(ids=...)`` and ``drop`` take).
        message_id: its message.
        rcpt: the address; ``domain`` its lower-cased domain.
        tenant: the message's tenant, or None.
        mail_from: the envelope sender.
        state: where it is (:class:`RecipientState`).
        attempts: delivery attempts so far.
        next_attempt: when it is due (wall-clock seconds).
        last_reply: the last SMTP reply or error, as received (untrusted text).
        created: when the message was submitted.
        priority: the message's priority (higher = sooner).
        updated: the last state change (what ``purge(older_than=...)`` compares).
        tls: the TLS of the transaction that delivered or last tried it (an
            :class:`~mailcheck.sending.tlspolicy.EffectiveTls` value), None before any
            connection.
    """

    id: int
    message_id: int
    rcpt: str
    domain: str
    tenant: str | None
    mail_from: str
    state: RecipientState
    attempts: int
    next_attempt: float
    last_reply: str
    created: float
    priority: int
    updated: float
    tls: str | None = None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> RecipientRow:
        """A row selected in field order."""
        (
            id_,
            mid,
            rcpt,
            domain,
            tenant,
            mail_from,
            state,
            attempts,
            due,
            reply,
            created,
            priority,
            updated,
            tls,
        ) = row
        return cls(
            id=id_,
            message_id=mid,
            rcpt=rcpt,
            domain=domain,
            tenant=tenant,
            mail_from=mail_from,
            state=RecipientState(state),
            attempts=attempts,
            next_attempt=due,
            last_reply=reply,
            created=created,
            priority=priority,
            updated=updated,
            tls=tls,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable fields (``state`` as its string)."""
        return dataclasses.asdict(self) | {"state": str(self.state)}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SpoolEvent:
    """A recipient's state change, reported once."""

    id: int
    message_id: int
    recipient_id: int
    rcpt: str
    kind: EventKind
    reply: str
    at: float

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> SpoolEvent:
        """A row selected in field order."""
        id_, mid, rid, rcpt, kind, reply, at = row
        return cls(
            id=id_,
            message_id=mid,
            recipient_id=rid,
            rcpt=rcpt,
            kind=EventKind(kind),
            reply=reply,
            at=at,
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Submitted:
    """What :meth:`SqliteSpool.submit_once` did.

    Attributes:
        message_id: the message queued now; when every recipient was a duplicate, the
            message they were queued with before; 0 when there was none of either.
        queued: recipients queued now, as given.
        duplicates: recipients already submitted under the same key (whatever their
            state, delivered included), as given; they are not queued again.
        suppressed: ``(recipient as given, reason)`` for the recipients the suppression
            list stopped: recorded in the spool as ``suppressed``, never queued.
    """

    message_id: int
    queued: tuple[str, ...]
    duplicates: tuple[str, ...]
    suppressed: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable fields."""
        return {
            "message_id": self.message_id,
            "queued": list(self.queued),
            "duplicates": list(self.duplicates),
            "suppressed": [{"rcpt": r, "reason": why} for r, why in self.suppressed],
        }


# RFC 5322 §3.6.4: msg-id = "<" id-left "@" id-right ">"; printable ASCII, no space, no
# angle bracket, one "@" (a permissive reading of dot-atom-text / no-fold-literal).
_MSG_ID_RE = re.compile(rb"<[\x21-\x3b\x3d\x3f\x41-\x7e]+@[\x21-\x3b\x3d\x3f\x41-\x7e]+>")
_FIELD_RE = re.compile(rb"^message-id[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_END_OF_HEADER_RE = re.compile(rb"\r?\n\r?\n")


def submission_key(raw: bytes, /) -> str:
    """The key under which :meth:`SqliteSpool.submit_once` remembers a message.

    The Message-ID field's value, stripped, angle brackets kept, when the header has
    exactly one and it is well-formed (``<left@right>``, printable ASCII); otherwise
    ``"sha256:"`` and the hex digest of the raw bytes (the same file gives the same key).

    Example:
        >>> submission_key(b"Message-ID: <1@asso.example>\\r\\n\\r\\nHi")
        '<1@asso.example>'
    """
    end = _END_OF_HEADER_RE.search(raw)
    head = raw if end is None else raw[: end.start()]
    if raw.startswith((b"\r\n", b"\n")):
        head = b""  # no header at all: the message starts with its body
    fields = _FIELD_RE.findall(head)
    if len(fields) == 1:
        value = re.sub(rb"\r?\n", b"", fields[0]).strip(b" \t")
        if _MSG_ID_RE.fullmatch(value):
            return value.decode("ascii")
    return "sha256:" + hashlib.sha256(raw).hexdigest()
