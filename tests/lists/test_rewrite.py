"""rewrite_from and wrap: the Mailman/Sympa mitigations, then DKIM-signed by the list."""

from __future__ import annotations

import email
import email.policy
from email.headerregistry import Address
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck import DnsResolver
from mailcheck.dkim.sign import DkimSigner
from mailcheck.dkim.verify import verify_dkim
from mailcheck.lists import MitigationError, rewrite_from, wrap
from mailcheck.verify import verify_message
from tests.dkim.dkimsign_helpers import ED_KEY, MESSAGE, RSA_KEY

LIST = "friends@lists.liststest"
LIST_SIGNER = DkimSigner("lists.liststest", "rsa", RSA_KEY, keys=[("ed", ED_KEY)])
AUTHOR_SIGNER = DkimSigner("dkimsign.test", "rsa", RSA_KEY)
POST = (
    b"Received: from a by b\r\n"
    b"From: =?utf-8?q?Al=C3=AFce?= <alice@dkimsign.test>\r\n"
    b"To: Friends <friends@lists.liststest>\r\n"
    b"Subject: Picnic\r\n"
    b"Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n"
    b"Message-ID: <picnic-1@dkimsign.test>\r\n"
    b"\r\n"
    b"Bring bread.\r\n"
)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_rewrite_sets_name_via_list_and_reply_to() -> None:
    out = rewrite_from(POST, LIST, list_name="Friends")
    message = parse(out)
    (mailbox,) = message["From"].addresses
    assert (mailbox.display_name, mailbox.addr_spec) == ("Alïce via Friends", LIST)
    (reply,) = message["Reply-To"].addresses
    assert reply.addr_spec == "alice@dkimsign.test"
    # Every other field is kept byte for byte, in order, and the body too.
    kept = [line for line in POST.split(b"\r\n") if not line.startswith(b"From:")]
    assert [
        line for line in out.split(b"\r\n") if not line.startswith((b"From:", b"Reply-To:"))
    ] == kept


def test_rewrite_merges_an_existing_reply_to() -> None:
    post = POST.replace(b"Subject:", b"Reply-To: Team <team@dkimsign.test>\r\nSubject:")
    message = parse(rewrite_from(post, LIST))
    assert [a.addr_spec for a in message["Reply-To"].addresses] == [
        "team@dkimsign.test",
        "alice@dkimsign.test",
    ]
    assert message["From"].addresses[0].display_name == "Alïce via friends"


def test_rewrite_does_not_repeat_an_author_already_in_reply_to() -> None:
    post = POST.replace(
        b"Subject:", b"Reply-To: alice@dkimsign.test\r\nReply-To: x@y.org\r\nSubject:"
    )
    out = rewrite_from(post, LIST)
    assert out.count(b"Reply-To:") == 1
    assert [a.addr_spec for a in parse(out)["Reply-To"].addresses] == [
        "alice@dkimsign.test",
        "x@y.org",
    ]


def test_x_original_from_keeps_reply_to_alone() -> None:
    post = POST.replace(b"Subject:", b"X-Original-From: forged@evil.example\r\nSubject:")
    out = rewrite_from(post, LIST, keep="x-original-from")
    message = parse(out)
    assert message["Reply-To"] is None
    assert message.get_all("X-Original-From") == ["Alïce <alice@dkimsign.test>"]
    assert b"forged" not in out


def test_no_display_name_shows_the_address() -> None:
    post = POST.replace(b"=?utf-8?q?Al=C3=AFce?= <alice@dkimsign.test>", b"alice@dkimsign.test")
    message = parse(rewrite_from(post, LIST, list_name="Friends"))
    assert message["From"].addresses[0].display_name == "alice@dkimsign.test via Friends"


async def test_rewritten_and_signed_by_the_list_passes_dmarc(resolver: DnsResolver) -> None:
    # The author's domain publishes p=reject; relayed as is, its signature breaks.
    signed = AUTHOR_SIGNER.sign(POST)
    relayed = signed.replace(b"Subject: Picnic", b"Subject: [friends] Picnic")
    before = await verify_message(relayed, resolver=resolver)
    assert before.dmarc_result == "fail"
    after = await verify_message(LIST_SIGNER.sign(rewrite_from(relayed, LIST)), resolver=resolver)
    assert after.from_domain == "lists.liststest"
    assert [str(r.result) for r in after.dkim[:2]] == ["pass", "pass"]
    assert after.dmarc_result == "pass"


