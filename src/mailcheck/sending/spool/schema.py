"""The spool's SQLite schema: creation, migration of older spools, and the check that a
file is a spool before anything touches it."""

from __future__ import annotations

import sqlite3
import urllib.parse

from mailcheck.errors import ConfigError, SpoolError

__all__ = ["HYGIENE_SCHEMA", "SCHEMA", "check", "connect", "migrate", "open_spool", "spool_error"]

#: The list-hygiene tables (:mod:`mailcheck.hygiene`): suppressions (looked up by the
#: case-folded address key), soft bounces and complaints (counted over sliding windows),
#: and the tenants whose bulk mail a complaint rate paused. The ``generation`` counts every
#: suppression added or changed (triggers, whoever writes): a message claimed before the
#: last change is checked again just before it is sent.
HYGIENE_SCHEMA = """
CREATE TABLE IF NOT EXISTS suppressions (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL, address TEXT NOT NULL, scope TEXT NOT NULL,
    scope_value TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '', created REAL NOT NULL, expires REAL);
CREATE UNIQUE INDEX IF NOT EXISTS suppressions_key ON suppressions(key, scope, scope_value);
CREATE TABLE IF NOT EXISTS soft_bounces (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL, message_id INTEGER NOT NULL,
    tenant TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT '', at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS soft_bounces_key ON soft_bounces(key, at);
CREATE TABLE IF NOT EXISTS complaints (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL, tenant TEXT NOT NULL,
    provider TEXT NOT NULL DEFAULT '', recipient_id INTEGER, source TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS complaints_tenant ON complaints(tenant, at);
CREATE INDEX IF NOT EXISTS complaints_provider ON complaints(provider, at);
CREATE UNIQUE INDEX IF NOT EXISTS complaints_once ON complaints(source, key) WHERE source != '';
CREATE TABLE IF NOT EXISTS tenant_pauses (
    tenant TEXT PRIMARY KEY, until REAL NOT NULL, reason TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS hygiene_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO hygiene_meta VALUES ('generation', 0);
CREATE TRIGGER IF NOT EXISTS suppressions_added AFTER INSERT ON suppressions BEGIN
    UPDATE hygiene_meta SET value = value + 1 WHERE name = 'generation'; END;
CREATE TRIGGER IF NOT EXISTS suppressions_changed AFTER UPDATE ON suppressions BEGIN
    UPDATE hygiene_meta SET value = value + 1 WHERE name = 'generation'; END;
"""

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, tenant TEXT, mail_from TEXT NOT NULL, raw BLOB NOT NULL,
    created REAL NOT NULL, priority INTEGER NOT NULL DEFAULT 0, list_id TEXT);
CREATE TABLE IF NOT EXISTS recipients (
    id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES messages(id),
    rcpt TEXT NOT NULL, domain TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
    next_attempt REAL NOT NULL, last_reply TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL DEFAULT 0, dedup TEXT,
    grp TEXT, tls TEXT);
CREATE INDEX IF NOT EXISTS recipients_due ON recipients(state, next_attempt);
CREATE INDEX IF NOT EXISTS recipients_waiting ON recipients(priority DESC, next_attempt)
    WHERE state IN ('queued','deferred');
CREATE INDEX IF NOT EXISTS recipients_message ON recipients(message_id);
CREATE INDEX IF NOT EXISTS recipients_domain ON recipients(domain, state);
CREATE UNIQUE INDEX IF NOT EXISTS recipients_dedup ON recipients(dedup)
    WHERE dedup IS NOT NULL;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, recipient_id INTEGER NOT NULL, message_id INTEGER NOT NULL,
    rcpt TEXT NOT NULL, kind TEXT NOT NULL, reply TEXT NOT NULL, at REAL NOT NULL,
    reported INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS events_unreported ON events(id) WHERE reported=0;
CREATE TABLE IF NOT EXISTS shaping (
    kind TEXT NOT NULL, ip TEXT NOT NULL, grp TEXT NOT NULL, tenant TEXT NOT NULL,
    data TEXT NOT NULL, until REAL NOT NULL, PRIMARY KEY (kind, ip, grp, tenant));
