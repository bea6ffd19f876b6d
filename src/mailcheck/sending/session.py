"""The SMTP session seam: a :class:`Transport` opens :class:`Session` objects.

:class:`SmtpTransport` is the real one (aiosmtplib). The provider-world simulation plugs
in its own, in memory, so hours of sending run on a virtual clock. Every failure a session
meets is one of three exceptions, whatever the client library raises:
:class:`SmtpReplyError` (the server replied 4xx/5xx), :class:`SmtpDisconnected` (it closed
the connection) and :class:`SmtpFailure` (a timeout, a TLS or protocol error). An address
the client refuses to send is a :class:`SmtpReplyError` with a local 553 reply: it is that
recipient's outcome, never the process's.

A session tells the TLS it went under (:attr:`Session.tls`, an
:class:`~mailcheck.sending.tlspolicy.EffectiveTls`) and the MTA-STS testing-mode failure
met on the way (:attr:`Session.tls_report`); an enforce or DANE failure is an
:class:`SmtpFailure` carrying its report.
"""

from __future__ import annotations

import dataclasses
import datetime
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import aiosmtplib

from mailcheck.sending.tlspolicy import EffectiveTls
from mailcheck.tls.certinfo import certificate_facts, name_matches, peer_chain
from mailcheck.tls.tlsa import TlsaUsage, tlsa_matches

