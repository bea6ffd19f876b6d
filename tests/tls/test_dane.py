"""DANE: TLSA records from a signed zone, matched against the certificate a real
STARTTLS server presents."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization

from mailcheck import DnsResolver
from mailcheck.tls.dane import audit_dane, judge_dane, tlsa_name
from mailcheck.tls.dnssec import DnssecChecker
from mailcheck.tls.starttls import probe_many
from mailcheck.tls.tlsa import parse_tlsa
from mailcheck.tls.types import DnssecStatus, TlsProbe
from tests.tls.certs import TestCa
from tests.tls.conftest import DaneWorld, StartSmtp
from tests.tls.unbound import Unbound

HOSTS = [f"mx{i}.tlssec.test" for i in range(1, 7)] + ["mx1.tlstest.test"]


async def probes_of(dane: DaneWorld, smtp_server: StartSmtp, ca: TestCa) -> tuple[TlsProbe, ...]:
    server = await smtp_server(dane.certificate)
    return await probe_many(
        [(h, "127.0.0.1") for h in HOSTS], port=server.port, cafile=ca.cafile, timeout=10
    )


async def test_dane_against_the_probed_certificate(
    dane: DaneWorld, smtp_server: StartSmtp, session_ca: TestCa
) -> None:
    probes = await probes_of(dane, smtp_server, session_ca)
    checker = DnssecChecker([dane.server.address], trust_anchors=dane.anchors, timeout=2.0)
    resolver = DnsResolver([dane.server.address], timeout=2.0)
    result = await audit_dane(HOSTS, resolver=resolver, checker=checker, probes=probes)
    found = sorted((f.subject, f.code, str(f.severity)) for f in result.findings)
    assert found == [
        ("_25._tcp.mx1.tlssec.test", "dane.no-rollover", "info"),
        ("_25._tcp.mx3.tlssec.test", "dane.mismatch", "error"),
        ("_25._tcp.mx4.tlssec.test", "dane.unusable-record", "warning"),
        ("_25._tcp.mx5.tlssec.test", "dane.missing", "info"),
        ("_25._tcp.mx6.tlssec.test", "dnssec.bogus", "error"),
    ]
    hosts = {h.host: h for h in result.hosts}
    assert hosts["mx2.tlssec.test"].dnssec is DnssecStatus.SECURE
    assert len(hosts["mx2.tlssec.test"].records) == 2
    assert len(hosts["mx2.tlssec.test"].matched or ()) == 1  # the next key is published ahead
    assert hosts["mx1.tlstest.test"].dnssec is DnssecStatus.INSECURE
    assert hosts["mx1.tlstest.test"].records == ()
    assert result.status == "fail"


async def test_dane_without_dnssec_checker(
    dane: DaneWorld, smtp_server: StartSmtp, session_ca: TestCa
) -> None:
    probes = await probes_of(dane, smtp_server, session_ca)
    resolver = DnsResolver([dane.server.address], timeout=2.0)
    result = await audit_dane(["mx3.tlssec.test"], resolver=resolver, probes=probes)
    # Without validation the records may mean nothing: a mismatch is only a warning.
    assert [(f.code, str(f.severity)) for f in result.findings] == [("dane.mismatch", "warning")]
    assert result.hosts[0].dnssec is DnssecStatus.UNKNOWN


async def test_dane_not_probed_is_not_matched(dane: DaneWorld) -> None:
    checker = DnssecChecker([dane.server.address], trust_anchors=dane.anchors, timeout=2.0)
    resolver = DnsResolver([dane.server.address], timeout=2.0)
    result = await audit_dane(["mx3.tlssec.test"], resolver=resolver, checker=checker)
    assert result.findings == ()
    assert result.hosts[0].matched is None


async def test_dns_failure_is_unknown(dane: DaneWorld) -> None:
    dane.server.behave("_25._tcp.mx1.tlssec.test", servfail=True)
    resolver = DnsResolver([dane.server.address], timeout=2.0)
    result = await audit_dane(["mx1.tlssec.test"], resolver=resolver)
    assert [f.code for f in result.findings] == ["dane.temperror"]
    assert result.status == "unknown"


def test_dane_ta_covers_a_leaf_rollover(dane: DaneWorld, session_ca: TestCa) -> None:
    chain = tuple(c.public_bytes(serialization.Encoding.DER) for c in dane.certificate.chain)
    ta = parse_tlsa("2 0 1 " + hashlib.sha256(session_ca.der).hexdigest())
    host, findings = judge_dane("mx1.example.org", [ta], DnssecStatus.SECURE, chain)
    assert host.matched == (ta.to_text(),)
    assert findings == []  # a trust anchor survives a new leaf key: no rollover warning
    assert tlsa_name("MX1.Example.org.") == "_25._tcp.mx1.example.org"


async def test_dane_through_a_real_validating_unbound(
    dane: DaneWorld, unbound: Unbound, smtp_server: StartSmtp, session_ca: TestCa
) -> None:
    probes = await probes_of(dane, smtp_server, session_ca)
    resolver = DnsResolver([unbound.address], timeout=5.0)
    checker = DnssecChecker([unbound.address], trust_ad=True, timeout=5.0)
    result = await audit_dane(HOSTS, resolver=resolver, checker=checker, probes=probes)
    found = sorted((f.subject, f.code) for f in result.findings)
    assert found == [
        ("_25._tcp.mx1.tlssec.test", "dane.no-rollover"),
        ("_25._tcp.mx3.tlssec.test", "dane.mismatch"),
        ("_25._tcp.mx4.tlssec.test", "dane.unusable-record"),
        ("_25._tcp.mx5.tlssec.test", "dane.missing"),
        ("_25._tcp.mx6.tlssec.test", "dnssec.bogus"),
    ]
