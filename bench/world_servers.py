"""The provider world as real SMTP servers: one aiosmtpd server per simulated provider on
loopback, each answering from the hidden parameters of ``draw_world(seed)``
(``mailcheck.sending.simulation.world``) on a clock ``--speed`` times faster than real time.

Run by ``bench/bench_world_cli.py`` in a child process: it prints ``{"MX host": port}`` as
one JSON line, serves until a line arrives on stdin, then prints what each provider saw.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcheck.sending.simulation import ScaledClockLoop
from mailcheck.sending.simulation.world import SimProvider, draw_world


def _reply(pair: tuple[int, str]) -> str:
    return f"{pair[0]} {pair[1]}"


class Handler:
    """aiosmtpd hooks playing one provider."""

    def __init__(self, provider: SimProvider) -> None:
        self.p = provider

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.p.blocked():
            self.p.tally.refused_blocked += 1
            return _reply(self.p.hidden.block)
        envelope.mail_from = address
        envelope.rcpt_tos = []
        envelope.dropped = []  # type: ignore[attr-defined]
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.p.blocked():
            self.p.tally.refused_blocked += 1
            return _reply(self.p.hidden.block)
        if self.p.over_rate():
            if self.p.rng.random() < self.p.hidden.drop_fraction:
                envelope.dropped.append(address)  # type: ignore[attr-defined]
                return "250 OK"  # accepted, then destroyed
            self.p._strike()
            return _reply(self.p.hidden.slow)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        dropped = getattr(envelope, "dropped", [])
        self.p.tally.dropped += len(dropped)
        for rcpt in envelope.rcpt_tos:
            self.p.tally.accepted += 1
            self.p.delivered.setdefault(rcpt, self.p.clock())
        count = getattr(session, "count", 0) + 1
        session.count = count  # type: ignore[attr-defined]
        if count >= self.p.hidden.per_connection and server.transport is not None:
            # Close silently after the reply, as Yahoo does at its per-connection limit.
            asyncio.get_running_loop().call_later(0.01, server.transport.close)
        return "250 2.0.0 OK queued"


class WorldSMTP(SMTP):
    """Counts connections; refuses one at the greeting when the provider would."""

    def __init__(self, provider: SimProvider) -> None:
        super().__init__(Handler(provider), hostname=provider.hosts[0])
        self.p = provider
        self.counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        refusal = self.p.refusal()
        if refusal is not None:
            transport.write(f"{refusal.code} {refusal.message}\r\n".encode())  # type: ignore[attr-defined]
            transport.close()
            return
        self.counted = True
        self.p.open += 1
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.counted:
            self.counted = False
            self.p.open -= 1
        super().connection_lost(exc)


async def serve(seed: int) -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, ScaledClockLoop)
    providers, domains = draw_world(seed, loop.wall)
    ports: dict[str, int] = {}
    servers = []
    for provider in providers:

        def factory(p: SimProvider = provider) -> SMTP:
            return WorldSMTP(p)

        server = await loop.create_server(factory, "127.0.0.1", 0)
        servers.append(server)
        ports[provider.hosts[0]] = server.sockets[0].getsockname()[1]
    sys.stdout.write(json.dumps({"ports": ports, "domains": domains}) + "\n")
    sys.stdout.flush()
    await asyncio.to_thread(sys.stdin.readline)
    report: dict[str, Any] = {}
    for p in providers:
        report[p.name] = {
            "hidden_rate_per_hour": round(p.hidden.rate * 3600, 1),
            "accepted": p.tally.accepted,
            "dropped": p.tally.dropped,
            "throttled": p.tally.throttled,
            "blocks": p.tally.blocks,
            "connections_refused": p.tally.connections_refused,
            "last_delivery": max(p.delivered.values(), default=loop.epoch) - loop.epoch,
        }
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    for server in servers:
        server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speed", type=float, default=60.0)
    args = parser.parse_args()
    with asyncio.Runner(loop_factory=lambda: ScaledClockLoop(speed=args.speed)) as runner:
        runner.run(serve(args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
