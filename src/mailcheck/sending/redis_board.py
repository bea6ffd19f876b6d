"""Suspensions and overrides shared by every host: Redis keys with a TTL plus pub/sub.

Writing one sets the key and publishes a notice on ``<prefix>events`` in one transaction;
every host's listener updates its local view and wakes its waiters, well within a second.
The local view keeps suspensions holding while Redis is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from typing import Any

from mailcheck.sending.redis_link import RedisLink
from mailcheck.sending.types import BudgetKey

__all__ = ["BudgetKey", "RedisBoard"]

#: What each of :meth:`RedisBoard.suspension_keys` suspends.
SCOPES = ("budget", "tenant")

#: Seconds an absent override stays cached (announcements refresh it sooner).
ABSENT_CACHE = 5.0


class RedisBoard:
    """The shared suspensions and overrides, with a local view of them.

    Args:
        link: the host's link to Redis.
        prefix: prefix of every key and of the channel.
    """

    def __init__(self, link: RedisLink, prefix: str) -> None:
        self._link = link
        self._prefix = prefix
        self._channel = prefix + "events"
        self._suspensions: dict[str, float] = {}  # key -> monotonic deadline
        self._overrides: dict[str, tuple[float, dict[str, Any]]] = {}  # key -> (until, data)
        self._changed = asyncio.Event()
        #: Counts announcements and released slots; see :meth:`changed`.
        self.generation = 0

    def key(self, key: BudgetKey, part: str) -> str:
        """The Redis key of one part of a budget."""
        return f"{self._prefix}{key[0]}|{key[1]}:{part}"

    def suspension_keys(self, key: BudgetKey, tenant: str | None) -> list[str]:
        """The budget's suspension key, then the tenant's when there is a tenant."""
        keys = [self.key(key, "suspend")]
        if tenant is not None:
            # A tenant-scoped reply (Gmail's DKIM-domain quota) judges the domain at the
            # provider whatever the egress IP: keyed by group, not by budget.
            keys.append(f"{self._prefix}tenant:{key[1]}:{tenant}:suspend")
        return keys

    def local_suspension(self, key: BudgetKey, tenant: str | None) -> tuple[float, str]:
        """Seconds the budget (or tenant) is still suspended in this host's view, and which.

        Returns:
            ``(seconds, scope)``: scope ``"budget"`` or ``"tenant"``; ``(0.0, "")`` if free.
        """
        now = time.monotonic()
        names = self.suspension_keys(key, tenant)
        pairs = zip(names, SCOPES, strict=False)  # no tenant: the budget key only
        held = [(self._suspensions.get(name, 0.0) - now, scope) for name, scope in pairs]
        seconds, scope = max(held)
        return (seconds, scope) if seconds > 0 else (0.0, "")

    def forget_overrides(self) -> None:
        """Drop cached overrides (they may have changed while Redis was unreachable)."""
        self._overrides.clear()
        self.wake()

    def wake(self) -> None:
        """Wake the waiters of :meth:`changed` and count a new generation."""
        self.generation += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def suspend(
        self, key: BudgetKey, seconds: float, tenant: str | None, reason: str
    ) -> None:
        """Suspend a budget, or a tenant at its provider, on every host."""
        name = self.suspension_keys(key, tenant)[-1]
        self._suspensions[name] = time.monotonic() + seconds
        await self._announce(name, json.dumps({"reason": reason}), seconds, suspension=True)

    async def resume(self, key: BudgetKey, tenant: str | None) -> None:
        """Lift a suspension on every host."""
        name = self.suspension_keys(key, tenant)[-1]
        self._suspensions.pop(name, None)
        await self._announce(name, None, 0, suspension=True)

    async def set_override(self, key: BudgetKey, data: Mapping[str, Any], seconds: float) -> None:
        """Store an override (opaque data) on every host for ``seconds`` (<= 0 deletes it)."""
        name = self.key(key, "override")
        if seconds <= 0:
            self._overrides.pop(name, None)
            await self._announce(name, None, 0)
            return
        self._overrides[name] = (time.monotonic() + seconds, dict(data))
        await self._announce(name, json.dumps(dict(data)), seconds)

    async def override(self, key: BudgetKey) -> dict[str, Any] | None:
        """The override in force (cached; refreshed on announcements)."""
        name, now = self.key(key, "override"), time.monotonic()
        cached = self._overrides.get(name)
        if (cached is None or cached[0] <= now) and self._link.available:
            try:
                self._link.round_trips += 1
                async with self._link.client.pipeline(transaction=False) as pipe:
                    pipe.get(name)
                    pipe.pttl(name)
                    raw, ttl = await pipe.execute()
            except self._link.errors as exc:
                self._link.lost(exc)
            else:
                found = raw is not None and ttl > 0
                data = json.loads(raw) if found else {}
                cached = (now + (ttl / 1000 if found else ABSENT_CACHE), data)
                self._overrides[name] = cached
        if cached is None or cached[0] <= now or not cached[1]:
            return None
        return cached[1]

    async def _announce(
        self, name: str, value: str | None, seconds: float, *, suspension: bool = False
    ) -> None:
        if not self._link.available:
            return  # kept locally; the other hosts meet the provider's own replies
        notice = {"key": name, "seconds": seconds if value else 0, "suspension": suspension}
        try:
            self._link.round_trips += 1
            async with self._link.client.pipeline(transaction=True) as pipe:
                if value is None:
                    pipe.delete(name)
                else:
                    pipe.set(name, value, px=max(1, round(seconds * 1000)))
                pipe.publish(self._channel, json.dumps(notice))
                await pipe.execute()
        except self._link.errors as exc:
            self._link.lost(exc)

    async def listen(self) -> None:
        """Follow every host's announcements; resubscribe after Redis comes back."""
        while True:
            try:
                async with self._link.client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._learn(json.loads(message["data"]))
            except self._link.errors as exc:
                self._link.lost(exc)
                await asyncio.sleep(0.5)

    def _learn(self, notice: dict[str, Any]) -> None:
        name, seconds = str(notice["key"]), float(notice["seconds"])
        if notice.get("suspension"):
            if seconds > 0:
                self._suspensions[name] = time.monotonic() + seconds
            else:
                self._suspensions.pop(name, None)
        self._overrides.pop(name, None)
        self.wake()

    async def changed(self, timeout: float, *, since: int | None = None) -> bool:
        """Wait for an announcement or a released slot (True), or ``timeout`` (False).

        Args:
            timeout: seconds to wait at most.
            since: a :attr:`generation` read before asking for budget; when something
                changed since, return at once (nothing announced in between is missed).
        """
        if since is not None and since != self.generation:
            return True
        event = self._changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()
                return True
        return False
