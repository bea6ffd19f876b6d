"""The suppression list's SQL: functions of a connection to the spool's database, run
inside a transaction the caller owns (the spool's group commit, or the spool's own
submit and claim, which check suppressions in the same transaction that queues or
claims a recipient). The tables are created by the spool's schema
(:data:`mailcheck.sending.spool.schema.HYGIENE_SCHEMA`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from mailcheck.errors import ParseError
from mailcheck.hygiene.types import (
    Suppression,
    SuppressionReason,
    SuppressionScope,
    address_key,
)

__all__ = [
    "TRANSACTIONAL_REASONS",
    "counts",
    "delete",
    "describe",
    "find",
    "find_many",
    "has_any",
    "select",
    "upsert",
]

_COLUMNS = "address, scope, scope_value, reason, source, created, expires"

#: A global suppression is reported before a tenant's, a tenant's before a list's.
_PRECEDENCE = "CASE scope WHEN 'global' THEN 0 WHEN 'tenant' THEN 1 ELSE 2 END"


def _row(row: tuple[Any, ...]) -> Suppression:
    address, scope, value, reason, source, created, expires = row
    return Suppression(
        address=str(address),
        scope=SuppressionScope(scope),
        scope_value=str(value),
        reason=SuppressionReason(reason),
        source=str(source),
        created=float(created),
        expires=None if expires is None else float(expires),
    )


def has_any(db: sqlite3.Connection, /) -> bool:
    """Whether the list has any entry (lets the spool skip lookups when it is empty)."""
    return db.execute("SELECT 1 FROM suppressions LIMIT 1").fetchone() is not None


def find(
    db: sqlite3.Connection,
    key: str,
    /,
    *,
    tenant: str | None,
    list_id: str | None,
    now: float,
) -> Suppression | None:
    """The suppression in force for ``key`` (:func:`~.types.address_key`) when mailing
    for ``tenant`` to ``list_id``: a global one first, then the tenant's, then the list's;
    None when none applies."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM suppressions WHERE key=?"  # noqa: S608 - constants only
        " AND (expires IS NULL OR expires > ?)"
        " AND (scope='global' OR (scope='tenant' AND scope_value=?)"
        " OR (scope='list' AND scope_value=?))"
        f" ORDER BY {_PRECEDENCE} LIMIT 1",
        (key, now, tenant or "", list_id or ""),
    ).fetchone()
    return None if row is None else _row(row)


def upsert(db: sqlite3.Connection, key: str, entry: Suppression, /) -> Suppression:
    """Add ``entry``, or update the entry of the same key and scope; returns what is stored.

    An update takes the new reason, source and creation time; its expiry is the later of
    the two (None, never, wins): a permanent suppression is never shortened by a
    temporary one arriving later.
    """
    row = db.execute(
        "INSERT INTO suppressions (key, address, scope, scope_value, reason, source, created,"  # noqa: S608
        " expires) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (key, scope, scope_value) DO UPDATE SET"
        " address=excluded.address, reason=excluded.reason, source=excluded.source,"
        " created=excluded.created, expires=CASE WHEN suppressions.expires IS NULL"
        " OR excluded.expires IS NULL THEN NULL"
        " ELSE MAX(suppressions.expires, excluded.expires) END"
        f" RETURNING {_COLUMNS}",
        (
            key,
            entry.address,
            str(entry.scope),
            entry.scope_value,
            str(entry.reason),
            entry.source,
            entry.created,
            entry.expires,
        ),
    ).fetchone()
    return _row(row)


def delete(
    db: sqlite3.Connection,
    key: str,
    /,
    *,
    scope: SuppressionScope | None,
    scope_value: str | None,
) -> int:
    """Delete the entries of ``key`` (of one scope, and one scope value, when given);
    returns how many."""
    where: list[str] = ["key=?"]
    params: list[Any] = [key]
    if scope is not None:
        where.append("scope=?")
        params.append(str(scope))
    if scope_value is not None:
        where.append("scope_value=?")
        params.append(scope_value)
    # Only constant fragments are joined; values are bound parameters.
    sql = "DELETE FROM suppressions WHERE " + " AND ".join(where)  # noqa: S608
    return int(db.execute(sql, params).rowcount)


