"""MTA-STS: the record from the DNS test server, the policy from a real HTTPS server."""

from __future__ import annotations

import pytest

from mailcheck import DnsResolver
from mailcheck.tls.guard import address_allowed
from mailcheck.tls.mtasts import audit_mtasts
from mailcheck.tls.mtasts_fetch import FetchOutcome, fetch_policy
from mailcheck.tls.types import MtaStsMode, ProbeStatus, TlsProbe
from tests.dnsserver import DnsTestServer
from tests.tls.certs import TestCa
from tests.tls.https_server import PolicyServer


def codes_of(result: object) -> list[str]:
    return sorted(f.code for f in result.findings)  # type: ignore[attr-defined]


async def fetch(
    label: str, resolver: DnsResolver, ca: TestCa, server: PolicyServer, **options: object
):  # type: ignore[no-untyped-def]
    options.setdefault("timeout", 5.0)
    return await fetch_policy(
        f"{label}.tlstest.test",
        resolver=resolver,
        allow_private=True,
        cafile=ca.cafile,
        port=server.port,
        **options,
    )


async def test_valid_policy_through_our_resolver(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer
) -> None:
    result = await fetch("valid", resolver, session_ca, policies)
    assert result.outcome is FetchOutcome.OK
    assert result.text_plain
    assert result.address == "127.0.0.1"
    assert result.url == "https://mta-sts.valid.tlstest.test/.well-known/mta-sts.txt"
    assert "mode: enforce" in (result.text or "")
    # The name exists only in the test DNS server: httpx did not resolve it again.
    assert policies.requests == ["mta-sts.valid.tlstest.test"]


@pytest.mark.parametrize(
    ("label", "outcome"),
    [
        ("redirect", FetchOutcome.REDIRECT),
        ("big", FetchOutcome.TOO_LARGE),
        ("missing", FetchOutcome.HTTP_ERROR),
        ("badcert", FetchOutcome.CERTIFICATE),
        ("noaddr", FetchOutcome.NO_ADDRESS),
    ],
)
async def test_fetch_faults(
    label: str,
    outcome: FetchOutcome,
    resolver: DnsResolver,
    session_ca: TestCa,
    policies: PolicyServer,
) -> None:
    result = await fetch(label, resolver, session_ca, policies)
    assert result.outcome is outcome
    assert result.text is None
    if outcome is FetchOutcome.REDIRECT:
        assert result.location == "https://elsewhere.tlstest.test/"
        assert policies.requests == ["mta-sts.redirect.tlstest.test"]  # not followed


async def test_slow_server_is_unreachable_not_missing(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer
) -> None:
    result = await fetch("slow", resolver, session_ca, policies, timeout=0.5)
    assert result.outcome is FetchOutcome.UNREACHABLE
    assert "timeout" in (result.error or "")


async def test_guard_refuses_private_addresses_by_default(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer
) -> None:
    result = await fetch_policy(
        "valid.tlstest.test", resolver=resolver, cafile=session_ca.cafile, port=policies.port
    )
    assert result.outcome is FetchOutcome.ADDRESS_REFUSED
    assert result.refused == ("127.0.0.1",)
    assert policies.requests == []  # nothing reached the server
    private = await fetch_policy("private.tlstest.test", resolver=resolver, port=policies.port)
    assert private.outcome is FetchOutcome.ADDRESS_REFUSED
    assert sorted(private.refused) == ["10.0.0.5", "::1"]


async def test_dns_failure_is_unreachable(
    resolver: DnsResolver, dns_server: DnsTestServer, session_ca: TestCa, policies: PolicyServer
) -> None:
    dns_server.behave("mta-sts.valid.tlstest.test", servfail=True)
    result = await fetch("valid", resolver, session_ca, policies)
    assert result.outcome is FetchOutcome.UNREACHABLE


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2a00:1450:4007::1b", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # CGNAT, RFC 6598
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("not an ip", False),
    ],
)
def test_address_guard(address: str, allowed: bool) -> None:
    assert address_allowed(address) is allowed


def tls_probe(host: str, **facts: object) -> TlsProbe:
    base: dict[str, object] = {
        "status": ProbeStatus.TLS,
        "offered": True,
        "chain_valid": True,
        "name_matches": True,
        "days_to_expiry": 60,
    }
    base.update(facts)
    return TlsProbe(host=host, address="127.0.0.1", port=25, **base)  # type: ignore[arg-type]


