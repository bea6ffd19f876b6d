"""Group commit for one SQLite connection: work queued from the event loop, committed in
batches in a worker thread.

The engine knows nothing of the schema: work is a function of the connection. Calls made
while a commit is under way wait for it and then share the next transaction, so that many
connections finishing at once cost one commit (one fsync, one write of the changed pages)
instead of one each, and nobody is told before their own work is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["GROUP_DELAY", "GROUP_MAX", "GroupCommit", "Work"]

#: Work done inside a transaction: a function of the connection.
Work = Callable[[sqlite3.Connection], Any]

#: Seconds lazy work may wait for other work to share its transaction, and the number of
#: queued calls that ends the wait.
GROUP_DELAY = 0.002
GROUP_MAX = 32

_Outcome = tuple[bool, Any]


def _settle(future: asyncio.Future[Any], outcome: _Outcome) -> None:
    if future.done():
        return
    if outcome[0]:
        future.set_result(outcome[1])
    else:
        future.set_exception(outcome[1])


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _keep(exc: Exception) -> Exception:
    return exc


class GroupCommit:
    """Transactions on ``db``, grouped.

    Args:
        db: a connection opened with ``isolation_level=None`` and
            ``check_same_thread=False``; the engine owns its transactions.
        wrap: turns an exception raised by work into the one its caller sees.
        begin: the statement that opens a transaction (``BEGIN`` on a read-only file).

    Attributes:
        transactions: transactions committed so far (a batch of grouped work counts once).
    """

    def __init__(
        self,
        db: sqlite3.Connection,
        *,
        wrap: Callable[[Exception], Exception] = _keep,
        begin: str = "BEGIN IMMEDIATE",
    ) -> None:
        self.db, self.begin = db, begin
        self.transactions = 0
        self._wrap = wrap
        self.lock = threading.Lock()  # held while the connection is in use
        self._pending: list[tuple[Work, asyncio.Future[Any]]] = []
        self._lazy_only = True  # every pending call is lazy
        self._nudge: asyncio.Future[None] | None = None  # ends a lazy wait early
        self._committer: asyncio.Task[None] | None = None

    def run(self, fn: Work) -> Any:
        """Run ``fn`` in a transaction now, on this thread; its exception propagates."""
        with self.lock:
            self.db.execute(self.begin)
            try:
                result = fn(self.db)
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
            self.transactions += 1
            return result

    def run_batch(self, fns: Sequence[Work]) -> list[_Outcome]:
        """Run ``fns`` in one transaction; (ok, result or wrapped exception) for each.

        When one fails, the transaction is rolled back and each runs again in a
        transaction of its own, so that one bad call fails alone.
        """
        if len(fns) > 1:
            with self.lock:
                db = self.db
                db.execute(self.begin)
                try:
                    results = [(True, fn(db)) for fn in fns]
                    db.execute("COMMIT")
                    self.transactions += 1
                    return results
                except Exception:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
        alone: list[_Outcome] = []
        for fn in fns:
            try:
                alone.append((True, self.run(fn)))
            except Exception as exc:
                alone.append((False, self._wrap(exc)))
        return alone

    def enqueue(self, fn: Work, *, lazy: bool = False) -> asyncio.Future[Any]:
        """Queue ``fn`` for the next transaction; the future resolves once it is committed.

        Call it from the event loop. ``lazy`` work (nobody waits for it) may wait up to
        :data:`GROUP_DELAY` for company; any other call commits it at once. The work is
        done even when nobody awaits the future, and in the order it was queued.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((fn, future))
        if not lazy:
            self._lazy_only = False
        nudge = self._nudge
        if nudge is not None and (not self._lazy_only or len(self._pending) >= GROUP_MAX):
            _resolve(nudge)
        committer = self._committer
        if committer is None or committer.get_loop() is not loop:
            # Work left by an event loop that is gone cannot be answered: drop it.
            self._pending = [(f, w) for f, w in self._pending if w.get_loop() is loop]
            self._committer = loop.create_task(self._commit())
        return future

    async def flush(self) -> None:
        """Commit everything queued so far (lazy work included) and wait for it."""
        await self.enqueue(lambda db: None)

    def close(self) -> None:
        """Commit the work still queued, on this thread (results not yet grouped)."""
        pending, self._pending = self._pending, []
        if pending:
            results = self.run_batch([fn for fn, _ in pending])
            for (_, future), outcome in zip(pending, results, strict=True):
                with contextlib.suppress(RuntimeError):  # its event loop is gone
                    future.get_loop().call_soon_threadsafe(_settle, future, outcome)

    async def _commit(self) -> None:
        batch: list[tuple[Work, asyncio.Future[Any]]] = []
        try:
            while self._pending:
                if self._lazy_only and len(self._pending) < GROUP_MAX:
                    await self._gather_lazy()
                batch, self._pending, self._lazy_only = self._pending, [], True
                results = await asyncio.to_thread(self.run_batch, [fn for fn, _ in batch])
                for (_, future), outcome in zip(batch, results, strict=True):
                    _settle(future, outcome)  # unless its caller was cancelled
                batch = []
        finally:
            self._committer, self._lazy_only = None, True
            # Cancelled (the event loop is shutting down): nobody may wait forever.
            for _, future in batch + self._pending:
                if not future.done():
                    future.cancel()
            self._pending = []

    async def _gather_lazy(self) -> None:
        """Wait up to GROUP_DELAY for more work, less when a call waits for its commit."""
        loop = asyncio.get_running_loop()
        self._nudge = nudge = loop.create_future()
        timer = loop.call_later(GROUP_DELAY, _resolve, nudge)
        try:
            await nudge
        finally:
            timer.cancel()
            self._nudge = None
