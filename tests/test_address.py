"""mailcheck.address: RFC 5321 mailboxes (SMTPUTF8 on purpose) and To/Cc/Bcc recipients."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck.address import (
    AddressError,
    Mailbox,
    parse_mailbox,
    recipients_from_headers,
)
from mailcheck.errors import MailcheckError, ParseError

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"


@pytest.mark.parametrize(
    ("text", "local", "domain", "ascii_domain", "smtputf8"),
    [
        ("a@b.example", "a", "b.example", "b.example", False),
        ("Jo.Doe+news@Asso.EXAMPLE", "Jo.Doe+news", "asso.example", "asso.example", False),
        ('"joe q"@x.example', '"joe q"', "x.example", "x.example", False),
        ('"a\\"b@c"@x.example', '"a\\"b@c"', "x.example", "x.example", False),
        ("postmaster@localhost", "postmaster", "localhost", "localhost", False),
        ("a@[192.0.2.1]", "a", "[192.0.2.1]", "[192.0.2.1]", False),
        ("a@[ipv6:2001:DB8:0::1]", "a", "[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]", False),
        ("jo@Bücher.example", "jo", "bücher.example", "xn--bcher-kva.example", False),
        ("été@x.fr", "été", "x.fr", "x.fr", True),
        ("用户@例え.テスト", "用户", "例え.テスト", "xn--r8jz45g.xn--zckzah", True),
    ],
)
def test_valid_mailboxes(
    text: str, local: str, domain: str, ascii_domain: str, smtputf8: bool
) -> None:
    box = parse_mailbox(text)
    assert box == Mailbox(
        local=local, domain=domain, ascii_domain=ascii_domain, needs_smtputf8=smtputf8
    )
    assert box.to_smtp() == f"{local}@{ascii_domain}"
    assert parse_mailbox(box.to_text()) == box


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("victim@target.org,x@example.net", "a comma (one address only)"),
        ("bad user@example.net", "a space outside quotes"),
        ("Joe <joe@example.net>", "a space outside quotes"),
        ("<joe@example.net>", "angle brackets (give the bare address)"),
        ("a@b@example.net", "more than one @ outside quotes"),
        ("a@b.example\r\nRCPT TO:<x@y.example>", "a line break"),
        ("a@b.example\n", "a line break"),
        ("a\x00@b.example", "a NUL character"),
        ("a\x1b@b.example", "the control or format character U+001B"),
        ("a@b\u202e.example", "the control or format character U+202E"),
        ("", "no @"),
        ("joe", "no @"),
        ("@b.example", "an empty local part"),
        ('""@b.example', "an empty local part"),
        ("a@", "an empty domain"),
        (".a@b.example", "an empty part between dots in the local part"),
        ("a..b@b.example", "an empty part between dots in the local part"),
        ("a.@b.example", "an empty part between dots in the local part"),
        ("a@b..example", "an empty label in the domain"),
        ("a@b.example.", "an empty label in the domain"),
        ("a@-b.example", "the domain label '-b' is not LDH"),
        ("a@b_c.example", "the character '_' in the domain"),
        ("a" * 65 + "@b.example", "a local part longer than 64 octets"),
        ("é" * 33 + "@b.example", "a local part longer than 64 octets"),
        ("a@" + "b" * 64 + ".example", "a domain label longer than 63"),
        ("a@" + ".".join(["b" * 63] * 4) + ".ex", "a domain longer than 255 octets"),
        ('"joe q"x@b.example', "no @ after the quoted local part"),
        ('"joe@b.example', "an unterminated quoted local part"),
        ("a@[192.0.2.300]", "not an IPv4 or IPv6 address literal"),
        ("a@[tag:whatever]", "not an IPv4 or IPv6 address literal"),
        ("a@[192.0.2.1", "an address literal without its closing bracket"),
        ("a@xn--zz.example", None),  # an invalid A-label stays the receiver's problem
    ],
)
def test_refused_with_one_line_naming_the_value(text: str, reason: str | None) -> None:
    if reason is None:
        parse_mailbox(text)
        return
    with pytest.raises(AddressError) as caught:
        parse_mailbox(text)
    assert caught.value.reason == reason
    assert caught.value.text == text
    message = str(caught.value)
    assert "\n" not in message
    assert "\r" not in message
    assert message.startswith(repr(text))
    assert isinstance(caught.value, ParseError)
    assert isinstance(caught.value, ValueError)


def test_a_domain_without_an_a_label_is_refused() -> None:
    with pytest.raises(AddressError, match="no IDNA A-label"):
        parse_mailbox("a@\u0301x.example")  # a combining mark cannot start a label


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_parse_mailbox_raises_nothing_but_address_error(text: str) -> None:
    try:
        box = parse_mailbox(text)
    except AddressError:
        return
    assert parse_mailbox(box.to_text()) == box


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=ATEXT + '@."\\ <>,[]:;()\r\n\x00éü例', max_size=80))
def test_parse_mailbox_on_address_like_text(text: str) -> None:
    try:
        box = parse_mailbox(text)
    except AddressError as exc:
        message = str(exc)
    else:
        assert parse_mailbox(box.to_text()) == box
        message = box.to_smtp()
    assert "\n" not in message
    assert not set("\r\n\x00") & set(message)


atoms = st.text(alphabet=ATEXT, min_size=1, max_size=10)
labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(atoms, min_size=1, max_size=4).map(".".join).filter(lambda s: len(s) <= 64),
    st.lists(labels, min_size=1, max_size=4).map(".".join),
)
def test_valid_ascii_mailboxes_round_trip(local: str, domain: str) -> None:
    text = f"{local}@{domain}"
    box = parse_mailbox(text)
    assert box.to_text() == text
    assert box.to_smtp() == text
    assert not box.needs_smtputf8
    assert parse_mailbox(box.to_text()) == box


def test_recipients_from_to_cc_bcc_and_bcc_stripped() -> None:
    raw = (
        b'To: Jo <jo@a.example>, "Doe, J" <jd@b.example> (work),\r\n'
        b"  plain@c.example\r\n"
        b"Cc: undisclosed-recipients:;\r\n"
        b"Subject: To: nobody@x.example\r\n"
        b"BCC: secret@d.example,\r\n"
        b"\tJo <jo@a.example>\r\n"
        b"Cc: team: x@e.example, y@e.example;\r\n"
        b"\r\n"
        b"To: body@f.example\r\n"
    )
    rcpts, message = recipients_from_headers(raw)
    assert rcpts == [
        "jo@a.example",
        "jd@b.example",
        "plain@c.example",
        "secret@d.example",
        "x@e.example",
        "y@e.example",
    ]
    assert message == raw.replace(b"BCC: secret@d.example,\r\n\tJo <jo@a.example>\r\n", b"")
    assert b"secret" not in message


def test_recipients_with_bare_lf_and_without_header_fields() -> None:
    assert recipients_from_headers(b"To: a@b.example\nBcc: c@d.example\n\nhi") == (
        ["a@b.example", "c@d.example"],
        b"To: a@b.example\n\nhi",
    )
    assert recipients_from_headers(b"\r\nTo: a@b.example\r\n") == ([], b"\r\nTo: a@b.example\r\n")
    assert recipients_from_headers(b"Subject: x") == ([], b"Subject: x")


@pytest.mark.parametrize(
    ("field", "address", "reason"),
    [
        (b'To: "Joe Q" <joe q@example.net>', "joe q@example.net", "a space outside quotes"),
        (b"Cc: victim@target.org x@example.net", None, "a space outside quotes"),
        (b"Bcc: a@b.example, <c@@d.example>", "c@@d.example", "more than one @ outside quotes"),
        (b"To: Jo <jo@a.example", None, "an unterminated angle bracket"),
    ],
)
def test_a_bad_address_in_a_field_is_refused_naming_field_and_address(
    field: bytes, address: str | None, reason: str
) -> None:
    with pytest.raises(AddressError) as caught:
        recipients_from_headers(field + b"\r\n\r\nbody")
    name = field.split(b":")[0].decode()
    assert f"{name}" in caught.value.reason
    assert caught.value.reason.endswith(reason)
    if address is not None:
        assert caught.value.text == address
        assert str(caught.value).startswith(repr(address))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_recipients_from_headers_raises_nothing_but_address_error(raw: bytes) -> None:
    try:
        rcpts, message = recipients_from_headers(raw)
    except AddressError:
        return
    for rcpt in rcpts:
        parse_mailbox(rcpt)
    assert len(message) <= len(raw)


def test_address_error_is_a_mailcheck_error() -> None:
    assert issubclass(AddressError, MailcheckError)
