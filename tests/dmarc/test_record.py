"""The DMARC record parser: vectors, faults with positions, fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.dmarc.record import parse_dmarc
from mailcheck.errors import ParseError


def test_rfc9989_style_record() -> None:
    record = parse_dmarc(
        "v=DMARC1; p=quarantine; sp=reject; np=reject; psd=n; t=y; adkim=s; aspf=r; "
        "rua=mailto:dmarc@example.com,mailto:agg@thirdparty.example!10m; fo=1:d"
    )
    assert (record.policy, record.subdomain_policy, record.nonexistent_policy) == (
        "quarantine",
        "reject",
        "reject",
    )
    assert record.testing
    assert record.psd == "n"
    assert [u.domain for u in record.rua] == ["example.com", "thirdparty.example"]
    assert record.rua[1].size == "10m"


def test_defaults_and_removed_tags() -> None:
    record = parse_dmarc("v=DMARC1; pct=20; rf=afrf; ri=86400")
    assert record.policy == "none"  # RFC 9989: no p= is treated as none
    assert record.subdomain_policy == "none"
    assert record.removed_tags == ("pct", "rf", "ri")
    assert record.pct == 20


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("v=spf1 -all", 0),
        ("p=reject; v=DMARC1", 0),
        ("v=DMARC1; p=block", 12),
        ("v=DMARC1; p=none; p=reject", 17),
        ("v=DMARC1; rua=nonsense", 14),
        ("v=DMARC1; pct=101", 14),
        ("v=DMARC1; adkim=x", 16),
        ("v=DMARC1; =x", 10),
    ],
)
def test_faults(text: str, position: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_dmarc(text)
    assert info.value.position == position


@given(st.text(max_size=200))
def test_fuzz(text: str) -> None:
    with contextlib.suppress(ParseError):
        parse_dmarc(text)
    with contextlib.suppress(ParseError):
        parse_dmarc("v=DMARC1; " + text)


@given(
    st.sampled_from(["none", "quarantine", "reject"]),
    st.sampled_from([None, "none", "quarantine", "reject"]),
    st.sampled_from([None, "y", "n"]),
    st.lists(st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.(org|test)", fullmatch=True), max_size=3),
)
def test_round_trip(p: str, sp: str | None, t: str | None, rua: list[str]) -> None:
    parts = ["v=DMARC1", f"p={p}"]
    if sp:
        parts.append(f"sp={sp}")
    if t:
        parts.append(f"t={t}")
    if rua:
        parts.append("rua=" + ",".join(f"mailto:{a}" for a in rua))
    record = parse_dmarc("; ".join(parts))
    assert parse_dmarc(record.to_text()) == record
