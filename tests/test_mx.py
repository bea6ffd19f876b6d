"""The MX check against a real DNS server."""

from __future__ import annotations

from mailcheck import CheckStatus, DnsResolver
from mailcheck.mx import audit_mx
from tests.dnsserver import DnsTestServer


def codes_of(result: object) -> set[str]:
    return {f.code for f in result.findings}  # type: ignore[attr-defined]


async def test_good_hosts_sorted_with_addresses(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    result = await audit_mx("good.mx.test", resolver=resolver)
    assert result.status is CheckStatus.PASS
    assert [(h.preference, h.host) for h in result.hosts] == [
        (10, "mx1.good.mx.test"),
        (20, "mx2.good.mx.test"),
    ]
    assert result.hosts[0].addresses == ("192.0.2.25", "2001:db8::25")
    # A and AAAA of both hosts asked at once, each once.
    assert dns_server.count("mx1.good.mx.test", "A") == 1
    assert dns_server.count("mx1.good.mx.test", "AAAA") == 1


async def test_null_mx(resolver: DnsResolver) -> None:
    result = await audit_mx("null.mx.test", resolver=resolver)
    assert result.null_mx
    assert codes_of(result) == {"mx.null"}
    assert result.status is CheckStatus.PASS
    mixed = await audit_mx("nullmixed.mx.test", resolver=resolver)
    assert codes_of(mixed) == {"mx.null-mixed"}
    assert mixed.status is CheckStatus.FAIL


async def test_implicit_and_none(resolver: DnsResolver) -> None:
    implicit = await audit_mx("implicit.mx.test", resolver=resolver)
    assert implicit.implicit
    assert codes_of(implicit) == {"mx.implicit"}
    assert implicit.hosts[0].addresses == ("192.0.2.80",)
    nothing = await audit_mx("nothing.mx.test", resolver=resolver)
    assert codes_of(nothing) == {"mx.none"}
    assert nothing.status is CheckStatus.FAIL


async def test_bad_targets(resolver: DnsResolver) -> None:
    literal = await audit_mx("literal.mx.test", resolver=resolver)
    assert codes_of(literal) == {"mx.ip-literal", "mx.no-reachable-host"}
    aliased = await audit_mx("aliased.mx.test", resolver=resolver)
    assert codes_of(aliased) == {"mx.cname"}
    assert aliased.findings[0].details["cname_chain"] == ["mx1.good.mx.test"]
    missing = await audit_mx("missing.mx.test", resolver=resolver)
    assert codes_of(missing) == {"mx.target-nxdomain", "mx.no-reachable-host"}
    noaddr = await audit_mx("noaddr.mx.test", resolver=resolver)
    assert codes_of(noaddr) == {"mx.target-no-address", "mx.no-reachable-host"}


async def test_dns_failure_is_unknown_not_missing(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("good.mx.test", servfail=True)
    result = await audit_mx("good.mx.test", resolver=resolver)
    assert result.status is CheckStatus.UNKNOWN
    assert codes_of(result) == {"mx.temperror"}
    dns_server.behave("mx.broken.mx.test", servfail=True)
    partial = await audit_mx("broken.mx.test", resolver=resolver)
    assert partial.status is CheckStatus.UNKNOWN
    assert codes_of(partial) == {"mx.temperror"}  # never "no address" on a failure
    assert partial.hosts[0].status == "unknown"


async def test_dns_failure_is_unknown_with_the_server_named(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("good.mx.test", servfail=True)
    result = await audit_mx("good.mx.test", resolver=resolver)
    assert result.status is CheckStatus.UNKNOWN
    assert codes_of(result) == {"mx.temperror"}
    assert result.error == f"{dns_server.address} answered SERVFAIL"
    assert result.hosts == ()  # unknown, not "no mail host" nor mx.none


async def test_unreachable_server_is_named() -> None:
    result = await audit_mx("good.mx.test", resolver=DnsResolver(["127.0.0.1:9"], timeout=0.5))
    assert result.status is CheckStatus.UNKNOWN
    assert result.error is not None
    assert result.error.startswith("127.0.0.1:9 ")
