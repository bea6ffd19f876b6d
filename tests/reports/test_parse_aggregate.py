"""DMARC aggregate reports: the corpus of reporter shapes, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailcheck.reports import AggregateReport, ReportError, ingest_report, parse_aggregate

DATA = Path(__file__).parent / "data"


def test_google_shape() -> None:
    report = parse_aggregate((DATA / "google.xml").read_bytes())
    assert isinstance(report, AggregateReport)
    assert (report.org_name, report.report_id) == ("google.com", "10786245312278549031")
    assert report.email == "noreply-dmarc-support@google.com"
    assert (report.date_range.begin, report.date_range.end) == (1700006400, 1700092799)
    assert report.domain == "asso.example"
    assert (report.policy.p, report.policy.pct, report.policy.np) == ("none", 100, "none")
    assert report.message_count == 42 + 3 + 1204 + 7
    first = report.records[0]
    assert (first.source_ip, first.count, first.disposition) == ("192.0.2.25", 42, "none")
    assert first.dmarc_pass
    assert [(r.domain, r.selector, r.result) for r in first.dkim_results] == [
        ("asso.example", "mail2026", "pass")
    ]
    assert report.records[1].source_ip == "2001:db8::25"
    assert not report.records[3].dmarc_pass
    assert report.records[3].spf_results[0].result == "softfail"


def test_ingest_reads_plain_xml() -> None:
    assert ingest_report((DATA / "google.xml").read_bytes()).kind == "aggregate"


def test_not_feedback_is_schema() -> None:
    with pytest.raises(ReportError) as caught:
        parse_aggregate(b"<html><body/></html>")
    assert caught.value.reason == "schema"
