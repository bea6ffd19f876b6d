"""The spool's side of the suppression list: recipients it stops become ``suppressed``
when claimed or just before an attempt; tenants paused for their complaint rate are
read at each claim. Mixed into :class:`~.queue.SqliteSpool`."""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Callable
from typing import Any

from mailcheck.hygiene import store as hygiene_store
from mailcheck.sending.spool.records import TRANSACTIONAL, Job, RecipientState

__all__ = ["SuppressionChecks", "hygiene_generation"]


def hygiene_generation(db: sqlite3.Connection) -> int:
    """How many times a suppression was added or changed (0 on a read-only spool of an
    older version that lacks the counter)."""
    try:
        row = db.execute("SELECT value FROM hygiene_meta WHERE name='generation'").fetchone()
    except sqlite3.OperationalError:  # no such table: nothing was ever suppressed here
        return 0
    return 0 if row is None else int(row[0])


class SuppressionChecks:
    """Suppression checks of claimed and about-to-be-sent recipients."""

    clock: Callable[[], float]
    suppression: bool
    generation: int
    paused_tenants: dict[str, tuple[float, str]]

    async def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        raise NotImplementedError

    def _event(
        self,
        db: sqlite3.Connection,
        rid: int,
        kind: str,
        reply: str,
        known: tuple[int, str] | None = None,
    ) -> None:
        raise NotImplementedError

    def _drop_suppressed(
        self, db: sqlite3.Connection, rows: builtins.list[Any], now: float
    ) -> builtins.list[Any]:
        """Record the claimed rows the suppression list stops as ``suppressed`` (with an
        event); the others. Also refreshes :attr:`paused_tenants` and :attr:`generation`."""
        self.generation = max(self.generation, hygiene_generation(db))
        self.paused_tenants = {
            str(t): (float(u), str(why))
            for t, u, why in db.execute(
                "SELECT tenant, until, reason FROM tenant_pauses WHERE until > ?", (now,)
            )
        }
        items = [(r[2], r[6], r[7], r[5] >= TRANSACTIONAL) for r in rows]
        stops = hygiene_store.find_many(db, items, now=now)
        kept = []
        for row, stop in zip(rows, stops, strict=True):
            if stop is None:
                kept.append(row)
            else:
                self._suppress(db, row[0], hygiene_store.describe(stop), (row[1], row[2]))
        return kept

    def _suppress(
        self, db: sqlite3.Connection, rid: int, why: str, known: tuple[int, str] | None = None
    ) -> None:
        db.execute(
            "UPDATE recipients SET state='suppressed', last_reply=?, updated=? WHERE id=?",
            (why, self.clock(), rid),
        )
        self._event(db, rid, RecipientState.SUPPRESSED, why, known)

    def stale(self, job: Job, /) -> bool:
        """Whether the suppression list changed since ``job`` was claimed (as far as this
        spool knows: its own writes at once, other processes' at its next claim)."""
        return self.suppression and job.generation < self.generation

    async def recheck(self, job: Job, /) -> dict[int, str]:
        """Check ``job``'s recipients against the suppression list again, just before an
        attempt: the ones it now stops become ``suppressed`` (with an event) at once.

        Returns:
            recipient id -> reason, for the recipients stopped now (empty when
            suppression is off).
        """
        if not self.suppression:
            return {}
        now = self.clock()
        urgent = job.priority >= TRANSACTIONAL

        def work(db: sqlite3.Connection) -> dict[int, str]:
            items = [(rcpt, job.tenant, job.list_id, urgent) for _, rcpt, _ in job.recipients]
            stops = hygiene_store.find_many(db, items, now=now)
            stopped: dict[int, str] = {}
            for (rid, rcpt, _), stop in zip(job.recipients, stops, strict=True):
                if stop is not None:
                    stopped[rid] = hygiene_store.describe(stop)
                    self._suppress(db, rid, stopped[rid], (job.message_id, rcpt))
            return stopped

        result: dict[int, str] = await self._run(work)
        return result
