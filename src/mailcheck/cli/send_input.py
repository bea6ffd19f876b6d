"""What ``mailcheck send`` queues and the checks made before anything is queued.

Messages come from files, stdin (``-``) or a Maildir. A Maildir is read as a Maildir reader
should: ``new/`` and the messages of ``cur/`` without the ``S`` flag; once a message is
queued it is moved to ``cur/`` with ``S`` (:func:`mark_queued`), so the next run does not
read it again. Symbolic links are never followed: a link in ``new/`` (to ``/etc/shadow``,
say) is refused, not mailed.

The options that name addresses are checked here: ``--from`` and ``--to`` are RFC 5321
mailboxes, each ``--egress`` IP is an address of this host (a UDP socket can bind it) and
its EHLO name a host name.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import socket
import stat
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from mailcheck.address import parse_mailbox, recipients_from_headers
from mailcheck.errors import ConfigError, MailcheckError
from mailcheck.sending import Egress

__all__ = [
    "Rejected",
    "Source",
    "check_mailbox",
    "envelope",
    "mark_queued",
    "parse_egress",
    "read_sources",
]

_BCC_RE = re.compile(rb"^bcc[ \t]*:.*(?:\r?\n[ \t].*)*\r?\n", re.IGNORECASE | re.MULTILINE)
# RFC 1123 §2.1 host names; RFC 5321 §4.1.3 address literals for a host without a name.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?\Z")
#: The Maildir "info" of a file name: ``unique:2,FLAGS`` (flags in ASCII order).
MAILDIR_INFO = ":2,"


@dataclasses.dataclass(frozen=True, slots=True)
class Source:
    """One message to queue.

    Attributes:
        name: what messages call it (the file name, ``-`` for stdin).
        raw: its bytes as read.
        maildir_file: the Maildir file to mark as queued once it is, or None.
    """

    name: str
    raw: bytes
    maildir_file: Path | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Rejected:
    """A message that is not queued, and why (one line)."""

    name: str
    reason: str


def check_mailbox(value: str, option: str) -> str:
    """``value`` when it is one RFC 5321 mailbox; else a :class:`ConfigError` naming it."""
    try:
        parse_mailbox(value)
    except MailcheckError as exc:
        raise ConfigError(f"{option}: {exc}") from None
    return value


def _is_local(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            # Binding needs the address on one of this host's interfaces; nothing is sent.
            sock.bind((str(ip), 0))
        except (OSError, TypeError, ValueError, UnicodeError):  # a scope with NUL, say
            return False
    return True


def check_hostname(value: str, option: str) -> str:
    """``value`` when it is a host name or an address literal (``[192.0.2.1]``)."""
    literal = value.startswith("[") and value.endswith("]")
    if literal:
        try:
            ipaddress.ip_address(value[1:-1].removeprefix("IPv6:"))
        except ValueError:
            raise ConfigError(f"{option} {value!r}: not an address literal") from None
    elif not _HOSTNAME_RE.match(value) or len(value) > 253:
        raise ConfigError(f"{option} {value!r}: not a host name")
    return value


def parse_egress(items: Sequence[str], helo: str | None) -> list[Egress]:
    """``--egress IP[=HELO]`` values, each IP an address of this host."""
    result = []
    for item in items:
        text, _, name = item.partition("=")
        text = text.strip().removeprefix("[").removesuffix("]")
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            raise ConfigError(f"--egress {item!r}: {text!r} is not an IP address") from None
        if ip.is_unspecified or ip.is_multicast:
            raise ConfigError(f"--egress {item!r}: not one source address")
        if not _is_local(ip):
            raise ConfigError(f"--egress {item!r}: not an address of this host")
        if name:
            check_hostname(name, "--egress")
        result.append(Egress(str(ip), name or helo))
    return result


def envelope(raw: bytes, to: Sequence[str]) -> tuple[bytes, list[str]]:
    """The message with CRLF line ends and without Bcc, and its recipients.

    Recipients are ``to`` when given, else the addresses of the To, Cc and Bcc fields
    (as ``sendmail -t`` does); the Bcc field is never sent.

    Raises:
        AddressError: a To, Cc or Bcc field holds something that is not an address.
    """
    raw = re.sub(rb"\r?\n", b"\r\n", raw)
    if to:
        head, sep, body = raw.partition(b"\r\n\r\n")
        return _BCC_RE.sub(b"", head + b"\r\n")[:-2] + sep + body, list(dict.fromkeys(to))
    recipients, message = recipients_from_headers(raw)
    return message, recipients


def _maildir_flags(name: str) -> str:
    return name.rpartition(MAILDIR_INFO)[2] if MAILDIR_INFO in name else ""


def _read_file(path: Path) -> bytes:
    """The bytes of a regular file, never through a symbolic link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise OSError(0, "not a regular file")
        return file.read()


def _maildir(root: Path) -> Iterator[Source | Rejected]:
    folders = []
    for sub in ("new", "cur"):
        folder = root / sub
        if folder.is_symlink():
            raise ConfigError(f"--maildir {root}: {sub}/ is a symbolic link (not followed)")
        if folder.is_dir():
            folders.append(folder)
    if not folders:
        raise ConfigError(f"--maildir {root}: no new/ or cur/ directory")
    for folder in folders:
        try:
            names = sorted(entry.name for entry in os.scandir(folder))
        except OSError as exc:
            raise ConfigError(f"--maildir {folder}: cannot list ({exc.strerror})") from None
        for name in names:
            path = folder / name
            if name.startswith(".") or (folder.name == "cur" and "S" in _maildir_flags(name)):
                continue  # hidden, or queued by an earlier run
            if path.is_symlink():
                yield Rejected(str(path), "a symbolic link (not followed)")
                continue
            try:
                yield Source(str(path), _read_file(path), maildir_file=path)
            except OSError as exc:
                yield Rejected(str(path), f"cannot read ({exc.strerror or exc})")


def read_sources(messages: Sequence[str], maildir: str | None) -> Iterator[Source | Rejected]:
    """Each message of the files (``-`` = stdin), then of the Maildir, as it is read."""
    for name in messages:
        try:
            raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            yield Rejected(name, f"cannot read ({exc.strerror or exc})")
            continue
        yield Source(name, raw)
    if maildir:
        yield from _maildir(Path(maildir))


def mark_queued(path: Path) -> Path:
    """Move a queued Maildir message to ``cur/`` with the ``S`` flag; returns its new path."""
    name = path.name
    unique = name.rpartition(MAILDIR_INFO)[0] if MAILDIR_INFO in name else name
    flags = "".join(sorted(set(_maildir_flags(name)) | {"S"}))
    cur = path.parent.parent / "cur"
    cur.mkdir(mode=0o700, exist_ok=True)
    target = cur / f"{unique}{MAILDIR_INFO}{flags}"
    os.rename(path, target)
    return target
