"""``audit_domain``: every check of a sending domain, run concurrently, in one report.

SPF, DMARC, DKIM keys and MX start at once; the reputation of the MX hosts'
addresses and of the IPs the caller declares (reverse DNS, blocklists) starts
as soon as the addresses are known. The wall time approaches the longest
chain of dependent queries, not their sum.

The fan-out is bounded: at most ``max_mx_hosts`` MX hosts and
``max_addresses_per_host`` addresses each are checked (a finding says when the
caps cut), and the whole audit asks at most ``max_queries`` distinct questions
(:class:`~mailcheck.lookup.budget.QueryBudget`): past it, the remaining checks
are ``unknown`` with a ``domain.query-budget-exhausted`` finding.

The domain's status rests on the checks that decide delivery (SPF, DMARC, DKIM,
MX): a blocklist that could not be read makes its IP report ``unknown`` but the
domain at worst ``warn``; a listing still fails it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Any, TypeVar

from mailcheck import codes
from mailcheck.dkim.audit import DkimAuditResult, audit_dkim
from mailcheck.dmarc.audit import DmarcResult, audit_dmarc
from mailcheck.dmarc.record import DmarcMode
from mailcheck.errors import ConfigError, ParseError
from mailcheck.lookup.budget import DEFAULT_QUERY_BUDGET, QueryBudget
from mailcheck.lookup.domains import normalize_domain
from mailcheck.lookup.resolver import DnsResolver, Resolver
from mailcheck.model import (
    CheckStatus,
    Finding,
    error_of,
    sort_findings,
    status_of,
    to_dict,
    worst_status,
)
from mailcheck.mx import MAX_ADDRESSES_PER_HOST, MAX_MX_HOSTS, MxResult, audit_mx
from mailcheck.reputation import BlocklistChecker, DomainListingReport, IpReport, ZoneKind, verdicts
from mailcheck.reputation.coverage import BlocklistCoverage, coverage_of
from mailcheck.reputation.rdns import parse_ip
from mailcheck.spf.audit import SpfResult, audit_spf
from mailcheck.tls.audit import MxTargets, TlsOptions, audit_transport
from mailcheck.tls.types import TransportResult


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


async def audit_domain(
    domain: str,
    /,
    *,
    ips: Sequence[str] = (),
    selectors: Sequence[str] = (),
    resolver: Resolver | None = None,
    blocklists: BlocklistChecker | None = None,
    reputation: bool = True,
    probe_selectors: bool = True,
    dmarc_mode: str = "tree",
    max_queries: int = DEFAULT_QUERY_BUDGET,
    max_mx_hosts: int = MAX_MX_HOSTS,
    max_addresses_per_host: int = MAX_ADDRESSES_PER_HOST,
    transport: bool = True,
    probe_smtp: bool = False,
    tls: TlsOptions | None = None,
) -> DomainReport:
    """Audit the mail setup of ``domain``: SPF, DMARC, DKIM keys, MX, IP reputation.

    Args:
        domain: the domain to audit (U-labels are accepted).
        ips: the real egress IPs of the domain's mail: checked against SPF, reverse
            DNS and blocklists.
        selectors: DKIM selectors in use; common ones are probed as well.
        resolver: the DNS resolver (default: a :class:`DnsResolver` on the system's).
        blocklists: a shared :class:`BlocklistChecker` (its zone self-tests are run
            once per checker: share it across a bulk run); one is made if needed.
        reputation: check reverse DNS and blocklists of the MX hosts and ``ips``.
        probe_selectors: also look for commonly used DKIM selectors.
        dmarc_mode: ``"tree"`` (RFC 9989 DNS tree walk) or ``"psl"`` (RFC 7489).
        max_queries: distinct DNS questions the audit may ask (default
            :data:`~mailcheck.lookup.budget.DEFAULT_QUERY_BUDGET`); past it the
            remaining checks are ``unknown`` (``domain.query-budget-exhausted``).
            The zone self-tests of a shared ``blocklists`` checker are not charged.
        max_mx_hosts: MX hosts checked (default :data:`~mailcheck.mx.MAX_MX_HOSTS`).
        max_addresses_per_host: addresses checked per MX host (default
            :data:`~mailcheck.mx.MAX_ADDRESSES_PER_HOST`).
        transport: check MTA-STS, TLS-RPT, DNSSEC and DANE (see
            :func:`~mailcheck.tls.audit.audit_transport`).
        probe_smtp: also connect to port 25 of each MX host (STARTTLS probe); opt-in.
        tls: how transport security is checked (timeouts, CA file, DNSSEC validator).

    Raises:
        ParseError: ``domain`` is not a domain name.
        ConfigError: an IP in ``ips`` is not an address (the message names it),
            ``dmarc_mode`` is not ``tree`` or ``psl``, or a cap or ``max_queries`` is not
            a positive integer.

    Example:
        >>> report = await audit_domain("example.org", ips=["192.0.2.10"])  # doctest: +SKIP
        >>> report.status, [f.code for f in report.findings]                # doctest: +SKIP
    """
    name = normalize_domain(domain)
    addresses = _parse_ips(ips)
    # Every argument is checked here, before the checks start: a caller's mistake is one
    # ConfigError, never an ExceptionGroup out of the task group.
    mode = _dmarc_mode(dmarc_mode)
    caps = _MxCaps(
        hosts=_positive("max_mx_hosts", max_mx_hosts),
        addresses=_positive("max_addresses_per_host", max_addresses_per_host),
    )
    budget = QueryBudget(max_queries)
    asking = budget.wrap(resolver or DnsResolver())
    # A checker made here lives for this audit: its self-tests are charged too. A shared
    # one (a bulk run) self-tests once per run; only its questions about this domain are.
    shared = None if blocklists is None else budget
    if reputation and blocklists is None:
        blocklists = BlocklistChecker(resolver=asking)
    async with asyncio.TaskGroup() as group:
        spf = group.create_task(audit_spf(name, resolver=asking, ips=addresses))
        dmarc = group.create_task(audit_dmarc(name, resolver=asking, mode=mode))
        dkim = group.create_task(
            audit_dkim(name, resolver=asking, selectors=selectors, probe=probe_selectors)
        )
        mx = group.create_task(
            _mx_then_reputation(name, addresses, asking, blocklists, caps, shared)
        )
        options = dataclasses.replace(
            tls or TlsOptions(), probe_smtp=probe_smtp or bool(tls and tls.probe_smtp)
        )
        secured = (
            group.create_task(
                audit_transport(
                    name, resolver=asking, hosts=_mx_targets(name, asking, caps), options=options
                )
            )
            if transport
            else None
        )
    mx_result, ip_reports, lists = mx.result()
    checks = _Checks(spf.result(), dmarc.result(), dkim.result(), mx_result)
    run = await _run_findings(blocklists, ip_reports, lists)
    report = _report(name, checks, ip_reports, lists, run, budget)
    return report if secured is None else _with_transport(report, secured.result())


@dataclasses.dataclass(frozen=True, slots=True)
class _MxCaps:
    """The fan-out caps of one audit's MX check."""

    hosts: int
    addresses: int


@dataclasses.dataclass(frozen=True, slots=True)
class _Checks:
    """The four checks that decide whether mail is delivered."""

    spf: SpfResult
    dmarc: DmarcResult
    dkim: DkimAuditResult
    mx: MxResult


async def _mx_targets(domain: str, resolver: Resolver, caps: _MxCaps) -> MxTargets:
    """The MX hosts and their addresses for the transport checks. The questions are the
    MX check's own: the resolver answers them once (single-flight, cache, budget)."""
    mx = await audit_mx(
        domain, resolver=resolver, max_hosts=caps.hosts, max_addresses=caps.addresses
    )
    return [(host.host, host.addresses) for host in mx.hosts if host.host != "."]


def _with_transport(report: DomainReport, transport: TransportResult) -> DomainReport:
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


def _dmarc_mode(mode: DmarcMode | str) -> DmarcMode:
    try:
        return DmarcMode(mode)
    except ValueError:
        raise ConfigError(f"dmarc_mode {mode!r}: expected 'tree' or 'psl'") from None


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} {value!r}: expected a positive integer")
    return value


