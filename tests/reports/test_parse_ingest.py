"""From blobs and messages to reports: sniffing, attachments, one bad part beside a good one."""

from __future__ import annotations

import email
import gzip
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from mailcheck.reports import (
    AggregateReport,
    ReportError,
    TlsReport,
    ingest_report,
    looks_like_message,
    reports_in_message,
)
from mailcheck.reports.ingest import MAX_HEADER_LINES, MAX_MESSAGE_BYTES, MAX_MESSAGE_PARTS

DATA = Path(__file__).parent / "data"
XML = (DATA / "google.xml").read_bytes()


def message(*parts: tuple[bytes, str, str, str | None]) -> bytes:
    msg = EmailMessage()
    msg["From"] = "reports@reporter.example"
    msg["Subject"] = "Report Domain: asso.example"
    msg.set_content("Aggregate report attached.\n")
    for data, maintype, subtype, filename in parts:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(msg)


def reporters(results: list[AggregateReport | TlsReport | ReportError]) -> list[str]:
    return [r.reason if isinstance(r, ReportError) else r.reporter for r in results]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("google.eml", ["google.com"]),
        ("microsoft.eml", ["Enterprise Outlook"]),
        ("yahoo.eml", ["Yahoo"]),  # application/octet-stream named .xml.gz
        ("rfc9990.eml", ["Receiver Org"]),  # text/xml, not compressed
        ("tlsrpt-google.eml", ["Google Inc."]),  # multipart/report, application/tlsrpt+gzip
        ("mixed.eml", ["archive", "google.com"]),  # the corrupt part does not hide the good
    ],
)
def test_corpus_messages(name: str, expected: list[str]) -> None:
    raw = (DATA / name).read_bytes()
    assert looks_like_message(raw)
    assert reporters(reports_in_message(raw)) == expected


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("google.zip", "aggregate"),
        ("yahoo.xml.gz", "aggregate"),
        ("microsoft.xml.gz", "aggregate"),
        ("rfc9990.xml", "aggregate"),
        ("tlsrpt-google.json.gz", "tls"),
        ("tlsrpt-rfc8460.json", "tls"),
    ],
)
def test_corpus_blobs(name: str, kind: str) -> None:
    blob = (DATA / name).read_bytes()
    assert not looks_like_message(blob, name=name)
    assert ingest_report(blob).kind == kind


def test_looks_like_message() -> None:
    assert looks_like_message(b"anything", name="saved.EML")
    assert looks_like_message(b"Return-Path: <a@b.example>\r\nSubject: x\r\n\r\nbody")
    assert looks_like_message(b"From reports@x.example Thu Nov 16 04:12:09 2023\nTo: a\n\n")
    assert not looks_like_message(b"<?xml version='1.0'?><feedback/>")
    assert not looks_like_message(b"\xef\xbb\xbf<feedback/>")
    assert not looks_like_message(b'{"report-id": "x"}')
    assert not looks_like_message(gzip.compress(b"Subject: x\n\n"))
    assert not looks_like_message(b"")
    assert not looks_like_message(b"just some text")


@pytest.mark.parametrize(
    ("content_type", "filename"),
    [
        ("application/zip", None),
        ("application/x-zip-compressed", "report.zip"),
        ("application/octet-stream", "google.com!asso.example!1!2.zip"),
        ("application/octet-stream", "REPORT.ZIP"),
        ("text/plain", "report.zip"),
    ],
)
def test_report_attachments_by_type_or_name(content_type: str, filename: str | None) -> None:
    maintype, subtype = content_type.split("/")
    raw = message(((DATA / "google.zip").read_bytes(), maintype, subtype, filename))
    assert reporters(reports_in_message(raw)) == ["google.com"]


def test_other_attachments_are_not_reports() -> None:
    raw = message((b"%PDF-1.4", "application", "pdf", "invoice.pdf"))
    assert reporters(reports_in_message(raw)) == ["not-a-report"]


