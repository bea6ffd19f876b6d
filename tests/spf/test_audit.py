"""audit_spf against the DNS test server (tests/zones/spf.test.zone): every spf.* code."""

from __future__ import annotations

import asyncio
import collections

import dns.zone
import pytest

from mailcheck import DnsResolver, codes
from mailcheck.lookup import ZoneResolver, ZoneSet
from mailcheck.lookup.answer import DnsAnswer, DnsStatus
from mailcheck.model import CheckStatus, to_dict
from mailcheck.spf import SpfResult, audit_spf, judge_spf, parse_spf
from mailcheck.spf.tree import SpfInclude, SpfTree
from tests.dnsserver import DnsTestServer


async def audit(resolver: DnsResolver, name: str, **kwargs: object) -> SpfResult:
    return await audit_spf(f"{name}.spf.test", resolver=resolver, **kwargs)  # type: ignore[arg-type]


def code_list(result: SpfResult) -> list[str]:
    return [f.code for f in result.findings]


async def test_healthy_tree_facts(resolver: DnsResolver) -> None:
    result = await audit(resolver, "good")
    assert result.status is CheckStatus.PASS
    assert result.findings == ()
    assert result.record == "v=spf1 ip4:192.0.2.10 include:inc1.spf.test a:mail.spf.test mx -all"
    assert result.lookups == 5
    assert result.void_lookups == 0
    assert result.lookups_by_mechanism == {"include": 2, "a": 2, "mx": 1}
    assert [(t.domain, t.term) for t in result.terms] == [
        ("good.spf.test", "include:inc1.spf.test"),
        ("good.spf.test", "a:mail.spf.test"),
        ("good.spf.test", "mx"),
        ("inc1.spf.test", "include:inc2.spf.test"),
        ("inc2.spf.test", "a:mail.spf.test/28"),
    ]
    (inc1,) = result.includes
    assert (inc1.domain, inc1.lookups, inc1.includes[0].domain) == (
        "inc1.spf.test",
        2,
        "inc2.spf.test",
    )
    assert result.networks == (
        "192.0.2.10/32",
        "192.0.2.16/28",
        "192.0.2.20/32",
        "192.0.2.30/32",
        "198.51.100.0/24",
        "2001:db8::/48",
        "2001:db8:1::30/128",
    )
    data = to_dict(result)
    assert data["includes"][0]["includes"][0]["record"].startswith("v=spf1 ip6:")
    assert "_parsed" not in data["includes"][0]


async def test_each_name_is_asked_once(dns_server: DnsTestServer, resolver: DnsResolver) -> None:
    dns_server.delay = 0.02  # every answer late: concurrent identical questions must coalesce
    await audit(resolver, "good", ips=["192.0.2.10"])
    asked = collections.Counter((q.name, q.rdtype) for q in dns_server.log)
    assert asked[("mail.spf.test", "A")] == 1
    assert asked[("inc2.spf.test", "TXT")] == 1
    assert max(asked.values()) == 1, asked


async def test_declared_ips(resolver: DnsResolver) -> None:
    result = await audit(resolver, "good", ips=["192.0.2.10", "198.51.100.7", "203.0.113.99"])
    assert [(r.ip, str(r.result)) for r in result.ip_results] == [
        ("192.0.2.10", "pass"),
        ("198.51.100.7", "pass"),
        ("203.0.113.99", "fail"),
    ]
    (finding,) = result.findings
    assert finding.code == "spf.ip-not-authorized"
    assert finding.details == {"ip": "203.0.113.99", "result": "fail", "domain": "good.spf.test"}
    assert finding.fix is not None
    assert "ip4:203.0.113.99 -all" in finding.fix


async def test_servfail_on_include_is_unknown_with_partial_counts(
    dns_server: DnsTestServer, resolver: DnsResolver
) -> None:
    dns_server.behave("inc2.spf.test", servfail=True)
    result = await audit(resolver, "good", ips=["2001:db8::5"])  # only inc2 lists it
    assert result.status is CheckStatus.UNKNOWN
    assert set(code_list(result)) == {"spf.temperror"}
    assert result.record is not None
    assert result.lookups == 4  # inc2's own term is unknown; the rest is counted
    assert result.includes[0].includes[0].status == "temperror"
    assert [str(r.result) for r in result.ip_results] == ["temperror"]


async def test_servfail_on_the_domain_is_not_missing(
    dns_server: DnsTestServer, resolver: DnsResolver
) -> None:
    dns_server.behave("good.spf.test", servfail=True)
    result = await audit(resolver, "good")
    assert result.status is CheckStatus.UNKNOWN
    assert code_list(result) == ["spf.temperror"]
    assert result.record is None


CASES = [
    ("none", ["spf.missing"]),
    ("multi", ["spf.multiple-records"]),
    ("syntax", ["spf.syntax-error"]),
    ("nonascii", ["spf.syntax-error"]),
    ("type99", ["spf.type99"]),
    ("many", ["spf.lookup-limit"]),
    ("void", ["spf.void-lookup-limit"]),
    ("mxmany", ["spf.mx-too-many-hosts"]),
    ("loop1", ["spf.include-loop"]),
    ("incmissing", ["spf.include-missing"]),
    ("passall", ["spf.pass-all"]),
    ("incpassall", ["spf.pass-all"]),
    ("neutralall", ["spf.neutral-all"]),
    ("redirect", ["spf.neutral-all"]),
    ("noall", ["spf.no-all"]),
    ("ptr", ["spf.ptr"]),
    ("broad", ["spf.broad-network"] * 3),
    ("redirall", ["spf.redirect-with-all"]),
    ("long", ["spf.record-too-long"]),
    ("macro", []),
    ("parked", []),
]


