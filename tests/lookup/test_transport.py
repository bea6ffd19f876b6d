"""The UDP transport against a misbehaving server: what is not our answer is ignored.

RFC 5452 §9.1: a resolver accepts only a response whose id, port and question match
its query. A datagram with the right id that no parser accepts, or that is not a
standard-query response (QR clear, another opcode), is an off-path guess or noise:
the transport keeps waiting for the real answer instead of failing the try.
"""

from __future__ import annotations

import dns.flags
import dns.message
import dns.opcode
import pytest

from mailcheck import DnsResolver, DnsTimeout
from tests.dnsserver import DnsTestServer


def _reply_with_opcode(name: str, opcode: dns.opcode.Opcode) -> bytes:
    query = dns.message.make_query(name, "A")
    response = dns.message.make_response(query)
    response.set_opcode(opcode)
    response.flags |= dns.flags.QR
    return response.to_wire()


def _query_echo(name: str) -> bytes:
    return dns.message.make_query(name, "A").to_wire()


GARBAGE = (
    b"\x00\x00garbage",
    b"\x00\x00" + b"\x81\x80" + b"\x00\x01" * 4 + b"\xff" * 30,  # a header, then nonsense
    b"\x00\x00" + b"\x80\x00" + b"\x00" * 8,  # a bare header: no question at all
)


@pytest.mark.parametrize("before", [GARBAGE, (b"\x00\x00" + b"\x00" * 300,)])
async def test_garbage_with_our_id_is_ignored(
    before: tuple[bytes, ...], resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("www.lookup.test", before=before)
    answer = await resolver.query("www.lookup.test", "A")
    assert answer.addresses() == ("192.0.2.1",)
    assert resolver.stats.sent == 1  # the first try got its answer: nothing was retried


async def test_replies_that_are_not_standard_query_responses_are_ignored(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    name = "mx1.lookup.test"
    dns_server.behave(
        name,
        before=(
            _reply_with_opcode(name, dns.opcode.NOTIFY),
            _reply_with_opcode(name, dns.opcode.UPDATE),
            _query_echo(name),  # our own query bounced back: QR is clear
        ),
    )
    answer = await resolver.query(name, "A")
    assert answer.addresses() == ("192.0.2.25",)
    assert resolver.stats.sent == 1


async def test_only_garbage_is_a_timeout_not_an_answer(dns_server: DnsTestServer) -> None:
    resolver = DnsResolver([dns_server.address], timeout=0.3)
    dns_server.behave("www.lookup.test", raw=b"\x00\x00garbage")
    with pytest.raises(DnsTimeout):
        await resolver.query("www.lookup.test", "A")
