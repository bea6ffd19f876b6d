"""Blocklist lookups against fake zones served by the test DNS server, one per behaviour."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

from mailcheck import CheckStatus, DnsAnswer, DnsResolver, to_dict
from mailcheck.reputation import (
    BlocklistChecker,
    Catalogue,
    ListingState,
    Why,
    ZoneHealth,
    parse_catalogue,
)
from tests.dnsserver import DnsTestServer


def by_zone(listings: tuple) -> Mapping[str, object]:  # type: ignore[type-arg]
    return {listing.zone: listing for listing in listings}


def finding_zones(report: object, code: str) -> list[str]:
    """The zones named by the findings of ``code``: one zone per subject finding, the
    ``zones`` of a grouped run-wide finding."""
    zones: list[str] = []
    for f in report.findings:  # type: ignore[attr-defined]
        if f.code == code:
            zones.extend(f.details["zones"] if "zones" in f.details else [f.details["zone"]])
    return sorted(zones)


async def test_each_behaviour_ends_listed_clean_or_unknown(checker: BlocklistChecker) -> None:
    report = await checker.check_ip("203.0.113.66")
    zones = by_zone(report.listings)
    good = zones["good.bl.rep.test"]
    assert good.state is ListingState.LISTED  # type: ignore[attr-defined]
    assert good.codes == ("127.0.0.2", "127.0.0.4")  # type: ignore[attr-defined]
    assert good.meanings == ("spam source", "exploited host")  # type: ignore[attr-defined]
    assert good.reason == "https://bl.example/lookup?ip=203.0.113.66"  # type: ignore[attr-defined]
    assert zones["zen.bl.rep.test"].state is ListingState.CLEAN  # type: ignore[attr-defined]
    for broken in ("refusing", "everything", "notest", "rewrite"):
        listing = zones[f"{broken}.bl.rep.test"]
        assert listing.state is ListingState.UNKNOWN, broken  # type: ignore[attr-defined]
        assert listing.why is Why.ZONE_BROKEN, broken  # type: ignore[attr-defined]
    assert "v6only.bl.rep.test" not in zones  # IPv6 lists are not asked about IPv4
    assert report.listed_on == ("good.bl.rep.test", "dbl.bl.rep.test")
    assert finding_zones(report, "rbl.listed") == ["good.bl.rep.test"]
    assert finding_zones(report, "rbl.zone-broken") == [
        "everything.bl.rep.test",
        "notest.bl.rep.test",
        "rewrite.bl.rep.test",
    ]
    assert finding_zones(report, "rbl.resolver-refused") == ["refusing.bl.rep.test"]
    # Three broken zones are one grouped warning, not three copies of the same fix.
    assert [f.code for f in report.findings].count("rbl.zone-broken") == 1
    (grouped,) = [f for f in report.findings if f.code == "rbl.zone-broken"]
    assert grouped.subject == "blocklists"
    assert {t["zone"]: t["health"] for t in grouped.details["tests"]} == {
        "everything.bl.rep.test": "lists-everything",
        "notest.bl.rep.test": "lists-nothing",
        "rewrite.bl.rep.test": "answers-outside-127",
    }
    zones_asked = {x.zone for x in (*report.listings, *report.name_listings)}
    assert report.coverage.asked == len(zones_asked)
    assert report.coverage.checked == len(zones_asked) - 4
    assert set(report.coverage.unavailable) == {
        "refusing.bl.rep.test",
        "everything.bl.rep.test",
        "notest.bl.rep.test",
        "rewrite.bl.rep.test",
    }
    assert report.status is CheckStatus.FAIL


async def test_zone_health_verdicts(checker: BlocklistChecker) -> None:
    await checker.check_ip("203.0.113.10")
    health = {t.zone: t.health for t in await checker.zone_tests() if t.kind.value == "ipv4"}
    assert health == {
        "good.bl.rep.test": ZoneHealth.OK,
        "zen.bl.rep.test": ZoneHealth.OK,
        "refusing.bl.rep.test": ZoneHealth.REFUSED,
        "everything.bl.rep.test": ZoneHealth.LISTS_EVERYTHING,
        "notest.bl.rep.test": ZoneHealth.LISTS_NOTHING,
        "rewrite.bl.rep.test": ZoneHealth.OUTSIDE_LOOPBACK,
        "range.bl.rep.test": ZoneHealth.OK,
        "allow.bl.rep.test": ZoneHealth.OK,
        "slow.bl.rep.test": ZoneHealth.OK,
    }


async def test_refusal_code_for_one_ip_is_unknown_never_listed(checker: BlocklistChecker) -> None:
    report = await checker.check_ip("203.0.113.67")
    zen = by_zone(report.listings)["zen.bl.rep.test"]
    assert zen.state is ListingState.UNKNOWN
    assert zen.why is Why.REFUSED
    assert zen.codes == ("127.255.255.255",)  # type: ignore[attr-defined]
    assert finding_zones(report, "rbl.resolver-refused") == [
        "refusing.bl.rep.test",  # the zone refuses this resolver: the grouped run finding
        "zen.bl.rep.test",  # this one answer was a refusal code: a finding about this IP
    ]
    assert "rbl.listed" not in {f.code for f in report.findings}


async def test_neighbourhood_allowlist_and_undocumented_codes(checker: BlocklistChecker) -> None:
    ranged, allowed, odd = await asyncio.gather(
        checker.check_ip("203.0.113.68"),
        checker.check_ip("203.0.113.69"),
        checker.check_ip("203.0.113.70"),
    )
    neighbourhood = [f for f in ranged.findings if f.code == "rbl.neighbourhood"]
    assert [f.details["scope"] for f in neighbourhood] == ["range"]
    assert "rbl.listed" not in {f.code for f in ranged.findings}
    assert ranged.listed_on == ("range.bl.rep.test",)
    allow = [f for f in allowed.findings if f.code == "rbl.allowlisted"]
    assert [f.details["meanings"] for f in allow] == [["trust: high"]]
    assert allowed.listed_on == ()
    unknown = [f for f in odd.findings if f.code == "rbl.temperror"]
    assert [(f.details["zone"], f.details["why"]) for f in unknown] == [
        ("good.bl.rep.test", "undocumented-code")
    ]
    # The former code stays readable in the JSON for one release.
    assert [f.details["former_code"] for f in unknown] == ["rbl.unknown"]


async def test_timeouts_are_unknown(dns_server: DnsTestServer, catalogue: Catalogue) -> None:
    dns_server.behave("10.113.0.203.slow.bl.rep.test", drop=True)
    resolver = DnsResolver([dns_server.address], timeout=0.3)
    report = await BlocklistChecker(resolver=resolver, catalogue=catalogue).check_ip("203.0.113.10")
    slow = by_zone(report.listings)["slow.bl.rep.test"]
    assert slow.state is ListingState.UNKNOWN
    assert slow.why is Why.TIMEOUT
    assert report.status is CheckStatus.UNKNOWN
    assert finding_zones(report, "rbl.temperror") == ["slow.bl.rep.test"]
    assert "slow.bl.rep.test" in report.coverage.unavailable


async def test_unreachable_self_test_makes_the_zone_unknown(
    dns_server: DnsTestServer, catalogue: Catalogue
) -> None:
    dns_server.behave("2.0.0.127.slow.bl.rep.test", drop=True)
    resolver = DnsResolver([dns_server.address], timeout=0.3)
    report = await BlocklistChecker(resolver=resolver, catalogue=catalogue).check_ip("203.0.113.10")
    assert by_zone(report.listings)["slow.bl.rep.test"].why is Why.ZONE_BROKEN  # type: ignore[attr-defined]
    (broken,) = [f for f in report.findings if f.code == "rbl.zone-broken"]
    assert {t["zone"]: t["health"] for t in broken.details["tests"]}["slow.bl.rep.test"] == (
        "unreachable"
    )


async def test_self_tests_run_once_per_checker(
    dns_server: DnsTestServer, checker: BlocklistChecker
) -> None:
    ips = [f"203.0.113.{n}" for n in range(100, 140)]
    reports = await asyncio.gather(*(checker.check_ip(ip) for ip in ips))
    assert all(by_zone(r.listings)["good.bl.rep.test"].state is ListingState.CLEAN for r in reports)  # type: ignore[attr-defined]
    assert dns_server.count("2.0.0.127.good.bl.rep.test", "A") == 1
    assert dns_server.count("1.0.0.127.good.bl.rep.test", "A") == 1
    assert dns_server.count("mailcheck-nxdomain-probe.invalid", "A") == 1


async def test_ipv6_asks_only_ipv6_zones(
    dns_server: DnsTestServer, checker: BlocklistChecker
) -> None:
    report = await checker.check_ip("2001:db8:3::66")
    assert set(by_zone(report.listings)) == {"good.bl.rep.test", "v6only.bl.rep.test"}
    assert report.listed_on == ("good.bl.rep.test", "v6only.bl.rep.test")
    assert not any("zen.bl.rep.test" in q.name for q in dns_server.log)


async def test_nxdomain_rewriting_resolver_is_reported(
    resolver: DnsResolver, catalogue: Catalogue
) -> None:
    # The "rewrite" fake zone answers every name: as a rewriting resolver would.
    checker = BlocklistChecker(
        resolver=resolver, catalogue=catalogue, nxdomain_probe="nx-probe.rewrite.bl.rep.test"
    )
    report = await checker.check_ip("203.0.113.10")
    assert [f.details["probe"] for f in report.findings if f.code == "rbl.resolver-rewrites"] == [
        "nx-probe.rewrite.bl.rep.test"
    ]


async def test_dead_zones_are_never_asked(
    dns_server: DnsTestServer, checker: BlocklistChecker
) -> None:
    report = await checker.check_ip("203.0.113.10")
    assert finding_zones(report, "rbl.dead-zone") == ["dnsbl.sorbs.example"]
    assert not any("sorbs" in q.name for q in dns_server.log)


async def test_access_key_goes_in_the_query_name_and_nowhere_else(
    dns_server: DnsTestServer, resolver: DnsResolver
) -> None:
    key = "k3ysecret"
    dns_server.add_zone(
        f"{key}.keyed.bl.rep.test",
        "@ 300 IN SOA ns.rep.test. h.rep.test. 1 3600 600 86400 60\n"
        "2.0.0.127 300 IN A 127.0.0.2\n66.113.0.203 300 IN A 127.0.0.2\n"
        f'66.113.0.203 300 IN TXT "listed, see https://bl.example/{key}"\n',
    )
    catalogue = parse_catalogue(
        '[zones."keyed.bl.rep.test"]\nkinds = ["ipv4"]\nrequires_key = true\n'
        'key_zone = "{key}.keyed.bl.rep.test"\n'
        f'key = "{key}"\n'
    )
    checker = BlocklistChecker(resolver=resolver, catalogue=catalogue)
    report = await checker.check_ip("203.0.113.66")
    assert report.listed_on == ("keyed.bl.rep.test",)
    assert dns_server.count(f"66.113.0.203.{key}.keyed.bl.rep.test", "A") == 1
    assert key not in json.dumps(to_dict(report))
    assert key not in repr(report)
    dns_server.behave(f"10.113.0.203.{key}.keyed.bl.rep.test", servfail=True)
    failed = await checker.check_ip("203.0.113.10")
    assert key not in json.dumps(to_dict(failed))


class ConcurrencyProbe:
    """A Resolver that counts the queries in flight per zone (a real resolver underneath)."""

    def __init__(self, inner: DnsResolver, zone: str) -> None:
        self.inner, self.zone = inner, zone
        self.in_flight = self.peak = 0

    async def query(self, name: str, rdtype: str, /) -> DnsAnswer:
        mine = name.endswith(self.zone)
        if mine:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            return await self.inner.query(name, rdtype)
        finally:
            if mine:
                self.in_flight -= 1


async def test_queries_per_zone_are_bounded(
    dns_server: DnsTestServer, catalogue: Catalogue
) -> None:
    dns_server.delay = 0.01
    probe = ConcurrencyProbe(DnsResolver([dns_server.address], timeout=2.0), "good.bl.rep.test")
    checker = BlocklistChecker(resolver=probe, catalogue=catalogue, per_zone=3)
    await asyncio.gather(*(checker.check_ip(f"203.0.113.{n}") for n in range(100, 120)))
    assert 1 <= probe.peak <= 3


async def test_domain_lists(checker: BlocklistChecker) -> None:
    report = await checker.check_domains(
        ["listed-host.rep.test", "www.bad-domain.test", "refused.rep.test", "blocked-domain.test",
         "mail.rep.test", "LISTED-HOST.rep.test."]
    )  # fmt: skip
    assert report.names == (
        "listed-host.rep.test", "www.bad-domain.test", "refused.rep.test",
        "blocked-domain.test", "mail.rep.test",
    )  # fmt: skip
    listed = sorted(
        (f.subject, f.details["zone"]) for f in report.findings if f.code == "dbl.listed"
    )
    assert listed == [
        ("listed-host.rep.test", "dbl.bl.rep.test"),
        ("www.bad-domain.test", "bits.bl.rep.test"),
    ]
    bits = next(f for f in report.findings if f.details.get("zone") == "bits.bl.rep.test")
    assert bits.details["meanings"] == ["phishing", "abuse"]
    refused = sorted(
        (f.subject, f.details["zone"]) for f in report.findings if f.code == "rbl.resolver-refused"
    )
    assert refused == [
        ("blocked-domain.test", "bits.bl.rep.test"),
        ("refused.rep.test", "dbl.bl.rep.test"),
    ]
    assert report.status is CheckStatus.FAIL
    assert set(report.listed_on) == {"dbl.bl.rep.test", "bits.bl.rep.test"}


async def test_check_ip_asks_domain_lists_about_ptr_and_helo(checker: BlocklistChecker) -> None:
    report = await checker.check_ip("203.0.113.66", helo="mail.rep.test")
    subjects = {x.subject for x in report.name_listings}
    assert subjects == {"listed-host.rep.test", "mail.rep.test"}
    assert [f.subject for f in report.findings if f.code == "dbl.listed"] == [
        "listed-host.rep.test"
    ]
    assert report.helo is not None
    assert report.helo.matches_ptr is False


class LabelledResolver:
    """The local test resolver, labelled with a public resolver's address (never asked)."""

    def __init__(self, inner: DnsResolver, nameservers: tuple[tuple[str, int], ...]) -> None:
        self.inner, self.nameservers = inner, nameservers

    async def query(self, name: str, rdtype: str, /) -> DnsAnswer:
        return await self.inner.query(name, rdtype)