async def audit(
    label: str,
    resolver: DnsResolver,
    ca: TestCa,
    server: PolicyServer,
    mx: list[str],
    **options: object,
):  # type: ignore[no-untyped-def]
    domain = f"{label}.tlstest.test" if label else "tlstest.test"
    options.setdefault("timeout", 5.0)
    return await audit_mtasts(
        domain,
        resolver=resolver,
        mx_hosts=mx,
        allow_private=True,
        cafile=ca.cafile,
        https_port=server.port,
        **options,
    )


async def test_audit_clean_enforce(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer
) -> None:
    hosts = ["mx1.tlstest.test", "mx2.tlstest.test", "mx3.tlstest.test"]
    result = await audit(
        "", resolver, session_ca, policies, hosts, probes=[tls_probe(h) for h in hosts]
    )
    assert result.findings == ()
    assert result.status == "pass"
    assert result.mode is MtaStsMode.ENFORCE
    assert result.id == "2026a"
    assert result.mx == ("*.tlstest.test",)
    assert result.to_dict()["mode"] == "enforce"


async def test_audit_probe_certificates_against_enforce(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer
) -> None:
    probes = [
        tls_probe("mx1.tlstest.test", chain_valid=False),
        tls_probe("mx2.tlstest.test", name_matches=False),
        tls_probe("mx3.tlstest.test", status=ProbeStatus.UNKNOWN, chain_valid=None),
    ]
    result = await audit(
        "", resolver, session_ca, policies, [p.host for p in probes], probes=probes
    )
    found = [(f.code, f.subject, f.severity, tuple(f.details["reasons"])) for f in result.findings]
    assert found == [
        ("mtasts.mx-certificate", "mx1.tlstest.test", "error", ("untrusted",)),
        ("mtasts.mx-certificate", "mx2.tlstest.test", "error", ("name-mismatch",)),
    ]


async def test_audit_testing_mode(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer
) -> None:
    probes = [tls_probe("mx1.testing.tlstest.test", chain_valid=False)]
    result = await audit(
        "testing", resolver, session_ca, policies, ["mx1.testing.tlstest.test"], probes=probes
    )
    assert codes_of(result) == ["mtasts.mx-certificate", "mtasts.pattern-unused", "mtasts.testing"]
    certificate = next(f for f in result.findings if f.code == "mtasts.mx-certificate")
    assert certificate.severity == "warning"  # testing: delivered and reported
    assert result.status == "warn"


@pytest.mark.parametrize(
    ("label", "expected", "status"),
    [
        ("uncovered", ["mtasts.mx-not-covered", "mtasts.pattern-unused"], "fail"),
        ("short", ["mtasts.max-age-short"], "warn"),
        ("ctype", ["mtasts.policy-content-type"], "warn"),
        ("redirect", ["mtasts.policy-redirect"], "fail"),
        ("big", ["mtasts.policy-too-large"], "fail"),
        ("missing", ["mtasts.policy-http-error"], "fail"),
        ("syntax", ["mtasts.policy-syntax-error"], "fail"),
        ("badcert", ["mtasts.policy-certificate"], "fail"),
        ("noaddr", ["mtasts.policy-host-missing"], "fail"),
        ("multi", ["mtasts.multiple-records"], "fail"),
        ("badrec", ["mtasts.syntax-error"], "fail"),
        ("bare", ["mtasts.missing"], "pass"),
    ],
)
async def test_audit_findings(
    label: str,
    expected: list[str],
    status: str,
    resolver: DnsResolver,
    session_ca: TestCa,
    policies: PolicyServer,
) -> None:
    result = await audit(label, resolver, session_ca, policies, [f"mx1.{label}.tlstest.test"])
    assert codes_of(result) == expected
    assert result.status == status


async def test_audit_slow_policy_is_unknown(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer
) -> None:
    result = await audit(
        "slow", resolver, session_ca, policies, ["mx1.slow.tlstest.test"], timeout=0.5
    )
    assert codes_of(result) == ["mtasts.temperror"]
    assert result.status == "unknown"
    assert result.error


async def test_audit_dns_failure_is_unknown(
    resolver: DnsResolver, dns_server: DnsTestServer, session_ca: TestCa, policies: PolicyServer
) -> None:
    dns_server.behave("_mta-sts.valid.tlstest.test", servfail=True)
    result = await audit("valid", resolver, session_ca, policies, ["mx1.valid.tlstest.test"])
    assert codes_of(result) == ["mtasts.temperror"]
    assert result.status == "unknown"
    assert policies.requests == []
