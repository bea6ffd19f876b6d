"""Reading an IMAP folder from a real Dovecot over TLS."""

from __future__ import annotations

import asyncio
import imaplib
from pathlib import Path

import pytest

from mailcheck.errors import ConfigError
from mailcheck.mailbox import PASSWORD_ENV, ImapSource, MailboxError, read_password
from tests.imap_server import DovecotTestServer

pytestmark = pytest.mark.slow


def _message(n: int) -> bytes:
    return f"From: r@example.net\r\nSubject: report {n}\r\n\r\nbody {n}\r\n".encode()


def _source(server: DovecotTestServer, user: str = "reports", **kwargs: object) -> ImapSource:
    return ImapSource(
        f"imaps://{user}@localhost:{server.port}/INBOX",
        password=server.users[user],
        ssl_context=server.ssl_context(),
        **kwargs,  # type: ignore[arg-type]
    )


def _imap(server: DovecotTestServer, user: str) -> imaplib.IMAP4_SSL:
    client = imaplib.IMAP4_SSL("localhost", server.port, ssl_context=server.ssl_context())
    client.login(user, server.users[user])
    return client


async def test_unseen_messages_read_then_flagged_seen(dovecot: DovecotTestServer) -> None:
    for n in range(3):
        dovecot.deliver("reports", _message(n))
    async with _source(dovecot) as source:
        got = []
        async for item in source.messages():
            assert item.raw is not None
            got.append(item.raw)
            if b"report 1" not in item.raw:  # one message is left for the next run
                await source.done(item)
    assert [b"report 0" in g or b"report 1" in g or b"report 2" in g for g in got] == [True] * 3
    async with _source(dovecot) as source:
        again = [item.raw async for item in source.messages()]
    assert len(again) == 1
    assert again[0] is not None
    assert b"report 1" in again[0]


async def test_handled_messages_move_to_a_folder(dovecot: DovecotTestServer) -> None:
    dovecot.deliver("other", _message(7))
    async with _source(dovecot, "other", move_to="Processed/DMARC") as source:
        async for item in source.messages():
            await source.done(item)
    client = _imap(dovecot, "other")
    try:
        assert client.select("INBOX")[1] == [b"0"]
        typ, data = client.select('"Processed/DMARC"')
        assert typ == "OK"
        assert data == [b"1"]
        typ, flags = client.fetch("1", "(FLAGS)")
        assert b"\\Seen" in flags[0]
    finally:
        client.logout()


async def test_a_large_message_is_left_unread(dovecot: DovecotTestServer) -> None:
    server_user = "reports"
    async with _source(dovecot) as source:  # empty the folder first
        async for item in source.messages():
            await source.done(item)
    dovecot.deliver(server_user, b"Subject: big\r\n\r\n" + b"x" * 4000 + b"\r\n")
    async with _source(dovecot, max_bytes=1000) as source:
        items = [item async for item in source.messages()]
    assert len(items) == 1
    assert items[0].raw is None
    assert items[0].size > 4000
    assert items[0].problem == "larger than 1000 bytes"


async def test_wrong_password_is_one_line_without_the_password() -> None:
    # A server of its own: Dovecot delays the next logins from an address that failed one.
    server = DovecotTestServer()
    server.start()
    source = ImapSource(
        f"imaps://reports@localhost:{server.port}/",
        password="not-the-Secret-42",
        ssl_context=server.ssl_context(),
    )
    try:
        with pytest.raises(MailboxError) as caught:
            await source.open()
    finally:
        server.close()
    assert "login refused for reports" in str(caught.value)
    assert "not-the-Secret-42" not in str(caught.value)


async def test_an_untrusted_certificate_is_refused(dovecot: DovecotTestServer) -> None:
    source = ImapSource(f"imaps://reports@localhost:{dovecot.port}/", password="x")
    with pytest.raises(MailboxError, match="cannot connect"):
        await source.open()


async def test_a_missing_folder_is_an_error(dovecot: DovecotTestServer) -> None:
    source = ImapSource(
        f"imaps://reports@localhost:{dovecot.port}/NoSuchFolder",
        password=dovecot.users["reports"],
        ssl_context=dovecot.ssl_context(),
    )
    with pytest.raises(MailboxError, match="select NoSuchFolder refused"):
        await source.open()
    await source.close()


async def test_nothing_listens() -> None:
    from tests.redis_server import free_port

    source = ImapSource(f"imaps://u@127.0.0.1:{free_port()}/", password="x", timeout=2)
    with pytest.raises(MailboxError, match="cannot connect"):
        await source.open()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("imaps://u:pw@host/", "must not hold the password"),
        ("https://u@host/", "must start with imaps://"),
        ("imaps://host/", "needs a user and a host"),
        ("imaps://u@host:99999/", "bad port"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ImapSource(url, password="x")


def test_password_from_file_or_environment(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("hunter2\nignored\n")
    secret.chmod(0o600)
    assert read_password(secret) == "hunter2"
    secret.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        read_password(secret)
    assert read_password(environ={PASSWORD_ENV: "from-env"}) == "from-env"
    with pytest.raises(ConfigError, match="no IMAP password"):
        read_password(environ={})
    with pytest.raises(ConfigError, match="cannot read password file"):
        read_password("bad\0name")
    latin = tmp_path / "latin"
    latin.write_bytes(b"caf\xe9\n")
    latin.chmod(0o600)
    with pytest.raises(ConfigError, match="cannot read password file"):
        read_password(latin)


async def test_done_while_the_next_message_is_fetched(dovecot: DovecotTestServer) -> None:
    # A caller that hands each message to a task and marks it done there, while its loop
    # already asks for the next one (as bounce ingestion does): the commands of the two
    # must not interleave on the one connection (imaplib is not thread-safe).
    async with _source(dovecot, "other") as source:  # empty the folder first
        async for item in source.messages():
            await source.done(item)
    for n in range(12):
        dovecot.deliver("other", _message(100 + n))
    async with _source(dovecot, "other", timeout=5) as source, asyncio.TaskGroup() as group:
        async for item in source.messages():
            group.create_task(source.done(item))
    async with _source(dovecot, "other", timeout=5) as source:
        assert [item async for item in source.messages()] == []  # every one flagged seen
