"""The TLS a recipient domain demands of its senders: MTA-STS (RFC 8461) and DANE (RFC 7672).

:class:`TlsPolicyCache` is consulted by the :class:`~mailcheck.sending.routing.Router` when it
routes a domain, and by :class:`~mailcheck.sending.session.SmtpTransport` when it connects to
an MX host:

- **MTA-STS**: the ``_mta-sts`` TXT record is asked at each routing (the resolver caches it
  for its TTL); the policy is fetched again only when its ``id`` changes or its ``max_age``
  has run out (RFC 8461 §5.1). A DNS or HTTPS failure keeps a cached policy in force. In
  ``enforce`` mode, MX hosts that match no ``mx:`` pattern are not used (none left: the mail
  waits), and a certificate that does not verify for the host defers the mail; in
  ``testing`` mode the mail is delivered and the failure reported.
- **DANE**, only when a :class:`~mailcheck.tls.dnssec.DnssecChecker` validates: TLSA records
  at ``_25._tcp.<host>`` that validate and are usable make authenticated TLS mandatory with
  a certificate matching them; a bogus TLSA answer means the host must not be used
  (RFC 7672 §2.2). DANE takes precedence over MTA-STS for a host (RFC 8461 §2).

A host's requirement is the strictest of the domains routed to it (domains sharing MX hosts
share connections). Failures and testing-mode reports are kept in :attr:`reports`.

What a connection achieved is an :class:`EffectiveTls`: the Sender records it in the
recipient's state and its events.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import enum
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mailcheck.errors import ParseError, TempError
from mailcheck.lookup import Resolver
from mailcheck.model import Finding, ToDict
from mailcheck.tls.dane import lookup_tlsa
from mailcheck.tls.dnssec import DnssecChecker
from mailcheck.tls.mtasts_fetch import DEFAULT_FETCH_TIMEOUT, fetch_policy
from mailcheck.tls.mtasts_record import (
    MtaStsPolicy,
    is_mtasts_txt,
    parse_mtasts_policy,
    parse_mtasts_record,
)
from mailcheck.tls.tlsa import TlsaRecord
from mailcheck.tls.types import DnssecStatus, MtaStsMode

__all__ = ["EffectiveTls", "HostRequirement", "TlsMode", "TlsPolicyCache", "TlsReport"]

# Reports kept in memory for the caller to collect (oldest dropped first).
MAX_REPORTS = 1000


class TlsMode(enum.StrEnum):
    """What a connection to a host must achieve."""

    OPPORTUNISTIC = "opportunistic"
    """STARTTLS when offered, any certificate (RFC 7435)."""
    TESTING = "testing"
    """MTA-STS testing: verify, report a failure, deliver anyway."""
    ENFORCE = "enforce"
    """MTA-STS enforce: a certificate valid for the host, or the mail waits."""
    DANE = "dane"
    """A certificate matching the host's validated TLSA records, or the mail waits."""
    REFUSED = "refused"
    """The host's TLSA answer is bogus: do not connect (RFC 7672 §2.2)."""


