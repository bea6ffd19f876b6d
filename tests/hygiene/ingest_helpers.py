"""Building what comes back, for tests and the benchmark: RFC 3464 DSNs in Postfix's
layout, and ARF reports from the samples with the tokens of real spool recipients."""

from __future__ import annotations

from pathlib import Path

from mailcheck.hygiene.tokens import recipient_token, verp_address

DATA = Path(__file__).parent / "data"
SECRET = b"s3cret-for-tests-only-0123456789"
BOUNCE_DOMAIN = "lists.mailcheck.test"
#: The token the ARF samples carry (ids 1001, 1002, 1003), replaced by a real one.
SAMPLE_TOKENS = {
    "arf-yahoo-cfl.eml": "aaaaaaaaaab6taa4ufqubkrh2iqi2",
    "arf-microsoft-jmrp.eml": "aaaaaaaaaab6uw6srdxcp4djqzzus",
    "arf-rfc5965.eml": "aaaaaaaaaab6wz5jpn2cyyjhc7m3c",
}


def dsn(
    recipient_id: int | None,
    rcpt: str,
    *,
    status: str = "5.1.1",
    action: str = "failed",
    diagnostic: str = "smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown",
    return_path: str | None = None,
    serial: int = 0,
    secret: bytes = SECRET,
) -> bytes:
    """A DSN for ``rcpt``, delivered to the VERP path of ``recipient_id`` (or to
    ``return_path`` as given, e.g. a forged one)."""
    path = return_path or verp_address(recipient_id or 0, domain=BOUNCE_DOMAIN, secret=secret)
    diag = diagnostic.format(rcpt=rcpt)
    text = f"""Return-Path: <>
X-Original-To: {path}
Delivered-To: {path}
From: Mail Delivery System <MAILER-DAEMON@mx.mailbox.example>
Subject: Undelivered Mail Returned to Sender
To: {path}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B{serial}/mx.mailbox.example"
Message-Id: <dsn-{serial}@mx.mailbox.example>

--B{serial}/mx.mailbox.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{rcpt}>: {diag}

--B{serial}/mx.mailbox.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.mailbox.example
X-Postfix-Sender: rfc822; {path}
Arrival-Date: Sun,  6 Dec 2026 08:25:34 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.mailbox.example
Diagnostic-Code: {diag}

--B{serial}/mx.mailbox.example
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{path}>
From: Association <news@{BOUNCE_DOMAIN}>
To: {rcpt}
Subject: News of the association
Message-ID: <news-{serial}@{BOUNCE_DOMAIN}>

--B{serial}/mx.mailbox.example--
"""
    return text.replace("\n", "\r\n").encode()


def arf(sample: str, recipient_id: int, *, secret: bytes = SECRET) -> bytes:
    """An ARF sample whose tokens name ``recipient_id``."""
    raw = (DATA / sample).read_bytes()
    token = recipient_token(recipient_id, secret=secret)
    return raw.replace(SAMPLE_TOKENS[sample].encode(), token.encode())
