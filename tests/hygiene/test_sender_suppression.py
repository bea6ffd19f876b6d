"""The Sender and the suppression list, end to end: the real spool, real aiosmtpd sinks on
loopback, replies scripted per recipient."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcheck.hygiene.rates import ComplaintPolicy, SoftBouncePolicy
from mailcheck.hygiene.tokens import TRACKING_HEADER, verify_unsubscribe, verp_recipient_id
from mailcheck.hygiene.verp import UnsubscribeConfig, VerpConfig
from mailcheck.lookup.zonefile import ZoneResolver
from mailcheck.sending.events import SendEvent
from mailcheck.sending.sender import Sender
from mailcheck.sending.spool import TRANSACTIONAL, SqliteSpool
from tests.sending.conftest import Sink, fast_pace

ZONE = str(Path(__file__).parent.parent / "zones" / "sending.test.zone")
MX = "mx.plain.sending.test"
TENANT = "asso.example"
NEWS = "asso.example/news"
SECRET = b"0123456789abcdef0123456789abcdef"


def newsletter(n: int, sender: str = "news@asso.example") -> bytes:
    return (
        f"From: {sender}\r\nTo: members\r\nSubject: letter {n}\r\n"
        f"Message-ID: <{n}.{sender}>\r\n\r\nbody {n}\r\n"
    ).encode()


def make_sender(tmp_path: Path, sink: Sink, events: list[SendEvent], **kw: Any) -> Sender:
    spool = SqliteSpool(str(tmp_path / "q.db"), backoff=60)
    return Sender(
        pacing=fast_pace,
        spool=spool,
        resolver=ZoneResolver([ZONE]),
        mx_override={MX: ("127.0.0.1", sink.port)},
        on_event=events.append,
        helo="out.asso.example",
        **kw,
    )


def kinds(events: list[SendEvent], kind: str) -> list[str]:
    return [e.rcpt for e in events if e.kind == kind]


@dataclasses.dataclass
class HookSink(Sink):
    """A sink that runs ``hook(recipients)`` when DATA begins (before it answers)."""

    hook: Callable[[list[str]], Awaitable[None]] | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.hook is not None:
            await self.hook(list(envelope.rcpt_tos))
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
async def hook_sink(request: pytest.FixtureRequest) -> AsyncIterator[HookSink]:
    """A loopback aiosmtpd server scripted by ``@pytest.mark.smtp_replies`` (as the
    sending tests' ``smtp_sink``) that can also run a hook at DATA."""
    marker = request.node.get_closest_marker("smtp_replies")
    sink = HookSink(**(marker.kwargs if marker else {}))
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(sink, hostname="mx.sink.test", ident="sink"), "127.0.0.1", 0
    )
    sink.port = server.sockets[0].getsockname()[1]
    yield sink
    server.close()
    await server.wait_closed()


MEMBERS = [f"m{n}@plain.sending.test" for n in range(20)]
GONE = ["gone1@plain.sending.test", "Gone2@plain.sending.test"]
POLICY = "policy@plain.sending.test"
FULL = "full@plain.sending.test"


