"""Inserting messages: plain, or once per (key, recipient)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from mailcheck.sending.spool.records import Submitted

__all__ = ["insert", "insert_once"]


def insert(
    db: sqlite3.Connection,
    raw: bytes,
    mail_from: str,
    tenant: str | None,
    priority: int,
    rows: Sequence[tuple[str, str | None]],
    now: float,
) -> int:
    """Insert a message and its recipients ``(address, dedup value or None)``; its id."""
    cur = db.execute(
        "INSERT INTO messages (tenant, mail_from, raw, created, priority) VALUES (?,?,?,?,?)",
        (tenant, mail_from, raw, now, int(priority)),
    )
    mid = int(cur.lastrowid or 0)
    db.executemany(
        "INSERT INTO recipients (message_id, rcpt, domain, state, attempts, next_attempt,"
        " priority, updated, dedup) VALUES (?,?,?,'queued',0,?,?,?,?)",
        [(mid, r, r.rpartition("@")[2].lower(), now, int(priority), now, d) for r, d in rows],
    )
    return mid


def insert_once(
    db: sqlite3.Connection,
    raw: bytes,
    mail_from: str,
    tenant: str | None,
    priority: int,
    rcpt_to: Sequence[str],
    key: str,
    now: float,
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
    if not fresh:
        mid = min((m for m in earlier if m), default=0)
    else:
        mid = insert(db, raw, mail_from, tenant, priority, fresh, now)
    return Submitted(message_id=mid, queued=tuple(r for r, _ in fresh), duplicates=tuple(dupes))
