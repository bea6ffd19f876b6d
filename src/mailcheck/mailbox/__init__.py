"""Reading mail that comes back to the hoster: a Maildir or an IMAP folder.

Report ingestion (:mod:`mailcheck.reports`) and bounce ingestion (:mod:`mailcheck.hygiene`)
read through the same two sources, which share one shape: ``messages()`` yields
:class:`MailItem` objects, ``done(item)`` marks one handled (moved to ``cur/``, or flagged
seen and optionally moved), ``close()``. What is not marked done is read again next time.
"""

from __future__ import annotations

from mailcheck.mailbox.imap import PASSWORD_ENV, ImapSource, read_password
from mailcheck.mailbox.maildir import MaildirSource
from mailcheck.mailbox.types import DEFAULT_MAX_BYTES, MailboxError, MailItem

__all__ = [
    "DEFAULT_MAX_BYTES",
    "PASSWORD_ENV",
    "ImapSource",
    "MailItem",
    "MailboxError",
    "MaildirSource",
    "read_password",
]
