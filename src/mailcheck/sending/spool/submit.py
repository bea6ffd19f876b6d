"""Inserting messages: plain, or once per (key, recipient); recipients the suppression
list stops are recorded ``suppressed`` in the same transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from mailcheck.hygiene import store
from mailcheck.hygiene.types import Suppression
from mailcheck.sending.spool.records import TRANSACTIONAL, Submitted

__all__ = ["insert", "insert_once"]


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
        "INSERT INTO recipients (message_id, rcpt, domain, state, attempts, next_attempt,"
        " priority, updated, dedup) VALUES (?,?,?,'queued',0,?,?,?,?)",
        [
            (mid, r, r.rpartition("@")[2].lower(), now, int(priority), now, d)
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
            "INSERT INTO recipients (message_id, rcpt, domain, state, attempts, next_attempt,"
            " last_reply, priority, updated, dedup) VALUES (?,?,?,'suppressed',0,?,?,?,?,?)"
            " RETURNING id",
            (mid, rcpt, rcpt.rpartition("@")[2].lower(), now, why, int(priority), now, dedup),
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
    stopped = {r for r, _ in suppressed}
    return Submitted(
        message_id=mid,
        queued=tuple(r for r, _ in fresh if r not in stopped),
        duplicates=tuple(dupes),
        suppressed=tuple(suppressed),
    )
