"""Parse DMARC aggregate reports (RFC 7489 appendix C and RFC 9990) from untrusted XML.

The XML is read with defusedxml: a DTD, an entity declaration or an external reference is
refused (``ReportError("xml")``), so a billion-laughs or external-entity document costs
nothing. The document is parsed as a stream: each ``<record>`` becomes an
:class:`~mailcheck.reports.types.AggregateRecord` when its end tag is read and the element is
then dropped, so memory holds the rows' values, never the rows' XML.

Reporters differ: with or without the ``urn:ietf:params:xml:ns:dmarc-2.0`` namespace (or
another), elements missing, several ``<auth_results>``, ``<extensions>``, dates padded with
whitespace, values in upper case. Tags are matched by local name, case-insensitively;
unknown elements are ignored; values are stripped and clipped to :data:`MAX_TEXT_CHARS`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Protocol

# defusedxml ships no type hints (and the project installs no stub packages).
import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]
from defusedxml.common import DefusedXmlException  # type: ignore[import-untyped]

from mailcheck.reports.records import DateRangeError, RecordParser, date_range, local, text
from mailcheck.reports.types import (
    AggregateRecord,
    AggregateReport,
    DateRange,
    PublishedPolicy,
    ReportError,
)

__all__ = [
    "ELEMENTS_PER_RECORD",
    "MAX_BLOCK_BYTES",
    "MAX_BLOCK_ELEMENTS",
    "MAX_DEPTH",
    "MAX_ERRORS",
    "MAX_GAP_BYTES",
    "MAX_OTHER_BLOCKS",
    "MAX_RECORDS",
    "Readable",
    "parse_aggregate",
]

MAX_RECORDS = 200_000
"""Rows per report. A row aggregates every message from one IP with one outcome, so even
Google's report for a domain sending millions a day has a few thousand; 200,000 rows (about
100 MB of XML, see :data:`~mailcheck.reports.unpack.MAX_UNCOMPRESSED_BYTES`) is far past any
genuine report and still parses in seconds."""

MAX_DEPTH = 16
"""Element nesting. The deepest path of the schema is feedback/record/auth_results/dkim/domain
(5); ``<extensions>`` may nest deeper, not thousands deep."""

MAX_ERRORS = 100  # report_metadata/error entries kept; the rest are dropped

MAX_OTHER_BLOCKS = 100
"""Children of ``<feedback>`` other than records: a report has three or four (version,
metadata, policy, extension). Each costs more than an element inside a record, so a
document of millions of ``<a/>`` at the top would take four times the largest genuine one."""

MAX_GAP_BYTES = 1024 * 1024
"""XML read without a tag completing: a text, a tag, a comment longer than this is refused.
The parser buffers such a token whole, so this bounds what a long one costs; the longest
genuine value (an ``<error>`` or ``<human_result>`` sentence) is a few hundred bytes."""

ELEMENTS_PER_RECORD = 30
"""Elements per row allowed on average: the document may hold ``ELEMENTS_PER_RECORD *
MAX_RECORDS`` elements (6 million; at least :data:`MAX_BLOCK_ELEMENTS`). A plain row has 22;
richer rows (three DKIM results, a reason) have up to 40, but 100 MiB of genuine XML holds
at most about 5 million elements (an element and its value take 20 bytes or more), so the
size bound meets them first. Without this bound, records padded with empty elements would
cost twice the largest genuine report to refuse."""

MAX_BLOCK_BYTES = 4 * 1024 * 1024
"""XML in one child of ``<feedback>``: its elements are held until it ends, so its size is
bounded. A record with 100 DKIM results is about 20 KB, the metadata with 100 errors as
much; an ``<extension>`` of megabytes is not a report's."""

MAX_BLOCK_ELEMENTS = 10_000
"""Elements inside one child of ``<feedback>`` (a record, the metadata, an extension). A
record with 100 DKIM results has about 600; a million empty elements would cost gigabytes
before the block ends and is dropped."""

_METADATA = "report_metadata"
_POLICY = "policy_published"