@pytest.mark.parametrize(("name", "expected"), CASES)
async def test_codes(resolver: DnsResolver, name: str, expected: list[str]) -> None:
    result = await audit(resolver, name)
    assert sorted(code_list(result)) == sorted(expected)
    for finding in result.findings:
        assert finding.code in codes.REGISTRY


async def test_fixes_are_records_that_parse(resolver: DnsResolver) -> None:
    for name in ("multi", "incmissing", "passall", "neutralall", "noall", "ptr", "redirall"):
        (finding,) = (await audit(resolver, name)).findings
        assert finding.fix is not None
        parse_spf(finding.fix)
    noall = (await audit(resolver, "noall")).findings[0]
    assert noall.fix == "v=spf1 ip4:192.0.2.1 ~all"
    missing = (await audit(resolver, "incmissing")).findings[0]
    assert missing.fix == "v=spf1 ip4:192.0.2.1 -all"


async def test_limit_findings_name_the_terms(resolver: DnsResolver) -> None:
    many = (await audit(resolver, "many")).findings[0]
    assert many.details["lookups"] == 11
    assert many.details["terms"][0] == {"domain": "many.spf.test", "term": "a:mail.spf.test"}
    assert many.fix == "v=spf1 ip4:192.0.2.20/32 -all"  # flattened
    void = await audit(resolver, "void")
    assert void.void_lookups == 3
    assert [t["term"] for t in void.findings[0].details["terms"]] == [
        "a:gone1.spf.test",
        "a:gone2.spf.test",
        "mx:gone3.spf.test",
    ]
    mx = (await audit(resolver, "mxmany")).findings[0]
    assert mx.details["hosts"] == 11


async def test_macro_terms_are_counted_not_followed(resolver: DnsResolver) -> None:
    result = await audit(resolver, "macro")
    assert result.lookups == 2
    assert [t.resolved for t in result.terms] == [False, False]
    assert result.includes[0].status == "macro"


def test_string_too_long_in_zone_file_mode() -> None:
    # A zone file can hold what DNS cannot carry; the judge flags strings over 255 bytes.
    class LongTxt:
        strings = (b"v=spf1 " + b"a" * 300 + b" -all",)

    answer = DnsAnswer(
        name="x.spf.test",
        rdtype="TXT",
        status=DnsStatus.OK,
        records=(LongTxt(),),  # type: ignore[arg-type]
    )
    text = LongTxt.strings[0].decode()
    root = SpfInclude(
        domain="x.spf.test",
        mechanism="top",
        status="syntax-error",
        record=text,
        _answer=answer,
        _records=(text,),
    )
    tree = SpfTree(root=root, terms=(), networks=(), temperrors=())
    found = [f.code for f in judge_spf("x.spf.test", tree)]
    assert "spf.string-too-long" in found


# --- hostile input ------------------------------------------------------------------------


def _zone(origin: str, txt: str) -> ZoneSet:
    chunks = [txt[i : i + 250] for i in range(0, len(txt), 250)]
    text = "$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\n@ TXT " + " ".join(
        f'"{c}"' for c in chunks
    )
    return ZoneSet((dns.zone.from_text(text, origin=origin, relativize=False),))


async def test_ten_thousand_includes_end_as_findings() -> None:
    record = "v=spf1 " + " ".join(f"include:i{n}.hostile.test" for n in range(10_000)) + " -all"
    resolver = ZoneResolver(_zone("hostile.test", record))
    result = await asyncio.wait_for(audit_spf("hostile.test", resolver=resolver), 30)
    assert result.lookups == 10_000
    found = set(code_list(result))
    assert {"spf.lookup-limit", "spf.void-lookup-limit", "spf.include-missing"} <= found
    assert sum(1 for t in result.terms if t.resolved) <= 100


async def test_huge_txt_over_tcp(dns_server: DnsTestServer, resolver: DnsResolver) -> None:
    record = "v=spf1 " + " ".join(f"ip4:10.{n // 250}.{n % 250}.1" for n in range(2_000)) + " -all"
    chunks = [record[i : i + 250] for i in range(0, len(record), 250)]
    dns_server.add_zone(
        "huge.spf-hostile.test",
        "$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ TXT "
        + " ".join(f'"{c}"' for c in chunks),
    )
    result = await asyncio.wait_for(audit_spf("huge.spf-hostile.test", resolver=resolver), 30)
    assert result.record == record
    assert "spf.record-too-long" in code_list(result)
    assert len(result.networks) == 2_000


async def test_loops_and_non_ascii(resolver: DnsResolver) -> None:
    loop = await audit(resolver, "loop1")
    assert loop.includes[0].includes[0].status == "loop"
    bad = await audit(resolver, "nonascii")
    assert bad.findings[0].details["error"] is not None
