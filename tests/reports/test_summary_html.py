"""The HTML and text summaries of hostile reports: every value escaped, never a crash."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailcheck.cli.reports_text import summary_text
from mailcheck.reports import (
    AggregateRecord,
    AggregateReport,
    AuthResult,
    DateRange,
    PolicyOverride,
    PublishedPolicy,
    ReportStore,
    TlsFailure,
    TlsPolicyResult,
    TlsReport,
    render_html,
    summarize,
)
from tests.reports.reportkit import DAY, DOMAIN, record, report

NOW = 1_800_000_000
_text = st.text(max_size=40)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)")
_OURS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "div", "b", "span",
    "table", "thead", "tbody", "tr", "th", "td", "code", "ol", "ul", "li", "svg", "line",
    "text", "rect", "polyline",
}  # fmt: skip


def hostile_report(reporter: str, ip: str, signer: str, reason: str, rid: str) -> AggregateReport:
    row = AggregateRecord(
        source_ip=ip,
        count=3,
        disposition="none",
        dkim="fail",
        spf="fail",
        header_from=DOMAIN,
        reasons=(PolicyOverride(type=reason),),
        dkim_results=(AuthResult(method="dkim", domain=signer, result="pass"),),
    )
    return AggregateReport(
        org_name=reporter,
        email=None,
        report_id=rid,
        date_range=DateRange(NOW - DAY, NOW - 1),
        policy=PublishedPolicy(domain=DOMAIN, p=reason),
        records=(row,),
    )


def hostile_tls(reporter: str, kind: str) -> TlsReport:
    return TlsReport(
        org_name=reporter,
        report_id=reporter + kind,
        date_range=DateRange(NOW - DAY, NOW - 1),
        contact_info=None,
        policies=(
            TlsPolicyResult(
                policy_type=kind,
                policy_domain=DOMAIN,
                successful=1,
                failed=2,
                failures=(TlsFailure(result_type=kind, failed_session_count=2),),
            ),
        ),
    )


def check_page(page: str, reporter: str) -> None:
    # Only our own elements: no value became markup.
    for _, tag in _TAG.findall(page.split("<body>", 1)[1]):
        assert tag.lower() in _OURS, tag
    if reporter:
        assert html.escape(reporter) in page  # shown, as text


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(reporter=_text, ip=_text, signer=_text, reason=_text, rid=_text)
def test_hostile_values_render_as_text(
    tmp_path_factory: pytest.TempPathFactory,
    reporter: str,
    ip: str,
    signer: str,
    reason: str,
    rid: str,
) -> None:
    path = tmp_path_factory.mktemp("h") / "r.db"

    async def run() -> object:
        async with ReportStore(str(path)) as store:
            await store.add(hostile_report(reporter, ip, signer, reason, rid))
            await store.add(hostile_tls(reporter, reason))
            return await summarize(store, DOMAIN, since=NOW - 30 * DAY, until=NOW)

    summary = asyncio.run(run())
    page = render_html(summary)  # type: ignore[arg-type]
    check_page(page, reporter)
    text = summary_text(summary)  # type: ignore[arg-type]
    assert "\x1b" not in text
    assert all(c.isprintable() or c == "\n" for c in text)


async def test_a_script_reporter_is_text(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    async with ReportStore(str(tmp_path / "r.db")) as store:
        await store.add(report("a", [record("198.18.7.1", 5)], begin=NOW - DAY, reporter=evil))
        summary = await summarize(store, DOMAIN, since=NOW - 30 * DAY, until=NOW)
    page = render_html(summary)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<svg" in page


async def test_no_reports_is_a_page_too(tmp_path: Path) -> None:
    async with ReportStore(str(tmp_path / "r.db")) as store:
        summary = await summarize(store, DOMAIN, since=NOW - 30 * DAY, until=NOW)
    page = render_html(summary)
    assert "No aggregate report in the period." in page
    assert "report.no-reports" in page


async def test_thousands_of_groups_are_capped_in_the_page(tmp_path: Path) -> None:
    import dataclasses

    from mailcheck.reports.html import MAX_GROUPS

    async with ReportStore(str(tmp_path / "r.db")) as store:
        await store.add(report("a", [record("198.18.7.1", 1)], begin=NOW - DAY))
        summary = await summarize(store, DOMAIN, since=NOW - 30 * DAY, until=NOW)
    (group,) = summary.groups
    many = tuple(dataclasses.replace(group, label=f"net{i}.example") for i in range(3000))
    page = render_html(dataclasses.replace(summary, groups=many))
    assert "net99.example" in page
    assert "net100.example" not in page
    assert f"... and {3000 - MAX_GROUPS:,} smaller groups" in page
