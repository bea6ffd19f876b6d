"""Event loops with a virtual or a scaled clock (see the package docstring)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import selectors
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["ScaledClockLoop", "VirtualClockLoop"]

T = TypeVar("T")
_Select = Callable[[float | None], list[tuple[selectors.SelectorKey, int]]]


class _Selector(selectors.DefaultSelector):
    """The platform's selector, with ``select`` routed through the loop's clock."""

    warp: Callable[[_Select, float | None], list[tuple[selectors.SelectorKey, int]]]

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        return self.warp(super().select, timeout)


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop on a virtual clock that jumps ahead when nothing is ready.

    While work handed to a thread (``asyncio.to_thread``, ``run_in_executor``) is under
    way, the clock stands still and the loop waits for it in real time; so a thread's
    work takes no virtual time. Timeouts, sleeps and ``loop.time()`` all follow the
    virtual clock; :meth:`wall` is the matching wall clock (``epoch`` + virtual time).

    Args:
        epoch: the wall-clock time at virtual time 0.
    """

    def __init__(self, *, epoch: float = 1_800_000_000.0) -> None:
        selector = _Selector()
        selector.warp = self._select
        super().__init__(selector)
        self.epoch = epoch
        self._now = 0.0
        self._busy = 0

    def time(self) -> float:
        """The virtual time (seconds since the loop was made)."""
        return self._now

    def wall(self) -> float:
        """The virtual wall clock (``epoch`` + :meth:`time`)."""
        return self.epoch + self._now

    def run_in_executor(  # type: ignore[override]
        self, executor: concurrent.futures.Executor | None, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        """As asyncio's, counting the work in flight so the clock waits for it."""
        future = super().run_in_executor(executor, func, *args)
        self._busy += 1
        future.add_done_callback(self._idle)
        return future

    def _idle(self, _: object) -> None:
        self._busy -= 1

    def _select(
        self, select: _Select, timeout: float | None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        events = select(0)
        if events or timeout == 0:
            return events
        if self._busy or timeout is None:
            # A thread is working (its result arrives through the self-pipe), or nothing
            # is scheduled at all: wait in real time, the clock standing still.
            return select(None if timeout is None else 0.5)
        self._now += timeout
        return []


class ScaledClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock runs ``speed`` times faster than the wall: a 60 s sleep
    lasts one real second at speed 60. Sockets work as usual.

    Args:
        speed: how much faster than real time.
        epoch: the wall-clock time at loop time 0.
    """

    def __init__(self, *, speed: float, epoch: float | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be positive")
        selector = _Selector()
        selector.warp = self._select
        super().__init__(selector)
        self.speed = speed
        self._start = time.monotonic()
        self.epoch = time.time() if epoch is None else epoch

    def time(self) -> float:
        """Scaled seconds since the loop was made."""
        return (time.monotonic() - self._start) * self.speed

    def wall(self) -> float:
        """The scaled wall clock (``epoch`` + :meth:`time`)."""
        return self.epoch + self.time()

    def _select(
        self, select: _Select, timeout: float | None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        return select(None if timeout is None else timeout / self.speed)
