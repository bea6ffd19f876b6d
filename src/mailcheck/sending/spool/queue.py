"""The durable outgoing queue: SQLite in WAL mode, the source of truth.

Each message keeps its envelope and raw bytes; each recipient its own
:class:`~mailcheck.sending.spool.records.RecipientState`. ``submit`` returns only after the
commit. A crash leaves recipients in ``sending``; opening the spool puts them back to
``queued`` (delivered at least once). Every final or deferral state change writes an event
row in the same transaction; the Sender reports each event once and acknowledges it.
SQLite work runs in a worker thread, grouped by :class:`~.commit.GroupCommit`.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import random
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mailcheck.errors import ConfigError
from mailcheck.sending.spool import schema
from mailcheck.sending.spool.admin import SpoolAdmin, id_list
from mailcheck.sending.spool.checks import SuppressionChecks, hygiene_generation
from mailcheck.sending.spool.commit import GroupCommit, Work
from mailcheck.sending.spool.records import (
    FINAL_STATES,
    TRANSACTIONAL,
    EventKind,
    Job,
    RecipientState,
    SpoolEvent,
)
from mailcheck.sending.spool.state import ShapingState
from mailcheck.sending.spool.submit import Submission

if TYPE_CHECKING:
    from mailcheck.sending.redis_board import BudgetKey

__all__ = ["SqliteSpool"]


class SqliteSpool(SpoolAdmin, SuppressionChecks, Submission):
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
        readonly: open it read-only (see :meth:`open_readonly`).
        suppression: honour the suppression list kept in this database
            (:mod:`mailcheck.hygiene`): a recipient it stops is recorded ``suppressed``
            when submitted or claimed instead of being queued or sent, and the bulk mail
            of a tenant paused for its complaint rate is not claimed. On by default: with
            an empty list it costs one probe per submission and claim.

    Raises:
        ConfigError: the file is not a spool (see :meth:`open_readonly`); it is never
            altered then.
        SpoolError: SQLite could not open or prepare it. Every method raises SpoolError
            for a database error or an unknown recipient, naming the spool, never a body.

    Attributes:
        transactions: transactions committed so far (grouped work counts once).
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
        readonly: bool = False,
        suppression: bool = True,
    ) -> None:
        self.path, self.clock, self.readonly = path, clock, readonly
        self.suppression = suppression
        #: The suppression list's generation last seen (at a claim, or after a write
        #: through :meth:`transaction`); see :meth:`recheck`.
        self.generation = 0
        #: tenant -> (until, reason): the tenants whose bulk mail a complaint rate paused,
        #: as read at the last claim (the Sender also holds the jobs it has in memory).
        self.paused_tenants: dict[str, tuple[float, str]] = {}
        self.backoff, self.max_backoff, self.max_age, self.jitter = (
            backoff,
            max_backoff,
            max_age,
            jitter,
        )
        self._rng = rng or random.Random()  # noqa: S311 - retry jitter, not security
        db = schema.open_spool(path, readonly=readonly, recover=recover)
        self._engine = GroupCommit(
            db, wrap=self._error, begin="BEGIN" if readonly else "BEGIN IMMEDIATE"
        )
        self._shaping = ShapingState(self._engine, clock=clock, wrap=self._error)

    @classmethod
    def open_readonly(cls, path: str, /, *, clock: Callable[[], float] = time.time) -> SqliteSpool:
        """Open a spool to look at it (``status``, ``list``, ``events``, ``counts``).

        The file is opened as a ``file:PATH?mode=ro`` URI after its schema is checked:
        no table is created, nothing altered, the journal mode is left alone and no crash
        recovery runs, so a foreign file stays byte-identical. Methods that write raise
        :class:`~mailcheck.errors.SpoolError`.

        Raises:
            ConfigError: ``PATH is not a mailcheck spool: ...`` (not SQLite, foreign tables,
                missing columns), or a spool of an older version that must be opened for
                writing once to be migrated.
            SpoolError: it cannot be opened (missing, unreadable).
        """
        return cls(path, clock=clock, recover=False, readonly=True)

    def _error(self, exc: Exception) -> Exception:
        return schema.spool_error(self.path, exc)

    @property
    def transactions(self) -> int:
        """Transactions committed so far (a group of calls committed together counts once)."""
        return self._engine.transactions

    def close(self) -> None:
        """Commit the work still queued (lazy results, shaping state), then close."""
        self._engine.close()
        if not self.readonly:
            self._shaping.write_now()
        with self._engine.lock:
            self._engine.db.close()

    def trace(self, callback: Callable[[str], object] | None, /) -> None:
        """Call ``callback`` with each SQL statement the spool runs (None stops): for
        debugging, and for tests that check which columns a call reads."""
        with self._engine.lock:
            self._engine.db.set_trace_callback(callback)

    async def flush_state(self) -> None:
        """Wait until every call made so far is committed: lazy results
        (:meth:`finish_nowait`) and shaping state (:meth:`save_state`).

        Raises:
            SpoolError: the last write of shaping state failed.
        """
        await self._engine.flush()
        error, self._shaping.error = self._shaping.error, None
        if error is not None:
            raise error

    async def _run(self, fn: Work) -> Any:
        """Run ``fn`` in a transaction in a worker thread; return once it is committed."""
        return await self._engine.enqueue(fn)

    async def transaction(self, work: Work, /) -> Any:
        """Run ``work(connection)`` in one of the spool's transactions (possibly shared
        with other calls) in a worker thread; its result once committed.

        For the modules whose tables live in the spool's database
        (:mod:`mailcheck.hygiene`): one connection, one writer, and the suppression list
        read in the same transactions that queue and claim recipients. ``work`` must not
        begin or end transactions itself.

        Raises:
            SpoolError: a database error (the whole of ``work`` is rolled back).
        """

        def both(db: sqlite3.Connection) -> tuple[Any, int]:
            return work(db), hygiene_generation(db)

        result, generation = await self._engine.enqueue(both)
        self.generation = max(self.generation, generation)
        return result

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

        check = self.suppression

        def work(db: sqlite3.Connection) -> builtins.list[Job]:
            # One walk of the ``recipients_waiting`` index in claim order: no sort, and
            # bodies are read once per claimed message, not per candidate row.
            rows = db.execute(
                "SELECT r.id, r.message_id, r.rcpt, r.domain, r.attempts, r.priority,"
                " m.tenant, m.list_id"
                " FROM recipients r INDEXED BY recipients_waiting JOIN messages m"
                " ON m.id = r.message_id WHERE r.state IN ('queued','deferred')"
                " AND r.next_attempt <= ? AND r.priority >= ?"
                " AND (r.priority >= ? OR r.domain || char(0) || COALESCE(m.tenant, '')"
                " NOT IN (SELECT value FROM json_each(?)))"
                " AND (? = 0 OR r.priority >= ? OR COALESCE(m.tenant, '') NOT IN"
                " (SELECT tenant FROM tenant_pauses WHERE until > ?))"
                " ORDER BY r.priority DESC, r.next_attempt, r.id LIMIT ?",
                (now, floor, TRANSACTIONAL, held, int(check), TRANSACTIONAL, now, limit),
            ).fetchall()
            if check:
                rows = self._drop_suppressed(db, rows, now)
            groups: dict[tuple[int, str], builtins.list[Any]] = {}
            for row in rows:
                groups.setdefault((row[1], row[3]), []).append(row)
            db.executemany(
                "UPDATE recipients SET state='sending', updated=? WHERE id=?",
                [(now, r[0]) for r in rows],
            )
            jobs = []
            for (mid, domain), rs in groups.items():
                mail_from, tenant, raw, created, list_id = db.execute(
                    "SELECT mail_from, tenant, raw, created, list_id FROM messages WHERE id=?",
                    (mid,),
                ).fetchone()
                jobs.append(
                    Job(
                        message_id=mid,
                        domain=domain,
                        mail_from=mail_from,
                        tenant=tenant,
                        raw=bytes(raw),
                        created=created,
                        priority=rs[0][5],
                        recipients=tuple((r[0], r[2], r[4]) for r in rs),
                        list_id=list_id,
                        generation=self.generation,
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
        if known is None:
            known = db.execute(
                "SELECT message_id, rcpt FROM recipients WHERE id=?", (rid,)
            ).fetchone()
        mid, rcpt = known
        db.execute(
            "INSERT INTO events (recipient_id, message_id, rcpt, kind, reply, at)"
            " VALUES (?,?,?,?,?,?)",
            (rid, mid, rcpt, EventKind(kind), reply, self.clock()),
        )

    async def finish(
        self, rid: int, state: str, reply: str = "", *, group: str | None = None,
        tls: str | None = None,
    ) -> None:  # fmt: skip
        """Record a final state (``delivered``, ``bounced``, ``expired`` or
        ``suppressed``) for a recipient. ``group``: the provider group it went to (what
        the complaint and bounce rates per provider count); ``tls``: the TLS of the
        transaction (an :class:`~mailcheck.sending.tlspolicy.EffectiveTls` value; None
        keeps the one recorded).

        Raises:
            ConfigError: ``state`` is not final.
            SpoolError: no such recipient, or a database error.
        """
        await self._engine.enqueue(self._finish(rid, state, reply, group, tls))

    def finish_nowait(
        self, rid: int, state: str, reply: str = "", *, group: str | None = None,
        tls: str | None = None,
    ) -> asyncio.Future[None]:  # fmt: skip
        """:meth:`finish` queued at once; the future resolves when the state is committed.

        Call it from the event loop. The state is recorded even when nobody awaits the
        future (a sender goes on with the next message while the last one commits); it may
        wait up to :data:`~.commit.GROUP_DELAY` to share a transaction with others.
        """
        return self._engine.enqueue(self._finish(rid, state, reply, group, tls), lazy=True)

    def _finish(self, rid: int, state: str, reply: str, group: str | None, tls: str | None) -> Work:
        if state not in FINAL_STATES:
            raise ConfigError(f"finish: {state!r} is not one of {', '.join(FINAL_STATES)}")
        final = RecipientState(state)

        def work(db: sqlite3.Connection) -> None:
            row = db.execute(
                "UPDATE recipients SET state=?, attempts=attempts+1, last_reply=?, updated=?,"
                " grp=COALESCE(?, grp), tls=COALESCE(?, tls) WHERE id=?"
                " RETURNING message_id, rcpt",
                (final, reply, self.clock(), group, tls, rid),
            ).fetchone()
            if row is None:
                raise KeyError(f"no recipient {rid}")
            self._event(db, rid, final, reply, row)

        return work

    def retry_delay(self, attempts: int, /) -> float:
        """Delay before attempt ``attempts + 1``: exponential, capped, with jitter."""
        base = min(self.max_backoff, self.backoff * 2.0 ** max(0, attempts - 1))
        return base * (1 + self._rng.uniform(-self.jitter, self.jitter))

    async def defer(
        self, rid: int, reply: str = "", /, *, at: float | None = None, attempt: bool = True,
        tls: str | None = None,
    ) -> RecipientState:  # fmt: skip
        """Try a recipient later; ``attempt=False`` (a suspended group) burns no attempt;
        ``tls``: the TLS of the transaction that tried (None keeps the one recorded: no
        connection was made).

        Returns:
            The new state: ``deferred``, or ``expired`` past ``max_age``.

        Raises:
            SpoolError: no such recipient, or a database error.
        """
        now = self.clock()

        def work(db: sqlite3.Connection) -> RecipientState:
            row = db.execute(
                "SELECT r.attempts, m.created FROM recipients r JOIN messages m"
                " ON m.id = r.message_id WHERE r.id=?",
                (rid,),
            ).fetchone()
            if row is None:
                raise KeyError(f"no recipient {rid}")
            attempts = row[0] + (1 if attempt else 0)
            when = at if at is not None else now + self.retry_delay(attempts)
            expired = when - row[1] > self.max_age
            state = RecipientState.EXPIRED if expired else RecipientState.DEFERRED
            db.execute(
                "UPDATE recipients SET state=?, attempts=?, next_attempt=?, last_reply=?,"
                " updated=?, tls=COALESCE(?, tls) WHERE id=?",
                (state, attempts, when, reply, now, tls, rid),
            )
            if attempt or expired:
                self._event(db, rid, state, reply)
            return state

        return RecipientState(await self._run(work))

    async def events(self, *, limit: int = 1000) -> builtins.list[SpoolEvent]:
        """Events not yet acknowledged, oldest first."""
        rows = await self._run(
            lambda db: db.execute(
                "SELECT id, message_id, recipient_id, rcpt, kind, reply, at FROM events"
                " WHERE reported=0 ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        )
        return [SpoolEvent.from_row(row) for row in rows]

    async def ack(self, ids: Sequence[int], /) -> None:
        """Mark events reported."""
        chosen = id_list(ids)
        await self._run(
            lambda db: db.execute(
                "UPDATE events SET reported=1 WHERE id IN (SELECT value FROM json_each(?))",
                (chosen,),
            )
        )

    # -- StateStore for shaping suspensions and overrides ------------------------------------

    def save_state(
        self, kind: str, key: BudgetKey, tenant: str, data: Mapping[str, Any], until: float
    ) -> None:
        """Persist a suspension or override (see :class:`mailcheck.sending.shaping.StateStore`).

        Returns at once: from the event loop, the write is committed in a worker thread
        with the next group of work (a later write of the same kind, key and tenant wins);
        without a running loop it is written now. :meth:`flush_state` waits for it,
        :meth:`close` writes what waits.
        """
        self._shaping.save(kind, key, tenant, data, until)

    def load_state(self) -> builtins.list[tuple[str, BudgetKey, str, dict[str, Any], float]]:
        """Every unexpired suspension and override (writes not yet committed included)."""
        return self._shaping.load()
