"""read_paths and ingest_mailbox: one file or message at a time, never losing the rest."""

from __future__ import annotations

from pathlib import Path

from mailcheck.mailbox import MaildirSource
from mailcheck.reports import ReportStore, ingest_mailbox, read_paths
from mailcheck.reports.store_rows import Rejected
from tests.reports.reportkit import DAY, record, report, to_gzip, to_message, to_xml

NOW = 1_800_000_000


def test_read_paths_walks_directories_and_rejects_large_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    small = report("a", [record("198.18.7.1", 1)], begin=NOW - DAY)
    (tmp_path / "sub" / "a.xml.gz").write_bytes(to_gzip(small))
    (tmp_path / "b.xml").write_bytes(to_xml(report("b", [record("198.18.7.1", 1)] * 50, begin=NOW)))
    (tmp_path / ".hidden.xml").write_bytes(b"<x/>")
    (tmp_path / "readme.txt").write_bytes(b"not walked")
    errors: list[tuple[str, str]] = []
    items = list(
        read_paths(
            [tmp_path, tmp_path / "missing.zip"],
            on_error=lambda p, r: errors.append((p, r)),
            max_bytes=2000,
        )
    )
    names = {Path(name).name: item for name, item in items}
    assert set(names) == {"a.xml.gz", "b.xml"}
    assert names["a.xml.gz"] == small
    too_large = names["b.xml"]
    assert isinstance(too_large, Rejected)
    assert too_large.error.reason == "too-large"
    assert len(too_large.blob) == 2000
    assert errors == [(str(tmp_path / "missing.zip"), "no such file or directory")]


async def test_a_message_too_large_to_read_stays_in_the_maildir(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.host").write_bytes(
        to_message(report("m1", [record("198.18.7.1", 2)], begin=NOW - DAY))
    )
    (maildir / "new" / "2.host").write_bytes(b"Subject: big\r\n\r\n" + b"x" * 50_000)
    skipped: list[tuple[str, str]] = []
    async with ReportStore(str(tmp_path / "r.db")) as store:
        summary = await ingest_mailbox(
            store,
            MaildirSource(maildir, max_bytes=20_000),
            on_skip=lambda key, why: skipped.append((key, why)),
        )
    assert (summary.stored, summary.quarantined) == (1, 0)
    assert [key for key, _ in skipped] == ["2.host"]
    assert [p.name for p in (maildir / "new").iterdir()] == ["2.host"]
    assert [p.name for p in (maildir / "cur").iterdir()] == ["1.host:2,S"]
