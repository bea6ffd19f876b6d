"""``mailcheck.bulk``: many domains or IPs at once, bad items reported, bounded concurrency."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mailcheck import DomainReport, audit_many, audit_many_sync, check_many
from mailcheck.bulk import run_pool
from mailcheck.errors import ConfigError, MailcheckError, ParseError
from mailcheck.lookup import DnsResolver
from mailcheck.reputation import BlocklistChecker, IpReport, load_catalogue
from tests.dnsserver import DnsTestServer

LISTS = Path(__file__).parent / "reputation" / "lists.toml"


async def test_run_pool_reports_each_item_bad_ones_included_within_its_concurrency() -> None:
    running, most = 0, 0
    seen: dict[int, object] = {}

    async def work(n: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001)
        running -= 1
        if n % 5 == 0:
            raise ParseError(str(n), 0, "bad item")
        return n * n

    await run_pool(range(20), 3, work, seen.__setitem__)
    assert sorted(seen) == list(range(20))
    assert most == 3
    assert all(isinstance(seen[n], MailcheckError) for n in (0, 5, 10, 15))
    assert seen[7] == 49


async def test_run_pool_does_not_swallow_unexpected_errors() -> None:
    async def work(n: int) -> int:
        raise RuntimeError("bug")

    with pytest.raises(ExceptionGroup):
        await run_pool([1], 1, work, lambda *_: None)


async def test_run_pool_refuses_a_concurrency_below_one() -> None:
    async def work(n: int) -> int:
        return n

    with pytest.raises(ConfigError):
        await run_pool([1], 0, work, lambda *_: None)


async def test_audit_many_hands_each_domain_or_its_error_to_emit(resolver: DnsResolver) -> None:
    seen: dict[str, DomainReport | MailcheckError] = {}
    domains = ["good.audittest", "not a domain", "bare.audittest"]
    await audit_many(
        iter(domains), emit=seen.__setitem__, concurrency=2, resolver=resolver, reputation=False
    )
    assert set(seen) == set(domains)
    assert isinstance(seen["not a domain"], ParseError)
    good, bare = seen["good.audittest"], seen["bare.audittest"]
    assert isinstance(good, DomainReport)
    assert isinstance(bare, DomainReport)
    assert good.status == "pass"
    assert "spf.missing" in {f.code for f in bare.findings}


def test_audit_many_sync(dns_server: DnsTestServer) -> None:
    seen: dict[str, object] = {}
    resolver = DnsResolver([dns_server.address], timeout=2)
    audit_many_sync(["good.audittest"], emit=seen.__setitem__, resolver=resolver, reputation=False)
    assert isinstance(seen["good.audittest"], DomainReport)


async def test_check_many_shares_one_checker(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    checker = BlocklistChecker(resolver=resolver, catalogue=load_catalogue(LISTS, builtin=False))
    seen: dict[tuple[str, str | None], IpReport | MailcheckError] = {}
    jobs = [("203.0.113.10", "mail.rep.test"), ("203.0.113.66", None), ("fe80::1%eth0", None)]
    await check_many(jobs, checker=checker, emit=seen.__setitem__, concurrency=2)
    assert isinstance(seen[("fe80::1%eth0", None)], ParseError)
    assert isinstance(seen[("203.0.113.66", None)], IpReport)
    assert dns_server.count("2.0.0.127.good.bl.rep.test", "A") == 1  # one self-test per run
