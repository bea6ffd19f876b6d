"""Each budget's learned pace and a rule's temporary caps, kept in the shaping backend.

The :class:`Shaper` owns the read-modify-write of a budget's shaping state (one lock per
process). The state is stored as the budget's *override* in the backend, so a
:class:`~mailcheck.sending.redis_backend.RedisBackend` shares it between hosts and a
:class:`~mailcheck.sending.shaping.MemoryBackend` with a store persists it: tomorrow's run
starts from what today learned (decayed by :func:`~mailcheck.sending.pacing.decayed`).
Acceptances are counted here, per process, to measure the accepted rate a throttling
reply cuts from; with several hosts that under-counts, so the cut is deeper: the safe side.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from mailcheck.sending import pacing
from mailcheck.sending.pacing import PacePolicy, PaceState, Throttle
from mailcheck.sending.shaping import Budget, ShapingBackend
from mailcheck.sending.types import BudgetKey, Clock

__all__ = ["STATE_TTL", "Shaper"]

#: Seconds a budget's learned state is kept without traffic (it decays meanwhile).
STATE_TTL = 14 * 86400.0
#: A state whose only change is its "last seen" time is written at most this often.
TOUCH_EVERY = 300.0
#: Shortest span (seconds) over which an accepted rate is measured.
MIN_SPAN = 10.0
#: Seconds between two reads of a budget's state on the delivery path: deliveries in
#: between are counted and judged together (a busy budget costs one read a second, not one
#: per message; another host's change is seen within a second).
CHECK_EVERY = 1.0


class Shaper:
    """Learned paces and rule caps over a :class:`ShapingBackend`.

    Args:
        backend: where the state lives.
        clock: wall-clock seconds.
    """

    def __init__(self, backend: ShapingBackend, *, clock: Clock = time.time) -> None:
        self.backend = backend
        self.clock = clock
        self._lock = asyncio.Lock()
        self._accepted: dict[BudgetKey, collections.deque[float]] = {}
        # key -> (wall time until which it holds, the effective budget's inputs, budget)
        self._effective: dict[BudgetKey, tuple[float, Budget, PacePolicy, Budget]] = {}
        self._pending: collections.Counter[BudgetKey] = collections.Counter()
        self._checked: dict[BudgetKey, float] = {}

    async def _read(self, key: BudgetKey) -> dict[str, Any]:
        return dict(await self.backend.override(key) or {})

    async def _write(self, key: BudgetKey, data: Mapping[str, Any]) -> None:
        await self.backend.set_override(key, data, STATE_TTL)

    async def pace(self, key: BudgetKey, policy: PacePolicy, /) -> PaceState:
        """The budget's pace now (first contact when it has no history)."""
        return self._pace(await self._read(key), policy)

    def _pace(self, data: Mapping[str, Any], policy: PacePolicy) -> PaceState:
        now = self.clock()
        raw = data.get("pace")
        if not raw:
            return pacing.initial(policy, now)
        try:
            state = PaceState.from_dict(raw)
        except (KeyError, TypeError, ValueError):
            return pacing.initial(policy, now)  # junk in the store: start afresh
        state = pacing.decayed(state, policy, now)
        if policy.ceiling is not None and state.rate > policy.ceiling:
            state = dataclasses.replace(state, rate=policy.ceiling)
        return state

    async def effective(self, key: BudgetKey, budget: Budget, policy: PacePolicy, /) -> Budget:
        """``budget`` with the learned pace as one more rate, and a rule's caps in force
        (recomputed at most every second, and at once after a change made here)."""
        now = self.clock()
        cached = self._effective.get(key)
        if cached is not None and cached[0] > now and cached[1] == budget and cached[2] == policy:
            return cached[3]
        original = budget
        data = await self._read(key)
        budget = budget.paced(self._pace(data, policy).rate)
        limits = data.get("limits") or {}
        if limits and float(data.get("limits_until", -math.inf)) > self.clock():
            budget = budget.capped(
                connections=limits.get("connections"),
                messages_per_connection=limits.get("messages_per_connection"),
                message_interval=limits.get("message_interval"),
            )
        self._effective[key] = (now + CHECK_EVERY, original, policy, budget)
        return budget

    def _changed(self, key: BudgetKey) -> None:
        self._effective.pop(key, None)
        self._checked.pop(key, None)

    def measured(self, key: BudgetKey, policy: PacePolicy, /) -> float | None:
        """Messages per second this process saw accepted over the policy's window."""
        seen = self._accepted.get(key)
        now = self.clock()
        if not seen:
            return None
        while seen and seen[0] < now - policy.window:
            seen.popleft()
        if len(seen) < pacing.MIN_MEASURED:
            return None
        # n acceptances span n - 1 intervals from the first to the last; the time since
        # the last one counts too (a provider that stopped accepting has a lower rate).
        span = max(MIN_SPAN, now - seen[0])
        return (len(seen) - 1) / span

    async def success(
        self, key: BudgetKey, policy: PacePolicy, /, *, backlog: int, count: int = 1
    ) -> PaceState | None:
        """``count`` messages accepted: measure, maybe raise the pace, end a rule's caps
        after its ``exit_after`` successes. Returns the new state when the rate rose."""
        now = self.clock()
        seen = self._accepted.setdefault(key, collections.deque(maxlen=100_000))
        seen.extend([now] * count)
        self._pending[key] += count
        if now < self._checked.get(key, -math.inf):
            return None
        self._checked[key] = now + CHECK_EVERY
        count, self._pending[key] = self._pending[key], 0
        async with self._lock:
            data = await self._read(key)
            old = self._pace(data, policy)
            new = pacing.on_success(old, policy, now, backlog=backlog)
            changed = new.rate != old.rate or new.reason != old.reason
            if data.get("exit_after"):
                data["successes"] = int(data.get("successes", 0)) + count
                if data["successes"] >= int(data["exit_after"]):
                    for name in ("limits", "limits_until", "successes", "exit_after"):
                        data.pop(name, None)
                changed = True
            stale = new.updated - float((data.get("pace") or {}).get("updated", 0.0))
            if changed or stale >= TOUCH_EVERY:
                data["pace"] = new.to_dict()
                await self._write(key, data)
                if changed:
                    self._effective.pop(key, None)
        return new if new.rate > old.rate else None

    async def throttle(
        self,
        key: BudgetKey,
        policy: PacePolicy,
        /,
        *,
        rule: str,
        reply: str,
        ladder: Sequence[float] = pacing.DEFAULT_LADDER,
        ladder_window: float = pacing.DEFAULT_LADDER_WINDOW,
        cap: float | None = None,
    ) -> Throttle:
        """A throttling reply: cut the pace from the accepted rate and pause the budget for
        the ladder's step. From the step where transactional mail waits too, the pause is a
        suspension every host sharing the backend obeys; before it, the cut pace (shared)
        is the brake and each host pauses its own bulk mail."""
        async with self._lock:
            data = await self._read(key)
            state, throttle = pacing.on_throttle(
                self._pace(data, policy),
                policy,
                self.clock(),
                measured=self.measured(key, policy),
                rule=rule,
                reply=reply,
                ladder=ladder,
                ladder_window=ladder_window,
                cap=cap,
            )
            data["pace"] = state.to_dict()
            await self._write(key, data)
        self._changed(key)
        self._accepted.pop(key, None)  # measure afresh at the new pace
        if throttle.hold_all:
            await self.backend.suspend(key, throttle.pause, reason=state.pause_reason)
        return throttle

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
        """A rule's caps for ``seconds`` (and/or until ``exit_after`` successes); False
        when the same caps are already in force."""
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
            data, now = await self._read(key), self.clock()
            until = float(data.get("limits_until", -math.inf))
            if data.get("limits") == limits and until >= now + seconds - 1.0:
                return False
            data.update(limits=limits, limits_until=max(until, now + seconds), successes=0)
            data["exit_after"] = max(exit_after, int(data.get("exit_after", 0)))
            await self._write(key, data)
            self._changed(key)
            return True

    async def state(self, key: BudgetKey, policy: PacePolicy, /) -> dict[str, Any]:
        """The budget's shaping state as plain JSON: ``pace`` (rate per hour, reason,
        pause) and the ``limits`` a rule set while they last."""
        data = await self._read(key)
        pace = self._pace(data, policy)
        now = self.clock()
        limits = data.get("limits") or {}
        in_force = limits and float(data.get("limits_until", -math.inf)) > now
        return {
            "rate_per_hour": round(pace.rate * 3600.0, 1),
            "reason": str(pace.reason),
            "paused_until": pace.paused_until if pace.paused_until > now else None,
            "pause_reason": pace.pause_reason if pace.paused_until > now else "",
            "throttled_at_per_hour": (
                None if pace.throttled_at is None else round(pace.throttled_at * 3600.0, 1)
            ),
            "limits": dict(limits) if in_force else {},
        }