"""
    + HYGIENE_SCHEMA
)

#: Columns every spool has had since its first version: a file whose tables lack one of
#: these was not written by mailcheck.
_BASE = {
    "messages": {"id", "tenant", "mail_from", "raw", "created"},
    "recipients": {"id", "message_id", "rcpt", "domain", "state", "attempts", "next_attempt"},
    "events": {"id", "recipient_id", "message_id", "rcpt", "kind", "reply", "at", "reported"},
}
#: Columns added since, which :func:`migrate` adds to an older spool.
_ADDED = {
    "messages": {"priority", "list_id"},
    "recipients": {"priority", "updated", "dedup", "grp", "tls"},
}
_OURS = {*_BASE, "shaping", "suppressions"}


def connect(path: str, /, *, readonly: bool) -> sqlite3.Connection:
    """A connection in autocommit mode (the spool runs its own transactions).

    ``readonly`` opens a ``file:PATH?mode=ro`` URI: nothing can be written, not even a
    journal mode switch, and a missing file is an error instead of a new database.
    """
    if readonly:
        uri = "file:" + urllib.parse.quote(path) + "?mode=ro"
        return sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    return sqlite3.connect(path, check_same_thread=False, isolation_level=None)


def _columns(db: sqlite3.Connection) -> dict[str, set[str]]:
    tables = [
        str(name) for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
    ]
    return {
        t: {str(r[1]) for r in db.execute("SELECT * FROM pragma_table_info(?)", (t,))}
        for t in tables
    }


def check(db: sqlite3.Connection, path: str, /, *, readonly: bool) -> bool:
    """Refuse a file that is not a spool; True when it is a new, empty database.

    A spool of an earlier version passes: :func:`migrate` brings it up to date, and
    read-only, where nothing may be altered, it is read through views (:func:`_read_older`).

    Raises:
        ConfigError: ``PATH is not a mailcheck spool: ...`` for a file that is not SQLite,
            or SQLite tables that are not ours.
    """
    try:
        tables = _columns(db)
    except sqlite3.DatabaseError as exc:  # "file is not a database", encrypted, ...
        raise ConfigError(f"{path} is not a mailcheck spool: {exc}") from exc
    if not tables:
        if readonly:
            raise ConfigError(f"{path} is not a mailcheck spool: it has no tables")
        return True
    if not _OURS & tables.keys():
        names = ", ".join(sorted(tables)[:5])
        raise ConfigError(f"{path} is not a mailcheck spool: its tables are {names}")
    for table, needed in _BASE.items():
        missing = needed - tables.get(table, set())
        if missing and (readonly or table in tables):
            raise ConfigError(
                f"{path} is not a mailcheck spool: table {table} lacks {', '.join(sorted(missing))}"
            )
    if readonly:
        _read_older(db, tables)
    return False


# What an older spool's missing columns read as, the values :func:`migrate` would give them.
_DEFAULTS = {
    ("messages", "priority"): "0",
    ("messages", "list_id"): "NULL",
    ("recipients", "priority"): "COALESCE((SELECT m.priority FROM main.messages m"
    " WHERE m.id = t.message_id), 0)",
    ("recipients", "updated"): "COALESCE((SELECT m.created FROM main.messages m"
    " WHERE m.id = t.message_id), 0)",
    ("recipients", "dedup"): "NULL",
    ("recipients", "grp"): "NULL",
    ("recipients", "tls"): "NULL",
}


def _read_older(db: sqlite3.Connection, tables: dict[str, set[str]]) -> None:
    """Let this connection read a spool written by an older mailcheck, read-only.

    Nothing is written to the file: TEMP views (which SQLite finds before the file's tables
    of the same name) add the columns added since, as :func:`migrate` would fill them, and
    empty TEMP tables stand for the tables added since (no suppression yet). Opened for
    writing once, the spool is migrated for good.
    """
    defaults = dict(_DEFAULTS)
    if "priority" not in tables["messages"]:  # the first spools had no priorities
        defaults["recipients", "priority"] = "0"
    for table, added in _ADDED.items():
        missing = sorted(added - tables[table])
        if not missing:
            continue
        extra = ", ".join(f"{defaults[table, column]} AS {column}" for column in missing)
        # Names and expressions are this module's constants, never input.
        view = f"CREATE TEMP VIEW {table} AS SELECT t.*, {extra} FROM main.{table} t"  # noqa: S608
        db.execute(view)
    for statement in HYGIENE_SCHEMA.split(";"):
        words = statement.split()
        if words[:5] == ["CREATE", "TABLE", "IF", "NOT", "EXISTS"] and words[5] not in tables:
            db.execute(statement.replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
    if "hygiene_meta" not in tables:
        db.execute("INSERT INTO temp.hygiene_meta VALUES ('generation', 0)")


def migrate(db: sqlite3.Connection) -> None:
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
    if recipients and "dedup" not in recipients:  # written before submit_once
        db.execute("ALTER TABLE recipients ADD COLUMN dedup TEXT")
    if messages and "list_id" not in messages:  # written before suppressions per list
        db.execute("ALTER TABLE messages ADD COLUMN list_id TEXT")
    if recipients and "grp" not in recipients:  # no provider group of a final state
        db.execute("ALTER TABLE recipients ADD COLUMN grp TEXT")
    if recipients and "tls" not in recipients:  # no TLS of the last transaction
        db.execute("ALTER TABLE recipients ADD COLUMN tls TEXT")


def spool_error(path: str, exc: Exception) -> Exception:
    """A database error or an unknown id as a :class:`SpoolError` naming the spool, a
    number too large for SQLite as a :class:`ConfigError` (other exceptions as they are).
    SQLite's messages never quote bound values: no body leaks."""
    if isinstance(exc, OverflowError):  # an id or limit past SQLite's 64-bit integers
        error: Exception = ConfigError(f"spool {path}: a number out of range ({exc})")
        error.__cause__ = exc
        return error
    if isinstance(exc, KeyError):
        reason = str(exc.args[0]) if exc.args else "not found"
    elif isinstance(exc, sqlite3.Error):
        reason = f"{type(exc).__name__}: {exc}"
    else:
        return exc
    error = SpoolError(f"spool {path}: {reason}")
    error.__cause__ = exc
    return error


def open_spool(path: str, /, *, readonly: bool, recover: bool) -> sqlite3.Connection:
    """Open, check and (for writing) prepare a spool: WAL, schema, crash recovery.

    The schema is checked before anything is written, so a foreign file is refused as it
    is (:func:`check`).
    """
    try:
        db = connect(path, readonly=readonly)
    except sqlite3.Error as exc:
        raise spool_error(path, exc) from exc
    try:
        new = check(db, path, readonly=readonly)
        if not readonly:
            _prepare(db, new=new, recover=recover)
    except sqlite3.Error as exc:
        db.close()
        raise spool_error(path, exc) from exc
    except BaseException:
        db.close()
        raise
    return db


def _prepare(db: sqlite3.Connection, *, new: bool, recover: bool) -> None:
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    if not new:
        db.execute("BEGIN IMMEDIATE")
        try:
            migrate(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    db.executescript(SCHEMA)
    if recover:
        # Crash recovery: an attempt in flight when the process died is retried.
        db.execute("UPDATE recipients SET state='queued' WHERE state='sending'")
