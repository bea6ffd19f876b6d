"""The DNS layer against a real DNS server on loopback."""

from __future__ import annotations

import asyncio

import pytest

from mailcheck import DnsResolver, DnsStatus, DnsTimeout, ParseError, TempError, ZoneResolver
from mailcheck.errors import ConfigError
from mailcheck.lookup import parse_nameserver
from tests.conftest import ZONES
from tests.dnsserver import DnsTestServer


async def test_ok_answer_with_records_and_ttl(resolver: DnsResolver) -> None:
    answer = await resolver.query("www.lookup.test", "A")
    assert answer.status is DnsStatus.OK
    assert answer.addresses() == ("192.0.2.1",)
    assert answer.ttl == 300


async def test_nxdomain_and_nodata_are_answers(resolver: DnsResolver) -> None:
    missing = await resolver.query("nope.lookup.test", "TXT")
    assert missing.status is DnsStatus.NXDOMAIN
    assert missing.ttl == 60  # SOA minimum, RFC 2308
    nodata = await resolver.query("www.lookup.test", "TXT")
    assert nodata.status is DnsStatus.NODATA
    empty_non_terminal = await resolver.query("b.c.lookup.test", "A")
    assert empty_non_terminal.status is DnsStatus.NODATA


async def test_cname_chain_followed(resolver: DnsResolver) -> None:
    answer = await resolver.query("alias2.lookup.test", "AAAA")
    assert answer.addresses() == ("2001:db8::1",)
    assert answer.cname_chain == ("alias.lookup.test", "www.lookup.test")
    assert answer.canonical_name == "www.lookup.test"


async def test_cname_loop_is_temperror(resolver: DnsResolver) -> None:
    with pytest.raises(TempError, match="CNAME loop"):
        await resolver.query("loop1.lookup.test", "TXT")


async def test_txt_strings_kept_and_joined(resolver: DnsResolver) -> None:
    answer = await resolver.query("split.lookup.test", "TXT")
    assert answer.text_chunks() == ((b"v=spf1 ip4:192.0.2.0/24 ", b"-all"),)
    assert answer.texts() == ("v=spf1 ip4:192.0.2.0/24 -all",)


async def test_mx_sorted_by_preference(resolver: DnsResolver) -> None:
    answer = await resolver.query("mx.lookup.test", "MX")
    assert answer.mx_hosts() == ((10, "mx1.lookup.test"), (20, "mx2.lookup.test"))


async def test_wildcard(resolver: DnsResolver) -> None:
    assert (await resolver.query("x.wild.lookup.test", "TXT")).texts() == ("wildcard",)
    assert (await resolver.query("exact.wild.lookup.test", "TXT")).texts() == ("exact",)


async def test_single_flight_counted_at_the_server(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("www.lookup.test", delay=0.05)
    answers = await asyncio.gather(*(resolver.query("www.lookup.test", "A") for _ in range(20)))
    assert {a.addresses() for a in answers} == {("192.0.2.1",)}
    assert dns_server.count("www.lookup.test", "A") == 1
    assert resolver.stats.coalesced == 19
    await resolver.query("WWW.lookup.test.", "A")
    assert resolver.stats.cache_hits == 1
    assert dns_server.count("www.lookup.test", "A") == 1


async def test_servfail_refused_are_temperror(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("www.lookup.test", servfail=True)
    with pytest.raises(TempError, match="SERVFAIL"):
        await resolver.query("www.lookup.test", "A")
    with pytest.raises(TempError, match="REFUSED"):
        await resolver.query("outside.example", "A")  # no zone: the server refuses


async def test_timeout_is_dnstimeout(dns_server: DnsTestServer) -> None:
    resolver = DnsResolver([dns_server.address], timeout=0.3)
    dns_server.behave("www.lookup.test", drop=True)
    with pytest.raises(DnsTimeout):
        await resolver.query("www.lookup.test", "A")
    assert isinstance(DnsTimeout("a", "A", "x"), TimeoutError)


async def test_truncation_falls_back_to_tcp(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("big.lookup.test", truncate=True)
    answer = await resolver.query("big.lookup.test", "TXT")
    assert len(answer.text_chunks()[0]) == 6
    assert resolver.stats.tcp_fallbacks == 1
    transports = [q.transport for q in dns_server.log if q.name == "big.lookup.test"]
    assert transports == ["udp", "tcp"]


async def test_garbage_and_mismatched_answers_are_temperror(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("www.lookup.test", raw=b"\x00\x00garbage")
    with pytest.raises(TempError):
        await resolver.query("www.lookup.test", "A")
    dns_server.behave("mx1.lookup.test", mismatch=True)
    with pytest.raises(TempError):
        await resolver.query("mx1.lookup.test", "A")


async def test_bad_names_are_parse_errors(resolver: DnsResolver) -> None:
    with pytest.raises(ParseError):
        await resolver.query("a" * 64 + ".test", "A")
    with pytest.raises(ParseError):
        await resolver.query("a..b", "A")


def test_parse_nameserver() -> None:
    assert parse_nameserver("127.0.0.1:5300") == ("127.0.0.1", 5300)
    assert parse_nameserver("9.9.9.9") == ("9.9.9.9", 53)
    assert parse_nameserver("[::1]:53") == ("::1", 53)
    assert parse_nameserver("::1") == ("::1", 53)
    for bad in ("example.org", "1.2.3.4:99999", "[::1"):
        with pytest.raises(ConfigError):
            parse_nameserver(bad)


async def test_zone_resolver_offline_and_outside() -> None:
    zr = ZoneResolver([ZONES / "lookup.test.zone"])
    assert (await zr.query("alias.lookup.test", "A")).addresses() == ("192.0.2.1",)
    assert (await zr.query("none.lookup.test", "A")).status is DnsStatus.NXDOMAIN
    with pytest.raises(TempError, match="outside the zones"):
        await zr.query("example.org", "A")
    with pytest.raises(TempError, match="outside the zones"):
        await zr.query("out.lookup.test", "A")


async def test_zone_resolver_fallback(resolver: DnsResolver, dns_server: DnsTestServer) -> None:
    zr = ZoneResolver([ZONES / "lookup.test.zone"], fallback=resolver)
    # elsewhere.invalid is outside the zone: the fallback is asked, and the server refuses it.
    with pytest.raises(TempError, match="REFUSED"):
        await zr.query("out.lookup.test", "A")
    assert dns_server.count("elsewhere.invalid", "A") == 1
    answer = await zr.query("mx1.lookup.test", "A")
    assert answer.addresses() == ("192.0.2.25",)
    assert dns_server.count("mx1.lookup.test") == 0
