"""The floor of the ``tls`` package: plain enums and result types, imported by the rest.

Nothing here does I/O or imports another module of the package.
"""

from __future__ import annotations

import dataclasses
import enum

from mailcheck.model import CheckResult, ToDict


class MtaStsMode(enum.StrEnum):
    """The ``mode`` of an MTA-STS policy (RFC 8461 §5)."""

    ENFORCE = "enforce"
    TESTING = "testing"
    NONE = "none"


class ProbeStatus(enum.StrEnum):
    """What the STARTTLS probe of one MX host established.

    ``unknown`` (a timeout, a refused connection) is never "no TLS": the host could
    not be asked.
    """

    TLS = "tls"
    """STARTTLS was offered and the handshake completed (the certificate may still be bad)."""
    NOT_OFFERED = "not-offered"
    """The server answered EHLO without STARTTLS."""
    HANDSHAKE_FAILED = "handshake-failed"
    """STARTTLS was offered but the TLS handshake failed (or the server refused STARTTLS)."""
    UNKNOWN = "unknown"
    """The host could not be probed (timeout, connection refused, bad reply)."""


class DnssecStatus(enum.StrEnum):
    """Whether a name's answers validate (RFC 4035 §4.3 vocabulary)."""

    SECURE = "secure"
    INSECURE = "insecure"
    """Provably unsigned: not an error, but DANE means nothing there."""
    BOGUS = "bogus"
    """Signed but the chain does not validate: resolvers that validate return SERVFAIL."""
    UNKNOWN = "unknown"
    """Could not check (DNS failure)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsProbe(ToDict):
    """The facts one STARTTLS probe of one MX host found, each recorded on its own.

    Offering STARTTLS, completing the handshake and presenting a valid certificate are
    separate facts: a host can offer STARTTLS with a self-signed certificate, and
    senders that do not authenticate (most of them) still encrypt to it.

    Attributes:
        host: the MX host name probed (the name the certificate should carry).
        address: the IP address connected to.
        port: the TCP port (25 in production).
        status: ``tls``, ``not-offered``, ``handshake-failed`` or ``unknown``.
        offered: STARTTLS was in the EHLO reply (``None`` when not learnt).
        protocol: the negotiated TLS version (``TLSv1.3``).
        cipher: the negotiated cipher suite.
        chain_valid: the chain verified against the trust store (``None`` when no
            handshake happened).
        chain_error: why the chain did not verify (OpenSSL's words).
        name_matches: the certificate names the MX host (RFC 6125 rules).
        names: the DNS names the certificate holds (subjectAltName, else the CN).
        not_after: the certificate's expiry (ISO 8601, UTC).
        days_to_expiry: whole days left (negative once expired).
        extensions: EHLO keywords of interest seen after the handshake (SMTPUTF8,
            REQUIRETLS, SIZE), or before it when there was none.
        size_limit: the SIZE value, when announced.
        error: why the probe stopped (timeout, refused, a reply), or ``None``.
    """

    host: str
    address: str
    port: int
    status: ProbeStatus
    offered: bool | None = None
    protocol: str | None = None
    cipher: str | None = None
    chain_valid: bool | None = None
    chain_error: str | None = None
    name_matches: bool | None = None
    names: tuple[str, ...] = ()
    not_after: str | None = None
    days_to_expiry: int | None = None
    extensions: tuple[str, ...] = ()
    size_limit: int | None = None
    error: str | None = None
    _chain: tuple[bytes, ...] = ()

    @property
    def chain(self) -> tuple[bytes, ...]:
        """The certificates the server sent (DER), leaf first; empty without a handshake."""
        return self._chain


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StartTlsResult(CheckResult):
    """The STARTTLS probe of every MX host (``probes`` is empty when not asked)."""

    probed: bool = False
    probes: tuple[TlsProbe, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MtaStsResult(CheckResult):
    """The MTA-STS check of a domain (RFC 8461).

    Attributes:
        record: the ``_mta-sts`` TXT record as published, or ``None``.
        id: its ``id``.
        policy_url: where the policy was fetched from.
        policy: the policy file as published (bounded), or ``None``.
        mode: the policy's mode.
        max_age: the policy's max_age, seconds.
        mx: the policy's ``mx:`` patterns.
    """

    record: str | None = None
    id: str | None = None
    policy_url: str | None = None
    policy: str | None = None
    mode: MtaStsMode | None = None
    max_age: int | None = None
    mx: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsRptResult(CheckResult):
    """The TLS-RPT check of a domain (RFC 8460): the ``_smtp._tls`` record."""

    record: str | None = None
    rua: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DnssecResult(CheckResult):
    """Whether the domain's zone is signed and validates.

    Attributes:
        dnssec: ``secure``, ``insecure``, ``bogus`` or ``unknown``.
        method: ``ad-bit`` (a trusted validating resolver's AD flag), ``chain``
            (validated here from a trust anchor) or ``none`` (not checked).
        zone: the zone that was validated (the domain's, or the MX host's).
    """

    dnssec: DnssecStatus = DnssecStatus.UNKNOWN
    method: str = "none"
    zone: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DaneHost(ToDict):
    """The TLSA records of one MX host and how they compare to its certificate.

    Attributes:
        host: the MX host.
        name: the TLSA owner name (``_25._tcp.<host>``).
        records: the TLSA records as text (``3 1 1 ab12…``).
        dnssec: whether that answer validates.
        matched: the records that match the certificate the probe saw (as text);
            ``None`` when no certificate was seen.
    """

    host: str
    name: str
    records: tuple[str, ...] = ()
    dnssec: DnssecStatus = DnssecStatus.UNKNOWN
    matched: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DaneResult(CheckResult):
    """DANE (RFC 7672): the TLSA records of every MX host."""

    hosts: tuple[DaneHost, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TransportResult(CheckResult):
    """Transport security of a domain: STARTTLS, MTA-STS, TLS-RPT, DNSSEC and DANE."""

    starttls: StartTlsResult
    mtasts: MtaStsResult
    tlsrpt: TlsRptResult
    dnssec: DnssecResult
    dane: DaneResult