def test_every_part_answers() -> None:
    raw = message(
        (XML, "text", "xml", "a.xml"),
        (b"<feedback>", "text", "xml", "broken.xml"),
        (b"", "application", "gzip", "empty.gz"),
        ((DATA / "tlsrpt-google.json.gz").read_bytes(), "application", "tlsrpt+gzip", None),
        (b'{"policies": 1}', "application", "tlsrpt+json", None),
    )
    assert reporters(reports_in_message(raw)) == [
        "google.com",
        "xml",
        "not-a-report",
        "Google Inc.",
        "schema",
    ]


def test_message_limits() -> None:
    assert reporters(reports_in_message(b"x" * (MAX_MESSAGE_BYTES + 1))) == ["too-large"]
    many = message(*((XML, "text", "xml", f"{n}.xml") for n in range(MAX_MESSAGE_PARTS)))
    results = reports_in_message(many)
    # The multipart root and the text body count as parts: 62 reports read, then the refusal.
    assert reporters(results) == ["google.com"] * (MAX_MESSAGE_PARTS - 2) + ["too-large"]


def test_deeply_nested_multiparts() -> None:
    depth = 3000
    lines = [b"Content-Type: multipart/mixed; boundary=b0", b""]
    for n in range(depth):
        lines += [b"--b%d" % n, b"Content-Type: multipart/mixed; boundary=b%d" % (n + 1), b""]
    raw = b"\r\n".join(lines)
    results = reports_in_message(raw)
    assert all(isinstance(r, ReportError) for r in results)


def test_garbage_is_not_a_report() -> None:
    for blob in (b"", b"   ", b"hello", b"\x00\x01\x02", b"\xff\xfe<\x00a\x00"):
        with pytest.raises(ReportError):
            ingest_report(blob)


def test_message_of_countless_parts_is_refused_before_parsing() -> None:
    # The email package would build every part first (about 0.2 ms each): counted before.
    parts = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\n\r\n" * 1_000_000
    assert reporters(reports_in_message(parts)) == ["too-large"]
    headers = b"X-Filler: y\r\n" * (MAX_HEADER_LINES + 1) + b"\r\nbody\r\n"
    assert reporters(reports_in_message(headers)) == ["too-large"]
    # A genuine message with a long Received trail and an XML report is not affected.
    trail = b"Received: from relay.example by mx.example; Thu, 16 Nov 2023\r\n" * 200
    assert reporters(reports_in_message(trail + (DATA / "rfc9990.eml").read_bytes())) == [
        "Receiver Org"
    ]


def test_forwarded_report_message() -> None:
    # An administrator forwards the report message as an attachment (message/rfc822).
    outer = EmailMessage()
    outer["From"] = "admin@asso.example"
    outer["Subject"] = "Fwd: Report Domain: asso.example"
    outer.set_content("See the attached report.\n")
    inner = email.message_from_bytes((DATA / "google.eml").read_bytes(), policy=default)
    outer.add_attachment(inner)  # as message/rfc822, its parts readable
    assert reporters(reports_in_message(bytes(outer))) == ["google.com"]


def test_sniffing_reads_past_a_tiny_first_gzip_member() -> None:
    blob = gzip.compress(b"\n") + gzip.compress(b"  \r\n") + gzip.compress(XML)
    assert ingest_report(blob).reporter == "google.com"


def test_latin1_bytes_in_a_utf8_report_are_replaced_not_fatal() -> None:
    latin1 = XML.replace(b"<org_name>google.com", "<org_name>Société Générale".encode("latin-1"))
    got = ingest_report(gzip.compress(latin1))
    assert isinstance(got, AggregateReport)
    assert got.org_name == "Soci\ufffdt\ufffd G\ufffdn\ufffdrale"
    assert got.message_count == 1256
    # Declared windows-1252, the same bytes are read as such; other XML errors stay errors.
    declared = latin1.replace(b'encoding="UTF-8"', b'encoding="windows-1252"')
    assert ingest_report(declared).reporter == "Société Générale"
    with pytest.raises(ReportError) as caught:
        ingest_report(latin1.replace(b"</feedback>", b"</feedbak>"))
    assert caught.value.reason == "xml"


def test_utf16_report_with_its_bom() -> None:
    utf16 = XML.decode().replace("UTF-8", "UTF-16").encode("utf-16")
    assert ingest_report(gzip.compress(utf16)).reporter == "google.com"
