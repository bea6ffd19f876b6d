"""The domain report of an audit, assembled from the checks' results (no I/O).

:func:`build_report` judges the domain: its findings, worst first, each once; its status,
where only the checks that decide delivery (SPF, DMARC, DKIM, MX) can make it ``unknown``;
whether it is parked. :mod:`mailcheck.audit` runs the checks and calls it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from mailcheck import codes
from mailcheck.dkim.audit import DkimAuditResult
from mailcheck.dmarc.audit import DmarcResult
from mailcheck.lookup.budget import QueryBudget
from mailcheck.model import (
    CheckStatus,
    Finding,
    error_of,
    sort_findings,
    status_of,
    to_dict,
    worst_status,
)
from mailcheck.mx import MxResult
from mailcheck.reputation import DomainListingReport, IpReport
from mailcheck.reputation.coverage import BlocklistCoverage, coverage_of
from mailcheck.spf.audit import SpfResult
from mailcheck.tls.types import TransportResult

__all__ = ["Checks", "DomainReport", "build_report", "not_queried", "with_transport"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DomainReport:
    """Everything known about one domain's mail setup.

    Attributes:
        domain: the audited domain (A-labels, lower case).
        status: ``pass | warn | fail | unknown`` over every check.
        findings: every finding of every check, worst first.
        parked: the domain neither sends nor receives mail (``v=spf1 -all``,
            DMARC ``p=reject``, null MX), so no DKIM key is expected.
        spf, dmarc, dkim, mx: the result of each check.
        ips: the reputation of each checked address (MX hosts and declared IPs).
        domain_lists: the domain and its MX names against domain blocklists.
        blocklists: over every IP and name: zones asked, read, not readable, and not
            asked (offline); ``None`` without reputation checks.
        queries: distinct DNS questions the audit asked (its query budget's use).
        transport: STARTTLS (when probed), MTA-STS, TLS-RPT, DNSSEC and DANE; ``None``
            when not checked (``transport=False``).
    """

    domain: str
    status: CheckStatus
    findings: tuple[Finding, ...]
    parked: bool
    spf: SpfResult
    dmarc: DmarcResult
    dkim: DkimAuditResult
    mx: MxResult
    ips: tuple[IpReport, ...] = ()
    domain_lists: DomainListingReport | None = None
    blocklists: BlocklistCoverage | None = None
    queries: int = 0
    transport: TransportResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON data (documented in ``docs/json.md``)."""
        data: dict[str, Any] = to_dict(self)
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class Checks:
    """The four checks that decide whether mail is delivered."""

    spf: SpfResult
    dmarc: DmarcResult
    dkim: DkimAuditResult
    mx: MxResult


def with_transport(report: DomainReport, transport: TransportResult) -> DomainReport:
    """The report with the transport checks' findings; like reputation, a transport check
    that could not run (a probe from a network without port 25) leaves the domain at
    worst ``warn``, while a certain error (no STARTTLS, a broken policy) fails it."""
    if report.parked:
        # A parked domain receives no mail: nothing to say about how mail reaches it.
        return dataclasses.replace(report, transport=transport)
    findings = [*report.findings, *(f for f in transport.findings if f not in report.findings)]
    status = worst_status([report.status, _reputation_status(transport.status)])
    return dataclasses.replace(
        report, findings=sort_findings(findings), status=status, transport=transport
    )


def not_queried(ips: tuple[IpReport, ...], lists: DomainListingReport | None) -> list[str]:
    zones = {zone for report in ips for zone in report.coverage.not_queried}
    if lists is not None:
        zones.update(lists.coverage.not_queried)
    return sorted(zones)


def build_report(
    domain: str,
    checks: Checks,
    ips: tuple[IpReport, ...],
    lists: DomainListingReport | None,
    run: list[Finding],
    budget: QueryBudget,
) -> DomainReport:
    spf, dmarc, mx = _with_error(checks.spf), _with_error(checks.dmarc), _with_error(checks.mx)
    dkim = _with_error(checks.dkim)
    parked = _is_parked(spf, dmarc, mx)
    if parked:
        # A parked domain sends nothing: there is no DKIM key to expect.
        dkim = _without_missing_selector(dkim, domain)
    findings: list[Finding] = []
    if parked:
        findings.append(
            codes.DOMAIN_PARKED.finding(
                domain,
                "The domain publishes v=spf1 -all, DMARC p=reject and a null MX: "
                "it neither sends nor receives mail, so no DKIM key is expected.",
            )
        )
    if budget.exhausted:
        findings.append(_budget_finding(domain, budget))
    core: list[Any] = [spf, dmarc, dkim, mx]
    reputation: list[Any] = [*ips, *([lists] if lists is not None else [])]
    for part in core:
        findings.extend(f for f in part.findings if f not in findings)
    for part in reputation:
        # Run-wide findings (broken zones, offline zones) are in `run`, grouped, once.
        findings.extend(
            f for f in part.findings if f.code not in _RUN_WIDE_CODES and f not in findings
        )
    findings.extend(run)
    status = worst_status(
        [
            *(p.status for p in core),
            # Only the checks that decide delivery can make the domain unknown: a list
            # that could not be read leaves the domain's status at worst "warn".
            *(_reputation_status(p.status) for p in reputation),
            _reputation_status(status_of(f for f in findings if f.code in _DOMAIN_CODES)),
            _reputation_status(status_of(run)),
        ]
    )
    return DomainReport(
        domain=domain,
        status=status,
        findings=sort_findings(findings),
        parked=parked,
        spf=spf,
        dmarc=dmarc,
        dkim=dkim,
        mx=mx,
        ips=ips,
        domain_lists=lists,
        blocklists=_coverage(ips, lists) if lists is not None else None,
        queries=budget.used,
    )


# Findings about the run, not the domain: taken once from the checker, grouped.
_RUN_WIDE_CODES = frozenset(
    {codes.RBL_ZONE_BROKEN.id, codes.RBL_RESOLVER_REFUSED.id, codes.RBL_NOT_QUERIED.id}
)
_DOMAIN_CODES = frozenset({codes.DOMAIN_QUERY_BUDGET_EXHAUSTED.id, codes.DOMAIN_PARKED.id})


def _reputation_status(status: CheckStatus) -> CheckStatus:
    return CheckStatus.WARN if status is CheckStatus.UNKNOWN else status


def _coverage(ips: tuple[IpReport, ...], lists: DomainListingReport | None) -> BlocklistCoverage:
    listings = [x for report in ips for x in (*report.listings, *report.name_listings)]
    if lists is not None:
        listings.extend(lists.listings)
    return coverage_of(listings, not_queried(ips, lists))


def _budget_finding(domain: str, budget: QueryBudget) -> Finding:
    return codes.DOMAIN_QUERY_BUDGET_EXHAUSTED.finding(
        domain,
        f"The audit asked its {budget.limit} DNS questions and stopped there: "
        f"{budget.refused} more were not asked, so the checks that needed them are "
        "unknown, not missing.",
        details={"limit": budget.limit, "used": budget.used, "refused": budget.refused},
        fix="Fewer MX hosts, addresses and SPF includes; or raise the budget "
        "(max_queries=) if this domain really needs more.",
    )


_Result = TypeVar("_Result", SpfResult, DmarcResult, DkimAuditResult, MxResult)


def _with_error(result: _Result) -> _Result:
    """Fill ``error`` (why the check could not run) from its ``*.temperror`` findings."""
    if result.error is not None:
        return result
    error = error_of(result.findings)
    return result if error is None else dataclasses.replace(result, error=error)


def _is_parked(spf: SpfResult, dmarc: DmarcResult, mx: MxResult) -> bool:
    """``v=spf1 -all``, DMARC ``p=reject`` and a null MX."""
    record = " ".join((spf.record or "").lower().split())
    return record == "v=spf1 -all" and dmarc.policy == "reject" and mx.null_mx


def _without_missing_selector(dkim: DkimAuditResult, domain: str) -> DkimAuditResult:
    kept = tuple(f for f in dkim.findings if f.code != "dkim.no-selector-found")
    return dataclasses.replace(dkim, findings=kept, status=status_of(kept))