class EffectiveTls(enum.StrEnum):
    """The TLS a delivery went under (the spool's ``recipients.tls``, the events' ``tls``)."""

    NONE = "none"
    """In clear: STARTTLS not offered (or ``tls="off"``)."""
    OPPORTUNISTIC = "opportunistic"
    """STARTTLS, the certificate not checked (RFC 7435)."""
    REQUIRED = "required"
    """STARTTLS demanded by the provider's entry or ``Sender(tls="required")``, the
    certificate not checked."""
    MTA_STS_TESTING = "mta-sts-testing"
    """Under an MTA-STS ``testing`` policy: verified, or a failure reported and the mail
    sent anyway (then in clear when STARTTLS was not offered)."""
    MTA_STS_ENFORCE = "mta-sts-enforce"
    """Under an MTA-STS ``enforce`` policy: a certificate valid for the MX host."""
    DANE = "dane"
    """A certificate matching the host's DNSSEC-validated TLSA records (RFC 7672)."""

    @classmethod
    def of(cls, mode: TlsMode, /) -> EffectiveTls:
        """What a connection under requirement ``mode`` is recorded as (``refused``
        never connects: it is recorded as ``dane``, whose records it failed)."""
        return _EFFECTIVE[mode]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HostRequirement(ToDict):
    """The TLS an MX host must offer, and why.

    Attributes:
        host: the MX host.
        mode: see :class:`TlsMode`.
        domains: the recipient domains whose policies ask it.
        tlsa: the validated, usable TLSA records (DANE), as text.
    """

    host: str
    mode: TlsMode
    domains: tuple[str, ...] = ()
    tlsa: tuple[str, ...] = ()
    _records: tuple[TlsaRecord, ...] = ()

    @property
    def records(self) -> tuple[TlsaRecord, ...]:
        """The TLSA records DANE matches the certificate against."""
        return self._records


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsReport(ToDict):
    """One TLS failure met while sending (the matter of a TLS-RPT report, RFC 8460).

    Attributes:
        host: the MX host.
        mode: the requirement in force.
        domains: the recipient domains concerned.
        reason: what failed (certificate, STARTTLS not offered, TLSA mismatch...).
        delivered: the mail went anyway (testing mode) or waits (enforce, DANE).
        at: when (Unix time).
    """

    host: str
    mode: TlsMode
    domains: tuple[str, ...]
    reason: str
    delivered: bool
    at: float


_EFFECTIVE = {
    TlsMode.OPPORTUNISTIC: EffectiveTls.OPPORTUNISTIC,
    TlsMode.TESTING: EffectiveTls.MTA_STS_TESTING,
    TlsMode.ENFORCE: EffectiveTls.MTA_STS_ENFORCE,
    TlsMode.DANE: EffectiveTls.DANE,
    TlsMode.REFUSED: EffectiveTls.DANE,
}


@dataclasses.dataclass(slots=True)
class _Cached:
    id: str
    policy: MtaStsPolicy
    expires: float


_STRICTNESS = {
    TlsMode.OPPORTUNISTIC: 0,
    TlsMode.TESTING: 1,
    TlsMode.ENFORCE: 2,
    TlsMode.DANE: 3,
    TlsMode.REFUSED: 4,
}


