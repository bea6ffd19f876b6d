"""The link of one host to Redis: the client, round trips, and whether Redis answers.

A request that fails switches the link to "unavailable" (a ``redis-unavailable`` event);
from then on the link tries ``PING`` every ``retry_interval`` and, once Redis answers and
the owner's ``on_restore`` hook has run, switches back (``redis-restored``). ``redis`` is
imported here only, when a link is created, so the library works without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from mailcheck.errors import ConfigError
from mailcheck.sending import redis_lua

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

SCRIPTS = ("MESSAGE", "CONNECT", "EXTEND", "COUNT", "THRESHOLD")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BackendEvent:
    """Something the operator should see: ``redis-unavailable`` or ``redis-restored``.

    Attributes:
        kind: the event.
        at: wall-clock time (seconds since the epoch).
        detail: the error that made Redis unavailable.
    """

    kind: str
    at: float
    detail: str = ""


class RedisLink:
    """A Redis client with availability tracking and round-trip counting.

    Args:
        url: the Redis URL.
        socket_timeout: seconds before a request counts as failed.
        retry_interval: seconds between attempts to reach Redis while unavailable.
        on_event: called with each :class:`BackendEvent`.
    """

    def __init__(
        self,
        url: str,
        /,
        *,
        socket_timeout: float,
        retry_interval: float,
        on_event: Callable[[BackendEvent], None] | None,
    ) -> None:
        try:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            from redis.exceptions import ConnectionError as RedisConnectionError
            from redis.exceptions import TimeoutError as RedisTimeoutError
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigError("the Redis backend needs: pip install mailcheck[redis]") from exc
        #: What "Redis is unavailable" looks like; anything else is a bug and propagates.
        self.errors: tuple[type[BaseException], ...] = (
            OSError,
            TimeoutError,
            RedisConnectionError,
            RedisTimeoutError,
        )
        # No retries inside the client: a failure switches to the local share at once.
        self.client: Redis = Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._scripts: dict[str, AsyncScript] = {
            name: self.client.register_script(getattr(redis_lua, name)) for name in SCRIPTS
        }
        self.available = True
        self.round_trips = 0
        self.fallbacks = 0
        self.on_restore: Callable[[], Awaitable[None]] | None = None
        self._retry_interval = retry_interval
        self._on_event = on_event
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run background work owned by this link (cancelled by :meth:`close`)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel background work and close the connections."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, *self.errors):
                await task
        await self.client.aclose()

    def emit(self, kind: str, detail: str = "") -> None:
        """Report an event to the owner's callback."""
        if self._on_event is not None:
            self._on_event(BackendEvent(kind=kind, at=time.time(), detail=detail))

    def lost(self, exc: BaseException) -> None:
        """Record that Redis failed; start trying to reach it again."""
        if self.available:
            self.available = False
            self.fallbacks += 1
            self.emit("redis-unavailable", f"{type(exc).__name__}: {exc}")
            self.spawn(self._reconnect())

    async def _reconnect(self) -> None:
        while True:
            await asyncio.sleep(self._retry_interval)
            try:
                self.round_trips += 1
                await self.client.ping()
                if self.on_restore is not None:
                    await self.on_restore()
            except self.errors:
                continue
            self.available = True
            self.emit("redis-restored")
            return

    async def run(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> list[int]:
        """Run one script (one round trip); raises one of :attr:`errors` when unreachable."""
        self.round_trips += 1
        result = await self._scripts[name](keys=list(keys), args=list(args))
        return [int(x) for x in result]
