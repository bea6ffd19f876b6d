"""check_host(): pyspf's verdicts with every DNS question answered through our resolver."""

from __future__ import annotations

import asyncio
import collections

import pytest

from mailcheck import DnsResolver
from mailcheck.spf import SpfVerdict, check_host
from tests.dnsserver import DnsTestServer


async def test_pass_and_fail(resolver: DnsResolver) -> None:
    ok = await check_host("192.0.2.20", "a@good.spf.test", helo="mx.example", resolver=resolver)
    assert (ok.result, ok.domain, ok.ip) == (SpfVerdict.PASS, "good.spf.test", "192.0.2.20")
    bad = await check_host("203.0.113.5", "a@good.spf.test", resolver=resolver)
    assert bad.result is SpfVerdict.FAIL
    assert bad.explanation


async def test_results_of_the_qualifiers(resolver: DnsResolver) -> None:
    async def result(domain: str) -> str:
        return str((await check_host("203.0.113.5", f"a@{domain}", resolver=resolver)).result)

    assert await result("neutralall.spf.test") == "neutral"
    assert await result("passall.spf.test") == "pass"
    assert await result("none.spf.test") == "none"
    assert await result("multi.spf.test") == "permerror"
    assert await result("many.spf.test") == "permerror"


async def test_null_sender_uses_helo(resolver: DnsResolver) -> None:
    evaluation = await check_host("192.0.2.10", "", helo="good.spf.test", resolver=resolver)
    assert (evaluation.sender, evaluation.result) == ("postmaster@good.spf.test", "pass")


async def test_dns_failure_is_temperror_never_none(
    dns_server: DnsTestServer, resolver: DnsResolver
) -> None:
    dns_server.behave("good.spf.test", servfail=True)
    evaluation = await check_host("192.0.2.10", "a@good.spf.test", resolver=resolver)
    assert evaluation.result is SpfVerdict.TEMPERROR


async def test_timeout_is_temperror(dns_server: DnsTestServer) -> None:
    dns_server.behave("inc2.spf.test", drop=True)
    resolver = DnsResolver([dns_server.address], timeout=0.3)
    evaluation = await check_host("2001:db8::5", "a@good.spf.test", resolver=resolver)
    assert evaluation.result is SpfVerdict.TEMPERROR


async def test_concurrent_evaluations_share_the_resolver(
    dns_server: DnsTestServer, resolver: DnsResolver
) -> None:
    dns_server.delay = 0.02
    ips = ["192.0.2.10", "192.0.2.20", "2001:db8::5", "203.0.113.5"]
    results = await asyncio.gather(
        *(check_host(ip, "a@good.spf.test", resolver=resolver) for ip in ips)
    )
    assert [str(r.result) for r in results] == ["pass", "pass", "pass", "fail"]
    asked = collections.Counter((q.name, q.rdtype) for q in dns_server.log)
    assert asked[("good.spf.test", "TXT")] == 1


async def test_cancelled_evaluation_stops_its_thread(dns_server: DnsTestServer) -> None:
    dns_server.behave("good.spf.test", drop=True)
    resolver = DnsResolver([dns_server.address], timeout=0.5)
    task = asyncio.create_task(check_host("192.0.2.10", "a@good.spf.test", resolver=resolver))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    dns_server.behave("good.spf.test")  # answers again: the next evaluation is unaffected
    fresh = DnsResolver([dns_server.address], timeout=1.0)
    evaluation = await check_host("192.0.2.10", "a@good.spf.test", resolver=fresh)
    assert evaluation.result is SpfVerdict.PASS