def _parse_ips(ips: Sequence[str]) -> tuple[str, ...]:
    parsed = []
    for ip in ips:
        try:
            parsed.append(str(parse_ip(ip)))
        except ParseError as exc:
            raise ConfigError(f"ips: {exc.reason}") from None
    return tuple(dict.fromkeys(parsed))


async def _mx_then_reputation(
    domain: str,
    ips: tuple[str, ...],
    resolver: Resolver,
    blocklists: BlocklistChecker | None,
    caps: _MxCaps,
    budget: QueryBudget | None,
) -> tuple[MxResult, tuple[IpReport, ...], DomainListingReport | None]:
    """MX first (its addresses are needed), then every address and name at once."""
    mx_options = {"max_hosts": caps.hosts, "max_addresses": caps.addresses}
    if blocklists is None:
        return await audit_mx(domain, resolver=resolver, **mx_options), (), None
    async with asyncio.TaskGroup() as group:
        declared = {ip: group.create_task(blocklists.check_ip(ip, budget=budget)) for ip in ips}
        mx = await audit_mx(domain, resolver=resolver, **mx_options)
        hosts = [host.host for host in mx.hosts if host.host != "."]
        mx_ips = [a for host in mx.hosts for a in host.addresses if a not in declared]
        found = {
            ip: group.create_task(blocklists.check_ip(ip, budget=budget))
            for ip in dict.fromkeys(mx_ips)
        }
        lists = group.create_task(blocklists.check_domains([domain, *hosts], budget=budget))
    reports = tuple(task.result() for task in (*declared.values(), *found.values()))
    return mx, reports, lists.result()


async def _run_findings(
    checker: BlocklistChecker | None,
    ips: tuple[IpReport, ...],
    lists: DomainListingReport | None,
) -> list[Finding]:
    """The run-wide blocklist findings, once for the whole report and grouped.

    Each IP report carries the broken or refusing zones of its own address family;
    the domain report lists every such zone once, in one finding per kind of fault.
    """
    if checker is None:
        return []
    kinds = {verdicts.kind_of(report.ip) for report in ips}
    if lists is not None or any(report.name_listings for report in ips):
        kinds.add(ZoneKind.DOMAIN)
    tests = [t for t in await checker.zone_tests() if t.kind in kinds]
    findings = verdicts.judge_zone_tests(tests)
    skipped = _not_queried(ips, lists)
    if skipped:
        findings.append(verdicts.not_queried_finding(skipped))
    return findings


def _not_queried(ips: tuple[IpReport, ...], lists: DomainListingReport | None) -> list[str]:
    zones = {zone for report in ips for zone in report.coverage.not_queried}
    if lists is not None:
        zones.update(lists.coverage.not_queried)
    return sorted(zones)


def _report(
    domain: str,
    checks: _Checks,
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
    return coverage_of(listings, _not_queried(ips, lists))


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
