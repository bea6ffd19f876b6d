"""Sender end to end against real aiosmtpd sinks on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mailcheck.cli.main import main
from mailcheck.errors import SpoolError
from mailcheck.lookup.zonefile import ZoneResolver
from mailcheck.sending.events import SendEvent
from mailcheck.sending.local_share import Gcra
from mailcheck.sending.pacing import PaceReason
from mailcheck.sending.sender import Sender
from mailcheck.sending.shaping import Budget, MemoryBackend
from mailcheck.sending.spool import TRANSACTIONAL, SqliteSpool
from tests.sending.conftest import MakeSink, Sink, fast_pace

ZONE = str(Path(__file__).parent.parent / "zones" / "sending.test.zone")
MSG = b"From: a@s.test\r\nTo: b@plain.sending.test\r\nSubject: hi\r\n\r\nbody\r\n"


def sender(tmp_path: Path, mx: dict[str, Sink], events: list[SendEvent], **kw: object) -> Sender:
    spool = SqliteSpool(str(tmp_path / "q.db"), backoff=60)
    return Sender(
        pacing=fast_pace,
        spool=spool,
        resolver=ZoneResolver([ZONE]),
        mx_override={host: ("127.0.0.1", sink.port) for host, sink in mx.items()},
        on_event=events.append,
        helo="out.s.test",
        **kw,  # type: ignore[arg-type]
    )


def states(events: list[SendEvent]) -> list[str]:
    """The recipient-state events, in order (attempts and shaping events left out)."""
    return [e.kind for e in events if e.kind in ("delivered", "deferred", "bounced", "expired")]


class Signer:
    def sign(self, message: bytes, /) -> bytes:
        return b"DKIM-Signature: v=1; test\r\n" + message


async def test_delivers_signed_and_reports_once(tmp_path: Path, smtp_sink: Sink) -> None:
    events: list[SendEvent] = []
    async with sender(tmp_path, {"mx.plain.sending.test": smtp_sink}, events, signer=Signer()) as s:
        mid = await s.submit(MSG, mail_from="a@s.test", rcpt_to=["b@plain.sending.test"])
        await s.run_until_idle()
        await s.run_until_idle()
    assert smtp_sink.delivered_to() == ["b@plain.sending.test"]
    assert smtp_sink.received[0].data.startswith(b"DKIM-Signature:")
    assert [(e.kind, e.message_id) for e in events if e.kind != "attempt"] == [("delivered", mid)]
    assert [e.kind for e in events].count("attempt") == 1


@pytest.mark.smtp_replies(rcpt={"no@plain.sending.test": ["550 5.1.1 no such user"]})
async def test_stats_per_budget(tmp_path: Path, smtp_sink: Sink) -> None:
    """stats(): counters since start and the shaping state, per budget, as plain JSON."""
    events: list[SendEvent] = []
    async with sender(tmp_path, {"mx.plain.sending.test": smtp_sink}, events) as s:
        rcpts = ["ok@plain.sending.test", "no@plain.sending.test"]
        await s.submit(MSG, mail_from="a@s.test", rcpt_to=rcpts)
        await s.run_until_idle()
        stats = await s.stats()
    policy = fast_pace("mx.plain.sending.test")
    assert json.loads(json.dumps(stats)) == stats
    assert stats == {
        "default|mx.plain.sending.test": {
            "egress": "default",
            "group": "mx.plain.sending.test",
            "attempts": 1,
            "delivered": 1,
            "deferred": 0,
            "bounced": 1,
            "expired": 0,
            "connections": 1,
            "rules": {},
            "waiting": 0,
            "suspended_for": 0.0,
            "pace": {
                "rate_per_hour": policy.first_contact * 3600,
                "reason": "enough",  # one message waited: the first-contact pace drains it
                "paused_until": None,
                "pause_reason": "",
                "throttled_at_per_hour": None,
                "limits": {},
            },
            # List hygiene over the complaint window, from the spool (issue 15).
            "hygiene": {
                "delivered": 1,
                "bounced": 1,
                "complaints": 0,
                "complaint_rate": 0.0,
                "bounce_rate": 0.5,
            },
        }
    }


@pytest.mark.smtp_replies(rcpt={"slow@plain.sending.test": ["450 4.2.1 receiving mail too fast"]})
async def test_recipient_scoped_450_does_not_slow_provider(tmp_path: Path, smtp_sink: Sink) -> None:
    events: list[SendEvent] = []
    s = sender(tmp_path, {"mx.plain.sending.test": smtp_sink}, events)
    rcpts = ["ok@plain.sending.test", "slow@plain.sending.test"]
    mid = await s.submit(MSG, mail_from="a@s.test", rcpt_to=rcpts)
    await s.run_until_idle()
    assert await s.spool.recipients(mid) == {rcpts[0]: "delivered", rcpts[1]: "deferred"}
    key = ("default", "mx.plain.sending.test")
    # The pace was not cut and the budget is not paused: only that recipient waits.
    pace = await s.shaper.pace(key, s.routes[key].policy)
    assert pace.reason is not PaceReason.BACKED_OFF
    assert pace.throttled_at is None
    assert pace.rate == fast_pace(key[1]).first_contact
    assert not (await s.backend.take_message(key, ())).suspended
    assert set(states(events)) == {"delivered", "deferred"}
    assert not {"rule", "slowed", "paused", "suspended"} & {e.kind for e in events}


async def test_falls_back_to_second_mx_in_preference_order(
    tmp_path: Path, make_sink: MakeSink
) -> None:
    second = await make_sink()
    events: list[SendEvent] = []
    # mx1 is mapped to a closed port: connecting fails, mx2 takes the message.
    mx = {"mx2.multi.sending.test": second}
    s = sender(tmp_path, mx, events)
    s.router.mx_override["mx1.multi.sending.test"] = ("127.0.0.1", 9)
    mid = await s.submit(MSG, mail_from="a@s.test", rcpt_to=["x@multi.sending.test"])
    await s.run_until_idle()
    assert second.delivered_to() == ["x@multi.sending.test"]
    assert await s.spool.recipients(mid) == {"x@multi.sending.test": "delivered"}


@pytest.mark.smtp_replies(data=["421 4.7.0 [TSS04] Messages temporarily deferred", "250 OK"])
async def test_yahoo_tss04_pauses_persisted_and_no_attempt_burned(
    tmp_path: Path, smtp_sink: Sink
) -> None:
    events: list[SendEvent] = []
    mx = {"mta5.am0.yahoodns.net": smtp_sink, "mta6.am0.yahoodns.net": smtp_sink}
    s = sender(tmp_path, mx, events)
    first = await s.submit(MSG, mail_from="a@s.test", rcpt_to=["a@ymail.sending.test"])
    await s.run_until_idle()
    # Another domain of the same provider (another MX host set) waits too, no attempt burned.
    second = await s.submit(MSG, mail_from="a@s.test", rcpt_to=["b@ymail2.sending.test"])
    await s.run_until_idle()
    assert smtp_sink.received == []
    assert await s.spool.recipients(first) == {"a@ymail.sending.test": "deferred"}
    assert await s.spool.recipients(second) == {"b@ymail2.sending.test": "deferred"}
    # Ambiguous (slow down or blocked): a cut pace and a pause, not a 2 h suspension.
    key = ("default", "yahoo")
    shaping = [(e.kind, e.rule, e.key) for e in events if e.kind in ("slowed", "paused")]
    assert shaping == [("slowed", "yahoo-tss04", key), ("paused", "yahoo-tss04", key)]
    assert "suspended" not in [e.kind for e in events]
    assert [e.kind for e in events].count("attempt") == 1
    s.spool.close()
    # A restart remembers the pause and the learned pace: nothing is sent before the
    # pause ends.
    again = sender(tmp_path, mx, events)
    pace = await again.shaper.pace(key, fast_pace("yahoo"))
    assert 120 < pace.paused_until - again.clock() <= 180  # the ladder's first step, 3 min
    assert pace.reason is PaceReason.BACKED_OFF
    assert pace.rate < fast_pace("yahoo").first_contact
    assert "slow-down 1 of 4" in pace.pause_reason
    assert await again.spool.claim() == []  # parked until the pause ends
    counts = await again.spool.counts()
    assert counts["deferred"] == 2


@pytest.mark.smtp_replies(data=["421 4.7.0 [TSS04] Messages temporarily deferred", "250 OK"])
async def test_a_run_started_again_within_a_pause_keeps_bulk_mail_paused(
    tmp_path: Path, smtp_sink: Sink
) -> None:
    """A cron run (``--until-idle`` every minute) must not send through the pause the
    previous run took: new bulk mail waits for its end; transactional mail goes on at
    the cut pace, as in the run that drew the reply."""
    events: list[SendEvent] = []
    mx = {"mta5.am0.yahoodns.net": smtp_sink, "mta6.am0.yahoodns.net": smtp_sink}
    s = sender(tmp_path, mx, events)
    await s.submit(MSG, mail_from="a@s.test", rcpt_to=["a@ymail.sending.test"])
    await s.run_until_idle()
    s.spool.close()
    again = sender(tmp_path, mx, events)
    bulk = await again.submit(MSG, mail_from="a@s.test", rcpt_to=["b@ymail2.sending.test"])
    urgent = await again.submit(
        MSG, mail_from="a@s.test", rcpt_to=["c@ymail2.sending.test"], priority=TRANSACTIONAL
    )
    await again.run_until_idle()
    assert smtp_sink.delivered_to() == ["c@ymail2.sending.test"]
    assert await again.spool.recipients(bulk) == {"b@ymail2.sending.test": "deferred"}
    assert await again.spool.recipients(urgent) == {"c@ymail2.sending.test": "delivered"}
    due = await again.spool.next_due()
    pace = await again.shaper.pace(("default", "yahoo"), fast_pace("yahoo"))
    assert due is not None
    assert due >= pace.paused_until - 1.0  # due when the pause ends, not before
    again.spool.close()


@pytest.mark.smtp_replies(data=["451 4.7.650 The mail server has been temporarily rate limited"])
async def test_microsoft_4_7_650_caps_the_group_as_the_dataset_says(
    tmp_path: Path, smtp_sink: Sink
) -> None:
    events: list[SendEvent] = []
    s = sender(tmp_path, {"eur.olc.protection.outlook.com": smtp_sink}, events)
    mid = await s.submit(MSG, mail_from="a@s.test", rcpt_to=["b@hotmail.sending.test"])
    await s.run_until_idle()
    key = ("default", "microsoft")
    route = s.routes[key]
    state = await s.shaper.state(key, route.policy)
    # microsoft-ip-reputation: one connection for 90 minutes, a pace of 1 message a minute.
    assert state["limits"] == {"connections": 1}
    override = await s.backend.override(key)
    assert override is not None
    assert 5300 < override["limits_until"] - s.clock() <= 5400
    assert state["rate_per_hour"] == pytest.approx(60.0)
    assert state["reason"] == "backed-off"
    assert state["paused_until"] is not None
    budget = await s.budget_of(route)
    assert budget.connections == 1
    assert dict(budget.message_rates)["pace"].interval == pytest.approx(60.0)
    assert await s.spool.recipients(mid) == {"b@hotmail.sending.test": "deferred"}
    assert [(e.kind, e.rule) for e in events if e.kind in ("rule", "slowed", "paused")] == [
        ("rule", "microsoft-ip-reputation"),
        ("slowed", "microsoft-ip-reputation"),
        ("paused", "microsoft-ip-reputation"),
    ]


@pytest.mark.smtp_replies(data=["450 4.7.1 rate limit exceeded, slow down"])
async def test_generic_throttling_reply_halves_the_pace(tmp_path: Path, smtp_sink: Sink) -> None:
    events: list[SendEvent] = []
    s = sender(tmp_path, {"mx.plain.sending.test": smtp_sink}, events)
    mid = await s.submit(MSG, mail_from="a@s.test", rcpt_to=["b@plain.sending.test"])
    await s.run_until_idle()
    # Not a provider of the dataset, no rule: the text says "rate limit", so the pace is
    # halved (nothing accepted to measure) and bulk mail pauses, no attempt burned.
    key = ("default", "mx.plain.sending.test")
    state = await s.shaper.state(key, s.routes[key].policy)
    assert state["reason"] == "backed-off"
    assert state["rate_per_hour"] == pytest.approx(fast_pace(key[1]).first_contact * 3600 / 2)
    assert state["throttled_at_per_hour"] == pytest.approx(fast_pace(key[1]).first_contact * 3600)
    assert 60 < state["paused_until"] - s.clock() <= 120  # the default ladder's 2 min
    assert [e.kind for e in events].count("slowed") == 1
    assert await s.spool.recipients(mid) == {"b@plain.sending.test": "deferred"}


@pytest.mark.smtp_replies(close_after=2)
async def test_silent_close_after_n_messages_is_a_reconnect(
    tmp_path: Path, smtp_sink: Sink
) -> None:
    events: list[SendEvent] = []
    budget = Budget(connections=1, messages_per_connection=50)
    s = sender(tmp_path, {"mx.yahoo.sending.test": smtp_sink}, events, default_budget=budget)
    for i in range(5):
        await s.submit(MSG, mail_from="a@s.test", rcpt_to=[f"u{i}@yahoo.sending.test"])
    await s.run_until_idle()
    assert sorted(smtp_sink.delivered_to()) == [f"u{i}@yahoo.sending.test" for i in range(5)]
    assert smtp_sink.connections >= 3
    assert set(states(events)) == {"delivered"}


async def test_messages_per_connection_and_rate(tmp_path: Path, smtp_sink: Sink) -> None:
    events: list[SendEvent] = []
    budget = Budget(
        connections=1,
        messages_per_connection=2,
        message_rates=(("200/s", Gcra(interval=0.005, burst=1)),),
    )
    s = sender(tmp_path, {"mx.plain.sending.test": smtp_sink}, events, default_budget=budget)
    for i in range(4):
        await s.submit(MSG, mail_from="a@s.test", rcpt_to=[f"u{i}@plain.sending.test"])
    await s.run_until_idle()
    assert len(smtp_sink.received) == 4
    assert smtp_sink.connections == 2


@pytest.mark.smtp_replies(data=["451 4.3.0 try later", "250 OK"])
async def test_deferral_then_backoff_then_delivery(tmp_path: Path, smtp_sink: Sink) -> None:
    class Clock:
        now = 1_000_000.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    events: list[SendEvent] = []
    spool = SqliteSpool(str(tmp_path / "q.db"), clock=clock, backoff=60)
    s = Sender(
        pacing=fast_pace,
        spool=spool,
        resolver=ZoneResolver([ZONE]),
        backend=MemoryBackend(clock=clock, store=spool),
        mx_override={"mx.plain.sending.test": ("127.0.0.1", smtp_sink.port)},
        on_event=events.append,
        clock=clock,
    )
    mid = await s.submit(MSG, mail_from="a@s.test", rcpt_to=["b@plain.sending.test"])
    await s.run_until_idle()
    assert await spool.recipients(mid) == {"b@plain.sending.test": "deferred"}
    due = await spool.next_due()
    assert due is not None
    assert 48 <= due - clock.now <= 72
    await s.run_until_idle()  # not due yet
    assert smtp_sink.received == []
    clock.now = due
    await s.run_until_idle()
    assert await spool.recipients(mid) == {"b@plain.sending.test": "delivered"}
    assert states(events) == ["deferred", "delivered"]


async def test_null_mx_bounces(tmp_path: Path, smtp_sink: Sink) -> None:
    events: list[SendEvent] = []
    s = sender(tmp_path, {}, events)
    mid = await s.submit(MSG, mail_from="a@s.test", rcpt_to=["x@null.sending.test"])
    await s.run_until_idle()
    assert await s.spool.recipients(mid) == {"x@null.sending.test": "bounced"}


async def test_run_forever_wakes_on_submit(tmp_path: Path, smtp_sink: Sink) -> None:
    events: list[SendEvent] = []
    s = sender(tmp_path, {"mx.plain.sending.test": smtp_sink}, events)
    seen = asyncio.Event()
    s.subscribe(lambda e: seen.set() if e.kind == "delivered" else None)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(s.run(poll=5.0))
        await s.submit(MSG, mail_from="a@s.test", rcpt_to=["b@plain.sending.test"])
        async with asyncio.timeout(10):
            await seen.wait()
        task.cancel()
    assert states(events) == ["delivered"]


def test_cli_status_and_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "q.db")
    msg = tmp_path / "m.eml"
    msg.write_bytes(MSG)
    bare = tmp_path / "bare.eml"
    bare.write_bytes(b"From: a@s.test\r\nSubject: no recipient\r\n\r\nbody\r\n")
    assert main(["send", "--spool", db, str(bare), "--from", "a@s.test", "--no-run"]) == 2
    assert main(["send", "--spool", db, str(msg), "--no-run"]) == 2  # no --from
    capsys.readouterr()
    args = ["--to", "b@plain.sending.test", "--zone", ZONE, "--no-run", "--format", "json"]
    code = main(["send", "--spool", db, str(msg), "--from", "a@s.test", *args])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ended"] == "queued"
    assert summary["submitted"]["messages"] == 1
    assert summary["progress"]["waiting"] == 1


async def test_events_as_an_async_iterator(tmp_path: Path, smtp_sink: Sink) -> None:
    s = Sender(
        pacing=fast_pace,
        spool=SqliteSpool(str(tmp_path / "q.db")),
        resolver=ZoneResolver([ZONE]),
        mx_override={"mx.plain.sending.test": ("127.0.0.1", smtp_sink.port)},
    )
    mid = await s.submit(MSG, mail_from="a@s.test", rcpt_to=["b@plain.sending.test"])
    seen: list[tuple[str, int]] = []
    assert not s.listeners

    async def watch() -> None:
        async for event in s.events():
            seen.append((event.kind, event.message_id))
            if event.kind == "delivered":
                return

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0)  # the watcher subscribes
    await s.run_until_idle()
    async with asyncio.timeout(5):
        await watcher
    assert seen == [("attempt", mid), ("delivered", mid)]
    assert not s.listeners  # the iterator unsubscribed when it ended


class CountingResolver(ZoneResolver):
    """A zone resolver that counts the questions it is asked."""

    def __init__(self, zones: list[str]) -> None:
        super().__init__(zones)
        self.asked: list[tuple[str, str]] = []

    async def query(self, name: str, rdtype: str) -> Any:  # type: ignore[override]
        self.asked.append((name, rdtype))
        return await super().query(name, rdtype)


@pytest.mark.parametrize(("ttl", "asked"), [(300, 1), (0, 6)])
async def test_mx_answer_reused_for_its_ttl(
    tmp_path: Path, smtp_sink: Sink, ttl: int, asked: int
) -> None:
    """Routing asks DNS once per domain while the MX answer's TTL lasts, not per message."""
    zone = tmp_path / "ttl.test.zone"
    zone.write_text(
        f"$ORIGIN ttl.test.\n$TTL {ttl}\n@ SOA ns h 1 3600 600 86400 {ttl}\n@ NS ns\n"
        "@ MX 10 mx.ttl.test.\n"
    )
    resolver = CountingResolver([str(zone)])
    s = Sender(
        pacing=fast_pace,
        spool=SqliteSpool(str(tmp_path / "q.db")),
        resolver=resolver,
        mx_override={"mx.ttl.test": ("127.0.0.1", smtp_sink.port)},
        prefetch=2,  # several claims
    )
    for i in range(6):
        await s.submit(MSG, mail_from="a@s.test", rcpt_to=[f"u{i}@ttl.test"])
    await s.run_until_idle()
    await s.close()
    assert len(smtp_sink.received) == 6
    assert resolver.asked.count(("ttl.test", "MX")) == asked


