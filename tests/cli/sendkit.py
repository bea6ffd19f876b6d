"""What the ``mailcheck send`` tests share: a scripted aiosmtpd server and message files.

The server plays the MX host of ``plain.sending.test`` (``tests/zones/sending.test.zone``),
reached through ``--mx-override``; it records what it accepts, answers each recipient as
scripted, and can hold every DATA until the test opens its gate (a slow server, without
the test sleeping).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.dnsserver import DnsTestServer

DOMAIN = "plain.sending.test"
#: A provider file whose first-contact paces let a test's few messages go at once.
FAST = str(Path(__file__).with_name("fast-providers.toml"))
MX_HOST = "mx.plain.sending.test"


@dataclasses.dataclass
class Server:
    """The script and the record of one server.

    Attributes:
        rcpt: recipient -> its reply (``550 5.1.1 ...`` bounces it).
        most_sessions: the most connections open at once.
        helos: the EHLO name of each accepted message's session.
        gate: when set, DATA waits until it is open.
        received: (recipients, message) accepted.
        mail_froms: the envelope sender of each accepted message.
        data_started: set when a DATA arrives (the gate is then holding it).
    """

    rcpt: dict[str, str] = dataclasses.field(default_factory=dict)
    gate: asyncio.Event | None = None
    received: list[tuple[list[str], bytes]] = dataclasses.field(default_factory=list)
    data_started: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    port: int = 0
    sessions: int = 0
    most_sessions: int = 0
    helos: list[str] = dataclasses.field(default_factory=list)
    mail_froms: list[str] = dataclasses.field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        reply = self.rcpt.get(address, "250 OK")
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_started.set()
        if self.gate is not None:
            await self.gate.wait()
        self.received.append((list(envelope.rcpt_tos), envelope.original_content or b""))
        self.helos.append(str(session.host_name))
        self.mail_froms.append(str(envelope.mail_from))
        return "250 2.0.0 OK queued"

    def delivered_to(self) -> list[str]:
        """Every recipient of every accepted message, in order."""
        return [r for rcpts, _ in self.received for r in rcpts]


class _Counted(SMTP):
    """aiosmtpd's SMTP counting the connections open at once."""

    def __init__(self, server: Server) -> None:
        super().__init__(server, hostname=MX_HOST)
        self.server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None:  # not again after STARTTLS
            self.server.sessions += 1
            self.server.most_sessions = max(self.server.most_sessions, self.server.sessions)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.sessions -= 1
        super().connection_lost(exc)


@contextlib.asynccontextmanager
async def serve(server: Server) -> AsyncIterator[Server]:
    """Run ``server`` on 127.0.0.1 (a free port) while the generator is open."""
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(lambda: _Counted(server), "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        if server.gate is not None:
            server.gate.set()
        listener.close()
        await listener.wait_closed()


def message(n: int, *, to: str = "", message_id: bool = True) -> bytes:
    """A small message to ``to`` (default ``m{n}@plain.sending.test``)."""
    to = to or f"m{n}@{DOMAIN}"
    mid = f"Message-ID: <{n}.news@asso.example>\r\n" if message_id else ""
    return (
        f"From: news@asso.example\r\nTo: {to}\r\n{mid}Subject: news {n}\r\n\r\nHello {n}\r\n"
    ).encode()


def write_messages(folder: Path, count: int, **kw: Any) -> list[str]:
    """``count`` message files in ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"{n}.eml"
        path.write_bytes(message(n, **kw))
        paths.append(str(path))
    return paths


def send_args(spool: Path, dns: DnsTestServer, server: Server, *extra: str) -> list[str]:
    """``mailcheck send`` arguments that reach ``server`` through the test DNS server."""
    return [
        "send",
        "--spool",
        str(spool),
        "--nameserver",
        dns.address,
        "--timeout",
        "2",
        "--port",
        str(server.port),
        "--mx-override",
        f"{MX_HOST}=127.0.0.1:{server.port}",
        "--helo",
        "out.asso.example",
        *extra,
    ]
