"""End to end: three Sender processes, each with its own spool, share one budget in Redis.

The MX of every recipient is one recording SMTP sink in this test's process. One host is
killed with SIGKILL mid-run and started again on its spool: every message of every host
must reach the sink (a duplicate only for a message in flight at the kill), and the sink
must never see the budget exceeded: at most ``burst + rate`` messages in any second, at most
``connections`` connections at once.
"""

from __future__ import annotations

import asyncio
import collections
import email
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.redis import sender_worker
from tests.redis.hosts import Host, max_in_window
from tests.redis_server import RedisTestServer

MESSAGES = 30
SLACK = 2


class RecordingSink:
    """Accepts everything; records when each Message-ID arrived and concurrent connections."""

    def __init__(self) -> None:
        self.received: list[tuple[float, str]] = []
        self.open = 0
        self.most_open = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = email.message_from_bytes(envelope.original_content or b"")
        self.received.append((time.time(), str(parsed["Message-ID"])))
        return "250 2.0.0 OK"


class _CountingSMTP(SMTP):
    def __init__(self, sink: RecordingSink) -> None:
        super().__init__(sink, hostname="mx.e2e.redis.test")
        self.sink = sink

    def connection_made(self, transport: Any) -> None:
        self.sink.open += 1
        self.sink.most_open = max(self.sink.most_open, self.sink.open)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.sink.open -= 1
        super().connection_lost(exc)


@pytest.fixture
async def sink() -> AsyncIterator[tuple[RecordingSink, int]]:
    recorder = RecordingSink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _CountingSMTP(recorder), "127.0.0.1", 0)
    yield recorder, server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def wait_until(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def test_three_senders_share_the_budget_and_a_killed_one_loses_nothing(
    redis_server: RedisTestServer, sink: tuple[RecordingSink, int], tmp_path: Path
) -> None:
    recorder, port = sink
    zone = tmp_path / "e2e.redis.test.zone"
    zone.write_text(sender_worker.ZONE)

    def start(n: int) -> Host:
        spool, out = str(tmp_path / f"spool{n}.db"), tmp_path / f"host{n}.jsonl"
        return Host(
            redis_server.url,
            n,
            out,
            spool,
            str(zone),
            str(port),
            "--submit",
            str(MESSAGES),
            module="tests.redis.sender_worker",
        )

    hosts = [start(n) for n in range(3)]
    try:
        # Kill host 0 once some of its messages went out, then start it again on its spool.
        await wait_until(lambda: sum(mid.startswith("<h0-") for _, mid in recorder.received) >= 3)
        hosts[0].kill()
        killed_at = time.time()
        hosts[0] = start(0)
        for host in hosts:
            await wait_until(lambda host=host: host.process.poll() is not None)
            assert host.process.returncode == 0
    finally:
        for host in hosts:
            host.kill()

    ids = collections.Counter(mid for _, mid in recorder.received)
    expected = {f"<h{h}-m{n}@asso.example>" for h in range(3) for n in range(MESSAGES)}
    assert set(ids) == expected, "every message of every host arrived"
    duplicates = {mid for mid, count in ids.items() if count > 1}
    assert len(duplicates) <= 1
    assert all(mid.startswith("<h0-") for mid in duplicates)
    times = [t for t, _ in recorder.received]
    rate, burst = sender_worker.RATE, sender_worker.BURST
    assert max_in_window(times, 1.0) <= burst + rate + SLACK
    assert recorder.most_open <= sender_worker.CONNECTIONS
    assert any(t > killed_at for t, mid in recorder.received if mid.startswith("<h0-"))
