"""Fuzzing the readers of untrusted reports: a report or a ReportError, never anything else."""

from __future__ import annotations

import base64
import gzip
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailcheck.reports import (
    AggregateReport,
    ReportError,
    TlsReport,
    ingest_report,
    looks_like_message,
    parse_aggregate,
    parse_tls,
    reports_in_message,
)
from mailcheck.reports.unpack import unpack

T = TypeVar("T")
DATA = Path(__file__).parent / "data"
BLOBS = {
    path.name: path.read_bytes()
    for path in sorted(DATA.iterdir())
    if path.suffix in {".xml", ".json", ".gz", ".zip", ".eml"}
}
REPORT_BLOBS = [blob for name, blob in BLOBS.items() if not name.endswith(".eml")]
MESSAGES = [blob for name, blob in BLOBS.items() if name.endswith(".eml")]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Documents built from the schemas' words cost more to draw than to parse.
STRUCTURED = settings(FUZZ, max_examples=100)


REASONS = {
    "too-large",
    "bomb",
    "archive",
    "xml",
    "json",
    "schema",
    "too-many-records",
    "not-a-report",
}


def answer(call: Callable[[], T]) -> T | ReportError:
    """What ``call`` returns, or the ReportError it raises (any other exception escapes)."""
    try:
        return call()
    except ReportError as exc:
        return exc


def _read(blob: bytes) -> None:
    """ingest_report answers a report (whose to_dict is JSON) or a ReportError, nothing else."""
    got = answer(lambda: ingest_report(blob))
    if isinstance(got, ReportError):
        assert got.reason in REASONS
    else:
        assert isinstance(got, AggregateReport | TlsReport)
        json.dumps(got.to_dict())


@st.composite
def mutated(draw: st.DrawFn, blobs: list[bytes]) -> bytes:
    """A corpus blob with a few bytes flipped, cut, duplicated or inserted."""
    data = bytearray(draw(st.sampled_from(blobs)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert", "truncate", "repeat"]))
        if action == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif action == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 200))] * draw(st.integers(1, 5))
    return bytes(data)


@given(st.binary(max_size=2048))
@FUZZ
def test_random_bytes(blob: bytes) -> None:
    _read(blob)


@given(mutated(REPORT_BLOBS))
@FUZZ
def test_mutated_reports(blob: bytes) -> None:
    _read(blob)


@given(mutated(REPORT_BLOBS))
@FUZZ
def test_mutated_reports_gzipped(blob: bytes) -> None:
    _read(gzip.compress(blob, mtime=0))


@given(mutated(REPORT_BLOBS))
@FUZZ
def test_unpack(blob: bytes) -> None:
    assert isinstance(answer(lambda: unpack(blob)), bytes | ReportError)


@given(st.binary(max_size=2048), st.none() | st.text(max_size=20))
@FUZZ
def test_random_messages(raw: bytes, name: str | None) -> None:
    assert isinstance(looks_like_message(raw, name), bool)
    assert reports_in_message(raw)


@given(mutated(MESSAGES))
@FUZZ
def test_mutated_messages(raw: bytes) -> None:
    results = reports_in_message(raw)
    assert results
    assert all(isinstance(r, AggregateReport | TlsReport | ReportError) for r in results)


# --- structured: documents made of the schemas' own words ---------------------------------

_TAGS = [
    "feedback", "version", "report_metadata", "org_name", "email", "report_id", "date_range",
    "begin", "end", "error", "generator", "policy_published", "domain", "p", "sp", "np",
    "adkim", "aspf", "pct", "fo", "testing", "discovery_method", "record", "row", "source_ip",
    "count", "policy_evaluated", "disposition", "dkim", "spf", "reason", "type", "comment",
    "identifiers", "header_from", "envelope_from", "envelope_to", "auth_results", "selector",
    "scope", "result", "human_result", "extension", "{urn:ietf:params:xml:ns:dmarc-2.0}record",
]  # fmt: skip
_TEXTS = st.one_of(
    st.sampled_from(["1700000000", " 42 ", "192.0.2.1", "2001:db8::1", "pass", "NONE", "-1"]),
    st.text(max_size=20),
    st.integers(-(10**15), 10**15).map(str),
)


def _element(tag: str, text: str | None, children: list[ET.Element]) -> ET.Element:
    element = ET.Element(tag)
    element.text = text
    element.extend(children)
    return element


