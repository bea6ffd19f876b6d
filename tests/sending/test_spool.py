"""SqliteSpool: commit on submit, states, backoff, expiry, crash recovery, events once."""

from __future__ import annotations

import random
from pathlib import Path

from mailcheck.sending.spool import SqliteSpool


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
