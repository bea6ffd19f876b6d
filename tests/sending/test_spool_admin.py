"""SqliteSpool admin API: list, status, retry, purge, drop on real SQLite files."""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path

import pytest

from mailcheck.errors import ConfigError, SpoolError
from mailcheck.sending.spool import TRANSACTIONAL, RecipientRow, SqliteSpool


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make(tmp_path: Path, clock: Clock, **kw: object) -> SqliteSpool:
    return SqliteSpool(str(tmp_path / "q.db"), clock=clock, rng=random.Random(1), **kw)  # type: ignore[arg-type]


async def settle(spool: SqliteSpool, outcome: dict[str, tuple[str, str]]) -> None:
    """Claim everything due and give each recipient ``outcome[rcpt]`` (default: deferred)."""
    for job in await spool.claim(limit=1000):
        for rid, rcpt, _ in job.recipients:
            state, reply = outcome.get(rcpt, ("deferred", "451 later"))
            if state == "deferred":
                await spool.defer(rid, reply)
            else:
                await spool.finish(rid, state, reply)


async def populated(tmp_path: Path, clock: Clock) -> tuple[SqliteSpool, int, int]:
    spool = make(tmp_path, clock)
    news = await spool.submit(
        b"news" * 500,
        mail_from="news@asso.test",
        rcpt_to=["a@gmail.test", "b@gmail.test", "c@yahoo.test", "d@orange.test"],
        tenant="asso",
    )
    clock.now += 10
    reset = await spool.submit(
        b"reset", mail_from="no@asso.test", rcpt_to=["e@Gmail.test"], priority=TRANSACTIONAL
    )
    clock.now += 10
    await settle(
        spool,
        {
            "a@gmail.test": ("delivered", "250 2.0.0 OK"),
            "b@gmail.test": ("deferred", "421 4.7.28 rate\r\n\x1b[31mspoof"),
            "c@yahoo.test": ("bounced", "550 5.1.1 no such user"),
            "d@orange.test": ("deferred", "421 OFR005_104"),
            "e@Gmail.test": ("deferred", "451 later"),
        },
    )
    return spool, news, reset


async def test_list_filters_by_state_and_domain_without_bodies(tmp_path: Path) -> None:
    clock = Clock()
    spool, news, reset = await populated(tmp_path, clock)
    rows = await spool.list()
    assert [r.rcpt for r in rows] == [
        "a@gmail.test",
        "b@gmail.test",
        "c@yahoo.test",
        "d@orange.test",
        "e@Gmail.test",
    ]
    first = rows[1]
    assert first == RecipientRow(
        id=first.id,
        message_id=news,
        rcpt="b@gmail.test",
        domain="gmail.test",
        tenant="asso",
        mail_from="news@asso.test",
        state="deferred",
        attempts=1,
        next_attempt=first.next_attempt,
        last_reply="421 4.7.28 rate\r\n\x1b[31mspoof",
        created=1_000_000.0,
        priority=0,
        updated=1_000_020.0,
    )
    assert first.next_attempt > clock.now
    assert "raw" not in first.to_dict()
    deferred = await spool.list(state="deferred")
    assert [r.rcpt for r in deferred] == ["b@gmail.test", "d@orange.test", "e@Gmail.test"]
    gmail = await spool.list("deferred", "GMAIL.test")
    assert [(r.rcpt, r.message_id, r.priority) for r in gmail] == [
        ("b@gmail.test", news, 0),
        ("e@Gmail.test", reset, TRANSACTIONAL),
    ]
    assert len(await spool.list(limit=2)) == 2
    with pytest.raises(ConfigError):
        await spool.list(state="lost")


