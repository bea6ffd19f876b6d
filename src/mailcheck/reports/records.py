"""One ``<record>`` of an aggregate report, and the small readers of element values.

Pure functions over parsed :mod:`xml.etree.ElementTree` elements (the parser in
:mod:`mailcheck.reports.aggregate` hands each record over as its end tag is read). Values
from the reporter are stripped, clipped and lower-cased where the schema's values are
keywords; a value that cannot be a report's (an invalid source IP, a negative count) is
``ReportError("schema")``.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import socket
import xml.etree.ElementTree as ET

from mailcheck.reports.types import (
    AggregateRecord,
    AuthResult,
    DateRange,
    PolicyOverride,
    ReportError,
)

__all__ = [
    "MAX_AUTH_RESULTS",
    "MAX_COUNT",
    "MAX_REASONS",
    "MAX_TEXT_CHARS",
    "MAX_TIMESTAMP",
    "DateRangeError",
    "RecordParser",
    "date_range",
    "local",
    "parse_record",
    "parse_timestamp",
    "text",
]

MAX_TEXT_CHARS = 1000  # a value longer than this is clipped (a domain is at most 253)
MAX_AUTH_RESULTS = 100
"""DKIM (or SPF) results kept per record. RFC 9990 §2.1: "A report SHOULD contain no more
than 100 signatures for a given 'row'"; the rest are dropped, the record kept."""
MAX_REASONS = 8  # override reasons kept per record; the schema defines six types
MAX_COUNT = 10**12  # messages per row: more than the world sends in a day
MAX_TIMESTAMP = 2**33  # seconds: year 2242; beyond it a date is garbage


class DateRangeError(ValueError):
    """A date range or timestamp that is missing or not a date."""


@functools.lru_cache(maxsize=512)  # a report uses a few dozen tags, millions of times
def local(tag: str) -> str:
    """The local name of ``tag`` in lower case: ``{urn:...:dmarc-2.0}Record`` -> ``record``."""
    return tag.rpartition("}")[2].lower()


def text(element: ET.Element | None) -> str | None:
    """The stripped text of ``element``, clipped to :data:`MAX_TEXT_CHARS`; ``None`` if empty."""
    if element is None or element.text is None:
        return None
    value = element.text.strip()[:MAX_TEXT_CHARS].strip()
    return value or None


def parse_timestamp(value: str | None) -> int:
    """Unix seconds from a report's date: ``1700000000``, `` 1700000000.0 ``, or RFC 3339.

    Raises:
        DateRangeError: missing, negative, after :data:`MAX_TIMESTAMP`, or not a date.
    """
    if value is None:
        raise DateRangeError("missing")
    value = value.strip()
    if value.isascii() and value.replace(".", "", 1).isdigit() and len(value) <= 20:
        seconds = int(float(value))
    else:
        seconds = _rfc3339_seconds(value)
    if not 0 <= seconds <= MAX_TIMESTAMP:
        raise DateRangeError(f"{value[:40]!r} is out of range")
    return seconds


def _rfc3339_seconds(value: str) -> int:
    """Seconds of an RFC 3339 date-time; no zone means UTC (RFC 3339 §4.3 "unknown local")."""
    if not value.isascii() or len(value) > 40:
        raise DateRangeError(f"{value[:40]!r} is not a date")
    try:
        # RFC 3339 §5.6 allows "t"/"z" in lower case; fromisoformat wants them upper.
        moment = dt.datetime.fromisoformat(value.upper())
    except ValueError as exc:
        raise DateRangeError(f"{value!r} is not a date") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        return int(moment.timestamp())
    except (OverflowError, ValueError) as exc:  # year 1 with a positive offset, and such
        raise DateRangeError(f"{value!r} is out of range") from exc


def date_range(begin: str | None, end: str | None) -> DateRange:
    """A :class:`DateRange` from two dates; a reversed pair is put in order.

    Raises:
        DateRangeError: a date is missing or not a date.
    """
    first, last = parse_timestamp(begin), parse_timestamp(end)
    # A reporter that swapped the two still tells the period; keep the report.
    return DateRange(min(first, last), max(first, last))


def _count(value: str | None) -> int:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 13:
        raise ReportError("schema", f"<count> {value!r} is not a message count")
    count = int(value)
    if count > MAX_COUNT:
        raise ReportError("schema", f"<count> {count} is over {MAX_COUNT}")
    return count


