"""Authentication-Results: reading what receivers wrote, building ours, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck.authresults import (
    AuthResult,
    AuthResultProperty,
    AuthResultsHeader,
    build_authentication_results,
    parse_authentication_results,
    read_authentication_results,
)
from mailcheck.errors import ParseError

GMAIL = (
    b"Delivered-To: someone@gmail.com\r\n"
    b"ARC-Authentication-Results: i=1; mx.google.com;\r\n"
    b"       dkim=pass header.i=@example.org header.s=202611 header.b=AbCdEf12;\r\n"
    b"       spf=pass (google.com: domain of news@example.org designates 192.0.2.10 as "
    b"permitted sender) smtp.mailfrom=news@example.org;\r\n"
    b"       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.org\r\n"
    b"Authentication-Results: mx.google.com;\r\n"
    b"       dkim=pass header.i=@example.org header.s=202611 header.b=AbCdEf12;\r\n"
    b"       dkim=fail (bad signature) header.i=@example.org header.s=ed header.b=Zz9;\r\n"
    b"       spf=pass smtp.mailfrom=news@example.org;\r\n"
    b"       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.org\r\n"
    b"Authentication-Results: orange.fr; none\r\n"
    b"Authentication-Results: broken;;; ===\r\n"
    b"From: News <news@example.org>\r\n"
    b"\r\n"
    b"Authentication-Results: body.example; spf=fail\r\n"
)


def test_read_gmail_like_headers() -> None:
    headers = read_authentication_results(GMAIL)
    assert [h.authserv_id for h in headers] == ["mx.google.com", "mx.google.com", "orange.fr", ""]
    arc, gmail, orange, broken = headers
    assert arc.arc_instance == 1
    assert gmail.arc_instance is None
    dkims = [r for r in gmail.results if r.method == "dkim"]
    assert [r.result for r in dkims] == ["pass", "fail"]
    assert dkims[0].property("header.s") == "202611"
    assert dkims[0].property("header.b") == "AbCdEf12"
    assert gmail.result("spf") is not None
    assert gmail.result("spf").property("smtp.mailfrom") == "news@example.org"  # type: ignore[union-attr]
    assert gmail.result("dmarc").property("header.from") == "example.org"  # type: ignore[union-attr]
    assert gmail.result("arc") is None
    assert orange.results == ()
    assert orange.error is None
    assert broken.error is not None  # kept, marked, never raised
    assert broken.results == ()


def test_str_message_and_lf() -> None:
    text = GMAIL.decode().replace("\r\n", "\n")
    assert len(read_authentication_results(text)) == 4


def test_build_and_round_trip() -> None:
    results = (
        AuthResult(
            method="dkim",
            result="pass",
            properties=(
                AuthResultProperty(ptype="header", name="d", value="example.org"),
                AuthResultProperty(ptype="header", name="s", value="202611"),
            ),
        ),
        AuthResult(method="dkim", result="permerror", reason="no key for signature"),
        AuthResult(
            method="spf",
            result="softfail",
            properties=(AuthResultProperty(ptype="smtp", name="mailfrom", value="a@example.org"),),
        ),
    )
    value = build_authentication_results("mx.example.net", results)
    assert value.startswith("mx.example.net; dkim=pass header.d=example.org header.s=202611;")
    assert 'reason="no key for signature"' in value
    parsed = parse_authentication_results(value)
    assert parsed.results == results
    assert parse_authentication_results(parsed.to_text()).results == results


def test_build_comment_is_sanitised() -> None:
    value = build_authentication_results(
        "mx.example.net", [AuthResult(method="dkim", result="pass", comment="evil) ; spf=pass (x")]
    )
    parsed = parse_authentication_results(value)
    assert [r.method for r in parsed.results] == ["dkim"]


def test_header_injection_in_values_stays_one_header() -> None:
    hostile = "a\r\nX-Injected: yes"
    value = build_authentication_results(
        "mx.example.net",
        [AuthResult(method="dkim", result="fail", reason=hostile)],
    )
    assert "\r" not in value
    assert "\n" not in value


def test_arc_requires_instance() -> None:
    with pytest.raises(ParseError):
        parse_authentication_results("mx.example.net; arc=pass", arc=True)
    with pytest.raises(ParseError):
        parse_authentication_results("i=99; mx.example.net; arc=pass", arc=True)
    header = parse_authentication_results("i=2; mx.example.net; arc=pass", arc=True)
    assert header.to_text() == "i=2; mx.example.net; arc=pass"


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120))
def test_parser_raises_only_parse_error(text: str) -> None:
    for arc in (False, True):
        position = 0
        try:
            parse_authentication_results(text, arc=arc)
        except ParseError as exc:
            position = exc.position
        assert 0 <= position <= len(text)


_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8).filter(
    lambda t: t[0].isalpha() and t[-1] != "-" and t != "none" and t != "reason"
)
_value = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789.@-_", min_size=1, max_size=12
).filter(lambda v: v[0].isalnum())
_result = st.builds(
    AuthResult,
    method=_token,
    result=_token,
    properties=st.lists(
        st.builds(
            AuthResultProperty,
            ptype=st.sampled_from(["smtp", "header", "body", "policy"]),
            name=_token,
            value=_value,
        ),
        max_size=3,
    ).map(tuple),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_result, max_size=4).map(tuple))
def test_round_trip_property(results: tuple[AuthResult, ...]) -> None:
    header = AuthResultsHeader(authserv_id="mx.example.net", results=results)
    assert parse_authentication_results(header.to_text()).results == results