async def test_status_counts_states_and_waiting_per_domain(tmp_path: Path) -> None:
    clock = Clock()
    spool, _, _ = await populated(tmp_path, clock)
    await spool.submit(b"late", mail_from="no@asso.test", rcpt_to=["f@orange.test"])
    clock.now += 100
    status = await spool.status()
    assert status["states"] == {
        "queued": 1,
        "sending": 0,
        "delivered": 1,
        "deferred": 3,
        "bounced": 1,
        "expired": 0,
        "suppressed": 0,
    }
    assert status["waiting"] == 4
    assert status["oldest_waiting_age"] == 120.0
    assert list(status["domains"]) == ["gmail.test", "orange.test"]  # most waiting, then name
    assert status["domains"]["orange.test"]["waiting"] == 2
    assert status["domains"]["orange.test"]["deferred"] == 1
    assert status["domains"]["orange.test"]["oldest_age"] == 120.0
    assert status["domains"]["gmail.test"] == {
        "waiting": 2,
        "deferred": 2,
        "oldest_age": 120.0,
        "next_due": status["domains"]["gmail.test"]["next_due"],
    }
    assert status["next_due"] == 1_000_020.0  # the queued one
    empty = SqliteSpool(str(tmp_path / "empty.db"), clock=clock)
    assert (await empty.status())["oldest_waiting_age"] is None
    empty.close()


async def test_retry_makes_deferred_due_now_without_an_attempt(tmp_path: Path) -> None:
    clock = Clock()
    spool, _news, _ = await populated(tmp_path, clock)
    assert await spool.claim() == []  # nothing due yet
    assert await spool.retry(domain="gmail.test") == 2
    jobs = await spool.claim()
    assert [(j.priority, [r[1:] for r in j.recipients]) for j in jobs] == [
        (TRANSACTIONAL, [("e@Gmail.test", 1)]),
        (0, [("b@gmail.test", 1)]),
    ]
    orange = (await spool.list(domain="orange.test"))[0]
    assert await spool.retry(ids=[orange.id, 999]) == 1
    (job,) = await spool.claim()
    assert job.recipients == ((orange.id, "d@orange.test", 1),)
    assert await spool.retry() == 0  # nothing deferred is left


async def test_retry_reopens_bounced_or_expired_only_when_named(tmp_path: Path) -> None:
    clock = Clock()
    spool, _, _ = await populated(tmp_path, clock)
    bounced = (await spool.list(state="bounced"))[0]
    assert await spool.retry(ids=[bounced.id]) == 0
    assert await spool.retry(ids=[bounced.id], state="bounced") == 1
    (job,) = await spool.claim(min_priority=0)
    assert job.recipients == ((bounced.id, "c@yahoo.test", 1),)
    for state in ("queued", "sending", "delivered", "nope"):
        with pytest.raises(ConfigError):
            await spool.retry(state=state)


async def test_purge_deletes_final_recipients_messages_and_acked_events(tmp_path: Path) -> None:
    clock = Clock()
    spool, news, reset = await populated(tmp_path, clock)
    await spool.ack([e.id for e in await spool.events()])
    clock.now += 3600
    assert await spool.purge(older_than=7200) == 0
    assert await spool.purge(states=["bounced"]) == 1
    assert await spool.purge() == 1  # the delivered one
    assert await spool.recipients(news) == {"b@gmail.test": "deferred", "d@orange.test": "deferred"}
    # Every recipient of the reset settles; the message, then its acked events, go.
    await spool.retry(ids=[r.id for r in await spool.list(domain="gmail.test")])
    await settle(
        spool, {"e@Gmail.test": ("delivered", "250 ok"), "b@gmail.test": ("delivered", "250 ok")}
    )
    unreported = await spool.events()
    assert await spool.purge() == 2
    assert await spool.recipients(reset) == {}
    # Unacknowledged events stay until reported, then a later purge removes them.
    assert [e.id for e in await spool.events()] == [e.id for e in unreported]
    await spool.ack([e.id for e in unreported])
    assert await spool.purge() == 0
    db = sqlite3.connect(tmp_path / "q.db")
    try:
        assert db.execute("SELECT id FROM messages").fetchall() == [(news,)]
        # Events of recipients still in the spool stay.
        assert set(db.execute("SELECT rcpt FROM events")) == {("d@orange.test",)}
    finally:
        db.close()
    for states in (["queued"], ["deferred"], ["sending"], ["delivered", "deferred"]):
        with pytest.raises(ConfigError):
            await spool.purge(states=states)
    with pytest.raises(ConfigError):
        await spool.purge(older_than=-1)


