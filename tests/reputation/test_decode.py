"""Pure blocklist logic: query names, answer decoding, self-test verdicts."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.errors import ParseError
from mailcheck.reputation import ListingState, Why, ZoneHealth, builtin_catalogue, decode_answer
from mailcheck.reputation.catalogue import Zone, ZoneKind
from mailcheck.reputation.decode import Decoded, judge_self_test, query_name, reverse_ip

ZEN = builtin_catalogue().get("zen.spamhaus.org")
DBL = builtin_catalogue().get("dbl.spamhaus.org")
URIBL = builtin_catalogue().get("multi.uribl.com")
SURBL = builtin_catalogue().get("multi.surbl.org")
DNSWL = builtin_catalogue().get("list.dnswl.org")
assert ZEN
assert DBL
assert URIBL
assert SURBL
assert DNSWL


def test_reverse_ipv4_rfc5782_example() -> None:
    # RFC 5782 §2.1: 192.168.42.23 is asked as 23.42.168.192.<zone>.
    assert reverse_ip(ipaddress.ip_address("192.168.42.23")) == "23.42.168.192"


def test_reverse_ipv6_rfc5782_example() -> None:
    # RFC 5782 §2.4 example address and its nibble-reversed form.
    ip = ipaddress.ip_address("2001:db8:1:2:3:4:567:89ab")
    assert reverse_ip(ip) == "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2"


def test_query_names() -> None:
    assert query_name(ZEN, ZoneKind.IPV4, "192.0.2.99") == "99.2.0.192.zen.spamhaus.org"
    assert (
        query_name(DBL, ZoneKind.DOMAIN, "Mail.Example.ORG.") == "mail.example.org.dbl.spamhaus.org"
    )
    # SURBL and URIBL list registrable domains only.
    assert (
        query_name(SURBL, ZoneKind.DOMAIN, "a.b.example.co.uk") == "example.co.uk.multi.surbl.org"
    )
    with pytest.raises(ParseError):
        query_name(ZEN, ZoneKind.IPV4, "2001:db8::1")
    with pytest.raises(ParseError):
        query_name(ZEN, ZoneKind.IPV4, "not-an-ip")
    with pytest.raises(ParseError):
        query_name(DBL, ZoneKind.DOMAIN, ".".join(["a" * 60] * 4) + ".org")


def test_nothing_is_clean() -> None:
    assert decode_answer(ZEN, ()).state is ListingState.CLEAN


def test_zen_codes_decoded() -> None:
    decoded = decode_answer(ZEN, ["127.0.0.4", "127.0.0.2", "127.0.0.10"])
    assert decoded.state is ListingState.LISTED
    assert decoded.codes == ("127.0.0.2", "127.0.0.4", "127.0.0.10")
    assert [m.split(":")[0] for m in decoded.meanings] == ["SBL", "XBL", "PBL"]


@pytest.mark.parametrize("code", ["127.255.255.252", "127.255.255.254", "127.255.255.255"])
def test_spamhaus_refusal_codes_are_never_listed(code: str) -> None:
    decoded = decode_answer(ZEN, [code])
    assert decoded.state is ListingState.UNKNOWN
    assert decoded.why is Why.REFUSED
    # A refusal beside a listing code still makes the whole answer unknown.
    assert decode_answer(ZEN, [code, "127.0.0.2"]).state is ListingState.UNKNOWN


def test_dbl_codes_and_refusal() -> None:
    assert decode_answer(DBL, ["127.0.1.102"]).state is ListingState.LISTED
    refused = decode_answer(DBL, ["127.0.1.255"])
    assert (refused.state, refused.why) == (ListingState.UNKNOWN, Why.REFUSED)


def test_answers_outside_loopback_are_unknown() -> None:
    for answer in (["198.51.100.7"], ["0.0.0.0"], ["127.0.0.2", "10.0.0.1"], ["2001:db8::1"]):
        decoded = decode_answer(ZEN, answer)
        assert (decoded.state, decoded.why) == (ListingState.UNKNOWN, Why.OUTSIDE_LOOPBACK)


def test_undocumented_code_is_unknown_not_listed() -> None:
    decoded = decode_answer(ZEN, ["127.0.0.99"])
    assert (decoded.state, decoded.why) == (ListingState.UNKNOWN, Why.UNDOCUMENTED)


def test_bitmask_lists_are_decoded_as_bits() -> None:
    decoded = decode_answer(SURBL, ["127.0.0.72"])  # 64 + 8
    assert decoded.state is ListingState.LISTED
    assert [m.split(":")[0] for m in decoded.meanings] == ["PH", "ABUSE"]
    # URIBL answers 127.0.0.1 (bit 1) when it refuses a resolver.
    refused = decode_answer(URIBL, ["127.0.0.1"])
    assert (refused.state, refused.why) == (ListingState.UNKNOWN, Why.REFUSED)
    assert decode_answer(URIBL, ["127.0.0.3"]).why is Why.REFUSED  # bit 1 set with bit 2
    assert decode_answer(URIBL, ["127.0.0.14"]).state is ListingState.LISTED


def test_dnswl_wildcard_codes_and_refusal() -> None:
    decoded = decode_answer(DNSWL, ["127.0.15.3"])
    assert decoded.state is ListingState.LISTED
    assert decoded.meanings == ("allow-listed, trust: high",)
    assert decode_answer(DNSWL, ["127.0.0.255"]).why is Why.REFUSED


LISTED = Decoded(state=ListingState.LISTED, codes=("127.0.0.2",))
CLEAN = Decoded(state=ListingState.CLEAN)
REFUSED = Decoded(state=ListingState.UNKNOWN, why=Why.REFUSED)
OUTSIDE = Decoded(state=ListingState.UNKNOWN, why=Why.OUTSIDE_LOOPBACK)
ODD = Decoded(state=ListingState.UNKNOWN, why=Why.UNDOCUMENTED)


@pytest.mark.parametrize(
    ("positive", "negative", "health"),
    [
        (LISTED, CLEAN, ZoneHealth.OK),
        (ODD, CLEAN, ZoneHealth.OK),
        (LISTED, LISTED, ZoneHealth.LISTS_EVERYTHING),
        (LISTED, ODD, ZoneHealth.LISTS_EVERYTHING),
        (CLEAN, CLEAN, ZoneHealth.LISTS_NOTHING),
        (REFUSED, REFUSED, ZoneHealth.REFUSED),
        (REFUSED, CLEAN, ZoneHealth.REFUSED),
        (OUTSIDE, OUTSIDE, ZoneHealth.OUTSIDE_LOOPBACK),
        (None, CLEAN, ZoneHealth.UNREACHABLE),
        (LISTED, None, ZoneHealth.UNREACHABLE),
    ],
)
def test_self_test_verdicts(
    positive: Decoded | None, negative: Decoded | None, health: ZoneHealth
) -> None:
    assert judge_self_test(positive, negative) is health


ADDRESS = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)).map(
        lambda t: f"127.{t[0]}.{t[1]}.{t[2]}"
    ),
    st.text(max_size=20),
)
ZONES = st.sampled_from([z for z in builtin_catalogue().zones if z.status.value != "dead"])


@given(zone=ZONES, answer=st.lists(ADDRESS, max_size=4))
def test_decoding_never_lists_an_error_or_a_foreign_answer(zone: Zone, answer: list[str]) -> None:
    decoded = decode_answer(zone, answer)
    if decoded.state is ListingState.LISTED:
        assert all(ipaddress.ip_address(a) in ipaddress.ip_network("127.0.0.0/8") for a in answer)
        assert decoded.why is None
        for address in answer:
            refusal = decode_answer(zone, [address])
            assert refusal.why is not Why.REFUSED
    if not answer:
        assert decoded.state is ListingState.CLEAN