async def test_a_backlog_beyond_memory_opens_every_allowed_connection(
    tmp_path: Path, make_sink: MakeSink
) -> None:
    """With more waiting in the spool than in memory, the lane is sized on the backlog."""
    sink = await make_sink(delay=0.02)
    events: list[SendEvent] = []
    budget = Budget(connections=3, messages_per_connection=100)
    s = sender(tmp_path, {"mx.plain.sending.test": sink}, events, default_budget=budget, prefetch=2)
    for i in range(30):
        await s.submit(MSG, mail_from="a@s.test", rcpt_to=[f"u{i}@plain.sending.test"])
    await s.run_until_idle()
    await s.close()
    assert len(sink.received) == 30
    # 2 messages in memory would ask for one connection of 100; the spool holds 30.
    assert sink.connections >= 3


async def test_recipients_at_domains_sharing_mx_hosts_go_in_one_transaction(
    tmp_path: Path, make_sink: MakeSink
) -> None:
    """Two domains on the same MX hosts: one MAIL FROM, both RCPT TO, one DATA."""
    shared, plain = await make_sink(), await make_sink()
    events: list[SendEvent] = []
    mx = {"mx.yahoo.sending.test": shared, "mx.plain.sending.test": plain}
    async with sender(tmp_path, mx, events) as s:
        rcpts = ["a@yahoo.sending.test", "b@yahoo2.sending.test", "c@plain.sending.test"]
        await s.submit(MSG, mail_from="a@s.test", rcpt_to=rcpts)
        await s.run_until_idle()
    assert [sorted(m.rcpt_to) for m in shared.received] == [
        ["a@yahoo.sending.test", "b@yahoo2.sending.test"]
    ]
    assert [m.rcpt_to for m in plain.received] == [["c@plain.sending.test"]]
    assert states(events) == ["delivered"] * 3


