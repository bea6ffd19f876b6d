"""Reading a report or bounce mailbox over IMAP, always over TLS.

``imaps://user@host[:port]/Folder`` (implicit TLS, port 993) or ``imap://user@host/Folder``
(STARTTLS on port 143, refused when the server does not offer it): mail is never read over a
clear connection. The password is never part of the URL (it would show in ``ps`` and shell
history): it comes from a file readable only by its owner, or from the environment.

The messages not yet seen are read without marking them (``BODY.PEEK``); a message the
caller has handled is then flagged ``\\Seen`` and, if asked, moved to another folder. What
the caller did not mark done stays unseen for the next run. :mod:`imaplib` is blocking and
not thread-safe: each command runs in a worker thread, and a lock makes them one at a time
even when a caller marks a message done while the next one is being fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import re
import ssl
import stat
import threading
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from mailcheck.errors import ConfigError
from mailcheck.mailbox.types import DEFAULT_MAX_BYTES, MailboxError, MailItem

__all__ = ["PASSWORD_ENV", "ImapSource", "read_password"]

#: The environment variable read when no password file is given.
PASSWORD_ENV = "MAILCHECK_IMAP_PASSWORD"

_T = TypeVar("_T")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_MAX_PASSWORD = 4096


def read_password(
    file: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> str:
    """The IMAP password: the first line of ``file``, else ``$MAILCHECK_IMAP_PASSWORD``.

    Raises:
        ConfigError: no password, or a file that others can read (``chmod 600`` it).
    """
    if file is not None:
        path = Path(file)
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRGRP | stat.S_IROTH):
                raise ConfigError(
                    f"password file {path} is readable by other users: chmod 600 {path}"
                )
            text = path.read_text(encoding="utf-8")[:_MAX_PASSWORD]
        except OSError as exc:
            raise ConfigError(f"cannot read password file {path}: {exc.strerror or exc}") from None
        except (ValueError, UnicodeDecodeError) as exc:  # a NUL in the name, not UTF-8 text
            raise ConfigError(f"cannot read password file {str(path)!r}: {exc}") from None
        password = text.splitlines()[0] if text else ""
        if not password:
            raise ConfigError(f"password file {path} is empty")
        return password
    env = os.environ if environ is None else environ
    password = env.get(PASSWORD_ENV, "")
    if not password:
        raise ConfigError(f"no IMAP password: give a password file or set {PASSWORD_ENV}")
    return password


def _parse_url(url: str) -> tuple[bool, str, int, str, str]:
    """(implicit TLS, host, port, user, folder) of an ``imaps://`` or ``imap://`` URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("imaps", "imap"):
        raise ConfigError(f"IMAP URL must start with imaps:// or imap:// (STARTTLS): {url!r}")
    if parts.password is not None:
        raise ConfigError(
            "the IMAP URL must not hold the password: put it in a file (chmod 600) "
            f"or in {PASSWORD_ENV}"
        )
    if not parts.hostname or not parts.username:
        raise ConfigError("IMAP URL needs a user and a host: imaps://user@host/Folder")
    implicit = parts.scheme == "imaps"
    try:
        port = parts.port or (993 if implicit else 143)
    except ValueError:
        raise ConfigError(f"bad port in IMAP URL {url!r}") from None
    folder = urllib.parse.unquote(parts.path.lstrip("/")) or "INBOX"
    return implicit, parts.hostname, port, urllib.parse.unquote(parts.username), folder


