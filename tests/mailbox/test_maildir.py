"""Reading a Maildir: new/ read oldest first, handled mail moved to cur/ flagged seen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailcheck.mailbox import MailboxError, MaildirSource


def _maildir(root: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def _put(box: Path, name: str, raw: bytes, mtime: float) -> None:
    path = box / "new" / name
    path.write_bytes(raw)
    os.utime(path, (mtime, mtime))


async def _read_all(source: MaildirSource, *, done: bool) -> list[tuple[str, bytes | None]]:
    seen = []
    async for item in source.messages():
        seen.append((item.key, item.raw))
        if done:
            await source.done(item)
    return seen


async def test_new_messages_oldest_first_then_moved_to_cur(tmp_path: Path) -> None:
    box = _maildir(tmp_path / "Maildir")
    _put(box, "2.b.host", b"Subject: second\r\n\r\n", 2000)
    _put(box, "1.a.host", b"Subject: first\r\n\r\n", 1000)
    source = MaildirSource(box)
    seen = await _read_all(source, done=True)
    assert seen == [
        ("1.a.host", b"Subject: first\r\n\r\n"),
        ("2.b.host", b"Subject: second\r\n\r\n"),
    ]
    assert sorted(os.listdir(box / "new")) == []
    assert sorted(os.listdir(box / "cur")) == ["1.a.host:2,S", "2.b.host:2,S"]
    assert await _read_all(source, done=True) == []


async def test_what_is_not_marked_done_is_read_again(tmp_path: Path) -> None:
    box = _maildir(tmp_path / "Maildir")
    _put(box, "1.a.host", b"x", 1000)
    _put(box, "2.b.host", b"y", 2000)
    source = MaildirSource(box)
    async for item in source.messages():
        if item.key == "1.a.host":
            await source.done(item)
    assert [key for key, _ in await _read_all(source, done=False)] == ["2.b.host"]


async def test_existing_flags_are_kept(tmp_path: Path) -> None:
    box = _maildir(tmp_path / "Maildir")
    _put(box, "1.a.host:2,F", b"x", 1000)
    source = MaildirSource(box)
    await _read_all(source, done=True)
    assert os.listdir(box / "cur") == ["1.a.host:2,FS"]


async def test_a_large_message_is_not_read(tmp_path: Path) -> None:
    box = _maildir(tmp_path / "Maildir")
    _put(box, "1.big", b"x" * 5000, 1000)
    _put(box, "2.small", b"ok", 2000)
    items = [item async for item in MaildirSource(box, max_bytes=100).messages()]
    assert [(i.key, i.raw, i.size) for i in items] == [("1.big", None, 5000), ("2.small", b"ok", 2)]
    assert items[0].problem == "larger than 100 bytes"


async def test_dot_files_and_directories_are_ignored(tmp_path: Path) -> None:
    box = _maildir(tmp_path / "Maildir")
    (box / "new" / ".hidden").write_bytes(b"x")
    (box / "new" / "subdir").mkdir()
    assert await _read_all(MaildirSource(box), done=False) == []


def test_not_a_maildir(tmp_path: Path) -> None:
    with pytest.raises(MailboxError, match="is not a Maildir"):
        MaildirSource(tmp_path)
