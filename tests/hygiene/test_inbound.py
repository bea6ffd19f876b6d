"""Reading what comes back: DSNs (a real Postfix one), non-standard bounces, ARF reports
(RFC 5965, Yahoo CFL, Microsoft JMRP shapes), mailto unsubscribes, and junk."""

from __future__ import annotations

import base64
import datetime as dt
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailcheck.hygiene.inbound import HEURISTIC_BYTES, read_inbound
from mailcheck.hygiene.inbound_types import (
    BounceKind,
    InboundError,
    InboundKind,
    InboundProblem,
    MatchedBy,
)
from mailcheck.hygiene.tokens import unsubscribe_headers

DATA = Path(__file__).parent / "data"
SECRET = b"s3cret-for-tests-only-0123456789"
NOW = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)


def read(name: str, secret: bytes = SECRET):  # type: ignore[no-untyped-def]
    return read_inbound((DATA / name).read_bytes(), secret=secret)


def test_postfix_dsn_is_a_verified_hard_bounce() -> None:
    inbound = read("postfix-unknown-user.eml")
    assert inbound.kind is InboundKind.BOUNCE
    (bounce,) = inbound.bounces
    assert bounce.recipient == "nosuchuser@mta.mailcheck.test"
    assert (bounce.status, bounce.action, bounce.kind) == ("5.1.1", "failed", BounceKind.HARD)
    assert (bounce.verp_recipient_id, bounce.matched_by) == (42, MatchedBy.VERP)
    assert bounce.verified
    assert bounce.original_message_id == "<n1@lists.mailcheck.test>"
    assert bounce.detector == "rfc3464"
    assert inbound.to_dict()["bounces"][0]["kind"] == "hard"


def test_postfix_dsn_with_another_secret_names_nobody() -> None:
    (bounce,) = read("postfix-unknown-user.eml", secret=b"another-secret-for-tests-9876543").bounces
    assert bounce.verp_recipient_id is None
    assert bounce.matched_by is MatchedBy.UNVERIFIED
    assert not bounce.verified


def test_forged_dsn_names_nobody() -> None:
    (bounce,) = read("forged-dsn-bad-token.eml").bounces
    assert bounce.recipient == "president@mta.mailcheck.test"
    assert bounce.kind is BounceKind.HARD  # what it claims...
    assert not bounce.verified  # ...but nothing ties it to a recipient of ours


def test_delayed_dsn_is_soft_and_matched_by_envelope_id() -> None:
    (bounce,) = read("dsn-delayed-mailbox-full.eml").bounces
    assert (bounce.action, bounce.status, bounce.kind) == ("delayed", "4.2.2", BounceKind.SOFT)
    assert bounce.remote_mta == "mx.mailbox.example"
    assert bounce.diagnostic == "452 4.2.2 Mailbox full"
    # Delivered-To carries the VERP path, found first.
    assert (bounce.verp_recipient_id, bounce.matched_by) == (2003, MatchedBy.VERP)


def test_envelope_id_is_a_tracking_match() -> None:
    # The bounce reached us through a forwarder that dropped the VERP path: only the
    # RFC 3461 ENVID the DSN quotes still carries the token.
    raw = (DATA / "dsn-delayed-mailbox-full.eml").read_bytes()
    raw = raw.replace(b"bounces+aaaaaaaaaad5henwutcaiwi5cqetu@", b"bounces@")
    (bounce,) = read_inbound(raw, secret=SECRET).bounces
    assert (bounce.verp_recipient_id, bounce.matched_by) == (2003, MatchedBy.TRACKING)


def test_qmail_bounce_through_flufl() -> None:
    inbound = read("bounce-qmail.eml")
    (bounce,) = inbound.bounces
    assert bounce.detector == "flufl.bounce"
    assert bounce.recipient == "gone@oldhost.example"
    assert (bounce.verp_recipient_id, bounce.matched_by) == (2001, MatchedBy.VERP)
    # "(#5.1.1)" in the text confirms what the heuristic found: hard.
    assert (bounce.status, bounce.kind) == ("5.1.1", BounceKind.HARD)


def test_heuristic_bounce_with_a_large_quoted_original() -> None:
    # The detectors read the first HEURISTIC_BYTES: the bounce's own text is there.
    raw = (DATA / "bounce-qmail.eml").read_bytes() + b"quoted line\n" * 300_000
    assert len(raw) > 10 * HEURISTIC_BYTES
    (bounce,) = read_inbound(raw, secret=SECRET).bounces
    assert (bounce.recipient, bounce.kind, bounce.verp_recipient_id) == (
        "gone@oldhost.example", BounceKind.HARD, 2001,
    )  # fmt: skip


