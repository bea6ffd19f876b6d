"""The one-call entry points, the report's JSON, and the public names."""

from __future__ import annotations

import json

import mailcheck
import mailcheck.reputation
from mailcheck import CheckStatus, DnsResolver, IpReport, check_ip, to_dict
from mailcheck.reputation import Catalogue, check_domains


async def test_check_ip_clean_host(resolver: DnsResolver, catalogue: Catalogue) -> None:
    report = await check_ip(
        "203.0.113.10", helo="mail.rep.test", resolver=resolver, catalogue=catalogue.only(
            ["good.bl.rep.test", "zen.bl.rep.test", "dbl.bl.rep.test"]
        )
    )  # fmt: skip
    assert isinstance(report, IpReport)
    assert report.status is CheckStatus.PASS, [f.code for f in report.findings]
    assert report.forward_confirmed is True
    assert report.ptr_names == ("mail.rep.test",)
    assert report.helo is not None
    assert report.helo.matches_ptr
    assert {x.state.value for x in report.listings} == {"clean"}
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ip"] == "203.0.113.10"
    assert {x["zone"]: x["state"] for x in data["listings"]} == {
        "good.bl.rep.test": "clean",
        "zen.bl.rep.test": "clean",
    }
    assert data["rdns"]["forward_confirmed"] is True
    assert to_dict(report) == report.to_dict()


async def test_separate_blocklist_resolver(dns_server: object, catalogue: Catalogue) -> None:
    # PTR lookups through a resolver that cannot answer; blocklists through the good one.
    broken = DnsResolver(["127.0.0.1:9"], timeout=0.3)
    good = DnsResolver([dns_server.address], timeout=1.0)  # type: ignore[attr-defined]
    report = await check_ip(
        "203.0.113.66",
        resolver=broken,
        blocklist_resolver=good,
        catalogue=catalogue.only(["good.bl.rep.test"]),
    )
    assert [f.code for f in report.rdns.findings] == ["rdns.temperror"]
    assert (report.rdns.error or "").startswith("127.0.0.1:9 ")  # the server is named
    assert report.listed_on == ("good.bl.rep.test",)
    assert report.status is CheckStatus.FAIL


async def test_check_domains_function(resolver: DnsResolver, catalogue: Catalogue) -> None:
    report = await check_domains(["mail.rep.test"], resolver=resolver, catalogue=catalogue)
    assert report.status is CheckStatus.PASS, [f.code for f in report.findings if f.severity.rank]
    assert {x.zone for x in report.listings} == {"dbl.bl.rep.test", "bits.bl.rep.test"}


def test_public_names() -> None:
    exported = list(mailcheck.reputation.__all__)
    assert exported == sorted(exported)
    for name in exported:
        assert hasattr(mailcheck.reputation, name)
    assert mailcheck.check_ip is mailcheck.reputation.check_ip
    assert mailcheck.IpReport is mailcheck.reputation.IpReport
