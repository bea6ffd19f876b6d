"""summarize(): reports explained against the domain's real DNS (tests/zones/reports.test.zone
and 7.18.198.in-addr.arpa.zone, served by the DNS test server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailcheck import DnsResolver
from mailcheck.reports.services import parse_services
from mailcheck.reports.store import ReportStore
from mailcheck.reports.summary import summarize
from mailcheck.reports.summary_model import DmarcSummary, SourceCategory, SourceGroup
from tests.dnsserver import DnsTestServer
from tests.reports.reportkit import DAY, DOMAIN, record, report, tls_report

NOW = 1_800_000_000
CATALOGUE = parse_services(
    """
[[service]]
name = "Mailer"
includes = ["spf.mailer.reports.test"]
rdns = ["mailer.reports.test"]
source = "tests"

[[service]]
name = "Brevo"
includes = ["spf.brevo.com"]
rdns = ["sendinblue.com"]
source = "tests"

[[forwarder]]
name = "a list server"
labels = ["lists"]
source = "tests"
"""
)


def day_records() -> list:
    return [
        record("198.18.7.1", 100),  # the MX host: ours, signs, aligned
        # the newsletter service: SPF aligned, DKIM signed as the service only
        record("198.18.7.17", 120, dkim="fail", dkim_domain="mailer.reports.test"),
        record("198.18.7.40", 10),  # the service's nested include, DKIM set up
        # the CRM (an "a" term in its include): neither aligns
        record("198.18.7.50", 30, dkim="fail", spf="fail", spf_domain="crm.reports.test"),
        # a list server (PTR lists.*): the list's footer broke DKIM
        record("198.18.7.60", 5, dkim="fail", spf="fail", spf_domain="assoc-list.reports.test"),
        # a forwarder without a PTR: DKIM survived
        record("198.18.7.61", 4, spf="fail", spf_domain="forward.example"),
        record("198.18.7.70", 3, dkim="fail", spf="fail", spf_domain="spoofer.reports.test"),
        record("198.18.7.80", 2, dkim="fail", spf="fail", spf_domain="sendinblue.com"),
    ]


async def fill(store: ReportStore, days: int = 10) -> None:
    items: list = []
    for day in range(days):
        begin = NOW - (day + 1) * DAY
        items.append(("g", report(f"g{day}", day_records(), begin=begin)))
        items.append(
            ("y", report(f"y{day}", [record("198.18.7.1", 10)], begin=begin, reporter="Yahoo"))
        )
        # A neighbour's report sent to our rua: kept apart, never in our summary.
        items.append(
            (
                "n",
                report(
                    f"n{day}",
                    [record("198.18.7.70", 500)],
                    begin=begin,
                    domain="neighbour.reports.test",
                ),
            )
        )
    items.append(("t", tls_report("t1", begin=NOW - DAY)))
    await store.ingest(items)


@pytest.fixture
async def store(tmp_path: Path):
    async with ReportStore(str(tmp_path / "r.db"), domains=[DOMAIN], clock=lambda: NOW) as s:
        await fill(s)
        yield s


def group(summary: DmarcSummary, label: str) -> SourceGroup:
    return next(g for g in summary.groups if g.label == label)


async def test_totals_by_day_and_reporter(store: ReportStore, resolver: DnsResolver) -> None:
    summary = await summarize(store, DOMAIN, since=NOW - 30 * DAY, until=NOW, resolver=resolver)
    per_day = sum(r.count for r in day_records()) + 10
    assert summary.messages == 10 * per_day
    assert len(summary.days) == 10
    assert {r.reporter: r.messages for r in summary.reporters} == {
        "google.com": 10 * (per_day - 10),
        "Yahoo": 100,
    }
    assert summary.reports == 20
    assert 0 < summary.pass_rate < 1


async def test_sources_named_by_the_spf_include_that_authorises_them(
    store: ReportStore, resolver: DnsResolver
) -> None:
    summary = await summarize(
        store, DOMAIN, since=NOW - 30 * DAY, until=NOW, resolver=resolver, catalogue=CATALOGUE
    )
    mailer = group(summary, "Mailer")
    assert mailer.category is SourceCategory.SERVICE
    assert mailer.via == "include:spf.mailer.reports.test"
    assert set(mailer.ips) == {"198.18.7.17", "198.18.7.40"}  # the nested include too
    assert mailer.messages == 1300
    assert mailer.spf_rate == 1.0
    assert mailer.issue == "dkim-unaligned"
    assert mailer.advice is not None
    assert "DKIM for Mailer is not set up" in mailer.advice
    crm = group(summary, "_spf.crm.reports.test")
    assert (crm.category, crm.issue, crm.via) == (
        SourceCategory.SERVICE,
        "dmarc-failing",
        "include:_spf.crm.reports.test",
    )
    ours = group(summary, f"Your servers ({DOMAIN})")
    assert ours.category is SourceCategory.INFRASTRUCTURE
    assert ours.issue is None
    assert ours.messages == 1100
    assert ours.via == "mx"


async def test_each_source_classified_and_named(store: ReportStore, resolver: DnsResolver) -> None:
    summary = await summarize(
        store, DOMAIN, since=NOW - 30 * DAY, until=NOW, resolver=resolver, catalogue=CATALOGUE
    )
    by_ip = {s.ip: s for s in summary.sources}
    assert by_ip["198.18.7.1"].name == "mx.asso.reports.test"
    assert by_ip["198.18.7.17"].name == "o17.mailer.reports.test"
    assert by_ip["198.18.7.60"].category is SourceCategory.FORWARDER  # PTR lists.*
    assert by_ip["198.18.7.60"].issue == "forwarded-failing"
    assert by_ip["198.18.7.61"].category is SourceCategory.FORWARDER  # DKIM survived
    assert (by_ip["198.18.7.61"].name, by_ip["198.18.7.61"].name_known) == (None, True)
    assert by_ip["198.18.7.70"].category is SourceCategory.UNAUTHORIZED
    assert by_ip["198.18.7.70"].issue == "not-authorized"
    # Not in the SPF, but its PTR says Brevo: a service the domain may have forgotten.
    assert (by_ip["198.18.7.80"].service, by_ip["198.18.7.80"].issue) == (
        "Brevo",
        "forgotten-service",
    )
    assert dict(summary.categories) == {
        "service": 1600,
        "infrastructure": 1100,
        "forwarder": 90,
        "unauthorized": 50,
    }


async def test_findings_and_readiness(store: ReportStore, resolver: DnsResolver) -> None:
    summary = await summarize(
        store, DOMAIN, since=NOW - 30 * DAY, until=NOW, resolver=resolver, catalogue=CATALOGUE
    )
    codes = [f.code for f in summary.findings]
    assert codes.count("report.service-unaligned") == 2
    for code in (
        "report.unauthorized-source",
        "report.forwarder-failures",
        "report.policy-not-ready",
        "report.tls-failures",
    ):
        assert code in codes
    readiness = summary.readiness
    assert readiness.policy == "none"
    assert readiness.legitimate == 1100 + 1300 + 300 + 90
    assert readiness.at_risk == 300  # the CRM: neither SPF nor DKIM aligns
    assert readiness.forwarded_at_risk == 50
    assert readiness.unauthorized == 50
    assert readiness.ready_for == "none"
    assert any("_spf.crm.reports.test fails DMARC" in step for step in readiness.steps)
    (tls,) = summary.tls
    assert (tls.policy_domain, tls.policy_type, tls.failed, tls.failure_rate) == (
        DOMAIN,
        "sts",
        10,
        0.1,
    )
    assert dict(tls.failure_types) == {"certificate-expired": 10}
    (tls_finding,) = [f for f in summary.findings if f.code == "report.tls-failures"]
    assert tls_finding.details["related"] == ["tls.certificate-expired"]
    json.dumps(summary.to_dict())  # plain JSON


async def test_ready_when_legitimate_mail_aligns(tmp_path: Path, resolver: DnsResolver) -> None:
    async with ReportStore(str(tmp_path / "r.db"), clock=lambda: NOW) as store:
        for day in range(20):
            rows = [record("198.18.7.1", 1000), record("198.18.7.70", 7, dkim="fail", spf="fail")]
            await store.add(report(f"r{day}", rows, begin=NOW - (day + 1) * DAY))
        summary = await summarize(store, DOMAIN, since=NOW - 30 * DAY, until=NOW, resolver=resolver)
    assert summary.readiness.ready_for == "reject"
    assert summary.readiness.at_risk == 0
    codes = {f.code for f in summary.findings}
    assert "report.policy-ready" in codes
    assert "report.policy-not-ready" not in codes
    assert any("p=quarantine" in step for step in summary.readiness.steps)


async def test_foreign_reports_stay_out_of_a_managed_domain(
    store: ReportStore, resolver: DnsResolver
) -> None:
    assert await store.foreign_domains() == {"neighbour.reports.test": 10}
    summary = await summarize(store, DOMAIN, since=NOW - 30 * DAY, until=NOW, resolver=resolver)
    by_ip = {s.ip: s for s in summary.sources}
    assert by_ip["198.18.7.70"].messages == 30  # not the neighbour's 5,000
    other = await summarize(
        store, "neighbour.reports.test", since=NOW - 30 * DAY, until=NOW, resolver=resolver
    )
    assert other.messages == 0
    assert other.groups == ()
    assert [f.code for f in other.findings] == ["report.no-reports"]


async def test_a_dns_failure_is_name_unknown_never_an_error(
    store: ReportStore, dns_server: DnsTestServer, resolver: DnsResolver
) -> None:
    dns_server.behave("70.7.18.198.in-addr.arpa", servfail=True)
    dns_server.behave("spf.mailer.reports.test", servfail=True)
    summary = await summarize(
        store, DOMAIN, since=NOW - 30 * DAY, until=NOW, resolver=resolver, catalogue=CATALOGUE
    )
    by_ip = {s.ip: s for s in summary.sources}
    assert (by_ip["198.18.7.70"].name, by_ip["198.18.7.70"].name_known) == (None, False)
    # The include could not be read: its sources are "could not tell", not "unauthorised".
    assert by_ip["198.18.7.17"].category is SourceCategory.UNKNOWN
    assert summary.status == "unknown"
    assert "report.temperror" in {f.code for f in summary.findings}


async def test_without_a_resolver_only_what_the_reports_say(store: ReportStore) -> None:
    summary = await summarize(store, DOMAIN, since=NOW - 30 * DAY, until=NOW)
    assert summary.messages > 0
    by_ip = {s.ip: s for s in summary.sources}
    assert by_ip["198.18.7.61"].category is SourceCategory.FORWARDER
    assert by_ip["198.18.7.70"].category is SourceCategory.UNKNOWN


def test_tls_result_types_point_to_registered_codes() -> None:
    from mailcheck.codes import REGISTRY
    from mailcheck.reports.findings import TLS_RELATED

    for codes in TLS_RELATED.values():
        for code in codes:
            assert code in REGISTRY, code


GOLDEN = Path(__file__).parent.parent / "golden" / "reports-summary.json"


async def test_golden(
    store: ReportStore, resolver: DnsResolver, request: pytest.FixtureRequest
) -> None:
    """The JSON a control panel stores for a summary (tests/golden/reports-summary.json)."""
    summary = await summarize(
        store, DOMAIN, since=NOW - 30 * DAY, until=NOW, resolver=resolver, catalogue=CATALOGUE
    )
    data = json.loads(json.dumps(summary.to_dict()))
    if request.config.getoption("--update-golden"):
        GOLDEN.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    assert data == json.loads(GOLDEN.read_text())


async def test_egress_ips_are_your_infrastructure(
    store: ReportStore, resolver: DnsResolver
) -> None:
    summary = await summarize(
        store, DOMAIN, since=NOW - 30 * DAY, until=NOW, resolver=resolver, egress=["198.18.7.48/29"]
    )
    by_ip = {s.ip: s for s in summary.sources}
    assert by_ip["198.18.7.50"].category is SourceCategory.INFRASTRUCTURE
    assert by_ip["198.18.7.50"].via == "egress"
    (finding,) = [f for f in summary.findings if f.code == "report.infrastructure-unaligned"]
    assert finding.details["ips"] == ["198.18.7.50"]
    assert finding.fix is not None
    assert "your own servers" in finding.fix


async def test_delivered_on_arc_counts_as_forwarded(tmp_path: Path) -> None:
    import dataclasses

    from mailcheck.reports import PolicyOverride

    row = record("198.18.7.99", 6, dkim="fail", spf="fail")
    # Microsoft and Google: delivered on the ARC chain, said as local_policy + arc=pass.
    row = dataclasses.replace(
        row, reasons=(PolicyOverride(type="local_policy", comment="arc=pass as.1.lists.x=pass"),)
    )
    async with ReportStore(str(tmp_path / "r.db")) as store:
        await store.add(report("a", [row], begin=NOW - DAY))
        summary = await summarize(store, DOMAIN, since=NOW - 30 * DAY, until=NOW)
    (source,) = summary.sources
    assert source.forwarded == 6
    assert source.category is SourceCategory.FORWARDER


def test_readiness_steps_from_quarantine_name_reject_once() -> None:
    from mailcheck.reports.readiness import judge_readiness
    from mailcheck.reports.summary_model import SourceCategory, SourceGroup

    forwarded = SourceGroup(
        label="a list", category=SourceCategory.FORWARDER, via=None, ips=("192.0.2.9",),
        messages=100, spf_aligned=0, dkim_aligned=80, passed=80, spf_rate=0.0,
        dkim_rate=0.8, pass_rate=0.8,
    )  # fmt: skip
    readiness = judge_readiness("asso.example", policy="quarantine", groups=[forwarded], days=30)
    last = readiness.steps[-1]
    assert "publish p=reject" in last
    assert last.count("p=reject") == 1  # not "publish p=reject; then ... p=reject"
