"""The reputation of a sending IP (rDNS, HELO, blocklists) and of names on domain lists.

:class:`BlocklistChecker` is the object to share across a run: it holds the
resolvers, the catalogue, and the per-zone self-test verdicts, so a bulk run of
thousands of IPs self-tests each zone once.

Example:
    >>> checker = BlocklistChecker(resolver=DnsResolver(["127.0.0.1"]))  # doctest: +SKIP
    >>> report = await checker.check_ip("192.0.2.10", helo="mail.example.org")  # doctest: +SKIP
    >>> [(l.zone, l.state) for l in report.listings]  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

from mailcheck.errors import TempError
from mailcheck.lookup.budget import QueryBudget
from mailcheck.lookup.resolver import DnsResolver, Resolver
from mailcheck.model import (
    CheckResult,
    CheckStatus,
    Finding,
    error_of,
    sort_findings,
    status_of,
    to_dict,
)
from mailcheck.reputation import verdicts
from mailcheck.reputation.blocklists import (
    DEFAULT_NXDOMAIN_PROBE,
    DEFAULT_PER_ZONE,
    BlocklistClient,
    Listing,
    ZoneTest,
)
from mailcheck.reputation.catalogue import Catalogue, ZoneKind, ZoneStatus
from mailcheck.reputation.coverage import BlocklistCoverage, coverage_of
from mailcheck.reputation.decode import ListingState
from mailcheck.reputation.rdns import (
    HeloResult,
    RdnsResult,
    check_helo,
    check_rdns,
    fetch_ptr_names,
    parse_ip,
    with_ptr,
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IpReport(CheckResult):
    """The reputation of one sending IP.

    Attributes:
        ip: the address (IPv4-mapped IPv6 addresses are shown as IPv4).
        ptr_names: its PTR names.
        forward_confirmed: a PTR name resolves back to it (``None``: could not tell).
        rdns: the reverse-DNS facts and findings.
        helo: the HELO name's facts and findings, when one was given.
        listings: what each blocklist zone says about the IP.
        name_listings: what each domain list says about its PTR and HELO names.
        listed_on: the zones listing the IP or its names (allow-lists excepted).
        coverage: how many zones were asked and read, which could not be read, and
            which were not asked (offline).
    """

    ip: str
    ptr_names: tuple[str, ...] = ()
    forward_confirmed: bool | None = None
    rdns: RdnsResult
    helo: HeloResult | None = None
    listings: tuple[Listing, ...] = ()
    name_listings: tuple[Listing, ...] = ()
    listed_on: tuple[str, ...] = ()
    coverage: BlocklistCoverage = dataclasses.field(default_factory=BlocklistCoverage)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON data."""
        data: dict[str, Any] = to_dict(self)
        return data


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DomainListingReport(CheckResult):
    """What the domain lists (Spamhaus DBL, SURBL, URIBL) say about some names.

    Attributes:
        names: the names asked about.
        listings: one per (name, zone).
        listed_on: the zones listing one of the names.
        coverage: how many zones were asked and read, which could not be read, and
            which were not asked (offline).
    """

    names: tuple[str, ...] = ()
    listings: tuple[Listing, ...] = ()
    listed_on: tuple[str, ...] = ()
    coverage: BlocklistCoverage = dataclasses.field(default_factory=BlocklistCoverage)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON data."""
        data: dict[str, Any] = to_dict(self)
        return data


class BlocklistChecker:
    """Checks IPs and names; share one per run so zones are self-tested once.

    Args:
        resolver: the resolver for PTR, forward and HELO lookups.
        blocklist_resolver: the resolver for blocklist queries (default ``resolver``).
            It must be a local recursive resolver: public resolvers are refused by
            Spamhaus or get NXDOMAIN, and ISP resolvers may rewrite NXDOMAIN.
        catalogue: the zones (default: the built-in catalogue).
        per_zone: blocklist queries in flight per zone.
        nxdomain_probe: a name that must not exist (NXDOMAIN-rewriting check).
    """

    def __init__(
        self,
        *,
        resolver: Resolver,
        blocklist_resolver: Resolver | None = None,
        catalogue: Catalogue | None = None,
        per_zone: int = DEFAULT_PER_ZONE,
        nxdomain_probe: str = DEFAULT_NXDOMAIN_PROBE,
    ) -> None:
        self.resolver = resolver
        self.client = BlocklistClient(
            blocklist_resolver or resolver,
            catalogue=catalogue,
            per_zone=per_zone,
            nxdomain_probe=nxdomain_probe,
        )
        self.catalogue = self.client.catalogue
        # DnsResolver says which servers it asks: a public one is worth a warning.
        servers = getattr(blocklist_resolver or resolver, "nameservers", ())
        self._nameservers = tuple(_host(s) for s in servers)
        # Dead zones the user named (enabled in their file): told why they are ignored.
        self.dead_requested = tuple(
            (z.zone, z.note)
            for z in self.catalogue.zones
            if z.status is ZoneStatus.DEAD and z.default
        )

    async def check_ip(
        self, ip: str, /, *, helo: str | None = None, budget: QueryBudget | None = None
    ) -> IpReport:
        """Reverse DNS, HELO (if given), blocklists of the IP and domain lists of its names.

        Args:
            ip: the address.
            helo: the name the host announces in HELO/EHLO, if known.
            budget: charge this audit's query budget for the questions about ``ip``
                (the zones' self-tests, shared by the run, are not charged).

        Raises:
            ParseError: ``ip`` is not an IP address (the message names it).
        """
        address = parse_ip(ip)
        subject = str(address)
        resolver = budget.wrap(self.resolver) if budget else self.resolver
        lists_resolver = budget.wrap(self.client.resolver) if budget else None
        async with asyncio.TaskGroup() as group:
            rdns_task = group.create_task(check_rdns(subject, resolver=resolver))
            lists_task = group.create_task(self.client.lookup_ip(subject, resolver=lists_resolver))
            probe_task = group.create_task(self.client.rewrites_nxdomain())
            helo_task = (
                group.create_task(check_helo(helo, ip=subject, resolver=resolver)) if helo else None
            )
            # Its PTR query is the one check_rdns sends (the resolver sends it once): the
            # names go to the domain lists while check_rdns confirms them.
            names_task = group.create_task(
                self._name_listings(subject, helo, resolver, lists_resolver)
            )
        rdns = rdns_task.result()
        helo_result = with_ptr(helo_task.result(), rdns.ptr_names) if helo_task else None
        listings, name_listings = lists_task.result(), names_task.result()
        kinds = {verdicts.kind_of(subject)} | ({ZoneKind.DOMAIN} if name_listings else set())
        findings = [*rdns.findings, *(helo_result.findings if helo_result else ())]
        findings += verdicts.judge_listings(subject, listings)
        findings += _judge_names(name_listings)
        findings += await self._run_findings(kinds, probe_task.result())
        not_queried = self._not_queried(kinds)
        return IpReport(
            status=_status(findings, (*listings, *name_listings)),
            findings=sort_findings(findings),
            error=error_of(findings),
            ip=subject,
            ptr_names=rdns.ptr_names,
            forward_confirmed=rdns.forward_confirmed,
            rdns=rdns,
            helo=helo_result,
            listings=listings,
            name_listings=name_listings,
            listed_on=_listed_on((*listings, *name_listings)),
            coverage=coverage_of((*listings, *name_listings), not_queried),
        )

    async def _name_listings(
        self, ip: str, helo: str | None, resolver: Resolver, lists_resolver: Resolver | None
    ) -> tuple[Listing, ...]:
        try:
            names = list(await fetch_ptr_names(ip, resolver=resolver))
        except TempError:
            names = []  # check_rdns reports it
        if helo:
            names.append(helo.strip().lower().rstrip("."))
        return await self.client.lookup_names(_hostnames(names), resolver=lists_resolver)

    async def check_domains(
        self, names: Iterable[str], /, *, budget: QueryBudget | None = None
    ) -> DomainListingReport:
        """Ask the domain lists about each name (a domain, its MX hosts, DKIM ``d=``...).

        ``budget`` is as for :meth:`check_ip`.
        """
        asked = tuple(dict.fromkeys(n.strip().lower().rstrip(".") for n in names if n.strip()))
        lists_resolver = budget.wrap(self.client.resolver) if budget else None
        async with asyncio.TaskGroup() as group:
            lists_task = group.create_task(self.client.lookup_names(asked, resolver=lists_resolver))
            probe_task = group.create_task(self.client.rewrites_nxdomain())
        listings = lists_task.result()
        findings = _judge_names(listings)
        findings += await self._run_findings({ZoneKind.DOMAIN}, probe_task.result())
        return DomainListingReport(
            status=_status(findings, listings),
            findings=sort_findings(findings),
            error=error_of(findings),
            names=asked,
            listings=listings,
            listed_on=_listed_on(listings),
            coverage=coverage_of(listings, self._not_queried({ZoneKind.DOMAIN})),
        )

    def _not_queried(self, kinds: set[ZoneKind]) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(zone for kind in sorted(kinds) for zone in self.client.not_queried(kind))
        )

    async def zone_tests(self) -> tuple[ZoneTest, ...]:
        """The self-test verdicts of every zone used so far this run."""
        return await self.client.zone_tests()

    async def _run_findings(self, kinds: set[ZoneKind], rewrites: bool | None) -> list[Finding]:
        """Findings about the run, not the subject: identical in every report of the run."""
        tests = [t for t in await self.client.zone_tests() if t.kind in kinds]
        findings = verdicts.judge_zone_tests(tests)
        skipped = self._not_queried(kinds)
        if skipped:
            findings.append(verdicts.not_queried_finding(skipped))
        if rewrites:
            findings.append(verdicts.rewriting_finding(self.client.nxdomain_probe))
        findings += verdicts.dead_zone_findings(self.dead_requested)
        public = verdicts.public_resolver_finding(self._nameservers)
        return [*findings, public] if public else findings


def _judge_names(listings: Sequence[Listing]) -> list[Finding]:
    findings: list[Finding] = []
    for name in dict.fromkeys(listing.subject for listing in listings):
        findings += verdicts.judge_listings(name, [x for x in listings if x.subject == name])
    return findings


def _hostnames(names: Iterable[str]) -> list[str]:
    """Names worth asking a domain list about: not addresses, not single labels."""
    kept = []
    for name in names:
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            if "." in name:
                kept.append(name)
    return kept


def _status(findings: Sequence[Finding], listings: Sequence[Listing]) -> CheckStatus:
    status = status_of(findings)
    if status is not CheckStatus.FAIL and any(x.state is ListingState.UNKNOWN for x in listings):
        return CheckStatus.UNKNOWN
    return status


def _listed_on(listings: Sequence[Listing]) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(
            x.zone for x in listings if x.state is ListingState.LISTED and not x.allowlist
        )
    )


def _host(server: object) -> str:
    return str(server[0] if isinstance(server, tuple) else server)


async def check_ip(
    ip: str,
    /,
    *,
    helo: str | None = None,
    resolver: Resolver | None = None,
    blocklist_resolver: Resolver | None = None,
    catalogue: Catalogue | None = None,
    checker: BlocklistChecker | None = None,
) -> IpReport:
    """The reputation of one sending IP: FCrDNS, HELO, blocklists, PTR names on domain lists.

    For many IPs, make one :class:`BlocklistChecker` and call its ``check_ip``
    (or pass it as ``checker``): zones are then self-tested once.

    Raises:
        ParseError: ``ip`` is not an IP address.

    Example:
        >>> resolver = DnsResolver(["127.0.0.1"])                   # doctest: +SKIP
        >>> report = await check_ip("192.0.2.10", resolver=resolver)  # doctest: +SKIP
        >>> report.status, report.listed_on  # doctest: +SKIP
    """
    if checker is None:
        checker = BlocklistChecker(
            resolver=resolver or DnsResolver(),
            blocklist_resolver=blocklist_resolver,
            catalogue=catalogue,
        )
    return await checker.check_ip(ip, helo=helo)


async def check_domains(
    names: Iterable[str],
    /,
    *,
    resolver: Resolver | None = None,
    catalogue: Catalogue | None = None,
    checker: BlocklistChecker | None = None,
) -> DomainListingReport:
    """Ask the domain lists (Spamhaus DBL, SURBL, URIBL) about each name.

    Give the audited domain, its MX host names, PTR names and DKIM ``d=`` domains.
    """
    if checker is None:
        checker = BlocklistChecker(resolver=resolver or DnsResolver(), catalogue=catalogue)
    return await checker.check_domains(names)
