"""The floor of :mod:`mailcheck.mailbox`: one message read from a mailbox, and its errors."""

from __future__ import annotations

import dataclasses

from mailcheck.errors import MailcheckError

__all__ = ["DEFAULT_MAX_BYTES", "MailItem", "MailboxError"]

#: Messages larger than this are not read (reports and bounces are far smaller; a larger
#: message in a report mailbox is abuse). Callers may raise it.
DEFAULT_MAX_BYTES = 25 * 1024 * 1024


class MailboxError(MailcheckError):
    """The mailbox could not be read: missing Maildir, IMAP login refused, connection lost.

    The message is one line fit for a CLI, and never contains a password.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class MailItem:
    """One message from a mailbox.

    Attributes:
        key: where it is in its mailbox (a Maildir file name, an IMAP ``folder/UID``).
        raw: the message, or ``None`` when it was not read (``problem`` says why).
        size: its size in bytes.
        problem: why ``raw`` is ``None`` (e.g. larger than the source's ``max_bytes``).
    """

    key: str
    raw: bytes | None
    size: int
    problem: str | None = None
