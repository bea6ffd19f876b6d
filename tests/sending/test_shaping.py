"""MemoryBackend budgets, persisted suspensions/overrides, the Shaper's learned pace."""

from __future__ import annotations

from pathlib import Path

from mailcheck.sending.local_share import Gcra
from mailcheck.sending.pacing import PacePolicy, PaceReason
from mailcheck.sending.shaper import Shaper
from mailcheck.sending.shaping import Budget, MemoryBackend, ShapingBackend
from mailcheck.sending.spool import SqliteSpool
from mailcheck.sending.types import Decision, Lease

KEY = ("192.0.2.1", "yahoo")
RATES = (("2/s", Gcra(interval=0.5, burst=1)),)


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_message_rate_reserves_then_refuses() -> None:
    clock = Clock()
    backend = MemoryBackend(clock=clock)
    first = await backend.take_message(KEY, RATES, reserve=0.0)
    second = await backend.take_message(KEY, RATES, reserve=0.0)
    third = await backend.take_message(KEY, RATES, reserve=1.0)
    assert (first.granted, second.granted, second.wait) == (True, False, 0.5)
    assert (third.granted, third.wait) == (True, 0.5)
    clock.now += 10
    assert (await backend.take_message(KEY, RATES, reserve=0.0)).granted


async def test_connection_limit_and_open_rate() -> None:
    clock = Clock()
    backend = MemoryBackend(clock=clock)
    rate = Gcra(interval=1.0, burst=2)
    a = await backend.open_connection(KEY, limit=2, rate=rate)
    b = await backend.open_connection(KEY, limit=2, rate=rate)
    c = await backend.open_connection(KEY, limit=2, rate=rate)
    assert isinstance(a, Lease)
    assert isinstance(b, Lease)
    assert isinstance(c, Decision)
    await backend.release(a)
    d = await backend.open_connection(KEY, limit=2, rate=rate)
    assert isinstance(d, Decision)
    assert d.wait > 0
    clock.now += 1
    assert isinstance(await backend.open_connection(KEY, limit=2, rate=rate), Lease)
    assert await backend.connections(KEY) == 2


async def test_suspension_expires_and_tenant_scope() -> None:
    clock = Clock()
    backend = MemoryBackend(clock=clock)
    await backend.suspend(KEY, 60, tenant="acme", reason="test")
    held = await backend.take_message(KEY, RATES, tenant="acme")
    other = await backend.take_message(KEY, RATES, tenant="other")
    assert (held.granted, held.suspended, held.wait) == (False, "tenant", 60)
    assert other.granted
    await backend.suspend(KEY, 60)
    assert (await backend.open_connection(KEY, limit=1)).suspended == "budget"  # type: ignore[union-attr]
    clock.now += 61
    assert (await backend.take_message(KEY, RATES, tenant="acme")).granted


async def test_four_hour_suspension_survives_restart(tmp_path: Path) -> None:
    clock = Clock()
    spool = SqliteSpool(str(tmp_path / "q.db"), clock=clock)
    await MemoryBackend(clock=clock, store=spool).suspend(KEY, 4 * 3600, reason="TSS04")
    await MemoryBackend(clock=clock, store=spool).set_override(KEY, {"limits": {}}, 3600)
    spool.close()
    clock.now += 3600
    again = MemoryBackend(clock=clock, store=SqliteSpool(str(tmp_path / "q.db"), clock=clock))
    decision = await again.take_message(KEY, RATES)
    assert decision.suspended == "budget"
    assert decision.wait == 3 * 3600
    assert await again.override(KEY) is None  # the 1-hour override has expired


POLICY = PacePolicy(first_contact=0.5, step=0.5, step_every=60.0, window=120.0)


async def test_pace_starts_at_first_contact_and_gates_grants() -> None:
    clock = Clock()
    shaper = Shaper(MemoryBackend(clock=clock), clock=clock)
    budget = await shaper.effective(KEY, Budget(message_rates=RATES), POLICY)
    assert dict(budget.message_rates)["pace"].interval == 2.0  # 0.5 a second
    pace = await shaper.pace(KEY, POLICY)
    assert (pace.rate, pace.reason) == (0.5, PaceReason.FIRST_CONTACT)


