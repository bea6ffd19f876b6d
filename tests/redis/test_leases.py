"""Connection leases across processes: a SIGKILLed host's connections free themselves."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailcheck.sending.redis_backend import RedisBackend
from mailcheck.sending.types import Decision, Lease
from tests.redis.hosts import Host
from tests.redis.worker import KEY
from tests.redis_server import RedisTestServer

# Live hosts extend their leases every third of this; on a loaded 2-core machine a host
# stalled past 1.5 s lost its lease and the count below read 2 (seen twice under load).
LEASE_TTL = 3.0


async def test_sigkill_frees_the_hosts_leases_within_the_lease_expiry(
    redis_server: RedisTestServer, tmp_path: Path
) -> None:
    options = ("--seconds", "30", "--rate", "1", "--connections", "3")
    options += ("--lease-ttl", str(LEASE_TTL))
    hosts = [Host(redis_server.url, n, tmp_path / f"h{n}.jsonl", *options) for n in range(3)]
    try:
        for host in hosts:
            await asyncio.to_thread(host.wait_for, "lease")
        async with RedisBackend(redis_server.url, lease_ttl=LEASE_TTL) as backend:
            refused = await backend.open_connection(KEY, limit=3)
            assert isinstance(refused, Decision)
            assert not refused.granted
            assert refused.wait <= LEASE_TTL
            # Live hosts extend their leases: still held after several lease lifetimes.
            await asyncio.sleep(LEASE_TTL + 0.5)
            assert await backend.connections(KEY) == 3
            hosts[0].kill()
            waited = 0.0
            while True:
                got = await backend.open_connection(KEY, limit=3)
                if isinstance(got, Lease):
                    break
                assert got.wait <= LEASE_TTL
                waited += got.wait
                await asyncio.sleep(got.wait)
            assert waited <= LEASE_TTL + 0.1
            assert await backend.connections(KEY) == 3
            await backend.release(got)
            assert await backend.connections(KEY) == 2
    finally:
        for host in hosts:
            host.kill()
