"""Shaping budgets per (egress IP, provider group): the backend seam, a memory backend, AIMD.

Three limiters guard every budget: a connection limit (leases), a connection-open rate and
message rates (GCRA, :func:`mailcheck.sending.local_share.gcra_check`); the Sender also
caps messages per connection. State lives behind :class:`ShapingBackend`, which
:class:`mailcheck.sending.redis_backend.RedisBackend` implements for several hosts and
:class:`MemoryBackend` for one. Reply actions become suspensions and overrides with an
expiry; a :class:`StateStore` (the spool's SQLite) keeps them across restarts.

:class:`Shaper` wraps a backend with bounded AIMD: a throttling reply divides the rate,
successes raise it slowly back toward the configured ceiling, never above it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from mailcheck.sending.local_share import Gcra, MatchWindow, gcra_check
from mailcheck.sending.redis_backend import Decision, Lease
from mailcheck.sending.redis_board import BudgetKey

__all__ = [
    "AimdPolicy",
    "Budget",
    "MemoryBackend",
    "Shaper",
    "ShapingBackend",
    "StateStore",
]

Clock = Callable[[], float]


class ShapingBackend(Protocol):
    """Where budgets live. Methods mirror :class:`RedisBackend`; all state is keyed by
    ``BudgetKey = (egress IP, provider group)``."""

    async def take_message(
        self,
        key: BudgetKey,
        limits: Sequence[tuple[str, Gcra]],
        /,
        *,
        tenant: str | None = None,
        reserve: float = 1.0,
    ) -> Decision:
        """Take one message from every named GCRA limit atomically (all or nothing)."""
        ...

    async def open_connection(
        self, key: BudgetKey, /, *, limit: int, rate: Gcra | None = None
    ) -> Lease | Decision:
        """Take a connection lease (expiring unless held) and a connection-open token."""
        ...

    async def release(self, lease: Lease, /) -> None:
        """Give a connection lease back."""
        ...

    async def suspend(
        self, key: BudgetKey, seconds: float, /, *, tenant: str | None = None, reason: str = ""
    ) -> None:
        """Suspend a budget (or one tenant in it) for ``seconds``."""
        ...

    async def resume(self, key: BudgetKey, /, *, tenant: str | None = None) -> None:
        """Lift a suspension."""
        ...

    async def set_override(self, key: BudgetKey, data: Mapping[str, Any], seconds: float) -> None:
        """Store opaque override data for ``key`` for ``seconds`` (0 or less deletes it)."""
        ...

    async def override(self, key: BudgetKey, /) -> dict[str, Any] | None:
        """The override in force for ``key``, if any."""
        ...

    async def threshold(self, key: BudgetKey, name: str, /, *, count: int, period: float) -> bool:
        """Count one match of rule ``name`` at ``key``; True once ``count`` matches fall
        within ``period`` seconds (the count then starts again). A shared backend counts
        the matches of every host: the provider judges the IP, not one process."""
        ...


class StateStore(Protocol):
    """Durable storage of suspensions and overrides (``kind`` is ``suspend`` or ``override``)."""

    def save_state(
        self, kind: str, key: BudgetKey, tenant: str, data: Mapping[str, Any], until: float
    ) -> None:
        """Store (replace) one entry; ``until`` is a wall-clock expiry, <= now deletes."""
        ...

    def load_state(self) -> list[tuple[str, BudgetKey, str, dict[str, Any], float]]:
        """Every stored entry."""
        ...


class MemoryBackend:
    """Budgets of one process, in memory; suspensions/overrides optionally persisted.

    Args:
        clock: wall-clock seconds (``time.time``); inject a fake one in tests.
        store: where suspensions and overrides survive a restart (e.g. the spool).
    """

    def __init__(self, *, clock: Clock = time.time, store: StateStore | None = None) -> None:
        self.clock = clock
        self._store = store
        self._tats: dict[tuple[BudgetKey, str], float] = {}
        self._leases: dict[BudgetKey, set[str]] = {}
        self._ids = itertools.count(1)
        self._state: dict[tuple[str, BudgetKey, str], tuple[dict[str, Any], float]] = {}
        self._matches = MatchWindow()
        if store is not None:
            for kind, key, tenant, data, until in store.load_state():
                self._state[(kind, tuple(key), tenant)] = (data, until)  # type: ignore[index]

    def _held(self, key: BudgetKey, tenant: str | None) -> tuple[float, str]:
        now = self.clock()
        for scope, who in (("budget", ""), ("tenant", tenant or "")):
            if scope == "tenant" and not tenant:
                continue
            entry = self._state.get(("suspend", key, who))
            if entry and entry[1] > now:
                return entry[1] - now, scope
        return 0.0, ""

    async def take_message(
        self,
        key: BudgetKey,
        limits: Sequence[tuple[str, Gcra]],
        /,
        *,
        tenant: str | None = None,
        reserve: float = 1.0,
    ) -> Decision:
        """See :meth:`ShapingBackend.take_message`."""
        held, scope = self._held(key, tenant)
        if held > 0:
            return Decision(granted=False, wait=held, suspended=scope, shared=False)
        now = self.clock()
        wait, new = 0.0, []
        for name, limit in limits:
            w, tat = gcra_check(self._tats.get((key, name), -math.inf), now, limit)
            wait = max(wait, w)
            new.append(((key, name), tat))
        if wait > reserve:
            return Decision(granted=False, wait=wait, shared=False)
        self._tats.update(new)
        return Decision(granted=True, wait=wait, shared=False)

    async def open_connection(
        self, key: BudgetKey, /, *, limit: int, rate: Gcra | None = None
    ) -> Lease | Decision:
        """See :meth:`ShapingBackend.open_connection`."""
        held, scope = self._held(key, None)
        if held > 0:
            return Decision(granted=False, wait=held, suspended=scope, shared=False)
        live = self._leases.setdefault(key, set())
        if len(live) >= limit:
            return Decision(granted=False, wait=0.05, shared=False)
        if rate is not None:
            now = self.clock()
            wait, tat = gcra_check(self._tats.get((key, "connect"), -math.inf), now, rate)
            if wait > 0:
                return Decision(granted=False, wait=wait, shared=False)
            self._tats[(key, "connect")] = tat
        lease = Lease(key=key, lease_id=str(next(self._ids)), shared=False)
        live.add(lease.lease_id)
        return lease

    async def release(self, lease: Lease, /) -> None:
        """See :meth:`ShapingBackend.release`."""
        self._leases.get(lease.key, set()).discard(lease.lease_id)

    async def connections(self, key: BudgetKey, /) -> int:
        """Live connection leases of ``key``."""
        return len(self._leases.get(key, ()))

    def _put(
        self, kind: str, key: BudgetKey, tenant: str, data: Mapping[str, Any], seconds: float
    ) -> None:
        until = self.clock() + seconds
        if seconds > 0:
            self._state[(kind, key, tenant)] = (dict(data), until)
        else:
            self._state.pop((kind, key, tenant), None)
        if self._store is not None:
            self._store.save_state(kind, key, tenant, data, until)

    async def suspend(
        self, key: BudgetKey, seconds: float, /, *, tenant: str | None = None, reason: str = ""
    ) -> None:
        """See :meth:`ShapingBackend.suspend`."""
        self._put("suspend", key, tenant or "", {"reason": reason}, seconds)

    async def resume(self, key: BudgetKey, /, *, tenant: str | None = None) -> None:
        """See :meth:`ShapingBackend.resume`."""
        self._put("suspend", key, tenant or "", {}, 0)

    async def set_override(self, key: BudgetKey, data: Mapping[str, Any], seconds: float) -> None:
        """See :meth:`ShapingBackend.set_override`."""
        self._put("override", key, "", data, seconds)

    async def override(self, key: BudgetKey, /) -> dict[str, Any] | None:
        """See :meth:`ShapingBackend.override`."""
        entry = self._state.get(("override", key, ""))
        if entry is None or entry[1] <= self.clock():
            return None
        return dict(entry[0])

    async def threshold(self, key: BudgetKey, name: str, /, *, count: int, period: float) -> bool:
        """See :meth:`ShapingBackend.threshold` (this process's matches only)."""
        return self._matches.hit(key, name, self.clock(), count=count, period=period)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """The configured ceiling of one budget.

    Attributes:
        connections: concurrent connections.
        connection_rate: connection opens (GCRA), or None for no limit.
        message_rates: named message rates, e.g. ``(("20/s", Gcra(interval=0.05, burst=1)),)``.
        messages_per_connection: messages before the Sender reconnects.
        recipients_per_message: recipients in one SMTP transaction.
    """

    connections: int = 5
    connection_rate: Gcra | None = None
    message_rates: tuple[tuple[str, Gcra], ...] = ()
    messages_per_connection: int = 100
    recipients_per_message: int = 100

    def capped(
        self,
        *,
        connections: int | None = None,
        messages_per_connection: int | None = None,
        message_interval: float | None = None,
    ) -> Budget:
        """This budget under a rule's caps (each only ever lowers a limit)."""
        rates = self.message_rates
        if message_interval is not None:
            rates = (*rates, ("rule", Gcra(interval=message_interval, burst=1)))
        return dataclasses.replace(
            self,
            connections=min(self.connections, connections or self.connections),
            messages_per_connection=min(
                self.messages_per_connection,
                messages_per_connection or self.messages_per_connection,
            ),
            message_rates=rates,
        )

    def scaled(self, factor: float) -> Budget:
        """This budget with every message rate multiplied by ``factor`` (<= 1)."""
        rates = tuple(
            (name, Gcra(interval=g.interval / factor, burst=g.burst))
            for name, g in self.message_rates
        )
        return dataclasses.replace(self, message_rates=rates)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AimdPolicy:
    """Bounded AIMD around the rules.

    Attributes:
        decrease: factor applied to the rate on a throttling reply.
        increase: added to the factor on a success (at most every ``increase_every``).
        floor: lowest factor.
        increase_every: seconds between two increases.
        min_interval: seconds between two decreases (anti-flap).
        ttl: seconds a lowered factor is remembered without news.
    """

    decrease: float = 0.5
    increase: float = 0.1
    floor: float = 0.05
    increase_every: float = 300.0
    min_interval: float = 30.0
    ttl: float = 4 * 3600.0


class Shaper:
    """Budgets with AIMD and rule actions over a :class:`ShapingBackend`.

    The AIMD factor and the "exit after N successes" counter are stored as the key's
    override, so they are shared (Redis) and persisted (store) like any override.
    """

    def __init__(
        self, backend: ShapingBackend, *, clock: Clock = time.time, aimd: AimdPolicy | None = None
    ) -> None:
        self.backend = backend
        self.clock = clock
        self.aimd = aimd or AimdPolicy()
        self._lock = asyncio.Lock()

    async def state(self, key: BudgetKey, /) -> dict[str, Any]:
        """The key's shaping state: the AIMD ``factor``, ``changed``, ``successes``,
        ``exit_after``, and the ``limits`` a rule set until ``limits_until``."""
        data = await self.backend.override(key) or {}
        return {
            "factor": float(data.get("factor", 1.0)),
            "changed": float(data.get("changed", -math.inf)),
            "successes": int(data.get("successes", 0)),
            "exit_after": int(data.get("exit_after", 0)),
            "limits": dict(data.get("limits") or {}),
            "limits_until": float(data.get("limits_until", -math.inf)),
        }

    async def effective(self, key: BudgetKey, budget: Budget, /) -> Budget:
        """``budget`` scaled by the key's current factor and capped by a rule's limits."""
        st = await self.state(key)
        if st["factor"] < 1.0:
            budget = budget.scaled(st["factor"])
        limits = st["limits"] if st["limits_until"] > self.clock() else {}
        if limits:
            budget = budget.capped(
                connections=limits.get("connections"),
                messages_per_connection=limits.get("messages_per_connection"),
                message_interval=limits.get("message_interval"),
            )
        return budget

    def _live(self, st: Mapping[str, Any]) -> bool:
        """Whether ``st`` still holds anything worth storing."""
        return (
            st["factor"] < 1.0
            or bool(st["exit_after"])
            or (bool(st["limits"]) and st["limits_until"] > self.clock())
        )

    async def _store(self, key: BudgetKey, st: Mapping[str, Any]) -> None:
        if not self._live(st):
            await self.backend.set_override(key, {}, 0)
            return
        ttl = self.aimd.ttl if st["factor"] < 1.0 or st["exit_after"] else 0.0
        ttl = max(ttl, st["limits_until"] - self.clock())
        await self.backend.set_override(key, st, ttl)

    async def restrict(
        self,
        key: BudgetKey,
        /,
        *,
        seconds: float,
        connections: int | None = None,
        messages_per_connection: int | None = None,
        message_interval: float | None = None,
        exit_after: int = 0,
    ) -> bool:
        """A rule's ``slow`` action: cap the budget for ``seconds`` (and/or until
        ``exit_after`` successes). Returns False when the same caps are already in force."""
        limits = {
            name: value
            for name, value in (
                ("connections", connections),
                ("messages_per_connection", messages_per_connection),
                ("message_interval", message_interval),
            )
            if value is not None
        }
        async with self._lock:
            st, now = await self.state(key), self.clock()
            if st["limits"] == limits and st["limits_until"] >= now + seconds - 1.0:
                return False
            st.update(limits=limits, limits_until=max(st["limits_until"], now + seconds))
            st.update(successes=0, exit_after=max(exit_after, st["exit_after"]))
            await self._store(key, st)
            return True

    async def slow(self, key: BudgetKey, /, *, exit_after: int = 0) -> bool:
        """A throttling reply: divide the rate (not twice within ``min_interval``)."""
        async with self._lock:
            st, now = await self.state(key), self.clock()
            if now - st["changed"] < self.aimd.min_interval:
                return False
            st["factor"] = max(self.aimd.floor, st["factor"] * self.aimd.decrease)
            st.update(changed=now, successes=0, exit_after=max(exit_after, st["exit_after"]))
            await self._store(key, st)
            return True

    async def success(self, key: BudgetKey, /) -> None:
        """A delivered message: count it; raise the rate slowly; exit after N successes."""
        async with self._lock:
            st, now = await self.state(key), self.clock()
            if not self._live(st):
                if st["limits"]:  # expired caps: forget them
                    await self.backend.set_override(key, {}, 0)
                return
            st["successes"] += 1
            if st["exit_after"] and st["successes"] >= st["exit_after"]:
                await self.backend.set_override(key, {}, 0)
                await self.backend.resume(key)
                return
            if st["factor"] < 1.0 and now - st["changed"] >= self.aimd.increase_every:
                st["factor"] = min(1.0, st["factor"] + self.aimd.increase)
                st["changed"] = now
            await self._store(key, st)
