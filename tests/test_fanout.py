"""A hostile zone cannot make one audit flood DNS: caps per MX host and domain, a query budget.

``fanout.test`` publishes 12 MX hosts of 300 addresses each (3,600 addresses). Before the
caps, an audit checked the reputation of every one of them (PTR, forward lookups, every
blocklist): tens of thousands of questions. The DNS test server logs every query it
receives, so the bound is proven where it matters: at the server.
"""

from __future__ import annotations

from pathlib import Path

import dns.name
import pytest

from mailcheck import CheckStatus, DnsResolver
from mailcheck.audit import audit_domain
from mailcheck.lookup.budget import DEFAULT_QUERY_BUDGET, QueryBudget, QueryBudgetExhausted
from mailcheck.mx import MAX_ADDRESSES_PER_HOST, MAX_MX_HOSTS, audit_mx
from mailcheck.reputation import BlocklistChecker, load_catalogue
from tests.dnsserver import DnsTestServer

HOSTS, ADDRESSES = 12, 300
LISTS = Path(__file__).parent / "audit_lists.toml"


def fanout_zone() -> str:
    lines = [
        "$TTL 300",
        "@ SOA ns hostmaster 1 3600 600 86400 60",
        "@ NS ns",
        "ns A 127.0.0.1",
        '@ TXT "v=spf1 mx -all"',
        '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@fanout.test"',
    ]
    for host in range(HOSTS):
        lines.append(f"@ MX {host + 1} mx{host:02d}")
        lines += [f"mx{host:02d} A 10.{host}.{n // 250}.{n % 250 + 1}" for n in range(ADDRESSES)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def fanout(dns_server: DnsTestServer) -> DnsTestServer:
    if dns_server.zoneset.zone_for(dns.name.from_text("fanout.test")) is None:
        dns_server.add_zone("fanout.test.", fanout_zone())
    return dns_server


def distinct_questions(server: DnsTestServer) -> int:
    # A truncated UDP answer is asked again over TCP: one question, two log lines.
    return len({(q.name, q.rdtype) for q in server.log})


async def test_mx_caps_hosts_and_addresses(fanout: DnsTestServer, resolver: DnsResolver) -> None:
    result = await audit_mx("fanout.test", resolver=resolver)
    assert [h.host for h in result.hosts] == [f"mx{n:02d}.fanout.test" for n in range(10)]
    assert result.host_count == HOSTS
    assert all(len(h.addresses) == MAX_ADDRESSES_PER_HOST for h in result.hosts)
    assert all(h.address_count == ADDRESSES for h in result.hosts)
    (hosts,) = [f for f in result.findings if f.code == "mx.too-many-hosts"]
    assert hosts.details == {
        "hosts": HOSTS,
        "limit": MAX_MX_HOSTS,
        "skipped": ["mx10.fanout.test", "mx11.fanout.test"],
    }
    # One finding for the ten hosts cut, not ten copies of it.
    (cut,) = [f for f in result.findings if f.code == "mx.too-many-addresses"]
    assert cut.subject == "fanout.test"
    assert cut.details == {
        "hosts": {f"mx{n:02d}.fanout.test": ADDRESSES for n in range(MAX_MX_HOSTS)},
        "limit": MAX_ADDRESSES_PER_HOST,
    }
    assert fanout.count("mx11.fanout.test") == 0  # past the cap: never looked up
    assert result.status is CheckStatus.WARN


async def test_mx_caps_are_overridable(fanout: DnsTestServer, resolver: DnsResolver) -> None:
    result = await audit_mx("fanout.test", resolver=resolver, max_hosts=2, max_addresses=1)
    assert [len(h.addresses) for h in result.hosts] == [1, 1]
    wide = await audit_mx("fanout.test", resolver=resolver, max_hosts=20, max_addresses=1000)
    assert len(wide.hosts) == HOSTS
    assert "mx.too-many-hosts" not in {f.code for f in wide.findings}
    assert {len(h.addresses) for h in wide.hosts} == {ADDRESSES}


async def test_whole_audit_stays_under_the_default_budget(
    fanout: DnsTestServer, resolver: DnsResolver
) -> None:
    checker = BlocklistChecker(resolver=resolver, catalogue=load_catalogue(LISTS, builtin=False))
    report = await audit_domain("fanout.test", resolver=resolver, blocklists=checker)
    assert len(report.ips) == MAX_MX_HOSTS * MAX_ADDRESSES_PER_HOST
    assert report.queries <= DEFAULT_QUERY_BUDGET
    assert distinct_questions(fanout) <= DEFAULT_QUERY_BUDGET
    codes = {f.code for f in report.findings}
    assert {"mx.too-many-hosts", "mx.too-many-addresses"} <= codes


async def test_a_small_budget_is_never_exceeded_and_reads_unknown(
    fanout: DnsTestServer, resolver: DnsResolver
) -> None:
    # The checker is made by the audit: its zone self-tests are charged too.
    report = await audit_domain("fanout.test", resolver=resolver, max_queries=40)
    assert distinct_questions(fanout) <= 40
    assert report.queries == 40
    codes = [f.code for f in report.findings]
    assert "domain.query-budget-exhausted" in codes
    (budget,) = [f for f in report.findings if f.code == "domain.query-budget-exhausted"]
    assert budget.details["limit"] == 40
    assert budget.details["refused"] > 0
    # Blocklists whose self-test the budget refused are not "broken": the budget finding
    # says why they are unknown.
    assert "rbl.zone-broken" not in codes
    # What could not be asked is unknown, never missing.
    assert not {"spf.missing", "dmarc.missing", "mx.none", "dkim.not-published"} & set(codes)
    unknown = [c for c in (report.spf, report.dmarc, report.dkim, report.mx) if c.error]
    assert unknown, "some check was cut by the budget"
    for check in unknown:
        # Unknown, or fail when a certain error was found before the budget ran out
        # (SPF's mx with 12 hosts is past RFC 7208's limit whatever else is learnt).
        assert check.status in (CheckStatus.UNKNOWN, CheckStatus.FAIL)
        assert "budget" in (check.error or "")
    assert any(c.status is CheckStatus.UNKNOWN for c in unknown)
    assert report.status in (CheckStatus.UNKNOWN, CheckStatus.FAIL)


def test_budget_counts_identical_questions_once_and_refuses_bad_limits() -> None:
    budget = QueryBudget(2)
    budget.charge("a.example", "A")
    budget.charge("A.example.", "a")
    budget.charge("a.example", "AAAA")
    assert budget.used == 2
    assert not budget.exhausted
    with pytest.raises(QueryBudgetExhausted, match="budget"):
        budget.charge("b.example", "A")
    assert budget.exhausted
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="query budget"):
            QueryBudget(bad)  # type: ignore[arg-type]


async def test_implicit_mx_is_capped_too(fanout: DnsTestServer, resolver: DnsResolver) -> None:
    # No MX at mx00.fanout.test: its own 300 addresses receive mail (implicit MX).
    result = await audit_mx("mx00.fanout.test", resolver=resolver)
    assert result.implicit
    assert len(result.hosts[0].addresses) == MAX_ADDRESSES_PER_HOST
    assert {f.code for f in result.findings} == {"mx.implicit", "mx.too-many-addresses"}
