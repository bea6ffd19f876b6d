"""The whole domain audit: every check at once, JSON that matches the schema, golden files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from mailcheck import CheckStatus, DnsResolver
from mailcheck.audit import audit_domain
from mailcheck.errors import ConfigError, ParseError
from mailcheck.reputation import BlocklistChecker, load_catalogue
from tests.dnsserver import DnsTestServer

HERE = Path(__file__).parent
SCHEMA = json.loads((HERE.parent / "docs" / "report.schema.json").read_text())
GOLDEN = HERE / "golden"


def codes_of(report: object) -> list[str]:
    return sorted(f.code for f in report.findings)  # type: ignore[attr-defined]


def checker(resolver: DnsResolver) -> BlocklistChecker:
    catalogue = load_catalogue(HERE / "audit_lists.toml", builtin=False)
    return BlocklistChecker(
        resolver=resolver, catalogue=catalogue, nxdomain_probe="nxprobe.audittest"
    )


async def test_good_domain(resolver: DnsResolver, dns_server: DnsTestServer) -> None:
    report = await audit_domain(
        "good.audittest", selectors=["mail"], resolver=resolver, reputation=False
    )
    assert report.status is CheckStatus.PASS, codes_of(report)
    assert report.spf.record == "v=spf1 mx include:_spf.host.audittest -all"
    assert report.dmarc.policy == "reject"
    assert [s.selector for s in report.dkim.selectors] == ["mail"]
    assert [h.host for h in report.mx.hosts] == ["mx1.host.audittest"]
    data = report.to_dict()
    jsonschema.validate(data, SCHEMA)
    # Identical questions from different checks went out once (MX asked by SPF and MX).
    assert dns_server.count("good.audittest", "MX") == 1
    assert dns_server.count("mx1.host.audittest", "A") == 1


async def test_parked_domain_needs_no_dkim(resolver: DnsResolver) -> None:
    report = await audit_domain("parked.audittest", resolver=resolver, reputation=False)
    assert report.parked
    assert "domain.parked" in codes_of(report)
    assert "dkim.no-selector-found" not in codes_of(report)
    assert report.status is CheckStatus.PASS


async def test_bare_domain(resolver: DnsResolver) -> None:
    report = await audit_domain("bare.audittest", resolver=resolver, reputation=False)
    assert {"spf.missing", "dmarc.missing", "dkim.no-selector-found", "mx.implicit"} <= set(
        codes_of(report)
    )
    assert report.status is CheckStatus.FAIL
    jsonschema.validate(report.to_dict(), SCHEMA)


async def test_reputation_of_declared_ip_and_mx(resolver: DnsResolver) -> None:
    report = await audit_domain(
        "good.audittest",
        ips=["203.0.113.66"],
        selectors=["mail"],
        resolver=resolver,
        blocklists=checker(resolver),
    )
    ips = {r.ip: r for r in report.ips}
    assert set(ips) == {"203.0.113.66", "203.0.113.25"}
    assert ips["203.0.113.66"].listed_on == ("good.bl.rep.test",)
    assert "rbl.listed" in codes_of(report)
    assert report.domain_lists is not None
    jsonschema.validate(report.to_dict(), SCHEMA)


async def test_dns_failure_is_unknown_and_keeps_the_rest(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("_spf2.host.audittest", servfail=True)
    report = await audit_domain(
        "good.audittest", selectors=["mail"], resolver=resolver, reputation=False
    )
    assert report.spf.status is CheckStatus.UNKNOWN
    assert "spf.temperror" in codes_of(report)
    assert report.status is CheckStatus.UNKNOWN
    assert report.dmarc.policy == "reject"  # the other checks are intact


async def test_bad_arguments() -> None:
    with pytest.raises(ParseError):
        await audit_domain("not a domain", resolver=DnsResolver(["127.0.0.1:9"]))
    with pytest.raises(ConfigError):
        await audit_domain("x.audittest", ips=["nope"], resolver=DnsResolver(["127.0.0.1:9"]))


@pytest.mark.parametrize("domain", ["good.audittest", "parked.audittest", "bare.audittest"])
async def test_golden(domain: str, resolver: DnsResolver, request: pytest.FixtureRequest) -> None:
    report = await audit_domain(domain, selectors=["mail"], resolver=resolver, reputation=False)
    data = report.to_dict()
    data["dkim"]["probed"] = "<date-dependent>"
    path = GOLDEN / f"{domain}.json"
    if request.config.getoption("--update-golden"):
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    assert data == json.loads(path.read_text())
