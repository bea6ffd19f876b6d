"""Forward-confirmed reverse DNS and HELO, against the test DNS server."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcheck import CheckStatus, DnsResolver
from mailcheck.errors import ParseError
from mailcheck.reputation import check_helo, check_rdns, generic_reasons
from mailcheck.reputation.rdns import with_ptr
from tests.dnsserver import DnsTestServer


def codes_of(result: object) -> list[str]:
    return sorted(f.code for f in result.findings)  # type: ignore[attr-defined]


async def test_forward_confirmed(resolver: DnsResolver) -> None:
    result = await check_rdns("203.0.113.10", resolver=resolver)
    assert result.status is CheckStatus.PASS
    assert not result.findings
    assert result.ptr_names == ("mail.rep.test",)
    assert result.confirmed_names == ("mail.rep.test",)
    assert result.forward_confirmed is True


async def test_ipv6_forward_confirmed(resolver: DnsResolver) -> None:
    result = await check_rdns("2001:db8:3::10", resolver=resolver)
    assert result.forward_confirmed is True
    assert result.ptr_names == ("mail6.rep.test",)


async def test_ipv4_mapped_address_is_checked_as_ipv4(resolver: DnsResolver) -> None:
    result = await check_rdns("::ffff:203.0.113.10", resolver=resolver)
    assert result.ip == "203.0.113.10"
    assert result.forward_confirmed is True


async def test_missing_ptr(resolver: DnsResolver) -> None:
    result = await check_rdns("203.0.113.11", resolver=resolver)
    assert codes_of(result) == ["rdns.missing"]
    assert result.status is CheckStatus.FAIL
    assert result.forward_confirmed is None


async def test_not_confirmed(resolver: DnsResolver) -> None:
    result = await check_rdns("203.0.113.12", resolver=resolver)
    assert codes_of(result) == ["rdns.not-confirmed"]
    assert result.forward_confirmed is False
    assert result.findings[0].fix == "unconfirmed.rep.test. IN A 203.0.113.12"


async def test_generic_name(resolver: DnsResolver) -> None:
    result = await check_rdns("203.0.113.13", resolver=resolver)
    assert codes_of(result) == ["rdns.generic"]
    assert result.findings[0].details["reasons"] == ["ip-digits", "token:dsl"]
    assert result.forward_confirmed is True


async def test_several_ptrs(resolver: DnsResolver) -> None:
    result = await check_rdns("203.0.113.14", resolver=resolver)
    assert codes_of(result) == ["rdns.multiple"]
    assert set(result.ptr_names) == {"mail2.rep.test", "other.rep.test"}
    assert set(result.confirmed_names) == set(result.ptr_names)


async def test_ptr_servfail_is_temperror_not_missing(
    dns_server: DnsTestServer, resolver: DnsResolver
) -> None:
    dns_server.behave("11.113.0.203.in-addr.arpa", servfail=True)
    result = await check_rdns("203.0.113.11", resolver=resolver)
    assert codes_of(result) == ["rdns.temperror"]
    assert result.status is CheckStatus.UNKNOWN


async def test_forward_timeout_is_temperror(dns_server: DnsTestServer) -> None:
    dns_server.behave("slow.rep.test", drop=True)
    resolver = DnsResolver([dns_server.address], timeout=0.3)
    result = await check_rdns("203.0.113.15", resolver=resolver)
    assert codes_of(result) == ["rdns.temperror"]
    assert result.forward_confirmed is None
    assert result.status is CheckStatus.UNKNOWN


async def test_bad_ip_is_a_parse_error(resolver: DnsResolver) -> None:
    with pytest.raises(ParseError):
        await check_rdns("203.0.113", resolver=resolver)


async def test_helo_equal_to_ptr(resolver: DnsResolver) -> None:
    result = await check_helo("mail.rep.test", ip="203.0.113.10", resolver=resolver)
    result = with_ptr(result, ("mail.rep.test",))
    assert not result.findings
    assert result.resolves_to_ip
    assert result.matches_ptr


@pytest.mark.parametrize(
    ("helo", "ip", "expected"),
    [
        ("localhost", "203.0.113.10", ["helo.not-fqdn"]),
        ("203.0.113.10", "203.0.113.10", ["helo.not-fqdn"]),
        ("[203.0.113.10]", "203.0.113.10", ["helo.address-literal"]),
        ("nx.rep.test", "203.0.113.10", ["helo.no-address", "helo.ptr-mismatch"]),
        ("wrongip.rep.test", "203.0.113.10", ["helo.ip-mismatch", "helo.ptr-mismatch"]),
        ("other.rep.test", "203.0.113.14", []),
    ],
)
async def test_helo_findings(
    resolver: DnsResolver, helo: str, ip: str, expected: list[str]
) -> None:
    ptrs = ("mail.rep.test",) if ip.endswith(".10") else ("mail2.rep.test", "other.rep.test")
    result = await check_helo(helo, ip=ip, ptr_names=ptrs, resolver=resolver)
    assert codes_of(result) == expected


async def test_helo_servfail_is_temperror(dns_server: DnsTestServer, resolver: DnsResolver) -> None:
    dns_server.behave("mail.rep.test", servfail=True)
    result = await check_helo("mail.rep.test", ip="203.0.113.10", resolver=resolver)
    assert codes_of(result) == ["helo.temperror"]
    assert result.status is CheckStatus.UNKNOWN


@pytest.mark.parametrize(
    ("name", "ip", "generic"),
    [
        ("203-0-113-10.static.example.net", "203.0.113.10", True),
        ("10.113.0.203.in-addr.example.net", "203.0.113.10", True),
        ("host-10-113-0-203.example.net", "203.0.113.10", True),
        ("cb007109.example.net", "203.0.113.9", True),  # the address in hex
        ("dynamic.isp.example", "203.0.113.10", True),
        ("cust-44.pool.example.net", "203.0.113.10", True),
        ("static.10.113.0.203.clients.your-server.de", "203.0.113.10", True),
        ("2001-db8-3--10.ipv6.example.net", "2001:db8:3::10", True),
        ("mail.example.org", "203.0.113.10", False),
        ("mx1.example.org", "203.0.113.1", False),
        ("smtp-out203.example.org", "203.0.113.10", False),
        ("mail6.example.org", "2001:db8:3::10", False),
    ],
)
def test_generic_heuristic(name: str, ip: str, generic: bool) -> None:
    assert bool(generic_reasons(name, ipaddress.ip_address(ip))) is generic


@given(name=st.text(max_size=80), ip=st.ip_addresses())
def test_generic_heuristic_never_raises(name: str, ip: ipaddress.IPv4Address) -> None:
    assert isinstance(generic_reasons(name, ip), tuple)
