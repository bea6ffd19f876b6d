"""Shaping budgets per (egress IP, provider group): the backend seam and a memory backend.

Three limiters guard every budget: a connection limit (leases), a connection-open rate and
message rates (GCRA, :func:`mailcheck.sending.local_share.gcra_check`); the Sender also
caps messages per connection. State lives behind :class:`ShapingBackend`, which
:class:`mailcheck.sending.redis_backend.RedisBackend` implements for several hosts and
:class:`MemoryBackend` for one. Reply actions become suspensions and overrides with an
expiry; a :class:`StateStore` (the spool's SQLite) keeps them across restarts.

:class:`mailcheck.sending.shaper.Shaper` keeps each budget's learned pace on top of a
backend. A :class:`StateStore` write does not commit on the event-loop thread: the spool
queues it for its group commit.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from mailcheck.sending.local_share import Gcra, MatchWindow, gcra_check
from mailcheck.sending.types import BudgetKey, Clock, Decision, Lease

__all__ = ["Budget", "MemoryBackend", "ShapingBackend", "StateStore"]


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

    connections: int = 10
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

    def paced(self, rate: float) -> Budget:
        """This budget with the learned pace (messages per second) as one more limit."""
        pace = ("pace", Gcra(interval=1.0 / rate, burst=1))
        return dataclasses.replace(self, message_rates=(*self.message_rates, pace))