async def test_a_merged_transaction_still_splits_at_recipients_per_message(
    tmp_path: Path, smtp_sink: Sink
) -> None:
    events: list[SendEvent] = []
    budget = Budget(recipients_per_message=1)
    async with sender(
        tmp_path, {"mx.yahoo.sending.test": smtp_sink}, events, default_budget=budget
    ) as s:
        rcpts = ["a@yahoo.sending.test", "b@yahoo2.sending.test"]
        await s.submit(MSG, mail_from="a@s.test", rcpt_to=rcpts)
        await s.run_until_idle()
    assert sorted(r for m in smtp_sink.received for r in m.rcpt_to) == sorted(rcpts)
    assert len(smtp_sink.received) == 2


def refuse_results(path: str) -> None:
    """Make the spool's result commits fail, as on a full disk: a trigger in the real
    database refuses every recipient's final state (claims and deferrals still commit)."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TRIGGER refuse_results BEFORE UPDATE OF state ON recipients"
            " WHEN NEW.state IN ('delivered', 'bounced', 'expired')"
            " BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END"
        )


async def test_a_failing_spool_reaches_the_caller_and_loses_nothing(
    tmp_path: Path, smtp_sink: Sink
) -> None:
    """A worker that cannot record a delivery stops run_until_idle with the error."""
    path = str(tmp_path / "q.db")
    s = Sender(
        pacing=fast_pace,
        spool=SqliteSpool(path),
        resolver=ZoneResolver([ZONE]),
        mx_override={"mx.plain.sending.test": ("127.0.0.1", smtp_sink.port)},
    )
    mid = await s.submit(MSG, mail_from="a@s.test", rcpt_to=["b@plain.sending.test"])
    refuse_results(path)
    with pytest.raises(SpoolError, match="disk is full") as raised:
        await s.run_until_idle()
    assert isinstance(raised.value.__cause__, sqlite3.Error)  # named, not hidden
    assert smtp_sink.delivered_to() == ["b@plain.sending.test"]  # sent, not recorded
    await s.close()
    s.spool.close()
    reopened = SqliteSpool(path)  # crash recovery: the attempt in flight is queued again
    assert await reopened.recipients(mid) == {"b@plain.sending.test": "queued"}
    reopened.close()


def test_resolver_defaults_to_the_system_nameservers(tmp_path: Path) -> None:
    """As DESIGN's example: Sender(spool=..., signer=...) needs no resolver argument."""
    from mailcheck.lookup import DnsResolver

    s = Sender(pacing=fast_pace, spool=SqliteSpool(str(tmp_path / "q.db")))
    assert isinstance(s.router.resolver, DnsResolver)
    assert s.router.resolver.nameservers  # read from /etc/resolv.conf; nothing is asked here
