"""The SMTP session seam: a :class:`Transport` opens :class:`Session` objects.

:class:`SmtpTransport` is the real one (aiosmtplib). The provider-world simulation plugs
in its own, in memory, so hours of sending run on a virtual clock. Every failure a session
meets is one of three exceptions, whatever the client library raises:
:class:`SmtpReplyError` (the server replied 4xx/5xx), :class:`SmtpDisconnected` (it closed
the connection) and :class:`SmtpFailure` (a timeout, a TLS or protocol error). An address
the client refuses to send is a :class:`SmtpReplyError` with a local 553 reply: it is that
recipient's outcome, never the process's.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import aiosmtplib

__all__ = [
    "Egress",
    "Session",
    "SmtpDisconnected",
    "SmtpFailure",
    "SmtpReplyError",
    "SmtpTransport",
    "Transport",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Egress:
    """A source address to send from and the name it gives in EHLO.

    Attributes:
        ip: the local address to bind, or None for the system's choice.
        helo: the EHLO name (it should be the PTR name of ``ip``).
    """

    ip: str | None = None
    helo: str | None = None


class SmtpReplyError(Exception):
    """The server (or, for an address the client cannot send, the client) said no."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code, self.message = code, message

    @property
    def line(self) -> str:
        """The reply on one line."""
        return f"{self.code} {self.message}".replace("\r", " ").replace("\n", " / ")


class SmtpDisconnected(Exception):
    """The server closed the connection."""


class SmtpFailure(Exception):
    """A timeout, a TLS failure or a protocol error: try later."""


class Session(Protocol):
    """One SMTP connection, after EHLO (and STARTTLS when asked)."""

    @property
    def smtputf8(self) -> bool:
        """Whether the server offers SMTPUTF8 (RFC 6531)."""
        ...

    async def mail(self, sender: str, /, *, smtputf8: bool = False) -> None:
        """MAIL FROM."""
        ...

    async def rcpt(self, recipient: str, /) -> None:
        """RCPT TO."""
        ...

    async def data(self, message: bytes, /) -> str:
        """DATA; returns the server's final reply on one line."""
        ...

    async def rset(self) -> None:
        """RSET."""
        ...

    async def quit(self) -> None:
        """QUIT, or close; never raises."""
        ...


class Transport(Protocol):
    """Opens sessions."""

    async def connect(
        self,
        address: tuple[str, int],
        /,
        *,
        host: str,
        egress: Egress,
        tls: bool | None,
        timeout: float,
    ) -> Session:
        """Connect to ``address`` (the MX ``host``'s), greet, STARTTLS when ``tls`` is True
        (required) or None (when offered).

        Raises:
            SmtpReplyError: the greeting or EHLO was a refusal.
            SmtpFailure: no connection (refused, timeout, TLS required but not offered).
        """
        ...


class _AiosmtplibSession:
    def __init__(self, smtp: aiosmtplib.SMTP) -> None:
        self._smtp = smtp

    @property
    def smtputf8(self) -> bool:
        return self._smtp.supports_extension("smtputf8")

    async def _call(
        self, coro_fn: object, *args: object, **kwargs: object
    ) -> aiosmtplib.SMTPResponse:
        try:
            return await coro_fn(*args, **kwargs)  # type: ignore[operator,no-any-return]
        except aiosmtplib.SMTPServerDisconnected as exc:
            raise SmtpDisconnected(str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise SmtpReplyError(exc.code, exc.message) from exc
        except aiosmtplib.SMTPException as exc:
            raise SmtpFailure(str(exc)) from exc
        except (ValueError, UnicodeError) as exc:
            # aiosmtplib refuses an address it cannot put on the wire (a space, a
            # non-ASCII local part without SMTPUTF8): that recipient's outcome.
            raise SmtpReplyError(553, f"5.1.3 address refused by the client: {exc}") from exc
        except OSError as exc:
            raise SmtpFailure(str(exc)) from exc

    async def mail(self, sender: str, /, *, smtputf8: bool = False) -> None:
        options = ["SMTPUTF8"] if smtputf8 else []
        await self._call(self._smtp.mail, sender, options=options)

    async def rcpt(self, recipient: str, /) -> None:
        await self._call(self._smtp.rcpt, recipient)

    async def data(self, message: bytes, /) -> str:
        response = await self._call(self._smtp.data, message)
        return f"{response.code} {response.message}".replace("\n", " / ")

    async def rset(self) -> None:
        await self._call(self._smtp.rset)

    async def quit(self) -> None:
        if not self._smtp.is_connected:
            return
        try:
            await self._smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            self._smtp.close()


class SmtpTransport:
    """Sessions over aiosmtplib. MTA to MTA, certificates are not validated (RFC 7435
    opportunistic TLS); MTA-STS or DANE would."""

    async def connect(
        self,
        address: tuple[str, int],
        /,
        *,
        host: str,
        egress: Egress,
        tls: bool | None,
        timeout: float,
    ) -> Session:
        """See :meth:`Transport.connect`."""
        smtp = aiosmtplib.SMTP(
            hostname=address[0],
            port=address[1],
            local_hostname=egress.helo,
            source_address=(egress.ip, 0) if egress.ip else None,
            timeout=timeout,
            start_tls=tls,
            validate_certs=False,
        )
        try:
            await smtp.connect()
        except aiosmtplib.SMTPResponseException as exc:  # a 4xx/5xx greeting or EHLO
            smtp.close()
            raise SmtpReplyError(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            smtp.close()
            if tls and "STARTTLS" in str(exc):
                raise SmtpFailure(
                    f"{host}: TLS required by policy but STARTTLS not offered"
                ) from exc
            raise SmtpFailure(f"{host}: {exc}") from exc
        return _AiosmtplibSession(smtp)