_TREES = st.recursive(
    st.builds(_element, st.sampled_from(_TAGS), st.none() | _TEXTS, st.just([])),
    lambda inner: st.builds(
        _element, st.sampled_from(_TAGS), st.none() | _TEXTS, st.lists(inner, max_size=5)
    ),
    max_leaves=40,
)


@given(_TREES)
@STRUCTURED
def test_xml_of_schema_words(tree: ET.Element) -> None:
    root = tree if tree.tag == "feedback" else _element("feedback", None, [tree])
    try:
        document = ET.tostring(root)
    except ValueError:  # text hypothesis made that XML cannot carry (control characters)
        return
    assert isinstance(answer(lambda: parse_aggregate(document)), AggregateReport | ReportError)


_KEYS = [
    "organization-name", "date-range", "start-datetime", "end-datetime", "contact-info",
    "report-id", "policies", "policy", "policy-type", "policy-string", "policy-domain",
    "mx-host", "summary", "total-successful-session-count", "total-failure-session-count",
    "failure-details", "result-type", "sending-mta-ip", "receiving-mx-hostname",
    "receiving-mx-helo", "receiving-ip", "failed-session-count", "additional-information",
    "failure-reason-code",
]  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.sampled_from(["2016-04-01T00:00:00Z", "sts", "no-policy-found", "x"]),
    st.text(max_size=12),
)
_JSON: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=8)
    ),
    max_leaves=40,
)


@given(st.dictionaries(st.sampled_from(_KEYS), _JSON, max_size=8))
@STRUCTURED
def test_json_of_schema_words(document: dict[str, Any]) -> None:
    assert isinstance(answer(lambda: parse_tls(json.dumps(document))), TlsReport | ReportError)


@given(mutated([(DATA / "tlsrpt-rfc8460.json").read_bytes()]))
@FUZZ
def test_mutated_tls(blob: bytes) -> None:
    got = answer(lambda: parse_tls(blob))
    if isinstance(got, TlsReport):
        assert all(p.successful >= 0 and p.failed >= 0 for p in got.policies)


_CONTENT_TYPES = [
    "application/zip", "application/gzip", "application/x-gzip", "application/tlsrpt+gzip",
    "application/tlsrpt+json", "text/xml", "application/xml", "application/octet-stream",
    "text/plain", "message/rfc822", "multipart/mixed", "application/x-zip-compressed", "",
    "garbage", "text/xml; charset=\"x-unknown\"",
]  # fmt: skip
_ENCODINGS = ["base64", "quoted-printable", "7bit", "8bit", "binary", "x-uuencode", "bogus", ""]
_FILENAMES = [
    None, "r.zip", "r.xml.gz", "r.json", "R.XML", "filename*=utf-8''r%C3%A9.zip",
    "filename*=x-bad''r.gz", "\"unterminated.zip", "r.zip\r\n\tcontinued",
]  # fmt: skip


@st.composite
def mime_messages(draw: st.DrawFn) -> bytes:
    """A multipart message of parts with drawn types, encodings and names (often wrong)."""
    lines = [b"From: r@reporter.example", b'Content-Type: multipart/mixed; boundary="zz"', b""]
    for _ in range(draw(st.integers(0, 4))):
        content_type = draw(st.sampled_from(_CONTENT_TYPES))
        encoding = draw(st.sampled_from(_ENCODINGS))
        filename = draw(st.sampled_from(_FILENAMES))
        payload = draw(st.sampled_from(REPORT_BLOBS) | st.binary(max_size=200))
        if encoding == "base64" and draw(st.booleans()):
            payload = base64.encodebytes(payload)
        lines += [b"--zz", f"Content-Type: {content_type}".encode()]
        if encoding:
            lines.append(f"Content-Transfer-Encoding: {encoding}".encode())
        if filename is not None:
            name = filename if "*=" in filename else f'filename="{filename}"'
            lines.append(f"Content-Disposition: attachment; {name}".encode())
        lines += [b"", payload]
    lines.append(b"--zz--")
    return b"\r\n".join(lines)


@given(mime_messages())
@FUZZ
def test_mime_messages(raw: bytes) -> None:
    results = reports_in_message(raw)
    assert results
    assert all(isinstance(r, AggregateReport | TlsReport | ReportError) for r in results)