async def test_public_blocklist_resolver_is_reported(
    resolver: DnsResolver, catalogue: Catalogue
) -> None:
    public = LabelledResolver(resolver, (("1.1.1.1", 53), ("2001:4860:4860:0::8888", 53)))
    checker = BlocklistChecker(
        resolver=resolver, blocklist_resolver=public, catalogue=catalogue.only(["good.bl.rep.test"])
    )
    report = await checker.check_ip("203.0.113.10")
    found = [f.details["nameservers"] for f in report.findings if f.code == "rbl.public-resolver"]
    assert found == [["1.1.1.1", "2001:4860:4860::8888"]]
    quiet = BlocklistChecker(resolver=resolver, catalogue=catalogue.only(["good.bl.rep.test"]))
    report = await quiet.check_ip("203.0.113.10")
    assert "rbl.public-resolver" not in {f.code for f in report.findings}


async def test_run_findings_are_about_zones_and_equal_across_reports(
    checker: BlocklistChecker,
) -> None:
    first, second = await asyncio.gather(
        checker.check_ip("203.0.113.10"), checker.check_ip("203.0.113.20")
    )
    run_codes = {"rbl.zone-broken", "rbl.dead-zone"}
    a = [f for f in first.findings if f.code in run_codes]
    b = [f for f in second.findings if f.code in run_codes]
    assert a == b
    assert {f.subject for f in a if f.code == "rbl.zone-broken"} == {"blocklists"}
    assert {f.subject for f in a if f.code == "rbl.dead-zone"} == {
        f.details["zone"] for f in a if f.code == "rbl.dead-zone"
    }


async def test_broken_zones_are_not_asked_again(
    dns_server: DnsTestServer, checker: BlocklistChecker
) -> None:
    await checker.check_ip("203.0.113.10")
    before = sum(1 for q in dns_server.log if q.name.endswith("refusing.bl.rep.test"))
    report = await checker.check_ip("203.0.113.20")
    after = sum(1 for q in dns_server.log if q.name.endswith("refusing.bl.rep.test"))
    assert after == before
    assert by_zone(report.listings)["refusing.bl.rep.test"].why is Why.ZONE_BROKEN  # type: ignore[attr-defined]