def _source_ip(value: str | None) -> str:
    """The address normalised (IPv6 compressed, lower case): one source, one string."""
    value = value or ""
    try:
        # The C parser first: most sources are IPv4, and ipaddress is slow Python.
        return socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, value))
    except (OSError, ValueError):
        pass
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise ReportError("schema", f"<source_ip> {value!r} is not an IP address") from exc


def _fields(element: ET.Element | None) -> dict[str, ET.Element]:
    found: dict[str, ET.Element] = {}
    for child in () if element is None else element:
        found.setdefault(local(child.tag), child)
    return found


class RecordParser:
    """Parses the records of one report, sharing equal strings between them.

    Rows repeat the same few values (``pass``, ``none``, the domain, the reporter's IPs): one
    string object each instead of one per row halves the memory a large report takes. The
    table lives as long as the parser, so an attacker's unique strings die with the report.
    """

    _MAX_SHARED = 4096

    def __init__(self) -> None:
        self._shared: dict[str, str] = {}

    def _share(self, value: str) -> str:
        if len(self._shared) < self._MAX_SHARED:
            return self._shared.setdefault(value, value)
        return self._shared.get(value, value)

    def _lower(self, element: ET.Element | None) -> str | None:
        value = text(element)
        return self._share(value.lower()) if value else None

    def _domain(self, element: ET.Element | None) -> str | None:
        value = text(element)
        return self._share(value.lower().rstrip(".")) if value else None

    def _reasons(self, evaluated: ET.Element | None) -> tuple[PolicyOverride, ...]:
        found: list[PolicyOverride] = []
        for reason in () if evaluated is None else evaluated:
            if local(reason.tag) != "reason" or len(found) >= MAX_REASONS:
                continue
            fields = _fields(reason)
            kind = self._lower(fields.get("type"))
            if kind:
                found.append(PolicyOverride(type=kind, comment=text(fields.get("comment"))))
        return tuple(found)

    def _auth_results(self, record: ET.Element, method: str) -> tuple[AuthResult, ...]:
        """Every ``<dkim>`` (or ``<spf>``) of every ``<auth_results>`` (some send several)."""
        found: list[AuthResult] = []
        for block in record:
            if local(block.tag) != "auth_results":
                continue
            for result in block:
                if local(result.tag) != method or len(found) >= MAX_AUTH_RESULTS:
                    continue
                fields = _fields(result)
                selector = text(fields.get("selector")) if method == "dkim" else None
                found.append(
                    AuthResult(
                        method=method,
                        domain=self._domain(fields.get("domain")) or "",
                        result=self._lower(fields.get("result")) or "none",
                        selector=self._share(selector) if selector else None,
                        scope=self._lower(fields.get("scope")) if method == "spf" else None,
                        human_result=text(fields.get("human_result")),
                    )
                )
        return tuple(found)

    def __call__(self, record: ET.Element, /) -> AggregateRecord:
        """The :class:`AggregateRecord` of a ``<record>`` element.

        Raises:
            ReportError: ``schema`` when the source IP or the count is missing or invalid.
        """
        fields = _fields(record)
        row = _fields(fields.get("row"))
        evaluated_element = row.get("policy_evaluated")
        evaluated = _fields(evaluated_element)
        identifiers = _fields(fields.get("identifiers"))
        return AggregateRecord(
            source_ip=self._share(_source_ip(text(row.get("source_ip")))),
            count=_count(text(row.get("count"))),
            disposition=self._lower(evaluated.get("disposition")) or "",
            dkim=self._lower(evaluated.get("dkim")),
            spf=self._lower(evaluated.get("spf")),
            header_from=self._domain(identifiers.get("header_from")) or "",
            envelope_from=self._domain(identifiers.get("envelope_from")),
            envelope_to=self._domain(identifiers.get("envelope_to")),
            reasons=self._reasons(evaluated_element),
            dkim_results=self._auth_results(record, "dkim"),
            spf_results=self._auth_results(record, "spf"),
        )


def parse_record(record: ET.Element, /) -> AggregateRecord:
    """The :class:`AggregateRecord` of one ``<record>`` element (see :class:`RecordParser`).

    Raises:
        ReportError: ``schema`` when the source IP or the count is missing or invalid.
    """
    return RecordParser()(record)
