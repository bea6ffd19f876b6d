"""Untrusted mail: whatever the bytes, reading gives a result or a clear InboundError."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailcheck.hygiene.inbound import read_inbound
from mailcheck.hygiene.inbound_types import (
    MAX_FIELD_CHARS,
    InboundError,
    InboundMessage,
    InboundProblem,
)

DATA = Path(__file__).parent / "data"
SECRET = b"s3cret-for-tests-only-0123456789"
SAMPLES = sorted(DATA.glob("*.eml"))
sample_bytes = st.sampled_from(SAMPLES).map(lambda p: p.read_bytes())
fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read(raw: bytes) -> InboundMessage | InboundError:
    try:
        inbound = read_inbound(raw, secret=SECRET)
    except InboundError as exc:
        error = exc
    else:
        assert isinstance(inbound.to_dict(), dict)
        for bounce in inbound.bounces:
            assert bounce.diagnostic is None or len(bounce.diagnostic) <= MAX_FIELD_CHARS
        return inbound
    assert error.problem in InboundProblem
    assert str(error)
    return error


@fuzz
@given(st.binary(max_size=4000))
def test_random_bytes(raw: bytes) -> None:
    _read(raw)


@fuzz
@given(sample_bytes, st.data())
def test_truncated_samples(raw: bytes, data: st.DataObject) -> None:
    _read(raw[: data.draw(st.integers(min_value=0, max_value=len(raw)))])


@fuzz
@given(sample_bytes, st.data())
def test_mutated_samples(raw: bytes, data: st.DataObject) -> None:
    start = data.draw(st.integers(min_value=0, max_value=len(raw)))
    length = data.draw(st.integers(min_value=0, max_value=64))
    junk = data.draw(st.binary(max_size=64))
    _read(raw[:start] + junk + raw[start + length :])


@fuzz
@given(
    st.sampled_from(
        ["Final-Recipient", "Original-Recipient", "Status", "Action", "Diagnostic-Code"]
    ),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=300),
)
def test_dsn_fields_with_any_text(name: str, value: str) -> None:
    raw = (DATA / "postfix-unknown-user.eml").read_bytes()
    field = name.encode() + b": "
    start = raw.index(field)
    end = raw.index(b"\n", start)
    _read(raw[:start] + field + value.encode("utf-8", "surrogateescape") + raw[end:])


@fuzz
@given(
    st.sampled_from(["Feedback-Type", "Original-Mail-From", "Source-IP", "Reported-Domain"]),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=300),
)
def test_arf_fields_with_any_text(name: str, value: str) -> None:
    raw = (DATA / "arf-rfc5965.eml").read_bytes()
    field = name.encode() + b": "
    start = raw.index(field)
    end = raw.index(b"\n", start)
    _read(raw[:start] + field + value.encode("utf-8", "surrogateescape") + raw[end:])


def test_huge_header_lines_are_read_or_refused() -> None:
    raw = (DATA / "postfix-unknown-user.eml").read_bytes()
    huge = b"X-Junk: " + b"a" * 900_000 + b"\n"
    assert isinstance(_read(huge + raw), InboundMessage)
    many = b"".join(b"Delivered-To: x%d@example.org\n" % i for i in range(50_000))
    assert isinstance(_read(many + raw), InboundError)  # header section over 1 MiB


def test_many_recipient_blocks_are_bounded() -> None:
    raw = (DATA / "postfix-unknown-user.eml").read_bytes()
    block = b"Final-Recipient: rfc822; u@example.org\nAction: failed\nStatus: 5.1.1\n\n"
    start = raw.index(b"Final-Recipient")
    flood = raw[:start] + block * 5000 + raw[start:]
    inbound = _read(flood)
    assert isinstance(inbound, InboundMessage)
    assert len(inbound.bounces) <= 1001
