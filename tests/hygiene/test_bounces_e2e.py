"""End to end with real servers: a newsletter to a user Postfix does not have comes back
as Postfix's DSN in a Maildir; ``mailcheck bounces ingest`` suppresses that recipient, a
Yahoo complaint suppresses another, a forged bounce nobody; the next newsletter does not
queue them. The same from an IMAP folder on a real Dovecot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailcheck.cli.main import main
from mailcheck.hygiene.tokens import tracking_header, verp_address
from mailcheck.sending.spool import SqliteSpool
from tests.hygiene.ingest_helpers import SECRET, arf, dsn
from tests.imap_server import DovecotTestServer
from tests.postfix_server import BOUNCE_DOMAIN, LOCAL_DOMAIN, PostfixTestServer

pytestmark = pytest.mark.slow
GONE = f"nosuchuser@{LOCAL_DOMAIN}"
MEMBERS = (GONE, "ana@mailbox.example", "bob@mailbox.example")


@pytest.fixture(scope="module")
def postfix() -> Iterator[PostfixTestServer]:
    with PostfixTestServer() as server:
        yield server


@pytest.fixture
def secret_file(tmp_path: Path) -> str:
    path = tmp_path / "secret"
    path.write_bytes(SECRET)
    path.chmod(0o600)
    return str(path)


async def _submit(path: str) -> tuple[dict[str, int], tuple[str, ...]]:
    """One newsletter: each member's recipient id, and who the list stopped."""
    spool = SqliteSpool(path)
    try:
        done = await spool.submit_checked(
            b"Subject: news\r\n\r\nnews\r\n", mail_from=f"news@{BOUNCE_DOMAIN}",
            rcpt_to=MEMBERS, tenant="asso", list_id="asso/news",
        )  # fmt: skip
        rows = await spool.list(limit=1000)
        ids = {r.rcpt: r.id for r in rows if r.message_id == done.message_id}
        return ids, tuple(r for r, _ in done.suppressed)
    finally:
        spool.close()


def _copy(rcpt: str, recipient_id: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Association <news@{BOUNCE_DOMAIN}>"
    message["To"] = rcpt
    message["Subject"] = "News of the association"
    name, value = tracking_header(recipient_id, secret=SECRET)
    message[name] = value
    message.set_content("The December news.\n")
    return message


def test_postfix_bounce_and_complaint_stop_the_next_newsletter(
    postfix: PostfixTestServer, tmp_path: Path, secret_file: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    spool = str(tmp_path / "spool.db")
    ids, stopped = asyncio.run(_submit(spool))
    assert stopped == ()
    # The copy to the user Postfix does not have, with the VERP path the Sender would use.
    rid = ids[GONE]
    postfix.send(_copy(GONE, rid), mail_from=verp_address(rid, domain=BOUNCE_DOMAIN,
                 secret=SECRET), rcpt_to=GONE)  # fmt: skip
    postfix.wait_for_bounces(1)
    # Later: a Yahoo complaint about ana, and a forged bounce claiming bob is gone.
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "cfl.eml").write_bytes(arf("arf-yahoo-cfl.eml", ids["ana@mailbox.example"]))
    forged = dsn(None, "bob@mailbox.example", return_path=f"bounces+{'q' * 29}@{BOUNCE_DOMAIN}")
    (reports / "forged.eml").write_bytes(forged)

    code = main(["bounces", "ingest", str(reports), "--maildir", str(postfix.maildir),
                 "--secret-file", secret_file, "--spool", spool, "--format", "json"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out)["summary"]
    assert summary["action:suppressed:hard-bounce"] == 1
    assert summary["action:suppressed:complaint"] == 1
    assert summary["action:unverified"] == 1
    assert list((postfix.maildir / "new").iterdir()) == []  # handled: moved to cur/

    _, stopped = asyncio.run(_submit(spool))
    assert sorted(stopped) == sorted([GONE, "ana@mailbox.example"])


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotTestServer]:
    server = DovecotTestServer({"bounces": "bounce-pass"})
    server.start()
    try:
        yield server
    finally:
        server.close()


def test_imap_folder(
    dovecot: DovecotTestServer, tmp_path: Path, secret_file: str,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    spool = str(tmp_path / "spool.db")
    ids, _ = asyncio.run(_submit(spool))
    dovecot.deliver("bounces", dsn(ids["bob@mailbox.example"], "bob@mailbox.example"))
    dovecot.deliver("bounces", b"\x00 not mail")
    credentials = tmp_path / "imap-password"
    credentials.write_text("bounce-pass\n")
    credentials.chmod(0o600)
    # The client trusts the test server's self-signed certificate through OpenSSL's
    # standard variable, as an operator with a private CA would.
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))
    argv = ["bounces", "ingest", "--imap", f"imaps://bounces@localhost:{dovecot.port}/INBOX",
            "--imap-credentials", str(credentials), "--secret-file", secret_file,
            "--spool", spool, "--format", "json"]  # fmt: skip
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 1, err  # the junk message could not be read
    summary = json.loads(out)["summary"]
    assert (summary["messages"], summary["unreadable"]) == (2, 1)
    assert summary["action:suppressed:hard-bounce"] == 1
    # Read again: the handled one is seen, the junk one is offered again.
    assert main(argv) == 1
    again = json.loads(capsys.readouterr()[0])["summary"]
    assert (again["messages"], again["unreadable"]) == (1, 1)


def test_imap_unreachable_is_exit_3(
    tmp_path: Path, secret_file: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from tests.redis_server import free_port

    spool = str(tmp_path / "spool.db")
    asyncio.run(_submit(spool))
    monkeypatch.setenv("MAILCHECK_IMAP_PASSWORD", "x")
    code = main(["bounces", "ingest", "--imap", f"imaps://u@127.0.0.1:{free_port()}/INBOX",
                 "--secret-file", secret_file, "--spool", spool])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 3
    assert err.startswith("mailcheck: error: --imap:")
    assert len(err.splitlines()) == 1
    assert out.splitlines()[-1] == "0 message(s): nothing"