def select(
    db: sqlite3.Connection,
    /,
    *,
    now: float,
    scope: SuppressionScope | None = None,
    scope_value: str | None = None,
    reasons: Iterable[SuppressionReason] = (),
    expired: bool = False,
    after: int = 0,
    limit: int = 1000,
) -> list[tuple[int, Suppression]]:
    """Entries in insertion order as ``(row id, entry)``, from row id ``after`` on
    (pagination), filtered by scope, scope value and reasons; expired ones only when
    ``expired``."""
    where: list[str] = ["id > ?"]
    params: list[Any] = [after]
    if not expired:
        where.append("(expires IS NULL OR expires > ?)")
        params.append(now)
    if scope is not None:
        where.append("scope=?")
        params.append(str(scope))
    if scope_value is not None:
        where.append("scope_value=?")
        params.append(scope_value)
    chosen = sorted({str(r) for r in reasons})
    if chosen:
        where.append(f"reason IN ({','.join('?' * len(chosen))})")
        params.extend(chosen)
    sql = (
        f"SELECT id, {_COLUMNS} FROM suppressions WHERE "  # noqa: S608 - constants only
        + " AND ".join(where)
        + " ORDER BY id LIMIT ?"
    )
    rows = db.execute(sql, (*params, limit)).fetchall()
    return [(int(row[0]), _row(row[1:])) for row in rows]


def counts(db: sqlite3.Connection, /, *, now: float) -> list[tuple[str, str, str, int]]:
    """Entries in force per (scope, scope value, reason): ``[(scope, value, reason, n)]``."""
    rows = db.execute(
        "SELECT scope, scope_value, reason, COUNT(*) FROM suppressions"
        " WHERE expires IS NULL OR expires > ? GROUP BY scope, scope_value, reason",
        (now,),
    ).fetchall()
    return [(str(s), str(v), str(r), int(n)) for s, v, r, n in rows]


#: Reasons that stop transactional mail too (a password reset to an address that does not
#: exist still bounces; one to an address that unsubscribed from a newsletter or marked
#: it as spam is still wanted: RFC 8058 and the providers' rules are about bulk mail).
TRANSACTIONAL_REASONS = frozenset({SuppressionReason.HARD_BOUNCE, SuppressionReason.MANUAL})


def find_many(
    db: sqlite3.Connection,
    items: Sequence[tuple[str, str | None, str | None, bool]],
    /,
    *,
    now: float,
) -> list[Suppression | None]:
    """For each ``(address, tenant, list, transactional)``, the suppression that stops
    it, or None. Transactional mail is stopped only by :data:`TRANSACTIONAL_REASONS`.
    An address that does not parse is not suppressed (it fails at RCPT as before)."""
    if not items or not has_any(db):
        return [None] * len(items)
    found: list[Suppression | None] = []
    for address, tenant, list_id, transactional in items:
        try:
            key = address_key(address)
        except ParseError:
            found.append(None)
            continue
        entry = find(db, key, tenant=tenant, list_id=list_id, now=now)
        if entry is not None and transactional and entry.reason not in TRANSACTIONAL_REASONS:
            entry = _transactional(db, key, tenant, list_id, now)
        found.append(entry)
    return found


def _transactional(
    db: sqlite3.Connection, key: str, tenant: str | None, list_id: str | None, now: float
) -> Suppression | None:
    """The first suppression in force that also stops transactional mail."""
    reasons = sorted(str(r) for r in TRANSACTIONAL_REASONS)
    row = db.execute(
        f"SELECT {_COLUMNS} FROM suppressions WHERE key=?"  # noqa: S608 - constants only
        " AND (expires IS NULL OR expires > ?)"
        " AND (scope='global' OR (scope='tenant' AND scope_value=?)"
        " OR (scope='list' AND scope_value=?))"
        f" AND reason IN ({','.join('?' * len(reasons))}) ORDER BY {_PRECEDENCE} LIMIT 1",
        (key, now, tenant or "", list_id or "", *reasons),
    ).fetchone()
    return None if row is None else _row(row)


def describe(entry: Suppression, /) -> str:
    """The reason a suppressed recipient shows (its ``last_reply`` in the spool)."""
    scope = str(entry.scope) + (f" {entry.scope_value}" if entry.scope_value else "")
    text = f"suppressed: {entry.reason} ({scope})"
    return f"{text}: {entry.source}" if entry.source else text
