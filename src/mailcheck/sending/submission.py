"""The Sender's submission half: sign, check addresses, queue (the suppression list is
checked in the same spool transaction). Mixed into
:class:`~mailcheck.sending.sender.Sender`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from mailcheck.sending.spool import SqliteSpool, Submitted, submission_key

if TYPE_CHECKING:
    from mailcheck.sending.feeder import Feeder

__all__ = ["Signer", "Submitting"]


class Signer(Protocol):
    """Anything that DKIM-signs a message."""

    def sign(self, message: bytes, /) -> bytes:
        """The message with its signature header."""
        ...


class Submitting:
    """Submission methods of the Sender (its attributes are set by ``Sender.__init__``)."""

    spool: SqliteSpool
    signer: Signer | None
    feeder: Feeder
    sign_when_sent: bool  # per-recipient headers: each copy is signed when it is sent

    async def submit(
        self,
        raw: bytes,
        /,
        *,
        mail_from: str,
        rcpt_to: Sequence[str],
        tenant: str | None = None,
        priority: int = 0,
        list: str | None = None,
    ) -> int:
        """Sign (when a signer is set) and queue a message; returns its id after the commit.

        Addresses are checked first (RFC 5321 mailbox syntax): a bad one raises
        :class:`~mailcheck.errors.AddressError` and nothing is queued. ``list``: the
        mailing list it goes to (suppressions for that list apply). A recipient the
        suppression list stops is recorded ``suppressed`` and reported once as a
        ``suppressed`` event; :meth:`submit_checked` also returns them.
        """
        return (
            await self.submit_checked(
                raw, mail_from=mail_from, rcpt_to=rcpt_to, tenant=tenant, priority=priority,
                list=list,
            )
        ).message_id  # fmt: skip

    async def submit_checked(
        self,
        raw: bytes,
        /,
        *,
        mail_from: str,
        rcpt_to: Sequence[str],
        tenant: str | None = None,
        priority: int = 0,
        list: str | None = None,
    ) -> Submitted:
        """As :meth:`submit`; returns the message id, the recipients queued and the ones
        the suppression list stopped, with the reason (``Submitted.suppressed``)."""
        raw, mail_from, rcpts, tenant = self._prepare(raw, mail_from, rcpt_to, tenant)
        done = await self.spool.submit_checked(
            raw, mail_from=mail_from, rcpt_to=rcpts, tenant=tenant, priority=priority,
            list_id=list,
        )  # fmt: skip
        self.feeder.wake()
        return done

    async def submit_once(
        self,
        raw: bytes,
        /,
        *,
        mail_from: str,
        rcpt_to: Sequence[str],
        tenant: str | None = None,
        priority: int = 0,
        key: str | None = None,
        list: str | None = None,
    ) -> Submitted:
        """As :meth:`submit`, but idempotent: recipients already submitted under ``key``
        (default: the Message-ID, else a hash of the content) are not queued again.
        ``Submitted.suppressed`` names the recipients the suppression list stopped."""
        key = key or submission_key(raw)
        raw, mail_from, rcpts, tenant = self._prepare(raw, mail_from, rcpt_to, tenant)
        done = await self.spool.submit_once(
            raw, mail_from=mail_from, rcpt_to=rcpts, tenant=tenant, priority=priority, key=key,
            list_id=list,
        )  # fmt: skip
        if done.queued:
            self.feeder.wake()
        return done

    def _prepare(
        self, raw: bytes, mail_from: str, rcpt_to: Sequence[str], tenant: str | None
    ) -> tuple[bytes, str, list[str], str]:
        from mailcheck.address import parse_mailbox

        sender = parse_mailbox(mail_from).to_smtp() if mail_from else ""
        rcpts = [parse_mailbox(r).to_smtp() for r in rcpt_to]
        if self.signer is not None and not self.sign_when_sent:
            raw = self.signer.sign(raw)
        return raw, sender, rcpts, tenant or sender.rpartition("@")[2].lower()
