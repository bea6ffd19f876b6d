"""The durable outgoing queue: SQLite in WAL mode, the source of truth.

Each message keeps its envelope and raw bytes; each recipient its own state::

    queued -> sending -> delivered | deferred | bounced | expired
    deferred -> sending (when its next attempt is due)

``submit`` returns only after the commit. A crash leaves recipients in ``sending``; opening
the spool puts them back to ``queued`` (delivered at least once). Every final or deferral
state change writes an event row in the same transaction; the Sender reports each event
once and acknowledges it (reported exactly once). SQLite work runs in a worker thread.

Each message has a priority (higher = sooner: :data:`BULK` 0, :data:`TRANSACTIONAL` 10),
copied on its recipients so that ``claim`` walks one index, highest priority first. The
admin methods (``list``, ``status``, ``retry``, ``purge``, ``drop``) never read bodies.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import dataclasses
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from mailcheck.errors import ConfigError
from mailcheck.sending.redis_board import BudgetKey

__all__ = ["BULK", "TRANSACTIONAL", "Job", "RecipientRow", "SpoolEvent", "SqliteSpool"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, tenant TEXT, mail_from TEXT NOT NULL, raw BLOB NOT NULL,
    created REAL NOT NULL, priority INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS recipients (
    id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES messages(id),
    rcpt TEXT NOT NULL, domain TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
    next_attempt REAL NOT NULL, last_reply TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS recipients_due ON recipients(state, next_attempt);
CREATE INDEX IF NOT EXISTS recipients_waiting ON recipients(priority DESC, next_attempt)
    WHERE state IN ('queued','deferred');
CREATE INDEX IF NOT EXISTS recipients_message ON recipients(message_id);
CREATE INDEX IF NOT EXISTS recipients_domain ON recipients(domain, state);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, recipient_id INTEGER NOT NULL, message_id INTEGER NOT NULL,
    rcpt TEXT NOT NULL, kind TEXT NOT NULL, reply TEXT NOT NULL, at REAL NOT NULL,
    reported INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS events_unreported ON events(id) WHERE reported=0;
CREATE TABLE IF NOT EXISTS shaping (
    kind TEXT NOT NULL, ip TEXT NOT NULL, grp TEXT NOT NULL, tenant TEXT NOT NULL,
    data TEXT NOT NULL, until REAL NOT NULL, PRIMARY KEY (kind, ip, grp, tenant));
"""

_Work = Callable[[sqlite3.Connection], Any]

#: Seconds lazy work (:meth:`SqliteSpool.finish_nowait`) may wait for other work to share
#: its transaction, and the number of calls that ends the wait.
GROUP_DELAY = 0.002
GROUP_MAX = 32

STATES = ("queued", "sending", "delivered", "deferred", "bounced", "expired")
#: States a recipient never leaves by itself: what ``purge`` may delete.
FINAL_STATES = ("delivered", "bounced", "expired")
#: States ``retry`` accepts: deferred by default; bounced or expired only when named.
RETRY_STATES = ("deferred", "bounced", "expired")

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
class RecipientRow:
    """One recipient as the admin API shows it (no body).

    Attributes:
        id: the recipient id (what ``retry(ids=...)`` and ``drop`` take).
        message_id: its message.
        rcpt: the address; ``domain`` its lower-cased domain.
        tenant: the message's tenant, or None.
        mail_from: the envelope sender.
        state: one of ``queued sending delivered deferred bounced expired``.
        attempts: delivery attempts so far.
        next_attempt: when it is due (wall-clock seconds).
        last_reply: the last SMTP reply or error, as received (untrusted text).
        created: when the message was submitted.
        priority: the message's priority (higher = sooner).
        updated: the last state change (what ``purge(older_than=...)`` compares).
    """

    id: int
    message_id: int
    rcpt: str
    domain: str
    tenant: str | None
    mail_from: str
    state: str
    attempts: int
    next_attempt: float
    last_reply: str
    created: float
    priority: int
    updated: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable fields."""
        return dataclasses.asdict(self)


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


_Row = TypeVar("_Row")


def _rows(cls: type[_Row], rows: Iterable[Sequence[Any]]) -> builtins.list[_Row]:
    """Rows selected in the field order of the dataclass ``cls``, as instances of it."""
    names = [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    return [cls(**dict(zip(names, row, strict=True))) for row in rows]


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.done():
        return
    if outcome[0]:
        future.set_result(outcome[1])
    else:
        future.set_exception(outcome[1])


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a spool written by an earlier version to this schema (idempotent)."""
    messages = {row[1] for row in db.execute("PRAGMA table_info(messages)")}
    if messages and "priority" not in messages:  # written before priorities
        db.execute("ALTER TABLE messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")
    recipients = {row[1] for row in db.execute("PRAGMA table_info(recipients)")}
    if recipients and "priority" not in recipients:  # priority only on messages
        db.execute("ALTER TABLE recipients ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")
        db.execute(
            "UPDATE recipients SET priority = COALESCE("
            "(SELECT m.priority FROM messages m WHERE m.id = recipients.message_id), 0)"
        )
    if recipients and "updated" not in recipients:  # no time of the last state change
        db.execute("ALTER TABLE recipients ADD COLUMN updated REAL NOT NULL DEFAULT 0")
        db.execute(
            "UPDATE recipients SET updated = COALESCE("
            "(SELECT m.created FROM messages m WHERE m.id = recipients.message_id), 0)"
        )


