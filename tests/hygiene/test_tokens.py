"""VERP return paths and RFC 8058 unsubscribe tokens: round trips, forgery, expiry, folding."""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.errors import ConfigError
from mailcheck.hygiene.tokens import (
    TokenError,
    TokenProblem,
    recipient_id_from_token,
    recipient_token,
    tracking_header,
    unsubscribe_headers,
    unsubscribe_token,
    verify_unsubscribe,
    verp_address,
    verp_recipient_id,
)

SECRET = b"s3cret-for-tests-only-0123456789"
OTHER = b"another-secret-for-tests-9876543"
NOW = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)

ids = st.integers(min_value=0, max_value=2**63 - 1)
addresses = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.text("abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=64),
    st.from_regex(r"[a-z0-9]{1,20}(\.[a-z0-9]{1,20}){0,3}\.[a-z]{2,6}", fullmatch=True),
)
lists = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60)


# --- VERP ---------------------------------------------------------------------------------


@given(ids)
def test_verp_round_trip(recipient_id: int) -> None:
    address = verp_address(recipient_id, domain="lists.example.org", secret=SECRET)
    local, _, domain = address.partition("@")
    assert domain == "lists.example.org"
    assert local.startswith("bounces+")
    assert len(local) <= 64
    assert local == local.lower()
    assert verp_recipient_id(address, secret=SECRET) == recipient_id
    # MTAs may change the case of a local part, or keep the angle brackets of a path.
    assert verp_recipient_id(f"<{address.upper()}>", secret=SECRET) == recipient_id


@given(ids)
def test_verp_other_secret_names_nobody(recipient_id: int) -> None:
    address = verp_address(recipient_id, domain="example.org", secret=SECRET)
    assert verp_recipient_id(address, secret=OTHER) is None


@given(ids, st.data())
def test_verp_any_altered_character_names_nobody(recipient_id: int, data: st.DataObject) -> None:
    address = verp_address(recipient_id, domain="example.org", secret=SECRET)
    start = address.index("+") + 1
    end = address.index("@")
    pos = data.draw(st.integers(min_value=start, max_value=end - 1))
    new = data.draw(
        st.sampled_from("abcdefghijklmnopqrstuvwxyz234567").filter(lambda c: c != address[pos])
    )
    forged = address[:pos] + new + address[pos + 1 :]
    assert verp_recipient_id(forged, secret=SECRET) is None


def test_verp_token_does_not_contain_the_id_in_decimal() -> None:
    address = verp_address(123456, domain="example.org", secret=SECRET)
    assert "123456" not in address


@given(st.text(max_size=300))
def test_verp_parser_never_raises_on_junk(text: str) -> None:
    assert verp_recipient_id(text, secret=SECRET) is None


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"recipient_id": -1}, "recipient id"),
        ({"recipient_id": 2**63}, "recipient id"),
        ({"local": "a+b"}, "local part"),
        ({"local": "x" * 40}, "too long"),
        ({"domain": "exa mple.org"}, "domain"),
        ({"secret": b"short"}, "16 bytes"),
    ],
)
def test_verp_refuses_bad_arguments(kwargs: dict[str, object], needle: str) -> None:
    args: dict[str, object] = {"recipient_id": 1, "domain": "example.org", "secret": SECRET}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=needle):
        verp_address(**args)  # type: ignore[arg-type]


# --- unsubscribe tokens ---------------------------------------------------------------------


@given(addresses, lists)
def test_unsubscribe_round_trip_and_opacity(address: str, list_name: str) -> None:
    token = unsubscribe_token(address, list=list_name, secret=SECRET, now=NOW)
    request = verify_unsubscribe(token, secret=SECRET, now=NOW + dt.timedelta(days=1))
    assert (request.address, request.list, request.issued) == (address, list_name, NOW)
    assert request.expires == NOW + dt.timedelta(days=90)
    # Opaque: neither the address nor its local part appears in the token or its bytes.
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert address.encode() not in raw
    assert address not in token
    assert address.split("@")[0].encode() not in raw or len(address.split("@")[0]) < 4


def test_two_tokens_for_one_address_differ() -> None:
    first = unsubscribe_token("ana@example.net", list="news", secret=SECRET, now=NOW)
    second = unsubscribe_token("ana@example.net", list="news", secret=SECRET, now=NOW)
    assert first != second  # a random nonce each time: tokens do not link one reader's mails


@given(addresses, st.data())
def test_any_tampering_is_refused(address: str, data: st.DataObject) -> None:
    token = unsubscribe_token(address, list="news", secret=SECRET, now=NOW)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    pos = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[pos] ^= data.draw(st.integers(min_value=1, max_value=255))
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(TokenError) as caught:
        verify_unsubscribe(forged, secret=SECRET, now=NOW)
    assert caught.value.problem in (TokenProblem.FORGED, TokenProblem.MALFORMED)
    assert forged not in str(caught.value)


@given(addresses, st.integers(min_value=1, max_value=40))
def test_truncated_tokens_are_refused(address: str, cut: int) -> None:
    token = unsubscribe_token(address, list="news", secret=SECRET, now=NOW)
    with pytest.raises(TokenError):
        verify_unsubscribe(token[:-cut], secret=SECRET, now=NOW)


