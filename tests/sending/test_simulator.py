"""The Sender against simulated providers: real DNS (MX, A), real SMTP with STARTTLS.

Each test starts the simulated servers it needs (``tests/sending/simulator.py``) and a
Sender that finds them through the DNS test server, with the built-in provider dataset
(only the MX suffixes are pointed at the simulator, ``sim-providers.toml``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from mailcheck import DnsResolver
from mailcheck.sending.events import SendEvent
from mailcheck.sending.fairness import FairnessConfig
from mailcheck.sending.local_share import Gcra
from mailcheck.sending.providers import ProviderSet
from mailcheck.sending.sender import Egress, Sender
from mailcheck.sending.shaping import Budget
from mailcheck.sending.spool import TRANSACTIONAL, SqliteSpool
from tests.dnsserver import DnsTestServer
from tests.sending.conftest import fast_pace
from tests.sending.simulator import (
    GREYLIST_450,
    MICROSOFT_650,
    ORANGE_TOO_MANY,
    SPAMHAUS_550,
    YAHOO_TSS04,
    Simulated,
    Simulator,
)

SIM_PROVIDERS = Path(__file__).parent / "sim-providers.toml"
ADDRESSES = {
    "gmail": "127.0.0.2",
    "yahoo": "127.0.0.3",
    "hotmail": "127.0.0.4",
    "orange": "127.0.0.5",
    "gmx": "127.0.0.6",
    "asso": "127.0.0.7",
}

Start = Callable[..., Awaitable[Simulator]]


def message(n: int, sender: str = "news@asso.example") -> bytes:
    return (
        f"From: {sender}\r\nTo: member{n}@example\r\nSubject: {n}\r\n"
        f"Message-ID: <m{n}.{sender}>\r\n\r\nhello {n}\r\n"
    ).encode()


@pytest.fixture
async def simulator() -> AsyncIterator[Start]:
    """``await simulator(Simulated(...), ...)`` starts servers, stopped after the test."""
    started: list[Simulator] = []

    async def start(*sims: Simulated) -> Simulator:
        sim = await Simulator(list(sims)).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        await sim.stop()


def sim(name: str, **script: Any) -> Simulated:
    return Simulated(name=name, address=ADDRESSES[name], **script)


def make_sender(
    tmp_path: Path,
    dns_server: DnsTestServer,
    simulator: Simulator,
    events: list[SendEvent],
    *,
    overrides: str = "",
    **kw: Any,
) -> Sender:
    files: list[Path] = [SIM_PROVIDERS]
    if overrides:
        extra = tmp_path / "overrides.toml"
        extra.write_text(overrides)
        files.append(extra)
    kw.setdefault("spool", SqliteSpool(str(tmp_path / "spool.db"), backoff=60))
    return Sender(
        pacing=fast_pace,
        resolver=DnsResolver([dns_server.address], timeout=2.0),
        providers=ProviderSet.load(user_files=files),
        port=simulator.port,
        on_event=events.append,
        helo="out.asso.example",
        timeout=10.0,
        **kw,
    )


def at_most(rate: float, seconds: float, jitter: float = 0.1) -> int:
    """The most arrivals a receiver may count in ``seconds`` from a sender keeping ``rate``
    per second: the sender's window, widened by the scheduling jitter between the send and
    the receiver's timestamp (these tests run on the real clock, beside other tests)."""
    return int(rate * (seconds + jitter)) + 1


async def states(sender: Sender) -> dict[str, int]:
    counts = await sender.spool.counts()
    return {state: n for state, n in counts.items() if n}


