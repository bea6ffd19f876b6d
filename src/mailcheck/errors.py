"""The exceptions mailcheck raises.

Exceptions are for the caller's mistakes and for I/O that could not be done; a
domain's problems are :class:`~mailcheck.model.Finding` objects, never
exceptions. The tree::

    MailcheckError
     +-- ParseError (also ValueError)        a record or reply that does not parse
     |    +-- AddressError                   a mail address that is not an RFC 5321 mailbox
     +-- ConfigError (also ValueError)       a bad option, configuration or data file
     +-- KeyFileError (also ValueError)      a key that cannot be read or used
     +-- SigningError (also ValueError)      a message that must not be signed as it is
     +-- TempError                           DNS could not answer (SERVFAIL, REFUSED, ...)
     |    +-- DnsTimeout (also TimeoutError) no answer in time
     +-- SpoolError                          the spool's database failed, or no such id
     +-- SyncCallError (also RuntimeError)   a ``*_sync`` twin called inside an event loop

Messages name the subject and never contain key material.
"""

from __future__ import annotations


class MailcheckError(Exception):
    """Root of every exception mailcheck raises on purpose."""


class ParseError(MailcheckError, ValueError):
    """A record, header or reply that does not follow its grammar.

    Attributes:
        text: the text that was parsed.
        position: the 0-based offset in ``text`` where parsing failed.
        reason: what is wrong, in a few words.
    """

    def __init__(self, text: str, position: int, reason: str) -> None:
        self.text = text
        self.position = position
        self.reason = reason
        super().__init__(f"{reason} (at position {position})")


class AddressError(ParseError):
    """A mail address that is not an RFC 5321 mailbox (``reason`` says why)."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        super().__init__(text, position, reason)
        # One line naming the value; repr() shows control characters escaped.
        self.args = (f"{text!r} is not a mail address: {reason} (at position {position})",)


class ConfigError(MailcheckError, ValueError):
    """A bad argument, option, configuration or data file."""


class KeyFileError(MailcheckError, ValueError):
    """A private or public key that cannot be read or used (never holds key bytes)."""


class SigningError(MailcheckError, ValueError):
    """A message that receivers would reject if it were signed as it is."""


class TempError(MailcheckError):
    """DNS could not answer: SERVFAIL, REFUSED, a malformed or mismatched reply.

    This is "could not check", never "missing": checks turn it into a
    ``*.temperror`` finding and an ``unknown`` status.
    """

    def __init__(self, name: str, rdtype: str, reason: str) -> None:
        self.name = name
        self.rdtype = rdtype
        self.reason = reason
        super().__init__(f"{name} {rdtype}: {reason}")


class DnsTimeout(TempError, TimeoutError):
    """No DNS answer arrived in time."""


class SpoolError(MailcheckError):
    """The spool's database failed (SQLite error), or an id is not in it.

    The message names the spool file and never contains a message body.
    """


class SyncCallError(MailcheckError, RuntimeError):
    """A blocking ``*_sync`` twin was called where an event loop is running.

    It would block that loop (or fail inside ``asyncio.run``): await the coroutine
    instead (``await check_ip(...)``, not ``check_ip_sync(...)``).
    """
