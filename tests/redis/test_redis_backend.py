"""RedisBackend against a real redis-server: scripts, leases, announcements, fallback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mailcheck.sending.local_share import Gcra
from mailcheck.sending.pacing import PacePolicy, PaceReason
from mailcheck.sending.redis_backend import BackendEvent, RedisBackend
from mailcheck.sending.shaper import Shaper
from mailcheck.sending.shaping import Budget
from mailcheck.sending.types import Decision, Lease
from tests.redis_server import RedisTestServer, free_port

KEY = ("192.0.2.1", "google")
SLOW = [("1/h", Gcra(interval=3600.0, burst=2))]
LEASE_TTL = 1.5


@pytest.fixture
async def pair(redis_server: RedisTestServer) -> AsyncIterator[tuple[RedisBackend, RedisBackend]]:
    """Two hosts on one Redis."""
    async with (
        RedisBackend(redis_server.url, lease_ttl=LEASE_TTL) as one,
        RedisBackend(redis_server.url, lease_ttl=LEASE_TTL) as two,
    ):
        await asyncio.sleep(0.1)  # both subscribed
        yield one, two


async def test_burst_then_refused_with_the_wait(pair: tuple[RedisBackend, RedisBackend]) -> None:
    one, two = pair
    first = await one.take_message(KEY, SLOW, reserve=0)
    second = await two.take_message(KEY, SLOW, reserve=0)
    third = await one.take_message(KEY, SLOW, reserve=0)
    assert (first.granted, second.granted, third.granted) == (True, True, False)
    assert 3500 < third.wait <= 3600
    assert first.shared
    assert third.shared
    assert one.stats().round_trips == 2


async def test_reserved_slot_is_granted_with_its_delay(redis_server: RedisTestServer) -> None:
    limits = [("2/s", Gcra(interval=0.5))]
    async with RedisBackend(redis_server.url) as backend:
        assert (await backend.take_message(KEY, limits)).wait == 0
        reserved = await backend.take_message(KEY, limits, reserve=1.0)
        assert reserved.granted
        assert 0.4 <= reserved.wait <= 0.5
        later = await backend.take_message(KEY, limits, reserve=0.7)
        assert not later.granted


async def test_limits_are_taken_all_or_nothing(pair: tuple[RedisBackend, RedisBackend]) -> None:
    one, _ = pair
    wide = ("100/s", Gcra(interval=0.01, burst=2))
    narrow = ("1/h", Gcra(interval=3600.0))
    assert (await one.take_message(KEY, [narrow, wide], reserve=0)).granted
    assert not (await one.take_message(KEY, [narrow, wide], reserve=0)).granted
    # The refused request did not consume the wide limit: its burst of 2 is intact.
    assert (await one.take_message(KEY, [wide], reserve=0)).granted


async def test_suspension_reaches_every_host_and_resume_wakes_them(
    pair: tuple[RedisBackend, RedisBackend],
) -> None:
    one, two = pair
    await one.suspend(KEY, 600, reason="421 4.7.0 [TSS04]")
    held = await two.take_message(KEY, SLOW)
    assert held.suspended == "budget"
    assert 590 < held.wait <= 600
    waiter = asyncio.create_task(two.changed(timeout=5.0))
    await asyncio.sleep(0.05)
    seen = two.generation
    await one.resume(KEY)
    assert await waiter
    assert await two.changed(timeout=5.0, since=seen)  # already happened: at once
    assert (await two.take_message(KEY, SLOW)).granted


async def test_tenant_suspension_holds_only_that_tenant(
    pair: tuple[RedisBackend, RedisBackend],
) -> None:
    one, two = pair
    await one.suspend(KEY, 60, tenant="asso-a.example")
    assert (await two.take_message(KEY, SLOW, tenant="asso-a.example")).suspended == "tenant"
    assert (await two.take_message(KEY, SLOW, tenant="asso-b.example")).granted
    # The domain is judged at the provider whatever the egress IP.
    other_ip = ("192.0.2.2", "google")
    assert (await two.take_message(other_ip, SLOW, tenant="asso-a.example")).suspended == "tenant"


async def test_override_is_seen_by_every_host(pair: tuple[RedisBackend, RedisBackend]) -> None:
    one, two = pair
    assert await two.override(KEY) is None
    await one.set_override(KEY, {"max_message_rate": "1/min"}, 60)
    for _ in range(50):  # the announcement drops two's cached "no override"
        if await two.override(KEY) is not None:
            break
        await asyncio.sleep(0.02)
    assert await two.override(KEY) == {"max_message_rate": "1/min"}


async def test_leases_limit_extend_and_release(pair: tuple[RedisBackend, RedisBackend]) -> None:
    one, two = pair
    first = await one.open_connection(KEY, limit=2)
    second = await two.open_connection(KEY, limit=2)
    assert isinstance(first, Lease)
    assert isinstance(second, Lease)
    refused = await one.open_connection(KEY, limit=2)
    assert isinstance(refused, Decision)
    assert not refused.granted
    await asyncio.sleep(LEASE_TTL + 0.5)  # longer than a lease: the heartbeat keeps them
    assert await one.connections(KEY) == 2
    await two.release(second)
    assert isinstance(await one.open_connection(KEY, limit=2), Lease)


async def test_connection_open_rate(pair: tuple[RedisBackend, RedisBackend]) -> None:
    one, _ = pair
    rate = Gcra(interval=3600.0)
    assert isinstance(await one.open_connection(KEY, limit=5, rate=rate), Lease)
    refused = await one.open_connection(KEY, limit=5, rate=rate)
    assert isinstance(refused, Decision)
    assert refused.wait > 3500


async def test_local_groups_never_use_redis(redis_server: RedisTestServer) -> None:
    async with RedisBackend(redis_server.url, expected_hosts=3, local_groups={"orange"}) as b:
        key = ("192.0.2.1", "orange")
        # The whole budget, not a third of it: the group is not shared.
        assert isinstance(await b.open_connection(key, limit=2), Lease)
        assert isinstance(await b.open_connection(key, limit=2), Lease)
        assert not (await b.take_message(key, SLOW, reserve=0)).shared
        assert b.stats().round_trips == 0


async def test_no_redis_at_start_falls_back_then_returns() -> None:
    events: list[BackendEvent] = []
    server = RedisTestServer(free_port())
    backend = RedisBackend(server.url, expected_hosts=2, on_event=events.append)
    try:
        async with backend:
            # A share of 2 connections out of 4, a share of the burst of 2 (1).
            leases = [await backend.open_connection(KEY, limit=4) for _ in range(3)]
            assert [isinstance(x, Lease) for x in leases] == [True, True, False]
            assert (await backend.take_message(KEY, SLOW, reserve=0)).granted
            assert not (await backend.take_message(KEY, SLOW, reserve=0)).granted
            assert backend.stats().mode == "local"
            assert [e.kind for e in events] == ["redis-unavailable"]
            server.start()
            for _ in range(100):
                if backend.stats().mode == "redis":
                    break
                await asyncio.sleep(0.05)
            assert [e.kind for e in events] == ["redis-unavailable", "redis-restored"]
            # The leases taken locally were registered in Redis on the way back.
            assert await backend.connections(KEY) == 2
            assert (await backend.take_message(KEY, SLOW, reserve=0)).shared
    finally:
        server.close()


async def test_suspension_learned_before_an_outage_still_holds(
    pair: tuple[RedisBackend, RedisBackend], redis_server: RedisTestServer
) -> None:
    one, two = pair
    await one.suspend(KEY, 60)
    await asyncio.sleep(0.1)
    redis_server.stop()
    held = await two.take_message(KEY, SLOW, tenant="asso-a.example")
    assert held.suspended == "budget"
    assert not held.shared


async def test_override_deleted_on_every_host(pair: tuple[RedisBackend, RedisBackend]) -> None:
    one, two = pair
    await one.set_override(KEY, {"factor": 0.5}, 60)
    seen = two.generation
    await one.set_override(KEY, {}, 0)
    assert await two.changed(timeout=5.0, since=seen)
    assert await one.override(KEY) is None
    assert await two.override(KEY) is None


async def test_learned_pace_and_its_pause_are_shared_between_hosts(
    pair: tuple[RedisBackend, RedisBackend],
) -> None:
    """A throttling reply seen by one host cuts the pace on both; from the ladder step
    where transactional mail waits too, the pause is a suspension both obey."""
    one, two = pair
    policy = PacePolicy(first_contact=20.0)
    shaper_one, shaper_two = Shaper(one), Shaper(two)
    budget = Budget(message_rates=(("100/s", Gcra(interval=0.01)),))
    assert (await shaper_two.pace(KEY, policy)).rate == 20.0  # first contact
    seen = two.generation
    throttle = await shaper_one.throttle(KEY, policy, rule="r", reply="421 slow down")
    assert throttle.rate == pytest.approx(10.0)  # nothing measured: half the pace
    assert not throttle.hold_all  # a first step: each host pauses its own bulk mail
    assert await two.changed(timeout=5.0, since=seen)  # the announcement reached host two
    pace = await shaper_two.pace(KEY, policy)
    assert pace.reason is PaceReason.BACKED_OFF
    assert pace.rate == pytest.approx(10.0)
    state = await shaper_two.state(KEY, policy)
    assert state["rate_per_hour"] == pytest.approx(36000.0)
    assert state["paused_until"] is not None
    slowed = await shaper_two.effective(KEY, budget, policy)
    assert dict(slowed.message_rates)["pace"].interval == pytest.approx(0.1)
    assert (await two.take_message(KEY, SLOW)).granted  # not suspended: the pace brakes
    # Repeated, the reply climbs the ladder to a step that suspends the shared budget.
    while not throttle.hold_all:
        throttle = await shaper_one.throttle(KEY, policy, rule="r", reply="421 slow down")
    assert throttle.level == policy.transactional_through + 1
    held = await two.take_message(KEY, SLOW)
    assert not held.granted
    assert held.suspended == "budget"
    assert held.wait == pytest.approx(throttle.pause, abs=1.0)


async def test_rule_thresholds_count_the_matches_of_every_host(
    pair: tuple[RedisBackend, RedisBackend],
) -> None:
    """Gmail judges the shared IP: "3 deferrals an hour" counts every host's deferrals."""
    one, two = pair
    rule = "google-ip-rate"
    assert not await one.threshold(KEY, rule, count=3, period=3600)
    assert not await two.threshold(KEY, rule, count=3, period=3600)
    assert await one.threshold(KEY, rule, count=3, period=3600)  # the third, on any host
    assert not await two.threshold(KEY, rule, count=3, period=3600)  # counting again
    # Another budget, another rule: counted apart.
    assert not await one.threshold(("192.0.2.2", "google"), rule, count=2, period=3600)
    assert not await one.threshold(KEY, "other-rule", count=2, period=3600)
    assert one.stats().round_trips + two.stats().round_trips == 6


async def test_rule_matches_leave_the_window(pair: tuple[RedisBackend, RedisBackend]) -> None:
    one, two = pair
    assert not await one.threshold(KEY, "r", count=2, period=0.2)
    await asyncio.sleep(0.3)  # the first match is older than the window
    assert not await two.threshold(KEY, "r", count=2, period=0.2)
    assert await one.threshold(KEY, "r", count=2, period=0.2)


async def test_rule_thresholds_count_locally_while_redis_is_away(
    pair: tuple[RedisBackend, RedisBackend], redis_server: RedisTestServer
) -> None:
    one, _ = pair
    redis_server.stop()
    assert not await one.threshold(KEY, "r", count=2, period=60)
    assert await one.threshold(KEY, "r", count=2, period=60)
    assert one.stats().mode == "local"
