"""Simulated providers with hidden limits, and the SMTP transport that reaches them.

Each :class:`SimProvider` enforces a per-IP rate (a GCRA with a burst), a connection
limit, a silent close after N messages per connection, and escalation: N throttling
replies within a window block the IP for the provider's block length. Providers that drop
silently accept part of their over-rate mail with 250 and destroy it. Ambiguous providers
answer a block with the same text as a slow-down. Parameters are drawn per seed around
what the research says of each provider (``docs/sending.md``); the Sender never sees them.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

from mailcheck.sending.session import Egress, Session, SmtpDisconnected, SmtpReplyError

__all__ = ["Hidden", "SimProvider", "SimTransport", "draw_world"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Hidden:
    """A provider's hidden parameters (rates per second)."""

    rate: float
    burst: int
    connections: int
    per_connection: int
    escalate_after: int
    escalate_window: float
    block_for: float
    drop_fraction: float
    slow: tuple[int, str]
    block: tuple[int, str]
    too_many: tuple[int, str]


@dataclasses.dataclass
class Tally:
    """What a provider saw."""

    accepted: int = 0
    dropped: int = 0
    throttled: int = 0
    blocks: int = 0
    refused_blocked: int = 0
    connections_refused: int = 0


class SimProvider:
    """One provider's receiving side (one egress IP's view of it)."""

    def __init__(self, name: str, hosts: tuple[str, ...], hidden: Hidden,
                 clock: Callable[[], float], rng: random.Random) -> None:  # fmt: skip
        self.name, self.hosts, self.hidden = name, hosts, hidden
        self.clock, self.rng = clock, rng
        self.tat = -1e18
        self.open = 0
        self.blocked_until = -1e18
        self.strikes: list[float] = []
        self.tally = Tally()
        self.delivered: dict[str, float] = {}  # recipient -> when really delivered

    def blocked(self) -> bool:
        """Whether the IP is blocked now."""
        return self.clock() < self.blocked_until

    def _strike(self) -> None:
        now = self.clock()
        self.tally.throttled += 1
        self.strikes = [t for t in self.strikes if now - t < self.hidden.escalate_window]
        self.strikes.append(now)
        if len(self.strikes) >= self.hidden.escalate_after:
            self.blocked_until = now + self.hidden.block_for
            self.tally.blocks += 1
            self.strikes = []

    def over_rate(self) -> bool:
        """Take one message from the GCRA; True when it is over the rate."""
        now, h = self.clock(), self.hidden
        interval = 1.0 / h.rate
        start = max(self.tat, now)
        if start - now > (h.burst - 1) * interval:
            return True
        self.tat = start + interval
        return False

    def refusal(self) -> SmtpReplyError | None:
        """The reply to a connection attempt, when it is refused."""
        if self.blocked():
            self.tally.refused_blocked += 1
            return SmtpReplyError(*self.hidden.block)
        if self.open >= self.hidden.connections:
            self.tally.connections_refused += 1
            return SmtpReplyError(*self.hidden.too_many)
        return None


class _SimSession:
    # The simulation has no TLS: its sessions are recorded as in clear.
    tls = "none"
    tls_version = ""
    tls_report = None

    def __init__(self, provider: SimProvider) -> None:
        self.p = provider
        self.count = 0
        self.rcpts: list[tuple[str, bool]] = []  # (recipient, dropped)
        self.closed = False
        provider.open += 1

    @property
    def smtputf8(self) -> bool:
        return True

    def _check(self) -> None:
        if self.closed:
            raise SmtpDisconnected("closed")
        if self.p.blocked():
            self.p.tally.refused_blocked += 1
            raise SmtpReplyError(*self.p.hidden.block)

    async def mail(self, sender: str, /, *, smtputf8: bool = False) -> None:
        self._check()
        if self.count >= self.p.hidden.per_connection:
            await self.quit()
            raise SmtpDisconnected("silent close after the per-connection limit")
        self.rcpts = []

    async def rcpt(self, recipient: str, /) -> None:
        self._check()
        if self.p.over_rate():
            if self.p.rng.random() < self.p.hidden.drop_fraction:
                self.rcpts.append((recipient, True))  # 250, then destroyed
                return
            self.p._strike()
            raise SmtpReplyError(*self.p.hidden.slow)
        self.rcpts.append((recipient, False))

    async def data(self, message: bytes, /) -> str:
        self._check()
        self.count += 1
        for rcpt, dropped in self.rcpts:
            if dropped:
                self.p.tally.dropped += 1
            else:
                self.p.tally.accepted += 1
                self.p.delivered.setdefault(rcpt, self.p.clock())
        return "250 2.0.0 OK queued"

    async def rset(self) -> None:
        self.rcpts = []

    async def quit(self) -> None:
        if not self.closed:
            self.closed = True
            self.p.open -= 1


class SimTransport:
    """Opens sessions to the simulated providers by MX host."""

    def __init__(self, providers: list[SimProvider]) -> None:
        self.by_host = {host: p for p in providers for host in p.hosts}

    async def connect(
        self, address: tuple[str, int], /, *, host: str, egress: Egress, tls: bool | None,
        timeout: float,
    ) -> Session:  # fmt: skip
        """See :class:`~mailcheck.sending.session.Transport`."""
        provider = self.by_host[host]
        refusal = provider.refusal()
        if refusal is not None:
            raise refusal
        return _SimSession(provider)


