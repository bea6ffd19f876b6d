"""Where reports come from: files and directories, a Maildir or an IMAP folder.

:func:`read_paths` walks files and directories one file at a time (memory holds one blob,
never the list of reports) and yields what each gives: reports, or the rejected blob with
its reason. :func:`ingest_mailbox` feeds a mailbox (anything with ``messages()`` and
``done(item)``, such as :class:`~mailcheck.mailbox.MaildirSource` or
:class:`~mailcheck.mailbox.ImapSource`) into a store and marks each message done only once
what it carried is committed: a crash reads it again, and deduplication makes that safe.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from mailcheck.mailbox.types import MailItem
from mailcheck.reports.ingest import ingest_report, looks_like_message, reports_in_message
from mailcheck.reports.store import Incoming, IngestSummary, IngestTally, ReportStore
from mailcheck.reports.store_rows import Rejected
from mailcheck.reports.types import ReportError
from mailcheck.reports.unpack import MAX_COMPRESSED_BYTES

__all__ = [
    "MAX_FILE_BYTES",
    "REPORT_SUFFIXES",
    "Mailbox",
    "ingest_mailbox",
    "parse_blob",
    "read_paths",
]

#: Files read from a directory walk: reports as reporters name them, and saved messages.
REPORT_SUFFIXES = (".xml", ".gz", ".zip", ".json", ".eml")
#: A file larger than this is not read whole: the largest report archive accepted, or a
#: message carrying it in base64.
MAX_FILE_BYTES = MAX_COMPRESSED_BYTES * 2


def parse_blob(name: str, blob: bytes, /) -> list[Incoming]:
    """What one file or message gives: its reports, or ``Rejected`` entries with reasons.

    A message (``.eml``, or content with header lines) may carry several reports; each
    refused attachment is one entry quarantining the whole message.
    """
    if looks_like_message(blob, name):
        found: list[Incoming] = []
        for entry in reports_in_message(blob):
            if isinstance(entry, ReportError):
                found.append((name, Rejected(error=entry, blob=blob)))
            else:
                found.append((name, entry))
        return found
    try:
        return [(name, ingest_report(blob))]
    except ReportError as exc:
        return [(name, Rejected(error=exc, blob=blob))]


def _walk(path: Path) -> Iterator[Path]:
    if not path.is_dir():
        yield path
        return
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(REPORT_SUFFIXES) and not name.startswith("."):
                yield Path(root) / name


def read_paths(
    paths: Iterable[str | os.PathLike[str]],
    /,
    *,
    on_error: Callable[[str, str], None] | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> Iterator[Incoming]:
    """Reports from files and directories (recursively, files with :data:`REPORT_SUFFIXES`).

    A file named on its own is read whatever its name. A file that cannot be read is passed
    to ``on_error(path, reason)`` and skipped; one larger than ``max_bytes`` is rejected
    (``too-large``) with its first bytes.
    """
    for given in paths:
        top = Path(given)
        if not top.exists():
            if on_error is not None:
                on_error(str(top), "no such file or directory")
            continue
        for path in _walk(top):
            name = str(path)
            try:
                with path.open("rb") as handle:
                    blob = handle.read(max_bytes + 1)
            except OSError as exc:
                if on_error is not None:
                    on_error(name, exc.strerror or str(exc))
                continue
            if len(blob) > max_bytes:
                error = ReportError("too-large", f"the file is over {max_bytes} bytes")
                yield name, Rejected(error=error, blob=blob[:max_bytes])
                continue
            yield from parse_blob(name, blob)


class Mailbox(Protocol):
    """A mailbox to ingest from (see :mod:`mailcheck.mailbox`)."""

    def messages(self) -> AsyncIterator[MailItem]:
        """Each message not handled yet."""
        ...

    async def done(self, item: MailItem) -> None:
        """Mark a message handled."""
        ...


async def ingest_mailbox(
    store: ReportStore,
    mailbox: Mailbox,
    /,
    *,
    on_batch: Callable[[IngestSummary], None] | None = None,
    on_skip: Callable[[str, str], None] | None = None,
) -> IngestSummary:
    """Ingest every new message of ``mailbox``; mark each done once its reports are stored.

    A message that was not read (larger than the mailbox's bound) is left where it is and
    passed to ``on_skip(key, problem)``. A message with no readable report is quarantined,
    and marked done: the quarantine keeps it.
    """
    tally = IngestTally()
    batch: list[Incoming] = []
    pending: list[MailItem] = []

    async def flush() -> None:
        outcomes = await store.add_batch(batch)
        for (_, item), outcome in zip(batch, outcomes, strict=True):
            tally.add(item, outcome)
        for message in pending:
            await mailbox.done(message)
        batch.clear()
        pending.clear()
        if on_batch is not None:
            on_batch(tally.summary())

    async for message in mailbox.messages():
        if message.raw is None:
            if on_skip is not None:
                on_skip(message.key, message.problem or "not read")
            continue
        batch.extend(parse_blob(message.key, message.raw))
        pending.append(message)
        if len(batch) >= store.batch_size:
            await flush()
    if batch or pending:
        await flush()
    return tally.summary()
