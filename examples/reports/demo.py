"""A month of DMARC aggregate and TLS reports for a small association, stored and explained.

    .venv/bin/python examples/reports/demo.py [--html summary.html] [--db reports.db]

Builds the reports receivers would send about ``asso.example`` over 30 days (its own server,
its Brevo newsletter whose DKIM is not set up, a CRM relay, a mailing list, a forwarder and
some spoofing), stores them in a report store, and prints the summary; with ``--html``,
writes the self-contained page (the screenshot in docs/reports.md comes from it). Runs
offline: DNS answers come from the zone files beside this script.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from mailcheck import ZoneResolver
from mailcheck.cli.reports_text import summary_text
from mailcheck.reports import (
    AggregateRecord,
    AggregateReport,
    AuthResult,
    DateRange,
    PolicyOverride,
    PublishedPolicy,
    TlsFailure,
    TlsPolicyResult,
    TlsReport,
)
from mailcheck.reports.html import render_html
from mailcheck.reports.store import ReportStore
from mailcheck.reports.summary import summarize
from mailcheck.reports.summary_model import DmarcSummary

DOMAIN = "asso.example"
DAY = 86400
ZONES = Path(__file__).parent
REPORTERS = ("google.com", "Outlook.com", "Yahoo", "Orange", "La Poste")


def _row(
    ip: str, count: int, dkim: str, spf: str, signer: str | None, mfrom: str, *reasons: str
) -> AggregateRecord:
    return AggregateRecord(
        source_ip=ip,
        count=count,
        disposition="none",
        dkim=dkim,
        spf=spf,
        header_from=DOMAIN,
        reasons=tuple(PolicyOverride(type=r) for r in reasons),
        dkim_results=(
            (AuthResult(method="dkim", domain=signer, result="pass", selector="s1"),)
            if signer
            else ()
        ),
        spf_results=(
            AuthResult(method="spf", domain=mfrom, result="pass" if spf == "pass" else "fail"),
        ),
    )


def day_rows(rng: random.Random, weekday: int) -> list[AggregateRecord]:
    """What one reporter saw in one day: the newsletter goes out on Tuesdays."""
    newsletter = 900 if weekday == 1 else 0
    rows = [
        _row("198.51.100.10", rng.randint(60, 120), "pass", "pass", DOMAIN, DOMAIN),
        _row("198.51.100.40", rng.randint(5, 15), "fail", "fail", "crm-helper.example",
             "bounce.crm-helper.example"),
        _row("198.51.100.60", rng.randint(2, 8), "fail", "fail", None, "framalistes.org"),
        _row("198.51.100.61", rng.randint(1, 5), "pass", "fail", DOMAIN, "forwarder.example.net",
             "forwarded"),
        _row(f"198.51.100.{rng.choice((200, 201, 230))}", rng.randint(0, 6), "fail", "fail",
             None, "spam.example"),
    ]  # fmt: skip
    if newsletter:
        rows.append(_row("198.51.100.17", newsletter // 2, "fail", "pass", "brevo.com", DOMAIN))
        rows.append(_row("198.51.100.18", newsletter // 2, "fail", "pass", "brevo.com", DOMAIN))
    return [r for r in rows if r.count]


def reports(now: int, days: int = 30) -> list[tuple[str, AggregateReport | TlsReport]]:
    rng = random.Random(14)
    found: list[tuple[str, AggregateReport | TlsReport]] = []
    for day in range(days, 0, -1):
        begin = (now // DAY - day) * DAY
        weekday = time.gmtime(begin).tm_wday
        for reporter in REPORTERS:
            report = AggregateReport(
                org_name=reporter,
                email=f"dmarc-noreply@{reporter.lower().replace(' ', '')}.example",
                report_id=f"{reporter}-{begin}",
                date_range=DateRange(begin, begin + DAY - 1),
                policy=PublishedPolicy(domain=DOMAIN, p="none", adkim="r", aspf="r"),
                records=tuple(day_rows(rng, weekday)),
            )
            found.append((f"{reporter}!{DOMAIN}!{begin}", report))
        failed = rng.choice((0, 0, 3, 12))
        tls = TlsReport(
            org_name="Google Inc.",
            report_id=f"tls-{begin}",
            date_range=DateRange(begin, begin + DAY - 1),
            contact_info="smtp-tls-reporting@google.com",
            policies=(
                TlsPolicyResult(
                    policy_type="sts", policy_domain=DOMAIN, successful=rng.randint(150, 260),
                    failed=failed, mx_hosts=(f"mail.{DOMAIN}",),
                    failures=(TlsFailure(result_type="certificate-expired",
                                         failed_session_count=failed,
                                         receiving_mx_hostname=f"mail.{DOMAIN}"),)
                    if failed else (),
                ),
            ),
        )  # fmt: skip
        found.append((f"tls-{begin}", tls))
    return found


async def main(db: str) -> DmarcSummary:
    now = int(time.time())
    resolver = ZoneResolver(sorted(ZONES.glob("*.zone")))
    async with ReportStore(db, domains=[DOMAIN]) as store:
        await store.ingest(reports(now))
        summary = await summarize(store, DOMAIN, since=now - 30 * DAY, until=now, resolver=resolver)
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="DMARC reports of a demo association.")
    parser.add_argument("--html", help="write the HTML summary to this file")
    parser.add_argument("--db", help="the report store (default: a temporary file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        summary = asyncio.run(main(args.db or f"{tmp}/reports.db"))
    sys.stdout.write(summary_text(summary))
    if args.html:
        Path(args.html).write_text(render_html(summary), encoding="utf-8")
