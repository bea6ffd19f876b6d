"""Where a recipient domain's mail goes: its MX hosts and provider group, cached for the
answer's TTL, and the addresses of MX hosts.

A domain that does not exist (NXDOMAIN) or publishes a null MX (RFC 7505) is a permanent
answer: its recipients bounce at once, with the reason. A DNS failure is not an answer:
they wait and are tried again.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from mailcheck.errors import TempError
from mailcheck.lookup import Resolver
from mailcheck.lookup.answer import DnsStatus

if TYPE_CHECKING:
    from mailcheck.sending.tlspolicy import TlsPolicyCache

__all__ = ["Destination", "NoMail", "NoMailKind", "Router"]

#: Longest time (seconds) a domain's MX hosts and provider group are reused without asking
#: DNS again (a shorter TTL wins), and most domains remembered.
ROUTING_TTL = 300.0
ROUTING_CACHE = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class Destination:
    """A domain's MX hosts (by preference) and its provider group."""

    hosts: tuple[str, ...]
    group: str


class NoMailKind(enum.StrEnum):
    """Why a domain receives no mail."""

    NXDOMAIN = "nxdomain"  # the domain does not exist
    NULL_MX = "null-mx"  # RFC 7505: it says it accepts no mail


@dataclasses.dataclass(frozen=True, slots=True)
class NoMail:
    """A permanent answer: the domain receives no mail; ``reply`` says why (bounce text),
    ``kind`` which of the two answers it was."""

    reply: str
    kind: NoMailKind


class Router:
    """Routes domains through a resolver, with a TTL-bounded cache.

    Args:
        resolver: DNS.
        group_of: (domain, MX hosts) -> provider group.
        mx_override: host -> (address, port), for tests and relays.
        port: the SMTP port of destinations.
        monotonic: seconds for the cache (the event loop's clock).
        tls_policy: MTA-STS and DANE (:mod:`~mailcheck.sending.tlspolicy`): an ``enforce``
            policy keeps only the MX hosts it names, and each host's TLS requirement is
            recorded for the transport.
    """

    def __init__(
        self,
        resolver: Resolver,
        group_of: Callable[[str, Sequence[str]], str],
        *,
        mx_override: Mapping[str, tuple[str, int]] | None = None,
        port: int = 25,
        monotonic: Callable[[], float] = time.monotonic,
        tls_policy: TlsPolicyCache | None = None,
    ) -> None:
        self.resolver, self.group_of = resolver, group_of
        self.tls_policy = tls_policy
        self.mx_override = dict(mx_override or {})
        self.port, self.monotonic = port, monotonic
        self._cache: dict[str, tuple[float, Destination | NoMail]] = {}
        #: domain -> group of every domain routed (for counting what waits per provider).
        self.groups: dict[str, str] = {}

    async def route(self, domain: str, /) -> Destination | NoMail:
        """The destination of ``domain``.

        Raises:
            TempError: DNS could not answer; try later.
        """
        now = self.monotonic()
        cached = self._cache.get(domain)
        if cached is not None and cached[0] > now:
            return cached[1]
        answer = await self.resolver.query(domain, "MX")
        found: Destination | NoMail
        if answer.status is DnsStatus.NXDOMAIN:
            found = NoMail(f"550 5.1.2 {domain}: no such domain (NXDOMAIN)", NoMailKind.NXDOMAIN)
        else:
            hosts = tuple(host for _, host in answer.mx_hosts()) if answer.ok else (domain,)
            if "." in hosts and hosts != (".",):
                # RFC 7505 §3: a null MX must stand alone; beside real hosts it is a
                # misconfiguration, and "." is no host to connect to: the others are used.
                hosts = tuple(host for host in hosts if host != ".")
            if hosts == (".",):
                found = NoMail(
                    f"550 5.1.10 {domain}: null MX, accepts no mail (RFC 7505)", NoMailKind.NULL_MX
                )
            else:
                if self.tls_policy is not None:  # raises TempError: no host the policy allows
                    hosts = await self.tls_policy.apply(domain, hosts)
                found = Destination(hosts, self.group_of(domain, hosts))
                self.groups[domain] = found.group
        if len(self._cache) >= ROUTING_CACHE:
            self._cache.clear()
        # The answer's TTL bounds the cache: a domain moving its MX moves its mail.
        ttl = min(float(answer.ttl), ROUTING_TTL)
        if ttl > 0:
            self._cache[domain] = (now + ttl, found)
        return found

    async def address(self, host: str, /) -> tuple[str, int] | None:
        """An address of MX ``host`` (IPv4 first), or None when it has none now."""
        if host in self.mx_override:
            return self.mx_override[host]
        for rdtype in ("A", "AAAA"):
            try:
                answer = await self.resolver.query(host, rdtype)
            except TempError:
                continue
            addresses = answer.addresses() if answer.ok else ()
            if addresses:
                return str(addresses[0]), self.port
        return None
