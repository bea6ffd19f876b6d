"""From bytes to reports: one report blob, or every report a mail message carries.

:func:`ingest_report` takes what a reporter attached (gzip, zip or plain; XML or JSON, told
apart by content) and returns the parsed report. :func:`reports_in_message` takes a whole
message (an ``.eml`` file, a Maildir entry, an IMAP fetch) and returns one entry per report
attachment: the report, or the :class:`~mailcheck.reports.types.ReportError` saying why that
part was refused, so one bad attachment never hides a good one.
"""

from __future__ import annotations

import codecs
import email
import email.message
import re

from mailcheck.reports.aggregate import parse_aggregate
from mailcheck.reports.tlsrpt import MAX_JSON_BYTES, parse_tls
from mailcheck.reports.types import AggregateReport, ReportError, TlsReport
from mailcheck.reports.unpack import MAX_COMPRESSED_BYTES, ReportStream, open_report, unpack

__all__ = [
    "MAX_BOUNDARY_LINES",
    "MAX_HEADER_LINES",
    "MAX_MESSAGE_BYTES",
    "MAX_MESSAGE_PARTS",
    "REPORT_CONTENT_TYPES",
    "ingest_report",
    "looks_like_message",
    "reports_in_message",
]

MAX_MESSAGE_BYTES = 32 * 1024 * 1024
"""A message carrying the largest accepted archive: 20 MiB in base64 is 26.7 MiB, plus
headers and the explanation text."""

MAX_MESSAGE_PARTS = 64
"""MIME parts looked at per message. A report message has two or three (text, the report,
sometimes a signature); past this the rest is refused with one ``too-large`` entry."""

MAX_BOUNDARY_LINES = 4 * MAX_MESSAGE_PARTS
"""Lines starting ``--`` (MIME boundaries) in a message, counted before parsing it. The email
package builds every part before one can be counted, at about 0.2 ms a part: a 32 MiB message
of empty parts would take minutes and gigabytes. A report message has a handful."""

MAX_HEADER_LINES = 10_000
"""Lines that look like header fields (``Name:`` at the start of a line), counted before
parsing: a report message has a few dozen (a hundred with a long ``Received`` trail)."""

REPORT_CONTENT_TYPES = frozenset(
    {
        "application/zip",  # RFC 7489 §7.2.1.1: "application/zip" ... or "application/gzip"
        "application/x-zip-compressed",
        "application/x-zip",
        "application/gzip",
        "application/x-gzip",
        "application/tlsrpt+gzip",  # RFC 8460 §5.3
        "application/tlsrpt+json",
        "text/xml",
        "application/xml",
    }
)
"""Attachments read as reports whatever their name. Any other part is read when its file
name says it is one (``.zip``, ``.gz``, ``.xml``, ``.json``): ``application/octet-stream``
is what many reporters send."""

_REPORT_NAME = re.compile(r"\.(zip|gz|gzip|xml|json)\s*$", re.IGNORECASE)
_SNIFF_BYTES = 4096  # enough for a BOM and leading blank lines before the first "<" or "{"
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # expat reads UTF-16 XML that starts with one
_ENCODING = re.compile(rb"<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})")
_COMPRESSED = (b"\x1f\x8b", b"PK\x03\x04", b"PK\x05\x06")
# RFC 5322 §2.2: a header field name is printable US-ASCII except ":"; or an mbox "From ".
_HEADER_LINE = re.compile(rb"^(?:[!-9;-~]+:|From )")
# What the pre-parse count takes for a header field: a name of letters, digits and hyphens
# at the start of a line. Base64 has no ":", XML lines start with "<" or blanks.
_FIELD_START = re.compile(rb"^[A-Za-z][A-Za-z0-9-]{0,76}:", re.MULTILINE)


def ingest_report(blob: bytes, /) -> AggregateReport | TlsReport:
    """The report in ``blob``: decompressed if gzip or zip, then parsed as XML or JSON.

    Example::

        report = ingest_report(Path("google.com!example.org!1700000000!1700086399.zip")
                               .read_bytes())
        if isinstance(report, AggregateReport): ...

    Raises:
        ReportError: why the blob is refused; ``reason`` is one of ``too-large``, ``bomb``,
            ``archive``, ``xml``, ``json``, ``schema``, ``too-many-records``,
            ``not-a-report``.
    """
    stream = open_report(blob)
    head = stream.peek(_SNIFF_BYTES)
    start = head.removeprefix(_UTF8_BOM).lstrip()
    if head.startswith(_UTF16_BOMS):
        return parse_aggregate(stream)
    if start.startswith(b"<"):
        # Blank lines before "<?xml" are a generator's slip that expat refuses: skipped.
        stream.discard(len(head) - len(start))
        try:
            return parse_aggregate(stream)
        except ReportError as exc:
            if not _maybe_mis_encoded(exc, start):
                raise
            return _parse_repaired(blob, exc)
    if start.startswith(b"{"):
        # TLS reports are small: read at most MAX_JSON_BYTES, then parse in one go.
        return parse_tls(unpack(blob, limit=MAX_JSON_BYTES))
    if start.startswith(_COMPRESSED):
        raise ReportError("archive", "an archive inside an archive is not a report")
    raise ReportError("not-a-report", "neither XML nor JSON")


