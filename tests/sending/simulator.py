"""A provider simulator: aiosmtpd servers on loopback addresses that answer like the big
providers do, from their real reply strings.

Each :class:`Simulated` server listens on its own 127.0.0.x address and one shared port, and
is reached through MX records served by the DNS test server (``tests/zones/sim.test.zone``),
so the Sender finds it the way it finds Gmail: MX, then address, then port (the one option
tests need, since they cannot bind port 25). Every server offers STARTTLS with a self-signed
certificate (Google, Orange and GMX require TLS in the dataset) and records what it saw.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime
import socket
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# The replies, as the providers send them (../shared/providers.md).
GMAIL_IP_RATE = (
    "421-4.7.28 [{ip}] Our system has detected an unusual rate of\r\n"
    "421-4.7.28 unsolicited mail originating from your IP address. To protect our\r\n"
    "421 4.7.28 users from spam, mail sent from your IP address has been temporarily "
    "rate limited."
)
YAHOO_TSS04 = (
    "421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume "
    "or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes"
)
MICROSOFT_650 = (
    "451 4.7.650 The mail server [{ip}] has been temporarily rate limited due to IP "
    "reputation. For e-mail delivery information, see https://postmaster.live.com (S775)"
)
ORANGE_TOO_MANY = (
    "421 mwinf5c17 ME Trop de connexions, veuillez verifier votre configuration. "
    "Too many connections, slow down. OFR005_104 [104]"
)
SPAMHAUS_550 = "550 5.7.1 Service unavailable; client [{ip}] blocked using zen.spamhaus.org"
GREYLIST_450 = "450 4.7.1 Greylisting in action, please come back in 5 minutes"


@dataclasses.dataclass
class Arrival:
    """One accepted message."""

    at: float
    mail_from: str
    rcpt_to: list[str]
    data: bytes
    tls: bool
    peer: str
    helo: str


@dataclasses.dataclass
class Simulated:
    """The script and the record of one simulated provider server.

    Attributes:
        name: a label.
        address: the loopback address it listens on.
        max_sessions: past this many concurrent sessions, the greeting is ``too_many``.
        too_many: the greeting refusal (Orange's "too many connections").
        rate: (messages, seconds): past it, MAIL is answered ``rate_reply`` (Gmail).
        rate_reply: the throttling reply (``{ip}`` = the client's address).
        close_after: close the connection silently after this many messages (Yahoo).
        rcpt: recipient -> replies, one per attempt (the last one repeats).
        data: replies to DATA, one per DATA (the last one repeats); empty = accept.
        drop_data: drop the connection during this many DATA commands (then accept).
    """

    name: str
    address: str
    max_sessions: int = 0
    too_many: str = ORANGE_TOO_MANY
    rate: tuple[int, float] | None = None
    rate_reply: str = GMAIL_IP_RATE
    close_after: int = 0
    rcpt: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    data: list[str] = dataclasses.field(default_factory=list)
    drop_data: int = 0
    # the record
    received: list[Arrival] = dataclasses.field(default_factory=list)
    replies: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    sessions: int = 0
    max_seen: int = 0
    connections: int = 0
    refused: int = 0
    max_per_session: int = 0
    _mail_times: collections.deque[float] = dataclasses.field(default_factory=collections.deque)

    def delivered_to(self) -> list[str]:
        """Every recipient of every accepted message."""
        return [r for m in self.received for r in m.rcpt_to]

    def most_in_window(self, seconds: float = 1.0) -> int:
        """The most messages accepted within any ``seconds`` window."""
        times = sorted(m.at for m in self.received)
        most, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] > seconds:
                start += 1
            most = max(most, end - start + 1)
        return most

    def _say(self, reply: str, session: Session) -> str:
        peer = session.peer[0] if session.peer else "?"
        self.replies[reply.split(" ", 1)[0][:3]] += 1
        return reply.format(ip=peer)

    @staticmethod
    def _next(replies: list[str]) -> str:
        return replies.pop(0) if len(replies) > 1 else replies[0]

    # aiosmtpd handler hooks

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.close_after and getattr(session, "sim_count", 0) >= self.close_after:
            # Yahoo: after N messages the connection is closed without a word.
            if server.transport is not None:
                server.transport.close()
            return "421 closing"
        if self.rate is not None:
            now, (count, window) = time.monotonic(), self.rate
            while self._mail_times and self._mail_times[0] <= now - window:
                self._mail_times.popleft()
            if len(self._mail_times) >= count:
                return self._say(self.rate_reply, session)
            self._mail_times.append(now)
        envelope.mail_from = address
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.rcpt:
            reply = self._next(self.rcpt[address])
            if not reply.startswith("2"):
                return self._say(reply, session)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.drop_data > 0:
            self.drop_data -= 1
            if server.transport is not None:
                server.transport.abort()  # the connection drops mid-DATA
            return "451 dropped"
        reply = self._next(self.data) if self.data else "250 2.0.0 OK queued"
        if not reply.startswith("2"):
            return self._say(reply, session)
        self.received.append(
            Arrival(
                at=time.monotonic(),
                mail_from=str(envelope.mail_from),
                rcpt_to=list(envelope.rcpt_tos),
                data=envelope.original_content or b"",
                tls=bool(session.ssl),
                peer=session.peer[0] if session.peer else "",
                helo=str(session.host_name),
            )
        )
        session.sim_count = getattr(session, "sim_count", 0) + 1  # type: ignore[attr-defined]
        self.max_per_session = max(self.max_per_session, session.sim_count)  # type: ignore[attr-defined]
        return reply


class _SimSMTP(SMTP):
    """aiosmtpd's SMTP with a session count and a greeting refusal past ``max_sessions``."""

    def __init__(self, sim: Simulated, **kw: Any) -> None:
        super().__init__(sim, **kw)
        self.sim = sim

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Count only new connections: aiosmtpd calls this again after STARTTLS.
        if self.transport is None:
            self.sim.connections += 1
            self.sim.sessions += 1
            self.sim.max_seen = max(self.sim.max_seen, self.sim.sessions)
            self._counted = True
            self._refuse = bool(self.sim.max_sessions) and self.sim.sessions > self.sim.max_sessions
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if getattr(self, "_counted", False):
            self._counted = False
            self.sim.sessions -= 1
        super().connection_lost(exc)

    async def _handle_client(self) -> None:
        if getattr(self, "_refuse", False):
            self.sim.refused += 1
            await self.push(self.sim.too_many)
            if self.transport is not None:
                self.transport.close()
            return
        await super()._handle_client()  # type: ignore[misc]


def _tls_context(directory: Path) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate (as many MX hosts have)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mx.sim.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def free_port(addresses: list[str]) -> int:
    """A TCP port free on every one of ``addresses``."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for address in addresses[1:]:
                with socket.socket() as other:
                    other.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on every simulator address")


class Simulator:
    """Several simulated providers on one port."""

    def __init__(self, sims: list[Simulated], *, tls: bool = True) -> None:
        self.sims = {s.name: s for s in sims}
        self.port = free_port([s.address for s in sims])
        self.tls = tls
        self._servers: list[asyncio.Server] = []
        self._dir = tempfile.TemporaryDirectory()

    def __getitem__(self, name: str) -> Simulated:
        return self.sims[name]

    async def start(self) -> Simulator:
        context = _tls_context(Path(self._dir.name)) if self.tls else None
        loop = asyncio.get_running_loop()
        for sim in self.sims.values():

            def factory(sim: Simulated = sim) -> SMTP:
                return _SimSMTP(sim, hostname=f"{sim.name}.sim.test", tls_context=context)

            self._servers.append(await loop.create_server(factory, sim.address, self.port))
        return self

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()
        self._dir.cleanup()


async def simulate(*sims: Simulated, tls: bool = True) -> AsyncIterator[Simulator]:
    """Run ``sims`` for the duration of a fixture."""
    simulator = await Simulator(list(sims), tls=tls).start()
    try:
        yield simulator
    finally:
        await simulator.stop()


Factory = Callable[..., Simulated]
