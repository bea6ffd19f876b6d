"""The spool's ``recipients.tls``: the TLS of the transaction that delivered or last tried a
recipient, written with its outcome (group commit included), and added to older spools."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mailcheck.sending.spool import SqliteSpool

# The recipients table as the hygiene work left it: ``grp``, no ``tls``.
BEFORE_TLS = """
CREATE TABLE messages (
    id INTEGER PRIMARY KEY, tenant TEXT, mail_from TEXT NOT NULL, raw BLOB NOT NULL,
    created REAL NOT NULL, priority INTEGER NOT NULL DEFAULT 0, list_id TEXT);
CREATE TABLE recipients (
    id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES messages(id),
    rcpt TEXT NOT NULL, domain TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
    next_attempt REAL NOT NULL, last_reply TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL DEFAULT 0, dedup TEXT,
    grp TEXT);
CREATE TABLE events (
    id INTEGER PRIMARY KEY, recipient_id INTEGER NOT NULL, message_id INTEGER NOT NULL,
    rcpt TEXT NOT NULL, kind TEXT NOT NULL, reply TEXT NOT NULL, at REAL NOT NULL,
    reported INTEGER NOT NULL DEFAULT 0);
INSERT INTO messages (id, mail_from, raw, created) VALUES (1, 'a@s.test', X'6F6C64', 999000.0);
INSERT INTO recipients (message_id, rcpt, domain, state, attempts, next_attempt, last_reply,
    updated, grp) VALUES (1, 'b@d.test', 'd.test', 'delivered', 1, 0, '250 ok', 999000.0, 'g');
"""


def recipient_columns(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {row[1] for row in db.execute("PRAGMA table_info(recipients)")}
    finally:
        db.close()


async def test_an_older_spool_opens_and_gains_the_tls_column(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    db = sqlite3.connect(path)
    db.executescript(BEFORE_TLS)
    db.close()
    # Read-only, it is read as it is (views give the new column), and never altered.
    before = path.read_bytes()
    readonly = SqliteSpool.open_readonly(str(path))
    (old,) = await readonly.list()
    assert (old.rcpt, old.state, old.tls) == ("b@d.test", "delivered", None)
    readonly.close()
    assert path.read_bytes() == before
    assert "tls" not in recipient_columns(path)
    spool = SqliteSpool(str(path))  # opened for writing: migrated
    assert "tls" in recipient_columns(path)
    (old,) = await spool.list()
    assert (old.rcpt, old.state, old.tls) == ("b@d.test", "delivered", None)
    mid = await spool.submit(b"new", mail_from="a@s.test", rcpt_to=["c@d.test"])
    (job,) = await spool.claim()
    assert job.message_id == mid
    await spool.finish(job.recipients[0][0], "delivered", "250 ok", tls="mta-sts-enforce")
    spool.close()
    again = SqliteSpool.open_readonly(str(path))  # migrating once was enough
    rows = {r.rcpt: r.tls for r in await again.list()}
    assert rows == {"b@d.test": None, "c@d.test": "mta-sts-enforce"}
    again.close()


async def test_tls_follows_the_last_transaction(tmp_path: Path) -> None:
    spool = SqliteSpool(str(tmp_path / "q.db"))
    await spool.submit(b"x", mail_from="a@s.test", rcpt_to=["b@d.test", "c@d.test"])
    (job,) = await spool.claim()
    (b, _, _), (c, _, _) = job.recipients
    await spool.defer(b, "451 later", tls="opportunistic")
    await spool.defer(b, "connect: refused", at=0)  # no connection: the last TLS stays
    rows = {r.rcpt: r for r in await spool.list()}
    assert rows["b@d.test"].tls == "opportunistic"
    assert rows["c@d.test"].tls is None  # never tried
    # Group commit: a delivery queued without waiting carries its TLS into the shared commit.
    before = spool.transactions
    done = [
        spool.finish_nowait(b, "delivered", "250 ok", tls="dane"),
        spool.finish_nowait(c, "bounced", "550 no", tls="mta-sts-testing"),
    ]
    for future in done:
        await future
    assert spool.transactions == before + 1
    rows = {r.rcpt: r for r in await spool.list()}
    assert (rows["b@d.test"].state, rows["b@d.test"].tls) == ("delivered", "dane")
    assert rows["c@d.test"].to_dict()["tls"] == "mta-sts-testing"
    spool.close()