class TlsPolicyCache:
    """MTA-STS policies per domain and TLS requirements per MX host, for one sender.

    Args:
        resolver: DNS (the ``_mta-sts`` record, the policy host, TLSA without ``dnssec``).
        dnssec: validates TLSA answers; without it DANE is not applied (RFC 7672 needs
            DNSSEC).
        mta_sts: apply MTA-STS policies.
        clock: Unix time, for ``max_age``.
        fetch_timeout, allow_private, cafile, https_port: for the policy fetch (see
            :func:`~mailcheck.tls.mtasts_fetch.fetch_policy`).
    """

    def __init__(
        self,
        resolver: Resolver,
        *,
        dnssec: DnssecChecker | None = None,
        mta_sts: bool = True,
        clock: Callable[[], float] = time.time,
        fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
        allow_private: bool = False,
        cafile: str | Path | None = None,
        https_port: int = 443,
    ) -> None:
        self.resolver, self.dnssec, self.mta_sts, self.clock = resolver, dnssec, mta_sts, clock
        self._fetch: dict[str, Any] = {
            "timeout": fetch_timeout,
            "allow_private": allow_private,
            "cafile": cafile,
            "port": https_port,
        }
        self._policies: dict[str, _Cached] = {}
        self._hosts: dict[str, HostRequirement] = {}
        self.reports: collections.deque[TlsReport] = collections.deque(maxlen=MAX_REPORTS)
        #: Policy fetches made (each policy is fetched once per id and max_age).
        self.fetches = 0

    async def policy(self, domain: str, /) -> MtaStsPolicy | None:
        """The MTA-STS policy in force for ``domain``, or None."""
        now = self.clock()
        cached = self._policies.get(domain)
        live = cached if cached is not None and cached.expires > now else None
        try:
            texts = (await self.resolver.query(f"_mta-sts.{domain}", "TXT")).texts()
        except TempError:
            return live.policy if live else None  # RFC 8461 §5.1: keep the cached policy
        records = [t for t in texts if is_mtasts_txt(t)]
        try:
            record = parse_mtasts_record(records[0]) if len(records) == 1 else None
        except ParseError:
            record = None
        if record is None:
            return live.policy if live else None
        if live is not None and live.id == record.id:
            return live.policy
        self.fetches += 1
        fetched = await fetch_policy(domain, resolver=self.resolver, **self._fetch)
        try:
            policy = parse_mtasts_policy(fetched.text) if fetched.text is not None else None
        except ParseError:
            policy = None
        if policy is None:
            return live.policy if live else None
        self._policies[domain] = _Cached(record.id, policy, now + policy.max_age)
        return policy

    async def apply(self, domain: str, hosts: Sequence[str], /) -> tuple[str, ...]:
        """The MX hosts of ``domain`` that may be used, and their requirements recorded.

        Raises:
            TempError: an ``enforce`` policy matches none of the hosts (the mail waits
                until the policy or the MX changes).
        """
        policy = await self.policy(domain) if self.mta_sts else None
        names = [h.lower().rstrip(".") for h in hosts]
        mode = TlsMode.OPPORTUNISTIC
        if policy is not None and policy.mode is MtaStsMode.ENFORCE:
            # RFC 8461 §4.1: "senders MUST NOT deliver to MX hosts that do not match".
            names = [h for h in names if policy.matches(h)]
            if not names:
                raise TempError(domain, "MX", "no MX host matches the MTA-STS policy")
            mode = TlsMode.ENFORCE
        elif policy is not None and policy.mode is MtaStsMode.TESTING:
            mode = TlsMode.TESTING
        dane = await self._dane(names)
        for host in names:
            self._require(host, domain, dane.get(host) or (mode, ()))
        return tuple(names)

    async def _dane(
        self, hosts: Sequence[str]
    ) -> dict[str, tuple[TlsMode, tuple[TlsaRecord, ...]]]:
        if self.dnssec is None:
            return {}
        async with asyncio.TaskGroup() as group:
            tasks = {
                h: group.create_task(lookup_tlsa(h, resolver=self.resolver, checker=self.dnssec))
                for h in hosts
            }
        found: dict[str, tuple[TlsMode, tuple[TlsaRecord, ...]]] = {}
        for host, task in tasks.items():
            result = task.result()
            if isinstance(result, Finding):
                continue  # could not look up: MTA-STS or opportunistic TLS stands
            if result.dnssec is DnssecStatus.BOGUS:
                found[host] = (TlsMode.REFUSED, ())
                continue
            usable = tuple(r for r in result.records if r.smtp_usable)
            if result.dnssec is DnssecStatus.SECURE and usable:
                found[host] = (TlsMode.DANE, usable)
        return found

    def _require(
        self, host: str, domain: str, wanted: tuple[TlsMode, tuple[TlsaRecord, ...]]
    ) -> None:
        mode, records = wanted
        current = self._hosts.get(host)
        domains = tuple(dict.fromkeys((*(current.domains if current else ()), domain)))
        if current is not None and _STRICTNESS[current.mode] > _STRICTNESS[mode]:
            mode, records = current.mode, current.records
        self._hosts[host] = HostRequirement(
            host=host,
            mode=mode,
            domains=domains,
            tlsa=tuple(r.to_text() for r in records),
            _records=records,
        )

    def for_host(self, host: str, /) -> HostRequirement | None:
        """The requirement recorded for ``host`` by the domains routed to it, if any."""
        return self._hosts.get(host.lower().rstrip("."))

    def report(self, requirement: HostRequirement, reason: str, *, delivered: bool) -> TlsReport:
        """Record a TLS failure (kept in :attr:`reports`)."""
        item = TlsReport(
            host=requirement.host,
            mode=requirement.mode,
            domains=requirement.domains,
            reason=reason,
            delivered=delivered,
            at=self.clock(),
        )
        self.reports.append(item)
        return item