def _quote(folder: str) -> str:
    """A mailbox name as an IMAP quoted string."""
    if any(ord(c) < 32 or ord(c) > 126 for c in folder):
        raise ConfigError(f"IMAP folder name must be printable ASCII: {folder!r}")
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapSource:
    """The unseen messages of one IMAP folder.

    Args:
        url: ``imaps://user@host[:port]/Folder`` (``INBOX`` when no folder).
        password: see :func:`read_password`.
        move_to: a folder to move handled messages to (created when missing).
        ssl_context: trust settings (default: the system store, name checked).
        max_bytes: larger messages are yielded unread (``raw=None``, ``problem`` set).
        timeout: seconds for the connection and each command.

    Use as ``async with ImapSource(...) as source: async for item in source.messages()``.
    """

    def __init__(
        self,
        url: str,
        *,
        password: str,
        move_to: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = 30.0,
    ) -> None:
        self.implicit_tls, self.host, self.port, self.user, self.folder = _parse_url(url)
        self._password = password
        self.move_to = move_to
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._imap: imaplib.IMAP4 | None = None
        self._can_move = False
        # One command at a time on the connection, whichever task asks (see the module).
        self._lock = threading.Lock()
        if move_to is not None:
            _quote(move_to)

    def __repr__(self) -> str:
        return f"ImapSource({self.user}@{self.host}:{self.port}/{self.folder})"

    async def __aenter__(self) -> ImapSource:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the blocking part, run in a thread -----------------------------------------------------

    def _call(self, what: str, command: str, *args: Any) -> list[Any]:
        assert self._imap is not None
        try:
            typ, data = getattr(self._imap, command)(*args)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"IMAP {self.host}: {what} failed: {exc}") from None
        if typ != "OK":
            detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
            raise MailboxError(f"IMAP {self.host}: {what} refused: {detail[:200]}")
        return list(data)

    def _open(self) -> None:
        try:
            if self.implicit_tls:
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=self.ssl_context, timeout=self.timeout
                )
            else:
                imap = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
                if "STARTTLS" not in imap.capabilities:
                    imap.shutdown()
                    raise MailboxError(
                        f"IMAP {self.host}: the server does not offer STARTTLS; "
                        "mailcheck does not read mail over a clear connection"
                    )
                imap.starttls(ssl_context=self.ssl_context)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"cannot connect to IMAP {self.host}:{self.port}: {exc}") from None
        self._imap = imap
        try:
            imap.login(self.user, self._password)
        except (imaplib.IMAP4.error, OSError):
            # The server's words may echo what was sent: say only that the login failed.
            self._shutdown()
            raise MailboxError(f"IMAP {self.host}: login refused for {self.user}") from None
        self._can_move = "MOVE" in imap.capabilities
        self._call(f"select {self.folder}", "select", _quote(self.folder))
        if self.move_to is not None:
            assert self._imap is not None
            # CREATE of an existing folder fails with [ALREADYEXISTS]: that is fine.
            self._imap.create(_quote(self.move_to))

    def _unseen(self) -> list[bytes]:
        data = self._call("search", "uid", "SEARCH", None, "UNSEEN")
        return [uid for uid in (data[0] or b"").split() if uid.isdigit()]

    def _fetch(self, uid: bytes) -> MailItem:
        key = f"{self.folder}/{uid.decode()}"
        sized = self._call("size", "uid", "FETCH", uid, "(RFC822.SIZE)")
        head = sized[0] if sized and isinstance(sized[0], bytes) else b""
        match = _SIZE.search(head)
        if match is None:
            return MailItem(key, None, 0, "gone (expunged by another client)")
        size = int(match.group(1))
        if size > self.max_bytes:
            return MailItem(key, None, size, f"larger than {self.max_bytes} bytes")
        data = self._call("fetch", "uid", "FETCH", uid, "(BODY.PEEK[])")
        for part in data:
            if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
                return MailItem(key, part[1], len(part[1]))
        return MailItem(key, None, size, "gone (expunged by another client)")

    def _done(self, key: str) -> None:
        uid = key.rpartition("/")[2]
        self._call("flag seen", "uid", "STORE", uid, "+FLAGS.SILENT", "(\\Seen)")
        if self.move_to is None:
            return
        target = _quote(self.move_to)
        if self._can_move:
            self._call(f"move to {self.move_to}", "uid", "MOVE", uid, target)
        else:
            self._call(f"copy to {self.move_to}", "uid", "COPY", uid, target)
            self._call("delete", "uid", "STORE", uid, "+FLAGS.SILENT", "(\\Deleted)")
            self._call("expunge", "expunge")

    def _shutdown(self) -> None:
        imap, self._imap = self._imap, None
        if imap is None:
            return
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            with contextlib.suppress(OSError):
                imap.shutdown()

    # -- the asynchronous face ------------------------------------------------------------------

    async def _serial(self, fn: Callable[..., _T], *args: Any) -> _T:
        def locked() -> _T:
            with self._lock:
                return fn(*args)

        return await asyncio.to_thread(locked)

    async def open(self) -> None:
        """Connect, log in and select the folder.

        Raises:
            MailboxError: no connection, TLS failure, login refused, no such folder.
        """
        await self._serial(self._open)

    async def messages(self) -> AsyncIterator[MailItem]:
        """Each message unseen when the call starts, read without flagging it."""
        if self._imap is None:
            await self.open()
        for uid in await self._serial(self._unseen):
            yield await self._serial(self._fetch, uid)

    async def done(self, item: MailItem) -> None:
        """Flag a handled message seen, and move it when ``move_to`` is set."""
        await self._serial(self._done, item.key)

    async def close(self) -> None:
        """Log out (a closed source can be opened again)."""
        await self._serial(self._shutdown)
