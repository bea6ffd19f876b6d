"""The durable outgoing queue: SQLite in WAL mode, the source of truth.

Each message keeps its envelope and raw bytes; each recipient its own state::

    queued -> sending -> delivered | deferred | bounced | expired
    deferred -> sending (when its next attempt is due)

``submit`` returns only after the commit. A crash leaves recipients in ``sending``; opening
the spool puts them back to ``queued`` (delivered at least once). Every final or deferral
state change writes an event row in the same transaction; the Sender reports each event
once and acknowledges it (reported exactly once). SQLite work runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mailcheck.sending.redis_board import BudgetKey

__all__ = ["BULK", "TRANSACTIONAL", "Job", "SpoolEvent", "SqliteSpool"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, tenant TEXT, mail_from TEXT NOT NULL, raw BLOB NOT NULL,
    created REAL NOT NULL, priority INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS recipients (
    id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES messages(id),
    rcpt TEXT NOT NULL, domain TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
    next_attempt REAL NOT NULL, last_reply TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS recipients_due ON recipients(state, next_attempt);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, recipient_id INTEGER NOT NULL, message_id INTEGER NOT NULL,
    rcpt TEXT NOT NULL, kind TEXT NOT NULL, reply TEXT NOT NULL, at REAL NOT NULL,
    reported INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS shaping (
    kind TEXT NOT NULL, ip TEXT NOT NULL, grp TEXT NOT NULL, tenant TEXT NOT NULL,
    data TEXT NOT NULL, until REAL NOT NULL, PRIMARY KEY (kind, ip, grp, tenant));
"""

STATES = ("queued", "sending", "delivered", "deferred", "bounced", "expired")

#: Priority of newsletters and other bulk mail.
BULK = 0
#: Priority of password resets, confirmations and other mail someone is waiting for: it goes
#: before bulk mail waiting for the same budget.
TRANSACTIONAL = 10


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One message to the recipients of one domain, claimed for an attempt."""

    message_id: int
    domain: str
    mail_from: str
    tenant: str | None
    raw: bytes
    created: float
    recipients: tuple[tuple[int, str, int], ...]  # (recipient id, address, attempts so far)
    priority: int = BULK


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SpoolEvent:
    """A recipient's state change, reported once."""

    id: int
    message_id: int
    recipient_id: int
    rcpt: str
    kind: str
    reply: str
    at: float


