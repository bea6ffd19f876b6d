"""The lean reply parser: bounds, compression pointers, and the same answers as dnspython.

The parser may refuse any reply (``WireError``: dnspython then decides, as before), but a
reply it accepts must be one dnspython accepts too, and it must give the same answer, or
the same ``TempError``. Random bytes and mutated valid replies must never raise anything
but ``WireError`` and never hang.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mailcheck.errors import ParseError, TempError
from mailcheck.lookup.answer import DEFAULT_NEGATIVE_TTL, DnsAnswer, DnsStatus, name_text
from mailcheck.lookup.reply import (
    LeanReply,
    MessageReply,
    QueryName,
    Question,
    WireError,
    name_key,
    parse_reply,
    read_name,
)
from mailcheck.lookup.resolver import parse_nameserver, to_dns_name
from mailcheck.lookup.transport import _answers
from mailcheck.lookup.wire import query_message
from mailcheck.lookup.zonefile import ZoneSet
from tests.conftest import ZONES
from tests.dnsserver import DnsTestServer

HEADER = struct.Struct("!HHHHHH")
SOA = "ns.example. hostmaster.example. 1 3600 600 86400 300"


def question(name: str, rdtype: str) -> Question:
    value = dns.rdatatype.from_text(rdtype)
    return Question(QueryName.parse(name, to_dns_name), value, dns.rdatatype.to_text(value))


def response(
    name: str,
    rdtype: str,
    *,
    rcode: dns.rcode.Rcode = dns.rcode.NOERROR,
    answer: Sequence[tuple[str, int, str, str]] = (),
    authority: Sequence[tuple[str, int, str, str]] = (),
    additional: Sequence[tuple[str, int, str, str]] = (),
    edns: bool = True,
) -> bytes:
    """A response built by dnspython: one RRset per (owner, ttl, type, rdata) given."""
    query = dns.message.make_query(name, rdtype, use_edns=0 if edns else False)
    reply = dns.message.make_response(query)
    reply.set_rcode(rcode)
    for section, records in (
        (reply.answer, answer),
        (reply.authority, authority),
        (reply.additional, additional),
    ):
        for owner, ttl, type_text, text in records:
            section.append(dns.rrset.from_text(owner, ttl, "IN", type_text, text))
    return reply.to_wire()


def lean(wire: bytes, asked: Question) -> DnsAnswer | str:
    return outcome(parse_reply(wire, asked), asked)


def outcome(reply: LeanReply | MessageReply, asked: Question) -> DnsAnswer | str:
    try:
        return reply.answer(asked)
    except TempError as exc:
        return f"TempError: {exc}"


def dnspython(wire: bytes, asked: Question) -> DnsAnswer | str:
    message = dns.message.from_wire(wire)
    assert _answers(message, asked)
    return outcome(MessageReply(message), asked)


# --- names ---------------------------------------------------------------------------


def test_read_name_plain_and_compressed() -> None:
    wire = b"\x00" * 12 + b"\x03www\x07example\x03org\x00" + b"\x04mail\xc0\x10"
    assert read_name(wire, 12, len(wire)) == (b"\x03www\x07example\x03org\x00", 29)
    assert read_name(wire, 29, len(wire)) == (b"\x04mail\x07example\x03org\x00", len(wire))


def test_read_name_chain_of_pointers_backwards() -> None:
    wire = b"\x00" * 12 + b"\x03org\x00" + b"\x07example\xc0\x0c" + b"\xc0\x11"
    assert read_name(wire, 27, len(wire)) == (b"\x07example\x03org\x00", 29)


@pytest.mark.parametrize(
    ("wire", "start", "reason"),
    [
        (b"\x00" * 12 + b"\xc0\x0c", 12, "backwards"),  # points at itself
        (b"\x00" * 12 + b"\xc0\x0e\x00", 12, "backwards"),  # points forwards
        (b"\x00" * 12 + b"\x01a\xc0\x0e" + b"\xc0\x0e", 16, "backwards"),  # a loop
        (b"\x00" * 12 + b"\x01a\xc0\x0c", 12, "backwards"),  # back into its own start
        (b"\x00" * 12 + b"\x03ab", 12, "past"),  # label out of bounds
        (b"\x00" * 12 + b"\x01a", 12, "past"),  # no terminating zero
        (b"\x00" * 12 + b"\xc0", 12, "past"),  # pointer cut in half
        (b"\x00" * 12 + b"\x41a\x00", 12, "label type"),
        (b"\x00" * 12 + b"\x81a\x00", 12, "label type"),
        (b"\x00" * 12, 12, "past"),  # nothing at all
    ],
)
def test_read_name_rejects(wire: bytes, start: int, reason: str) -> None:
    with pytest.raises(WireError, match=reason):
        read_name(wire, start, len(wire))
    with pytest.raises(dns.exception.DNSException):
        dns.name.from_wire(wire, start)


def test_read_name_pointer_target_must_end_before_the_pointer() -> None:
    # At 14 a name whose label would run over the pointer at 16 that points to it.
    wire = b"\x00" * 12 + b"\x00\x00" + b"\x03a" + b"\xc0\x0e"
    with pytest.raises(WireError):
        read_name(wire, 16, len(wire))
    with pytest.raises(dns.exception.DNSException):
        dns.name.from_wire(wire, 16)


def test_read_name_too_many_hops() -> None:
    # 17 pointers, each to the one before it, ending at the root name at 12.
    wire = bytearray(b"\x00" * 12 + b"\x00")
    for n in range(17):
        wire += struct.pack("!H", 0xC000 | (12 if n == 0 else len(wire) - 2))
    wire = bytes(wire)
    assert read_name(wire, len(wire) - 4, len(wire))[0] == b"\x00"  # 16 hops: fine
    with pytest.raises(WireError, match="too many"):
        read_name(wire, len(wire) - 2, len(wire))
    with pytest.raises(dns.exception.DNSException):
        dns.name.from_wire(wire, len(wire) - 2)


def test_read_name_longer_than_255() -> None:
    long_name = b"\x3f" + b"a" * 63
    wire = b"\x00" * 12 + long_name * 3 + b"\x3e" + b"a" * 62 + b"\x00"  # 256 bytes
    with pytest.raises(WireError, match="255"):
        read_name(wire, 12, len(wire))
    wire = b"\x00" * 12 + long_name * 3 + b"\x3d" + b"a" * 61 + b"\x00"  # 255: the limit
    assert len(read_name(wire, 12, len(wire))[0]) == 255


def test_read_name_bound_by_record_data() -> None:
    wire = b"\x00" * 12 + b"\x03www\x00"
    with pytest.raises(WireError):
        read_name(wire, 12, 15)  # the record data ends inside the name
    assert read_name(wire, 12, 17)[1] == 17


def test_name_key_matches_query_name() -> None:
    name = QueryName.parse("WwW.Example.ORG.", to_dns_name)
    assert name.key == name_key(dns.name.from_text("www.example.org"))
    assert name.text == "WwW.Example.ORG"
    assert name.answer_name == "www.example.org"
    assert name.name == dns.name.from_text("www.example.org")


name_texts = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"[A-Za-z0-9_\-]{1,70}(\.[A-Za-z0-9_\-]{1,70}){0,5}\.?", fullmatch=True),
    st.sampled_from(["", ".", "@", "a..b", "a.b..", " x.org ", "é.fr", "a\\.b", "a" * 64]),
)


@given(name_texts)
@example("a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 61)  # 253 characters
@example("a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 62)  # 254: too long
def test_query_name_as_dnspython_parses_it(text: str) -> None:
    try:
        expected = to_dns_name(text)
    except ParseError:
        with pytest.raises(ParseError):
            QueryName.parse(text, to_dns_name)
        return
    name = QueryName.parse(text, to_dns_name)
    assert name.wire == expected.to_wire()
    assert name.text == expected.to_text(omit_final_dot=True)
    assert name.answer_name == name_text(expected)
    assert name.name == expected


# --- replies -------------------------------------------------------------------------


def test_nxdomain_negative_ttl_from_soa() -> None:
    asked = question("2.0.0.10.zen.example", "A")
    wire = response(
        "2.0.0.10.zen.example",
        "A",
        rcode=dns.rcode.NXDOMAIN,
        authority=[("zen.example.", 3600, "SOA", SOA)],
    )
    answer = lean(wire, asked)
    assert isinstance(answer, DnsAnswer)
    assert answer.status is DnsStatus.NXDOMAIN
    assert answer.ttl == 300
    assert answer == dnspython(wire, asked)


def test_nodata_without_soa_uses_the_default() -> None:
    asked = question("example.org", "AAAA")
    answer = lean(response("example.org", "AAAA"), asked)
    assert isinstance(answer, DnsAnswer)
    assert (answer.status, answer.ttl) == (DnsStatus.NODATA, DEFAULT_NEGATIVE_TTL)


def test_records_of_every_lean_type() -> None:
    cases = [
        ("A", "127.0.0.2", "127.0.0.2"),
        ("AAAA", "2001:db8::1", "2001:db8::1"),
        ("TXT", '"v=spf1 " "-all"', None),
        ("PTR", "Mail.Example.ORG.", None),
        ("CNAME", "other.example.", None),
    ]
    for rdtype, text, address in cases:
        asked = question("x.example", rdtype)
        wire = response("x.example", rdtype, answer=[("x.example.", 60, rdtype, text)])
        answer = lean(wire, asked)
        assert isinstance(answer, DnsAnswer)
        assert answer == dnspython(wire, asked)
        assert answer.ttl == 60
        if address:
            assert answer.addresses() == (address,)
    txt = lean(
        response("x.example", "TXT", answer=[("x.example.", 60, "TXT", '"v=spf1 " "-all"')]),
        question("x.example", "TXT"),
    )
    assert isinstance(txt, DnsAnswer)
    assert txt.texts() == ("v=spf1 -all",)
    ptr = lean(
        response("x.example", "PTR", answer=[("x.example.", 60, "PTR", "Mail.Example.ORG.")]),
        question("x.example", "PTR"),
    )
    assert isinstance(ptr, DnsAnswer)
    assert ptr.targets() == ("mail.example.org",)


def test_cname_chain_duplicates_and_ttl() -> None:
    asked = question("www.example", "A")
    wire = response(
        "www.example",
        "A",
        answer=[
            ("www.example.", 300, "CNAME", "Web.Example."),
            ("web.example.", 120, "A", "192.0.2.1"),
            ("WEB.example.", 60, "A", "192.0.2.1"),  # a duplicate, with a lower TTL
            ("web.example.", 200, "A", "192.0.2.2"),
        ],
    )
    answer = lean(wire, asked)
    assert isinstance(answer, DnsAnswer)
    assert answer.addresses() == ("192.0.2.1", "192.0.2.2")
    assert answer.cname_chain == ("web.example",)
    assert answer.ttl == 60
    assert answer == dnspython(wire, asked)


def test_cname_loop_and_servfail_same_errors() -> None:
    asked = question("a.example", "A")
    loop = response(
        "a.example",
        "A",
        answer=[
            ("a.example.", 60, "CNAME", "b.example."),
            ("b.example.", 60, "CNAME", "A.example."),
        ],
    )
    assert lean(loop, asked) == dnspython(loop, asked) == "TempError: a.example A: CNAME loop"
    failed = response("a.example", "A", rcode=dns.rcode.SERVFAIL)
    assert lean(failed, asked) == dnspython(failed, asked)
    assert lean(failed, asked) == "TempError: a.example A: server answered SERVFAIL"


def test_truncated_flag_kept() -> None:
    asked = question("big.example", "TXT")
    wire = bytearray(response("big.example", "TXT"))
    wire[2] |= dns.flags.TC >> 8
    assert parse_reply(bytes(wire), asked).flags & dns.flags.TC


@pytest.mark.parametrize(
    "damage",
    [
        "short header",
        "trailing byte",
        "record cut",
        "address length",
        "txt string too long",
        "empty txt",
        "name past rdata",
        "other question",
        "query not response",
        "two questions",
    ],
)
def test_damaged_replies_are_declined(damage: str) -> None:
    asked = question("x.example", "A")
    good = response("x.example", "A", answer=[("x.example.", 60, "A", "192.0.2.1")])
    # Header 12, question 15, answer: owner pointer 2, type..rdlen 10, rdata 4, then OPT.
    rdata_at = 12 + 15 + 12
    wire = bytearray(good)
    if damage == "short header":
        wire = wire[:11]
    elif damage == "trailing byte":
        wire += b"\x00"
    elif damage == "record cut":
        wire = wire[: rdata_at + 2]
    elif damage == "address length":
        wire[rdata_at - 1] = 3  # rdlen 3
        del wire[rdata_at + 3]
    elif damage == "txt string too long":
        asked = question("x.example", "TXT")
        wire = bytearray(response("x.example", "TXT", answer=[("x.example.", 60, "TXT", '"ab"')]))
        wire[rdata_at] = 5  # the string claims 5 bytes, the record holds 2
    elif damage == "empty txt":
        asked = question("x.example", "TXT")
        wire = bytearray(response("x.example", "TXT", answer=[("x.example.", 60, "TXT", '"ab"')]))
        wire[rdata_at - 1] = 0  # rdlen 0: no string at all
        del wire[rdata_at : rdata_at + 3]
    elif damage == "name past rdata":
        asked = question("x.example", "PTR")
        wire = bytearray(response("x.example", "PTR", answer=[("x.example.", 60, "PTR", "ab.")]))
        wire[rdata_at - 1] = 2  # rdlen 2 cuts the target name
    elif damage == "other question":
        asked = question("y.example", "A")
    elif damage == "query not response":
        wire[2] &= 0x7F
    elif damage == "two questions":
        wire[5] = 2
    with pytest.raises(WireError):
        parse_reply(bytes(wire), asked)
    try:
        dns.message.from_wire(bytes(wire))
    except dns.exception.DNSException:
        return  # dnspython rejects it too: the resolver reports a bad answer
    assert damage in ("other question", "query not response")  # dnspython parses; not ours


def test_unusual_replies_are_left_to_dnspython() -> None:
    asked = question("x.example", "MX")
    mx = response("x.example", "MX", answer=[("x.example.", 60, "MX", "10 mx.example.")])
    with pytest.raises(WireError):
        parse_reply(mx, asked)  # a type the lean parser does not read
    asked = question("x.example", "A")
    message = dns.message.make_response(dns.message.make_query("x.example", "A", use_edns=0))
    message.use_edns(0, options=[dns.edns.GenericOption(65001, b"x")])
    with pytest.raises(WireError):
        parse_reply(message.to_wire(), asked)  # EDNS options
    message.set_rcode(dns.rcode.BADVERS)
    with pytest.raises(WireError):
        parse_reply(message.to_wire(), asked)  # an extended rcode
    assert dnspython(message.to_wire(), asked) == "TempError: x.example A: server answered BADVERS"


# --- the same answers as dnspython, on random and damaged replies -----------------------

OWNERS = ["q.example.", "Q.EXAMPLE.", "b.example.", "c.Example.", "d.other."]
RDATA = {
    "A": st.sampled_from(["127.0.0.2", "127.0.0.10", "192.0.2.1"]),
    "AAAA": st.sampled_from(["2001:db8::1", "::ffff:7f00:2"]),
    "TXT": st.sampled_from(['"v=spf1 -all"', '"a" "b"', '""', '"Blocked - see x"']),
    "PTR": st.sampled_from(OWNERS),
    "CNAME": st.sampled_from(OWNERS),
}
record = st.sampled_from(sorted(RDATA)).flatmap(
    lambda rdtype: st.tuples(
        st.sampled_from(OWNERS),
        st.sampled_from([0, 60, 300, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]),
        st.just(rdtype),
        RDATA[rdtype],
    )
)
authority_record = st.one_of(
    st.tuples(
        st.sampled_from(["example.", "q.example.", "other."]),
        st.sampled_from([30, 600, 3600]),
        st.just("SOA"),
        st.sampled_from([SOA, "a.example. b.example. 2 1 1 1 60", "x. y. 3 1 1 1 900"]),
    ),
    st.tuples(
        st.sampled_from(["example.", "other."]),
        st.just(600),
        st.just("NS"),
        st.sampled_from(["ns1.example.", "ns.other."]),
    ),
)
replies = st.builds(
    lambda rdtype, rcode, answer, authority, glue, edns: (
        question("q.example", rdtype),
        response(
            "q.example",
            rdtype,
            rcode=rcode,
            answer=answer,
            authority=authority,
            additional=glue,
            edns=edns,
        ),
    ),
    st.sampled_from(sorted(RDATA)),
    st.sampled_from([dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL, dns.rcode.REFUSED]),
    st.lists(record, max_size=6),
    st.lists(authority_record, max_size=3),
    st.lists(
        st.tuples(st.just("ns1.example."), st.just(600), st.just("A"), st.just("192.0.2.53")),
        max_size=1,
    ),
    st.booleans(),
)


def same_as_dnspython(wire: bytes, asked: Question) -> bool:
    """True when the lean parser took the reply; then dnspython agrees on everything."""
    try:
        reply = parse_reply(wire, asked)
    except WireError:
        return False
    message = dns.message.from_wire(wire)  # must not raise: lean took it
    assert _answers(message, asked)
    assert reply.flags == int(message.flags)
    assert reply.rcode == message.rcode()
    assert outcome(reply, asked) == outcome(MessageReply(message), asked)
    return True


@settings(max_examples=400)
@given(replies)
def test_valid_replies_read_like_dnspython(case: tuple[Question, bytes]) -> None:
    asked, wire = case
    assert same_as_dnspython(wire, asked)  # every reply of this shape takes the lean path


mutations = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.integers(0, 600), st.integers(0, 255)),
        st.tuples(st.just("cut"), st.integers(0, 600), st.just(0)),
        st.tuples(st.just("insert"), st.integers(0, 600), st.integers(0, 255)),
        st.tuples(st.just("delete"), st.integers(0, 600), st.integers(1, 8)),
    ),
    min_size=1,
    max_size=4,
)


def mutate(wire: bytes, steps: list[tuple[str, int, int]]) -> bytes:
    data = bytearray(wire)
    for kind, where, value in steps:
        where = where % (len(data) + 1)
        if kind == "set" and where < len(data):
            data[where] = value
        elif kind == "cut":
            del data[where:]
        elif kind == "insert":
            data[where:where] = bytes((value,))
        elif kind == "delete":
            del data[where : where + value]
    return bytes(data)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(replies, mutations)
def test_mutated_replies_declined_or_read_like_dnspython(
    case: tuple[Question, bytes], steps: list[tuple[str, int, int]]
) -> None:
    asked, wire = case
    same_as_dnspython(mutate(wire, steps), asked)


@settings(max_examples=1000)
@given(st.binary(max_size=600), st.sampled_from(["A", "TXT", "PTR"]))
def test_random_bytes_only_wire_error(data: bytes, rdtype: str) -> None:
    asked = question("q.example", rdtype)
    same_as_dnspython(data, asked)
    # The same bytes after a plausible header and our question, to get past the first checks.
    header = HEADER.pack(
        1, 0x8180, 1, data[0] % 4 if data else 1, data[1] % 3 if data[1:] else 0, 1
    )
    same_as_dnspython(header + asked.wire + data[2:], asked)


# --- every answer the DNS test server gives for the test zones ---------------------------


def test_test_server_answers_read_like_dnspython(dns_server: DnsTestServer) -> None:
    """Each name of tests/zones (and a name under it that does not exist), asked over UDP."""
    host, port = parse_nameserver(dns_server.address)
    zones = ZoneSet.from_files(sorted(ZONES.glob("*.zone")))
    # Every owner name of the zones (the zone files as dnspython reads them).
    names = sorted(
        {
            owner.derelativize(zone.origin or dns.name.root)
            for zone in zones.zones
            for owner in zone.nodes
        }
    )
    lean_types = ("A", "AAAA", "TXT", "PTR", "CNAME")
    taken = declined = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2.0)
        sock.connect((host, port))
        for name in names:
            for owner in (name, dns.name.from_text("nx-child", origin=name)):
                text = owner.to_text(omit_final_dot=True)
                for rdtype in (*lean_types, "MX"):
                    asked = question(text, rdtype)
                    sock.send(query_message(4660, asked.wire))
                    wire = sock.recv(65535)
                    if same_as_dnspython(wire, asked):
                        taken += 1
                    else:
                        declined += 1
                        flags = struct.unpack("!H", wire[2:4])[0]
                        assert rdtype == "MX" or flags & dns.flags.TC, (text, rdtype)
    assert taken > 1000
    assert declined > 0  # MX records, truncated answers: dnspython's