def _maybe_mis_encoded(error: ReportError, start: bytes) -> bool:
    """An XML error that bytes in another encoding than the declared UTF-8 would cause."""
    if error.reason != "xml" or "invalid token" not in str(error):
        return False
    declared = _ENCODING.match(start)
    return declared is None or declared[1].lower() in {b"utf-8", b"utf8"}


def _parse_repaired(blob: bytes, error: ReportError) -> AggregateReport:
    """The report read again with bytes that are not UTF-8 replaced by U+FFFD.

    Some generators write a Latin-1 organisation name or comment into a document declared
    (or defaulting to) UTF-8; the report is kept, the odd characters shown as "\ufffd".
    """
    stream = open_report(blob)
    head = stream.peek(_SNIFF_BYTES)
    stream.discard(len(head) - len(head.removeprefix(_UTF8_BOM).lstrip()))
    try:
        return parse_aggregate(_Utf8Repaired(stream))
    except ReportError:
        raise error from None


class _Utf8Repaired:
    """A stream of UTF-8 where each invalid byte of the underlying stream became U+FFFD."""

    def __init__(self, stream: ReportStream) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def read(self, size: int = -1, /) -> bytes:
        while True:  # b"" means the end: a chunk ending mid-character must not return it
            data = self._stream.read(size) or b""
            text = self._decoder.decode(data, final=not data)
            if text or not data:
                return text.encode("utf-8")


def looks_like_message(blob: bytes, /, name: str | None = None) -> bool:
    """Whether ``blob`` (a file named ``name``) is a mail message rather than a report.

    ``.eml`` names are messages; otherwise the content decides: a report starts with an
    archive's magic number, ``<`` or ``{``; a message with a header line.
    """
    if name is not None and name.lower().endswith(".eml"):
        return True
    head = blob[:1024].removeprefix(_UTF8_BOM)
    if head.startswith(_COMPRESSED) or head.lstrip().startswith((b"<", b"{")):
        return False
    return _HEADER_LINE.match(head) is not None


def reports_in_message(raw: bytes, /) -> list[AggregateReport | TlsReport | ReportError]:
    """Every report attached to the message ``raw``, each parsed or refused on its own.

    Returns one entry per report attachment, in message order: the report, or the
    :class:`ReportError` telling why that attachment was refused. A message with no report
    attachment gives one ``ReportError("not-a-report")``, so a caller always has something
    to file the message under.
    """
    if len(raw) > MAX_MESSAGE_BYTES:
        return [ReportError("too-large", f"a {len(raw)}-byte message is over the limit")]
    if (refused := _too_complex(raw)) is not None:
        return [refused]
    try:
        message = email.message_from_bytes(raw)
        parts = _report_parts(message)
    except RecursionError:  # the email package recurses on nested multiparts
        return [ReportError("not-a-report", "the message's MIME parts nest too deep")]
    results: list[AggregateReport | TlsReport | ReportError] = []
    for part in parts:
        if isinstance(part, ReportError):
            results.append(part)
            continue
        try:
            results.append(ingest_report(part))
        except ReportError as exc:
            results.append(exc)
    return results or [ReportError("not-a-report", "the message carries no report")]


def _too_complex(raw: bytes) -> ReportError | None:
    """Refuse, before parsing, a message whose parts or headers would cost too much."""
    boundaries = raw.count(b"\n--") + raw.startswith(b"--")
    if boundaries > MAX_BOUNDARY_LINES:
        return ReportError("too-large", f"{boundaries} MIME boundary lines: not a report")
    for count, _ in enumerate(_FIELD_START.finditer(raw), start=1):
        if count > MAX_HEADER_LINES:
            return ReportError("too-large", f"over {MAX_HEADER_LINES} header lines")
    return None


def _report_parts(message: email.message.Message) -> list[bytes | ReportError]:
    """The decoded payloads of the report attachments, or why one could not be decoded."""
    found: list[bytes | ReportError] = []
    for index, part in enumerate(message.walk()):
        if index >= MAX_MESSAGE_PARTS:
            found.append(ReportError("too-large", f"over {MAX_MESSAGE_PARTS} MIME parts"))
            break
        if part.is_multipart() or not _is_report_part(part):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            found.append(ReportError("not-a-report", "an empty report attachment"))
        elif len(payload) > MAX_COMPRESSED_BYTES and payload.startswith(_COMPRESSED):
            found.append(ReportError("too-large", "the attachment is over the limit"))
        else:
            found.append(payload)
    return found


def _is_report_part(part: email.message.Message) -> bool:
    if part.get_content_type() in REPORT_CONTENT_TYPES:
        return True
    name = part.get_filename() or part.get_param("name")
    return isinstance(name, str) and _REPORT_NAME.search(name) is not None
