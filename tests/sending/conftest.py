"""Real aiosmtpd servers on loopback whose replies each test scripts.

``smtp_sink`` is one server, scripted by ``@pytest.mark.smtp_replies(...)``; ``make_sink``
starts more (several MX hosts). A sink records every accepted message.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcheck.sending.pacing import PacePolicy


@dataclasses.dataclass
class Received:
    """One accepted message."""

    mail_from: str
    rcpt_to: list[str]
    data: bytes


@dataclasses.dataclass
class Sink:
    """The scripted behaviour and the record of one server.

    Attributes:
        rcpt: recipient -> reply (list = one reply per attempt; the last one repeats).
        data: replies to DATA in order (the last one repeats); empty = ``250 OK``.
        close_after: close the connection silently after this many messages (Yahoo).
        delay: seconds to wait before answering DATA.
        received: accepted messages.
        connections: connections opened.
    """

    rcpt: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    data: list[str] = dataclasses.field(default_factory=list)
    close_after: int = 0
    delay: float = 0.0
    received: list[Received] = dataclasses.field(default_factory=list)
    connections: int = 0
    data_calls: int = 0
    port: int = 0

    @staticmethod
    def _next(replies: list[str]) -> str:
        return replies.pop(0) if len(replies) > 1 else replies[0]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.rcpt:
            reply = self._next(self.rcpt[address])
            if not reply.startswith("2"):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        reply = self._next(self.data) if self.data else "250 2.0.0 OK queued"
        if reply.startswith("2"):
            content = envelope.original_content or b""
            self.received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), content)
            )
            session.mc_count = getattr(session, "mc_count", 0) + 1  # type: ignore[attr-defined]
        return reply

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        # Yahoo-style: after N messages the next command finds the connection closed.
        if self.close_after and getattr(session, "mc_count", 0) >= self.close_after:
            if server.transport is not None:
                server.transport.close()
            return "421 closing"
        envelope.mail_from = address
        return "250 OK"

    def delivered_to(self) -> list[str]:
        """Every recipient of every accepted message."""
        return [r for m in self.received for r in m.rcpt_to]


MakeSink = Callable[..., Awaitable[Sink]]


@pytest.fixture
async def make_sink() -> AsyncIterator[MakeSink]:
    """Start scripted SMTP servers on 127.0.0.1: ``await make_sink(rcpt=..., data=...)``."""
    servers: list[asyncio.Server] = []

    async def start(**script: Any) -> Sink:
        sink = Sink(**script)

        def factory() -> SMTP:
            sink.connections += 1
            return SMTP(sink, hostname="mx.sink.test", ident="sink")

        server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
        servers.append(server)
        sink.port = server.sockets[0].getsockname()[1]
        return sink

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def smtp_sink(request: pytest.FixtureRequest, make_sink: MakeSink) -> Sink:
    """One scripted server; script it with ``@pytest.mark.smtp_replies(rcpt=..., data=...)``."""
    marker = request.node.get_closest_marker("smtp_replies")
    return await make_sink(**(marker.kwargs if marker else {}))


def fast_pace(group: str) -> PacePolicy:
    """A pace for loopback servers that accept as fast as we send (``Sender(pacing=...)``):
    tests of the mechanics do not wait for a first-contact pace of minutes."""
    return PacePolicy(first_contact=1000.0)
