"""Bounded decompression of report blobs: gzip, zip or plain, told apart by their bytes.

Anyone who can mail a ``rua`` address can send a blob, so nothing here trusts a header, a
file name or a declared size. The decompressed text is produced in chunks and counted as it
comes; past :data:`MAX_UNCOMPRESSED_BYTES` the reader stops with ``ReportError("bomb")``, so a
bomb costs one chunk of memory, never its expanded size.

Limits, and why:

- :data:`MAX_COMPRESSED_BYTES` (20 MiB): the largest aggregate reports the big receivers
  send a busy domain are a few MiB zipped; 20 MiB leaves a wide margin and still fits the
  attachment limits of common mail servers (Postfix's default message_size_limit is 10 MB,
  most hosters raise it to 25-50 MB).
- :data:`MAX_UNCOMPRESSED_BYTES` (100 MiB): a record with one DKIM and one SPF result is
  about 500 bytes of XML, so 100 MiB holds the :data:`~mailcheck.reports.aggregate.MAX_RECORDS`
  rows with room for indentation; DMARC XML compresses 20-50 times, so a genuine 20 MiB
  archive stays under it. Anything bigger is a bomb or not a report.
- :data:`MAX_ZIP_MEMBERS` (16): a report archive holds one file (a few reporters add a
  folder entry or macOS ``__MACOSX`` metadata); thousands of entries are an attack on the
  central directory, refused before any member is opened.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator

from mailcheck.reports.types import ReportError

__all__ = [
    "CHUNK_BYTES",
    "MAX_COMPRESSED_BYTES",
    "MAX_UNCOMPRESSED_BYTES",
    "MAX_ZIP_MEMBERS",
    "ReportStream",
    "open_report",
    "unpack",
]

MAX_COMPRESSED_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_ZIP_MEMBERS = 16
CHUNK_BYTES = 64 * 1024  # input fed and output produced per step: the memory a bomb costs

_GZIP_MAGIC = b"\x1f\x8b"  # RFC 1952 §2.3.1: ID1 = 31, ID2 = 139
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or an empty archive
_MAX_GZIP_MEMBERS = 16  # gzip writers emit one member; concatenated files have a few
_MAX_ZIP_DIRECTORY = MAX_ZIP_MEMBERS * 4096  # bytes: 46 per entry, plus name, extra, comment
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what reporters use
_ZIP_ENCRYPTED = 0x1  # APPNOTE 4.4.4: general purpose bit 0, "the file is encrypted"


class ReportStream(io.RawIOBase):
    """The decompressed bytes of one blob, read chunk by chunk and counted.

    A file-like object (``read``, ``readinto``): the XML parser reads it directly, so a
    report is never held twice in memory. Reading past :data:`MAX_UNCOMPRESSED_BYTES`
    raises ``ReportError("bomb")``; a corrupt archive raises ``ReportError("archive")``.
    """

    def __init__(
        self, chunks: Iterator[bytes | memoryview], *, limit: int = MAX_UNCOMPRESSED_BYTES
    ) -> None:
        super().__init__()
        self._chunks = chunks
        # A view: consuming its front is free, where slicing bytes would copy the rest.
        self._pending = memoryview(b"")
        self._produced = 0
        self._limit = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if not self._fill():
            return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def peek(self, size: int = 1) -> bytes:
        """The next bytes the stream will return, at least ``size`` unless it ends first."""
        self._fill()
        while len(self._pending) < size:
            chunk = self._next_chunk()
            if chunk is None:
                break
            self._pending = memoryview(bytes(self._pending) + chunk)
        return bytes(self._pending)

    def discard(self, size: int) -> None:
        """Drop ``size`` bytes already seen with :meth:`peek`."""
        self._pending = self._pending[min(size, len(self._pending)) :]

    def _fill(self) -> bool:
        """Make the next chunk pending; false at the end of the stream."""
        while not self._pending:
            chunk = self._next_chunk()
            if chunk is None:
                return False
            self._pending = memoryview(chunk)
        return True

    def _next_chunk(self) -> bytes | memoryview | None:
        """The next chunk, counted against the bound; ``None`` at the end."""
        chunk = next(self._chunks, None)
        if chunk is not None:
            self._produced += len(chunk)
            if self._produced > self._limit:
                raise ReportError(
                    "bomb", f"the report expands past {self._limit} bytes: refused unread"
                )
        return chunk


def open_report(blob: bytes, /, *, limit: int = MAX_UNCOMPRESSED_BYTES) -> ReportStream:
    """A stream of the report inside ``blob``: gunzipped, unzipped, or ``blob`` itself.

    The format is told by the first bytes (gzip and zip magic numbers), never by a name.
    ``limit`` lowers the bound on the decompressed size (never above the module's).

    Raises:
        ReportError: ``too-large`` (blob over :data:`MAX_COMPRESSED_BYTES`, or a plain blob
            over :data:`MAX_UNCOMPRESSED_BYTES`), ``archive`` (a zip with no or several
            files, encrypted or oddly compressed members, too many entries). ``bomb`` and
            corrupt-data errors come while reading the stream.
    """
    limit = min(limit, MAX_UNCOMPRESSED_BYTES)
    if blob.startswith(_GZIP_MAGIC):
        _check_compressed_size(blob)
        return ReportStream(_gunzip(blob), limit=limit)
    if blob.startswith(_ZIP_MAGIC):
        _check_compressed_size(blob)
        _check_zip_directory(blob)
        return ReportStream(_unzip(blob), limit=limit)
    if len(blob) > limit:
        raise ReportError("too-large", f"a {len(blob)}-byte report is over {limit} bytes")
    view = memoryview(blob)
    return ReportStream(
        (view[at : at + CHUNK_BYTES] for at in range(0, len(blob), CHUNK_BYTES)), limit=limit
    )


def unpack(blob: bytes, /, *, limit: int = MAX_UNCOMPRESSED_BYTES) -> bytes:
    """The whole decompressed report in ``blob``, at most ``limit`` bytes.

    For the JSON of TLS reports and for callers that want bytes; the XML parser reads
    :func:`open_report`'s stream instead.

    Raises:
        ReportError: as :func:`open_report`, and ``bomb`` past ``limit``.
    """
    stream = open_report(blob, limit=limit)
    out = bytearray()
    while chunk := stream.read(CHUNK_BYTES):
        out += chunk
    return bytes(out)


def _check_compressed_size(blob: bytes) -> None:
    if len(blob) > MAX_COMPRESSED_BYTES:
        raise ReportError(
            "too-large", f"a {len(blob)}-byte archive is over {MAX_COMPRESSED_BYTES} bytes"
        )


def _check_zip_directory(blob: bytes) -> None:
    """Refuse a zip whose central directory is too big before zipfile reads it.

    zipfile builds one object per central directory entry, reading as many as the
    directory's *size* holds whatever its count says; both are checked here.
    """
    # APPNOTE 4.3.16: the end of central directory record (22 bytes + a comment of at most
    # 65,535) ends the file; its total entry count is at offset 10, the directory's size at
    # offset 12. zipfile finds the record the same way (the last signature in that window).
    end = blob.rfind(_ZIP_MAGIC[1], max(0, len(blob) - 22 - 0xFFFF))
    if end < 0 or len(blob) < end + 22:
        raise ReportError("archive", "no zip central directory")
    entries = int.from_bytes(blob[end + 10 : end + 12], "little")
    size = int.from_bytes(blob[end + 12 : end + 16], "little")
    # 0xFFFF means "see the zip64 record": a report never needs zip64, so it is refused too.
    if entries > MAX_ZIP_MEMBERS or size > _MAX_ZIP_DIRECTORY:
        raise ReportError("archive", f"a zip of {entries} entries ({size} bytes) is no report")
    if blob[max(0, end - 20) : end].startswith(b"PK\x06\x07"):  # APPNOTE 4.3.15
        raise ReportError("archive", "a zip64 archive is no report")


def _gunzip(blob: bytes) -> Iterator[bytes]:
    """Every gzip member of ``blob`` (RFC 1952 §2.2: a file is a series of members)."""
    view = memoryview(blob)
    position = 0
    for _ in range(_MAX_GZIP_MEMBERS):
        # wbits 16 + MAX_WBITS: a gzip header and trailer (CRC-32, size) around deflate data.
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            while not inflater.eof:
                feed: bytes | memoryview = inflater.unconsumed_tail
                if not feed:
                    feed = view[position : position + CHUNK_BYTES]
                    position += len(feed)
                    if not feed:
                        raise ReportError("archive", "the gzip data is truncated")
                # max_length bounds each output chunk: a bomb is met one chunk at a time.
                if out := inflater.decompress(feed, CHUNK_BYTES):
                    yield out
        except zlib.error as exc:
            raise ReportError("archive", f"corrupt gzip data: {exc}") from exc
        position -= len(inflater.unused_data)
        # Like gzip(1), bytes after the last member that do not start another are ignored
        # (some writers pad the file with zeros).
        if bytes(view[position : position + 2]) != _GZIP_MAGIC:
            return
    raise ReportError("archive", f"over {_MAX_GZIP_MEMBERS} gzip members")


def _report_member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ReportError("archive", f"a zip of {len(infos)} entries is not a report")
    files = [
        info for info in infos if not info.is_dir() and not info.filename.startswith("__MACOSX/")
    ]
    if len(files) != 1:
        raise ReportError("archive", f"a report zip holds one file, this one {len(files)}")
    member = files[0]
    if member.flag_bits & _ZIP_ENCRYPTED:
        raise ReportError("archive", "the zip member is encrypted")
    if member.compress_type not in _ZIP_METHODS:
        raise ReportError("archive", f"zip compression method {member.compress_type}")
    if member.file_size > MAX_UNCOMPRESSED_BYTES:
        # The declared size may lie either way; a truthful large one is refused at once.
        raise ReportError("bomb", f"the zip member declares {member.file_size} bytes")
    return member


def _unzip(blob: bytes) -> Iterator[bytes]:
    """The one report file of a zip archive, in chunks."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            member = _report_member(archive)
            with archive.open(member) as stream:
                # ZipExtFile.read(n) inflates with a bounded output length.
                while chunk := stream.read(CHUNK_BYTES):
                    yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        if isinstance(exc, ReportError):
            raise
        raise ReportError("archive", f"corrupt zip archive: {exc}") from exc