async def test_wrap_attaches_the_post_unchanged(resolver: DnsResolver) -> None:
    signed = AUTHOR_SIGNER.sign(POST)
    out = wrap(signed, LIST, list_name="Friends", message_id="<w-1@lists.liststest>")
    message = parse(out)
    assert message.get_content_type() == "multipart/mixed"
    assert message["Subject"] == "Picnic"
    assert message["Message-ID"] == "<w-1@lists.liststest>"
    assert message["Reply-To"].addresses[0].addr_spec == "alice@dkimsign.test"
    (part,) = message.iter_parts()
    assert part.get_content_type() == "message/rfc822"
    start = out.index(b"\r\n\r\n", out.index(b"message/rfc822")) + 4
    inner = out[start : out.rindex(b"\r\n--=_mailcheck_")]
    assert inner == signed
    assert [str(r.result) for r in await verify_dkim(inner, resolver=resolver)] == ["pass"]
    result = await verify_message(LIST_SIGNER.sign(out), resolver=resolver)
    assert result.dmarc_result == "pass"


def test_wrap_declares_8bit() -> None:
    out = wrap(MESSAGE, LIST)
    assert b"Content-Transfer-Encoding: 8bit" in out


@pytest.mark.parametrize(
    ("post", "why"),
    [
        (b"To: x@y.org\r\n\r\nbody", "no From"),
        (b"From: a@b.org\r\nFrom: c@d.org\r\n\r\n", "several From"),
        (b"From: a@b.org, c@d.org\r\n\r\n", "exactly one address"),
        (b"From: undisclosed-recipients:;\r\n\r\n", "exactly one address"),
        (b"From: =?x-unknown?q?abc?= <a@b.org>\r\n\r\n", "encoded word"),
        (b"From: A <a@b..org>\r\n\r\n", "valid domain"),
        ("From: A <a@ex\u202eample.org>\r\n\r\n".encode(), "valid domain"),  # bidi override
        ("From: A <a@b\u00fc\u200d.example>\r\n\r\n".encode(), "valid domain"),  # joiner
        ("From: A <a@\u2603.example>\r\n\r\n".encode(), "valid domain"),  # not IDNA 2008
        (b"From: \xff\xfe <a@b.org>\r\n\r\n", "UTF-8"),
        (b" continued\r\nFrom: a@b.org\r\n\r\n", "continuation"),
        (b"not a header\r\n\r\n", "Name: value"),
        (b"\r\nbody only", "no header"),
        (b"From: A\r<a@b.org>\r\n\r\n", "bare CR"),
        (b"From: a@b.org\r\nX: \x00\r\n\r\n", "NUL"),
    ],
)
def test_hostile_from_headers_give_clear_errors(post: bytes, why: str) -> None:
    with pytest.raises(MitigationError, match=why):
        rewrite_from(post, LIST)
    with pytest.raises(MitigationError, match=why):
        wrap(post, LIST)


def test_idn_from_is_accepted_and_copied() -> None:
    post = "From: Zoé <zoé@bücher.example>\r\nSubject: s\r\n\r\nb".encode()
    out = rewrite_from(post, LIST)
    assert "Reply-To: Zoé <zoé@bücher.example>".encode() in out
    assert parse(out)["From"].addresses[0].display_name == "Zoé via friends"


@pytest.mark.parametrize("bad", ["no-at", "a b@c.org", "Friends <f@l.org>", "f@l..org", "ü@l.org"])
def test_bad_list_address(bad: str) -> None:
    with pytest.raises(MitigationError, match="list address"):
        rewrite_from(POST, bad)


def test_bad_keep_value() -> None:
    with pytest.raises(MitigationError, match="keep"):
        rewrite_from(POST, LIST, keep="bcc")


NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=80)


@settings(max_examples=200, deadline=None)
@given(
    name=NAMES,
    list_name=st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=30),
)
def test_any_display_name_round_trips(name: str, list_name: str) -> None:
    author = EmailMessage()
    try:
        author["From"] = Address(display_name=name, addr_spec="alice@dkimsign.test")
        raw = author.as_bytes(policy=email.policy.SMTP) + b"\r\nbody\r\n"
    except (ValueError, IndexError):
        return  # the stdlib could not write it: not a post a list would receive
    out = rewrite_from(raw, LIST, list_name=list_name)
    assert out.count(b"\r\nReply-To:") + out.startswith(b"Reply-To:") == 1
    assert all(len(line) <= 998 for line in out.split(b"\r\n"))
    (mailbox,) = parse(out)["From"].addresses
    assert mailbox.addr_spec == LIST
    assert " via " in mailbox.display_name


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_mitigation_error(data: bytes) -> None:
    for candidate in (data, b"From: " + data + b"\r\n\r\nbody"):
        try:
            out = rewrite_from(candidate, LIST)
        except MitigationError:
            continue
        assert out.count(b"From: ") >= 1
        parse(out)
        wrapped = parse(wrap(candidate, LIST))
        (part,) = wrapped.iter_parts()
        assert part.get_content_type() == "message/rfc822"
