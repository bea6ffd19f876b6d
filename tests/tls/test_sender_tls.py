"""The Sender obeys MTA-STS end to end: the real spool, the policy served over HTTPS on
loopback, STARTTLS servers with certificates from the test CA."""

from __future__ import annotations

from pathlib import Path

from mailcheck import DnsResolver
from mailcheck.sending import Sender, SqliteSpool, TlsPolicyCache
from mailcheck.sending.events import SendEvent
from mailcheck.sending.session import SmtpTransport
from tests.sending.conftest import fast_pace
from tests.tls.certs import TestCa
from tests.tls.conftest import StartSmtp
from tests.tls.https_server import PolicyServer

MESSAGE = b"From: news@sender.test\r\nSubject: t\r\nMessage-ID: <1@sender.test>\r\n\r\nhi\r\n"


async def deliver(
    tmp_path: Path, resolver: DnsResolver, ca: TestCa, policies: PolicyServer, port: int,
    domain: str,
) -> tuple[list[SendEvent], TlsPolicyCache, str, str]:  # fmt: skip
    cache = TlsPolicyCache(resolver, allow_private=True, cafile=ca.cafile, https_port=policies.port)
    events: list[SendEvent] = []
    async with Sender(
        spool=SqliteSpool(str(tmp_path / f"{domain}.{port}.db")),
        resolver=resolver,
        pacing=fast_pace,
        tls_policy=cache,
        transport=SmtpTransport(tls_policy=cache, cafile=ca.cafile),
        mx_override={f"mx1.{domain}": ("127.0.0.1", port)},
        on_event=events.append,
        helo="out.sender.test",
    ) as sender:
        mid = await sender.submit(MESSAGE, mail_from="news@sender.test", rcpt_to=[f"u@{domain}"])
        await sender.run_until_idle()
        (row,) = await sender.spool.list()
        state = (await sender.spool.recipients(mid))[f"u@{domain}"]
    return events, cache, state, row.last_reply or ""


async def test_enforce_defers_on_a_wrong_certificate_and_delivers_on_a_good_one(
    tmp_path: Path, resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer,
    smtp_server: StartSmtp,
) -> None:  # fmt: skip
    wrong = await smtp_server(session_ca.issue("wrong", ["elsewhere.tlstest.test"]))
    _, cache, state, reply = await deliver(
        tmp_path, resolver, session_ca, policies, wrong.port, "valid.tlstest.test"
    )
    assert state == "deferred"  # never sent in clear, never to an unauthenticated host
    assert "certificate verify failed" in reply
    assert reply.endswith("(enforce)")  # the policy that decided, in the recipient's state
    assert [r.delivered for r in cache.reports] == [False]
    good = await smtp_server(session_ca.issue("good", ["mx1.valid.tlstest.test"]))
    _, cache, state, _ = await deliver(
        tmp_path, resolver, session_ca, policies, good.port, "valid.tlstest.test"
    )
    assert state == "delivered"


async def test_testing_mode_delivers_and_reports(
    tmp_path: Path, resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer,
    smtp_server: StartSmtp,
) -> None:  # fmt: skip
    expired = await smtp_server(session_ca.issue("old", ["mx1.testing.tlstest.test"], expired=True))
    _, cache, state, _ = await deliver(
        tmp_path, resolver, session_ca, policies, expired.port, "testing.tlstest.test"
    )
    assert state == "delivered"
    (report,) = cache.reports
    assert report.delivered
    assert "certificate" in report.reason