@pytest.mark.smtp_replies(
    rcpt={
        GONE[0]: ["550 5.1.1 <gone1@plain.sending.test>: Recipient address rejected"],
        GONE[1]: ["550 5.1.1 The email account that you tried to reach does not exist"],
        POLICY: ["550 5.7.1 Message rejected as spam by Content Filtering"],
        FULL: ["452 4.2.2 Mailbox full"],
    }
)
async def test_next_newsletter_skips_hard_bounces_and_complaints(
    tmp_path: Path, hook_sink: HookSink
) -> None:
    """Newsletter 1: two addresses answer 550 5.1.1 (suppressed at once), one 550 5.7.1
    (a policy refusal: never suppressed), one 452 4.2.2 (a soft bounce, counted; the
    second newsletter's makes two: suppressed); then a
    member complains (recorded as ARF ingest records it). Newsletter 2 to the same list
    queues none of the suppressed, each reported once with its reason."""
    events: list[SendEvent] = []
    policy = ComplaintPolicy(min_delivered=1000)  # one complaint judges no rate here
    soft = SoftBouncePolicy(count=2)  # two messages to a full mailbox suppress it
    s = make_sender(tmp_path, hook_sink, events, complaints=policy, soft_bounces=soft)
    everyone = [*MEMBERS, *GONE, POLICY, FULL]
    first = await s.submit_checked(
        newsletter(1), mail_from="news@asso.example", rcpt_to=everyone, tenant=TENANT, list=NEWS
    )
    assert first.suppressed == ()
    await s.run_until_idle()
    states = await s.spool.recipients(first.message_id)
    assert [r for r in everyone if states[r] == "bounced"] == [*GONE, POLICY]
    assert states[FULL] == "deferred"
    for gone in GONE:
        entry = await s.suppressions.get(gone)
        assert entry is not None
        assert entry.reason == "hard-bounce"
        assert entry.source.startswith("550 5.1.1")
    assert not await s.suppressions.is_suppressed(POLICY, tenant=TENANT)
    assert not await s.suppressions.is_suppressed(FULL)  # one soft-bounced message of 2
    # A complaint about m3, matched to its recipient id as a VERP token would be.
    (row,) = [r for r in await s.spool.list(limit=1000) if r.rcpt == MEMBERS[3]]
    outcome = await s.suppressions.record_complaint(recipient_id=row.id, source="arf-1")
    assert (outcome.tenant, outcome.status) == (TENANT, "ok")
    assert outcome.provider == MX  # the provider group recorded at delivery
    assert outcome.tenant_rate.delivered == 20
    assert outcome.tenant_rate.complaints == 1

    second = await s.submit_checked(
        newsletter(2), mail_from="news@asso.example", rcpt_to=everyone, tenant=TENANT, list=NEWS
    )
    stopped = dict(second.suppressed)
    assert sorted(stopped) == sorted([*GONE, MEMBERS[3]])
    assert stopped[MEMBERS[3]].startswith("suppressed: complaint (tenant asso.example)")
    assert POLICY in second.queued
    assert FULL in second.queued
    hook_sink.received.clear()
    await s.run_until_idle()
    stats = await s.hygiene_stats()
    await s.close()
    # 20 + 19 members delivered; 2 hard bounces and the policy refusal twice bounced.
    assert {k: stats["tenants"][TENANT][k] for k in ("delivered", "bounced", "complaints")} == {
        "delivered": 39, "bounced": 4, "complaints": 1,
    }  # fmt: skip
    assert stats["providers"][MX]["bounce_rate"] == pytest.approx(4 / 43)
    assert stats["suppressions"]["reasons"] == {
        "hard-bounce": 2, "complaint": 1, "soft-bounce-limit": 1,
    }  # fmt: skip
    full = await s.suppressions.get(FULL)  # the second newsletter soft-bounced too
    assert full is not None
    assert full.reason == "soft-bounce-limit"
    assert full.expires is not None
    sent = hook_sink.delivered_to()
    assert not set(sent) & set(stopped)
    assert MEMBERS[0] in sent
    # Reported once each: the suppressed events of the second newsletter.
    assert sorted(kinds(events, "suppressed")) == sorted(stopped)
    # Another tenant's mail to the complainer still goes: the complaint was about asso.
    other = await s.submit_checked(
        newsletter(3, "info@club.example"), mail_from="info@club.example",
        rcpt_to=[MEMBERS[3]], tenant="club.example",
    )  # fmt: skip
    assert other.queued == (MEMBERS[3],)


async def test_a_suppression_added_while_mail_waits_applies(
    tmp_path: Path, hook_sink: HookSink
) -> None:
    """Added before the run: the claim stops it. Added while the message is already
    claimed and waiting in memory (during the previous message's DATA): the check just
    before its transaction stops it. Reported once, never sent."""
    events: list[SendEvent] = []
    s = make_sender(tmp_path, hook_sink, events)
    early = await s.submit(newsletter(1), mail_from="news@asso.example",
                           rcpt_to=["early@plain.sending.test"], tenant=TENANT)  # fmt: skip
    await s.suppressions.add("early@plain.sending.test", reason="unsubscribe", source="post 1")
    first = await s.submit(newsletter(2), mail_from="news@asso.example",
                           rcpt_to=["first@plain.sending.test"], tenant=TENANT)  # fmt: skip
    late = await s.submit(newsletter(3), mail_from="news@asso.example",
                          rcpt_to=["late@plain.sending.test"], tenant=TENANT)  # fmt: skip

    async def unsubscribe_late(rcpts: list[str]) -> None:
        if rcpts == ["first@plain.sending.test"]:
            await s.suppressions.add("late@plain.sending.test", reason="unsubscribe",
                                     tenant=TENANT, source="post 2")  # fmt: skip

    hook_sink.hook = unsubscribe_late
    await s.run_until_idle()
    await s.run_until_idle()
    await s.close()
    assert hook_sink.delivered_to() == ["first@plain.sending.test"]
    assert await s.spool.recipients(early) == {"early@plain.sending.test": "suppressed"}
    assert await s.spool.recipients(first) == {"first@plain.sending.test": "delivered"}
    assert await s.spool.recipients(late) == {"late@plain.sending.test": "suppressed"}
    suppressed = [e for e in events if e.kind == "suppressed"]
    assert [e.rcpt for e in suppressed] == ["early@plain.sending.test", "late@plain.sending.test"]
    assert suppressed[1].reply == "suppressed: unsubscribe (tenant asso.example): post 2"
    (row,) = await s.spool.list(state="suppressed", limit=1)
    assert row.last_reply.startswith("suppressed: unsubscribe (global)")