def parse_aggregate(
    source: bytes | Readable, /, *, max_records: int = MAX_RECORDS
) -> AggregateReport:
    """The DMARC aggregate report in ``source`` (XML bytes or a binary stream).

    ``max_records`` lowers the bound on rows (never above :data:`MAX_RECORDS`).

    Example::

        report = parse_aggregate(Path("google.xml").read_bytes())
        report.domain, report.message_count

    Raises:
        ReportError: ``xml`` (malformed, a DTD, entities, too deep, too many elements, a
            text over :data:`MAX_GAP_BYTES`), ``schema`` (not a
            ``<feedback>`` document, a required value missing or invalid),
            ``too-many-records`` (over :data:`MAX_RECORDS`), ``bomb`` (a stream past its
            bound).
    """
    stream = _Watched(_BytesStream(source) if isinstance(source, bytes) else source)
    try:
        return _Reader(min(max_records, MAX_RECORDS)).read(stream)
    except ReportError:
        raise
    except (ET.ParseError, DefusedXmlException) as exc:
        raise ReportError("xml", f"not a readable XML report: {exc}") from exc
    except (LookupError, ValueError) as exc:
        # An encoding declaration Python does not know (LookupError), a multi-byte one expat
        # cannot use, or bytes the declared encoding cannot decode (ValueError).
        raise ReportError("xml", f"unreadable encoding: {str(exc)[:200]}") from exc
    except RecursionError as exc:  # defensive: nothing here recurses on the input's depth
        raise ReportError("xml", "the XML nests too deep") from exc


class Readable(Protocol):
    """A binary stream: a file opened ``rb``, :class:`~mailcheck.reports.unpack.ReportStream`."""

    def read(self, size: int = -1, /) -> bytes | None:
        """Up to ``size`` bytes; empty at the end."""


class _BytesStream:
    """A minimal read-only stream over bytes (io.BytesIO would copy them)."""

    def __init__(self, data: bytes) -> None:
        # Blank lines before "<?xml" are a generator's slip that expat refuses: skipped.
        head = data[:4096]
        blank = len(head) - len(head.removeprefix(b"\xef\xbb\xbf").lstrip())
        self._view = memoryview(data)[blank if data[blank : blank + 1] == b"<" else 0 :]

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            size = len(self._view)
        chunk, self._view = self._view[:size], self._view[size:]
        return bytes(chunk)


