"""The sender's side: MTA-STS and DANE obeyed by the Router and the SMTP transport,
against the real policy server, STARTTLS servers and signed zones."""

from __future__ import annotations

import pytest

from mailcheck import DnsResolver
from mailcheck.errors import TempError
from mailcheck.sending.routing import Router
from mailcheck.sending.session import Egress, SmtpFailure, SmtpTransport
from mailcheck.sending.tlspolicy import TlsMode, TlsPolicyCache
from mailcheck.tls.dnssec import DnssecChecker
from mailcheck.tls.types import MtaStsMode
from tests.dnsserver import DnsTestServer
from tests.tls.certs import TestCa
from tests.tls.conftest import DaneWorld, StartSmtp
from tests.tls.https_server import PolicyServer


def policies_for(
    resolver: DnsResolver, ca: TestCa, server: PolicyServer, **options: object
) -> TlsPolicyCache:
    return TlsPolicyCache(
        resolver, allow_private=True, cafile=ca.cafile, https_port=server.port, **options
    )  # type: ignore[arg-type]


def router(resolver: DnsResolver, cache: TlsPolicyCache) -> Router:
    return Router(resolver, lambda domain, hosts: "default", tls_policy=cache)


async def send_one(transport: SmtpTransport, host: str, port: int) -> str:
    session = await transport.connect(
        ("127.0.0.1", port), host=host, egress=Egress(helo="sender.test"), tls=None, timeout=10
    )
    await session.mail("a@sender.test")
    await session.rcpt(f"b@{host.split('.', 1)[1]}")
    reply = await session.data(b"Subject: t\r\n\r\nhello\r\n")
    await session.quit()
    return reply


async def test_policy_cached_per_id_and_max_age(
    resolver: DnsResolver, dns_server: DnsTestServer, session_ca: TestCa, policies: PolicyServer
) -> None:
    clock = [1_000_000.0]
    cache = policies_for(resolver, session_ca, policies, clock=lambda: clock[0])
    first = await cache.policy("valid.tlstest.test")
    assert first is not None
    assert first.mode is MtaStsMode.ENFORCE
    assert await cache.policy("valid.tlstest.test") == first
    assert cache.fetches == 1  # the TXT id did not change: no second fetch
    saved = dns_server.zoneset
    try:
        # The domain changes its policy id: the policy is fetched again.
        dns_server.add_zone(
            "_mta-sts.valid.tlstest.test.",
            '$TTL 0\n@ SOA ns hostmaster 1 3600 600 86400 0\n@ TXT "v=STSv1; id=changed;"\n',
        )
        resolver.clear_cache()
        await cache.policy("valid.tlstest.test")
        assert cache.fetches == 2
    finally:
        dns_server.zoneset = saved
    resolver.clear_cache()
    await cache.policy("valid.tlstest.test")
    assert cache.fetches == 3  # back to the first id: a different id again
    clock[0] += first.max_age + 1
    await cache.policy("valid.tlstest.test")
    assert cache.fetches == 4  # max_age ran out


async def test_cached_policy_survives_a_dns_failure(
    resolver: DnsResolver, dns_server: DnsTestServer, session_ca: TestCa, policies: PolicyServer
) -> None:
    cache = policies_for(resolver, session_ca, policies)
    assert await cache.policy("valid.tlstest.test") is not None
    dns_server.behave("_mta-sts.valid.tlstest.test", servfail=True)
    resolver.clear_cache()
    policy = await cache.policy("valid.tlstest.test")
    assert policy is not None  # RFC 8461 §5.1: a cached policy stays in force
    assert cache.fetches == 1


async def test_enforce_keeps_only_matching_hosts(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer
) -> None:
    cache = policies_for(resolver, session_ca, policies)
    routed = await router(resolver, cache).route("valid.tlstest.test")
    assert routed.hosts == ("mx1.valid.tlstest.test",)  # type: ignore[union-attr]
    requirement = cache.for_host("mx1.valid.tlstest.test")
    assert requirement is not None
    assert requirement.mode is TlsMode.ENFORCE
    assert requirement.domains == ("valid.tlstest.test",)
    with pytest.raises(TempError):
        await router(resolver, cache).route("uncovered.tlstest.test")  # mx1 matches no pattern