def test_heuristic_bounce_without_a_code_is_soft() -> None:
    # flufl.bounce says "failed for good", but nothing in the text confirms it: a heuristic
    # alone counts as soft (repeated, it suppresses), never as hard at once.
    raw = (DATA / "bounce-qmail.eml").read_bytes().replace(b" (#5.1.1)", b"")
    (bounce,) = read_inbound(raw, secret=SECRET).bounces
    assert (bounce.action, bounce.status, bounce.kind) == ("failed", None, BounceKind.SOFT)


def test_exim_mailbox_full_is_soft() -> None:
    (bounce,) = read("bounce-exim-mailbox-full.eml").bounces
    assert bounce.recipient == "full@exim.example"
    assert bounce.detector == "flufl.bounce"
    assert bounce.kind is BounceKind.SOFT  # permanent to flufl, 4.2.2 in the text
    assert bounce.verp_recipient_id == 2002


def test_rfc5965_report() -> None:
    inbound = read("arf-rfc5965.eml")
    assert inbound.kind is InboundKind.COMPLAINT
    complaint = inbound.complaint
    assert complaint is not None
    assert complaint.feedback_type == "abuse"
    assert complaint.is_spam_complaint
    assert complaint.version == "1"
    assert complaint.source_ip == "192.0.2.25"
    assert complaint.reported_domain == ("lists.mailcheck.test",)
    assert complaint.original_rcpt_to == ("member@mailbox.example",)
    assert complaint.reporting_mta == "mail.mailbox.example"
    # Original-Mail-From is our VERP path: verified.
    assert (complaint.verp_recipient_id, complaint.matched_by) == (1003, MatchedBy.VERP)
    assert complaint.original_message_id == "<news-2026-12@lists.mailcheck.test>"


def test_yahoo_cfl_report() -> None:
    complaint = read("arf-yahoo-cfl.eml").complaint
    assert complaint is not None
    assert complaint.provider == "yahoo"
    assert complaint.user_agent == "Yahoo!-Mail-Feedback/2.0"
    assert complaint.arrival_date == "Sun, 6 Dec 2026 09:00:03 +0000"  # Received-Date
    assert (complaint.verp_recipient_id, complaint.matched_by) == (1001, MatchedBy.VERP)


def test_microsoft_jmrp_report_matched_by_tracking_header() -> None:
    complaint = read("arf-microsoft-jmrp.eml").complaint
    assert complaint is not None
    assert complaint.provider == "microsoft"
    assert complaint.original_rcpt_to == ("member@hotmail.example",)
    # No VERP path anywhere (Original-Mail-From is not one): the X-Mailcheck-Id is.
    assert (complaint.verp_recipient_id, complaint.matched_by) == (1002, MatchedBy.TRACKING)


def test_jmrp_attachment_format_is_a_complaint() -> None:
    inbound = read("jmrp-rfc822-attachment.eml")
    assert inbound.kind is InboundKind.COMPLAINT
    complaint = inbound.complaint
    assert complaint is not None
    assert (complaint.feedback_type, complaint.provider) == ("abuse", "microsoft")
    assert complaint.original_rcpt_to == ("reader@hotmail.example",)
    assert (complaint.verp_recipient_id, complaint.matched_by) == (1002, MatchedBy.TRACKING)


def test_jmrp_original_format_is_a_complaint() -> None:
    # "Original" format: the reported message forwarded as it is, the header on top.
    raw = (DATA / "jmrp-rfc822-attachment.eml").read_bytes()
    original = raw.split(b"Content-Disposition: attachment\n\n", 1)[1].split(b"\n--JMRP")[0]
    complaint = read_inbound(original, secret=SECRET).complaint
    assert complaint is not None
    assert (complaint.verp_recipient_id, complaint.matched_by) == (1002, MatchedBy.TRACKING)


