"""The Sender lints bulk mail at submission (``lint="warn"|"refuse"``): a newsletter the big
providers would reject is caught before the first message leaves. Real spool, real
aiosmtpd sink on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailcheck.dkim import DkimSigner, generate_key
from mailcheck.errors import ConfigError
from mailcheck.hygiene.verp import UnsubscribeConfig
from mailcheck.lookup.zonefile import ZoneResolver
from mailcheck.sending import LintRefused
from mailcheck.sending.events import EventKind, SendEvent
from mailcheck.sending.sender import Sender
from mailcheck.sending.spool import TRANSACTIONAL, SqliteSpool
from tests.sending.conftest import Sink, fast_pace

ZONE = str(Path(__file__).parent.parent / "zones" / "sending.test.zone")
MX = "mx.plain.sending.test"
RCPTS = ["a@plain.sending.test", "b@plain.sending.test"]
SECRET = b"0123456789abcdef0123456789abcdef"

# A newsletter with neither a DKIM signature nor one-click unsubscribe: Gmail, Yahoo and
# Outlook.com refuse such bulk mail (docs/bulk-sender-rules.md).
BARE = (
    b"From: News <news@asso.example>\r\nTo: members@asso.example\r\nSubject: December\r\n"
    b"Date: Sun, 06 Dec 2026 08:00:00 +0000\r\nMessage-ID: <dec.2026@asso.example>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello!\r\n"
)


def make_sender(tmp_path: Path, sink: Sink, events: list[SendEvent], **kw: Any) -> Sender:
    return Sender(
        pacing=fast_pace,
        spool=SqliteSpool(str(tmp_path / "q.db")),
        resolver=ZoneResolver([ZONE]),
        mx_override={MX: ("127.0.0.1", sink.port)},
        on_event=events.append,
        helo="out.asso.example",
        **kw,
    )


async def test_refuse_stops_a_newsletter_the_providers_would_reject(
    tmp_path: Path, smtp_sink: Sink
) -> None:
    events: list[SendEvent] = []
    async with make_sender(tmp_path, smtp_sink, events, lint="refuse") as sender:
        with pytest.raises(LintRefused) as caught:
            await sender.submit(BARE, mail_from="news@asso.example", rcpt_to=RCPTS)
        assert set(caught.value.report.rejected_by) == {
            "gmail-bulk", "yahoo-bulk", "microsoft-bulk",
        }  # fmt: skip
        assert "lint.dkim-missing" in str(caught.value)
        assert sum((await sender.spool.counts()).values()) == 0  # nothing queued
        await sender.run_until_idle()
    assert smtp_sink.received == []


async def test_warn_queues_and_says_why(tmp_path: Path, smtp_sink: Sink) -> None:
    events: list[SendEvent] = []
    async with make_sender(tmp_path, smtp_sink, events, lint="warn") as sender:
        await sender.submit(BARE, mail_from="news@asso.example", rcpt_to=RCPTS)
        await sender.run_until_idle()
    lint = [e for e in events if e.kind == EventKind.LINT]
    assert len(lint) == 1
    assert "Outlook.com (microsoft-bulk): would be rejected" in lint[0].reply
    assert lint[0].rcpt == ",".join(RCPTS)
    assert len(smtp_sink.received) == 1  # one transaction, both recipients


async def test_transactional_mail_is_not_linted(tmp_path: Path, smtp_sink: Sink) -> None:
    events: list[SendEvent] = []
    async with make_sender(tmp_path, smtp_sink, events, lint="refuse") as sender:
        await sender.submit(
            BARE, mail_from="news@asso.example", rcpt_to=RCPTS[:1], priority=TRANSACTIONAL
        )
        await sender.run_until_idle()
    assert [e for e in events if e.kind == EventKind.LINT] == []
    assert len(smtp_sink.received) == 1


async def test_a_signed_newsletter_with_one_click_unsubscribe_passes(
    tmp_path: Path, smtp_sink: Sink
) -> None:
    # The headers are added per recipient and signed when each copy is sent: the lint
    # judges that copy (the first recipient's), not the bare submission.
    signer = DkimSigner(domain="asso.example", selector="s1", key=generate_key("ed25519"))
    events: list[SendEvent] = []
    unsubscribe = UnsubscribeConfig(url="https://asso.example/unsubscribe", secret=SECRET)
    async with make_sender(
        tmp_path, smtp_sink, events, lint="refuse", signer=signer, unsubscribe=unsubscribe
    ) as sender:
        await sender.submit(BARE, mail_from="news@asso.example", rcpt_to=RCPTS, list="news")
        await sender.run_until_idle()
    assert [e for e in events if e.kind == EventKind.LINT] == []
    assert len(smtp_sink.received) == 2  # one copy per recipient, each with its headers
    assert all(b"List-Unsubscribe-Post" in r.data for r in smtp_sink.received)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lint": "strict"}, "lint must be one of off, warn, refuse"),
        ({"lint": "warn", "lint_profiles": ["gmail-bulk", "hotmail"]}, "no lint profile"),
    ],
)
def test_bad_lint_settings(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Sender(spool=SqliteSpool(str(tmp_path / "q.db")), **kwargs)