async def test_enforce_delivers_with_a_valid_certificate_and_defers_without(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer, smtp_server: StartSmtp
) -> None:
    cache = policies_for(resolver, session_ca, policies)
    await router(resolver, cache).route("valid.tlstest.test")
    transport = SmtpTransport(tls_policy=cache, cafile=session_ca.cafile)
    good = await smtp_server(session_ca.issue("good", ["mx1.valid.tlstest.test"]))
    assert (await send_one(transport, "mx1.valid.tlstest.test", good.port)).startswith("250")
    wrong = await smtp_server(session_ca.issue("wrong", ["elsewhere.tlstest.test"]))
    with pytest.raises(SmtpFailure):
        await send_one(transport, "mx1.valid.tlstest.test", wrong.port)
    plain = await smtp_server(None)
    with pytest.raises(SmtpFailure, match="STARTTLS not offered"):
        await send_one(transport, "mx1.valid.tlstest.test", plain.port)
    assert [(r.mode, r.delivered) for r in cache.reports] == [(TlsMode.ENFORCE, False)] * 2


async def test_testing_mode_delivers_and_reports(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer, smtp_server: StartSmtp
) -> None:
    cache = policies_for(resolver, session_ca, policies)
    await router(resolver, cache).route("testing.tlstest.test")
    transport = SmtpTransport(tls_policy=cache, cafile=session_ca.cafile)
    expired = await smtp_server(session_ca.issue("old", ["mx1.testing.tlstest.test"], expired=True))
    assert (await send_one(transport, "mx1.testing.tlstest.test", expired.port)).startswith("250")
    (report,) = cache.reports
    assert report.mode is TlsMode.TESTING
    assert report.delivered
    assert "certificate" in report.reason
    assert report.to_dict()["domains"] == ["testing.tlstest.test"]


async def test_no_policy_is_opportunistic(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer, smtp_server: StartSmtp
) -> None:
    cache = policies_for(resolver, session_ca, policies)
    routed = await router(resolver, cache).route("bare.tlstest.test")
    assert routed.hosts == ("mx1.bare.tlstest.test",)  # type: ignore[union-attr]
    transport = SmtpTransport(tls_policy=cache)
    server = await smtp_server(session_ca.issue("any", ["whatever.example"]))
    assert (await send_one(transport, "mx1.bare.tlstest.test", server.port)).startswith("250")
    assert not cache.reports


async def test_dane_when_the_resolver_validates(
    dane: DaneWorld, session_ca: TestCa, smtp_server: StartSmtp
) -> None:
    resolver = DnsResolver([dane.server.address], timeout=2.0)
    checker = DnssecChecker([dane.server.address], trust_anchors=dane.anchors, timeout=2.0)
    cache = TlsPolicyCache(resolver, dnssec=checker)
    assert await cache.apply(
        "tlssec.test", ["mx1.tlssec.test", "mx3.tlssec.test", "mx5.tlssec.test", "mx6.tlssec.test"]
    )
    modes = {
        h: cache.for_host(h).mode
        for h in ("mx1.tlssec.test", "mx3.tlssec.test", "mx5.tlssec.test", "mx6.tlssec.test")
    }  # type: ignore[union-attr]
    assert modes == {
        "mx1.tlssec.test": TlsMode.DANE,
        "mx3.tlssec.test": TlsMode.DANE,
        "mx5.tlssec.test": TlsMode.OPPORTUNISTIC,  # no TLSA
        "mx6.tlssec.test": TlsMode.REFUSED,  # bogus TLSA: do not connect
    }
    # No CA file: DANE-EE authenticates without any CA.
    transport = SmtpTransport(tls_policy=cache)
    server = await smtp_server(dane.certificate)
    assert (await send_one(transport, "mx1.tlssec.test", server.port)).startswith("250")
    with pytest.raises(SmtpFailure):
        await send_one(transport, "mx3.tlssec.test", server.port)  # TLSA of another key
    with pytest.raises(SmtpFailure, match="bogus"):
        await send_one(transport, "mx6.tlssec.test", server.port)
    assert [r.reason for r in cache.reports] == ["no TLSA record matches the certificate"]
