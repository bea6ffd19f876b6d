"""SqliteSpool: commit on submit, states, backoff, expiry, crash recovery, events once."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck.errors import ConfigError, SpoolError
from mailcheck.sending.spool import (
    BULK,
    GROUP_MAX,
    STATES,
    TRANSACTIONAL,
    EventKind,
    RecipientState,
    SqliteSpool,
    Submitted,
    submission_key,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make(tmp_path: Path, clock: Clock, **kw: float) -> SqliteSpool:
    return SqliteSpool(str(tmp_path / "q.db"), clock=clock, rng=random.Random(1), **kw)


async def test_submit_claim_deliver_events_once(tmp_path: Path) -> None:
    clock = Clock()
    spool = make(tmp_path, clock)
    mid = await spool.submit(b"x", mail_from="a@s.test", rcpt_to=["b@d.test", "c@e.test"])
    jobs = await spool.claim()
    assert sorted(j.domain for j in jobs) == ["d.test", "e.test"]
    assert await spool.claim() == []  # claimed ones are 'sending'
    for job in jobs:
        await spool.finish(job.recipients[0][0], "delivered", "250 ok")
    assert await spool.recipients(mid) == {"b@d.test": "delivered", "c@e.test": "delivered"}
    events = await spool.events()
    assert [e.kind for e in events] == ["delivered", "delivered"]
    await spool.ack([e.id for e in events])
    assert await spool.events() == []


async def test_crash_returns_sending_to_queued(tmp_path: Path) -> None:
    clock = Clock()
    spool = make(tmp_path, clock)
    mid = await spool.submit(b"x", mail_from="a@s.test", rcpt_to=["b@d.test"])
    await spool.claim()
    spool.close()  # as if the process died mid-attempt
    reopened = make(tmp_path, clock)
    assert await reopened.recipients(mid) == {"b@d.test": "queued"}
    assert len(await reopened.claim()) == 1


async def test_backoff_grows_with_jitter_and_expires(tmp_path: Path) -> None:
    clock = Clock()
    spool = make(tmp_path, clock, backoff=60, max_backoff=600, max_age=1000, jitter=0.2)
    mid = await spool.submit(b"x", mail_from="a@s.test", rcpt_to=["b@d.test"])
    delays = []
    for _ in range(5):
        (job,) = await spool.claim()
        state = await spool.defer(job.recipients[0][0], "451 later")
        due = await spool.next_due()
        if state == "expired":
            break
        assert due is not None
        delays.append(due - clock.now)
        clock.now = due
    assert 48 <= delays[0] <= 72
    assert 96 <= delays[1] <= 144
    assert await spool.recipients(mid) == {"b@d.test": "expired"}
    assert [e.kind for e in await spool.events()][-1] == "expired"


async def test_park_burns_no_attempt(tmp_path: Path) -> None:
    clock = Clock()
    spool = make(tmp_path, clock)
    await spool.submit(b"x", mail_from="a@s.test", rcpt_to=["b@d.test"])
    (job,) = await spool.claim()
    await spool.defer(job.recipients[0][0], "suspended", at=clock.now + 100, attempt=False)
    assert await spool.events() == []
    clock.now += 100
    (again,) = await spool.claim()
    assert again.recipients[0][2] == 0
    assert (await spool.counts())["sending"] == 1


async def test_claim_highest_priority_first_then_due_time_then_id(tmp_path: Path) -> None:
    clock = Clock()
    spool = make(tmp_path, clock)
    bulk_old = await spool.submit(b"n1", mail_from="a@s.test", rcpt_to=["b1@d.test"])
    clock.now += 1
    bulk_new = await spool.submit(b"n2", mail_from="a@s.test", rcpt_to=["b2@d.test"])
    reset = await spool.submit(
        b"r", mail_from="a@s.test", rcpt_to=["c@d.test"], priority=TRANSACTIONAL
    )
    middle = await spool.submit(b"m", mail_from="a@s.test", rcpt_to=["e@d.test"], priority=5)
    clock.now += 1
    jobs = await spool.claim(limit=2)
    assert [(j.message_id, j.priority) for j in jobs] == [(reset, TRANSACTIONAL), (middle, 5)]
    assert [j.raw for j in jobs] == [b"r", b"m"]
    jobs = await spool.claim(limit=10)
    assert [(j.message_id, j.priority) for j in jobs] == [(bulk_old, BULK), (bulk_new, BULK)]
    assert await spool.claim(min_priority=TRANSACTIONAL) == []


async def test_claim_skips_what_is_not_due_and_keeps_bodies_out_of_the_order(
    tmp_path: Path,
) -> None:
    clock = Clock()
    spool = make(tmp_path, clock)
    late = await spool.submit(b"x" * 5000, mail_from="a@s.test", rcpt_to=["b@d.test"],
                              priority=TRANSACTIONAL)  # fmt: skip
    (job,) = await spool.claim()
    await spool.defer(job.recipients[0][0], "451 later", at=clock.now + 60)
    due = await spool.submit(b"y", mail_from="a@s.test", rcpt_to=["c@d.test", "d@d.test"])
    (job,) = await spool.claim()
    assert job.message_id == due
    assert len(job.recipients) == 2
    assert job.raw == b"y"
    clock.now += 60
    (job,) = await spool.claim()
    assert job.message_id == late
    assert job.raw == b"x" * 5000


OLD_SCHEMA = """
CREATE TABLE messages (
    id INTEGER PRIMARY KEY, tenant TEXT, mail_from TEXT NOT NULL, raw BLOB NOT NULL,
    created REAL NOT NULL);
