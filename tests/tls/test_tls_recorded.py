"""The effective TLS of each delivery, recorded: in the session, the recipient's row of the
real spool, the ``attempt`` event, and TLS failures as ``tls-report`` events. Real parts:
the MTA-STS policy server over HTTPS, aiosmtpd STARTTLS servers with certificates from the
test CA, signed zones for DANE."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mailcheck import DnsResolver
from mailcheck.sending import Sender, SqliteSpool, TlsPolicyCache
from mailcheck.sending.events import EventKind, SendEvent
from mailcheck.sending.session import Egress, SmtpFailure, SmtpTransport
from mailcheck.sending.spool import RecipientRow
from mailcheck.sending.tlspolicy import EffectiveTls
from mailcheck.tls.dnssec import DnssecChecker
from tests.sending.conftest import fast_pace
from tests.tls.certs import TestCa
from tests.tls.conftest import DaneWorld, StartSmtp
from tests.tls.https_server import PolicyServer

MESSAGE = b"From: news@sender.test\r\nSubject: t\r\nMessage-ID: <1@sender.test>\r\n\r\nhi\r\n"
TLS_VERSIONS = ("TLSv1.2", "TLSv1.3")


@dataclasses.dataclass
class Outcome:
    row: RecipientRow
    events: list[SendEvent]

    def of(self, kind: EventKind) -> list[SendEvent]:
        return [e for e in self.events if e.kind is kind]


async def deliver(
    tmp_path: Path, resolver: DnsResolver, ca: TestCa, policies: PolicyServer, port: int,
    domain: str, tag: str = "", **options: object,
) -> Outcome:  # fmt: skip
    """One message to ``u@domain`` through the Sender, MX host ``mx1.<domain>`` on ``port``."""
    cache = TlsPolicyCache(resolver, allow_private=True, cafile=ca.cafile, https_port=policies.port)
    events: list[SendEvent] = []
    async with Sender(
        spool=SqliteSpool(str(tmp_path / f"{domain}.{port}{tag}.db")),
        resolver=resolver,
        pacing=fast_pace,
        tls_policy=cache,
        transport=SmtpTransport(tls_policy=cache, cafile=ca.cafile),
        mx_override={f"mx1.{domain}": ("127.0.0.1", port)},
        on_event=events.append,
        helo="out.sender.test",
        **options,  # type: ignore[arg-type]
    ) as sender:
        await sender.submit(MESSAGE, mail_from="news@sender.test", rcpt_to=[f"u@{domain}"])
        await sender.run_until_idle()
        (row,) = await sender.spool.list()
    return Outcome(row, events)


async def test_enforce_is_recorded_in_the_row_and_the_attempt(
    tmp_path: Path, resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer,
    smtp_server: StartSmtp,
) -> None:  # fmt: skip
    good = await smtp_server(session_ca.issue("good", ["mx1.valid.tlstest.test"]))
    done = await deliver(tmp_path, resolver, session_ca, policies, good.port, "valid.tlstest.test")
    assert done.row.state == "delivered"
    assert done.row.tls == "mta-sts-enforce"
    assert done.row.to_dict()["tls"] == "mta-sts-enforce"
    (attempt,) = done.of(EventKind.ATTEMPT)
    assert attempt.tls == "mta-sts-enforce"
    assert attempt.to_dict()["tls"] == "mta-sts-enforce"
    assert not done.of(EventKind.TLS_REPORT)


async def test_an_enforce_failure_is_a_tls_report_and_records_no_connection(
    tmp_path: Path, resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer,
    smtp_server: StartSmtp,
) -> None:  # fmt: skip
    wrong = await smtp_server(session_ca.issue("wrong", ["elsewhere.tlstest.test"]))
    done = await deliver(tmp_path, resolver, session_ca, policies, wrong.port, "valid.tlstest.test")
    assert done.row.state == "deferred"
    assert done.row.tls is None  # no transaction took place: nothing to record
    assert not done.of(EventKind.ATTEMPT)
    (report,) = done.of(EventKind.TLS_REPORT)
    assert (report.host, report.tls, report.rcpt) == (
        "mx1.valid.tlstest.test",
        "mta-sts-enforce",
        "valid.tlstest.test",
    )
    assert "certificate verify failed" in report.reply
    assert report.to_dict()["host"] == "mx1.valid.tlstest.test"


async def test_testing_mode_with_an_expired_certificate_is_recorded_and_reported(
    tmp_path: Path, resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer,
    smtp_server: StartSmtp,
) -> None:  # fmt: skip
    expired = await smtp_server(session_ca.issue("old", ["mx1.testing.tlstest.test"], expired=True))
    done = await deliver(
        tmp_path, resolver, session_ca, policies, expired.port, "testing.tlstest.test"
    )
    assert done.row.state == "delivered"  # RFC 8461 §5: testing delivers and reports
    assert done.row.tls == "mta-sts-testing"
    (attempt,) = done.of(EventKind.ATTEMPT)
    assert attempt.tls == "mta-sts-testing"
    (report,) = done.of(EventKind.TLS_REPORT)
    assert (report.host, report.tls) == ("mx1.testing.tlstest.test", "mta-sts-testing")
    assert "certificate" in report.reply
    assert report.to_dict()["kind"] == "tls-report"


async def test_without_a_policy_tls_is_opportunistic_or_none(
    tmp_path: Path, resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer,
    smtp_server: StartSmtp,
) -> None:  # fmt: skip
    starttls = await smtp_server(session_ca.issue("any", ["whatever.example"]))
    done = await deliver(
        tmp_path, resolver, session_ca, policies, starttls.port, "bare.tlstest.test"
    )
    assert (done.row.state, done.row.tls) == ("delivered", "opportunistic")
    assert [e.tls for e in done.of(EventKind.ATTEMPT)] == ["opportunistic"]
    plain = await smtp_server(None)
    done = await deliver(tmp_path, resolver, session_ca, policies, plain.port, "bare.tlstest.test")
    assert (done.row.state, done.row.tls) == ("delivered", "none")
    required = await deliver(
        tmp_path, resolver, session_ca, policies, starttls.port, "bare.tlstest.test",
        tag="required", tls="required",
    )  # fmt: skip
    assert (required.row.state, required.row.tls) == ("delivered", "required")
    for outcome in (done, required):
        assert not outcome.of(EventKind.TLS_REPORT)


async def test_the_session_tells_its_tls_and_version(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer, smtp_server: StartSmtp
) -> None:
    cache = TlsPolicyCache(
        resolver, allow_private=True, cafile=session_ca.cafile, https_port=policies.port
    )
    await cache.apply("valid.tlstest.test", ["mx1.valid.tlstest.test"])
    transport = SmtpTransport(tls_policy=cache, cafile=session_ca.cafile)
    good = await smtp_server(session_ca.issue("good", ["mx1.valid.tlstest.test"]))
    plain = await smtp_server(None)
    cases = [("mx1.valid.tlstest.test", good.port, "mta-sts-enforce", TLS_VERSIONS)]
    cases += [("mx1.bare.tlstest.test", good.port, "opportunistic", TLS_VERSIONS)]
    cases += [("mx1.bare.tlstest.test", plain.port, "none", ("",))]
    for host, port, tls, versions in cases:
        session = await transport.connect(
            ("127.0.0.1", port), host=host, egress=Egress(helo="s.test"), tls=None, timeout=10
        )
        try:
            assert (session.tls, session.tls_report) == (tls, None)
            assert session.tls_version in versions
        finally:
            await session.quit()


async def test_dane_is_recorded_and_a_mismatch_carries_its_report(
    dane: DaneWorld, smtp_server: StartSmtp
) -> None:
    resolver = DnsResolver([dane.server.address], timeout=2.0)
    checker = DnssecChecker([dane.server.address], trust_anchors=dane.anchors, timeout=2.0)
    cache = TlsPolicyCache(resolver, dnssec=checker)
    await cache.apply("tlssec.test", ["mx1.tlssec.test", "mx3.tlssec.test"])
    transport = SmtpTransport(tls_policy=cache)
    server = await smtp_server(dane.certificate)
    session = await transport.connect(
        ("127.0.0.1", server.port), host="mx1.tlssec.test", egress=Egress(), tls=None, timeout=10
    )
    assert session.tls == EffectiveTls.DANE
    assert session.tls_version in TLS_VERSIONS
    await session.quit()
    with pytest.raises(SmtpFailure) as failed:
        await transport.connect(
            ("127.0.0.1", server.port), host="mx3.tlssec.test", egress=Egress(), tls=None,
            timeout=10,
        )  # fmt: skip
    assert failed.value.report is not None
    assert failed.value.report.reason == "no TLSA record matches the certificate"
    assert EffectiveTls.of(failed.value.report.mode) == "dane"
