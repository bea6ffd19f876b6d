"""Acting on what comes back: each bounce, complaint or unsubscribe request read by
:func:`~.inbound.read_inbound` becomes a suppression, a counted soft bounce, or nothing.

What gets done (docs/hygiene.md says why):

* a **verified hard bounce** (5.1.1 user unknown, 5.1.10 null MX, 5.2.1 disabled...)
  suppresses the spool's address for everybody (``hard-bounce``);
* a **verified soft bounce** (4.2.2 mailbox full, a delay) is counted; enough of them
  within the window suppress (``soft-bounce-limit``, :class:`~.rates.SoftBouncePolicy`);
* a **verified complaint** suppresses the address for the tenant and counts toward the
  tenant's complaint rate, which may pause its bulk mail
  (:meth:`~.feedback.Feedback.record_complaint`);
* a **mailto unsubscribe** with a valid token suppresses the address for its list;
* an **unverified** report (no signed token: a forged bounce, a bounce of mail sent
  without VERP, a report whose quoted headers were stripped) suppresses **nothing**: the
  address it names is shown, never acted on, so nobody can unsubscribe somebody else by
  mailing a fake bounce. So is a verified token whose recipient the spool no longer has.

The address suppressed is always the one the spool sent to (found by the verified id),
never an address read from the report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import sqlite3
from typing import Any

from mailcheck.errors import ConfigError
from mailcheck.hygiene.inbound import read_inbound
from mailcheck.hygiene.inbound_types import (
    Bounce,
    BounceKind,
    Complaint,
    InboundError,
    InboundKind,
    InboundMessage,
)
from mailcheck.hygiene.suppression import SuppressionList
from mailcheck.hygiene.tokens import recipient_id_from_token
from mailcheck.hygiene.types import SuppressionReason
from mailcheck.model import ToDict

__all__ = ["Action", "ActionKind", "BounceIngest", "IngestResult", "RecipientRef"]


class ActionKind(enum.StrEnum):
    """What was done about one report."""

    SUPPRESSED = "suppressed"
    """A suppression was added (or was already there)."""
    COUNTED = "counted"
    """A soft bounce was counted; the limit is not reached."""
    UNVERIFIED = "unverified"
    """No signed token names the recipient: nothing done."""
    UNKNOWN_RECIPIENT = "unknown-recipient"
    """The token verified but the spool has no such recipient (purged): nothing done."""
    NO_ACTION = "no-action"
    """Verified, but it says nothing about the address (a 5.7.1 policy refusal, not-spam,
    an expired unsubscribe token)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RecipientRef(ToDict):
    """The spool's recipient a verified token names."""

    id: int
    address: str
    tenant: str | None
    message_id: int
    list_id: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Action(ToDict):
    """One thing done (or not) about one report.

    Attributes:
        kind: what was done.
        reason: the suppression reason, for ``suppressed``.
        address: the spool's address acted on; for ``unverified``, the address the report
            names (untrusted, shown only).
        recipient_id: the verified spool recipient id, or None.
        tenant: the tenant the recipient's message belonged to.
        detail: one line saying why (status, feedback type, token problem).
    """

    kind: ActionKind
    reason: SuppressionReason | None = None
    address: str | None = None
    recipient_id: int | None = None
    tenant: str | None = None
    detail: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IngestResult(ToDict):
    """What one message was and what was done.

    Attributes:
        source: where it came from (a file name, a Maildir key, ``folder/UID``).
        inbound: what it says, or None when it could not be read.
        error: why it could not be read (``problem: reason``), or None.
        actions: what was done, one per report.
    """

    source: str
    inbound: InboundMessage | None = None
    error: str | None = None
    actions: tuple[Action, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "source": self.source,
            "inbound": self.inbound.to_dict() if self.inbound else None,
            "error": self.error,
            "actions": [a.to_dict() for a in self.actions],
        }


def _lookup(db: sqlite3.Connection, rid: int) -> RecipientRef | None:
    row = db.execute(
        "SELECT r.rcpt, m.tenant, r.message_id, m.list_id FROM recipients r"
        " JOIN messages m ON m.id = r.message_id WHERE r.id=?",
        (rid,),
    ).fetchone()
    if row is None:
        return None
    return RecipientRef(id=rid, address=row[0], tenant=row[1], message_id=row[2],
                        list_id=row[3])  # fmt: skip


def _on(
    ref: RecipientRef, kind: ActionKind, detail: str, reason: SuppressionReason | None = None
) -> Action:
    return Action(kind=kind, reason=reason, address=ref.address, recipient_id=ref.id,
                  tenant=ref.tenant, detail=detail)  # fmt: skip


