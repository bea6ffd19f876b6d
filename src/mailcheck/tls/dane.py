"""DANE for SMTP (RFC 7672): the TLSA records of each MX host against its certificate.

TLSA records mean something only where DNSSEC validates them (RFC 7672 §2.2); only
DANE-TA(2) and DANE-EE(3) are used for SMTP (§3.1.3). A rollover is safe when the next
key's record is published beside the current one before the switch (RFC 7671 §8.1).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence

from mailcheck import codes
from mailcheck.errors import TempError
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import Finding, Severity, error_of, sort_findings, status_of
from mailcheck.tls.dnssec import DnssecChecker
from mailcheck.tls.tlsa import TlsaRecord, TlsaUsage, tlsa_matches
from mailcheck.tls.types import DaneHost, DaneResult, DnssecStatus, TlsProbe


def tlsa_name(host: str, /, port: int = 25) -> str:
    """The TLSA owner name of an SMTP server: ``_25._tcp.<host>`` (RFC 7672 §2.2.1)."""
    return f"_{port}._tcp.{host.lower().rstrip('.')}"


async def audit_dane(
    hosts: Sequence[str],
    /,
    *,
    resolver: Resolver,
    checker: DnssecChecker | None = None,
    probes: Sequence[TlsProbe] = (),
) -> DaneResult:
    """Look up ``_25._tcp.<host>`` TLSA for every MX host at once, and judge them.

    Args:
        hosts: the MX host names.
        resolver: used when there is no ``checker`` (records shown, DNSSEC unknown).
        checker: validates the TLSA answers (AD bit or chain).
        probes: STARTTLS probes of the hosts: their certificates are matched.
    """
    by_host = {probe.host: probe for probe in probes}
    names = [h.lower().rstrip(".") for h in hosts if h != "."]
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(lookup_tlsa(h, resolver=resolver, checker=checker)) for h in names
        ]
    return judge_hosts(names, [task.result() for task in tasks], by_host)


def judge_hosts(
    hosts: Sequence[str],
    lookups: Sequence[TlsaLookup | Finding],
    probes: Mapping[str, TlsProbe],
    /,
) -> DaneResult:
    """The DANE result of several hosts from their TLSA lookups and probes (pure)."""
    results: list[tuple[DaneHost, list[Finding]]] = []
    for host, found in zip(hosts, lookups, strict=True):
        if isinstance(found, Finding):
            results.append((DaneHost(host=host, name=tlsa_name(host)), [found]))
            continue
        probe = probes.get(host)
        chain = probe.chain if probe is not None else ()
        results.append(judge_dane(host, found.records, found.dnssec, chain))
    findings = sort_findings(f for _, found_ in results for f in found_)
    return DaneResult(
        status=status_of(findings),
        findings=findings,
        error=error_of(findings),
        hosts=tuple(host for host, _ in results),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class TlsaLookup:
    """The TLSA records of one host and whether their answer validates."""

    records: tuple[TlsaRecord, ...]
    dnssec: DnssecStatus


async def lookup_tlsa(
    host: str, /, *, resolver: Resolver, checker: DnssecChecker | None = None
) -> TlsaLookup | Finding:
    """``_25._tcp.<host>`` TLSA, validated by ``checker`` when given; a DNS failure is a
    ``dane.temperror`` finding."""
    name = tlsa_name(host)
    try:
        if checker is not None:
            signed = await checker.lookup(name, "TLSA")
            rdatas, status = signed.records, signed.status
        else:
            rdatas, status = (await resolver.query(name, "TLSA")).records, DnssecStatus.UNKNOWN
    except TempError as exc:
        return codes.DANE_TEMPERROR.finding(
            name,
            f"The TLSA records of {host} could not be looked up ({exc}).",
            details={"host": host, "error": str(exc)},
        )
    records = tuple(
        TlsaRecord(usage=r.usage, selector=r.selector, matching=r.mtype, data=r.cert)  # type: ignore[attr-defined]
        for r in rdatas
    )
    return TlsaLookup(records, status)


def judge_dane(
    host: str, records: Sequence[TlsaRecord], status: DnssecStatus, chain: Sequence[bytes], /
) -> tuple[DaneHost, list[Finding]]:
    """Judge one host's TLSA records against its certificate chain (pure).

    ``chain`` is empty when the host was not probed: records are then not matched.
    """
    name = tlsa_name(host)
    details = {"host": host, "name": name}
    texts = tuple(r.to_text() for r in records)
    matched = tuple(r for r in records if r.smtp_usable and tlsa_matches(r, chain))
    facts = DaneHost(
        host=host,
        name=name,
        records=texts,
        dnssec=status,
        matched=tuple(r.to_text() for r in matched) if chain else None,
    )
    findings: list[Finding] = []
    if status is DnssecStatus.BOGUS:
        findings.append(
            codes.DNSSEC_BOGUS.finding(
                name,
                f"The TLSA records of {host} do not validate: DANE senders defer its mail.",
                details=details,
            )
        )
        return facts, findings
    if not records:
        if status is DnssecStatus.SECURE:
            findings.append(
                codes.DANE_MISSING.finding(
                    name, f"{host} is signed but publishes no TLSA record.", details=details
                )
            )
        return facts, findings
    if status is DnssecStatus.INSECURE:
        findings.append(
            codes.DANE_NO_DNSSEC.finding(
                name,
                f"The TLSA records of {host} are not signed: senders ignore them.",
                details=details,
            )
        )
        return facts, findings
    usable = [r for r in records if r.smtp_usable]
    for record in records:
        if not record.smtp_usable:
            findings.append(
                codes.DANE_UNUSABLE_RECORD.finding(
                    name,
                    f"SMTP clients cannot use the TLSA record {record.to_text()[:40]}…",
                    details={**details, "record": record.to_text()},
                )
            )
    if not chain or not usable:
        return facts, findings
    if not matched:
        # Not validated (no checker): the records may mean nothing; say so, softly.
        severity = None if status is DnssecStatus.SECURE else Severity.WARNING
        findings.append(
            codes.DANE_MISMATCH.finding(
                name,
                f"No TLSA record of {host} matches the certificate it presents.",
                details={**details, "records": list(texts)},
                severity=severity,
            )
        )
    elif all(r.usage == TlsaUsage.DANE_EE for r in usable) and len(matched) == len(usable):
        findings.append(
            codes.DANE_NO_ROLLOVER.finding(
                name,
                f"Only the current key of {host} is published: the next key change breaks DANE "
                "unless its record is published first.",
                details=details,
            )
        )
    return facts, findings
