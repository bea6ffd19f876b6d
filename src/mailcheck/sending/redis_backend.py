"""Shaping state shared by several sending hosts through Redis.

Google's guidelines say an IP's quota "is shared for all senders that use that IP address",
so every host sending from one IP must draw on one budget per provider. :class:`RedisBackend`
keeps that budget in Redis: message and connection-open rates are GCRA computed by Lua on the
Redis server's clock (no skew between hosts, one round trip per message); connection limits
are leases with an expiry in a sorted set, extended while the connection lives and released
on close, so a crashed host's connections free themselves; suspensions and overrides are keys
with a TTL, announced on a pub/sub channel so every host reacts within a second
(:mod:`mailcheck.sending.redis_board`).

When Redis cannot be reached, each host falls back to a conservative local share of every
budget (``1 / expected_hosts``, see :mod:`mailcheck.sending.local_share`), reports it
(``mode`` in :meth:`RedisBackend.stats`, a ``redis-unavailable`` event) and returns to Redis
as soon as it answers again (``redis-restored``). ``redis`` is an optional dependency,
imported only when a backend is created.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from mailcheck.errors import ConfigError
from mailcheck.sending.local_share import Gcra, LocalShare, MatchWindow, connection_share
from mailcheck.sending.redis_board import RedisBoard
from mailcheck.sending.redis_link import BackendEvent, RedisLink
from mailcheck.sending.types import BudgetKey, Decision, Lease

__all__ = ["BackendEvent", "BudgetKey", "Decision", "Lease", "RedisBackend", "RedisBackendStats"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RedisBackendStats:
    """Counters of one host's backend.

    Attributes:
        mode: ``redis`` (shared budget) or ``local`` (fallback share).
        round_trips: requests sent to Redis (scripts, commands, pipelines).
        granted: grants (messages and connections) answered.
        refused: requests answered with a wait.
        fallbacks: times Redis was lost.
        local_decisions: decisions made by the local share.
        live_leases: connection leases this host holds.
    """

    mode: str
    round_trips: int
    granted: int
    refused: int
    fallbacks: int
    local_decisions: int
    live_leases: int


class RedisBackend:
    """Shaping budgets shared through Redis, with a local fallback share.

    Args:
        url: the Redis URL (``redis://host:6379/0``, ``rediss://`` for TLS).
        prefix: prefix of every key and of the pub/sub channel.
        expected_hosts: how many hosts share each budget; while Redis is unreachable each
            host uses ``1 / expected_hosts`` of every budget.
        lease_ttl: seconds a connection lease lives without being extended; a crashed host's
            connections are free after at most this long.
        local_groups: provider groups whose limits stay per host (never shared).
        socket_timeout: seconds before a Redis request counts as failed.
        retry_interval: seconds between attempts to reach Redis again while in fallback.
        on_event: called with each :class:`BackendEvent`.

    Example:
        >>> async with RedisBackend("redis://10.0.0.5:6379/0", expected_hosts=3) as backend:
        ...     decision = await backend.take_message(
        ...         ("192.0.2.1", "google"), [("20/s", Gcra(interval=0.05, burst=5))]
        ...     )  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str,
        /,
        *,
        prefix: str = "mailcheck:shaping:",
        expected_hosts: int = 1,
        lease_ttl: float = 10.0,
        local_groups: Collection[str] = (),
        socket_timeout: float = 0.5,
        retry_interval: float = 0.5,
        on_event: Callable[[BackendEvent], None] | None = None,
    ) -> None:
        if expected_hosts < 1 or lease_ttl <= 0:
            raise ConfigError("expected_hosts must be >= 1 and lease_ttl positive")
        self._link = RedisLink(
            url, socket_timeout=socket_timeout, retry_interval=retry_interval, on_event=on_event
        )
        self._link.on_restore = self._restore
        self._board = RedisBoard(self._link, prefix)
        self.expected_hosts = expected_hosts
        self.lease_ttl = lease_ttl
        self._local_groups = frozenset(local_groups)
        self._share = LocalShare(hosts=expected_hosts)
        self._solo = LocalShare(hosts=1)
        self._leases: dict[str, Lease] = {}
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._counts = {"granted": 0, "refused": 0, "local": 0}
        self._matches = MatchWindow()  # rule matches counted here while Redis is away
        self._match_ids = itertools.count()
        self._host = uuid.uuid4().hex

    async def __aenter__(self) -> RedisBackend:
        self._link.spawn(self._board.listen())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Release this host's leases, stop background work and close the connections."""
        for lease in list(self._leases.values()):
            await self.release(lease)
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat_task
        await self._link.close()

    async def _restore(self) -> None:
        # Redis may have restarted empty: register the live connections again.
        await self._extend_all()
        self._board.forget_overrides()

    # -- messages ---------------------------------------------------------------------------

    async def take_message(
        self,
        key: BudgetKey,
        limits: Sequence[tuple[str, Gcra]],
        /,
        *,
        tenant: str | None = None,
        reserve: float = 1.0,
    ) -> Decision:
        """Take one message from every rate limit of ``key`` (all or nothing).

        Args:
            key: (egress IP, provider group).
            limits: (name, limit) pairs, e.g. ``[("10/s", Gcra(interval=0.1, burst=5))]``.
            tenant: the sending tenant, whose own suspension is checked too.
            reserve: when the budget frees up within this many seconds, reserve that slot
                (granted with a delay) instead of refusing; 0 for "now or not at all".

        Returns:
            A Decision: granted (send after ``wait``), or refused (ask again after ``wait``).
        """
        if key[1] not in self._local_groups and self._link.available:
            keys = self._board.suspension_keys(key, tenant)
            args: list[Any] = [len(keys), 1, round(reserve * 1e6)]
            for name, limit in limits:
                keys.append(self._board.key(key, f"rate:{name}"))
                args += [round(limit.interval * 1e6), round(limit.tolerance * 1e6)]
            try:
                status, wait_ms = await self._link.run("MESSAGE", keys, args)
            except self._link.errors as exc:
                self._link.lost(exc)
            else:
                return self._count(_decision(status, wait_ms))
        return self._count(self._local_message(key, limits, tenant, reserve))

    def _local_message(
        self,
        key: BudgetKey,
        limits: Sequence[tuple[str, Gcra]],
        tenant: str | None,
        reserve: float,
    ) -> Decision:
        now = time.monotonic()
        held, scope = self._board.local_suspension(key, tenant)
        if held > 0:
            return Decision(granted=False, wait=held, suspended=scope, shared=False)
        share = self._solo if key[1] in self._local_groups else self._share
        names = tuple(self._board.key(key, f"rate:{name}") for name, _ in limits)
        granted, wait = share.take(names, tuple(limit for _, limit in limits), now, reserve)
        return Decision(granted=granted, wait=wait, shared=False)

    def _count(self, decision: Decision) -> Decision:
        self._counts["granted" if decision.granted else "refused"] += 1
        if not decision.shared:
            self._counts["local"] += 1
        return decision

    # -- connections ------------------------------------------------------------------------

    async def open_connection(
        self, key: BudgetKey, /, *, limit: int, rate: Gcra | None = None
    ) -> Lease | Decision:
        """Take a connection slot (a lease) and a connection-open token.

        Returns:
            A Lease when granted (extended in the background until released), else a Decision
            with the wait.
        """
        lease_id = uuid.uuid4().hex
        if key[1] not in self._local_groups and self._link.available:
            keys = [
                self._board.key(key, "leases"),
                self._board.key(key, "connect"),
                self._board.key(key, "suspend"),
            ]
            interval = round(rate.interval * 1e6) if rate else 0
            tolerance = round(rate.tolerance * 1e6) if rate else 0
            args = [limit, round(self.lease_ttl * 1000), lease_id, interval, tolerance]
            try:
                status, wait_ms = await self._link.run("CONNECT", keys, args)
            except self._link.errors as exc:
                self._link.lost(exc)
            else:
                decision = self._count(_decision(status, wait_ms))
                return self._hold(key, lease_id, shared=True) if decision.granted else decision
        return self._local_connection(key, lease_id, limit, rate)

    def _local_connection(
        self, key: BudgetKey, lease_id: str, limit: int, rate: Gcra | None
    ) -> Lease | Decision:
        now = time.monotonic()
        held, scope = self._board.local_suspension(key, None)
        if held > 0:
            return self._count(Decision(granted=False, wait=held, suspended=scope, shared=False))
        solo = key[1] in self._local_groups
        # Every live connection of this host counts, including those leased from Redis before
        # it went away: the share bounds what this host holds, not what it opened since.
        allowed = limit if solo else connection_share(limit, self.expected_hosts)
        if sum(1 for lease in self._leases.values() if lease.key == key) >= allowed:
            return self._count(Decision(granted=False, wait=self.lease_ttl / 10, shared=False))
        if rate is not None:
            share = self._solo if solo else self._share
            granted, wait = share.take((self._board.key(key, "connect"),), (rate,), now)
            if not granted:
                return self._count(Decision(granted=False, wait=wait, shared=False))
        self._count(Decision(granted=True, shared=False))
        return self._hold(key, lease_id, shared=not solo)

    def _hold(self, key: BudgetKey, lease_id: str, *, shared: bool) -> Lease:
        lease = Lease(key=key, lease_id=lease_id, shared=shared)
        self._leases[lease_id] = lease
        if shared and (self._heartbeat_task is None or self._heartbeat_task.done()):
            self._heartbeat_task = asyncio.get_running_loop().create_task(self._heartbeat())
        return lease

    async def release(self, lease: Lease, /) -> None:
        """Give a connection slot back (at close of the connection)."""
        if self._leases.pop(lease.lease_id, None) is None:
            return
        if lease.shared and self._link.available:
            try:
                self._link.round_trips += 1
                await self._link.client.zrem(self._board.key(lease.key, "leases"), lease.lease_id)
            except self._link.errors as exc:
                self._link.lost(exc)  # the lease expires by itself
        self._board.wake()

    async def _extend_all(self) -> None:
        shared = [lease for lease in self._leases.values() if lease.shared]
        if shared:
            keys = [self._board.key(lease.key, "leases") for lease in shared]
            args = [round(self.lease_ttl * 1000), *(lease.lease_id for lease in shared)]
            await self._link.run("EXTEND", keys, args)

    async def _heartbeat(self) -> None:
        while self._leases:
            await asyncio.sleep(self.lease_ttl / 3)
            if self._link.available:
                try:
                    await self._extend_all()
                except self._link.errors as exc:
                    self._link.lost(exc)

    async def connections(self, key: BudgetKey, /) -> int:
        """How many unexpired leases ``key`` has in Redis (all hosts)."""
        count, _ = await self._link.run("COUNT", [self._board.key(key, "leases")], [])
        return count

    def stats(self) -> RedisBackendStats:
        """This host's counters and whether it uses Redis or its local share right now."""
        return RedisBackendStats(
            mode="redis" if self._link.available else "local",
            round_trips=self._link.round_trips,
            granted=self._counts["granted"],
            refused=self._counts["refused"],
            fallbacks=self._link.fallbacks,
            local_decisions=self._counts["local"],
            live_leases=len(self._leases),
        )

    # -- suspensions and overrides (shared through redis_board) -----------------------------

    async def suspend(
        self, key: BudgetKey, seconds: float, /, *, tenant: str | None = None, reason: str = ""
    ) -> None:
        """Suspend a budget (or only ``tenant`` at its provider) on every host for ``seconds``."""
        await self._board.suspend(key, seconds, tenant, reason)

    async def resume(self, key: BudgetKey, /, *, tenant: str | None = None) -> None:
        """Lift a suspension on every host."""
        await self._board.resume(key, tenant)

    async def set_override(self, key: BudgetKey, data: Mapping[str, Any], seconds: float) -> None:
        """Store an override of ``key``'s limits (opaque data) on every host for ``seconds``.

        ``seconds`` <= 0 deletes it.
        """
        await self._board.set_override(key, data, seconds)

    async def override(self, key: BudgetKey, /) -> dict[str, Any] | None:
        """The override of ``key`` in force, if any (cached; refreshed on announcements)."""
        return await self._board.override(key)

    async def threshold(self, key: BudgetKey, name: str, /, *, count: int, period: float) -> bool:
        """Count one match of rule ``name`` at ``key`` for every host; True on the match that
        reaches ``count`` within ``period`` seconds (one host fires, the count restarts).

        While Redis is unreachable, and for local groups, this host counts its own.
        """
        if key[1] not in self._local_groups and self._link.available:
            member = f"{self._host}:{next(self._match_ids)}"
            try:
                fired, _ = await self._link.run(
                    "THRESHOLD",
                    [self._board.key(key, f"matches:{name}")],
                    [max(1, round(period * 1000)), count, member],
                )
            except self._link.errors as exc:
                self._link.lost(exc)
            else:
                return fired == 1
        return self._matches.hit(key, name, time.monotonic(), count=count, period=period)

    @property
    def generation(self) -> int:
        """Counts changes (announcements, released slots); read it before asking for budget."""
        return self._board.generation

    async def changed(self, timeout: float, *, since: int | None = None) -> bool:
        """Wait until a host announces a change or a slot is released (True), or ``timeout``.

        Example:
            >>> seen = backend.generation  # doctest: +SKIP
            >>> decision = await backend.take_message(key, limits)  # doctest: +SKIP
            >>> if not decision.granted:  # doctest: +SKIP
            ...     await backend.changed(decision.wait, since=seen)
        """
        return await self._board.changed(timeout, since=since)


def _decision(status: int, wait_ms: int) -> Decision:
    if status == 1:
        return Decision(granted=True, wait=wait_ms / 1000)
    suspended = {-1: "budget", -2: "tenant"}.get(status, "")
    return Decision(granted=False, wait=wait_ms / 1000, suspended=suspended)
