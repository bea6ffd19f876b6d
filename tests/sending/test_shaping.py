"""MemoryBackend budgets, persisted suspensions/overrides, bounded AIMD."""

from __future__ import annotations

from pathlib import Path

from mailcheck.sending.local_share import Gcra
from mailcheck.sending.redis_backend import Decision, Lease
from mailcheck.sending.shaping import AimdPolicy, Budget, MemoryBackend, Shaper, ShapingBackend
from mailcheck.sending.spool import SqliteSpool

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
    await MemoryBackend(clock=clock, store=spool).set_override(KEY, {"factor": 0.5}, 3600)
    spool.close()
    clock.now += 3600
    again = MemoryBackend(clock=clock, store=SqliteSpool(str(tmp_path / "q.db"), clock=clock))
    decision = await again.take_message(KEY, RATES)
    assert decision.suspended == "budget"
    assert decision.wait == 3 * 3600
    assert await again.override(KEY) is None  # the 1-hour override has expired


async def test_aimd_cuts_then_raises_slowly_never_above_ceiling() -> None:
    clock = Clock()
    policy = AimdPolicy(decrease=0.5, increase=0.25, increase_every=300, min_interval=30)
    shaper = Shaper(MemoryBackend(clock=clock), clock=clock, aimd=policy)
    budget = Budget(message_rates=RATES)
    assert await shaper.slow(KEY)
    assert not await shaper.slow(KEY)  # anti-flap: within min_interval
    clock.now += 31
    assert await shaper.slow(KEY)
    assert (await shaper.state(KEY))["factor"] == 0.25
    eff = await shaper.effective(KEY, budget)
    assert eff.message_rates[0][1].interval == 2.0
    await shaper.success(KEY)  # too soon after the change
    assert (await shaper.state(KEY))["factor"] == 0.25
    factors = []
    for _ in range(6):
        clock.now += 301
        await shaper.success(KEY)
        factors.append((await shaper.state(KEY))["factor"])
    assert factors[:3] == [0.5, 0.75, 1.0]
    assert max(factors) == 1.0
    assert await shaper.effective(KEY, budget) == budget


async def test_exit_after_successes_resumes() -> None:
    clock = Clock()
    backend = MemoryBackend(clock=clock)
    shaper = Shaper(backend, clock=clock)
    await shaper.slow(KEY, exit_after=3)
    for _ in range(2):
        await shaper.success(KEY)
    assert (await shaper.state(KEY))["factor"] < 1
    await shaper.success(KEY)
    assert await backend.override(KEY) is None


def test_both_backends_fit_the_protocol() -> None:
    """MemoryBackend and RedisBackend both satisfy ShapingBackend (checked by mypy too)."""

    def accepts(backend: ShapingBackend) -> ShapingBackend:
        return backend

    from mailcheck.sending.redis_backend import RedisBackend

    redis_backend: ShapingBackend = RedisBackend("redis://127.0.0.1:1/0")
    assert accepts(MemoryBackend()) is not None
    assert accepts(redis_backend) is redis_backend
