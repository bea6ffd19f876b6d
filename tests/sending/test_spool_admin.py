"""SqliteSpool admin API: list, status, retry, purge, drop on real SQLite files."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from mailcheck.errors import ConfigError
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