def test_another_secret_is_forged() -> None:
    token = unsubscribe_token("ana@example.net", list="news", secret=SECRET, now=NOW)
    with pytest.raises(TokenError) as caught:
        verify_unsubscribe(token, secret=OTHER, now=NOW)
    assert caught.value.problem is TokenProblem.FORGED


def test_verp_token_is_not_an_unsubscribe_token() -> None:
    token = verp_address(7, domain="example.org", secret=SECRET).split("+")[1].split("@")[0]
    with pytest.raises(TokenError):
        verify_unsubscribe(token, secret=SECRET, now=NOW)


def test_expiry() -> None:
    token = unsubscribe_token(
        "ana@example.net", list="news", secret=SECRET, now=NOW, expires=dt.timedelta(days=2)
    )
    assert verify_unsubscribe(token, secret=SECRET, now=NOW + dt.timedelta(days=1, hours=23))
    with pytest.raises(TokenError) as caught:
        verify_unsubscribe(token, secret=SECRET, now=NOW + dt.timedelta(days=2))
    assert caught.value.problem is TokenProblem.EXPIRED
    with pytest.raises(TokenError) as early:
        verify_unsubscribe(token, secret=SECRET, now=NOW - dt.timedelta(hours=1))
    assert early.value.problem is TokenProblem.EXPIRED


@given(st.text(max_size=2000))
def test_verify_never_raises_anything_but_token_error(text: str) -> None:
    with pytest.raises(TokenError):
        verify_unsubscribe(text, secret=SECRET, now=NOW)


@given(st.binary(max_size=600))
def test_verify_refuses_random_base64(data: bytes) -> None:
    text = base64.urlsafe_b64encode(data).decode().rstrip("=")
    with pytest.raises(TokenError):
        verify_unsubscribe(text, secret=SECRET, now=NOW)


# --- the headers ----------------------------------------------------------------------------


def test_headers_shape() -> None:
    headers = unsubscribe_headers(
        "ana@example.net",
        list="news",
        secret=SECRET,
        url="https://panel.example.org/unsubscribe?tenant=asso",
        mailto="unsubscribe@example.org",
        now=NOW,
    )
    (name1, value1), (name2, value2) = headers
    assert (name1, name2) == ("List-Unsubscribe", "List-Unsubscribe-Post")
    assert value2 == "List-Unsubscribe=One-Click"
    https, mailto = value1.split(", ")
    assert https.startswith("<https://panel.example.org/unsubscribe?tenant=asso&t=")
    assert mailto.startswith("<mailto:unsubscribe@example.org?subject=unsubscribe%20")
    token = https[https.index("&t=") + 3 : -1]
    assert mailto.endswith(f"%20{token}>")
    assert verify_unsubscribe(token, secret=SECRET, now=NOW).address == "ana@example.net"


@given(addresses, st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=64))
def test_headers_fold_within_limits(address: str, list_name: str) -> None:
    headers = unsubscribe_headers(
        address,
        list=list_name,
        secret=SECRET,
        url="https://panel.example-association.org/lists/unsubscribe",
        mailto="unsubscribe@example-association.org",
        now=NOW,
    )
    message = EmailMessage(policy=email.policy.SMTP)
    for name, value in headers:
        message[name] = value
    head = bytes(message).split(b"\r\n\r\n")[0]
    # RFC 5322 §2.1.1: each line MUST be no more than 998 characters; the fold falls
    # between the two URIs, so each URI sits on a line of its own.
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    assert all(len(line) <= 500 for line in head.split(b"\r\n"))
    reparsed = email.message_from_bytes(bytes(message), policy=email.policy.default)
    assert str(reparsed["List-Unsubscribe"]).replace(" ", "").replace("\t", "") == headers[0][
        1
    ].replace(" ", "")


@pytest.mark.parametrize(
    "url",
    [
        "http://panel.example.org/u",  # RFC 8058 requires HTTPS
        "https://panel.example.org/u>\r\nBcc: x@y",
        "https://panel.example.org/u#frag",
        "https://panel.example.org/a b",
    ],
)
def test_headers_refuse_bad_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        unsubscribe_headers("ana@example.net", list="news", secret=SECRET, url=url)


def test_headers_refuse_bad_mailto() -> None:
    with pytest.raises(ConfigError):
        unsubscribe_headers(
            "ana@example.net",
            list="news",
            secret=SECRET,
            url="https://p.example.org/u",
            mailto="a?b@example.org",
        )


def test_recipient_with_newline_is_refused() -> None:
    with pytest.raises(ConfigError):
        unsubscribe_token("ana@example.net\r\nBcc: x", list="news", secret=SECRET)


@given(ids)
def test_tracking_header_round_trip(recipient_id: int) -> None:
    name, value = tracking_header(recipient_id, secret=SECRET)
    assert name == "X-Mailcheck-Id"
    assert recipient_id_from_token(f"  {value.upper()} ", secret=SECRET) == recipient_id
    assert recipient_id_from_token(value, secret=OTHER) is None
    address = verp_address(recipient_id, domain="example.org", secret=SECRET)
    assert address == f"bounces+{recipient_token(recipient_id, secret=SECRET)}@example.org"


@given(st.text(max_size=100))
def test_token_parser_never_raises_on_junk(text: str) -> None:
    assert recipient_id_from_token(text, secret=SECRET) is None