class _Watched:
    """The input stream, counting the bytes read since the parser last completed a tag."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self.gap = 0
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        if self.gap > MAX_GAP_BYTES:
            raise ReportError("xml", f"over {MAX_GAP_BYTES} bytes without a complete tag")
        data = self._stream.read(size) or b""
        self.gap += len(data)
        self.total += len(data)
        return data


class _Reader:
    """One pass over the document's events, keeping only what the report needs."""

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records
        self.max_elements = max(ELEMENTS_PER_RECORD * max_records, MAX_BLOCK_ELEMENTS)
        self.metadata: ET.Element | None = None
        self.policy: ET.Element | None = None
        self.version: str | None = None
        self.records: list[AggregateRecord] = []
        self.parse_record = RecordParser()
        self.other_blocks = 0

    def read(self, stream: _Watched) -> AggregateReport:
        depth = elements = total = block_start = 0
        # <feedback> is the root, or the only child of one wrapper element (a reporter
        # wraps its report in the <xs:schema> it copied from the RFC appendix).
        top, root, wrapper = 1, None, None
        for event, element in self._events(stream):
            stream.gap = 0
            if depth > top and stream.total - block_start > MAX_BLOCK_BYTES:
                raise ReportError("xml", f"a <{local(element.tag)}> over {MAX_BLOCK_BYTES} bytes")
            if event == "start":
                depth += 1
                if depth == top + 1:
                    block_start = stream.total
                elements += 1
                total += 1
                if total > self.max_elements:
                    raise ReportError("xml", f"over {self.max_elements} elements")
                if depth > MAX_DEPTH:
                    raise ReportError("xml", f"elements nested over {MAX_DEPTH} deep")
                if elements > MAX_BLOCK_ELEMENTS:
                    raise ReportError("xml", f"over {MAX_BLOCK_ELEMENTS} elements in a block")
                if root is None:
                    if local(element.tag) == "feedback":
                        root, top = element, depth
                    elif depth == 1:
                        wrapper = element
                    else:
                        outer = local(wrapper.tag) if wrapper is not None else "?"
                        raise ReportError("schema", f"<{outer}> is not <feedback>")
                continue
            depth -= 1
            if depth == top and root is not None and element is not root:
                self._take(element)  # a child of <feedback> is complete
                root.remove(element)  # drop its XML: memory does not grow with the rows
                elements = 0
        if root is None:
            if wrapper is not None:
                raise ReportError("schema", f"<{local(wrapper.tag)}> is not <feedback>")
            raise ReportError("xml", "an empty document")
        return self._report()

    @staticmethod
    def _events(stream: _Watched) -> Iterator[tuple[str, ET.Element]]:
        # forbid_dtd: a report has no use for a DTD; entities and external references are
        # refused by defusedxml's defaults, kept explicit here.
        return SafeET.iterparse(  # type: ignore[no-any-return]
            stream,
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )

    def _take(self, element: ET.Element) -> None:
        name = local(element.tag)
        if name == "record":
            if len(self.records) >= self.max_records:
                raise ReportError("too-many-records", f"over {self.max_records} records")
            self.records.append(self.parse_record(element))
        elif name == _METADATA and self.metadata is None:
            self.metadata = element
        elif name == _POLICY and self.policy is None:
            self.policy = element
        elif name == "version" and self.version is None:
            self.version = text(element)
        else:
            self.other_blocks += 1
            if self.other_blocks > MAX_OTHER_BLOCKS:
                raise ReportError("xml", f"over {MAX_OTHER_BLOCKS} blocks that are not records")

    def _report(self) -> AggregateReport:
        if self.metadata is None:
            raise ReportError("schema", "no <report_metadata>")
        if self.policy is None:
            raise ReportError("schema", "no <policy_published>")
        fields = _children(self.metadata)
        report_id = text(fields.get("report_id"))
        if not report_id:
            raise ReportError("schema", "no <report_id>")
        errors = tuple(
            value for value in (text(e) for e in self.metadata if local(e.tag) == "error") if value
        )
        return AggregateReport(
            org_name=text(fields.get("org_name")) or "",
            email=text(fields.get("email")),
            report_id=report_id,
            date_range=_date_range(fields.get("date_range")),
            policy=_policy(self.policy),
            records=tuple(self.records),
            errors=errors[:MAX_ERRORS],
            version=self.version,
            generator=text(fields.get("generator")),
        )


def _children(element: ET.Element) -> dict[str, ET.Element]:
    """The first child of each local name (lower case)."""
    found: dict[str, ET.Element] = {}
    for child in element:
        found.setdefault(local(child.tag), child)
    return found


def _date_range(element: ET.Element | None) -> DateRange:
    if element is None:
        raise ReportError("schema", "no <date_range>")
    fields = _children(element)
    try:
        return date_range(text(fields.get("begin")), text(fields.get("end")))
    except DateRangeError as exc:
        raise ReportError("schema", f"<date_range>: {exc}") from exc


def _policy(element: ET.Element) -> PublishedPolicy:
    fields = _children(element)
    domain = text(fields.get("domain"))
    if not domain:
        raise ReportError("schema", "no <policy_published>/<domain>")

    def lower(name: str) -> str | None:
        value = text(fields.get(name))
        return value.lower() if value else None

    pct = text(fields.get("pct"))
    return PublishedPolicy(
        domain=domain.lower().rstrip("."),  # as header_from and the auth results' domains
        p=lower("p"),
        sp=lower("sp"),
        np=lower("np"),
        adkim=lower("adkim"),
        aspf=lower("aspf"),
        pct=int(pct) if pct and pct.isascii() and pct.isdigit() and len(pct) <= 3 else None,
        fo=text(fields.get("fo")),
        testing=lower("testing"),
        discovery_method=lower("discovery_method"),
    )