def test_base64_encoded_original_is_read() -> None:
    # RFC 2046 forbids it on message/rfc822, some feedback loops do it anyway.
    raw = (DATA / "arf-microsoft-jmrp.eml").read_bytes()
    head, sep, rest = raw.partition(b"Content-Disposition: inline\n\n")
    original, end, tail = rest.partition(b"\n--JMRP_boundary_0001--")
    encoded = base64.encodebytes(original)
    raw = head + b"Content-Transfer-Encoding: base64\n" + sep + encoded + end + tail
    complaint = read_inbound(raw, secret=SECRET).complaint
    assert complaint is not None
    assert (complaint.verp_recipient_id, complaint.matched_by) == (1002, MatchedBy.TRACKING)
    assert complaint.original_rcpt_to == ("member@hotmail.example",)


def test_not_spam_report_is_not_a_complaint() -> None:
    raw = (
        (DATA / "arf-rfc5965.eml")
        .read_bytes()
        .replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
    )
    complaint = read_inbound(raw, secret=SECRET).complaint
    assert complaint is not None
    assert not complaint.is_spam_complaint


def test_success_dsn_is_other() -> None:
    raw = (DATA / "postfix-unknown-user.eml").read_bytes()
    raw = raw.replace(b"Action: failed", b"Action: delivered").replace(
        b"Status: 5.1.1", b"Status: 2.0.0"
    )
    inbound = read_inbound(raw, secret=SECRET)
    assert inbound.kind is InboundKind.OTHER
    assert inbound.bounces == ()


def test_auto_reply_is_other() -> None:
    inbound = read("auto-reply.eml")
    assert inbound.kind is InboundKind.OTHER
    assert inbound.bounces == ()
    assert inbound.problem


def _unsubscribe_mail(token_subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Member <member@mailbox.example>"
    message["To"] = "unsubscribe@lists.mailcheck.test"
    message["Subject"] = token_subject
    message["Message-ID"] = "<unsub-1@mailbox.example>"
    message.set_content("")
    return bytes(message)


def test_mailto_unsubscribe() -> None:
    (_, value), _ = unsubscribe_headers(
        "member@mailbox.example",
        list="asso/news",
        secret=SECRET,
        url="https://panel.example.org/u",
        mailto="unsubscribe@lists.mailcheck.test",
        now=NOW,
    )
    token = value.rsplit("%20", 1)[1].rstrip(">")
    inbound = read_inbound(_unsubscribe_mail(f"Re: unsubscribe {token}"), secret=SECRET, now=NOW)
    assert inbound.kind is InboundKind.UNSUBSCRIBE
    assert inbound.unsubscribe is not None
    assert (inbound.unsubscribe.address, inbound.unsubscribe.list) == (
        "member@mailbox.example",
        "asso/news",
    )
    expired = read_inbound(
        _unsubscribe_mail(f"unsubscribe {token}"), secret=SECRET, now=NOW + dt.timedelta(days=91)
    )
    assert expired.unsubscribe is None
    assert expired.problem is not None
    assert "expired" in expired.problem


def test_mailto_unsubscribe_with_forged_token() -> None:
    inbound = read_inbound(_unsubscribe_mail("unsubscribe " + "A" * 80), secret=SECRET, now=NOW)
    assert inbound.kind is InboundKind.UNSUBSCRIBE
    assert inbound.unsubscribe is None
    assert inbound.problem is not None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"", InboundProblem.EMPTY),
        (b"   \r\n", InboundProblem.EMPTY),
        (b"\x00\x01\x02 no header here\n\nbody", InboundProblem.NOT_A_MESSAGE),
        (b"Subject: " + b"x" * (1024 * 1024 + 10), InboundProblem.HEADERS_TOO_LARGE),
    ],
)
def test_unreadable_messages(raw: bytes, problem: InboundProblem) -> None:
    with pytest.raises(InboundError) as caught:
        read_inbound(raw, secret=SECRET)
    assert caught.value.problem is problem


def test_too_large() -> None:
    raw = (DATA / "postfix-unknown-user.eml").read_bytes()
    with pytest.raises(InboundError) as caught:
        read_inbound(raw, secret=SECRET, max_bytes=100)
    assert caught.value.problem is InboundProblem.TOO_LARGE


def _nested(depth: int) -> bytes:
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(depth)
    )
    return b"From: x@example.org\n" + head + b"Content-Type: text/plain\n\nhi\n"


def test_nested_mime_is_read() -> None:
    assert read_inbound(_nested(50), secret=SECRET).kind is InboundKind.OTHER


def test_mime_nested_too_deep_is_refused() -> None:
    with pytest.raises(InboundError) as caught:
        read_inbound(_nested(3000), secret=SECRET)
    assert caught.value.problem is InboundProblem.TOO_DEEP