async def test_drop_removes_waiting_recipients_but_not_in_flight(tmp_path: Path) -> None:
    clock = Clock()
    spool = make(tmp_path, clock)
    mid = await spool.submit(b"x", mail_from="a@s.test", rcpt_to=["b@d.test", "c@e.test"])
    b, c = await spool.list()
    (job,) = await spool.claim(limit=1)
    assert job.recipients[0][0] == b.id
    assert await spool.drop([b.id, c.id]) == 1  # b is being sent
    assert await spool.recipients(mid) == {"b@d.test": "sending"}
    await spool.finish(b.id, "delivered", "250 ok")
    assert await spool.purge() == 1
    assert await spool.list() == []


async def test_admin_open_does_not_requeue_in_flight_recipients(tmp_path: Path) -> None:
    clock = Clock()
    sender_side = make(tmp_path, clock)
    mid = await sender_side.submit(b"x", mail_from="a@s.test", rcpt_to=["b@d.test"])
    await sender_side.claim()
    admin = make(tmp_path, clock, recover=False)
    assert await admin.recipients(mid) == {"b@d.test": "sending"}
    assert (await admin.status())["states"]["sending"] == 1
    admin.close()
    sender_side.close()


async def test_admin_queries_never_read_bodies(tmp_path: Path) -> None:
    clock = Clock()
    spool, _, _ = await populated(tmp_path, clock)
    statements: list[str] = []
    spool.trace(statements.append)
    await spool.list()
    await spool.status()
    await spool.retry()
    await spool.purge()
    await spool.drop([1])
    spool.trace(None)
    assert statements
    assert not [s for s in statements if "raw" in s.lower()]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def foreign_files(tmp_path: Path) -> dict[str, Path]:
    """Files that are not spools: another program's SQLite tables, text, nothing."""
    files = {}
    for name, script in (
        ("messages_of_another_app", "CREATE TABLE messages (id INTEGER PRIMARY KEY, subject);"),
        ("unrelated_tables", "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT);"),
        (
            "recipients_without_our_columns",
            "CREATE TABLE recipients (id INTEGER PRIMARY KEY, email TEXT);",
        ),
    ):
        path = tmp_path / f"{name}.db"
        db = sqlite3.connect(path)
        db.executescript(script + "INSERT INTO " + script.split()[2] + " (id) VALUES (1);")
        db.commit()
        db.close()
        files[name] = path
    files["text"] = tmp_path / "notes.txt"
    files["text"].write_bytes(b"not a database at all\n" * 100)
    return files


@pytest.mark.parametrize("readonly", [False, True])
def test_a_foreign_file_is_refused_and_left_byte_identical(tmp_path: Path, readonly: bool) -> None:
    for name, path in foreign_files(tmp_path).items():
        before = digest(path)
        with pytest.raises(ConfigError) as caught:
            SqliteSpool(str(path), readonly=readonly)
        message = str(caught.value)
        assert message.startswith(f"{path} is not a mailcheck spool: "), name
        assert "\n" not in message
        assert digest(path) == before, name
        assert sorted(p.name for p in tmp_path.iterdir() if p.stem == path.stem) == [path.name]


def test_readonly_refuses_an_empty_or_missing_file_and_creates_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(ConfigError, match="is not a mailcheck spool: it has no tables"):
        SqliteSpool.open_readonly(str(empty))
    assert empty.read_bytes() == b""
    with pytest.raises(SpoolError, match=r"missing\.db"):
        SqliteSpool.open_readonly(str(tmp_path / "missing.db"))
    assert not (tmp_path / "missing.db").exists()


async def test_readonly_reads_a_spool_and_writes_nothing(tmp_path: Path) -> None:
    clock = Clock()
    spool, _, _ = await populated(tmp_path, clock)
    spool.close()
    path = tmp_path / "q.db"
    before = digest(path)
    admin = SqliteSpool.open_readonly(str(path), clock=clock)
    assert admin.readonly
    assert [r.state for r in await admin.list()] == [
        "delivered", "deferred", "bounced", "deferred", "deferred"
    ]  # fmt: skip
    assert (await admin.status())["waiting"] == 3
    assert len(await admin.events()) == 5
    with pytest.raises(SpoolError, match="readonly"):
        await admin.retry()
    with pytest.raises(SpoolError, match="readonly"):
        await admin.submit(b"x", mail_from="a@s.test", rcpt_to=["b@d.test"])
    admin.close()
    assert digest(path) == before
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        db.close()


