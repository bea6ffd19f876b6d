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
from typing import IO

import defusedxml.ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from mailcheck.reports.records import DateRangeError, date_range, local, parse_record, text
from mailcheck.reports.types import (
    AggregateRecord,
    AggregateReport,
    DateRange,
    PublishedPolicy,
    ReportError,
)

__all__ = ["MAX_DEPTH", "MAX_ERRORS", "MAX_RECORDS", "parse_aggregate"]

MAX_RECORDS = 200_000
"""Rows per report. A row aggregates every message from one IP with one outcome, so even
Google's report for a domain sending millions a day has a few thousand; 200,000 rows (about
100 MB of XML, see :data:`~mailcheck.reports.unpack.MAX_UNCOMPRESSED_BYTES`) is far past any
genuine report and still parses in seconds."""

MAX_DEPTH = 16
"""Element nesting. The deepest path of the schema is feedback/record/auth_results/dkim/domain
(5); ``<extensions>`` may nest deeper, not thousands deep."""

MAX_ERRORS = 100  # report_metadata/error entries kept; the rest are dropped

_METADATA = "report_metadata"
_POLICY = "policy_published"


def parse_aggregate(source: bytes | IO[bytes], /) -> AggregateReport:
    """The DMARC aggregate report in ``source`` (XML bytes or a binary stream).

    Example::

        report = parse_aggregate(Path("google.xml").read_bytes())
        report.domain, report.message_count

    Raises:
        ReportError: ``xml`` (malformed, a DTD, entities, too deep), ``schema`` (not a
            ``<feedback>`` document, a required value missing or invalid),
            ``too-many-records`` (over :data:`MAX_RECORDS`), ``bomb`` (a stream past its
            bound).
    """
    stream: IO[bytes] = _BytesStream(source) if isinstance(source, bytes) else source
    try:
        return _Reader().read(stream)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise ReportError("xml", f"not a readable XML report: {exc}") from exc
    except RecursionError as exc:  # defensive: nothing here recurses on the input's depth
        raise ReportError("xml", "the XML nests too deep") from exc


class _BytesStream:
    """A minimal read-only stream over bytes (io.BytesIO would copy them)."""

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = len(self._view)
        chunk, self._view = self._view[:size], self._view[size:]
        return bytes(chunk)


class _Reader:
    """One pass over the document's events, keeping only what the report needs."""

    def __init__(self) -> None:
        self.metadata: ET.Element | None = None
        self.policy: ET.Element | None = None
        self.version: str | None = None
        self.records: list[AggregateRecord] = []

    def read(self, stream: IO[bytes]) -> AggregateReport:
        depth = 0
        root: ET.Element | None = None
        for event, element in self._events(stream):
            if event == "start":
                depth += 1
                if depth > MAX_DEPTH:
                    raise ReportError("xml", f"elements nested over {MAX_DEPTH} deep")
                if root is None:
                    root = element
                    if local(root.tag) != "feedback":
                        raise ReportError("schema", f"<{local(root.tag)}> is not <feedback>")
                continue
            depth -= 1
            if depth == 1 and root is not None:  # a child of <feedback> is complete
                self._take(element)
                root.remove(element)  # drop its XML: memory does not grow with the rows
        if root is None:
            raise ReportError("xml", "an empty document")
        return self._report()

    @staticmethod
    def _events(stream: IO[bytes]) -> Iterator[tuple[str, ET.Element]]:
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
            if len(self.records) >= MAX_RECORDS:
                raise ReportError("too-many-records", f"over {MAX_RECORDS} records")
            self.records.append(parse_record(element))
        elif name == _METADATA and self.metadata is None:
            self.metadata = element
        elif name == _POLICY and self.policy is None:
            self.policy = element
        elif name == "version" and self.version is None:
            self.version = text(element)

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
        domain=domain,
        p=lower("p"),
        sp=lower("sp"),
        np=lower("np"),
        adkim=lower("adkim"),
        aspf=lower("aspf"),
        pct=int(pct) if pct and pct.isdigit() and len(pct) <= 3 else None,
        fo=text(fields.get("fo")),
        testing=lower("testing"),
        discovery_method=lower("discovery_method"),
    )
