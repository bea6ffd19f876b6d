"""Recipients whose domain takes no mail (NXDOMAIN, a null MX) are bounced by the Sender's
router and suppressed for 90 days; a DNS failure only defers. Real parts: the zone-serving
DNS server (``tests/zones/nomail.test.zone``), the real spool, an aiosmtpd sink on
loopback for the domain that takes mail."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from mailcheck.cli.main import main
from mailcheck.lookup import DnsResolver
from mailcheck.sending.events import SendEvent
from mailcheck.sending.sender import Sender
from mailcheck.sending.spool import TRANSACTIONAL, SqliteSpool
from tests.dnsserver import DnsTestServer
from tests.sending.conftest import Sink, fast_pace

MX = "mx.live.nomail.test"
TENANT = "asso.example"
NEWS = "asso.example/news"
DAY = 86400.0
#: The documented choice (docs/hygiene.md): a dead domain's recipients come back after 90 days.
EXPIRY = 90 * DAY

MEMBERS = [f"m{n}@live.nomail.test" for n in range(5)]
NULL_MX = ["a@nullmx.nomail.test", "Bea@nullmx.nomail.test"]
GONE = "c@gone.nomail.test"
FLAKY = "d@flaky.nomail.test"


class Clock:
    """A wall clock the test moves (the spool's, the list's and the Sender's)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def sink_server() -> AsyncIterator[Sink]:
    """An aiosmtpd sink on loopback accepting everything (the domain that takes mail)."""
    sink = Sink()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(sink, hostname="mx.sink.test", ident="sink"), "127.0.0.1", 0
    )
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


def letter(n: int) -> bytes:
    return (
        f"From: news@asso.example\r\nTo: members\r\nSubject: letter {n}\r\n"
        f"Message-ID: <{n}.news@asso.example>\r\n\r\nbody {n}\r\n"
    ).encode()


def make_sender(
    spool: SqliteSpool, dns: DnsTestServer, sink: Sink, clock: Clock, events: list[SendEvent],
    **kw: Any,
) -> Sender:  # fmt: skip
    # A fresh resolver and router each time: every answer comes from the server, counted.
    return Sender(
        spool=spool,
        resolver=DnsResolver([dns.address], timeout=1.0),
        mx_override={MX: ("127.0.0.1", sink.port)},
        pacing=fast_pace,
        helo="out.asso.example",
        clock=clock,
        on_event=events.append,
        **kw,
    )


async def first_newsletter(
    path: Path, dns: DnsTestServer, sink: Sink, clock: Clock, events: list[SendEvent],
    **kw: Any,
) -> tuple[Sender, int]:  # fmt: skip
    """Newsletter 1 to the members, the null-MX and missing domains' recipients and one
    whose DNS fails; run until nothing is due."""
    spool = SqliteSpool(str(path), backoff=60, clock=clock, jitter=0.0)
    sender = make_sender(spool, dns, sink, clock, events, **kw)
    done = await sender.submit_checked(
        letter(1), mail_from="news@asso.example", rcpt_to=[*MEMBERS, *NULL_MX, GONE, FLAKY],
        tenant=TENANT, list=NEWS,
    )  # fmt: skip
    assert done.suppressed == ()
    await sender.run_until_idle()
    return sender, done.message_id


