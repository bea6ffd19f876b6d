"""Decompression bombs for the tests: small on disk, a gigabyte when expanded.

Built by streaming zeros through a deflate compressor once: a megabyte of zeros ends with a
full flush, which makes its compressed segment independent of what came before (RFC 1951
§3.2: with the history reset, each segment decodes alone), so repeating the segment 1,024
times is a valid deflate stream of 1 GiB. The gzip and zip wrappers are written by hand
with the true CRC-32 and sizes, so the files are genuine, only mean.
"""

from __future__ import annotations

import struct
import zlib

MIB = 1024 * 1024


def _segment(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


def _deflated(mebibytes: int, prefix: bytes, filler: bytes) -> tuple[bytes, int, int]:
    """Raw deflate of ``prefix`` then ``mebibytes`` MiB of ``filler``; its CRC-32 and size."""
    block = filler * max(1, MIB // len(filler))  # whole fillers: tags are never cut
    final = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()  # an empty last block
    crc = zlib.crc32(prefix)
    for _ in range(mebibytes):
        crc = zlib.crc32(block, crc)
    body = _segment(prefix) + _segment(block) * mebibytes + final
    return body, crc, len(prefix) + mebibytes * len(block)


def gzip_bomb(mebibytes: int = 1024, *, prefix: bytes = b"", filler: bytes = b"\0") -> bytes:
    """A gzip file (RFC 1952): ``prefix`` then about ``mebibytes`` MiB of ``filler``.

    Zeros compress to about 1 KiB per MiB; ``prefix=b"<feedback>"`` with ``filler=b" "``
    makes one an XML parser would read on.
    """
    body, crc, size = _deflated(mebibytes, prefix, filler)
    # ID1 ID2 CM=8 FLG=0 MTIME=0 XFL=2 OS=255, then the data, CRC32 and ISIZE (mod 2**32).
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return header + body + trailer


def zip_bomb(
    mebibytes: int = 1024,
    *,
    declared: int | None = None,
    prefix: bytes = b"",
    filler: bytes = b"\0",
) -> bytes:
    """A zip (APPNOTE 4.3) of one deflated member: ``prefix``, ``mebibytes`` MiB of ``filler``.

    ``declared`` is the uncompressed size written in the headers (the truth by default):
    a lying archive says less than it holds.
    """
    body, crc, size = _deflated(mebibytes, prefix, filler)
    size = size if declared is None else declared
    name = b"report.xml"
    # signature, version needed, flags, method (8 = deflate), time, date, crc, sizes, lengths
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x5770, crc, len(body), size, len(name), 0
    )
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        20,
        20,
        0,
        8,
        0,
        0x5770,
        crc,
        len(body),
        size,
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,  # offset of the local header
    )
    directory = central + name
    offset = len(local) + len(name) + len(body)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(directory), offset, 0)
    return local + name + body + directory + end
