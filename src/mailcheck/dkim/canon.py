"""Fast equivalents of two dkimpy steps that dominate signing time (byte-identical output).

dkimpy's relaxed body canonicalisation replaces *every* run of white space,
single spaces included, with a new space: on a 4 KB text body that is hundreds
of regex replacements and ~160 us, five times the Ed25519 signature itself.
:func:`relaxed_body` and :func:`relaxed_headers` use ``bytes.replace`` instead.
:func:`select_headers` picks the header instances ``h=`` names with a per-name
index instead of dkimpy's rescan per name. Tests prove all three equal to
dkimpy's on arbitrary input.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dkim.canonicalization import correct_empty_body, strip_trailing_lines

# RFC 6376 §3.4.4 (relaxed body): "Ignore all whitespace at the end of lines" ...
_TRAILING_WSP = re.compile(rb"[\t ]+\r\n")


def _compress(data: bytes) -> bytes:
    # RFC 6376 §3.4.4: "Reduce all sequences of WSP within a line to a single SP character."
    # Tabs become spaces, then each pass halves the runs of spaces: C-speed bytes.replace
    # instead of a regex that stops at every single space.
    if b"\t" in data:
        data = data.replace(b"\t", b" ")
    while b"  " in data:
        data = data.replace(b"  ", b" ")
    return data


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 §3.4.4 relaxed body canonicalisation, as dkimpy's ``Relaxed`` computes it."""
    # (A tab is rare: test for it with a one-byte search before the three-byte one.)
    if b" \r\n" in body or (b"\t" in body and b"\t\r\n" in body):
        body = _TRAILING_WSP.sub(b"\r\n", body)
    body = _compress(body)
    result: bytes = correct_empty_body(strip_trailing_lines(body))
    return result


def select_headers(
    headers: Sequence[tuple[bytes, bytes]], include: Sequence[bytes]
) -> list[tuple[bytes, bytes]]:
    """The header instances ``include`` (lower-case names) signs, bottom-up per name.

    RFC 6376 §5.4.2: each name signs the last unused instance, searching upwards;
    a name listed more often than it occurs signs nothing more (over-signing).
    """
    positions: dict[bytes, list[int]] = {}
    for index, (name, _) in enumerate(headers):
        positions.setdefault(name.lower(), []).append(index)
    chosen = []
    for name in include:
        stack = positions.get(name)
        if stack:
            chosen.append(headers[stack.pop()])
    return chosen


def relaxed_headers(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """RFC 6376 §3.4.2 relaxed header canonicalisation, as dkimpy's ``Relaxed`` computes it.

    Names are lower-cased; values unfolded, runs of white space made one space,
    stripped, and ended with CRLF.
    """
    result = []
    for name, value in headers:
        value = _compress(value.replace(b"\r\n", b"").replace(b"\n", b""))
        result.append((name.lower().rstrip(), value.strip() + b"\r\n"))
    return result
