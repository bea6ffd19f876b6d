"""``mailcheck bounces ingest``: read bounces, complaints and mailto unsubscribes that came
back, and suppress what they prove.

Examples::

    mailcheck bounces ingest --maildir /var/mail/bounces --secret-file /etc/mailcheck/secret \\
        --spool /var/spool/mailcheck
    mailcheck bounces ingest --imap imaps://bounces@mail.asso.example/INBOX \\
        --imap-credentials ~/.config/mailcheck/imap-password --secret-file secret --spool q.db
    mailcheck bounces ingest saved/*.eml --secret-file secret --dry-run --format json

Only reports whose signed VERP or tracking token verifies (``--secret-file``: the
Sender's secret) act; a forged bounce suppresses nothing. A message that cannot be read
never stops the batch: it is listed with its reason, left in the mailbox (or, with
``--aside DIR``, copied there with a ``.reason`` file and marked handled).

Exit codes: 0 every message was read; 1 some could not be read (listed); 2 a usage or
operational error (bad secret file, no spool, the spool's database failed); 3 the IMAP
mailbox could not be reached or was lost midway (what was read is still reported).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mailcheck.cli.bounces_text import one_line, render
from mailcheck.cli.common import EXIT_FINDINGS, EXIT_OK, EXIT_UNKNOWN
from mailcheck.cli.mailbox_opts import add_mailbox_options, check_mailbox_options, open_imap
from mailcheck.cli.spool import spool_file
from mailcheck.errors import ConfigError, MailcheckError

if TYPE_CHECKING:
    from mailcheck.hygiene.ingest import IngestResult
    from mailcheck.mailbox import MailItem

#: Files larger than this are not read (the mailbox sources have the same default).
MAX_FILE_BYTES = 25 * 1024 * 1024
#: Messages of files and Maildirs handled at once (the spool commits them in groups).
CONCURRENCY = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9._,:=+-]")
T = TypeVar("T")


def register(subparsers: Any) -> None:
    """Add ``mailcheck bounces ingest``."""
    parser = subparsers.add_parser(
        "bounces",
        help="ingest bounces, complaints (ARF) and mailto unsubscribes into the suppression list",
        description="Read the mail that comes back to the bounce address (DSNs, non-standard "
        "bounces, ARF feedback-loop reports, RFC 8058 mailto unsubscribes) and suppress what "
        "it proves. Only reports whose signed token verifies act.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    ingest = actions.add_parser(
        "ingest", help="read messages from files, directories, a Maildir or an IMAP folder"
    )
    ingest.add_argument(
        "paths", nargs="*", metavar="PATH", help="message files, or directories of them"
    )
    add_mailbox_options(ingest, done="handled")
    ingest.add_argument(
        "--secret-file", required=True, metavar="FILE",
        help="the secret (chmod 600) the Sender signs VERP, tracking and unsubscribe "
        "tokens with",
    )  # fmt: skip
    ingest.add_argument(
        "--spool", default="mailcheck-spool", metavar="DIR|FILE",
        help="the spool whose suppression list is updated (default: ./mailcheck-spool)",
    )  # fmt: skip
    ingest.add_argument(
        "--dry-run", action="store_true",
        help="read and report only: nothing suppressed, nothing marked handled",
    )  # fmt: skip
    ingest.add_argument(
        "--aside", metavar="DIR",
        help="copy mailbox messages that cannot be read here (with a .reason file) and mark "
        "them handled; without it they stay in the mailbox",
    )  # fmt: skip
    ingest.add_argument(
        "--format", choices=("text", "json"), default="text",
        help="text for people, json for programs",
    )  # fmt: skip
    ingest.set_defaults(run=run_ingest)


def run_ingest(args: argparse.Namespace) -> int:
    """``mailcheck bounces ingest``."""
    from mailcheck.hygiene.secret import read_secret

    check_mailbox_options(args)
    for path in args.paths:
        if not _probe(path, path, Path.exists):
            raise ConfigError(f"{path}: no such file or directory")
    if args.aside and not args.dry_run:
        _probe("--aside", args.aside, lambda p: p.mkdir(parents=True, exist_ok=True))
    secret = read_secret(args.secret_file)
    results: list[IngestResult] = []
    stopped = asyncio.run(_ingest(args, secret, results))
    render(args.format, results, stopped)
    if stopped:
        sys.stderr.write(f"mailcheck: error: {one_line(stopped)}\n")
        return EXIT_UNKNOWN
    return EXIT_FINDINGS if any(r.error for r in results) else EXIT_OK


def _probe(option: str, value: str, check: Callable[[Path], T]) -> T:
    """``check(Path(value))``, a path that the OS refuses (a NUL byte, a name too long,
    no permission) becoming one line about ``option`` instead of a traceback."""
    try:
        return check(Path(value))
    except MailcheckError:  # already one line about the value (ConfigError is a ValueError)
        raise
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{option} {one_line(repr(value)[:80])}: {reason}") from None


class _Files:
    """PATH arguments as a source of :class:`MailItem` (nothing to mark handled)."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths

    def _files(self) -> list[Path]:
        files: list[Path] = []
        for name in self.paths:
            path = Path(name)
            if _probe(name, name, Path.is_dir):
                found = _probe(name, name, lambda p: sorted(c for c in p.iterdir() if c.is_file()))
                files.extend(found)
            else:
                files.append(path)
        return files

    def _read(self, path: Path) -> MailItem:
        from mailcheck.mailbox import MailItem

        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                return MailItem(str(path), None, size, f"larger than {MAX_FILE_BYTES} bytes")
            return MailItem(str(path), path.read_bytes(), size)
        except OSError as exc:
            return MailItem(str(path), None, 0, f"unreadable: {exc.strerror or exc}")

    async def messages(self) -> AsyncIterator[MailItem]:
        for path in await asyncio.to_thread(self._files):
            yield await asyncio.to_thread(self._read, path)

    async def done(self, item: MailItem) -> None:
        """Files stay where they are."""


