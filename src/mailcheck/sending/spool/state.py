"""Suspensions and overrides of the shaping backend, stored in the spool without blocking
the event loop.

``save`` is synchronous (the in-memory backend calls it from its own synchronous code) and
returns at once: the write waits in memory, the latest per (kind, key, tenant), and goes
to the database as lazy work of the group-commit engine, in a worker thread, sharing a
transaction with the delivery results around it. Without a running event loop it is
written at once. ``load`` answers from the database with the waiting writes laid over it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mailcheck.errors import SpoolError
from mailcheck.sending.spool.commit import GroupCommit

if TYPE_CHECKING:
    from mailcheck.sending.redis_board import BudgetKey

__all__ = ["ShapingState"]

_Key = tuple[str, str, str, str]  # kind, ip, group, tenant
_Entry = tuple[str, float] | None  # (JSON data, until), or None: delete


class ShapingState:
    """The ``shaping`` table behind a write-behind buffer.

    Args:
        engine: the spool's group-commit engine.
        clock: wall-clock seconds (an entry whose ``until`` has passed is deleted).
        wrap: turns a database error into the exception callers see.
    """

    def __init__(
        self,
        engine: GroupCommit,
        *,
        clock: Callable[[], float],
        wrap: Callable[[Exception], Exception],
    ) -> None:
        self._engine, self._clock, self._wrap = engine, clock, wrap
        self._pending: dict[_Key, _Entry] = {}
        self._lock = threading.Lock()  # the worker thread reads what the loop writes
        self._future: asyncio.Future[Any] | None = None
        self.error: Exception | None = None  # the last failed write, until reported

    def save(
        self, kind: str, key: BudgetKey, tenant: str, data: Mapping[str, Any], until: float
    ) -> None:
        """Queue one entry (``until`` <= now deletes it); see the module docstring."""
        entry = None if until <= self._clock() else (json.dumps(dict(data)), until)
        with self._lock:
            self._pending[(kind, key[0], key[1], tenant)] = entry
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no event loop: nobody is blocked by a synchronous write
            self.write_now()
            return
        self._schedule()

    def load(self) -> list[tuple[str, BudgetKey, str, dict[str, Any], float]]:
        """Every unexpired entry, the writes still waiting included."""
        try:
            rows = self._engine.run(
                lambda db: db.execute(
                    "SELECT kind, ip, grp, tenant, data, until FROM shaping"
                ).fetchall()
            )
        except (sqlite3.Error, KeyError) as exc:
            raise self._wrap(exc) from exc
        entries: dict[_Key, _Entry] = {(k, ip, g, t): (d, u) for k, ip, g, t, d, u in rows}
        with self._lock:
            entries.update(self._pending)
        now = self._clock()
        return [
            (k, (ip, g), t, json.loads(entry[0]), entry[1])
            for (k, ip, g, t), entry in entries.items()
            if entry is not None and entry[1] > now
        ]

    def write_now(self) -> None:
        """Write what waits, on this thread (``close``, or no event loop)."""
        with self._lock:
            if not self._pending:
                return
        try:
            written = self._engine.run(self._write)
        except (sqlite3.Error, KeyError) as exc:
            raise self._wrap(exc) from exc
        self._forget(written)

    def _schedule(self) -> None:
        if self._future is None or self._future.done():
            self._future = self._engine.enqueue(self._write, lazy=True)
            self._future.add_done_callback(self._written)

    def _write(self, db: sqlite3.Connection) -> dict[_Key, _Entry]:
        """In the worker thread, inside the group's transaction."""
        with self._lock:
            snapshot = dict(self._pending)
        for (kind, ip, grp, tenant), entry in snapshot.items():
            if entry is None:
                db.execute(
                    "DELETE FROM shaping WHERE kind=? AND ip=? AND grp=? AND tenant=?",
                    (kind, ip, grp, tenant),
                )
            else:
                db.execute(
                    "INSERT OR REPLACE INTO shaping VALUES (?,?,?,?,?,?)",
                    (kind, ip, grp, tenant, *entry),
                )
        return snapshot

    def _forget(self, written: dict[_Key, _Entry]) -> None:
        """Drop the entries now committed, unless a later save replaced them."""
        with self._lock:
            for key, entry in written.items():
                if key in self._pending and self._pending[key] is entry:
                    del self._pending[key]

    def _written(self, future: asyncio.Future[Any]) -> None:
        """On the loop, once the group's transaction is over (or was given up)."""
        if future.cancelled():
            return  # the event loop is closing: ``close`` writes what waits
        error = future.exception()
        if isinstance(error, Exception):
            self.error = error if isinstance(error, SpoolError) else self._wrap(error)
            return  # kept: the next save or ``close`` tries again
        self._forget(future.result())
        with self._lock:
            more = bool(self._pending)
        if more:  # saved while the transaction ran
            self._schedule()
