"""Tenants share one Redis budget by weight; a tenant-scoped reply holds only that tenant."""

from __future__ import annotations

import asyncio
import collections

import pytest

from mailcheck.sending.fairness import FairnessConfig, FairQueue, is_tenant_scoped
from mailcheck.sending.local_share import Gcra
from mailcheck.sending.redis_backend import RedisBackend
from tests.redis_server import RedisTestServer

KEY = ("192.0.2.20", "google")
LIMITS = [("50/s", Gcra(interval=1 / 50))]


async def drain(
    queue: FairQueue[int], backend: RedisBackend, grants: int, tenant_replies: dict[str, str]
) -> collections.Counter[str]:
    """Spend ``grants`` grants of the saturated Redis budget on the queue."""
    loop = asyncio.get_running_loop()
    sent: collections.Counter[str] = collections.Counter()
    while sum(sent.values()) < grants:
        popped = queue.pop(now=loop.time())
        assert popped is not None
        tenant, item = popped
        decision = await backend.take_message(KEY, LIMITS, tenant=tenant)
        if not decision.granted:
            queue.push(tenant, item)  # back in line
            assert decision.suspended == "tenant"  # the budget itself is only saturated
            queue.suspend(tenant, until=loop.time() + decision.wait)
            continue
        await asyncio.sleep(decision.wait)
        sent[tenant] += 1
        reply = tenant_replies.get(tenant)
        if reply and is_tenant_scoped(reply):
            await backend.suspend(KEY, 60, tenant=tenant, reason=reply)
            queue.suspend(tenant, until=loop.time() + 60)
    return sent


async def test_weights_three_to_one_through_redis(redis_server: RedisTestServer) -> None:
    queue: FairQueue[int] = FairQueue(FairnessConfig.from_mapping({"asso-a": {"weight": 3}}))
    for n in range(200):
        queue.push("asso-a", n)
        queue.push("asso-b", n)
    async with RedisBackend(redis_server.url) as backend:
        sent = await drain(queue, backend, 40, {})
    assert sent["asso-a"] / sent["asso-b"] == pytest.approx(3.0, rel=0.10)


async def test_tenant_scoped_reply_holds_only_that_tenant(redis_server: RedisTestServer) -> None:
    queue: FairQueue[int] = FairQueue()
    for n in range(100):
        queue.push("asso-a", n)
        queue.push("asso-b", n)
    reply = "550 5.7.515 Access denied, sending domain asso-a.example does not meet the required"
    async with (
        RedisBackend(redis_server.url) as backend,
        RedisBackend(redis_server.url) as other_host,
    ):
        sent = await drain(queue, backend, 10, {"asso-a": reply})
        assert sent == {"asso-a": 1, "asso-b": 9}
        # Every host now holds asso-a at this provider, and only asso-a.
        held = await other_host.take_message(KEY, LIMITS, tenant="asso-a")
        assert held.suspended == "tenant"
        assert (await other_host.take_message(KEY, LIMITS, tenant="asso-b")).granted
