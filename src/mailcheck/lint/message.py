"""A message split into header fields and body, as the lint reads it (pure, bounded).

The reader never raises on what it is given: a line that is not ``Name: value``, a bare CR
or a NUL are recorded as facts for the rules to judge. Line endings may be CRLF or bare LF
(a message file on disk usually has LF); lengths never count the line ending.
"""

from __future__ import annotations

import dataclasses
import re

#: A bound on what the lint reads: past it the message is refused unread. Receivers' own
#: limits are lower (Gmail 25 MB, Outlook.com 25 MB after encoding).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: A bound on the header fields read; real messages have a few dozen.
MAX_HEADER_FIELDS = 10_000

# RFC 5322 §3.6.8: ftext = %d33-57 / %d59-126 (printable US-ASCII except ":").
_FIELD_NAME = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_EIGHT_BIT = re.compile(rb"[\x80-\xff]")
_UNFOLD = re.compile(r"\r?\n(?=[ \t])")


@dataclasses.dataclass(frozen=True, slots=True)
class HeaderField:
    """One header field.

    Attributes:
        name: the name as written (case kept).
        raw: the value as bytes, continuation lines included, without the final line end.
        line: the line number (from 1) where the field starts.
    """

    name: str
    raw: bytes
    line: int
    lower: str = dataclasses.field(init=False, repr=False, compare=False)
    """The name in lower case (computed once: the rules compare names many times)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "lower", self.name.lower())

    @property
    def value(self) -> str:
        """The value unfolded (RFC 5322 §2.2.3), stripped; undecodable bytes escaped."""
        text = self.raw.decode("utf-8", "surrogateescape")
        return _UNFOLD.sub("", text).strip() if "\n" in text else text.strip()


@dataclasses.dataclass(frozen=True, slots=True)
class MalformedLine:
    """A header line the reader could not take as a field or a continuation."""

    line: int
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class RawMessage:
    """A message as the rules see it.

    Attributes:
        fields: the header fields, in order.
        malformed: header lines that are not fields (with why).
        body: the body (after the blank line), line endings as given.
        body_line: the line number of the body's first line.
        size: the whole message's size in bytes.
        too_many_fields: the header had more than :data:`MAX_HEADER_FIELDS` fields.
    """

    fields: tuple[HeaderField, ...]
    malformed: tuple[MalformedLine, ...]
    body: bytes
    body_line: int
    size: int
    too_many_fields: bool = False

    def get_all(self, name: str) -> tuple[HeaderField, ...]:
        """The fields named ``name`` (any case), in order."""
        lowered = name.lower()
        return tuple(f for f in self.fields if f.lower == lowered)

    def first(self, name: str) -> HeaderField | None:
        """The first field named ``name``, or ``None``."""
        lowered = name.lower()
        return next((f for f in self.fields if f.lower == lowered), None)


def read_message(raw: bytes, /) -> RawMessage:
    """Split ``raw`` into header fields and body; never raises.

    The caller checks the size against :data:`MAX_MESSAGE_BYTES` first.
    """
    match = _BLANK_LINE.search(raw)
    if raw.startswith((b"\r\n", b"\n")):
        head, body, body_line = b"", raw.split(b"\n", 1)[1], 2
    elif match is None:
        head, body, body_line = raw, b"", 0
    else:
        head, body = raw[: match.start()], raw[match.end() :]
        body_line = head.count(b"\n") + 3
    fields: list[tuple[str, bytearray, int]] = []
    malformed: list[MalformedLine] = []
    too_many = False
    for number, line in enumerate(split_lines(head) if head else (), start=1):
        if b"\r" in line or b"\x00" in line:
            # RFC 5322 §2.2: a field body may not hold a bare CR; NUL is never allowed.
            malformed.append(MalformedLine(number, "a bare CR or a NUL"))
        if line[:1] in (b" ", b"\t"):
            if fields:
                fields[-1][1].extend(b"\r\n" + line)
            else:
                malformed.append(MalformedLine(number, "the header starts with a continuation"))
            continue
        found = _FIELD_NAME.match(line)
        if found is None:
            malformed.append(MalformedLine(number, "not 'Name: value'"))
            continue
        if len(fields) >= MAX_HEADER_FIELDS:
            too_many = True
            break
        name = found.group(1).decode("ascii")
        fields.append((name, bytearray(line[found.end() :]), number))
    return RawMessage(
        fields=tuple(HeaderField(name, bytes(value), number) for name, value, number in fields),
        malformed=tuple(malformed),
        body=body,
        body_line=body_line,
        size=len(raw),
        too_many_fields=too_many,
    )


def split_lines(data: bytes) -> list[bytes]:
    """Lines split at CRLF or LF, without them (``bytes.split`` in C: the regex is 4x slower)."""
    return (data.replace(b"\r\n", b"\n") if b"\r" in data else data).split(b"\n")


def longest_lines(data: bytes, *, over: int, first_line: int = 1) -> tuple[int, int, int]:
    """(longest length, its line number, how many lines are longer than ``over``).

    Line endings are not counted. Fast path: ``max`` over the split lines in C.
    """
    lengths = [len(line) for line in split_lines(data)]
    longest = max(lengths)
    if longest <= over:
        return longest, first_line + lengths.index(longest), 0
    return longest, first_line + lengths.index(longest), sum(1 for n in lengths if n > over)


def has_eight_bit(data: bytes) -> bool:
    """``data`` holds a byte above 127."""
    return not data.isascii()


def first_eight_bit(data: bytes) -> int:
    """The offset of the first byte above 127, or -1."""
    found = _EIGHT_BIT.search(data)
    return -1 if found is None else found.start()