async def test_readonly_reads_an_older_spool_without_migrating_it(tmp_path: Path) -> None:
    # A spool of the first version: no priorities, no update times, no hygiene tables.
    path = tmp_path / "q.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, tenant TEXT, mail_from TEXT NOT NULL,"
        " raw BLOB NOT NULL, created REAL NOT NULL);"
        "CREATE TABLE recipients (id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL,"
        " rcpt TEXT NOT NULL, domain TEXT NOT NULL, state TEXT NOT NULL,"
        " attempts INTEGER NOT NULL, next_attempt REAL NOT NULL,"
        " last_reply TEXT NOT NULL DEFAULT '');"
        "CREATE TABLE events (id INTEGER PRIMARY KEY, recipient_id INTEGER NOT NULL,"
        " message_id INTEGER NOT NULL, rcpt TEXT NOT NULL, kind TEXT NOT NULL,"
        " reply TEXT NOT NULL, at REAL NOT NULL, reported INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO messages VALUES (1, 'asso.example', 'a@s.test', X'00', 1000.0);"
        "INSERT INTO recipients VALUES (1, 1, 'b@d.test', 'd.test', 'delivered', 1, 0, '250');"
        "INSERT INTO recipients VALUES (2, 1, 'c@d.test', 'd.test', 'deferred', 2, 5000, '421');"
    )
    db.close()
    before = digest(path)
    # After an upgrade, `mailcheck spool status` must work before anything writes: the new
    # columns read as the migration would fill them, the new tables as empty.
    admin = SqliteSpool.open_readonly(str(path))
    rows = {r.rcpt: r for r in await admin.list()}
    assert {rcpt: (r.state, r.priority, r.updated) for rcpt, r in rows.items()} == {
        "b@d.test": ("delivered", 0, 1000.0),
        "c@d.test": ("deferred", 0, 1000.0),
    }
    assert (await admin.counts())["deferred"] == 1
    assert (await admin.status())["waiting"] == 1
    admin.close()
    assert digest(path) == before
    make(tmp_path, Clock()).close()  # the write path migrates it for good
    assert digest(path) != before
    SqliteSpool.open_readonly(str(path)).close()


async def test_database_errors_are_spool_errors_naming_the_spool(tmp_path: Path) -> None:
    with pytest.raises(SpoolError) as caught:
        SqliteSpool(str(tmp_path / "no" / "such" / "dir.db"))
    assert str(tmp_path / "no" / "such" / "dir.db") in str(caught.value)
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    spool = make(tmp_path, Clock())
    await spool.submit(b"SECRET BODY", mail_from="a@s.test", rcpt_to=["b@d.test"])
    with pytest.raises(SpoolError) as caught:
        await spool.finish(12345, "delivered", "250 ok")
    assert str(caught.value) == f"spool {tmp_path / 'q.db'}: no recipient 12345"
    with pytest.raises(ConfigError):
        await spool.list(limit=2**63)
    with pytest.raises(ConfigError):
        await spool.drop([2**70])
    for call in (
        spool.events(limit=2**70),
        spool.claim(limit=2**70),
        spool.recipients(2**70),
        spool.finish(2**70, "delivered"),
    ):
        with pytest.raises(ConfigError, match="out of range"):
            await call
    assert (await spool.counts())["queued"] == 1  # the spool still works
    spool.close()


async def test_drop_a_whole_message(tmp_path: Path) -> None:
    clock = Clock()
    spool = make(tmp_path, clock)
    mid = await spool.submit(b"x", mail_from="a@s.test", rcpt_to=["b@d.test", "c@e.test"])
    kept = await spool.submit(b"y", mail_from="a@s.test", rcpt_to=["f@d.test"])
    assert await spool.drop(messages=[mid]) == 2
    assert await spool.recipients(mid) == {}
    assert [r.message_id for r in await spool.list()] == [kept]
    assert await spool.drop(messages=[mid]) == 0
    spool.close()
