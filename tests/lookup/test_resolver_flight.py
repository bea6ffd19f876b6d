"""Single-flight: callers of one question in flight share it, and giving up is per caller."""

from __future__ import annotations

import asyncio

import pytest

from mailcheck import DnsResolver, TempError
from tests.dnsserver import DnsTestServer


async def test_one_caller_giving_up_leaves_the_others_their_answer(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("www.lookup.test", delay=0.2)
    first = asyncio.ensure_future(resolver.query("www.lookup.test", "A"))
    second = asyncio.ensure_future(resolver.query("WWW.lookup.test.", "A"))
    await asyncio.sleep(0.05)
    first.cancel()
    answer = await second
    assert first.cancelled()
    assert answer.addresses() == ("192.0.2.1",)
    assert dns_server.count("www.lookup.test", "A") == 1
    assert resolver.stats.coalesced == 1


async def test_the_only_caller_giving_up_still_caches_the_answer(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("www.lookup.test", delay=0.1)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.03):
            await resolver.query("www.lookup.test", "A")
    await asyncio.sleep(0.2)  # the question goes on without its caller
    answer = await resolver.query("www.lookup.test", "A")
    assert answer.addresses() == ("192.0.2.1",)
    assert resolver.stats.cache_hits == 1
    assert dns_server.count("www.lookup.test", "A") == 1


async def test_every_caller_gets_the_failure(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("www.lookup.test", servfail=True, delay=0.05)
    outcomes = await asyncio.gather(
        *(resolver.query("www.lookup.test", "A") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, TempError) and "SERVFAIL" in str(o) for o in outcomes)
    assert dns_server.count("www.lookup.test", "A") == 1
    # Nothing stays in flight: the next question goes out again.
    with pytest.raises(TempError):
        await resolver.query("www.lookup.test", "A")
    assert dns_server.count("www.lookup.test", "A") == 2


def test_questions_in_flight_cancelled_with_their_loop(dns_server: DnsTestServer) -> None:
    """A question left in flight when its event loop ends (asyncio.run cancels it) does
    not hold the next loop's identical question: that one goes out again and is answered."""
    resolver = DnsResolver([dns_server.address], timeout=5.0)
    dns_server.behave("www.lookup.test", delay=0.5)

    left: list[asyncio.Future[object]] = []

    async def leave_in_flight() -> None:
        left.append(asyncio.ensure_future(resolver.query("www.lookup.test", "A")))
        await asyncio.sleep(0.05)  # on the wire; then asyncio.run cancels it

    asyncio.run(leave_in_flight())
    assert left[0].cancelled()
    dns_server.behave("www.lookup.test")  # answers at once now
    answer = asyncio.run(resolver.query("www.lookup.test", "A"))
    assert answer.ok
    assert dns_server.count("www.lookup.test", "A") == 2
