"""The report store's SQLite schema: tables, pragmas, and the refusal of foreign files.

One file in WAL mode. ``reports`` holds one row per report (both kinds), deduplicated by
(kind, reporter, report id), with the domain it is about, whether that domain is managed,
and per-report message totals so that daily and per-reporter figures never scan the
records. ``records`` holds the rows of aggregate reports, ``tls_policies`` those of TLS
reports; both go with their report (``ON DELETE CASCADE``). ``source_days`` holds the
daily totals per source IP of managed domains (:mod:`.store_days`). ``quarantine`` keeps what could
not be read, by content hash, with the reason and the first bytes of the blob.
"""

from __future__ import annotations

import sqlite3

from mailcheck.errors import MailcheckError
from mailcheck.reports import store_days

__all__ = ["SCHEMA", "SCHEMA_VERSION", "StoreError", "open_store"]

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS domains (domain TEXT PRIMARY KEY, added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, reporter TEXT NOT NULL,
    report_id TEXT NOT NULL, domain TEXT NOT NULL, foreign_domain INTEGER NOT NULL,
    begin INTEGER NOT NULL, end INTEGER NOT NULL, email TEXT, policy TEXT,
    errors TEXT, messages INTEGER NOT NULL, passed INTEGER NOT NULL,
    source TEXT NOT NULL, ingested REAL NOT NULL,
    UNIQUE (kind, reporter, report_id));
CREATE INDEX IF NOT EXISTS reports_domain_time ON reports (domain, kind, end);
CREATE INDEX IF NOT EXISTS reports_end ON reports (end);
CREATE TABLE IF NOT EXISTS records (
    report INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    ip TEXT NOT NULL, count INTEGER NOT NULL, disposition TEXT NOT NULL,
    dkim TEXT, spf TEXT, header_from TEXT NOT NULL, envelope_from TEXT,
    envelope_to TEXT, reasons TEXT NOT NULL, dkim_auth TEXT NOT NULL,
    spf_auth TEXT NOT NULL, dkim_raw_pass INTEGER NOT NULL, dkim_domain TEXT,
    spf_domain TEXT);
CREATE INDEX IF NOT EXISTS records_report ON records (report);
CREATE TABLE IF NOT EXISTS tls_policies (
    report INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    policy_domain TEXT NOT NULL, policy_type TEXT NOT NULL,
    successful INTEGER NOT NULL, failed INTEGER NOT NULL, mx_hosts TEXT NOT NULL,
    failures TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tls_policies_report ON tls_policies (report);
CREATE INDEX IF NOT EXISTS tls_policies_domain ON tls_policies (policy_domain);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
    source TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL,
    blob BLOB NOT NULL, truncated INTEGER NOT NULL, first_seen REAL NOT NULL,
    last_seen REAL NOT NULL, seen INTEGER NOT NULL);
"""

_OURS = {"store_meta", "domains", "reports", "records", "tls_policies", "quarantine", "source_days"}


class StoreError(MailcheckError):
    """The report store's database failed, or the file is not a report store.

    The message names the file; it never quotes a report's content.
    """


def _prepare(db: sqlite3.Connection, path: str) -> None:
    try:
        tables = {
            str(name) for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    except sqlite3.DatabaseError as exc:  # "file is not a database"
        raise StoreError(f"{path} is not a mailcheck report store: {exc}") from exc
    if tables and "store_meta" not in tables:
        names = ", ".join(sorted(tables)[:5])
        raise StoreError(f"{path} is not a mailcheck report store: its tables are {names}")
    if tables:
        row = db.execute("SELECT value FROM store_meta WHERE key='schema'").fetchone()
        if row is None or int(row[0]) > SCHEMA_VERSION:
            raise StoreError(f"{path}: a report store of a newer mailcheck (schema {row})")
    # WAL: summaries read while an ingest writes. synchronous=NORMAL in WAL mode loses at
    # most the last transactions on power loss, never corrupts; a lost batch of reports is
    # ingested again (deduplication makes that safe), so the fsync per commit is not worth it.
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")  # another process (a cron ingest) holds the lock
    db.execute("PRAGMA temp_store=MEMORY")
    db.execute("PRAGMA cache_size=-16000")  # 16 MB of page cache: memory stays flat
    db.executescript(SCHEMA + store_days.SCHEMA)
    db.execute("BEGIN IMMEDIATE")
    try:
        store_days.rebuild(db)  # a store written before the daily totals existed
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    db.execute(
        "INSERT OR IGNORE INTO store_meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
    )
    missing = _OURS - {
        str(name) for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    if missing:  # pragma: no cover - executescript creates them all or raises
        raise StoreError(f"{path}: tables {', '.join(sorted(missing))} could not be created")


def open_store(path: str, /) -> sqlite3.Connection:
    """Open (create) a report store: checked, WAL, schema in place.

    Raises:
        StoreError: the file cannot be opened, is not SQLite, or holds other tables.
    """
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"report store {path}: {exc}") from exc
    try:
        _prepare(db, path)
    except sqlite3.Error as exc:
        db.close()
        raise StoreError(f"report store {path}: {type(exc).__name__}: {exc}") from exc
    except BaseException:
        db.close()
        raise
    return db
