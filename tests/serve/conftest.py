"""Fixtures of the web service tests: a DNS test server with the example zones, the app
under a real uvicorn, an httpx client, a spool with some history."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mailcheck import DnsResolver
from mailcheck.reputation.catalogue import load_catalogue
from mailcheck.serve import ServeConfig, create_app
from tests.dnsserver import DnsTestServer
from tests.serve.live import LiveServer

ROOT = Path(__file__).parent.parent.parent
EXAMPLES = ROOT / "examples"
TOKEN = "test-token-0123456789abcdef"
OTHER_TOKEN = "other-token-0123456789abcdef"


@pytest.fixture(scope="session")
def serve_dns() -> Iterator[DnsTestServer]:
    """The test zones and the examples' zones (example.org and its hoster, bl.example)."""
    zones = sorted((ROOT / "tests" / "zones").glob("*.zone"))
    zones += sorted((EXAMPLES / "zones").glob("*.zone"))
    server = DnsTestServer(zones).start()
    yield server
    server.stop()


@pytest.fixture
def dns(serve_dns: DnsTestServer) -> Iterator[DnsTestServer]:
    serve_dns.reset()
    yield serve_dns
    serve_dns.reset()


def base_config(dns: DnsTestServer, **changes: Any) -> ServeConfig:
    """Tokens, the test DNS server, and only the demo blocklist (bl.example, served here)."""
    catalogue = load_catalogue(EXAMPLES / "demo-lists.toml", builtin=False)
    config = ServeConfig(
        tokens=(TOKEN, OTHER_TOKEN),
        resolver=DnsResolver([dns.address], timeout=2.0),
        catalogue=catalogue,
        rate_per_minute=6000,
        burst=1000,
    )
    return dataclasses.replace(config, **changes)


@pytest.fixture
def serve(dns: DnsTestServer) -> Iterator[Callable[..., LiveServer]]:
    """Start the app under uvicorn with ``base_config`` changed by the keywords."""
    started: list[LiveServer] = []

    def start(**changes: Any) -> LiveServer:
        server = LiveServer(create_app(base_config(dns, **changes))).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


@pytest.fixture
def live(serve: Callable[..., LiveServer]) -> LiveServer:
    return serve()


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as http:
        yield http


async def fill_spool(path: Path, *, now: float | None = None) -> None:
    """A spool with a day of history: deliveries and deferrals at Google, Orange and a
    small hoster, and Google paused by a throttling reply (hostile text in it)."""
    from mailcheck.sending.providers import ProviderSet
    from mailcheck.sending.shaper import Shaper
    from mailcheck.sending.shaping import MemoryBackend
    from mailcheck.sending.spool import SqliteSpool

    now = time.time() if now is None else now
    clock = [now - 20 * 3600]
    spool = SqliteSpool(str(path), clock=lambda: clock[0])
    try:
        rcpts = [f"u{i}@vanity.prov.test" for i in range(12)]
        rcpts += [f"u{i}@orangeish.prov.test" for i in range(5)]
        rcpts += [f"u{i}@hosted.prov.test" for i in range(3)]
        await spool.submit(b"Subject: hi\r\n\r\nhello\r\n", mail_from="news@example.org",
                           rcpt_to=rcpts)  # fmt: skip
        rows = await spool.list(limit=100)
        for index, row in enumerate(rows):
            clock[0] = now - (20 - index) * 3600 + 60
            if index % 4 == 3:
                await spool.defer(row.id, '421 4.7.28 "><img src=x onerror=alert(5)> slow down')
            elif index < 15:
                await spool.finish(row.id, "delivered", "250 2.0.0 OK")
        clock[0] = now - 60
        providers = ProviderSet.load()
        shaper = Shaper(MemoryBackend(clock=lambda: clock[0], store=spool), clock=lambda: clock[0])
        await shaper.throttle(
            ("192.0.2.1", "google"), providers.pace_policy("google"),
            rule="google-rate", reply="421 4.7.28 <script>alert(6)</script> unusual rate",
            ladder=(3600.0,),
        )  # fmt: skip
        await spool.flush_state()
    finally:
        spool.close()
    os.sync()


@pytest.fixture
def spool_path(tmp_path: Path) -> Path:
    """A filled spool. Made in a thread of its own: Playwright's sync API keeps an event
    loop running in the test's thread."""
    path = tmp_path / "spool.db"
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, fill_spool(path)).result()
    return path
