"""Authentication-Results: reading what receivers wrote, building ours, round trips."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mailcheck.authresults import (
    MAX_COMMENT_DEPTH,
    MAX_VALUE_LENGTH,
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


@pytest.mark.parametrize(
    "hostile", ["a\r\nX-Injected: yes", "a\nb", "a\rb", "a\x00b", "a\x85b", "a\u2028b", "\x7f"]
)
def test_header_injection_in_values_is_refused(hostile: str) -> None:
    # CR, LF, NUL and the other controls never reach a header: refused, naming the field.
    prop = (AuthResultProperty(ptype="smtp", name="mailfrom", value=hostile),)
    cases = [
        ("mx.example.net", AuthResult(method="dkim", result="fail", reason=hostile)),
        ("mx.example.net", AuthResult(method="dkim", result="fail", comment=hostile)),
        ("mx.example.net", AuthResult(method="spf", result="pass", properties=prop)),
        (hostile, AuthResult(method="spf", result="pass")),
        ("mx.example.net", AuthResult(method=hostile, result="pass")),
    ]
    for authserv_id, result in cases:
        with pytest.raises(ParseError) as info:
            build_authentication_results(authserv_id, [result])
        assert "\n" not in str(info.value)
        assert "\r" not in str(info.value)


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


# --- issue 13, item 1: whatever a value holds, it stays one value --------------------------------

FORGED = "x;dmarc=pass header.from=paypal.com@evil.example"
_keyword = st.from_regex(r"\A[A-Za-z0-9](?:[A-Za-z0-9-]{0,6}[A-Za-z0-9])?\Z")
_any = st.text(max_size=30)
_any_result = st.builds(
    AuthResult,
    method=_keyword,
    result=_keyword,
    reason=st.none() | _any,
    comment=st.none() | _any,
    properties=st.lists(
        st.builds(AuthResultProperty, ptype=_keyword, name=_keyword, value=_any), max_size=3
    ).map(tuple),
)
_UNSAFE_CHARS = {chr(c) for c in [*range(0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0)]}
_UNSAFE_CHARS |= {"\u2028", "\u2029"}


def _lower_keywords(result: AuthResult) -> AuthResult:
    props = tuple(
        AuthResultProperty(ptype=p.ptype.lower(), name=p.name.lower(), value=p.value)
        for p in result.properties
    )
    return AuthResult(
        method=result.method.lower(),
        result=result.result.lower(),
        reason=result.reason,
        comment=result.comment,
        properties=props,
    )


def _texts(authserv_id: str, results: tuple[AuthResult, ...]) -> list[str]:
    values = [authserv_id]
    for r in results:
        values += [r.reason or "", r.comment or "", *(p.value for p in r.properties)]
    return values


@settings(max_examples=300, deadline=None)
@given(_any, st.lists(_any_result, max_size=4).map(tuple))
def test_build_then_parse_gives_back_exactly_the_values(
    authserv_id: str, results: tuple[AuthResult, ...]
) -> None:
    unsafe = any(set(t) & _UNSAFE_CHARS for t in _texts(authserv_id, results))
    try:
        value = build_authentication_results(authserv_id, results)
    except ParseError:
        assert unsafe
        return
    assert not unsafe
    assert "\r" not in value
    assert "\n" not in value
    parsed = parse_authentication_results(value)
    assert parsed.authserv_id == authserv_id
    assert parsed.results == tuple(_lower_keywords(r) for r in results)
    # As a header of a message, read by the library itself: the same.
    (header,) = read_authentication_results(f"Authentication-Results: {value}\r\n\r\nbody")
    assert header.results == parsed.results


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["smtp.mailfrom", "smtp.helo", "header.from", "header.d", "header.s"]), _any)
def test_a_value_never_adds_a_result(key: str, text: str) -> None:
    ptype, _, name = key.partition(".")
    spf = AuthResult(
        method="spf",
        result="fail",
        properties=(AuthResultProperty(ptype=ptype, name=name, value=FORGED + text),),
    )
    dmarc = AuthResult(method="dmarc", result="fail")
    try:
        value = build_authentication_results("mx.example.net", [spf, dmarc])
    except ParseError:
        return
    parsed = parse_authentication_results(value)
    assert [(r.method, r.result) for r in parsed.results] == [("spf", "fail"), ("dmarc", "fail")]
    assert parsed.results[0].property(key) == FORGED + text


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("example.org", "example.org"),
        ("news@example.org", "news@example.org"),
        ("@example.org", "@example.org"),
        ("a b", '"a b"'),
        (FORGED, '"x;dmarc=pass header.from=paypal.com@evil.example"'),
        ('q"uo\\te', '"q\\"uo\\\\te"'),
        ("", '""'),
        ("José@exemple.fr", '"José@exemple.fr"'),
        ("a=b", '"a=b"'),
    ],
)
def test_property_values_are_quoted_when_not_tokens(value: str, written: str) -> None:
    prop = AuthResultProperty(ptype="smtp", name="mailfrom", value=value)
    built = build_authentication_results(
        "mx", [AuthResult(method="spf", result="pass", properties=(prop,))]
    )
    assert built == f"mx; spf=pass smtp.mailfrom={written}"
    assert parse_authentication_results(built).results[0].property("smtp.mailfrom") == value


@pytest.mark.parametrize("keyword", ["dk im", "a;b", "x=y", "", "-", "dkim.x", "é"])
def test_keywords_are_refused_not_quoted(keyword: str) -> None:
    for result in (
        AuthResult(method=keyword, result="pass"),
        AuthResult(method="dkim", result=keyword),
        AuthResult(
            method="dkim",
            result="pass",
            properties=(AuthResultProperty(ptype=keyword, name="d", value="x"),),
        ),
    ):
        with pytest.raises(ParseError):
            build_authentication_results("mx", [result])


def test_comments_round_trip_escaped() -> None:
    comment = "a (nested) \\ comment ; dmarc=pass"
    value = build_authentication_results(
        "mx", [AuthResult(method="dkim", result="pass", comment=comment)]
    )
    assert value == "mx; dkim=pass (a \\(nested\\) \\\\ comment ; dmarc=pass)"
    assert parse_authentication_results(value).results[0].comment == comment


# --- reading what receivers write ---------------------------------------------------------------


def test_receivers_variants() -> None:
    microsoft = (
        "spf.protection.outlook.com; spf=pass (sender IP is 192.0.2.10) "
        "smtp.mailfrom=example.org; dkim=none (message not signed) header.d=none;"
        "dmarc=none action=none header.from=example.org;compauth=pass reason=100"
    )
    parsed = parse_authentication_results(microsoft)
    assert [r.method for r in parsed.results] == ["spf", "dkim", "dmarc", "compauth"]
    assert parsed.results[0].comment == "sender IP is 192.0.2.10"
    assert parsed.result("dmarc").property("header.from") == "example.org"  # type: ignore[union-attr]
    assert parsed.result("compauth").reason == "100"  # type: ignore[union-attr]
    versioned = parse_authentication_results("mx.example.net 1; spf/1=pass smtp.helo=mx.example;")
    assert versioned.results[0].property("smtp.helo") == "mx.example"
    quoted_local = parse_authentication_results('mx; spf=pass smtp.mailfrom="joe q"@example.net')
    assert quoted_local.results[0].property("smtp.mailfrom") == '"joe q"@example.net'
    assert parse_authentication_results("MX.Example.NET; none").authserv_id == "MX.Example.NET"


@pytest.mark.parametrize(
    "value",
    ["mx; dkim=pass (unterminated", 'mx; spf=pass smtp.mailfrom="open', "mx;", "mx; dkim", ";"],
)
def test_malformed_is_parse_error(value: str) -> None:
    with pytest.raises(ParseError):
        parse_authentication_results(value)


# --- issue 13, item 6: bounded, linear, never a RecursionError -----------------------------------


@pytest.mark.parametrize("depth", [MAX_COMMENT_DEPTH + 1, 500, 30_000])
def test_deep_comments_are_a_kept_header_with_error(depth: int) -> None:
    message = f"Authentication-Results: mx; dkim=pass {'(' * depth}{')' * depth}\r\n\r\n"
    (header,) = read_authentication_results(message)
    assert header.error is not None
    assert "nested" in header.error
    assert header.results == ()


def test_comments_up_to_the_bound_parse() -> None:
    depth = MAX_COMMENT_DEPTH
    value = f"mx; dkim=pass {'(' * depth}x{')' * depth} header.d=example.org"
    result = parse_authentication_results(value).results[0]
    assert result.property("header.d") == "example.org"
    assert result.comment == "(" * (depth - 1) + "x" + ")" * (depth - 1)


def _folded(count: int) -> str:
    line = "\r\n  dkim=pass header.d=example.org header.s=s1 header.b=AbCdEf12;"
    return "Authentication-Results: mx.example.net;" + line * count + " spf=pass\r\n\r\nbody"


def test_long_folded_header_under_the_bound_parses() -> None:
    count = (MAX_VALUE_LENGTH - 100) // 64
    (header,) = read_authentication_results(_folded(count))
    assert header.error is None
    assert len(header.results) == count + 1


def test_header_over_the_bound_is_kept_with_error() -> None:
    (header,) = read_authentication_results(_folded(10_000))  # 640 KiB
    assert header.error is not None
    assert str(MAX_VALUE_LENGTH) in header.error
    assert header.results == ()
    with pytest.raises(ParseError):
        parse_authentication_results("mx; " + "x" * MAX_VALUE_LENGTH)


def test_body_is_not_read() -> None:
    body = "Authentication-Results: body.example; spf=pass\r\n" * 1000
    message = "Authentication-Results: mx; none\r\n\r\n" + body
    assert len(read_authentication_results(message)) == 1
    assert len(read_authentication_results(message.encode())) == 1


# --- differential: authres (the reference Python reader) reads what we build alike ---------------


@settings(max_examples=200, deadline=None)
@given(st.lists(_result, min_size=1, max_size=4).map(tuple))
def test_authres_reads_what_we_build(results: tuple[AuthResult, ...]) -> None:
    import authres

    value = build_authentication_results("mx.example.net", results)
    # authres reads a quoted pvalue only when it ends the clause: compare unquoted values only.
    assume('"' not in value)
    theirs = authres.all_features().parse_value(value)
    assert [(r.method, r.result) for r in theirs.results] == [(r.method, r.result) for r in results]
    for mine, their in zip(results, theirs.results, strict=True):
        assert [(p.type, p.name, str(p.value)) for p in their.properties] == [
            (p.ptype, p.name, p.value) for p in mine.properties
        ]


def test_authres_and_we_read_gmail_alike() -> None:
    import authres

    features = authres.all_features()
    for header in read_authentication_results(GMAIL):
        if header.error is not None or header.arc_instance is not None:
            continue
        theirs = features.parse_value(header.raw)
        assert [(r.method, r.result) for r in theirs.results] == [
            (r.method, r.result) for r in header.results
        ]
        for mine, their in zip(header.results, theirs.results, strict=True):
            assert [(p.type, p.name, str(p.value)) for p in their.properties] == [
                (p.ptype, p.name, p.value) for p in mine.properties
            ]


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=300),
    st.sampled_from([b"Authentication-Results:", b"ARC-Authentication-Results:"]),
)
def test_reading_never_raises(data: bytes, name: bytes) -> None:
    for header in read_authentication_results(name + data + b"\r\n\r\nbody"):
        assert (header.error is None) or header.results == ()