class BounceIngest:
    """Reads messages that came back and acts on them through a :class:`SuppressionList`.

    Args:
        suppressions: the list (and its spool) to act on.
        secret: the deployment secret that signed the VERP, tracking and unsubscribe
            tokens (the Sender's :class:`~.verp.VerpConfig` secret).
        now: the time for unsubscribe token expiry (default: now).

    Example::

        ingest = BounceIngest(SuppressionList(spool), secret=secret)
        result = await ingest.ingest(raw, source="new/1733.M1P2.host")
    """

    def __init__(
        self, suppressions: SuppressionList, /, *, secret: bytes, now: dt.datetime | None = None
    ) -> None:
        self.suppressions = suppressions
        self.secret = secret
        self.now = now
        recipient_id_from_token("", secret=secret)  # a bad secret fails here, not per message

    async def recipient(self, recipient_id: int, /) -> RecipientRef | None:
        """The spool's recipient ``recipient_id``, or None (never submitted, or purged)."""
        found: RecipientRef | None = await self.suppressions.spool.transaction(
            lambda db: _lookup(db, recipient_id)
        )
        return found

    async def ingest(self, raw: bytes, /, *, source: str) -> IngestResult:
        """Read one message and act on it. Never raises for the message's sake: what
        cannot be read comes back with ``error`` set.

        Raises:
            SpoolError: the spool's database failed (the caller stops the batch).
        """
        try:
            inbound = read_inbound(raw, secret=self.secret, now=self.now)
        except InboundError as exc:
            return IngestResult(source=source, error=str(exc))
        return IngestResult(source=source, inbound=inbound, actions=await self.act(inbound))

    async def act(self, inbound: InboundMessage, /) -> tuple[Action, ...]:
        """Act on a message already read (see the module docstring)."""
        if inbound.kind is InboundKind.BOUNCE:
            actions = []
            done: set[int] = set()
            for bounce in inbound.bounces:
                if bounce.verp_recipient_id in done:
                    continue  # one envelope per recipient: its other blocks add nothing
                actions.append(await self._bounce(bounce))
                if bounce.verified and bounce.verp_recipient_id is not None:
                    done.add(bounce.verp_recipient_id)
            return tuple(actions)
        if inbound.kind is InboundKind.COMPLAINT and inbound.complaint is not None:
            return (await self._complaint(inbound.complaint, inbound.message_id),)
        if inbound.kind is InboundKind.UNSUBSCRIBE:
            return (await self._unsubscribe(inbound),)
        return ()

    async def _bounce(self, bounce: Bounce) -> Action:
        detail = " ".join(x for x in (bounce.status, bounce.diagnostic) if x) or bounce.kind
        if not bounce.verified or bounce.verp_recipient_id is None:
            return Action(kind=ActionKind.UNVERIFIED, address=bounce.recipient, detail=detail)
        ref = await self.recipient(bounce.verp_recipient_id)
        if ref is None:
            return Action(kind=ActionKind.UNKNOWN_RECIPIENT,
                          recipient_id=bounce.verp_recipient_id, detail=detail)  # fmt: skip
        source = f"DSN {bounce.message_id or '(no Message-ID)'}: {detail}"
        if bounce.kind is BounceKind.HARD:
            await self.suppressions.record_hard_bounce(ref.address, source=source)
            return _on(ref, ActionKind.SUPPRESSED, detail, SuppressionReason.HARD_BOUNCE)
        if bounce.kind is BounceKind.SOFT:
            entry = await self.suppressions.record_soft_bounce(
                ref.address, message_id=ref.message_id, tenant=ref.tenant,
                status=bounce.status or "", source=source,
            )  # fmt: skip
            if entry is None:
                return _on(ref, ActionKind.COUNTED, detail)
            return _on(ref, ActionKind.SUPPRESSED, detail, SuppressionReason.SOFT_BOUNCE_LIMIT)
        return _on(ref, ActionKind.NO_ACTION, detail)

    async def _complaint(self, complaint: Complaint, message_id: str | None) -> Action:
        detail = f"feedback-type {complaint.feedback_type}, report {message_id or '-'}"
        if complaint.user_agent:
            detail += f" from {complaint.user_agent}"
        rid = complaint.verp_recipient_id
        if not complaint.verified or rid is None:
            hint = complaint.original_rcpt_to[0] if complaint.original_rcpt_to else None
            return Action(kind=ActionKind.UNVERIFIED, address=hint, detail=detail)
        if not complaint.is_spam_complaint:
            return Action(kind=ActionKind.NO_ACTION, recipient_id=rid, detail=detail)
        # One complaint per copy sent, whatever the report's Message-ID: the token is in
        # the recipient's own copy, so a recipient forging reports with fresh Message-IDs
        # would otherwise count many times and could pause the whole tenant.
        try:
            outcome = await self.suppressions.record_complaint(
                recipient_id=rid, source=f"ARF complaint on copy #{rid}"
            )
        except ConfigError:  # the spool has no such recipient (purged since)
            return Action(kind=ActionKind.UNKNOWN_RECIPIENT, recipient_id=rid, detail=detail)
        if outcome.status != "ok":
            detail += f"; tenant complaint rate: {outcome.status}"
        return Action(kind=ActionKind.SUPPRESSED, reason=SuppressionReason.COMPLAINT,
                      address=outcome.address, recipient_id=rid,
                      tenant=outcome.tenant or None, detail=detail)  # fmt: skip

    async def _unsubscribe(self, inbound: InboundMessage) -> Action:
        request = inbound.unsubscribe
        if request is None:
            return Action(kind=ActionKind.NO_ACTION, detail=inbound.problem or "")
        await self.suppressions.add(
            request.address,
            reason=SuppressionReason.UNSUBSCRIBE,
            list=request.list,
            source=f"mailto unsubscribe {inbound.message_id or '(no Message-ID)'}",
        )
        return Action(kind=ActionKind.SUPPRESSED, reason=SuppressionReason.UNSUBSCRIBE,
                      address=request.address, detail=f"list {request.list}")  # fmt: skip
