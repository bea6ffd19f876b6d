"""Reading a Maildir the way a mail reader does: new messages, then moved to ``cur/``.

Only ``new/`` is read: a message the caller has handled is renamed into ``cur/`` with the
``S`` (seen) flag, so the next run does not see it again, and a message the caller did not
mark done (the caller crashed, its store failed) stays in ``new/`` for the next run.
Renames stay inside one directory tree, so they are atomic.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

from mailcheck.mailbox.types import DEFAULT_MAX_BYTES, MailboxError, MailItem

__all__ = ["MaildirSource"]


class MaildirSource:
    """The new messages of a Maildir, oldest first.

    Args:
        path: the Maildir (the directory holding ``new/``, ``cur/`` and ``tmp/``).
        max_bytes: larger messages are yielded unread (``raw=None``, ``problem`` set).

    Raises:
        MailboxError: ``path`` is not a Maildir.
    """

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES):
        self.path = Path(path)
        self.max_bytes = max_bytes
        for sub in ("new", "cur"):
            if not (self.path / sub).is_dir():
                raise MailboxError(f"{self.path} is not a Maildir (no {sub}/ directory)")

    def __repr__(self) -> str:
        return f"MaildirSource({str(self.path)!r})"

    def _names(self) -> list[str]:
        entries = []
        with os.scandir(self.path / "new") as scan:
            for entry in scan:
                if not entry.name.startswith(".") and entry.is_file(follow_symlinks=False):
                    entries.append((entry.stat().st_mtime, entry.name))
        return [name for _, name in sorted(entries)]

    def _read(self, name: str) -> MailItem:
        path = self.path / "new" / name
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                return MailItem(name, None, size, f"larger than {self.max_bytes} bytes")
            return MailItem(name, path.read_bytes(), size)
        except FileNotFoundError:
            # Another reader took it between the listing and the read: not ours any more.
            return MailItem(name, None, 0, "gone (taken by another reader)")
        except OSError as exc:
            return MailItem(name, None, 0, f"unreadable: {exc.strerror or exc}")

    async def messages(self) -> AsyncIterator[MailItem]:
        """Each message of ``new/`` as it is at the start of the call."""
        try:
            names = await asyncio.to_thread(self._names)
        except OSError as exc:
            raise MailboxError(f"cannot list {self.path}/new: {exc.strerror or exc}") from None
        for name in names:
            yield await asyncio.to_thread(self._read, name)

    async def done(self, item: MailItem) -> None:
        """Move a handled message to ``cur/``, flagged seen (``:2,S``)."""
        await asyncio.to_thread(self._done, item.key)

    def _done(self, name: str) -> None:
        base, sep, flags = name.partition(":2,")
        flags = "".join(sorted(set(flags) | {"S"})) if sep else "S"
        try:
            os.rename(self.path / "new" / name, self.path / "cur" / f"{base}:2,{flags}")
        except FileNotFoundError:
            return  # already moved (by another reader, or an earlier call)
        except OSError as exc:
            raise MailboxError(f"cannot move {name} to cur/: {exc.strerror or exc}") from None

    async def close(self) -> None:
        """Nothing to release (for symmetry with :class:`~mailcheck.mailbox.ImapSource`)."""