if TYPE_CHECKING:
    from mailcheck.sending.tlspolicy import HostRequirement, TlsPolicyCache, TlsReport

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
    """A timeout, a TLS failure or a protocol error: try later.

    Attributes:
        report: the TLS failure an MTA-STS ``enforce`` or DANE requirement met, when that
            is why (also kept in the policy cache's ``reports``).
    """

    def __init__(self, message: str, /, *, report: TlsReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class Session(Protocol):
    """One SMTP connection, after EHLO (and STARTTLS when asked)."""

    @property
    def tls(self) -> str:
        """The TLS of this connection: an
        :class:`~mailcheck.sending.tlspolicy.EffectiveTls` value."""
        ...

    @property
    def tls_version(self) -> str:
        """The protocol version (``TLSv1.3``), or "" in clear or when unknown."""
        ...

    @property
    def tls_report(self) -> TlsReport | None:
        """The failure an MTA-STS ``testing`` policy reported before this connection
        went on without verification, or None."""
        ...

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
    def __init__(
        self, smtp: aiosmtplib.SMTP, tls: EffectiveTls, report: TlsReport | None = None
    ) -> None:
        self._smtp, self.tls_report = smtp, report
        ssl_object = smtp.transport.get_extra_info("ssl_object") if smtp.transport else None
        self.tls_version: str = (ssl_object.version() or "") if ssl_object is not None else ""
        if ssl_object is None and tls is EffectiveTls.OPPORTUNISTIC:
            tls = EffectiveTls.NONE  # STARTTLS was not offered
        self.tls: str = tls

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
    """Sessions over aiosmtplib.

    MTA to MTA, certificates are not validated (RFC 7435 opportunistic TLS) unless the
    recipient asks: with a ``tls_policy``, a host under MTA-STS ``enforce`` needs a
    certificate valid for its name (or the connection fails: the mail waits), under
    ``testing`` a failure is reported and the mail delivered, under DANE the certificate
    must match the host's TLSA records (RFC 7672 §3).

    Args:
        tls_policy: the requirements of the hosts (filled when domains are routed).
        cafile: trusted CAs (PEM) for MTA-STS instead of the system store.
    """

    def __init__(
        self, *, tls_policy: TlsPolicyCache | None = None, cafile: str | Path | None = None
    ) -> None:
        self.tls_policy = tls_policy
        self.cafile = cafile

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
        requirement = self.tls_policy.for_host(host) if self.tls_policy is not None else None
        if requirement is not None and requirement.mode != "opportunistic":
            return await self._connect_required(address, host, egress, timeout, requirement)
        return await self._connect(address, host=host, egress=egress, tls=tls, timeout=timeout)

    async def _connect(
        self,
        address: tuple[str, int],
        *,
        host: str,
        egress: Egress,
        tls: bool | None,
        timeout: float,
        effective: EffectiveTls | None = None,
        report: TlsReport | None = None,
    ) -> Session:
        """``effective``: what the session is recorded as (default: from ``tls``);
        ``report``: the testing-mode failure that brought it here."""
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
        if effective is None:
            effective = EffectiveTls.REQUIRED if tls else EffectiveTls.OPPORTUNISTIC
            if tls is False:
                effective = EffectiveTls.NONE
        return _AiosmtplibSession(smtp, effective, report)

    async def _connect_required(
        self,
        address: tuple[str, int],
        host: str,
        egress: Egress,
        timeout: float,
        requirement: HostRequirement,
    ) -> Session:
        """Connect under MTA-STS or DANE: STARTTLS, then the certificate checked."""
        assert self.tls_policy is not None
        if requirement.mode == "refused":
            raise SmtpFailure(f"{host}: its TLSA records do not validate (DNSSEC bogus)")
        smtp = aiosmtplib.SMTP(
            hostname=address[0],
            port=address[1],
            local_hostname=egress.helo,
            source_address=(egress.ip, 0) if egress.ip else None,
            timeout=timeout,
            start_tls=False,
        )
        try:
            await smtp.connect()
            await smtp.ehlo()  # the extensions: is STARTTLS offered?
        except aiosmtplib.SMTPResponseException as exc:
            smtp.close()
            raise SmtpReplyError(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            smtp.close()
            raise SmtpFailure(f"{host}: {exc}") from exc
        failure = await self._secure(smtp, host, requirement)
        if failure is None:
            return _AiosmtplibSession(smtp, EffectiveTls.of(requirement.mode))
        delivered = requirement.mode == "testing"
        report = self.tls_policy.report(requirement, failure, delivered=delivered)
        smtp.close()
        if not delivered:
            raise SmtpFailure(f"{host}: {failure} ({requirement.mode})", report=report)
        # RFC 8461 §5: in testing mode the failure is reported and the mail delivered.
        return await self._connect(
            address, host=host, egress=egress, tls=None, timeout=timeout,
            effective=EffectiveTls.MTA_STS_TESTING, report=report,
        )  # fmt: skip

    async def _secure(
        self, smtp: aiosmtplib.SMTP, host: str, requirement: HostRequirement
    ) -> str | None:
        """STARTTLS as the requirement asks; why it failed, or None."""
        if not smtp.supports_extension("starttls"):
            return "STARTTLS not offered"
        dane = requirement.mode == "dane"
        context = _dane_context() if dane else _verifying_context(self.cafile)
        try:
            await smtp.starttls(server_hostname=host, tls_context=context)
        except (aiosmtplib.SMTPException, ssl.SSLError, OSError) as exc:
            return f"certificate or TLS failure: {exc}"
        if not dane:
            return None
        chain = peer_chain(smtp.get_transport_info("ssl_object"))
        matched = [r for r in requirement.records if tlsa_matches(r, chain)]
        if not matched:
            return "no TLSA record matches the certificate"
        # RFC 7672 §3.2.3: with DANE-TA the name is checked too; DANE-EE needs no name.
        if all(r.usage == TlsaUsage.DANE_TA for r in matched):
            names = certificate_facts(chain[0], now=_now()).names if chain else ()
            if not name_matches(names, host):
                return "the certificate does not name the host (DANE-TA)"
        return None


def _verifying_context(cafile: str | Path | None) -> ssl.SSLContext:
    # check_hostname: RFC 8461 §4.2 validates the certificate for the MX host's name.
    return ssl.create_default_context(cafile=str(cafile) if cafile else None)


def _dane_context() -> ssl.SSLContext:
    # RFC 7672 §3.1: DANE-EE ignores the PKIX chain; the TLSA match is the authentication.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