class SqliteSpool:
    """A durable queue in one SQLite file.

    Args:
        path: the database file.
        clock: wall-clock seconds.
        backoff: first retry delay in seconds; doubles per attempt with +-``jitter``.
        max_backoff: cap of the retry delay.
        max_age: seconds after submission past which a deferred recipient expires.
        rng: random source of the jitter.
    """

    def __init__(
        self,
        path: str,
        /,
        *,
        clock: Callable[[], float] = time.time,
        backoff: float = 300.0,
        max_backoff: float = 4 * 3600.0,
        max_age: float = 5 * 86400.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        self.path, self.clock = path, clock
        self.backoff, self.max_backoff, self.max_age, self.jitter = (
            backoff,
            max_backoff,
            max_age,
            jitter,
        )
        self._rng = rng or random.Random()  # noqa: S311 - retry jitter, not security
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(messages)")}
        if columns and "priority" not in columns:  # a spool written before priorities
            self._db.execute("ALTER TABLE messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")
        self._db.executescript(_SCHEMA)
        # Crash recovery: an attempt in flight when the process died is retried.
        self._db.execute("UPDATE recipients SET state='queued' WHERE state='sending'")

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _tx(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return result

    async def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        return await asyncio.to_thread(self._tx, fn)

    async def submit(
        self,
        raw: bytes,
        /,
        *,
        mail_from: str,
        rcpt_to: Sequence[str],
        tenant: str | None = None,
        priority: int = BULK,
    ) -> int:
        """Queue a message; returns its id once committed.

        ``priority``: :data:`TRANSACTIONAL` goes before :data:`BULK` (higher = sooner).
        """
        now = self.clock()

        def work(db: sqlite3.Connection) -> int:
            cur = db.execute(
                "INSERT INTO messages (tenant, mail_from, raw, created, priority)"
                " VALUES (?,?,?,?,?)",
                (tenant, mail_from, raw, now, int(priority)),
            )
            mid = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO recipients (message_id, rcpt, domain, state, attempts, next_attempt)"
                " VALUES (?,?,?,'queued',0,?)",
                [(mid, r, r.rpartition("@")[2].lower(), now) for r in rcpt_to],
            )
            return mid

        return int(await self._run(work))

    async def claim(
        self,
        *,
        limit: int = 100,
        hold: Sequence[tuple[str, str]] = (),
        min_priority: int | None = None,
    ) -> list[Job]:
        """Mark due recipients ``sending`` and return them grouped by (message, domain).

        Highest priority first, then the longest due. ``hold``: (domain, tenant) pairs
        whose bulk mail is not claimed now (the Sender has enough of it in memory;
        transactional mail is still claimed); tenant ``""`` = submitted without one.
        ``min_priority``: claim only messages of at least this priority.
        """
        now = self.clock()
        held = json.dumps(sorted({f"{d.lower()}\x00{t}" for d, t in hold}))
        floor = -(2**62) if min_priority is None else min_priority

        def work(db: sqlite3.Connection) -> list[Job]:
            rows = db.execute(
                "SELECT r.id, r.message_id, r.rcpt, r.domain, r.attempts, m.mail_from,"
                " m.tenant, m.raw, m.created, m.priority FROM recipients r JOIN messages m"
                " ON m.id = r.message_id WHERE r.state IN ('queued','deferred')"
                " AND r.next_attempt <= ? AND m.priority >= ?"
                " AND (m.priority >= ? OR r.domain || char(0) || COALESCE(m.tenant, '')"
                " NOT IN (SELECT value FROM json_each(?)))"
                " ORDER BY m.priority DESC, r.next_attempt, r.id LIMIT ?",
                (now, floor, TRANSACTIONAL, held, limit),
            ).fetchall()
            groups: dict[tuple[int, str], list[Any]] = {}
            for row in rows:
                groups.setdefault((row[1], row[3]), []).append(row)
            db.executemany(
                "UPDATE recipients SET state='sending' WHERE id=?", [(r[0],) for r in rows]
            )
            return [
                Job(
                    message_id=mid,
                    domain=domain,
                    mail_from=rs[0][5],
                    tenant=rs[0][6],
                    raw=bytes(rs[0][7]),
                    created=rs[0][8],
                    recipients=tuple((r[0], r[2], r[4]) for r in rs),
                    priority=rs[0][9],
                )
                for (mid, domain), rs in groups.items()
            ]

        return list(await self._run(work))

    def _event(self, db: sqlite3.Connection, rid: int, kind: str, reply: str) -> None:
        mid, rcpt = db.execute(
            "SELECT message_id, rcpt FROM recipients WHERE id=?", (rid,)
        ).fetchone()
        db.execute(
            "INSERT INTO events (recipient_id, message_id, rcpt, kind, reply, at)"
            " VALUES (?,?,?,?,?,?)",
            (rid, mid, rcpt, kind, reply, self.clock()),
        )

    async def finish(self, rid: int, state: str, reply: str = "") -> None:
        """Record a final state (``delivered`` or ``bounced``) for a recipient."""

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE recipients SET state=?, attempts=attempts+1, last_reply=? WHERE id=?",
                (state, reply, rid),
            )
            self._event(db, rid, state, reply)

        await self._run(work)

    def retry_delay(self, attempts: int, /) -> float:
        """Delay before attempt ``attempts + 1``: exponential, capped, with jitter."""
        base = min(self.max_backoff, self.backoff * 2.0 ** max(0, attempts - 1))
        return base * (1 + self._rng.uniform(-self.jitter, self.jitter))

    async def defer(
        self, rid: int, reply: str = "", /, *, at: float | None = None, attempt: bool = True
    ) -> str:
        """Try a recipient later; ``attempt=False`` (a suspended group) burns no attempt.

        Returns:
            The new state: ``deferred``, or ``expired`` past ``max_age``.
        """
        now = self.clock()

        def work(db: sqlite3.Connection) -> str:
            attempts, created = db.execute(
                "SELECT r.attempts, m.created FROM recipients r JOIN messages m"
                " ON m.id = r.message_id WHERE r.id=?",
                (rid,),
            ).fetchone()
            attempts += 1 if attempt else 0
            when = at if at is not None else now + self.retry_delay(attempts)
            state = "expired" if when - created > self.max_age else "deferred"
            db.execute(
                "UPDATE recipients SET state=?, attempts=?, next_attempt=?, last_reply=?"
                " WHERE id=?",
                (state, attempts, when, reply, rid),
            )
            if attempt or state == "expired":
                self._event(db, rid, state, reply)
            return state

        return str(await self._run(work))

    async def events(self, *, limit: int = 1000) -> list[SpoolEvent]:
        """Events not yet acknowledged, oldest first."""

        def work(db: sqlite3.Connection) -> list[SpoolEvent]:
            rows = db.execute(
                "SELECT id, message_id, recipient_id, rcpt, kind, reply, at FROM events"
                " WHERE reported=0 ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
            return [
                SpoolEvent(
                    id=r[0],
                    message_id=r[1],
                    recipient_id=r[2],
                    rcpt=r[3],
                    kind=r[4],
                    reply=r[5],
                    at=r[6],
                )
                for r in rows
            ]

        return list(await self._run(work))

    async def ack(self, ids: Sequence[int], /) -> None:
        """Mark events reported."""
        await self._run(
            lambda db: db.executemany(
                "UPDATE events SET reported=1 WHERE id=?", [(i,) for i in ids]
            )
        )

    async def counts(self) -> dict[str, int]:
        """Recipients per state (every state listed)."""
        rows = await self._run(
            lambda db: db.execute(
                "SELECT state, COUNT(*) FROM recipients GROUP BY state"
            ).fetchall()
        )
        return {s: 0 for s in STATES} | {str(s): int(n) for s, n in rows}

    async def next_due(self) -> float | None:
        """When the earliest waiting recipient is due, or None when nothing waits."""
        row = await self._run(
            lambda db: db.execute(
                "SELECT MIN(next_attempt) FROM recipients WHERE state IN ('queued','deferred')"
            ).fetchone()
        )
        return None if row[0] is None else float(row[0])

    async def recipients(self, message_id: int, /) -> dict[str, str]:
        """State of each recipient of a message."""
        rows = await self._run(
            lambda db: db.execute(
                "SELECT rcpt, state FROM recipients WHERE message_id=?", (message_id,)
            ).fetchall()
        )
        return {str(r): str(s) for r, s in rows}

    # -- StateStore for shaping suspensions and overrides ------------------------------------

    def save_state(
        self, kind: str, key: BudgetKey, tenant: str, data: Mapping[str, Any], until: float
    ) -> None:
        """Persist a suspension or override (see :class:`mailcheck.sending.shaping.StateStore`)."""

        def work(db: sqlite3.Connection) -> None:
            if until <= self.clock():
                db.execute(
                    "DELETE FROM shaping WHERE kind=? AND ip=? AND grp=? AND tenant=?",
                    (kind, key[0], key[1], tenant),
                )
            else:
                db.execute(
                    "INSERT OR REPLACE INTO shaping VALUES (?,?,?,?,?,?)",
                    (kind, key[0], key[1], tenant, json.dumps(dict(data)), until),
                )

        self._tx(work)

    def load_state(self) -> list[tuple[str, BudgetKey, str, dict[str, Any], float]]:
        """Every unexpired suspension and override."""
        rows = self._tx(
            lambda db: db.execute(
                "SELECT kind, ip, grp, tenant, data, until FROM shaping WHERE until > ?",
                (self.clock(),),
            ).fetchall()
        )
        return [(k, (ip, g), t, json.loads(d), u) for k, ip, g, t, d, u in rows]
