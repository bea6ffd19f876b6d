"""``mailcheck send`` with list hygiene and transport options, end to end in process: a
real spool, the DNS test server, a scripted SMTP server on loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from mailcheck.cli.main import main
from mailcheck.hygiene.tokens import verify_unsubscribe, verp_recipient_id
from tests.cli.sendkit import DOMAIN, Server, send_args, serve, write_messages
from tests.dnsserver import DnsTestServer

FROM = ["--from", "news@asso.example"]
SECRET = b"mailcheck-test-secret-0123456789"


def secret_file(tmp_path: Path) -> str:
    path = tmp_path / "secret"
    path.write_bytes(SECRET + b"\n")
    path.chmod(0o600)
    return str(path)


@pytest.mark.slow
async def test_lint_refuse_keeps_a_bare_newsletter_out_of_the_queue(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_messages(tmp_path / "out", 2)
    async with serve(Server()) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        code = await asyncio.to_thread(main, [*argv, "--lint", "refuse", "--format", "json"])
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert code == 2  # messages not queued: an error per message, said on stderr
    assert len(result["submitted"]["rejected"]) == 2
    assert "refused before sending" in captured.err
    assert "Outlook.com (microsoft-bulk): would be rejected" in captured.err
    assert server.received == []


@pytest.mark.slow
async def test_lint_warn_sends_and_says_why(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_messages(tmp_path / "out", 1)
    async with serve(Server()) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        code = await asyncio.to_thread(main, [*argv, "--lint", "warn"])
    err = capsys.readouterr().err
    assert code == 0
    assert f"mailcheck: warning: to m0@{DOMAIN}: " in err
    assert "Gmail (gmail-bulk): would be rejected" in err
    assert server.delivered_to() == [f"m0@{DOMAIN}"]


@pytest.mark.slow
async def test_verp_and_one_click_unsubscribe_per_recipient(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_messages(tmp_path / "out", 2)
    hygiene = [
        "--list", "news", "--verp-domain", "asso.example", "--secret-file",
        secret_file(tmp_path), "--unsubscribe-url", "https://asso.example/unsubscribe",
    ]  # fmt: skip
    async with serve(Server()) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *hygiene, *files]
        code = await asyncio.to_thread(main, argv)
    assert code == 0, capsys.readouterr().err
    assert sorted(server.delivered_to()) == [f"m0@{DOMAIN}", f"m1@{DOMAIN}"]
    for (rcpts, raw), mail_from in zip(server.received, server.mail_froms, strict=True):
        assert verp_recipient_id(mail_from, secret=SECRET) is not None  # bounces+TOKEN@
        header = raw.split(b"\r\n\r\n")[0].decode()
        assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in header
        token = header.split("?t=", 1)[1].split(">", 1)[0]
        request = verify_unsubscribe(token, secret=SECRET)
        assert (request.address, request.list) == (rcpts[0], "news")


@pytest.mark.slow
async def test_a_suppressed_recipient_is_not_queued(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = tmp_path / "spool"
    files = write_messages(tmp_path / "out", 2)
    create = ["send", "--spool", str(spool), "--no-run"]  # the spool holds the list
    assert await asyncio.to_thread(main, create) == 0
    suppress = ["suppress", "add", f"m1@{DOMAIN}", "--spool", str(spool)]
    assert await asyncio.to_thread(main, suppress) == 0
    capsys.readouterr()
    async with serve(Server()) as server:
        argv = [*send_args(spool, dns_server, server), *FROM, *files]
        code = await asyncio.to_thread(main, argv)
    out = capsys.readouterr().out
    assert code == 0
    assert "1 recipient(s) suppressed" in out
    assert server.delivered_to() == [f"m0@{DOMAIN}"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--verp-domain", "asso.example"], "need --secret-file"),
        (["--unsubscribe-url", "https://a.example/u"], "need --secret-file"),
        (["--unsubscribe-mailto", "u@a.example"], "goes with --unsubscribe-url"),
    ],
)
def test_bad_hygiene_options_are_one_line(
    tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    msg = tmp_path / "m.eml"
    msg.write_bytes(b"From: news@asso.example\r\nTo: a@b.example\r\n\r\nhi\r\n")
    code = main(["send", "--spool", str(tmp_path / "s"), *FROM, *extra, str(msg)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert message in err
    assert not (tmp_path / "s").exists()  # said before anything is opened


def test_tls_reports_and_lint_warnings_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    from mailcheck.cli.send_run import Settled
    from mailcheck.sending.events import EventKind, SendEvent

    settled = Settled()
    settled(SendEvent(kind=EventKind.TLS_REPORT, rcpt="asso.example", host="mx1.asso.example",
                      tls="mta-sts-testing", reply="certificate expired\x1b[31m"))  # fmt: skip
    settled(SendEvent(kind=EventKind.DELIVERED, rcpt="a@asso.example"))
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout is the summary only
    assert captured.err == (
        "mailcheck: warning: TLS (mta-sts-testing) with mx1.asso.example for asso.example: "
        "certificate expired?[31m\n"
    )
    assert settled.counts == {"delivered": 1}
