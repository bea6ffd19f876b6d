"""The DMARC audit and evaluation against a real DNS server."""

from __future__ import annotations

from mailcheck import CheckStatus, DnsResolver
from mailcheck.dmarc import audit_dmarc, evaluate_dmarc
from tests.dnsserver import DnsTestServer


def codes_of(result: object) -> list[str]:
    return sorted(f.code for f in result.findings)  # type: ignore[attr-defined]


async def test_reject_policy_with_authorised_destination(resolver: DnsResolver) -> None:
    result = await audit_dmarc("example.dmarctest", resolver=resolver)
    assert result.status is CheckStatus.WARN
    assert codes_of(result) == ["dmarc.subdomain-weaker"]  # sp=quarantine under p=reject
    assert result.policy == "reject"
    assert result.location == "_dmarc.example.dmarctest"
    assert not result.inherited
    assert result.rua == ("mailto:agg@reports.dmarctest", "mailto:d@example.dmarctest")
    assert result.organizational_domain == "example.dmarctest"


async def test_inherited_subdomain_policy(resolver: DnsResolver) -> None:
    result = await audit_dmarc("news.example.dmarctest", resolver=resolver)
    assert result.inherited
    assert result.policy == "quarantine"  # sp= applies to a subdomain
    assert codes_of(result) == ["dmarc.inherited", "dmarc.subdomain-weaker"]


async def test_monitoring_testing_removed_tags(resolver: DnsResolver) -> None:
    result = await audit_dmarc("mon.example.dmarctest", resolver=resolver)
    assert codes_of(result) == [
        "dmarc.no-rua",
        "dmarc.policy-none",
        "dmarc.removed-tag",
        "dmarc.removed-tag",
        "dmarc.testing",
    ]
    pct = next(f for f in result.findings if f.details.get("tag") == "pct")
    assert pct.severity.value == "warning"  # pct<100 no longer samples
    assert "example.dmarctest" in (result.findings[0].fix or "")


async def test_broken_records(resolver: DnsResolver) -> None:
    assert codes_of(await audit_dmarc("multi.example.dmarctest", resolver=resolver)) == [
        "dmarc.multiple-records"
    ]
    syntax = await audit_dmarc("syntax.example.dmarctest", resolver=resolver)
    assert codes_of(syntax) == ["dmarc.syntax-error"]
    assert syntax.findings[0].details["position"] == 12
    assert codes_of(await audit_dmarc("nopol.example.dmarctest", resolver=resolver)) == [
        "dmarc.no-policy"
    ]
    assert codes_of(await audit_dmarc("weak.example.dmarctest", resolver=resolver)) == [
        "dmarc.subdomain-weaker"
    ]


async def test_missing(resolver: DnsResolver) -> None:
    result = await audit_dmarc("nodest.dmarctest", resolver=resolver)
    assert codes_of(result) == ["dmarc.missing"]
    assert result.status is CheckStatus.FAIL
    assert "_dmarc.nodest.dmarctest." in (result.findings[0].fix or "")


async def test_external_destinations(resolver: DnsResolver, dns_server: DnsTestServer) -> None:
    result = await audit_dmarc("ext.example.dmarctest", resolver=resolver)
    assert codes_of(result) == ["dmarc.report-no-mx", "dmarc.report-not-authorized"]
    assert {f.details["destination"] for f in result.findings} == {"nodest.dmarctest"}
    # The wildcard authorisation of okdest counted.
    assert dns_server.count("ext.example.dmarctest._report._dmarc.okdest.dmarctest", "TXT") == 1


async def test_cname_delegated_record(resolver: DnsResolver) -> None:
    result = await audit_dmarc("cname.example.dmarctest", resolver=resolver)
    assert result.policy == "reject"
    assert not result.inherited
    assert "dmarc.txt-and-cname" not in codes_of(result)


async def test_psd_tree_walk(resolver: DnsResolver) -> None:
    result = await audit_dmarc("www.shop.psd.dmarctest", resolver=resolver)
    assert result.organizational_domain == "shop.psd.dmarctest"
    assert result.location == "_dmarc.shop.psd.dmarctest"


async def test_temperror_is_unknown(resolver: DnsResolver, dns_server: DnsTestServer) -> None:
    dns_server.behave("_dmarc.example.dmarctest", servfail=True)
    result = await audit_dmarc("example.dmarctest", resolver=resolver)
    assert result.status is CheckStatus.UNKNOWN
    assert codes_of(result) == ["dmarc.temperror"]
    # A failure above the record found does not hide the policy.
    dns_server.reset()
    dns_server.behave("_dmarc.dmarctest", servfail=True)
    resolver.clear_cache()
    above = await audit_dmarc("example.dmarctest", resolver=resolver)
    assert above.policy == "reject"


async def test_evaluate_alignment(resolver: DnsResolver) -> None:
    relaxed = await evaluate_dmarc(
        "example.dmarctest",
        spf_result="pass",
        spf_domain="bounces.example.dmarctest",
        dkim_results=[],
        resolver=resolver,
    )
    assert (relaxed.result, relaxed.aligned_spf, relaxed.disposition) == ("pass", True, "none")
    failed = await evaluate_dmarc(
        "example.dmarctest",
        spf_result="pass",
        spf_domain="okdest.dmarctest",
        dkim_results=[("okdest.dmarctest", "pass"), ("example.dmarctest", "fail")],
        resolver=resolver,
    )
    assert (failed.result, failed.policy, failed.disposition) == ("fail", "reject", "reject")
    dkim = await evaluate_dmarc(
        "news.example.dmarctest",
        spf_result="fail",
        spf_domain="example.dmarctest",
        dkim_results=[("example.dmarctest", "pass")],
        resolver=resolver,
    )
    assert (dkim.result, dkim.aligned_dkim, dkim.policy) == ("pass", True, "quarantine")
    testing = await evaluate_dmarc(
        "mon.example.dmarctest",
        spf_result="fail",
        spf_domain=None,
        dkim_results=[],
        resolver=resolver,
    )
    assert (testing.result, testing.disposition) == ("fail", "none")
    none = await evaluate_dmarc(
        "nodest.dmarctest", spf_result="pass", spf_domain=None, dkim_results=[], resolver=resolver
    )
    assert none.result == "none"
