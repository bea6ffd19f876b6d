"""The whole domain audit: every check at once, JSON that matches the schema, golden files."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

import jsonschema
import pytest

from mailcheck import CheckStatus, DnsResolver, Resolver, ZoneResolver
from mailcheck.audit import audit_domain
from mailcheck.dkim import DkimSignatureResult
from mailcheck.dmarc import DmarcEvaluation, DmarcLint, lint_dmarc
from mailcheck.errors import ConfigError, ParseError
from mailcheck.reputation import BlocklistChecker, load_catalogue
from mailcheck.spf import SpfEvaluation
from mailcheck.verify import VerifyResult
from tests.conftest import ZONES
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


def black_hole() -> socket.socket:
    """A UDP port on loopback that receives and never answers: every query times out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


async def test_dns_down_says_could_not_check_naming_the_server() -> None:
    with black_hole() as hole:
        server = f"127.0.0.1:{hole.getsockname()[1]}"
        report = await audit_domain(
            "good.audittest",
            resolver=DnsResolver([server], timeout=0.3),
            reputation=False,
            probe_selectors=False,
            selectors=["mail"],
        )
    for check in (report.spf, report.dmarc, report.dkim, report.mx):
        assert check.status is CheckStatus.UNKNOWN
        assert check.error == f"timeout at {server}"
    assert report.status is CheckStatus.UNKNOWN
    codes = set(codes_of(report))
    assert {"spf.temperror", "dmarc.temperror", "dkim.temperror", "mx.temperror"} <= codes
    assert not {"spf.missing", "dmarc.missing", "mx.none", "dkim.not-published"} & codes
    data = report.to_dict()
    jsonschema.validate(data, SCHEMA)
    assert data["spf"]["error"] == f"timeout at {server}"


async def test_servfail_names_the_server(resolver: DnsResolver, dns_server: DnsTestServer) -> None:
    dns_server.behave("good.audittest", servfail=True)
    report = await audit_domain(
        "good.audittest", selectors=["mail"], resolver=resolver, reputation=False
    )
    assert report.spf.error == f"{dns_server.address} answered SERVFAIL"
    assert report.mx.error == f"{dns_server.address} answered SERVFAIL"
    assert report.dmarc.error is None  # _dmarc.good.audittest answered


def broken_lists_checker(resolver: Resolver) -> BlocklistChecker:
    # tests/reputation/lists.toml: good lists, and zones that fail their self-test.
    catalogue = load_catalogue(HERE / "reputation" / "lists.toml", builtin=False)
    return BlocklistChecker(
        resolver=resolver, catalogue=catalogue, nxdomain_probe="nxprobe.audittest"
    )


async def test_clean_domain_passes_with_working_lists(resolver: DnsResolver) -> None:
    report = await audit_domain(
        "clean.audittest", selectors=["mail"], resolver=resolver, blocklists=checker(resolver)
    )
    assert report.status is CheckStatus.PASS, codes_of(report)
    assert report.blocklists is not None
    assert report.blocklists.unavailable == ()
    assert report.blocklists.checked == report.blocklists.asked > 0


async def test_broken_blocklists_do_not_make_a_good_domain_unknown(resolver: DnsResolver) -> None:
    report = await audit_domain(
        "clean.audittest",
        selectors=["mail"],
        resolver=resolver,
        blocklists=broken_lists_checker(resolver),
    )
    for check in (report.spf, report.dmarc, report.dkim, report.mx):
        assert check.status is CheckStatus.PASS, codes_of(check)
    # Its IP report is unknown (some lists could not be read); the domain is not: only
    # SPF, DMARC, DKIM and MX decide that. The broken lists are a warning.
    assert [ip.status for ip in report.ips] == [CheckStatus.UNKNOWN]
    assert report.status is CheckStatus.WARN, codes_of(report)
    codes = codes_of(report)
    assert codes.count("rbl.zone-broken") == 1  # one grouped finding, not one per zone
    (broken,) = [f for f in report.findings if f.code == "rbl.zone-broken"]
    assert set(broken.details["zones"]) == {
        "everything.bl.rep.test",
        "notest.bl.rep.test",
        "rewrite.bl.rep.test",
    }
    assert codes.count("rbl.resolver-refused") == 1
    coverage = report.blocklists
    assert coverage is not None
    assert set(coverage.unavailable) >= set(broken.details["zones"]) | {"refusing.bl.rep.test"}
    assert coverage.checked == coverage.asked - len(coverage.unavailable)
    assert coverage.checked > 0
    jsonschema.validate(report.to_dict(), SCHEMA)


