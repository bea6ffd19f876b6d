"""The spool's admin API: list, status, retry, purge, drop. It never reads bodies."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from mailcheck.errors import ConfigError
from mailcheck.sending.spool.records import (
    FINAL_STATES,
    RETRY_STATES,
    STATES,
    RecipientRow,
    RecipientState,
)

__all__ = ["SpoolAdmin"]

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


def id_list(ids: Sequence[int]) -> str:
    """Ids as a JSON array, for ``json_each(?)``; refuses what is not an int in SQLite's
    range (a ConfigError, not an OverflowError from the driver)."""
    out = []
    for i in ids:
        value = int(i)
        if not -(2**63) <= value < 2**63:
            raise ConfigError(f"id {value} is out of range")
        out.append(value)
    return json.dumps(out)


def _state(value: str, allowed: Sequence[RecipientState], what: str) -> RecipientState:
    if value not in allowed:
        raise ConfigError(f"{what}: state {value!r} is not one of {', '.join(allowed)}")
    return RecipientState(value)


class SpoolAdmin:
    """Read counts and states; inspect, retry, purge and drop recipients; mixed into
    :class:`SqliteSpool`."""

    clock: Callable[[], float]

    async def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        raise NotImplementedError

    async def list(
        self, state: str | None = None, domain: str | None = None, limit: int = 100
    ) -> builtins.list[RecipientRow]:
        """Recipients, oldest first, optionally of one ``state`` and/or one ``domain``.

        Raises:
            ConfigError: an unknown state, or a limit that is not 0 .. 2**63-1.
        """
        where: builtins.list[str] = []
        params: builtins.list[Any] = []
        if state is not None:
            where.append("r.state=?")
            params.append(_state(state, STATES, "list"))
        if domain is not None:
            where.append("r.domain=?")
            params.append(domain.lower().rstrip("."))
        if not 0 <= limit < 2**63:
            raise ConfigError(f"list: limit {limit} is not between 0 and {2**63 - 1}")
        # Only constant fragments are joined; values are bound parameters.
        sql = (
            "SELECT r.id, r.message_id, r.rcpt, r.domain, m.tenant, m.mail_from, r.state,"  # noqa: S608
            " r.attempts, r.next_attempt, r.last_reply, m.created, r.priority, r.updated,"
            " r.tls"
            " FROM recipients r JOIN messages m ON m.id = r.message_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY r.id LIMIT ?"
        )
        rows = await self._run(lambda db: db.execute(sql, (*params, limit)).fetchall())
        return [RecipientRow.from_row(row) for row in rows]

    async def retry(
        self, *, ids: Sequence[int] = (), domain: str | None = None, state: str = "deferred"
    ) -> int:
        """Make recipients due now without burning an attempt; returns how many.

        Matches recipients in ``state`` (default ``deferred``; ``bounced`` or ``expired``
        only when named: they become ``deferred`` again, and an expired one past
        ``max_age`` gets one attempt before it expires again), restricted to ``ids`` and/or
        ``domain`` when given. A running Sender picks them up at its next claim.
        """
        chosen = _state(state, RETRY_STATES, "retry")
        now = self.clock()
        where: builtins.list[str] = ["state=?"]
        params: builtins.list[Any] = [chosen]
        if ids:
            where.append("id IN (SELECT value FROM json_each(?))")
            params.append(id_list(ids))
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
        purged; waiting recipients are removed with :meth:`drop`. Returns the number of
        recipients deleted. A purged recipient no longer counts as a duplicate for
        :meth:`SqliteSpool.submit_once`.
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
        chosen = json.dumps(sorted({str(s) for s in states}))

        def work(db: sqlite3.Connection) -> int:
            db.execute(_PURGED)
            db.execute(
                "INSERT INTO temp.purged SELECT id, message_id FROM recipients"
                " WHERE state IN (SELECT value FROM json_each(?)) AND updated <= ?",
                (chosen, cutoff),
            )
            return _delete_purged(db)

        return int(await self._run(work))

    async def drop(self, ids: Sequence[int] = (), /, *, messages: Sequence[int] = ()) -> int:
        """Delete recipients whatever their state, except ``sending`` (in flight).

        ``ids`` names recipients, ``messages`` every recipient of these messages. A
        message goes when no recipient is left. Returns how many recipients were deleted.
        """
        chosen, whole = id_list(ids), id_list(messages)

        def work(db: sqlite3.Connection) -> int:
            db.execute(_PURGED)
            db.execute(
                "INSERT INTO temp.purged SELECT id, message_id FROM recipients"
                " WHERE (id IN (SELECT value FROM json_each(?))"
                " OR message_id IN (SELECT value FROM json_each(?))) AND state != 'sending'",
                (chosen, whole),
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
            oldest = id_list(sorted({row[3] for row in domains}))
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
            "states": {str(s): 0 for s in STATES} | {str(s): int(n) for s, n in states},
            "waiting": sum(d["waiting"] for d in per_domain.values()),
            "oldest_waiting_age": max(ages) if ages else None,
            "next_due": min((d["next_due"] for d in per_domain.values()), default=None),
            "domains": per_domain,
        }

    async def counts(self) -> dict[str, int]:
        """Recipients per state (every state listed)."""
        rows = await self._run(
            lambda db: db.execute(
                "SELECT state, COUNT(*) FROM recipients GROUP BY state"
            ).fetchall()
        )
        return {str(s): 0 for s in STATES} | {str(s): int(n) for s, n in rows}

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
        return {str(r): RecipientState(s) for r, s in rows}

    async def domain_states(self) -> builtins.list[tuple[str, str, int, float | None, str]]:
        """Recipients per (domain, state): count, the earliest next attempt and the last
        reply of the earliest one (what the Sender's progress shows per provider).

        Returns:
            ``[(domain, state, count, next_attempt | None, last_reply)]``.
        """

        def work(db: sqlite3.Connection) -> Any:
            # SQLite: with MIN(), the bare column comes from the row holding the minimum.
            return db.execute(
                "SELECT domain, state, COUNT(*), MIN(next_attempt), last_reply"
                " FROM recipients GROUP BY domain, state"
            ).fetchall()

        rows = await self._run(work)
        waiting = ("queued", "deferred", "sending")
        return [
            (str(d), str(s), int(n), float(due) if s in waiting else None, str(reply or ""))
            for d, s, n, due, reply in rows
        ]
