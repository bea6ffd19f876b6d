"""Inserting messages: plain, or once per (key, recipient); recipients the suppression
list stops are recorded ``suppressed`` in the same transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from mailcheck.errors import ConfigError
from mailcheck.hygiene import store
from mailcheck.hygiene.types import Suppression
from mailcheck.sending.spool.records import BULK, TRANSACTIONAL, Submitted

__all__ = ["Submission", "insert", "insert_once"]

# One statement for queued and suppressed recipients (a queued one has no reply yet).
_INSERT_RECIPIENT = (
    "INSERT INTO recipients (message_id, rcpt, domain, state, attempts, next_attempt,"
    " last_reply, priority, updated, dedup) VALUES (?,?,?,?,0,?,?,?,?,?)"
)


def _recipient(
    mid: int, rcpt: str, dedup: str | None, state: str, reply: str, priority: int, now: float
) -> tuple[object, ...]:
    """The values of :data:`_INSERT_RECIPIENT` for one recipient."""
    domain = rcpt.rpartition("@")[2].lower()
    return (mid, rcpt, domain, state, now, reply, int(priority), now, dedup)


def _submitted(
    mid: int,
    rows: Sequence[tuple[str, str | None]],
    suppressed: Sequence[tuple[str, str]],
    duplicates: Sequence[str] = (),
) -> Submitted:
    """What became of the recipients ``rows`` inserted as message ``mid``."""
    stopped = {r for r, _ in suppressed}
    return Submitted(
        message_id=mid,
        queued=tuple(r for r, _ in rows if r not in stopped),
        duplicates=tuple(duplicates),
        suppressed=tuple(suppressed),
    )


def insert(
    db: sqlite3.Connection,
    raw: bytes,
    mail_from: str,
    tenant: str | None,
    priority: int,
    rows: Sequence[tuple[str, str | None]],
    now: float,
    *,
    list_id: str | None = None,
    check: bool = False,
) -> tuple[int, list[tuple[str, str]]]:
    """Insert a message and its recipients ``(address, dedup value or None)``.

    With ``check``, a recipient the suppression list stops is recorded ``suppressed``
    (with an event, reported once) instead of ``queued``, in the same transaction.

    Returns:
        The message id, and ``(address, reason)`` for each suppressed recipient.
    """
    cur = db.execute(
        "INSERT INTO messages (tenant, mail_from, raw, created, priority, list_id)"
        " VALUES (?,?,?,?,?,?)",
        (tenant, mail_from, raw, now, int(priority), list_id),
    )
    mid = int(cur.lastrowid or 0)
    stops: list[Suppression | None] = [None] * len(rows)
    if check:
        urgent = priority >= TRANSACTIONAL
        stops = store.find_many(db, [(r, tenant, list_id, urgent) for r, _ in rows], now=now)
    db.executemany(
        _INSERT_RECIPIENT,
        [
            _recipient(mid, r, d, "queued", "", priority, now)
            for (r, d), stop in zip(rows, stops, strict=True)
            if stop is None
        ],
    )
    suppressed: list[tuple[str, str]] = []
    for (rcpt, dedup), stop in zip(rows, stops, strict=True):
        if stop is None:
            continue
        why = store.describe(stop)
        rid = db.execute(
            _INSERT_RECIPIENT + " RETURNING id",
            _recipient(mid, rcpt, dedup, "suppressed", why, priority, now),
        ).fetchone()[0]
        db.execute(
            "INSERT INTO events (recipient_id, message_id, rcpt, kind, reply, at)"
            " VALUES (?,?,?,'suppressed',?,?)",
            (rid, mid, rcpt, why, now),
        )
        suppressed.append((rcpt, why))
    return mid, suppressed


def insert_once(
    db: sqlite3.Connection,
    raw: bytes,
    mail_from: str,
    tenant: str | None,
    priority: int,
    rcpt_to: Sequence[str],
    key: str,
    now: float,
    *,
    list_id: str | None = None,
    check: bool = False,
) -> Submitted:
    """Insert the message for the recipients not yet in the spool under ``key``.

    Each recipient row carries ``key + NUL + lower-cased address`` in ``dedup`` (a unique
    index), so the check and the insert are one transaction and a race cannot queue twice.
    """
    rows = [(r, f"{key}\x00{r.lower()}") for r in rcpt_to]
    # One index lookup per address (json_each would cut the values at their NUL).
    seen: dict[str, int] = {}
    for _, dedup in rows:
        row = db.execute("SELECT message_id FROM recipients WHERE dedup=?", (dedup,)).fetchone()
        if row is not None:
            seen[dedup] = int(row[0])
    fresh, dupes, earlier = [], [], []
    for rcpt, dedup in rows:
        if dedup in seen:
            dupes.append(rcpt)
            earlier.append(seen[dedup])
        else:
            fresh.append((rcpt, dedup))
            seen[dedup] = 0  # a second spelling in this call is a duplicate
    suppressed: list[tuple[str, str]] = []
    if not fresh:
        mid = min((m for m in earlier if m), default=0)
    else:
        mid, suppressed = insert(
            db, raw, mail_from, tenant, priority, fresh, now, list_id=list_id, check=check
        )
    return _submitted(mid, fresh, suppressed, dupes)


class Submission:
    """Queuing messages; mixed into :class:`~.queue.SqliteSpool`."""

    clock: Callable[[], float]
    suppression: bool

    async def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        raise NotImplementedError

    async def submit(
        self,
        raw: bytes,
        /,
        *,
        mail_from: str,
        rcpt_to: Sequence[str],
        tenant: str | None = None,
        priority: int = BULK,
        list_id: str | None = None,
    ) -> int:
        """Queue a message; returns its id once committed.

        ``priority``: :data:`TRANSACTIONAL` goes before :data:`BULK` (higher = sooner).
        ``list_id``: the mailing list it goes to (suppressions per list apply).
        Nothing is deduplicated (see :meth:`submit_once`). Recipients the suppression
        list stops are recorded ``suppressed`` (see :meth:`submit_checked`).
        """
        return (
            await self.submit_checked(
                raw, mail_from=mail_from, rcpt_to=rcpt_to, tenant=tenant, priority=priority,
                list_id=list_id,
            )
        ).message_id  # fmt: skip

    async def submit_checked(
        self,
        raw: bytes,
        /,
        *,
        mail_from: str,
        rcpt_to: Sequence[str],
        tenant: str | None = None,
        priority: int = BULK,
        list_id: str | None = None,
    ) -> Submitted:
        """As :meth:`submit`, and says which recipients were queued and which the
        suppression list stopped (``duplicates`` is always empty)."""
        now = self.clock()
        rows = [(r, None) for r in rcpt_to]
        mid, stopped = await self._run(
            lambda db: insert(
                db,
                raw,
                mail_from,
                tenant,
                priority,
                rows,
                now,
                list_id=list_id,
                check=self.suppression,
            )
        )
        return _submitted(int(mid), rows, stopped)

    async def submit_once(
        self,
        raw: bytes,
        /,
        *,
        mail_from: str,
        rcpt_to: Sequence[str],
        tenant: str | None = None,
        priority: int = BULK,
        key: str,
        list_id: str | None = None,
    ) -> Submitted:
        """Queue a message for the recipients not yet submitted under ``key``.

        A recipient counts as submitted under ``key`` (compared case-insensitively) while
        it is in the spool, whatever its state, delivered included: queuing the same
        file twice sends it once. ``key`` is usually :func:`submission_key` of ``raw``.
        A recipient removed by ``purge`` or ``drop`` is forgotten.

        Example:
            >>> done = await spool.submit_once(raw, mail_from=frm, rcpt_to=to,
            ...                                key=submission_key(raw))  # doctest: +SKIP
        """
        if not key:
            raise ConfigError("submit_once: key must not be empty")
        now = self.clock()
        result: Submitted = await self._run(
            lambda db: insert_once(
                db,
                raw,
                mail_from,
                tenant,
                priority,
                rcpt_to,
                key,
                now,
                list_id=list_id,
                check=self.suppression,
            )
        )
        return result
