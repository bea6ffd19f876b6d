"""``audit_domain``: every check of a sending domain, run concurrently, in one report.

SPF, DMARC, DKIM keys and MX start at once; the reputation of the MX hosts'
addresses and of the IPs the caller declares (reverse DNS, blocklists) starts
as soon as the addresses are known. The wall time approaches the longest
chain of dependent queries, not their sum.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Any

from mailcheck import codes
from mailcheck.dkim.audit import DkimAuditResult, audit_dkim
from mailcheck.dmarc.audit import DmarcResult, audit_dmarc
from mailcheck.errors import ConfigError, ParseError
from mailcheck.lookup.domains import normalize_domain
from mailcheck.lookup.resolver import DnsResolver, Resolver
from mailcheck.model import (
    CheckStatus,
    Finding,
    sort_findings,
    status_of,
    to_dict,
    worst_status,
)
from mailcheck.mx import MxResult, audit_mx
from mailcheck.reputation import BlocklistChecker, DomainListingReport, IpReport
from mailcheck.reputation.rdns import parse_ip
from mailcheck.spf.audit import SpfResult, audit_spf


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

    Raises:
        ParseError: ``domain`` is not a domain name.
        ConfigError: an IP in ``ips`` is not an address.

    Example:
        >>> report = await audit_domain("example.org", ips=["192.0.2.10"])  # doctest: +SKIP
        >>> report.status, [f.code for f in report.findings]                # doctest: +SKIP
    """
    name = normalize_domain(domain)
    addresses = _parse_ips(ips)
    resolver = resolver or DnsResolver()
    if reputation and blocklists is None:
        blocklists = BlocklistChecker(resolver=resolver)
    async with asyncio.TaskGroup() as group:
        spf = group.create_task(audit_spf(name, resolver=resolver, ips=addresses))
        dmarc = group.create_task(audit_dmarc(name, resolver=resolver, mode=dmarc_mode))
        dkim = group.create_task(
            audit_dkim(name, resolver=resolver, selectors=selectors, probe=probe_selectors)
        )
        mx = group.create_task(_mx_then_reputation(name, addresses, resolver, blocklists))
    mx_result, ip_reports, lists = mx.result()
    return _report(name, spf.result(), dmarc.result(), dkim.result(), mx_result, ip_reports, lists)


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
) -> tuple[MxResult, tuple[IpReport, ...], DomainListingReport | None]:
    """MX first (its addresses are needed), then every address and name at once."""
    if blocklists is None:
        return await audit_mx(domain, resolver=resolver), (), None
    async with asyncio.TaskGroup() as group:
        declared = {ip: group.create_task(blocklists.check_ip(ip)) for ip in ips}
        mx = await audit_mx(domain, resolver=resolver)
        hosts = [host.host for host in mx.hosts if host.host != "."]
        mx_ips = [a for host in mx.hosts for a in host.addresses if a not in declared]
        found = {ip: group.create_task(blocklists.check_ip(ip)) for ip in dict.fromkeys(mx_ips)}
        lists = group.create_task(blocklists.check_domains([domain, *hosts]))
    reports = tuple(task.result() for task in (*declared.values(), *found.values()))
    return mx, reports, lists.result()


def _report(
    domain: str,
    spf: SpfResult,
    dmarc: DmarcResult,
    dkim: DkimAuditResult,
    mx: MxResult,
    ips: tuple[IpReport, ...],
    lists: DomainListingReport | None,
) -> DomainReport:
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
    parts: list[Any] = [spf, dmarc, dkim, mx, *ips]
    if lists is not None:
        parts.append(lists)
    for part in parts:
        # Run-wide findings (a broken blocklist zone, a refusing resolver) repeat in every
        # IP report: keep one of each.
        findings.extend(f for f in part.findings if f not in findings)
    status = worst_status([status_of(findings), *(p.status for p in parts)])
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
    )


def _is_parked(spf: SpfResult, dmarc: DmarcResult, mx: MxResult) -> bool:
    record = " ".join((spf.record or "").lower().split())
    return record == "v=spf1 -all" and dmarc.policy == "reject" and mx.null_mx


def _without_missing_selector(dkim: DkimAuditResult, domain: str) -> DkimAuditResult:
    kept = tuple(f for f in dkim.findings if f.code != "dkim.no-selector-found")
    return dataclasses.replace(dkim, findings=kept, status=status_of(kept))