async def test_gmail_rate_is_never_exceeded(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    sims = await simulator(sim("gmail", rate=(12, 1.0)))
    events: list[SendEvent] = []
    s = make_sender(
        tmp_path, dns_server, sims, events,
        overrides='[provider.google]\nmessage_rates = ["10/s"]\n',
    )  # fmt: skip
    for n in range(15):
        await s.submit(message(n), mail_from="news@asso.example", rcpt_to=[f"m{n}@gmail.sim.test"])
    await s.run_until_idle()
    gmail = sims["gmail"]
    assert sorted(gmail.delivered_to()) == sorted(f"m{n}@gmail.sim.test" for n in range(15))
    assert gmail.replies["421"] == 0
    # 10/s with no burst: a closed 1-s window of the sender holds at most 11 sends; the
    # receiver's clock adds the loop's scheduling jitter (up to 0.1 s under load).
    assert gmail.most_in_window(1.0) <= at_most(10, 1.0)
    # Google requires TLS in the dataset: every message went over STARTTLS.
    assert all(m.tls for m in gmail.received)
    assert await states(s) == {"delivered": 15}


async def test_gmail_421_cuts_the_pace_to_the_rules_rate_and_pauses(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    # Gmail accepts 3 messages, then answers its IP rate 421; the dataset's rule
    # google-ip-rate cuts the pace from the accepted rate, to 10/min at most, and pauses
    # the budget for the first step of its ladder: the 5th message is not even tried.
    sims = await simulator(sim("gmail", rate=(3, 60.0)))
    events: list[SendEvent] = []
    s = make_sender(
        tmp_path, dns_server, sims, events, overrides="[provider.google]\nconnections = 1\n"
    )
    for n in range(5):
        await s.submit(message(n), mail_from="news@asso.example", rcpt_to=[f"m{n}@gmail.sim.test"])
    await s.run_until_idle()
    assert len(sims["gmail"].received) == 3
    assert sims["gmail"].replies["421"] == 1
    assert await states(s) == {"delivered": 3, "deferred": 2}  # deferred, not bounced
    fired = [(e.kind, e.rule) for e in events if e.kind in ("rule", "slowed", "paused")]
    assert fired == [
        ("rule", "google-ip-rate"),
        ("slowed", "google-ip-rate"),
        ("paused", "google-ip-rate"),
    ]
    key = ("default", "google")
    stats = (await s.stats())["default|google"]
    assert stats["rules"] == {"google-ip-rate": 1}
    assert stats["pace"]["reason"] == "backed-off"
    assert 0 < stats["pace"]["rate_per_hour"] <= 600.0  # 10/min
    # The ladder's first step, 2 min: this host's bulk mail pauses, the budget is not
    # suspended (transactional mail goes on at the cut pace).
    assert 100 < stats["pace"]["paused_until"] - time.time() <= 120.0
    assert stats["suspended_for"] == 0.0
    # The next grants really wait for the cut pace.
    budget = await s.budget_of(s.routes[key])
    assert dict(budget.message_rates)["pace"].interval >= 6.0
    assert (await s.backend.take_message(key, budget.message_rates, reserve=0.0)).granted
    decision = await s.backend.take_message(key, budget.message_rates, reserve=0.0)
    assert not decision.granted
    assert 5.0 < decision.wait <= dict(budget.message_rates)["pace"].interval


async def test_yahoo_closes_silently_after_n_messages(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    sims = await simulator(sim("yahoo", close_after=5))
    events: list[SendEvent] = []
    s = make_sender(tmp_path, dns_server, sims, events)
    for n in range(12):
        await s.submit(message(n), mail_from="news@asso.example", rcpt_to=[f"m{n}@yahoo.sim.test"])
    await s.run_until_idle()
    assert len(sims["yahoo"].received) == 12
    assert sims["yahoo"].connections >= 3
    # A reconnect, not a failure: no deferral, no slowing down.
    assert await states(s) == {"delivered": 12}
    assert not [e for e in events if e.kind in ("deferred", "slowed", "suspended")]


async def test_messages_per_connection_from_the_dataset(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    sims = await simulator(sim("yahoo"))
    events: list[SendEvent] = []
    s = make_sender(tmp_path, dns_server, sims, events)
    for n in range(45):
        await s.submit(message(n), mail_from="news@asso.example", rcpt_to=[f"m{n}@yahoo.sim.test"])
    await s.run_until_idle()
    yahoo = sims["yahoo"]
    assert len(yahoo.received) == 45
    assert yahoo.max_per_session <= 20  # Yahoo's own figure, in the dataset
    assert yahoo.connections >= math.ceil(45 / 20)
    assert yahoo.max_seen <= 5


async def test_orange_connection_limit_is_never_exceeded(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    sims = await simulator(sim("orange", max_sessions=2))
    events: list[SendEvent] = []
    s = make_sender(tmp_path, dns_server, sims, events)
    for n in range(30):
        await s.submit(message(n), mail_from="news@asso.example", rcpt_to=[f"m{n}@orange.sim.test"])
    await s.run_until_idle()
    orange = sims["orange"]
    assert len(orange.received) == 30
    assert orange.max_seen <= 2
    assert orange.refused == 0
    assert all(m.tls for m in orange.received)


async def test_orange_too_many_connections_drops_to_one(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    # A user file raised Orange to 4 connections (10 messages each, so that 4 open at
    # once): Orange refuses the 3rd at the greeting,
    # the rule orange-too-many-connections caps the budget at one connection for an hour.
    sims = await simulator(sim("orange", max_sessions=2))
    events: list[SendEvent] = []
    s = make_sender(
        tmp_path, dns_server, sims, events,
        overrides="[provider.orange]\nconnections = 4\nmessages_per_connection = 10\n",
    )  # fmt: skip
    for n in range(40):
        await s.submit(message(n), mail_from="news@asso.example", rcpt_to=[f"m{n}@orange.sim.test"])
    await s.run_until_idle()
    orange = sims["orange"]
    assert orange.refused >= 1
    assert ("rule", "orange-too-many-connections") in [(e.kind, e.rule) for e in events]
    key = ("default", "orange")
    state = await s.shaper.state(key, s.routes[key].policy)
    assert state["limits"] == {"connections": 1}
    assert state["reason"] != "backed-off"  # a connection limit, not a slower pace
    # Nothing lost: what was not delivered waits for its retry.
    counts = await states(s)
    assert counts.get("delivered", 0) + counts.get("deferred", 0) == 40
    assert counts.get("delivered", 0) == len(orange.received) >= 30


@pytest.mark.parametrize(
    ("name", "domain", "reply", "rule", "check"),
    [
        # Ambiguous: the first step of the ladder (3 min), not the 2 h block at its top.
        ("yahoo", "yahoo", YAHOO_TSS04, "yahoo-tss04", ("pause", 180)),
        # One connection for 90 min, and a pace of 1 message a minute.
        ("hotmail", "hotmail", MICROSOFT_650, "microsoft-ip-reputation",
         ("limits", {"connections": 1}, 5400, 60.0)),
        ("orange", "orange", ORANGE_TOO_MANY, "orange-too-many-connections",
         ("limits", {"connections": 1}, 3600, None)),
        ("gmail", "gmail", "550-5.7.28 [{ip}] Our system has detected an unusual rate of\r\n"
         "550 5.7.28 unsolicited mail originating from your IP address. blocked",
         "google-ip-blocked", ("suspend", 4 * 3600)),
        # GMX: the last line decides; the first ones would match the 2 h policy rule.
        ("gmx", "gmx", "554-gmx.net (mxgmx) Nemesis ESMTP Service not available\r\n"
         "554-Reject due to policy restrictions\r\n554 IP address is block listed",
         "gmx-blocklisted", ("suspend", 4 * 3600)),
    ],
)  # fmt: skip
async def test_each_reply_gets_the_dataset_reaction(
    tmp_path: Path,
    dns_server: DnsTestServer,
    simulator: Start,
    name: str,
    domain: str,
    reply: str,
    rule: str,
    check: tuple[Any, ...],
) -> None:
    sims = await simulator(sim(name, data=[reply]))
    events: list[SendEvent] = []
    s = make_sender(tmp_path, dns_server, sims, events)
    await s.submit(message(1), mail_from="news@asso.example", rcpt_to=[f"a@{domain}.sim.test"])
    await s.run_until_idle()
    assert ("rule", rule) in [(e.kind, e.rule) for e in events]
    [stats] = (await s.stats()).values()
    key = ("default", stats["group"])
    state = await s.shaper.state(key, s.routes[key].policy)
    if check[0] == "suspend":  # an unambiguous block: the shared budget stops
        decision = await s.backend.take_message(key, ())
        assert decision.suspended == "budget"
        assert check[1] - 5 < decision.wait <= check[1]
        assert state["reason"] != "backed-off"
    elif check[0] == "pause":  # ambiguous: the pace is cut and bulk mail pauses
        assert check[1] - 5 < state["paused_until"] - time.time() <= check[1]
        assert state["reason"] == "backed-off"
    else:
        assert state["limits"] == check[1]
        override = await s.backend.override(key)
        assert override is not None
        assert check[2] - 5 < override["limits_until"] - time.time() <= check[2]
        if check[3] is not None:
            assert state["rate_per_hour"] == pytest.approx(check[3])
    expected = "bounced" if reply.startswith("5") else "deferred"
    assert await states(s) == {expected: 1}


async def test_blocklist_550_bounces_with_the_reply_and_holds_the_rest(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    sims = await simulator(sim("asso", data=[SPAMHAUS_550]))
    events: list[SendEvent] = []
    s = make_sender(tmp_path, dns_server, sims, events, default_budget=Budget(connections=1))
    first = await s.submit(message(1), mail_from="news@asso.example", rcpt_to=["a@asso.sim.test"])
    await s.run_until_idle()
    second = await s.submit(message(2), mail_from="news@asso.example", rcpt_to=["b@asso.sim.test"])
    await s.run_until_idle()
    assert await s.spool.recipients(first) == {"a@asso.sim.test": "bounced"}
    bounce = next(e for e in events if e.kind == "bounced")
    assert "zen.spamhaus.org" in bounce.reply
    assert "127.0.0.1" in bounce.reply
    # The reply judges our IP: the rest waits (an hour) instead of being refused too.
    assert await s.spool.recipients(second) == {"b@asso.sim.test": "deferred"}
    assert sims["asso"].replies["550"] == 1


async def test_drop_mid_data_loses_nothing(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    sims = await simulator(sim("asso", drop_data=1))
    events: list[SendEvent] = []
    spool = SqliteSpool(str(tmp_path / "spool.db"), backoff=0.2, jitter=0.0)
    s = make_sender(
        tmp_path, dns_server, sims, events, spool=spool, default_budget=Budget(connections=1)
    )
    for n in range(3):
        await s.submit(message(n), mail_from="news@asso.example", rcpt_to=[f"m{n}@asso.sim.test"])
    await s.run_until_idle()
    assert await states(s) == {"delivered": 2, "deferred": 1}
    await asyncio.sleep(0.25)
    await s.run_until_idle()
    assert await states(s) == {"delivered": 3}
    assert sorted(sims["asso"].delivered_to()) == [f"m{n}@asso.sim.test" for n in range(3)]


async def test_greylisting_retries_when_the_server_says(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    sims = await simulator(sim("asso", rcpt={"a@asso.sim.test": [GREYLIST_450, "250 OK"]}))
    events: list[SendEvent] = []
    s = make_sender(tmp_path, dns_server, sims, events)
    mid = await s.submit(message(1), mail_from="news@asso.example", rcpt_to=["a@asso.sim.test"])
    before = time.time()
    await s.run_until_idle()
    assert await s.spool.recipients(mid) == {"a@asso.sim.test": "deferred"}
    due = await s.spool.next_due()
    assert due is not None
    assert 299 <= due - before <= 302
    # A greylisting reply judges one message: the provider is not slowed nor paused.
    [stats] = (await s.stats()).values()
    assert stats["pace"]["reason"] != "backed-off"
    assert stats["pace"]["throttled_at_per_hour"] is None
    assert stats["pace"]["paused_until"] is None
    assert stats["suspended_for"] == 0.0
    assert not {"slowed", "paused", "suspended"} & {e.kind for e in events}


async def test_backup_mx_without_a_server_falls_back_to_the_first(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    sims = await simulator(sim("asso"))
    events: list[SendEvent] = []
    s = make_sender(tmp_path, dns_server, sims, events)
    await s.submit(message(1), mail_from="news@asso.example", rcpt_to=["a@asso.sim.test"])
    await s.run_until_idle()
    assert sims["asso"].delivered_to() == ["a@asso.sim.test"]


async def test_transactional_mail_does_not_wait_behind_a_newsletter(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    sims = await simulator(sim("gmail"))
    events: list[SendEvent] = []
    s = make_sender(
        tmp_path, dns_server, sims, events,
        overrides='[provider.google]\nmessage_rates = ["20/s"]\n',
    )  # fmt: skip
    for n in range(60):  # a newsletter: 3 s at 20/s
        await s.submit(message(n), mail_from="news@asso.example", rcpt_to=[f"m{n}@gmail.sim.test"])
    done = asyncio.Event()
    s.subscribe(lambda _: done.set() if len(sims["gmail"].received) >= 61 else None)
    runner = asyncio.create_task(s.run(poll=0.2))
    await asyncio.sleep(0.5)
    submitted = time.monotonic()
    await s.submit(
        message(999, "noreply@asso.example"),
        mail_from="noreply@asso.example",
        rcpt_to=["reset@vanity.sim.test"],
        priority=TRANSACTIONAL,
    )
    try:
        async with asyncio.timeout(15):
            await done.wait()
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await s.close()
    arrivals = sims["gmail"].received
    reset = next(i for i, m in enumerate(arrivals) if m.rcpt_to == ["reset@vanity.sim.test"])
    # Sent within a second or so of its submission, while most of the newsletter still waited.
    assert arrivals[reset].at - submitted < 1.5
    assert reset < 30
    # And the newsletter was not starved: all of it arrived, at the budget's rate.
    assert len(arrivals) == 61
    assert sims["gmail"].most_in_window(1.0) <= at_most(20, 1.0)


async def test_two_tenants_share_a_saturated_budget_three_to_one(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    sims = await simulator(sim("asso"))
    events: list[SendEvent] = []
    s = make_sender(
        tmp_path, dns_server, sims, events,
        default_budget=Budget(connections=4, message_rates=(("100/s", Gcra(interval=0.01)),)),
        fairness=FairnessConfig.from_mapping({"big": {"weight": 3}, "small": {"weight": 1}}),
    )  # fmt: skip
    # The small association's newsletter is queued first; it still gets only its share.
    for n in range(100):
        await s.submit(message(n, "news@small.example"), mail_from="news@small.example",
                       rcpt_to=[f"s{n}@asso.sim.test"], tenant="small")  # fmt: skip
    for n in range(100):
        await s.submit(message(n, "news@big.example"), mail_from="news@big.example",
                       rcpt_to=[f"b{n}@asso.sim.test"], tenant="big")  # fmt: skip
    await s.run_until_idle()
    arrivals = sims["asso"].received
    assert len(arrivals) == 200
    # While both wait (the first 120 arrivals: "big" has 100), the budget splits 3:1.
    first = [m.mail_from for m in arrivals[:120]]
    big, small = first.count("news@big.example"), first.count("news@small.example")
    assert 2.7 <= big / small <= 3.3, (big, small)


async def test_tenant_scoped_reply_suspends_only_that_tenant(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    domain_rate = (
        "421 4.7.28 Gmail has detected an unusual rate of mail from your DKIM domain "
        "asso-a.example; try again later"
    )
    sims = await simulator(sim("gmail", data=[domain_rate, "250 OK"]))
    events: list[SendEvent] = []
    s = make_sender(
        tmp_path, dns_server, sims, events, overrides="[provider.google]\nconnections = 1\n"
    )
    a = await s.submit(message(1, "a@asso-a.example"), mail_from="a@asso-a.example",
                       rcpt_to=["x@gmail.sim.test"])  # fmt: skip
    await s.run_until_idle()
    a2 = await s.submit(message(2, "a@asso-a.example"), mail_from="a@asso-a.example",
                        rcpt_to=["y@gmail.sim.test"])  # fmt: skip
    b = await s.submit(message(3, "b@asso-b.example"), mail_from="b@asso-b.example",
                       rcpt_to=["z@gmail.sim.test"])  # fmt: skip
    await s.run_until_idle()
    assert await s.spool.recipients(a) == {"x@gmail.sim.test": "deferred"}
    assert await s.spool.recipients(a2) == {"y@gmail.sim.test": "deferred"}  # held
    assert await s.spool.recipients(b) == {"z@gmail.sim.test": "delivered"}
    assert ("suspended", "google-domain-rate") in [(e.kind, e.rule) for e in events]
    decision = await s.backend.take_message(("default", "google"), (), tenant="asso-a.example")
    assert decision.suspended == "tenant"


async def test_stats_and_events_are_json_ready(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    import json

    sims = await simulator(sim("yahoo"))
    events: list[SendEvent] = []
    s = make_sender(tmp_path, dns_server, sims, events)
    await s.submit(message(1), mail_from="news@asso.example", rcpt_to=["a@yahoo.sim.test"])
    await s.run_until_idle()
    stats = await s.stats()
    assert stats["default|yahoo"]["delivered"] == 1
    assert stats["default|yahoo"]["attempts"] == 1
    json.dumps(stats)
    json.dumps([e.to_dict() for e in events])
    assert [e.kind for e in events] == ["attempt", "delivered"]


async def test_tls_required_by_the_dataset_is_never_skipped(
    tmp_path: Path, dns_server: DnsTestServer
) -> None:
    sims = await Simulator([sim("gmail")], tls=False).start()  # offers no STARTTLS
    try:
        events: list[SendEvent] = []
        s = make_sender(tmp_path, dns_server, sims, events)
        mid = await s.submit(message(1), mail_from="news@asso.example",
                             rcpt_to=["a@gmail.sim.test"])  # fmt: skip
        await s.run_until_idle()
    finally:
        await sims.stop()
    assert sims["gmail"].received == []
    assert await s.spool.recipients(mid) == {"a@gmail.sim.test": "deferred"}
    deferred = next(e for e in events if e.kind == "deferred")
    assert "TLS required by policy but STARTTLS not offered" in deferred.reply


async def test_each_egress_address_sends_with_its_own_helo_and_budget(
    tmp_path: Path, dns_server: DnsTestServer, simulator: Start
) -> None:
    sims = await simulator(sim("yahoo"))
    events: list[SendEvent] = []
    egress = [Egress("127.0.0.1", "out1.asso.example"), Egress("127.0.0.9", "out9.asso.example")]
    s = make_sender(tmp_path, dns_server, sims, events, egress=egress)
    for n in range(10):
        await s.submit(message(n), mail_from="news@asso.example", rcpt_to=[f"m{n}@yahoo.sim.test"])
    await s.run_until_idle()
    seen = {(m.peer, m.helo) for m in sims["yahoo"].received}
    assert seen == {("127.0.0.1", "out1.asso.example"), ("127.0.0.9", "out9.asso.example")}
    stats = await s.stats()
    assert stats["127.0.0.1|yahoo"]["delivered"] + stats["127.0.0.9|yahoo"]["delivered"] == 10