_PURGED = "CREATE TEMP TABLE IF NOT EXISTS purged (id INTEGER PRIMARY KEY, message_id INTEGER)"


def _delete_purged(db: sqlite3.Connection) -> int:
    """Delete the recipients listed in ``temp.purged``, their messages when no recipient is
    left, and acknowledged events of recipients that no longer exist."""
    n = db.execute("DELETE FROM recipients WHERE id IN (SELECT id FROM temp.purged)").rowcount
    db.execute(
        "DELETE FROM messages WHERE id IN (SELECT DISTINCT message_id FROM temp.purged)"
        " AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = messages.id)"
    )
    # Unacknowledged events stay until the Sender has reported them (a later purge ends them).
    db.execute(
        "DELETE FROM events WHERE reported=1"
        " AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.id = events.recipient_id)"
    )
    db.execute("DELETE FROM temp.purged")
    return int(n)


def _id_list(ids: Sequence[int]) -> str:
    return json.dumps([int(i) for i in ids])


class SqliteSpool:
    """A durable queue in one SQLite file.

    Args:
        path: the database file.
        clock: wall-clock seconds.
        backoff: first retry delay in seconds; doubles per attempt with +-``jitter``.
        max_backoff: cap of the retry delay.
        max_age: seconds after submission past which a deferred recipient expires.
        rng: random source of the jitter.
        recover: put recipients left ``sending`` back to ``queued`` (crash recovery). Pass
            False when opening a spool that a running Sender uses (admin tools).
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
        recover: bool = True,
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
        self._pending: builtins.list[tuple[_Work, asyncio.Future[Any]]] = []
        self._lazy_only = True  # every pending call is lazy
        self._nudge: asyncio.Future[None] | None = None  # ends a lazy wait early
        self._committer: asyncio.Task[None] | None = None
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._tx(_migrate)
        self._db.executescript(_SCHEMA)
        if recover:
            # Crash recovery: an attempt in flight when the process died is retried.
            self._db.execute("UPDATE recipients SET state='queued' WHERE state='sending'")

    def close(self) -> None:
        """Commit the work still queued (results not yet grouped), then close the database."""
        pending, self._pending = self._pending, []
        if pending:
            results = self._tx_batch([fn for fn, _ in pending])
            for (_, future), outcome in zip(pending, results, strict=True):
                with contextlib.suppress(RuntimeError):  # its event loop is gone
                    future.get_loop().call_soon_threadsafe(_settle, future, outcome)
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

    def _tx_batch(self, fns: Sequence[_Work]) -> builtins.list[tuple[bool, Any]]:
        """Run ``fns`` in one transaction; (ok, result or exception) for each.

        When one fails, the transaction is rolled back and each runs again in a
        transaction of its own, so that one bad call fails alone.
        """
        if len(fns) > 1:
            with self._lock:
                db = self._db
                db.execute("BEGIN IMMEDIATE")
                try:
                    results = [(True, fn(db)) for fn in fns]
                    db.execute("COMMIT")
                    return results
                except Exception:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
        alone: builtins.list[tuple[bool, Any]] = []
        for fn in fns:
            try:
                alone.append((True, self._tx(fn)))
            except Exception as exc:
                alone.append((False, exc))
        return alone

    async def _run(self, fn: _Work) -> Any:
        """Run ``fn`` in a transaction in a worker thread; return once it is committed."""
        return await self._enqueue(fn)

    def _enqueue(self, fn: _Work, *, lazy: bool = False) -> asyncio.Future[Any]:
        """Queue ``fn`` for the next transaction; the future resolves once it is committed.

        Group commit: calls made while a commit is under way wait for it and then share
        the next transaction, so that many connections finishing at once cost one commit
        (one fsync, one write of the changed pages) instead of one each, and none is told
        before its own work is durable. ``lazy`` work (nobody waits for it) may wait up to
        :data:`GROUP_DELAY` for company; any other call commits it at once. The work is
        done even when nobody awaits the future.
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

    async def _commit(self) -> None:
        batch: builtins.list[tuple[_Work, asyncio.Future[Any]]] = []
        try:
            while self._pending:
                if self._lazy_only and len(self._pending) < GROUP_MAX:
                    await self._gather_lazy()
                batch, self._pending, self._lazy_only = self._pending, [], True
                results = await asyncio.to_thread(self._tx_batch, [fn for fn, _ in batch])
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
                "INSERT INTO recipients (message_id, rcpt, domain, state, attempts, next_attempt,"
                " priority, updated) VALUES (?,?,?,'queued',0,?,?,?)",
                [(mid, r, r.rpartition("@")[2].lower(), now, int(priority), now) for r in rcpt_to],
            )
            return mid

        return int(await self._run(work))

    async def claim(
        self,
        *,
        limit: int = 100,
        hold: Sequence[tuple[str, str]] = (),
        min_priority: int | None = None,
    ) -> builtins.list[Job]:
        """Mark due recipients ``sending`` and return them grouped by (message, domain).

        Highest priority first, then the longest due. ``hold``: (domain, tenant) pairs
        whose bulk mail is not claimed now (the Sender has enough of it in memory;
        transactional mail is still claimed); tenant ``""`` = submitted without one.
        ``min_priority``: claim only messages of at least this priority.
        """
        now = self.clock()
        held = json.dumps(sorted({f"{d.lower()}\x00{t}" for d, t in hold}))
        floor = -(2**62) if min_priority is None else min_priority

        def work(db: sqlite3.Connection) -> builtins.list[Job]:
            # One walk of the ``recipients_waiting`` index in claim order: no sort, and
            # bodies are read once per claimed message, not per candidate row.
            rows = db.execute(
                "SELECT r.id, r.message_id, r.rcpt, r.domain, r.attempts, r.priority"
                " FROM recipients r INDEXED BY recipients_waiting JOIN messages m"
                " ON m.id = r.message_id WHERE r.state IN ('queued','deferred')"
                " AND r.next_attempt <= ? AND r.priority >= ?"
                " AND (r.priority >= ? OR r.domain || char(0) || COALESCE(m.tenant, '')"
                " NOT IN (SELECT value FROM json_each(?)))"
                " ORDER BY r.priority DESC, r.next_attempt, r.id LIMIT ?",
                (now, floor, TRANSACTIONAL, held, limit),
            ).fetchall()
            groups: dict[tuple[int, str], builtins.list[Any]] = {}
            for row in rows:
                groups.setdefault((row[1], row[3]), []).append(row)
            db.executemany(
                "UPDATE recipients SET state='sending', updated=? WHERE id=?",
                [(now, r[0]) for r in rows],
            )
            jobs = []
            for (mid, domain), rs in groups.items():
                mail_from, tenant, raw, created = db.execute(
                    "SELECT mail_from, tenant, raw, created FROM messages WHERE id=?", (mid,)
                ).fetchone()
                jobs.append(
                    Job(
                        message_id=mid,
                        domain=domain,
                        mail_from=mail_from,
                        tenant=tenant,
                        raw=bytes(raw),
                        created=created,
                        recipients=tuple((r[0], r[2], r[4]) for r in rs),
                        priority=rs[0][5],
                    )
                )
            return jobs

        return list(await self._run(work))

    def _event(
        self,
        db: sqlite3.Connection,
        rid: int,
        kind: str,
        reply: str,
        known: tuple[int, str] | None = None,
    ) -> None:
        mid, rcpt = (
            known
            or db.execute("SELECT message_id, rcpt FROM recipients WHERE id=?", (rid,)).fetchone()
        )
        db.execute(
            "INSERT INTO events (recipient_id, message_id, rcpt, kind, reply, at)"
            " VALUES (?,?,?,?,?,?)",
            (rid, mid, rcpt, kind, reply, self.clock()),
        )

    async def finish(self, rid: int, state: str, reply: str = "") -> None:
        """Record a final state (``delivered`` or ``bounced``) for a recipient."""
        await self._enqueue(self._finish(rid, state, reply))

    def finish_nowait(self, rid: int, state: str, reply: str = "") -> asyncio.Future[None]:
        """:meth:`finish` queued at once; the future resolves when the state is committed.

        Call it from the event loop. The state is recorded even when nobody awaits the
        future (a sender goes on with the next message while the last one commits); it may
        wait up to :data:`GROUP_DELAY` to share a transaction with others.
        """
        return self._enqueue(self._finish(rid, state, reply), lazy=True)

    def _finish(self, rid: int, state: str, reply: str) -> _Work:
        def work(db: sqlite3.Connection) -> None:
            row = db.execute(
                "UPDATE recipients SET state=?, attempts=attempts+1, last_reply=?, updated=?"
                " WHERE id=? RETURNING message_id, rcpt",
                (state, reply, self.clock(), rid),
            ).fetchone()
            if row is None:
                raise KeyError(f"no recipient {rid} in the spool")
            self._event(db, rid, state, reply, row)

        return work

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
                "UPDATE recipients SET state=?, attempts=?, next_attempt=?, last_reply=?,"
                " updated=? WHERE id=?",
                (state, attempts, when, reply, now, rid),
            )
            if attempt or state == "expired":
                self._event(db, rid, state, reply)
            return state

        return str(await self._run(work))

    async def events(self, *, limit: int = 1000) -> builtins.list[SpoolEvent]:
        """Events not yet acknowledged, oldest first."""

        def work(db: sqlite3.Connection) -> builtins.list[SpoolEvent]:
            rows = db.execute(
                "SELECT id, message_id, recipient_id, rcpt, kind, reply, at FROM events"
                " WHERE reported=0 ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
            return _rows(SpoolEvent, rows)

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

    def load_state(self) -> builtins.list[tuple[str, BudgetKey, str, dict[str, Any], float]]:
        """Every unexpired suspension and override."""
        rows = self._tx(
            lambda db: db.execute(
                "SELECT kind, ip, grp, tenant, data, until FROM shaping WHERE until > ?",
                (self.clock(),),
            ).fetchall()
        )
        return [(k, (ip, g), t, json.loads(d), u) for k, ip, g, t, d, u in rows]

    # -- Admin: inspect, retry, purge (never reads bodies) ------------------------------------

    async def list(
        self, state: str | None = None, domain: str | None = None, limit: int = 100
    ) -> builtins.list[RecipientRow]:
        """Recipients, oldest first, optionally of one ``state`` and/or one ``domain``."""
        if state is not None and state not in STATES:
            raise ConfigError(f"unknown state {state!r}: expected one of {', '.join(STATES)}")
        where, params = [], []
        if state is not None:
            where.append("r.state=?")
            params.append(state)
        if domain is not None:
            where.append("r.domain=?")
            params.append(domain.lower().rstrip("."))
        # Only constant fragments are joined; values are bound parameters.
        sql = (
            "SELECT r.id, r.message_id, r.rcpt, r.domain, m.tenant, m.mail_from, r.state,"  # noqa: S608
            " r.attempts, r.next_attempt, r.last_reply, m.created, r.priority, r.updated"
            " FROM recipients r JOIN messages m ON m.id = r.message_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY r.id LIMIT ?"
        )
        rows = await self._run(lambda db: db.execute(sql, (*params, max(0, limit))).fetchall())
        return _rows(RecipientRow, rows)

    async def retry(
        self, *, ids: Sequence[int] = (), domain: str | None = None, state: str = "deferred"
    ) -> int:
        """Make recipients due now without burning an attempt; returns how many.

        Matches recipients in ``state`` (default ``deferred``; ``bounced`` or ``expired``
        only when named: they become ``deferred`` again, and an expired one past
        ``max_age`` gets one attempt before it expires again), restricted to ``ids`` and/or
        ``domain`` when given. A running Sender picks them up at its next claim.
        """
        if state not in RETRY_STATES:
            raise ConfigError(f"retry: state {state!r} is not one of {', '.join(RETRY_STATES)}")
        now = self.clock()
        where, params = ["state=?"], [state]
        if ids:
            where.append("id IN (SELECT value FROM json_each(?))")
            params.append(_id_list(ids))
        if domain is not None:
            where.append("domain=?")
            params.append(domain.lower().rstrip("."))
        # Only constant fragments are joined; values are bound parameters.
        sql = (
            "UPDATE recipients SET state='deferred', next_attempt=?, updated=? WHERE "  # noqa: S608
            + " AND ".join(where)
        )
        return int(await self._run(lambda db: db.execute(sql, (now, now, *params)).rowcount))

    async def purge(self, *, states: Sequence[str] = FINAL_STATES, older_than: float = 0.0) -> int:
        """Delete final recipients whose last change is at least ``older_than`` s old.

        Messages left without recipients go too, with the acknowledged events of deleted
        recipients. Only final states (``delivered``, ``bounced``, ``expired``) can be
        purged; waiting recipients are removed one by one with :meth:`drop`. Returns the
        number of recipients deleted.
        """
        wrong = [s for s in states if s not in FINAL_STATES]
        if wrong:
            raise ConfigError(
                f"purge deletes only {', '.join(FINAL_STATES)}, not {', '.join(wrong)}"
                " (drop(ids) removes waiting recipients)"
            )
        if not 0 <= older_than < float("inf"):
            raise ConfigError("purge: older_than must be a non-negative number of seconds")
        cutoff = self.clock() - older_than
        chosen = json.dumps(sorted(set(states)))

        def work(db: sqlite3.Connection) -> int:
            db.execute(_PURGED)
            db.execute(
                "INSERT INTO temp.purged SELECT id, message_id FROM recipients"
                " WHERE state IN (SELECT value FROM json_each(?)) AND updated <= ?",
                (chosen, cutoff),
            )
            return _delete_purged(db)

        return int(await self._run(work))

    async def drop(self, ids: Sequence[int], /) -> int:
        """Delete these recipients whatever their state, except ``sending`` (in flight).

        Their messages go when no recipient is left. Returns how many were deleted.
        """
        chosen = _id_list(ids)

        def work(db: sqlite3.Connection) -> int:
            db.execute(_PURGED)
            db.execute(
                "INSERT INTO temp.purged SELECT id, message_id FROM recipients"
                " WHERE id IN (SELECT value FROM json_each(?)) AND state != 'sending'",
                (chosen,),
            )
            return _delete_purged(db)

        return int(await self._run(work))

    async def status(self) -> dict[str, Any]:
        """Recipients per state, and per domain what waits (``queued`` + ``deferred``).

        Returns:
            ``{"states": {state: n}, "waiting": n, "oldest_waiting_age": s | None,
            "next_due": t | None, "domains": {domain: {"waiting", "deferred",
            "oldest_age", "next_due"}}}``, domains with the most waiting first. Ages are
            seconds since submission of the oldest waiting message.
        """
        now = self.clock()

        def work(db: sqlite3.Connection) -> tuple[Any, Any, dict[int, float]]:
            states = db.execute("SELECT state, COUNT(*) FROM recipients GROUP BY state").fetchall()
            domains = db.execute(
                "SELECT domain, COUNT(*), SUM(state='deferred'), MIN(message_id),"
                " MIN(next_attempt) FROM recipients WHERE state IN ('queued','deferred')"
                " GROUP BY domain"
            ).fetchall()
            # Ids grow with submission time: the smallest waiting message id is the oldest.
            oldest = _id_list(sorted({row[3] for row in domains}))
            created = db.execute(
                "SELECT id, created FROM messages WHERE id IN (SELECT value FROM json_each(?))",
                (oldest,),
            ).fetchall()
            return states, domains, {int(i): float(c) for i, c in created}

        states, domains, created = await self._run(work)
        per_domain: dict[str, dict[str, Any]] = {}
        for domain, waiting, deferred, mid, due in sorted(domains, key=lambda r: (-r[1], r[0])):
            per_domain[str(domain)] = {
                "waiting": int(waiting),
                "deferred": int(deferred),
                "oldest_age": max(0.0, now - created[mid]) if mid in created else None,
                "next_due": float(due),
            }
        ages = [d["oldest_age"] for d in per_domain.values() if d["oldest_age"] is not None]
        return {
            "states": {s: 0 for s in STATES} | {str(s): int(n) for s, n in states},
            "waiting": sum(d["waiting"] for d in per_domain.values()),
            "oldest_waiting_age": max(ages) if ages else None,
            "next_due": min((d["next_due"] for d in per_domain.values()), default=None),
            "domains": per_domain,
        }
