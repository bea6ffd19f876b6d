"""DSNs from a real Postfix: a message with a VERP return path to a user that does not
exist comes back as the DSN Postfix writes, and reads as a verified hard bounce."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from mailcheck.hygiene.inbound import read_inbound
from mailcheck.hygiene.inbound_types import BounceKind, InboundKind, MatchedBy
from mailcheck.hygiene.tokens import tracking_header, verp_address
from tests.postfix_server import BOUNCE_DOMAIN, LOCAL_DOMAIN, PostfixTestServer

SECRET = b"s3cret-for-tests-only-0123456789"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postfix() -> Iterator[PostfixTestServer]:
    with PostfixTestServer() as server:
        yield server


def _newsletter(rcpt: str, recipient_id: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Association <news@{BOUNCE_DOMAIN}>"
    message["To"] = rcpt
    message["Subject"] = "News of the association"
    message["Message-ID"] = f"<news-{recipient_id}@{BOUNCE_DOMAIN}>"
    name, value = tracking_header(recipient_id, secret=SECRET)
    message[name] = value
    message.set_content("The December news.\n")
    return message


def test_postfix_bounce_for_unknown_user(postfix: PostfixTestServer) -> None:
    rcpt = f"nosuchuser@{LOCAL_DOMAIN}"
    path = verp_address(7, domain=BOUNCE_DOMAIN, secret=SECRET)
    postfix.send(_newsletter(rcpt, 7), mail_from=path, rcpt_to=rcpt)
    (raw,) = postfix.wait_for_bounces(1)
    # What virtual(8) delivered: Postfix's own DSN, to our VERP address.
    assert f"Delivered-To: {path}".encode() in raw
    assert b"report-type=delivery-status" in raw
    inbound = read_inbound(raw, secret=SECRET)
    assert inbound.kind is InboundKind.BOUNCE
    (bounce,) = inbound.bounces
    assert bounce.recipient == rcpt
    assert (bounce.status, bounce.action, bounce.kind) == ("5.1.1", "failed", BounceKind.HARD)
    assert (bounce.verp_recipient_id, bounce.matched_by) == (7, MatchedBy.VERP)
    assert bounce.original_message_id == f"<news-7@{BOUNCE_DOMAIN}>"