async def test_no_mail_domains_are_suppressed_and_skipped_next_time(
    tmp_path: Path, dns_server: DnsTestServer
) -> None:
    """Null MX and NXDOMAIN: bounced and suppressed (global, hard-bounce, the reason in
    the source, 90 days); SERVFAIL: deferred, never suppressed, delivered once DNS answers.
    The next newsletter, sent by another Sender on the same spool, does not queue the
    suppressed recipients and never asks DNS about their domains again."""
    dns_server.behave("flaky.nomail.test", servfail=True)
    clock, events = Clock(), list[SendEvent]()
    async with sink_server() as sink:
        sender, mid = await first_newsletter(tmp_path / "q.db", dns_server, sink, clock, events)
        states = await sender.spool.recipients(mid)
        assert {r: states[r] for r in [*NULL_MX, GONE, FLAKY]} == {
            NULL_MX[0]: "bounced", NULL_MX[1]: "bounced", GONE: "bounced", FLAKY: "deferred",
        }  # fmt: skip
        assert sorted(sink.delivered_to()) == MEMBERS
        bounced = {e.rcpt: e.reply for e in events if e.kind == "bounced"}
        assert bounced[NULL_MX[0]].startswith("550 5.1.10 ")
        assert bounced[GONE].startswith("550 5.1.2 ")

        for rcpt in NULL_MX:
            entry = await sender.suppressions.get(rcpt)
            assert entry is not None
            assert (entry.reason, entry.scope) == ("hard-bounce", "global")
            assert entry.source == f"null MX (RFC 7505) for nullmx.nomail.test (message {mid})"
            assert entry.created == clock.now
            assert entry.expires == clock.now + EXPIRY
        gone = await sender.suppressions.get(GONE)
        assert gone is not None
        assert gone.source == f"no such domain (NXDOMAIN): gone.nomail.test (message {mid})"
        assert gone.expires == clock.now + EXPIRY
        # A DNS failure is "could not check": deferred, not suppressed.
        assert await sender.suppressions.get(FLAKY) is None
        assert (await sender.suppressions.counts())["reasons"] == {"hard-bounce": 3}
        # Global: every tenant's mail, transactional mail too.
        assert await sender.suppressions.is_suppressed(GONE, tenant="another.example")
        await sender.close()

        dns_server.reset()  # DNS answers for flaky.nomail.test again; the log starts empty
        clock.now += 61  # flaky's retry falls due
        second = make_sender(sender.spool, dns_server, sink, clock, events)
        done = await second.submit_checked(
            letter(2), mail_from="news@asso.example", rcpt_to=[*MEMBERS, *NULL_MX, GONE, FLAKY],
            tenant=TENANT, list=NEWS,
        )  # fmt: skip
        stopped = dict(done.suppressed)
        assert sorted(stopped) == sorted([*NULL_MX, GONE])
        assert stopped[NULL_MX[1]].startswith("suppressed: hard-bounce (global): null MX")
        assert stopped[GONE].startswith("suppressed: hard-bounce (global): no such domain")
        receipt = await second.submit_checked(
            b"Subject: your receipt\r\n\r\nthanks\r\n", mail_from="shop@asso.example",
            rcpt_to=[GONE], priority=TRANSACTIONAL,
        )  # fmt: skip
        assert [r for r, _ in receipt.suppressed] == [GONE]
        await second.run_until_idle()
        await second.close()
        assert sorted(sink.delivered_to()) == sorted([*MEMBERS, *MEMBERS, FLAKY, FLAKY])
        assert dns_server.count("nullmx.nomail.test") == 0
        assert dns_server.count("gone.nomail.test") == 0
        assert dns_server.count("flaky.nomail.test", "MX") == 1
        second.spool.close()


async def test_stats_and_rates_count_them_per_tenant_not_per_provider(
    tmp_path: Path, dns_server: DnsTestServer
) -> None:
    """No SMTP connection is made for a domain that takes no mail: no budget counts its
    bounces (``Sender.stats()``), no provider's bounce rate does; the tenant's does, and the
    list's counts show the suppressions."""
    clock, events = Clock(), list[SendEvent]()
    async with sink_server() as sink:
        sender, _ = await first_newsletter(tmp_path / "q.db", dns_server, sink, clock, events)
        delivered = len(MEMBERS) + 1  # flaky.nomail.test's DNS answers in this test
        stats = await sender.stats()
        assert sum(b.get("bounced", 0) for b in stats.values()) == 0
        assert sum(b.get("delivered", 0) for b in stats.values()) == delivered
        hygiene = await sender.hygiene_stats()
        tenant = hygiene["tenants"][TENANT]
        assert (tenant["delivered"], tenant["bounced"]) == (delivered, 3)
        assert sum(p["bounced"] for p in hygiene["providers"].values()) == 0
        assert hygiene["suppressions"]["global"] == 3
        assert hygiene["suppressions"]["reasons"] == {"hard-bounce": 3}
        await sender.close()
        sender.spool.close()


