"""Shaping state shared by several sending hosts through Redis.

Google's guidelines say an IP's quota "is shared for all senders that use that IP address",
so every host sending from one IP must draw on one budget per provider. :class:`RedisBackend`
keeps that budget in Redis: message and connection-open rates are GCRA computed by Lua on the
Redis server's clock (no skew between hosts, one round trip per message); connection limits
are leases with an expiry in a sorted set, extended while the connection lives and released
on close, so a crashed host's connections free themselves; suspensions and overrides are keys
with a TTL, announced on a pub/sub channel so every host reacts within a second.

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
import json
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mailcheck.errors import ConfigError
from mailcheck.sending import redis_lua
from mailcheck.sending.local_share import Gcra, LocalShare, connection_share

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

#: Budgets are keyed by (egress IP, provider group).
BudgetKey = tuple[str, str]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The answer to a request for budget.

    Attributes:
        granted: the budget is taken: the message may go after ``wait`` seconds (a reserved
            slot; 0 = now), the connection may open now.
        wait: when granted, the delay of the reserved slot; otherwise seconds to wait before
            asking again.
        suspended: the budget (or the tenant) is suspended for ``wait`` seconds.
        shared: decided by Redis (True) or by the local fallback share (False).
    """

    granted: bool
    wait: float = 0.0
    suspended: bool = False
    shared: bool = True


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """A connection slot held in a budget; give it back with :meth:`RedisBackend.release`."""

    key: BudgetKey
    lease_id: str
    shared: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BackendEvent:
    """Something the operator should see: ``redis-unavailable`` or ``redis-restored``."""

    kind: str
    at: float
    detail: str = ""


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