async def test_throttle_cuts_the_measured_rate_and_pauses() -> None:
    clock = Clock()
    backend = MemoryBackend(clock=clock)
    shaper = Shaper(backend, clock=clock)
    for _ in range(20):  # 20 accepted in 100 s: 0.2 a second, below the pace
        clock.now += 5
        await shaper.success(KEY, POLICY, backlog=0)
    throttle = await shaper.throttle(KEY, POLICY, rule="r", reply="421 slow down")
    assert throttle.rate == 0.2 * POLICY.decrease
    assert throttle.level == 1
    # The first steps pause bulk mail in the Sender; the shared budget is not suspended.
    assert not throttle.hold_all
    assert (await backend.take_message(KEY, RATES)).suspended == ""
    state = await shaper.state(KEY, POLICY)
    assert state["reason"] == "backed-off"
    assert "slow-down 1 of 4" in state["pause_reason"]
    for _ in range(2):
        clock.now += 10
        throttle = await shaper.throttle(KEY, POLICY, rule="r", reply="421 slow down")
    assert (throttle.level, throttle.hold_all) == (3, True)  # perhaps a block: all wait
    decision = await backend.take_message(KEY, RATES)
    assert decision.suspended == "budget"
    assert decision.wait == throttle.pause


async def test_pace_rises_only_when_the_backlog_needs_it() -> None:
    clock = Clock()
    shaper = Shaper(MemoryBackend(clock=clock), clock=clock)
    clock.now += 61
    # 100 waiting, drain target 1 h: 0.03/s is enough, 0.5/s is plenty.
    assert await shaper.success(KEY, POLICY, backlog=100) is None
    assert (await shaper.pace(KEY, POLICY)).reason is PaceReason.ENOUGH
    clock.now += 61
    rose = await shaper.success(KEY, POLICY, backlog=36_000)  # needs 10/s
    assert rose is not None
    assert rose.rate == 1.0
    assert rose.reason is PaceReason.PROBING


async def test_learned_pace_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    spool = SqliteSpool(str(tmp_path / "q.db"), clock=clock)
    shaper = Shaper(MemoryBackend(clock=clock, store=spool), clock=clock)
    await shaper.success(KEY, POLICY, backlog=36_000)  # first contact
    clock.now += 61
    assert await shaper.success(KEY, POLICY, backlog=36_000) is not None  # one step up
    await spool.flush_state()
    spool.close()
    again = SqliteSpool(str(tmp_path / "q.db"), clock=clock)
    restarted = Shaper(MemoryBackend(clock=clock, store=again), clock=clock)
    assert (await restarted.pace(KEY, POLICY)).rate == 1.0
    clock.now += 2 * 86400  # two days without traffic: half way back to first contact
    assert (await restarted.pace(KEY, POLICY)).rate == 0.75
    again.close()


async def test_rule_caps_end_after_exit_after_successes() -> None:
    clock = Clock()
    backend = MemoryBackend(clock=clock)
    shaper = Shaper(backend, clock=clock)
    assert await shaper.restrict(KEY, seconds=3600, connections=1, exit_after=3)
    assert not await shaper.restrict(KEY, seconds=3600, connections=1, exit_after=3)
    capped = await shaper.effective(KEY, Budget(connections=5), POLICY)
    assert capped.connections == 1
    for _ in range(3):  # deliveries are judged together at most once a second
        clock.now += 1
        await shaper.success(KEY, POLICY, backlog=0)
    assert (await shaper.effective(KEY, Budget(connections=5), POLICY)).connections == 5


def test_both_backends_fit_the_protocol() -> None:
    """MemoryBackend and RedisBackend both satisfy ShapingBackend (checked by mypy too)."""

    def accepts(backend: ShapingBackend) -> ShapingBackend:
        return backend

    from mailcheck.sending.redis_backend import RedisBackend

    redis_backend: ShapingBackend = RedisBackend("redis://127.0.0.1:1/0")
    assert accepts(MemoryBackend()) is not None
    assert accepts(redis_backend) is redis_backend
