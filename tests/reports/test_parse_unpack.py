"""Bounded decompression: formats told by their bytes, bombs refused without expanding them."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from mailcheck.reports import ReportError, ingest_report
from mailcheck.reports.unpack import (
    MAX_COMPRESSED_BYTES,
    MAX_UNCOMPRESSED_BYTES,
    MAX_ZIP_MEMBERS,
    open_report,
    unpack,
)
from tests.reports.bombs import MIB, gzip_bomb, zip_bomb

DATA = Path(__file__).parent / "data"
XML = (DATA / "google.xml").read_bytes()


def zipped(*members: tuple[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def reason(call: Callable[[], object]) -> str:
    with pytest.raises(ReportError) as caught:
        call()
    return caught.value.reason


def test_plain_gzip_and_zip_give_the_same_bytes() -> None:
    assert unpack(XML) == XML
    assert unpack(gzip.compress(XML)) == XML
    assert unpack(zipped(("report.xml", XML))) == XML
    assert unpack(zipped(("report.xml", XML), method=zipfile.ZIP_STORED)) == XML


def test_the_corpus_archives_hold_the_corpus_text() -> None:
    assert unpack((DATA / "google.zip").read_bytes()) == XML
    for name in ("microsoft.xml", "yahoo.xml", "tlsrpt-google.json"):
        assert unpack((DATA / f"{name}.gz").read_bytes()) == (DATA / name).read_bytes()


def test_format_is_told_by_content_not_name(tmp_path: Path) -> None:
    # A gzip named .zip, a zip named .xml: the bytes decide.
    misnamed = tmp_path / "report.zip"
    misnamed.write_bytes(gzip.compress(XML))
    assert ingest_report(misnamed.read_bytes()).kind == "aggregate"
    assert ingest_report(zipped(("report.json", XML))).kind == "aggregate"


def test_gzip_members_concatenated_and_zero_padding() -> None:
    half = len(XML) // 2
    assert unpack(gzip.compress(XML[:half]) + gzip.compress(XML[half:])) == XML
    assert unpack(gzip.compress(XML) + bytes(512)) == XML
    # Mimecast's archives end with a CRLF after the gzip trailer (gzip(1) warns and reads on).
    assert unpack(gzip.compress(XML) + b"\r\n") == XML


def test_zip_folder_and_macos_metadata_are_ignored() -> None:
    blob = zipped(("reports/", b""), ("__MACOSX/._report.xml", b"junk"), ("report.xml", XML))
    assert unpack(blob) == XML


@pytest.mark.parametrize(
    "blob",
    [
        gzip.compress(XML)[:-20],  # truncated
        gzip.compress(XML)[:12] + b"\x00" * 40,  # corrupt deflate data
        b"\x1f\x8b",  # a magic number and nothing else
        b"PK\x03\x04" + b"\x00" * 40,  # no central directory
        zipped(("a.xml", XML), ("b.xml", XML)),  # two reports
        zipped(),  # empty archive
        zipped(("report.xml", XML), method=zipfile.ZIP_BZIP2),  # unusual method
        zipped(*((f"{n}.txt", b"") for n in range(MAX_ZIP_MEMBERS + 1))),
    ],
    ids=["truncated", "corrupt", "magic-only", "no-directory", "two", "empty", "bzip2", "many"],
)
def test_bad_archives(blob: bytes) -> None:
    assert reason(lambda: unpack(blob)) == "archive"


def test_zip_corrupt_crc() -> None:
    blob = bytearray(zipped(("report.xml", XML), method=zipfile.ZIP_STORED))
    at = blob.index(b"<feedback>")
    blob[at + 1] ^= 0xFF  # stored data changed: the CRC-32 no longer matches
    assert reason(lambda: unpack(bytes(blob))) == "archive"


def test_encrypted_zip_member_is_refused() -> None:
    blob = bytearray(zipped(("report.xml", XML), method=zipfile.ZIP_STORED))
    # APPNOTE 4.4.4: bit 0 of the general purpose flags, in the local and central headers.
    blob[6] |= 1
    central = blob.index(b"PK\x01\x02")
    blob[central + 8] |= 1
    assert reason(lambda: unpack(bytes(blob))) == "archive"


def test_size_limits() -> None:
    big = b"\x1f\x8b" + bytes(MAX_COMPRESSED_BYTES)
    assert reason(lambda: open_report(big)) == "too-large"
    plain = b"<" + bytes(MAX_UNCOMPRESSED_BYTES)
    assert reason(lambda: open_report(plain)) == "too-large"
    assert reason(lambda: unpack(XML, limit=100)) == "too-large"


def test_a_lower_limit_is_a_bomb_for_gzip_and_zip() -> None:
    assert reason(lambda: unpack(gzip_bomb(2), limit=MIB)) == "bomb"
    assert reason(lambda: unpack(zip_bomb(2), limit=MIB)) == "bomb"


def _refused_with_little_memory(blob: bytes) -> str:
    tracemalloc.start()
    try:
        got = reason(lambda: ingest_report(blob))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB, peak  # a chunk at a time, never the 100 MiB bound, never 1 GiB
    return got


# What a parser reads on, under each of its bounds but the size: blocks of 2 MB (33
# elements of 60 KB of text), 512 of them: 1 GiB.
EXTENSION = b"<extension>" + (b"<a>" + b" " * 60_000 + b"</a>") * 33 + b"</extension>"
XML_BOMB = {"mebibytes": 512, "prefix": b"<feedback>", "filler": EXTENSION}


def test_gigabyte_gzip_bomb() -> None:
    bomb = gzip_bomb(**XML_BOMB)
    assert len(bomb) < 2 * MIB
    assert _refused_with_little_memory(bomb) == "bomb"


def test_gigabyte_gzip_bomb_of_zeros_is_not_a_report() -> None:
    # Refused after the first chunk: zeros are neither XML nor JSON.
    assert _refused_with_little_memory(gzip_bomb()) == "not-a-report"


def test_gigabyte_zip_bomb() -> None:
    # The truthful header is refused before a byte is inflated.
    assert _refused_with_little_memory(zip_bomb(**XML_BOMB)) == "bomb"


def test_gigabyte_zip_bomb_that_lies_about_its_size() -> None:
    # Declares 1 KiB, holds 1 GiB: zipfile stops at the declared size, the CRC fails.
    lying = zip_bomb(declared=1024, **XML_BOMB)
    assert _refused_with_little_memory(lying) in {"archive", "xml"}
    assert reason(lambda: unpack(lying)) == "archive"


def test_gigabyte_of_whitespace_inside_an_element() -> None:
    # Text the parser buffers until the next tag: refused at MAX_GAP_BYTES, not at 100 MiB.
    blank = gzip_bomb(prefix=b"<feedback>", filler=b" ")
    assert _refused_with_little_memory(blank) == "xml"


def test_gzip_bomb_inside_a_zip_is_not_opened_twice() -> None:
    nested = zipped(("report.xml.gz", gzip_bomb(16)), method=zipfile.ZIP_STORED)
    assert reason(lambda: ingest_report(nested)) == "archive"


def test_zip_directory_that_lies_about_its_count() -> None:
    # 5,000 entries, the end record claiming one: zipfile would read all 5,000 by size.
    blob = bytearray(zipped(*((f"{n}.txt", b"") for n in range(5_000))))
    end = blob.rindex(b"PK\x05\x06")
    blob[end + 8 : end + 12] = (1).to_bytes(2, "little") * 2
    assert reason(lambda: unpack(bytes(blob))) == "archive"


def test_zip64_end_records_are_refused() -> None:
    # APPNOTE 4.3.15: a zip64 locator just before the end record; a report never needs one.
    blob = zipped(("report.xml", XML))
    end = blob.rindex(b"PK\x05\x06")
    zip64 = blob[:end] + b"PK\x06\x07" + bytes(16) + blob[end:]
    assert reason(lambda: unpack(zip64)) == "archive"