async def test_a_complaint_rate_pauses_that_tenants_bulk_mail_only(
    tmp_path: Path, hook_sink: HookSink
) -> None:
    """1 complaint in 21 delivered (4.8 % > 0.3 %) pauses asso's bulk mail: its next
    newsletter waits, also the part already in memory; its transactional mail and another
    tenant's newsletter still go. One ``tenant-paused`` event says why."""
    events: list[SendEvent] = []
    s = make_sender(tmp_path, hook_sink, events, complaints=ComplaintPolicy(min_delivered=20))
    await s.submit(newsletter(1), mail_from="news@asso.example", rcpt_to=MEMBERS, tenant=TENANT)
    await s.run_until_idle()
    assert len(hook_sink.delivered_to()) == 20
    hook_sink.received.clear()
    # Newsletter 2 is claimed with the rest; the complaint arrives during its first DATA.
    letter2 = [f"n{n}@plain.sending.test" for n in range(5)]
    for rcpt in letter2:
        await s.submit(newsletter(10), mail_from="news@asso.example", rcpt_to=[rcpt],
                       tenant=TENANT)  # fmt: skip
    club = await s.submit(newsletter(20, "info@club.example"), mail_from="info@club.example",
                          rcpt_to=MEMBERS[:3], tenant="club.example")  # fmt: skip
    reset = await s.submit(newsletter(30, "noreply@asso.example"),
                           mail_from="noreply@asso.example", rcpt_to=[MEMBERS[5]],
                           tenant=TENANT, priority=TRANSACTIONAL)  # fmt: skip
    outcomes = []

    async def complain(rcpts: list[str]) -> None:
        if rcpts == [letter2[0]] and not outcomes:
            outcomes.append(await s.suppressions.record_complaint(
                MEMBERS[7], tenant=TENANT, provider="yahoo", source="arf-2"))  # fmt: skip

    hook_sink.hook = complain
    await s.run_until_idle()
    await s.close()
    (outcome,) = outcomes
    assert outcome.status == "paused"
    # The password reset went first (transactional), then the complaint came: 1 in 21.
    assert outcome.tenant_rate.complaint_rate == pytest.approx(1 / 21)
    sent = hook_sink.delivered_to()
    assert sorted(sent) == sorted([letter2[0], *MEMBERS[:3], MEMBERS[5]])
    assert await s.spool.recipients(club) == dict.fromkeys(MEMBERS[:3], "delivered")
    assert await s.spool.recipients(reset) == {MEMBERS[5]: "delivered"}
    waiting = await s.spool.list(state="deferred", limit=100)
    assert sorted(r.rcpt for r in waiting) == sorted(letter2[1:])
    assert all(r.last_reply.startswith("tenant paused") for r in waiting)
    paused = [e for e in events if e.kind == "tenant-paused"]
    assert [e.rcpt for e in paused] == [TENANT]
    assert "complaint rate 4.76% (1 complaints / 21 delivered" in paused[0].reply
    assert [p.tenant for p in await s.suppressions.pauses()] == [TENANT]
    # Lifted: the newsletter goes.
    assert await s.suppressions.resume_tenant(TENANT)
    await s.spool.retry()
    await s.run_until_idle()
    assert sorted(hook_sink.delivered_to()) == sorted(sent + letter2[1:])


async def test_verp_one_transaction_per_recipient_with_its_token(
    tmp_path: Path, hook_sink: HookSink
) -> None:
    sink = hook_sink
    events: list[SendEvent] = []
    verp = VerpConfig(domain="bounces.asso.example", secret=SECRET)
    s = make_sender(tmp_path, sink, events, verp=verp)
    rcpts = ["a@plain.sending.test", "b@plain.sending.test", "c@plain.sending.test"]
    mid = await s.submit(newsletter(1), mail_from="news@asso.example", rcpt_to=rcpts,
                         tenant=TENANT)  # fmt: skip
    await s.run_until_idle()
    await s.close()
    assert sorted(m.rcpt_to[0] for m in sink.received) == rcpts
    assert all(len(m.rcpt_to) == 1 for m in sink.received)
    ids = {r.rcpt: r.id for r in await s.spool.list(limit=10)}
    for message in sink.received:
        assert message.mail_from.startswith("bounces+")
        assert message.mail_from.endswith("@bounces.asso.example")
        assert verp_recipient_id(message.mail_from, secret=SECRET) == ids[message.rcpt_to[0]]
        assert message.data.startswith(TRACKING_HEADER.encode() + b": ")
    assert await s.spool.recipients(mid) == dict.fromkeys(rcpts, "delivered")
    # A forged return path names nobody.
    assert verp_recipient_id("bounces+aaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x", secret=SECRET) is None
    assert "secret" not in repr(verp) or SECRET.decode() not in repr(verp)


