"""``audit_transport``: STARTTLS, MTA-STS, TLS-RPT, DNSSEC and DANE of one domain, at once.

What needs no MX (the ``_mta-sts`` record and the policy fetch, TLS-RPT, DNSSEC) starts at
once; as soon as the MX hosts are known, their probes (opt-in) and TLSA lookups start
together; the policy and the TLSA records are then judged against what the probes saw.
The wall time is the longest of those chains, not their sum.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from collections.abc import Awaitable, Sequence
from pathlib import Path

from mailcheck.errors import ParseError
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import CheckStatus, Finding, sort_findings, worst_status
from mailcheck.tls.dane import judge_hosts, lookup_tlsa, tlsa_name
from mailcheck.tls.dnssec import DnssecChecker
from mailcheck.tls.dnssec_audit import audit_dnssec
from mailcheck.tls.guard import address_allowed
from mailcheck.tls.mtasts import complete_mtasts, load_mtasts
from mailcheck.tls.mtasts_fetch import DEFAULT_FETCH_TIMEOUT
from mailcheck.tls.starttls import DEFAULT_PROBE_CONCURRENCY, DEFAULT_PROBE_TIMEOUT, probe_many
from mailcheck.tls.starttls_judge import judge_probes
from mailcheck.tls.tlsrpt import audit_tlsrpt
from mailcheck.tls.types import (
    DaneResult,
    ProbeStatus,
    StartTlsResult,
    TlsProbe,
    TransportResult,
)

MxTargets = Sequence[tuple[str, Sequence[str]]]
"""MX hosts and their addresses, lowest preference first."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsOptions:
    """How transport security is checked.

    Attributes:
        probe_smtp: connect to port 25 of each MX host (STARTTLS probe); off by default.
        smtp_port: the port probed (25; tests use a loopback port).
        https_port: the MTA-STS policy host's port (443).
        probe_timeout: seconds per probed host.
        fetch_timeout: seconds for the policy fetch.
        cafile: trusted CAs (PEM) instead of the system store, for probes and fetch.
        allow_private: let the policy fetch and the SMTP probe connect to private and
            loopback addresses (tests only: a customer's domain must not reach an internal
            service).
        dnssec: validates DNSSEC; ``None``: not checked (``dnssec.not-checked``).
        probe_concurrency: hosts probed at once.
    """

    probe_smtp: bool = False
    smtp_port: int = 25
    https_port: int = 443
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT
    cafile: str | Path | None = None
    allow_private: bool = False
    dnssec: DnssecChecker | None = None
    probe_concurrency: int = DEFAULT_PROBE_CONCURRENCY


async def audit_transport(
    domain: str,
    /,
    *,
    resolver: Resolver,
    hosts: MxTargets | Awaitable[MxTargets],
    options: TlsOptions | None = None,
) -> TransportResult:
    """Check the transport security of ``domain``'s mail.

    Args:
        domain: the domain (A-labels).
        resolver: the DNS resolver.
        hosts: the MX hosts and their addresses, or an awaitable giving them (the MX
            lookup of the caller, so that the checks needing no MX start first).
        options: what to check and how (default: everything but the SMTP probe).

    Example:
        >>> result = await audit_transport(                                  # doctest: +SKIP
        ...     "example.org", resolver=resolver, hosts=[("mx.example.org", ["192.0.2.25"])],
        ...     options=TlsOptions(probe_smtp=True))
        >>> result.mtasts.mode, [p.status for p in result.starttls.probes]   # doctest: +SKIP
    """
    options = options or TlsOptions()
    async with asyncio.TaskGroup() as group:
        mtasts = group.create_task(
            load_mtasts(
                domain,
                resolver=resolver,
                timeout=options.fetch_timeout,
                allow_private=options.allow_private,
                cafile=options.cafile,
                https_port=options.https_port,
            )
        )
        tlsrpt = group.create_task(audit_tlsrpt(domain, resolver=resolver))
        dnssec = group.create_task(audit_dnssec(domain, checker=options.dnssec))
        per_host = group.create_task(_per_host(hosts, resolver, options))
    names, starttls, dane, probes = per_host.result()
    parts = (
        starttls,
        complete_mtasts(mtasts.result(), names, probes),
        tlsrpt.result(),
        dnssec.result(),
        dane,
    )
    findings: list[Finding] = []
    for part in parts:
        findings.extend(f for f in part.findings if f not in findings)
    ordered = sort_findings(findings)
    return TransportResult(
        status=worst_status(p.status for p in parts),
        findings=ordered,
        error=next((p.error for p in parts if p.error), None),
        starttls=parts[0],
        mtasts=parts[1],
        tlsrpt=parts[2],
        dnssec=parts[3],
        dane=parts[4],
    )


async def _per_host(
    hosts: MxTargets | Awaitable[MxTargets], resolver: Resolver, options: TlsOptions
) -> tuple[list[str], StartTlsResult, DaneResult, tuple[TlsProbe, ...]]:
    """Once the MX hosts are known: probes and TLSA lookups together, then DANE judged."""
    targets = await hosts if isinstance(hosts, Awaitable) else hosts
    # Offline (zone files, no fallback), hosts outside the zones are skipped, not "unknown".
    names = [
        host.lower().rstrip(".")
        for host, _ in targets
        if host != "." and _serves(resolver, tlsa_name(host))
    ]
    candidates = [
        (host.lower().rstrip("."), _preferred(addresses))
        for host, addresses in targets
        if host != "." and addresses
    ]
    # The guard of the policy fetch holds for port 25 too: a customer's MX pointing at an
    # internal address does not make the audit connect there.
    refused = [
        _refused_probe(host, address, options.smtp_port)
        for host, address in candidates
        if not options.allow_private and not address_allowed(address)
    ]
    reachable = [
        (host, address)
        for host, address in candidates
        if options.allow_private or address_allowed(address)
    ]
    async with asyncio.TaskGroup() as group:
        lookups = [
            group.create_task(lookup_tlsa(name, resolver=resolver, checker=options.dnssec))
            for name in names
        ]
        probing = None
        if options.probe_smtp:
            probing = group.create_task(
                probe_many(
                    reachable,
                    port=options.smtp_port,
                    timeout=options.probe_timeout,
                    cafile=options.cafile,
                    concurrency=options.probe_concurrency,
                )
            )
    probes: tuple[TlsProbe, ...] = ()
    if probing is not None:
        by_host = {probe.host: probe for probe in (*probing.result(), *refused)}
        probes = tuple(by_host[host] for host, _ in candidates)  # in MX order
    starttls = (
        judge_probes(probes) if probing is not None else StartTlsResult(status=CheckStatus.PASS)
    )
    dane = judge_hosts(names, [task.result() for task in lookups], {p.host: p for p in probes})
    return names, starttls, dane, probes


def _refused_probe(host: str, address: str, port: int) -> TlsProbe:
    return TlsProbe(
        host=host,
        address=address,
        port=port,
        status=ProbeStatus.UNKNOWN,
        error=f"{address} is not a public address: not probed",
    )


def _preferred(addresses: Sequence[str]) -> str:
    """IPv4 first: many networks that audit have no IPv6 route, and one address suffices."""
    for address in addresses:
        if ipaddress.ip_address(address).version == 4:
            return address
    return addresses[0]


def _serves(resolver: Resolver, name: str) -> bool:
    serves = getattr(resolver, "serves", None)
    if serves is None:
        return True
    try:
        return bool(serves(name))
    except ParseError:
        return False