CREATE TABLE recipients (
    id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES messages(id),
    rcpt TEXT NOT NULL, domain TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
    next_attempt REAL NOT NULL, last_reply TEXT NOT NULL DEFAULT '');
CREATE INDEX recipients_due ON recipients(state, next_attempt);
CREATE TABLE events (
    id INTEGER PRIMARY KEY, recipient_id INTEGER NOT NULL, message_id INTEGER NOT NULL,
    rcpt TEXT NOT NULL, kind TEXT NOT NULL, reply TEXT NOT NULL, at REAL NOT NULL,
    reported INTEGER NOT NULL DEFAULT 0);
CREATE TABLE shaping (
    kind TEXT NOT NULL, ip TEXT NOT NULL, grp TEXT NOT NULL, tenant TEXT NOT NULL,
    data TEXT NOT NULL, until REAL NOT NULL, PRIMARY KEY (kind, ip, grp, tenant));
"""


def columns(path: Path, table: str) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    finally:
        db.close()


@pytest.mark.parametrize("with_message_priority", [False, True])
async def test_a_spool_of_an_older_schema_opens_and_gets_priorities(
    tmp_path: Path, with_message_priority: bool
) -> None:
    path = tmp_path / "q.db"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    if with_message_priority:  # the schema with priorities on messages only
        db.execute("ALTER TABLE messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")
    db.execute(
        "INSERT INTO messages (id, tenant, mail_from, raw, created) VALUES"
        " (1, NULL, 'a@s.test', X'6F6C64', 999000.0)"
    )
    db.executemany(
        "INSERT INTO recipients (message_id, rcpt, domain, state, attempts, next_attempt,"
        " last_reply) VALUES (1, ?, 'd.test', ?, ?, 999000.0, ?)",
        [("b@d.test", "deferred", 1, "451 later"), ("c@d.test", "delivered", 1, "250 ok"),
         ("e@d.test", "sending", 0, "")],
    )  # fmt: skip
    db.commit()
    db.close()
    clock = Clock()
    spool = make(tmp_path, clock)
    assert {"priority"} <= columns(path, "messages")
    assert {"priority", "updated"} <= columns(path, "recipients")
    assert await spool.recipients(1) == {
        "b@d.test": "deferred",
        "c@d.test": "delivered",
        "e@d.test": "queued",
    }
    rows = {r.rcpt: r for r in await spool.list()}
    assert rows["c@d.test"].priority == BULK
    assert rows["c@d.test"].updated == 999000.0
    await spool.submit(b"new", mail_from="a@s.test", rcpt_to=["f@d.test"], priority=TRANSACTIONAL)
    jobs = await spool.claim()
    assert [j.raw for j in jobs] == [b"new", b"old"]
    assert sorted(r for _, r, _ in jobs[1].recipients) == ["b@d.test", "e@d.test"]
    spool.close()
    again = make(tmp_path, clock)  # migrating twice is a no-op
    assert (await again.counts())["delivered"] == 1
    again.close()


async def test_concurrent_finishes_share_one_commit(tmp_path: Path) -> None:
    """Group commit: results recorded while a commit runs go in one next transaction."""
    spool = make(tmp_path, Clock())
    for i in range(40):
        await spool.submit(b"x", mail_from="a@s.test", rcpt_to=[f"u{i}@d.test"])
    jobs = await spool.claim(limit=100)
    before = spool.transactions
    await asyncio.gather(*(spool.finish(j.recipients[0][0], "delivered", "250 ok") for j in jobs))
    assert spool.transactions - before <= 2  # the first alone, the 39 queued behind it together
    assert (await spool.counts())["delivered"] == 40
    assert len(await spool.events()) == 40


async def test_a_failing_call_fails_alone_in_its_group(tmp_path: Path) -> None:
    spool = make(tmp_path, Clock())
    await spool.submit(b"x", mail_from="a@s.test", rcpt_to=["a@d.test", "b@d.test"])
    (job,) = await spool.claim()
    (ra, _, _), (rb, _, _) = job.recipients
    results = await asyncio.gather(
        spool.finish(ra, "delivered", "250 ok"),
        spool.finish(999_999, "delivered", "250 ok"),  # no such recipient
        spool.finish(rb, "bounced", "550 no"),
        return_exceptions=True,
    )
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], SpoolError)
    assert str(results[1]) == f"spool {spool.path}: no recipient 999999"
    assert isinstance(results[1].__cause__, KeyError)
    assert await spool.counts() == {
        "queued": 0, "sending": 0, "delivered": 1, "deferred": 0, "bounced": 1, "expired": 0,
        "suppressed": 0,
    }  # fmt: skip
    assert sorted(e.kind for e in await spool.events()) == ["bounced", "delivered"]


async def test_work_not_awaited_or_cancelled_is_still_committed(tmp_path: Path) -> None:
    """Queued work is done: not awaited, or its caller cancelled while it commits."""
    spool = make(tmp_path, Clock())
    await spool.submit(b"x", mail_from="a@s.test", rcpt_to=["a@d.test", "b@d.test"])
    (job,) = await spool.claim()
    (ra, _, _), (rb, _, _) = job.recipients
    spool.finish_nowait(ra, "delivered", "250 ok")  # never awaited

    async def caller() -> None:
        await spool.finish(rb, "delivered", "250 ok")

    task = asyncio.create_task(caller())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await spool.counts())["delivered"] == 2


def test_spool_used_from_successive_event_loops(tmp_path: Path) -> None:
    """A CLI runs asyncio.run() more than once on one spool: the commit queue follows."""
    spool = make(tmp_path, Clock())
    mid = asyncio.run(spool.submit(b"x", mail_from="a@s.test", rcpt_to=["a@d.test"]))
    (job,) = asyncio.run(spool.claim())
    asyncio.run(spool.finish(job.recipients[0][0], "delivered", "250 ok"))
    assert asyncio.run(spool.recipients(mid)) == {"a@d.test": "delivered"}


async def test_unreported_events_read_through_their_index(tmp_path: Path) -> None:
    """Reading new events does not walk every event ever reported."""
    make(tmp_path, Clock()).close()
    db = sqlite3.connect(tmp_path / "q.db")
    try:
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM events WHERE reported=0 ORDER BY id LIMIT 10"
        ).fetchall()
    finally:
        db.close()
    assert "events_unreported" in str(plan)


async def _claimed_rids(spool: SqliteSpool, n: int) -> list[int]:
    for i in range(n):
        await spool.submit(b"x", mail_from="a@s.test", rcpt_to=[f"u{i}@d.test"])
    return [j.recipients[0][0] for j in await spool.claim(limit=n)]


async def test_lazy_results_wait_for_company_until_a_caller_needs_a_commit(
    tmp_path: Path,
) -> None:
    """finish_nowait may wait a moment to share a commit; an awaited call ends the wait."""
    spool = make(tmp_path, Clock())
    rids = await _claimed_rids(spool, 4)
    before = spool.transactions
    lazy = [spool.finish_nowait(rid, "delivered", "250 ok") for rid in rids[:3]]
    await asyncio.sleep(0)  # the committer is now gathering lazy work
    await spool.finish(rids[3], "delivered", "250 ok")  # someone waits: commit now
    await asyncio.gather(*lazy)
    assert spool.transactions == before + 1
    assert (await spool.counts())["delivered"] == 4


async def test_lazy_results_alone_commit_in_groups_and_never_stay_pending(
    tmp_path: Path,
) -> None:
    spool = make(tmp_path, Clock())
    rids = await _claimed_rids(spool, GROUP_MAX + 1)
    before = spool.transactions
    first = spool.finish_nowait(rids[0], "delivered", "250 ok")
    await asyncio.sleep(0)
    rest = [spool.finish_nowait(rid, "delivered", "250 ok") for rid in rids[1:GROUP_MAX]]
    await asyncio.gather(first, *rest)  # GROUP_MAX of them: no waiting for the delay
    assert spool.transactions == before + 1
    assert (await spool.counts())["delivered"] == GROUP_MAX
    await spool.finish_nowait(rids[GROUP_MAX], "delivered", "250 ok")  # alone: after the delay
    assert spool.transactions == before + 3  # its own, and the counts() above


async def test_close_commits_results_still_waiting_for_company(tmp_path: Path) -> None:
    spool = make(tmp_path, Clock())
    (rid,) = await _claimed_rids(spool, 1)
    done = spool.finish_nowait(rid, "delivered", "250 ok")
    spool.close()  # before the group delay ran out
    await done
    reopened = make(tmp_path, Clock())
    assert (await reopened.counts())["delivered"] == 1
    reopened.close()


def stored_shaping(path: Path) -> list[tuple[str, str, str, str, str, float]]:
    """The shaping table as another process sees it (committed rows only)."""
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT kind, ip, grp, tenant, data, until FROM shaping").fetchall()
    finally:
        db.close()


async def test_save_state_is_written_behind_in_one_group(tmp_path: Path) -> None:
    """save_state returns at once; the writes of a burst share one transaction and the
    last write of a key wins."""
    clock = Clock()
    spool = make(tmp_path, clock)
    key = ("192.0.2.1", "gmail")
    before = spool.transactions
    for i in range(200):
        spool.save_state("override", key, "", {"factor": i}, clock.now + 60)
    spool.save_state("suspend", key, "asso", {"reason": "421"}, clock.now + 600)
    assert stored_shaping(tmp_path / "q.db") == []  # nothing committed on the loop thread
    assert {(k, t) for k, _, t, _, _ in spool.load_state()} == {
        ("override", ""),
        ("suspend", "asso"),
    }
    await spool.flush_state()
    assert spool.transactions - before <= 2
    assert sorted(stored_shaping(tmp_path / "q.db")) == [
        ("override", "192.0.2.1", "gmail", "", '{"factor": 199}', clock.now + 60),
        ("suspend", "192.0.2.1", "gmail", "asso", '{"reason": "421"}', clock.now + 600),
    ]
    spool.save_state("suspend", key, "asso", {}, clock.now)  # until <= now: deleted
    assert [k for k, *_ in spool.load_state()] == ["override"]
    await spool.flush_state()
    assert [row[0] for row in stored_shaping(tmp_path / "q.db")] == ["override"]
    spool.close()


async def test_close_writes_the_shaping_state_still_waiting(tmp_path: Path) -> None:
    clock = Clock()
    spool = make(tmp_path, clock)
    spool.save_state("suspend", ("192.0.2.1", "free"), "", {"reason": "x"}, clock.now + 60)
    spool.close()
    reopened = make(tmp_path, clock)
    assert reopened.load_state() == [
        ("suspend", ("192.0.2.1", "free"), "", {"reason": "x"}, clock.now + 60)
    ]
    reopened.close()


def test_save_state_without_an_event_loop_writes_at_once(tmp_path: Path) -> None:
    clock = Clock()
    spool = make(tmp_path, clock)
    spool.save_state("override", ("192.0.2.1", "orange"), "", {"rate": 1}, clock.now + 5)
    assert [row[:3] for row in stored_shaping(tmp_path / "q.db")] == [
        ("override", "192.0.2.1", "orange")
    ]
    clock.now += 5
    assert spool.load_state() == []  # expired
    spool.close()


async def test_state_values_are_str_enums_with_the_stored_strings(tmp_path: Path) -> None:
    spool = make(tmp_path, Clock())
    assert [str(s) for s in STATES] == [
        "queued", "sending", "delivered", "deferred", "bounced", "expired", "suppressed"
    ]  # fmt: skip
    await spool.submit(b"x", mail_from="a@s.test", rcpt_to=["b@d.test"])
    (job,) = await spool.claim()
    state = await spool.defer(job.recipients[0][0], "451 later")
    assert state is RecipientState.DEFERRED
    (row,) = await spool.list()
    assert row.state is RecipientState.DEFERRED
    assert json.loads(json.dumps(row.to_dict()))["state"] == "deferred"
    (event,) = await spool.events()
    assert event.kind is EventKind.DEFERRED
    with pytest.raises(ConfigError):
        await spool.finish(job.recipients[0][0], "sending")
    with pytest.raises(SpoolError, match="no recipient 42"):
        await spool.defer(42, "451")
    spool.close()


async def test_submit_once_queues_each_recipient_once_per_key(tmp_path: Path) -> None:
    clock = Clock()
    spool = make(tmp_path, clock)
    raw = b"Message-ID: <n1@asso.test>\r\n\r\nHi"
    key = submission_key(raw)
    first = await spool.submit_once(
        raw, mail_from="a@s.test", rcpt_to=["b@d.test", "c@e.test"], key=key
    )
    assert first.queued == ("b@d.test", "c@e.test")
    assert first.duplicates == ()
    assert first.message_id > 0
    (job, _) = await spool.claim()
    await spool.finish(job.recipients[0][0], "delivered", "250 ok")  # delivered still counts
    again = await spool.submit_once(
        raw, mail_from="a@s.test", rcpt_to=["B@D.test", "c@e.test", "f@g.test", "F@g.test"],
        key=key,
    )  # fmt: skip
    assert again.queued == ("f@g.test",)
    assert again.duplicates == ("B@D.test", "c@e.test", "F@g.test")
    assert again.message_id not in (0, first.message_id)
    assert await spool.recipients(again.message_id) == {"f@g.test": "queued"}
    nothing = await spool.submit_once(raw, mail_from="a@s.test", rcpt_to=["c@e.test"], key=key)
    assert nothing == Submitted(message_id=first.message_id, queued=(), duplicates=("c@e.test",))
    other = await spool.submit_once(raw, mail_from="a@s.test", rcpt_to=["c@e.test"], key="k2")
    assert other.queued == ("c@e.test",)
    assert (await spool.submit_once(raw, mail_from="a@s.test", rcpt_to=[], key=key)).message_id == 0
    await spool.submit(raw, mail_from="a@s.test", rcpt_to=["c@e.test"])  # submit never dedups
    counts = await spool.counts()
    assert (counts["queued"], counts["sending"], counts["delivered"]) == (3, 1, 1)
    with pytest.raises(ConfigError):
        await spool.submit_once(raw, mail_from="a@s.test", rcpt_to=["x@y.test"], key="")
    spool.close()


async def test_submit_once_racing_itself_queues_once(tmp_path: Path) -> None:
    spool = make(tmp_path, Clock())
    results = await asyncio.gather(
        *(
            spool.submit_once(b"x", mail_from="a@s.test", rcpt_to=["b@d.test"], key="k")
            for _ in range(5)
        )
    )
    assert sum(len(r.queued) for r in results) == 1
    assert len({r.message_id for r in results}) == 1
    spool.close()


def test_submission_key_is_the_message_id_or_a_content_hash() -> None:
    assert submission_key(b"Subject: x\r\nMessage-ID:  <a.1@b.example> \r\n\r\nbody") == (
        "<a.1@b.example>"
    )
    assert submission_key(b"message-id:\r\n <folded@b.example>\n\nbody") == "<folded@b.example>"
    for raw in (
        b"Subject: no id\r\n\r\nbody",
        b"Message-ID: not-an-id\r\n\r\n",
        b"Message-ID: <a b@c>\r\n\r\n",
        b"Message-ID: <a@b>\r\nMessage-ID: <c@d>\r\n\r\n",  # two: ambiguous
        b"\r\nMessage-ID: <in@body>\r\n",  # no header: that line is the body
        b"Subject: x\r\n\r\nMessage-ID: <in@body>\r\n",
    ):
        assert submission_key(raw) == "sha256:" + hashlib.sha256(raw).hexdigest()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_submission_key_is_total_and_printable(raw: bytes) -> None:
    key = submission_key(raw)
    assert key == submission_key(raw)
    assert key.isprintable()
    assert key.startswith(("<", "sha256:"))


async def test_an_older_spool_gets_the_dedup_column(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.close()
    spool = make(tmp_path, Clock())
    assert "dedup" in columns(path, "recipients")
    done = await spool.submit_once(b"x", mail_from="a@s.test", rcpt_to=["b@d.test"], key="k")
    assert done.queued == ("b@d.test",)
    spool.close()