class Signer:
    """Prepends a stand-in signature header (what a DKIM signer does to the bytes)."""

    def __init__(self) -> None:
        self.signed: list[bytes] = []

    def sign(self, message: bytes, /) -> bytes:
        self.signed.append(message)
        return b"DKIM-Signature: v=1; test\r\n" + message


async def test_unsubscribe_headers_per_recipient_signed_with_the_copy(
    tmp_path: Path, hook_sink: HookSink
) -> None:
    """A bulk message to a list gets each recipient's RFC 8058 headers, then the
    signature over them; the token names that recipient and list, and the suppression
    it leads to stops the next newsletter. Transactional mail gets no such headers."""
    events: list[SendEvent] = []
    signer = Signer()
    unsub = UnsubscribeConfig(url="https://panel.asso.example/unsubscribe", secret=SECRET,
                              mailto="unsubscribe@asso.example")  # fmt: skip
    s = make_sender(tmp_path, hook_sink, events, signer=signer, unsubscribe=unsub)
    rcpts = ["a@plain.sending.test", "b@plain.sending.test"]
    await s.submit(newsletter(1), mail_from="news@asso.example", rcpt_to=rcpts,
                   tenant=TENANT, list=NEWS)  # fmt: skip
    await s.submit(newsletter(2, "noreply@asso.example"), mail_from="noreply@asso.example",
                   rcpt_to=rcpts[:1], tenant=TENANT, priority=TRANSACTIONAL)  # fmt: skip
    assert signer.signed == []  # nothing signed at submission: each copy is, when sent
    await s.run_until_idle()
    bulk = [m for m in hook_sink.received if b"letter 1" in m.data]
    assert sorted(m.rcpt_to[0] for m in bulk) == rcpts
    for message in bulk:
        assert message.data.startswith(b"DKIM-Signature: v=1; test\r\nList-Unsubscribe: <https:")
        head = message.data.split(b"\r\n\r\n")[0].decode()
        assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in head
        token = head.split("?t=")[1].split(">")[0]
        asked = verify_unsubscribe(token, secret=SECRET)
        assert (asked.address, asked.list) == (message.rcpt_to[0], NEWS)
    (urgent,) = [m for m in hook_sink.received if b"letter 2" in m.data]
    assert b"List-Unsubscribe" not in urgent.data
    assert urgent.data.startswith(b"DKIM-Signature:")
    # The panel's endpoint verified b's POST: b leaves the list.
    await s.suppressions.add(asked.address, reason="unsubscribe", list=asked.list,
                             source="one-click POST")  # fmt: skip
    again = await s.submit_checked(newsletter(3), mail_from="news@asso.example",
                                   rcpt_to=rcpts, tenant=TENANT, list=NEWS)  # fmt: skip
    assert [r for r, _ in again.suppressed] == [asked.address]
    await s.close()


@pytest.mark.smtp_replies(data=["550 5.1.1 user unknown (LMTP)"])
async def test_a_refused_message_suppresses_only_a_lone_recipient(
    tmp_path: Path, hook_sink: HookSink
) -> None:
    """A 5.1.1 at DATA names the recipient when it is the only one (one copy per
    recipient with VERP); with several recipients it is about the message: bounced, not
    suppressed."""
    events: list[SendEvent] = []
    s = make_sender(tmp_path, hook_sink, events)
    pair = ["p@plain.sending.test", "q@plain.sending.test"]
    both = await s.submit(newsletter(1), mail_from="news@asso.example", rcpt_to=pair,
                          tenant=TENANT)  # fmt: skip
    await s.run_until_idle()
    assert await s.spool.recipients(both) == dict.fromkeys(pair, "bounced")
    assert (await s.suppressions.counts())["total"] == 0
    alone = await s.submit(newsletter(2), mail_from="news@asso.example",
                           rcpt_to=["r@plain.sending.test"], tenant=TENANT)  # fmt: skip
    await s.run_until_idle()
    await s.close()
    assert await s.spool.recipients(alone) == {"r@plain.sending.test": "bounced"}
    entry = await s.suppressions.get("r@plain.sending.test")
    assert entry is not None
    assert entry.reason == "hard-bounce"