# name: (MX host, domains, share of the newsletter, rate range /s, connections range,
#        block length s, drop fraction range, slow reply, block reply, too-many reply)
_ME = "[203.0.113.5]"
_CATALOGUE: dict[str, tuple[str, tuple[str, ...], float, tuple[float, float], tuple[int, int],
                            float, tuple[float, float], tuple[int, str], tuple[int, str],
                            tuple[int, str]]] = {
    "google": ("gmail-smtp-in.l.google.com", ("gmail.com", "googlemail.com"), 0.30,
               (0.3, 2.0), (5, 10), 4 * 3600.0, (0.0, 0.0),
               (421, "4.7.28 Gmail has detected an unusual rate of unsolicited email "
                     "originating from your IP address. Mail has been temporarily rate limited."),
               (550, "5.7.28 Gmail has detected an unusual rate of unsolicited email "
                     "originating from your IP address. Your email has been blocked."),
               (421, "4.7.0 Too many concurrent SMTP connections from this IP")),
    "microsoft": ("hotmail-com.olc.protection.outlook.com", ("hotmail.fr", "outlook.fr"),
                  0.14, (0.08, 0.5), (3, 8), 2 * 3600.0, (0.2, 0.6),
                  (451, f"4.7.650 The mail server {_ME} has been temporarily rate limited "
                        "due to IP reputation. (S775)"),
                  (550, f"5.7.1 Unfortunately, messages from {_ME} weren't sent. Part of "
                        "their network is on our block list (S3140)."),
                  (451, "4.7.652 The mail server has exceeded the maximum number of "
                        "connections.")),
    "yahoo": ("mta5.am0.yahoodns.net", ("yahoo.fr", "ymail.com"), 0.07, (0.08, 0.4), (3, 6),
              2 * 3600.0, (0.0, 0.0),
              (421, f"4.7.0 [TSS04] Messages from {_ME} temporarily deferred due to "
                    "unexpected volume or user complaints"),
              (421, f"4.7.0 [TSS04] Messages from {_ME} temporarily deferred due to "
                    "unexpected volume or user complaints"),
              (421, "4.7.0 [TSS04] too many connections")),
    "orange": ("smtp-in.orange.fr", ("orange.fr", "wanadoo.fr"), 0.16, (0.05, 0.25), (2, 3),
               2 * 3600.0, (0.0, 0.0),
               (421, "mwinf5c40 ME Service refuse. Veuillez essayer plus tard. Service "
                     "refused, please try later. OFR_999 [999]"),
               (421, "mwinf5c40 ME Service refuse. Veuillez essayer plus tard. Service "
                     "refused, please try later. OFR_999 [999]"),
               (421, "mwinf5c40 ME Trop de connexions, veuillez verifier votre "
                     "configuration. Too many connections, slow down. OFR004_104 [104]")),
    "free": ("mx1.free.fr", ("free.fr",), 0.12, (0.02, 0.1), (2, 3), 24 * 3600.0, (0.0, 0.0),
             (421, "Too many spams from your IP (203.0.113.5), please visit "
                   "http://postmaster.free.fr/"),
             (421, "Too many spams from your IP (203.0.113.5), please visit "
                   "http://postmaster.free.fr/"),
             (421, "Too many connections from your IP")),
    "coop": ("mx.coop-host.example", ("asso-velo.example", "amap-nord.example",
                                      "mairie-lac.example"), 0.21, (0.2, 1.5), (3, 10),
             3600.0, (0.0, 0.0),
             (450, "4.7.1 Rate limit exceeded for your IP, slow down"),
             (554, "5.7.1 Service unavailable; client host blocked"),
             (421, "4.7.0 Too many connections")),
}  # fmt: skip


def draw_world(
    seed: int, clock: Callable[[], float]
) -> tuple[list[SimProvider], dict[str, tuple[str, float]]]:
    """Providers with hidden parameters drawn for ``seed``, and the domains: domain ->
    (MX host, share of the newsletter)."""
    rng = random.Random(seed)  # noqa: S311 - a simulation, not security
    providers, domains = [], {}
    for name, (
        host,
        names,
        share,
        rates,
        conns,
        block,
        drop,
        slow,
        blk,
        many,
    ) in _CATALOGUE.items():
        hidden = Hidden(
            rate=rng.uniform(*rates),
            burst=rng.randint(2, 10),
            connections=rng.randint(*conns),
            per_connection=rng.randint(20, 200),
            escalate_after=rng.randint(4, 10),
            escalate_window=rng.uniform(900.0, 3600.0),
            block_for=block,
            drop_fraction=rng.uniform(*drop),
            slow=slow,
            block=blk,
            too_many=many,
        )
        providers.append(SimProvider(name, (host,), hidden, clock, random.Random(rng.random())))  # noqa: S311
        for domain in names:
            domains[domain] = (host, share / len(names))
    return providers, domains