async def test_suppression_off_bounces_without_suppressing(
    tmp_path: Path, dns_server: DnsTestServer
) -> None:
    clock, events = Clock(), list[SendEvent]()
    async with sink_server() as sink:
        sender, mid = await first_newsletter(
            tmp_path / "q.db", dns_server, sink, clock, events, suppression=False
        )
        states = await sender.spool.recipients(mid)
        assert [states[r] for r in [*NULL_MX, GONE]] == ["bounced"] * 3
        assert (await sender.suppressions.counts())["total"] == 0
        await sender.close()
        sender.spool.close()


async def test_after_the_expiry_the_domain_is_asked_again(
    tmp_path: Path, dns_server: DnsTestServer
) -> None:
    """90 days later the suppression no longer applies: the recipient is queued, its
    domain asked again; still dead, it is bounced and suppressed for 90 days more."""
    clock, events = Clock(), list[SendEvent]()
    async with sink_server() as sink:
        sender, _ = await first_newsletter(tmp_path / "q.db", dns_server, sink, clock, events)
        await sender.close()
        clock.now += EXPIRY - 1
        assert await sender.suppressions.is_suppressed(GONE)
        clock.now += 1
        assert not await sender.suppressions.is_suppressed(GONE)
        dns_server.reset()
        later = make_sender(sender.spool, dns_server, sink, clock, events)
        done = await later.submit_checked(
            letter(2), mail_from="news@asso.example", rcpt_to=[GONE, NULL_MX[0]], tenant=TENANT
        )
        assert done.suppressed == ()
        await later.run_until_idle()
        assert (await later.spool.recipients(done.message_id))[GONE] == "bounced"
        assert dns_server.count("gone.nomail.test", "MX") == 1
        entry = await later.suppressions.get(GONE)
        assert entry is not None
        assert entry.expires == clock.now + EXPIRY
        await later.close()
        later.spool.close()


def test_spool_status_shows_them(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``mailcheck spool status``: the suppressions by reason and the tenant's bounces."""

    async def send() -> None:
        async with sink_server() as sink:
            sender, _ = await first_newsletter(tmp_path / "spool.db", dns_server, sink, Clock(), [])
            await sender.close()
            sender.spool.close()

    asyncio.run(send())
    code = main(["spool", "status", "--spool", str(tmp_path), "--format", "json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    hygiene = json.loads(out)["hygiene"]
    assert hygiene["suppressions"]["reasons"] == {"hard-bounce": 3}
    assert hygiene["tenants"][TENANT]["bounced"] == 3
    code = main(["spool", "status", "--spool", str(tmp_path)])
    out, _ = capsys.readouterr()
    assert "suppressions 3 (hard-bounce 3)" in out.splitlines()


async def test_suppressed_before_the_bounce_is_recorded(
    tmp_path: Path, dns_server: DnsTestServer
) -> None:
    """The suppression is committed before the bounce: a crash between the two leaves the
    recipient ``sending``, queued again at the next open and stopped at its claim, never
    bounced without its suppression (the order is read from the spool's own SQL trace)."""
    statements: list[str] = []
    clock, events = Clock(), list[SendEvent]()
    spool = SqliteSpool(str(tmp_path / "q.db"), clock=clock)
    sender = make_sender(spool, dns_server, Sink(), clock, events)
    await sender.submit(letter(1), mail_from="news@asso.example", rcpt_to=[GONE])
    spool.trace(statements.append)
    await sender.run_until_idle()
    spool.trace(None)
    await sender.close()
    suppress = [i for i, s in enumerate(statements) if s.startswith("INSERT INTO suppressions")]
    bounce = [i for i, s in enumerate(statements) if "SET state=" in s and "'bounced'" in s]
    assert suppress
    assert bounce
    assert suppress[0] < bounce[0]
    spool.close()
    # What a crash between the two would leave: the entry, and the recipient ``sending``
    # (claimed; queued by a spool that does not check, so that the entry lets it through).
    spool = SqliteSpool(str(tmp_path / "q.db"), clock=clock, suppression=False)
    mid = await spool.submit(letter(2), mail_from="news@asso.example", rcpt_to=[GONE])
    assert len(await spool.claim()) == 1
    spool.close()
    spool = SqliteSpool(str(tmp_path / "q.db"), clock=clock)  # recovery: queued again
    assert (await spool.recipients(mid))[GONE] == "queued"
    assert await spool.claim() == []
    assert (await spool.recipients(mid))[GONE] == "suppressed"
    spool.close()
