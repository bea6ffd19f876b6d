"""The whole loop with real parts: the Sender delivers a newsletter with VERP return paths
to a real Postfix; Postfix accepts a user it does not have and bounces it later with its
own DSN into the bounce Maildir; a member's complaint comes back as an ARF report quoting
the copy Postfix stored; a forged bounce arrives too. ``mailcheck bounces ingest`` reads
them all, and the next newsletter to the list queues neither the gone user nor the
complainer, while the member named by the forged bounce still gets it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcheck.cli.main import main
from mailcheck.hygiene.verp import VerpConfig
from mailcheck.lookup.zonefile import ZoneResolver
from mailcheck.sending.sender import Sender
from mailcheck.sending.spool import SqliteSpool
from tests.hygiene.ingest_helpers import SECRET, dsn
from tests.postfix_server import BOUNCE_DOMAIN, PostfixTestServer
from tests.sending.conftest import fast_pace

pytestmark = pytest.mark.slow
ZONE = str(Path(__file__).parent.parent / "zones" / "sending.test.zone")
MX = "mx.plain.sending.test"  # plain.sending.test's MX in the zone, mapped to Postfix
MEMBERS = ("ana@plain.sending.test", "bob@plain.sending.test", "cy@plain.sending.test")
GONE = "gone@plain.sending.test"  # accepted by Postfix, then bounced: no such mailbox
LIST = "asso.example/news"


@pytest.fixture(scope="module")
def postfix() -> Iterator[PostfixTestServer]:
    with PostfixTestServer(mailboxes=MEMBERS) as server:
        yield server


async def _newsletter(spool_path: str, port: int, n: int) -> tuple[str, ...]:
    """Submit and deliver newsletter ``n``; the recipients the suppression list stopped."""
    sender = Sender(
        spool=SqliteSpool(spool_path),
        resolver=ZoneResolver([ZONE]),
        mx_override={MX: ("127.0.0.1", port)},
        pacing=fast_pace,
        helo="out.asso.example",
        verp=VerpConfig(domain=BOUNCE_DOMAIN, secret=SECRET),
    )
    try:
        raw = (
            f"From: news@asso.example\r\nTo: members\r\nSubject: letter {n}\r\n"
            f"Message-ID: <{n}.news@asso.example>\r\n\r\nletter {n}\r\n"
        ).encode()
        done = await sender.submit_checked(
            raw, mail_from="news@asso.example", rcpt_to=[*MEMBERS, GONE], tenant="asso", list=LIST
        )
        await sender.run_until_idle()
        return tuple(r for r, _ in done.suppressed)
    finally:
        await sender.close()


def _arf(copy: bytes) -> bytes:
    """An RFC 5965 report quoting ``copy`` as the provider received it."""
    head = f"""From: abuse-reports@plain.sending.test
To: fbl@{BOUNCE_DOMAIN}
Subject: FW: letter 1
Message-ID: <arf-e2e-1@plain.sending.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf-e2e"

--arf-e2e
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for a message received from 127.0.0.1.

--arf-e2e
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Rcpt-To: <{MEMBERS[1]}>

--arf-e2e
Content-Type: message/rfc822
Content-Disposition: inline

"""
    return head.encode() + copy + b"\n--arf-e2e--\n"


def test_bounce_complaint_and_forgery_through_real_postfix(
    postfix: PostfixTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = str(tmp_path / "spool.db")
    assert asyncio.run(_newsletter(spool, postfix.port, 1)) == ()
    (dsn_raw,) = postfix.wait_for_bounces(1)  # Postfix's own DSN for GONE
    assert f"<{GONE}>".encode() in dsn_raw
    # Bob pressed "spam": his provider quotes the copy Postfix stored for him.
    (copy,) = [p.read_bytes() for p in (postfix.mailbox(MEMBERS[1]) / "new").iterdir()]
    assert b"X-Mailcheck-Id: " in copy
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "complaint.eml").write_bytes(_arf(copy))
    # Someone claims Cy is gone, with a made-up token.
    forged = dsn(None, MEMBERS[2], return_path=f"bounces+{'z' * 29}@{BOUNCE_DOMAIN}")
    (reports / "forged.eml").write_bytes(forged)
    secret = tmp_path / "secret"
    secret.write_bytes(SECRET)
    secret.chmod(0o600)

    code = main(["bounces", "ingest", str(reports), "--maildir", str(postfix.maildir),
                 "--secret-file", str(secret), "--spool", spool, "--format", "json"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    actions = {
        (a["kind"], a["reason"], a["address"])
        for m in data["messages"]
        for a in m["actions"]
    }  # fmt: skip
    assert actions == {
        ("suppressed", "hard-bounce", GONE),
        ("suppressed", "complaint", MEMBERS[1]),
        ("unverified", None, MEMBERS[2]),
    }

    stopped = asyncio.run(_newsletter(spool, postfix.port, 2))
    assert sorted(stopped) == sorted([GONE, MEMBERS[1]])
    # Cy, named by the forged bounce, got both letters.
    assert len(list((postfix.mailbox(MEMBERS[2]) / "new").iterdir())) == 2