_ABSENT_CACHE = 5.0
_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (OSError, asyncio.TimeoutError)


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
        >>> backend = RedisBackend("redis://127.0.0.1:6379/0", expected_hosts=3)  # doctest: +SKIP
        >>> await backend.take_message(("192.0.2.1", "google"), [("rate", Gcra(interval=0.05))])
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
        try:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            from redis.exceptions import ConnectionError as RedisConnectionError
            from redis.exceptions import TimeoutError as RedisTimeoutError
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigError(
                "RedisBackend needs the optional dependency: mailcheck[redis]"
            ) from exc
        self._errors: tuple[type[BaseException], ...] = (
            *_UNAVAILABLE_ERRORS,
            RedisConnectionError,
            RedisTimeoutError,
        )
        self._client: Redis = Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._scripts: dict[str, AsyncScript] = {
            name: self._client.register_script(getattr(redis_lua, name))
            for name in ("MESSAGE", "CONNECT", "EXTEND", "COUNT")
        }
        self._prefix = prefix
        self._channel = prefix + "events"
        self.expected_hosts = expected_hosts
        self.lease_ttl = lease_ttl
        self._local_groups = frozenset(local_groups)
        self._retry_interval = retry_interval
        self._on_event = on_event
        self._share = LocalShare(hosts=expected_hosts)
        self._solo = LocalShare(hosts=1)
        self._leases: dict[str, Lease] = {}
        self._suspensions: dict[str, float] = {}  # key -> monotonic deadline (local view)
        self._overrides: dict[BudgetKey, tuple[float, dict[str, Any]]] = {}
        self._changed = asyncio.Event()
        self._available = True
        self._tasks: set[asyncio.Task[None]] = set()
        self._counts = {"round_trips": 0, "granted": 0, "refused": 0, "fallbacks": 0, "local": 0}

    # -- keys -------------------------------------------------------------------------------

    def _key(self, key: BudgetKey, part: str) -> str:
        return f"{self._prefix}{key[0]}|{key[1]}:{part}"

    def _tenant_key(self, key: BudgetKey, tenant: str) -> str:
        # A tenant-scoped reply (Gmail's DKIM-domain quota) judges the domain at the
        # provider whatever the egress IP, so it is keyed by group only.
        return f"{self._prefix}tenant:{key[1]}:{tenant}:suspend"

    def _suspension_keys(self, key: BudgetKey, tenant: str | None) -> list[str]:
        keys = [self._key(key, "suspend")]
        if tenant is not None:
            keys.append(self._tenant_key(key, tenant))
        return keys

    # -- lifecycle and availability ---------------------------------------------------------

    async def __aenter__(self) -> RedisBackend:
        self._spawn(self._listen())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Release this host's leases, stop background work and close the connections."""
        for lease in list(self._leases.values()):
            await self.release(lease)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, *self._errors):
                await task
        await self._client.aclose()

    def _emit(self, kind: str, detail: str = "") -> None:
        if self._on_event is not None:
            self._on_event(BackendEvent(kind=kind, at=time.time(), detail=detail))

    def _lost(self, exc: BaseException) -> None:
        if self._available:
            self._available = False
            self._counts["fallbacks"] += 1
            self._emit("redis-unavailable", f"{type(exc).__name__}: {exc}")
            self._spawn(self._reconnect())

    async def _reconnect(self) -> None:
        while True:
            await asyncio.sleep(self._retry_interval)
            try:
                self._counts["round_trips"] += 1
                await self._client.ping()
                await self._extend_all()
            except self._errors:
                continue
            self._overrides.clear()
            self._available = True
            self._emit("redis-restored")
            self._changed.set()
            return

    async def _run(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> list[int]:
        """Run one script (one round trip); raises the Redis error when unreachable."""
        self._counts["round_trips"] += 1
        result = await self._scripts[name](keys=list(keys), args=list(args))
        return [int(x) for x in result]

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
        if key[1] not in self._local_groups and self._available:
            keys = self._suspension_keys(key, tenant)
            args: list[Any] = [len(keys), 1, round(reserve * 1e6)]
            for name, limit in limits:
                keys.append(self._key(key, f"rate:{name}"))
                args += [round(limit.interval * 1e6), round(limit.tolerance * 1e6)]
            try:
                status, wait_ms = await self._run("MESSAGE", keys, args)
            except self._errors as exc:
                self._lost(exc)
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
        held = self._local_suspension(key, tenant, now)
        if held > 0:
            return Decision(granted=False, wait=held, suspended=True, shared=False)
        share = self._solo if key[1] in self._local_groups else self._share
        names = tuple(self._key(key, f"rate:{name}") for name, _ in limits)
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
        if key[1] not in self._local_groups and self._available:
            keys = [self._key(key, "leases"), self._key(key, "connect"), self._key(key, "suspend")]
            interval = round(rate.interval * 1e6) if rate else 0
            tolerance = round(rate.tolerance * 1e6) if rate else 0
            args = [limit, round(self.lease_ttl * 1000), lease_id, interval, tolerance]
            try:
                status, wait_ms = await self._run("CONNECT", keys, args)
            except self._errors as exc:
                self._lost(exc)
            else:
                decision = self._count(_decision(status, wait_ms))
                return self._hold(key, lease_id, shared=True) if decision.granted else decision
        return self._local_connection(key, lease_id, limit, rate)

    def _local_connection(
        self, key: BudgetKey, lease_id: str, limit: int, rate: Gcra | None
    ) -> Lease | Decision:
        now = time.monotonic()
        held = self._local_suspension(key, None, now)
        if held > 0:
            return self._count(Decision(granted=False, wait=held, suspended=True, shared=False))
        solo = key[1] in self._local_groups
        # Every live connection of this host counts, including those leased from Redis before
        # it went away: the share bounds what this host holds, not what it opened since.
        allowed = limit if solo else connection_share(limit, self.expected_hosts)
        if sum(1 for lease in self._leases.values() if lease.key == key) >= allowed:
            return self._count(Decision(granted=False, wait=self.lease_ttl / 10, shared=False))
        if rate is not None:
            share = self._solo if solo else self._share
            granted, wait = share.take((self._key(key, "connect"),), (rate,), now)
            if not granted:
                return self._count(Decision(granted=False, wait=wait, shared=False))
        self._count(Decision(granted=True, shared=False))
        return self._hold(key, lease_id, shared=not solo)

    def _hold(self, key: BudgetKey, lease_id: str, *, shared: bool) -> Lease:
        lease = Lease(key=key, lease_id=lease_id, shared=shared)
        if not self._leases and shared:
            self._spawn(self._heartbeat())
        self._leases[lease_id] = lease
        return lease

    async def release(self, lease: Lease, /) -> None:
        """Give a connection slot back (at close of the connection)."""
        if self._leases.pop(lease.lease_id, None) is None or not lease.shared:
            return
        if self._available:
            try:
                self._counts["round_trips"] += 1
                await self._client.zrem(self._key(lease.key, "leases"), lease.lease_id)
            except self._errors as exc:
                self._lost(exc)  # the lease expires by itself
        self._changed.set()

    async def _extend_all(self) -> None:
        shared = [lease for lease in self._leases.values() if lease.shared]
        if shared:
            keys = [self._key(lease.key, "leases") for lease in shared]
            args = [round(self.lease_ttl * 1000), *(lease.lease_id for lease in shared)]
            await self._run("EXTEND", keys, args)

    async def _heartbeat(self) -> None:
        while self._leases:
            await asyncio.sleep(self.lease_ttl / 3)
            if self._available:
                try:
                    await self._extend_all()
                except self._errors as exc:
                    self._lost(exc)

    async def connections(self, key: BudgetKey, /) -> int:
        """How many unexpired leases ``key`` has in Redis (all hosts)."""
        count, _ = await self._run("COUNT", [self._key(key, "leases")], [])
        return count

    def _local_suspension(self, key: BudgetKey, tenant: str | None, now: float) -> float:
        deadlines = [self._suspensions.get(k, 0.0) for k in self._suspension_keys(key, tenant)]
        return max(0.0, max(deadlines) - now)

    def stats(self) -> RedisBackendStats:
        """This host's counters and whether it uses Redis or its local share right now."""
        c = self._counts
        return RedisBackendStats(
            mode="redis" if self._available else "local",
            round_trips=c["round_trips"],
            granted=c["granted"],
            refused=c["refused"],
            fallbacks=c["fallbacks"],
            local_decisions=c["local"],
            live_leases=len(self._leases),
        )

    # -- suspensions and overrides ---------------------------------------------------------

    async def suspend(
        self, key: BudgetKey, seconds: float, /, *, tenant: str | None = None, reason: str = ""
    ) -> None:
        """Suspend a budget (or only ``tenant`` at its provider) on every host for ``seconds``."""
        name = self._suspension_keys(key, tenant)[-1]
        self._suspensions[name] = time.monotonic() + seconds
        await self._announce(name, json.dumps({"reason": reason}), seconds, suspension=True)

    async def resume(self, key: BudgetKey, /, *, tenant: str | None = None) -> None:
        """Lift a suspension on every host."""
        name = self._suspension_keys(key, tenant)[-1]
        self._suspensions.pop(name, None)
        await self._announce(name, None, 0, suspension=True)

    async def set_override(self, key: BudgetKey, data: Mapping[str, Any], seconds: float) -> None:
        """Store an override of ``key``'s limits (opaque data) on every host for ``seconds``."""
        self._overrides[key] = (time.monotonic() + seconds, dict(data))
        await self._announce(self._key(key, "override"), json.dumps(dict(data)), seconds)

    async def override(self, key: BudgetKey, /) -> dict[str, Any] | None:
        """The override of ``key`` in force, if any (cached; refreshed on announcements)."""
        now = time.monotonic()
        cached = self._overrides.get(key)
        if cached is not None and cached[0] <= now:
            cached = None
        if cached is None and self._available:
            try:
                self._counts["round_trips"] += 1
                async with self._client.pipeline(transaction=False) as pipe:
                    pipe.get(self._key(key, "override"))
                    pipe.pttl(self._key(key, "override"))
                    raw, ttl = await pipe.execute()
            except self._errors as exc:
                self._lost(exc)
            else:
                # An absent override is cached briefly; announcements refresh it sooner.
                found = raw is not None and ttl > 0
                data = json.loads(raw) if found else {}
                cached = (now + (ttl / 1000 if found else _ABSENT_CACHE), data)
                self._overrides[key] = cached
        if cached is None or cached[0] <= now or not cached[1]:
            return None
        return cached[1]

    async def _announce(
        self, name: str, value: str | None, seconds: float, *, suspension: bool = False
    ) -> None:
        if not self._available:
            return  # kept locally; other hosts learn it from the provider's own replies
        try:
            self._counts["round_trips"] += 1
            async with self._client.pipeline(transaction=True) as pipe:
                if value is None:
                    pipe.delete(name)
                else:
                    pipe.set(name, value, px=max(1, round(seconds * 1000)))
                news = {"key": name, "seconds": seconds if value else 0, "suspension": suspension}
                pipe.publish(self._channel, json.dumps(news))
                await pipe.execute()
        except self._errors as exc:
            self._lost(exc)

    async def _listen(self) -> None:
        """Follow the announcements of every host; reconnect after Redis comes back."""
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._learn(json.loads(message["data"]))
            except self._errors as exc:
                self._lost(exc)
                await asyncio.sleep(self._retry_interval)

    def _learn(self, news: dict[str, Any]) -> None:
        # Keep suspensions locally too (they still hold if Redis goes away); drop cached
        # overrides so the next request reads Redis again.
        name, seconds = str(news["key"]), float(news["seconds"])
        if news.get("suspension"):
            if seconds > 0:
                self._suspensions[name] = time.monotonic() + seconds
            else:
                self._suspensions.pop(name, None)
        for key in [k for k in self._overrides if self._key(k, "override") == name]:
            del self._overrides[key]
        self._changed.set()

    async def changed(self, timeout: float) -> bool:
        """Wait until a host announces a change or a lease is released (True), or ``timeout``."""
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._changed.wait()
                return True
        return False


def _decision(status: int, wait_ms: int) -> Decision:
    if status == 1:
        return Decision(granted=True, wait=wait_ms / 1000)
    return Decision(granted=False, wait=wait_ms / 1000, suspended=status == -1)
