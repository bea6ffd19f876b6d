"""Build the corpus's archives and messages from its XML and JSON (run once, committed).

    .venv/bin/python tests/reports/data/build_corpus.py

Archives are deterministic (fixed zip timestamps, gzip mtime 0) so a rebuild changes no
byte. The messages follow what each reporter sends: Google a zip, Microsoft and Yahoo a gzip
(Yahoo as application/octet-stream, named), RFC 9990 plain text/xml, a TLS report as
multipart/report with application/tlsrpt+gzip (RFC 8460 §5.3), and a message carrying a good
report beside a corrupt one.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path

DATA = Path(__file__).parent
DATE = "Thu, 16 Nov 2023 04:12:09 +0000"


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name, date_time=(2023, 11, 16, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, data)
    return buffer.getvalue()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def message(sender: str, subject: str, attachments: list[tuple[bytes, str, str, str]]) -> bytes:
    """A report message: a text part, then (data, maintype, subtype, filename) parts."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "dmarc@asso.example"
    msg["Subject"] = subject
    msg["Date"] = DATE
    msg["Message-ID"] = f"<{zlib.crc32(subject.encode())}.corpus@reporter.example>"
    msg.set_content("This is an aggregate report for asso.example.\n")
    for data, maintype, subtype, filename in attachments:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    msg.set_boundary("==corpus-boundary==")  # a fixed boundary: the file is reproducible
    return bytes(msg)


def main() -> None:
    read = {
        name: (DATA / name).read_bytes()
        for name in (
            "google.xml",
            "microsoft.xml",
            "yahoo.xml",
            "rfc9990.xml",
            "tlsrpt-google.json",
        )
    }
    google_zip = zipped("google.com!asso.example!1700006400!1700092799.xml", read["google.xml"])
    files = {
        "google.zip": google_zip,
        "microsoft.xml.gz": gzipped(read["microsoft.xml"]),
        "yahoo.xml.gz": gzipped(read["yahoo.xml"]),
        "tlsrpt-google.json.gz": gzipped(read["tlsrpt-google.json"]),
    }
    files["google.eml"] = message(
        "noreply-dmarc-support@google.com",
        "Report domain: asso.example Submitter: google.com Report-ID: 10786245312278549031",
        [(google_zip, "application", "zip", "google.com!asso.example!1700006400!1700092799.zip")],
    )
    files["microsoft.eml"] = message(
        "dmarcreport@microsoft.com",
        "Report Domain: asso.example Submitter: enterprise.protection.outlook.com",
        [
            (
                files["microsoft.xml.gz"],
                "application",
                "gzip",
                "enterprise.protection.outlook.com!asso.example!1700006400!1700092800.xml.gz",
            )
        ],
    )
    files["yahoo.eml"] = message(
        "noreply@dmarc.yahoo.com",
        "Report Domain: asso.example Submitter: yahoo.com",
        [
            (
                files["yahoo.xml.gz"],
                "application",
                "octet-stream",
                "yahoo.com!asso.example!1700006400!1700092799.xml.gz",
            )
        ],
    )
    files["rfc9990.eml"] = message(
        "dmarc-reports@receiver.example",
        "Report Domain: asso.example Submitter: receiver.example",
        [(read["rfc9990.xml"], "text", "xml", "receiver.example!asso.example!1700006400.xml")],
    )
    tls = EmailMessage()
    tls["From"] = "smtp-tls-reporting@google.com"
    tls["To"] = "tlsrpt@asso.example"
    tls["Subject"] = "Report Domain: asso.example Submitter: google.com Report-ID: <2023.11.15>"
    tls["Date"] = DATE
    tls["TLS-Report-Domain"] = "asso.example"
    tls["TLS-Report-Submitter"] = "google.com"
    tls.set_content("This is an aggregate TLS report from google.com\n")
    tls.add_attachment(
        files["tlsrpt-google.json.gz"],
        maintype="application",
        subtype="tlsrpt+gzip",
        filename="google.com!asso.example!1700006400!1700092799!001.json.gz",
    )
    tls.set_type("multipart/report")  # RFC 8460 §5.3
    tls.set_param("report-type", "tlsrpt")
    tls.set_boundary("==corpus-boundary==")
    files["tlsrpt-google.eml"] = bytes(tls)
    files["mixed.eml"] = message(
        "reports@mixed.example",
        "Two reports, one corrupt",
        [
            (b"\x1f\x8bnot really gzip", "application", "gzip", "broken.xml.gz"),
            (google_zip, "application", "zip", "google.zip"),
        ],
    )
    for name, data in files.items():
        (DATA / name).write_bytes(data)


if __name__ == "__main__":
    main()