async def test_offline_blocklists_outside_the_zones_are_not_queried() -> None:
    offline = ZoneResolver(sorted(ZONES.glob("*.zone")))
    catalogue = load_catalogue(HERE / "audit_lists.toml", builtin=True)
    checker = BlocklistChecker(
        resolver=offline, catalogue=catalogue, nxdomain_probe="nxprobe.audittest"
    )
    report = await audit_domain(
        "clean.audittest", selectors=["mail"], resolver=offline, blocklists=checker
    )
    codes = codes_of(report)
    assert "rbl.zone-broken" not in codes
    assert "rbl.temperror" not in codes
    assert codes.count("rbl.not-queried") == 1
    coverage = report.blocklists
    assert coverage is not None
    assert "zen.spamhaus.org" in coverage.not_queried
    assert coverage.asked == coverage.checked == 1  # good.bl.rep.test, in the zone files
    (skipped,) = [f for f in report.findings if f.code == "rbl.not-queried"]
    assert list(coverage.not_queried) == skipped.details["zones"]
    assert report.status is CheckStatus.PASS, codes
    jsonschema.validate(report.to_dict(), SCHEMA)


async def test_readme_zone_example_has_no_broken_zones() -> None:
    # What scripts/demo (the README's offline example) audits, through the library.
    examples = HERE.parent / "examples"
    zones = ZoneResolver(
        [
            examples / "zones" / name
            for name in (
                "example.org.zone",
                "mailhost.example.zone",
                "2.0.192.in-addr.arpa.zone",
                "5.2.0.0.8.b.d.0.1.0.0.2.ip6.arpa.zone",
                "bl.example.zone",
            )
        ]
    )
    catalogue = load_catalogue(examples / "demo-lists.toml", builtin=True)
    report = await audit_domain(
        "example.org",
        ips=["192.0.2.30"],
        selectors=["mail2026", "ed2026"],
        resolver=zones,
        blocklists=BlocklistChecker(resolver=zones, catalogue=catalogue),
    )
    codes = codes_of(report)
    assert "rbl.zone-broken" not in codes
    assert codes.count("rbl.not-queried") == 1
    assert report.blocklists is not None
    assert report.blocklists.unavailable == ()
    assert report.spf.status is CheckStatus.PASS


@pytest.mark.parametrize(
    "options",
    [
        {"dmarc_mode": "dns"},
        {"max_queries": 0},
        {"max_mx_hosts": 0},
        {"max_addresses_per_host": -1},
        {"max_queries": 2.5},
    ],
)
async def test_bad_options_are_one_config_error(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        await audit_domain(
            "good.audittest",
            resolver=DnsResolver(["127.0.0.1:9"]),
            **options,  # type: ignore[arg-type]
        )


def _dataclasses_in(obj: object, seen: set[type]) -> None:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        seen.add(type(obj))
        for field in dataclasses.fields(obj):
            if not field.name.startswith("_"):
                _dataclasses_in(getattr(obj, field.name), seen)
    elif isinstance(obj, list | tuple):
        for item in obj:
            _dataclasses_in(item, seen)


async def test_every_result_type_has_to_dict(resolver: DnsResolver) -> None:
    report = await audit_domain(
        "good.audittest",
        ips=["203.0.113.66"],
        selectors=["mail"],
        resolver=resolver,
        blocklists=checker(resolver),
    )
    seen: set[type] = set()
    _dataclasses_in(report, seen)
    assert len(seen) > 10
    lacking = sorted(t.__name__ for t in seen if not callable(getattr(t, "to_dict", None)))
    assert lacking == []
    for kind in (DmarcEvaluation, DmarcLint, SpfEvaluation, DkimSignatureResult, VerifyResult):
        assert callable(getattr(kind, "to_dict", None)), kind.__name__
    lint = lint_dmarc("v=DMARC1; p=quarantaine")
    assert json.loads(json.dumps(lint.to_dict()))["errors"][0]["repair"] == "quarantine"
