"""The SPF parser: RFC 7208 examples, every error with its position, hypothesis round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck.errors import ParseError
from mailcheck.spf.record import (
    Macro,
    Mechanism,
    Modifier,
    Qualifier,
    SpfRecord,
    is_spf_record,
    parse_macro_string,
    parse_spf,
)

# RFC 7208 Appendix A.1 / A.2 / A.3 record examples, plus common real-world shapes.
VALID = [
    "v=spf1",
    "v=spf1 -all",
    "V=SPF1 +MX -ALL",
    "v=spf1 +all",
    "v=spf1 a -all",
    "v=spf1 a:example.org -all",
    "v=spf1 mx -all",
    "v=spf1 mx:example.org -all",
    "v=spf1 mx mx:example.org -all",
    "v=spf1 mx/30 mx:example.org/30 -all",
    "v=spf1 ptr -all",
    "v=spf1 ip4:192.0.2.128/28 -all",
    "v=spf1 include:example.com include:example.net -all",
    "v=spf1 redirect=example.org",
    "v=spf1 mx:%{d} -all",
    "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all",
    "v=spf1 -exists:%{ir}.sbl.example.org ~all exp=explain._spf.%{d}",
    "v=spf1 ip6:2001:db8::/32 ip6:::1 a//64 a:example.org/24//96 ~all",
    "v=spf1 include:_spf.google.com. ?all ra=postmaster rp=10 rr=all",
    "v=spf1 a   -all ",
    "v=spf1 exists:%{i}.%{v}.%{h}.%{s}.%{o}.%{p}.%{D2}.%{l}._spf.example.com",
    "v=spf1 foo=%%%_%-bar -all",
    # shapes from pyspf's validate_mechanism examples
    "v=spf1 -mx:%%%_/.Clara.de/27",
    "v=spf1 ~exists:%{i}.%{s1}.100/86400.rate.%{d}",
    "v=spf1 a:mail.example.com.",
    "v=spf1 A/16//48",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_records_parse_and_round_trip(text: str) -> None:
    record = parse_spf(text)
    assert parse_spf(record.to_text()) == record


def test_terms_are_typed() -> None:
    record = parse_spf("v=spf1 ~ip4:192.0.2.0/24 a:mail.example.org/24//64 redirect=x.example -all")
    ip4, a, all_ = record.mechanisms
    assert ip4 == Mechanism(
        kind="ip4",
        qualifier=Qualifier.SOFTFAIL,
        explicit_qualifier=True,
        network="192.0.2.0",
        cidr4=24,
    )
    assert str(ip4.ip_network()) == "192.0.2.0/24"
    assert (a.domain, a.cidr4, a.cidr6, a.qualifier) == ("mail.example.org", 24, 64, Qualifier.PASS)
    assert all_.qualifier.result == "fail"
    assert record.redirect == "x.example"
    assert record.all == all_
    assert record.modifiers == (Modifier(name="redirect", value="x.example"),)
    assert [t.position for t in record.terms] == [7, 25, 51, 70]


def test_macros_are_parsed() -> None:
    record = parse_spf("v=spf1 exists:%{ir}.%{l1r+-}.%{D}._spf.%{d2} -all")
    assert record.mechanisms[0].macros == (
        Macro(letter="i", reverse=True),
        Macro(letter="l", digits=1, reverse=True, delimiters="+-"),
        Macro(letter="d", url_escape=True),
        Macro(letter="d", digits=2),
    )
    assert parse_macro_string("%{c} from %{r} at %{t}", exp=True)[0].letter == "c"


INVALID = [
    ("v=spf1x", 0),
    ("spf1 -all", 0),
    ("", 0),
    ("v=spf1 -all foo", 12),
    ("v=spf1 ip4:192.0.2.1/33", 21),
    ("v=spf1 ip4:192.0.2.1/032", 21),
    ("v=spf1 ip4:2001:db8::1", 11),
    ("v=spf1 ip6:192.0.2.1", 11),
    ("v=spf1 ip6:2001:db8::/129", 22),
    ("v=spf1 ip4", 10),
    ("v=spf1 a:example.org/24//129", 25),
    ("v=spf1 include", 14),
    ("v=spf1 include:", 15),
    ("v=spf1 include:localhost", 15),
    ("v=spf1 include:example.123", 23),
    ("v=spf1 a:mail.example..org", 9),
    ("v=spf1 exists:%{x}.example.org", 14),
    ("v=spf1 exists:%{c}.example.org", 14),
    ("v=spf1 exists:%{d0}.example.org", 14),
    ("v=spf1 exists:%{d}%.example.org", 18),
    ("v=spf1 exists:%{d!}.example.org", 14),
    ("v=spf1 -all/24", 11),
    ("v=spf1 all:example.org", 10),
    ("v=spf1 redirect=a.example redirect=b.example", 26),
    ("v=spf1 exp=a.example exp=b.example", 21),
    ("v=spf1 redirect=", 16),
    ("v=spf1 a:b\u00e9.example", 10),
    ("v=spf1 a\tmx", 8),
    ("v=spf1 !a", 7),
    ("v=spf1 ip4:1.2.3.4/247", 19),
    ("v=spf1 a:example.com:8080", 17),
    ("v=spf1 ip4:1.2.3.444/24", 11),
    ("v=spf1 ip4:1.2.03.4/24", 11),
    ("v=spf1 -all:3030", 11),
    ("v=spf1 a:mail.example.com,", 22),
    ("v=spf1 a:192.0.2.1", 17),
]


@pytest.mark.parametrize(("text", "position"), INVALID)
def test_invalid_records_raise_with_position(text: str, position: int) -> None:
    with pytest.raises(ParseError) as caught:
        parse_spf(text)
    assert caught.value.position == position
    assert caught.value.text == text


def test_is_spf_record() -> None:
    assert is_spf_record("v=spf1")
    assert is_spf_record("V=SPF1 -all")
    assert not is_spf_record("v=spf10 -all")
    assert not is_spf_record("spf2.0/pra -all")


# --- hypothesis ---------------------------------------------------------------------------

_label = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
_domain = st.builds(lambda a, b: f"{a}.{b}", _label, st.from_regex(r"[a-z]{2,6}", fullmatch=True))
_macro = st.sampled_from(["%{d}", "%{ir}", "%{l1r-}", "%{o}", "%{S}", "%{h2}"])
_spec = st.one_of(_domain, st.builds(lambda m, d: f"{m}.{d}", _macro, _domain))
_q = st.sampled_from(["", "+", "-", "~", "?"])
_v4 = st.ip_addresses(v=4).map(str)
_v6 = st.ip_addresses(v=6).map(str)
_c4 = st.one_of(st.just(""), st.integers(0, 32).map(lambda n: f"/{n}"))
_c6 = st.one_of(st.just(""), st.integers(0, 128).map(lambda n: f"/{n}"))
_term = st.one_of(
    st.builds(lambda q: f"{q}all", _q),
    st.builds(lambda q, d: f"{q}include:{d}", _q, _spec),
    st.builds(lambda q, d: f"{q}exists:{d}", _q, _spec),
    st.builds(
        lambda q, d, c, c6: f"{q}a{d}{c}{'/' + c6 if c6 else ''}",
        _q,
        st.one_of(st.just(""), _spec.map(lambda s: ":" + s)),
        _c4,
        _c6,
    ),
    st.builds(
        lambda q, d, c: f"{q}mx{d}{c}",
        _q,
        st.one_of(st.just(""), _spec.map(lambda s: ":" + s)),
        _c4,
    ),
    st.builds(lambda q, d: f"{q}ptr{d}", _q, st.one_of(st.just(""), _spec.map(lambda s: ":" + s))),
    st.builds(lambda q, a, c: f"{q}ip4:{a}{c}", _q, _v4, _c4),
    st.builds(lambda q, a, c: f"{q}ip6:{a}{c}", _q, _v6, _c6),
    st.builds(lambda n, v: f"{n}={v}", st.from_regex(r"x[a-z0-9_.-]{0,8}", fullmatch=True), _spec),
)


@given(st.lists(_term, max_size=12), st.booleans(), st.booleans())
@settings(max_examples=300, deadline=None)
def test_generated_records_round_trip(terms: list[str], redirect: bool, exp: bool) -> None:
    extra = (["redirect=r.example"] if redirect else []) + (["exp=e.example"] if exp else [])
    record = parse_spf(" ".join(["v=spf1", *terms, *extra]))
    assert isinstance(record, SpfRecord)
    assert len(record.terms) == len(terms) + len(extra)
    assert parse_spf(record.to_text()) == record


@given(st.text(max_size=200))
@settings(max_examples=500, deadline=None)
def test_fuzz_only_parse_error_escapes(text: str) -> None:
    for candidate in (text, "v=spf1 " + text):
        _check(candidate)


@given(
    st.lists(
        st.sampled_from(["a", "mx", "-all", "ip4:", "/", ":", "%{", "}", "=", "%", "."]),
        max_size=30,
    )
)
@settings(max_examples=500, deadline=None)
def test_fuzz_term_soup(parts: list[str]) -> None:
    _check("v=spf1 " + "".join(parts))


def _check(text: str) -> None:
    position = None
    try:
        record = parse_spf(text)
    except ParseError as exc:
        position = exc.position
    if position is None:
        assert parse_spf(record.to_text()) == record
    else:
        assert 0 <= position <= len(text)