def _put_aside(folder: str, item: MailItem, reason: str) -> None:
    """Copy an unreadable message to ``folder`` with a ``.reason`` file beside it."""
    target = Path(folder)
    base = _UNSAFE.sub("_", item.key)[-120:] or "message"
    name, n = base, 1
    try:
        target.mkdir(parents=True, exist_ok=True)
        while (target / name).exists():
            n += 1
            name = f"{base}.{n}"
        (target / name).write_bytes(item.raw or b"")
        (target / f"{name}.reason").write_text(reason + "\n", encoding="utf-8")
    except OSError as exc:  # a full disk, a permission: the batch stops, in one line
        raise ConfigError(f"--aside {folder}: {exc.strerror or exc}") from None


async def _ingest(args: argparse.Namespace, secret: bytes, results: list[IngestResult]) -> str:
    """Run every source; append to ``results``; the reason the IMAP mailbox stopped, or
    ``""``. A spool error propagates (exit 2) once what was done is in ``results``."""
    from mailcheck.hygiene.ingest import BounceIngest
    from mailcheck.hygiene.suppression import SuppressionList
    from mailcheck.mailbox import MailboxError, MaildirSource
    from mailcheck.sending.spool import SqliteSpool

    sources: list[Any] = [_Files(args.paths)] if args.paths else []
    for folder in args.maildir:
        try:
            sources.append(_probe("--maildir", folder, MaildirSource))
        except MailboxError as exc:
            raise ConfigError(f"--maildir {one_line(folder)}: {exc}") from None
    path = None if args.dry_run else _probe("--spool", args.spool, lambda p: spool_file(str(p)))
    spool = None if path is None else SqliteSpool(path, recover=False)
    try:
        ingest = None if spool is None else BounceIngest(SuppressionList(spool), secret=secret)
        for source in sources:
            await _drain(source, ingest, secret, args, results)
        if args.imap:
            try:
                await _drain_imap(ingest, secret, args, results)
            except MailboxError as exc:
                return f"--imap: {exc}"
    finally:
        if spool is not None:
            spool.close()
    return ""


async def _drain_imap(
    ingest: Any, secret: bytes, args: argparse.Namespace, results: list[IngestResult]
) -> None:
    async with open_imap(args) as source:
        await _drain(source, ingest, secret, args, results, concurrency=1)


async def _drain(
    source: Any, ingest: Any, secret: bytes, args: argparse.Namespace, results: list[Any],
    *, concurrency: int = CONCURRENCY,
) -> None:  # fmt: skip
    """Handle every message of ``source``; results in the order read.

    Files and Maildirs are handled :data:`CONCURRENCY` at a time, so the spool's group
    commit writes many suppressions per transaction; an IMAP connection is one command
    at a time (imaplib is not thread-safe), so its messages are handled one by one.
    """
    slots = asyncio.Semaphore(concurrency)
    tasks: list[asyncio.Task[IngestResult]] = []

    async def handle(item: MailItem) -> IngestResult:
        try:
            return await _handle(source, item, ingest, secret, args)
        finally:
            slots.release()

    async with asyncio.TaskGroup() as group:
        async for item in source.messages():
            await slots.acquire()
            tasks.append(group.create_task(handle(item)))
    results.extend(task.result() for task in tasks)


async def _handle(
    source: Any, item: MailItem, ingest: Any, secret: bytes, args: argparse.Namespace
) -> IngestResult:
    from mailcheck.hygiene.inbound import read_inbound
    from mailcheck.hygiene.inbound_types import InboundError
    from mailcheck.hygiene.ingest import IngestResult

    if item.raw is None:
        result = IngestResult(source=item.key, error=f"unread: {item.problem}")
    elif ingest is not None:
        result = await ingest.ingest(item.raw, source=item.key)
    else:  # --dry-run: read only
        try:
            result = IngestResult(source=item.key, inbound=read_inbound(item.raw, secret=secret))
        except InboundError as exc:
            result = IngestResult(source=item.key, error=str(exc))
    if args.dry_run:
        return result
    if result.error is None:
        await source.done(item)
    elif args.aside and not isinstance(source, _Files):
        await asyncio.to_thread(_put_aside, args.aside, item, result.error)
        await source.done(item)
    return result
