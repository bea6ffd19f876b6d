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
from collections.abc import Awaitable, Sequence

from mailcheck.audit_report import Checks, build_report, not_queried, with_transport
from mailcheck.audit_report import DomainReport as DomainReport  # public here too
from mailcheck.dkim.audit import audit_dkim
from mailcheck.dmarc.audit import audit_dmarc
from mailcheck.dmarc.record import DmarcMode
from mailcheck.errors import ConfigError, ParseError
from mailcheck.lookup.budget import DEFAULT_QUERY_BUDGET, QueryBudget
from mailcheck.lookup.domains import normalize_domain
from mailcheck.lookup.resolver import DnsResolver, Resolver
from mailcheck.model import Finding
from mailcheck.mx import MAX_ADDRESSES_PER_HOST, MAX_MX_HOSTS, MxResult, audit_mx
from mailcheck.reputation import BlocklistChecker, DomainListingReport, IpReport, ZoneKind, verdicts
from mailcheck.reputation.rdns import parse_ip
from mailcheck.spf.audit import audit_spf
from mailcheck.tls.audit import MxTargets, TlsOptions, audit_transport


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
        # One MX check, awaited by the reputation and the transport checks alike.
        mx_check = group.create_task(
            audit_mx(name, resolver=asking, max_hosts=caps.hosts, max_addresses=caps.addresses)
        )
        mx = group.create_task(_reputation_after(mx_check, name, addresses, blocklists, shared))
        options = dataclasses.replace(
            tls or TlsOptions(), probe_smtp=probe_smtp or bool(tls and tls.probe_smtp)
        )
        secured = (
            group.create_task(
                audit_transport(name, resolver=asking, hosts=_mx_targets(mx_check), options=options)
            )
            if transport
            else None
        )
    mx_result, ip_reports, lists = mx.result()
    checks = Checks(spf.result(), dmarc.result(), dkim.result(), mx_result)
    run = await _run_findings(blocklists, ip_reports, lists)
    report = build_report(name, checks, ip_reports, lists, run, budget)
    return report if secured is None else with_transport(report, secured.result())


@dataclasses.dataclass(frozen=True, slots=True)
class _MxCaps:
    """The fan-out caps of one audit's MX check."""

    hosts: int
    addresses: int


async def _mx_targets(mx_check: Awaitable[MxResult]) -> MxTargets:
    """The MX hosts and their addresses for the transport checks, from the MX check."""
    mx = await mx_check
    return [(host.host, host.addresses) for host in mx.hosts if host.host != "."]


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


async def _reputation_after(
    mx_check: Awaitable[MxResult],
    domain: str,
    ips: tuple[str, ...],
    blocklists: BlocklistChecker | None,
    budget: QueryBudget | None,
) -> tuple[MxResult, tuple[IpReport, ...], DomainListingReport | None]:
    """The declared IPs at once; the MX hosts' addresses and names once MX is known."""
    if blocklists is None:
        return await mx_check, (), None
    async with asyncio.TaskGroup() as group:
        declared = {ip: group.create_task(blocklists.check_ip(ip, budget=budget)) for ip in ips}
        mx = await mx_check
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
    skipped = not_queried(ips, lists)
    if skipped:
        findings.append(verdicts.not_queried_finding(skipped))
    return findings
