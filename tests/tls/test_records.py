"""The pure parsers of transport security: MTA-STS record and policy, TLS-RPT, TLSA."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.errors import ParseError
from mailcheck.tls.mtasts_record import (
    MAX_AGE_LIMIT,
    MtaStsPolicy,
    mx_pattern_matches,
    parse_mtasts_policy,
    parse_mtasts_record,
)
from mailcheck.tls.tlsa import TlsaRecord, association_data, parse_tlsa, tlsa_matches
from mailcheck.tls.tlsrpt_record import TlsRptRecord, parse_tlsrpt
from mailcheck.tls.types import MtaStsMode
from tests.tls.certs import TestCa, self_signed

# RFC 8461 §3.2's example policy, CRLF-separated.
RFC_POLICY = (
    "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
    "mx: backupmx.example.com\r\nmax_age: 604800\r\n"
)


def test_rfc8461_txt_example() -> None:
    record = parse_mtasts_record("v=STSv1; id=20160831085700Z;")
    assert record.id == "20160831085700Z"
    assert parse_mtasts_record(record.to_text()) == record


def test_txt_extensions_kept() -> None:
    record = parse_mtasts_record("v=STSv1;id=abc;ext.x=1")
    assert record.extensions == (("ext.x", "1"),)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("id=abc; v=STSv1", 0),
        ("v=STSv2; id=abc", 0),
        ("v=STSv1 id=abc", 0),
        ("v=STSv1;", 8),
        ("v=STSv1; id=" + "a" * 33, 12),
        ("v=STSv1; id=a-b", 12),
        ("v=STSv1; id=a; id=b", 18),
        ("v=STSv1;; id=a", 8),
        ("v=STSv1; id=a; x", 14),
    ],
)
def test_txt_faults(text: str, position: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_mtasts_record(text)
    assert info.value.position == position


def test_rfc8461_policy_example() -> None:
    policy = parse_mtasts_policy(RFC_POLICY)
    assert policy.mode is MtaStsMode.ENFORCE
    assert policy.max_age == 604800
    assert policy.mx == ("mail.example.com", "*.example.net", "backupmx.example.com")
    assert parse_mtasts_policy(policy.to_text()) == policy


def test_policy_lf_and_first_field_wins() -> None:
    policy = parse_mtasts_policy(
        "version: STSv1\nmode: testing\nmode: enforce\nmx: MX.Example.ORG.\n"
        "max_age:86400\nfoo: bar baz\n"
    )
    assert policy.mode is MtaStsMode.TESTING
    assert policy.mx == ("mx.example.org",)
    assert policy.extensions == (("foo", "bar baz"),)


def test_policy_mode_none_needs_no_mx() -> None:
    assert parse_mtasts_policy("version: STSv1\nmode: none\nmax_age: 86400\n").mx == ()


@pytest.mark.parametrize(
    "text",
    [
        "mode: enforce\nmx: a.example\nmax_age: 1\n",
        "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",
        "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n",
        "version: STSv1\nmode: enforce\nmax_age: 1\n",
        "version: STSv1\nmode: enforce\nmx: a.example\n",
        f"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: {MAX_AGE_LIMIT + 1}\n",
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",
        "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n",
        "version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 1\n",
        "version: STSv1\nmode enforce\nmx: a.example\nmax_age: 1\n",
        "<html>not a policy</html>",
    ],
)
def test_policy_faults(text: str) -> None:
    with pytest.raises(ParseError):
        parse_mtasts_policy(text)


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("mail.example.com", "mail.example.com", True),
        ("mail.example.com", "MAIL.example.com.", True),
        ("*.example.net", "mx1.example.net", True),
        ("*.example.net", "example.net", False),
        ("*.example.net", "a.b.example.net", False),
        ("*.example.net", ".example.net", False),
        ("mail.example.com", "mail.example.com.evil", False),
    ],
)
def test_mx_patterns(pattern: str, host: str, expected: bool) -> None:
    # RFC 8461 §4.1: a wildcard matches exactly one leftmost label.
    assert mx_pattern_matches(pattern, host) is expected


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@given(st.lists(_LABEL, min_size=1, max_size=4), _LABEL)
def test_wildcard_matches_one_label_property(labels: list[str], extra: str) -> None:
    base = ".".join(labels)
    assert mx_pattern_matches("*." + base, f"{extra}.{base}")
    assert not mx_pattern_matches("*." + base, base)
    assert not mx_pattern_matches("*." + base, f"{extra}.{extra}.{base}")


@given(st.text(max_size=300))
def test_fuzz_txt(text: str) -> None:
    with contextlib.suppress(ParseError):
        record = parse_mtasts_record(text)
        assert parse_mtasts_record(record.to_text()) == record


@given(
    st.text(
        alphabet=st.sampled_from(
            "version:STSv1 mode:enforce testing none mx*.a-b max_age0123456789\r\n\t;=x"
        ),
        max_size=300,
    )
)
def test_fuzz_policy(text: str) -> None:
    with contextlib.suppress(ParseError):
        policy = parse_mtasts_policy(text)
        assert parse_mtasts_policy(policy.to_text()) == policy


@given(st.text(max_size=300))
def test_fuzz_policy_any_text(text: str) -> None:
    with contextlib.suppress(ParseError):
        policy = parse_mtasts_policy(text)
        assert parse_mtasts_policy(policy.to_text()) == policy


@given(
    st.sampled_from(list(MtaStsMode)),
    st.integers(0, MAX_AGE_LIMIT),
    st.lists(
        st.builds(
            lambda w, ls: ("*." if w else "") + ".".join(ls),
            st.booleans(),
            st.lists(_LABEL, min_size=1, max_size=3),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_policy_round_trip(mode: MtaStsMode, max_age: int, mx: list[str]) -> None:
    policy = MtaStsPolicy(mode=mode, max_age=max_age, mx=tuple(mx))
    assert parse_mtasts_policy(policy.to_text()) == policy


def test_tlsrpt_rfc8460_examples() -> None:
    record = parse_tlsrpt("v=TLSRPTv1; rua=mailto:reports@example.com")
    assert record.rua == ("mailto:reports@example.com",)
    both = parse_tlsrpt(
        "v=TLSRPTv1;rua=mailto:a@example.com, https://reporting.example.com/v1/tlsrpt;"
    )
    assert both.rua == ("mailto:a@example.com", "https://reporting.example.com/v1/tlsrpt")
    assert parse_tlsrpt(both.to_text()) == both
    assert isinstance(both, TlsRptRecord)


@pytest.mark.parametrize(
    "text",
    [
        "v=TLSRPTv1",
        "v=TLSRPTv1; rua=ftp://example.com/x",
        "v=TLSRPTv1; rua=reports@example.com",
        "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com",
        "rua=mailto:a@example.com; v=TLSRPTv1",
        "v=TLSRPTv1; rua=http://example.com/x",
    ],
)
def test_tlsrpt_faults(text: str) -> None:
    with pytest.raises(ParseError):
        parse_tlsrpt(text)


@given(st.text(max_size=300))
def test_fuzz_tlsrpt(text: str) -> None:
    with contextlib.suppress(ParseError):
        record = parse_tlsrpt(text)
        assert parse_tlsrpt(record.to_text()) == record


@given(st.text(max_size=200))
def test_fuzz_tlsa(text: str) -> None:
    with contextlib.suppress(ParseError):
        record = parse_tlsa(text)
        assert parse_tlsa(record.to_text()) == record


@given(
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(min_size=1, max_size=80),
)
def test_tlsa_round_trip(usage: int, selector: int, matching: int, data: bytes) -> None:
    record = TlsaRecord(usage=usage, selector=selector, matching=matching, data=data)
    assert parse_tlsa(record.to_text()) == record


def test_tlsa_usability() -> None:
    digest = "ab" * 32
    assert parse_tlsa(f"3 1 1 {digest}").smtp_usable
    assert parse_tlsa(f"2 0 1 {digest}").smtp_usable
    assert not parse_tlsa(f"1 1 1 {digest}").smtp_usable  # PKIX-EE: undefined for SMTP
    assert not parse_tlsa(f"0 1 1 {digest}").smtp_usable
    assert not parse_tlsa("3 1 1 abcd").smtp_usable  # SHA-256 of the wrong length
    assert not parse_tlsa(f"3 2 1 {digest}").smtp_usable


def test_tlsa_matching(tmp_path: Path) -> None:
    ca = TestCa(tmp_path)
    leaf = ca.issue("mx", ["mx.example.org"])
    chain = (leaf.der, ca.der)
    spki = leaf.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ee = parse_tlsa("3 1 1 " + hashlib.sha256(spki).hexdigest())
    assert association_data(ee, leaf.der) == ee.data
    assert tlsa_matches(ee, chain)
    assert tlsa_matches(parse_tlsa("3 0 2 " + hashlib.sha512(leaf.der).hexdigest()), chain)
    assert tlsa_matches(parse_tlsa("3 0 0 " + leaf.der.hex()), chain)
    ta = parse_tlsa("2 0 1 " + hashlib.sha256(ca.der).hexdigest())
    assert tlsa_matches(ta, chain)
    assert not tlsa_matches(ta, (leaf.der,))  # the TA must be in the chain sent
    other = self_signed(tmp_path, "other", "mx.example.org")
    assert not tlsa_matches(ee, (other.der,))
    # A TA record whose certificate is in the chain but did not sign the leaf.
    ta_other = parse_tlsa("2 0 1 " + hashlib.sha256(other.der).hexdigest())
    assert not tlsa_matches(ta_other, (leaf.der, other.der))
    # PKIX usages never match for SMTP.
    assert not tlsa_matches(parse_tlsa("1 1 1 " + hashlib.sha256(spki).hexdigest()), chain)
