"""The Sender's submission half: sign, check addresses, lint bulk mail, queue (the
suppression list is checked in the same spool transaction). Mixed into
:class:`~mailcheck.sending.sender.Sender`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from mailcheck.errors import ConfigError, MailcheckError
from mailcheck.sending.events import EventKind, Listeners, SendEvent
from mailcheck.sending.spool import TRANSACTIONAL, SqliteSpool, Submitted, submission_key

if TYPE_CHECKING:
    from mailcheck.hygiene.verp import UnsubscribeConfig
    from mailcheck.lint import LintReport
    from mailcheck.sending.feeder import Feeder

__all__ = [
    "BULK_LINT_PROFILES",
    "LINT_MODES",
    "LintRefused",
    "Signer",
    "Submitting",
    "lint_settings",
]

#: What bulk mail is linted against at submission: the rules every receiver applies and
#: the three big providers' bulk-sender rules (``docs/bulk-sender-rules.md``).
BULK_LINT_PROFILES = ("baseline", "gmail-bulk", "yahoo-bulk", "microsoft-bulk")
#: ``off``; ``warn``: a ``lint`` event when a provider would reject the message or it is at
#: risk, and it is queued; ``refuse``: :class:`LintRefused` when a provider would reject it.
LINT_MODES = ("off", "warn", "refuse")


def lint_settings(lint: str, profiles: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The Sender's ``lint`` and ``lint_profiles``, checked when the Sender is made.

    Raises:
        ConfigError: an unknown mode or profile name.
    """
    if lint not in LINT_MODES:
        raise ConfigError(f"lint must be one of {', '.join(LINT_MODES)}, not {lint!r}")
    if lint != "off":
        from mailcheck.lint.profiles import ProfileSet

        ProfileSet.builtin().select(profiles)  # an unknown name fails now, not at submit
    return lint, tuple(profiles)


class LintRefused(MailcheckError):
    """Bulk mail a big provider would reject, refused at submission (``lint="refuse"``);
    nothing was queued. ``report`` is the :class:`~mailcheck.lint.LintReport`."""

    def __init__(self, report: LintReport) -> None:
        self.report = report
        lines = "; ".join(report.summary)
        codes = ", ".join(sorted({f.code for f in report.findings if f.severity == "error"}))
        super().__init__(f"refused before sending: {lines} ({codes or 'see the report'})")


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
    unsubscribe: UnsubscribeConfig | None
    listeners: Listeners
    lint: str
    lint_profiles: tuple[str, ...]

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
        raw, mail_from, rcpts, tenant = self._prepare(
            raw, mail_from, rcpt_to, tenant, priority, list
        )
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
        raw, mail_from, rcpts, tenant = self._prepare(
            raw, mail_from, rcpt_to, tenant, priority, list
        )
        done = await self.spool.submit_once(
            raw, mail_from=mail_from, rcpt_to=rcpts, tenant=tenant, priority=priority, key=key,
            list_id=list,
        )  # fmt: skip
        if done.queued:
            self.feeder.wake()
        return done

    def _prepare(
        self,
        raw: bytes,
        mail_from: str,
        rcpt_to: Sequence[str],
        tenant: str | None,
        priority: int,
        list: str | None,
    ) -> tuple[bytes, str, list[str], str]:
        """Addresses checked, the message signed (unless each copy is) and linted."""
        from mailcheck.address import parse_mailbox

        sender = parse_mailbox(mail_from).to_smtp() if mail_from else ""
        rcpts = [parse_mailbox(r).to_smtp() for r in rcpt_to]
        if self.signer is not None and not self.sign_when_sent:
            raw = self.signer.sign(raw)
        self._lint(raw, sender, rcpts, priority, list)
        return raw, sender, rcpts, tenant or sender.rpartition("@")[2].lower()

    def _lint(
        self, raw: bytes, mail_from: str, rcpts: Sequence[str], priority: int, list: str | None
    ) -> None:
        """Lint bulk mail as the big receivers would judge it (``lint=`` of the Sender).

        The copy linted is the one a recipient gets: with one-click unsubscribe headers
        added per recipient, the first recipient's headers, then the signature.
        """
        if self.lint == "off" or priority >= TRANSACTIONAL or not rcpts:
            return
        from mailcheck.lint import lint_offline

        sample = raw
        if self.sign_when_sent:
            if self.unsubscribe is not None and list:
                sample = self.unsubscribe.headers(rcpts[0], list) + sample
            if self.signer is not None:
                sample = self.signer.sign(sample)
        report = lint_offline(sample, profiles=self.lint_profiles, mail_from=mail_from or None)
        if report.rejected_by and self.lint == "refuse":
            raise LintRefused(report)
        if report.rejected_by or any(v.verdict != "accepted" for v in report.verdicts):
            self.listeners.emit(
                SendEvent(kind=EventKind.LINT, rcpt=",".join(rcpts[:3]),
                          reply="; ".join(report.summary))
            )  # fmt: skip
