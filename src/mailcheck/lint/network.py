"""The lint's DNS checks: the From domain's DMARC policy, the DKIM signatures verified
against their published keys, and, given the sending IP, its forward-confirmed reverse DNS
and the SPF result. Run concurrently; a DNS failure is ``lint.temperror`` (or
``rdns.temperror``) naming the codes it leaves undecided, never a "missing" or "fail".
"""

from __future__ import annotations

import asyncio
import dataclasses

from mailcheck import codes
from mailcheck.dkim.verify import DkimSignatureResult, DkimVerdict, verify_dkim
from mailcheck.dmarc.discover import Discovery, discover_policy
from mailcheck.dmarc.record import DmarcRecord
from mailcheck.lint.auth import is_aligned
from mailcheck.lint.types import LintFacts
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import Finding
from mailcheck.reputation.rdns import check_rdns
from mailcheck.spf.evaluate import SpfVerdict, check_host


@dataclasses.dataclass(frozen=True, slots=True)
class NetworkChecks:
    """What the DNS checks found: findings, the DMARC record, the DKIM results."""

    findings: tuple[Finding, ...]
    dmarc_record: DmarcRecord | None
    dkim: tuple[DkimSignatureResult, ...]


async def run_checks(
    raw: bytes, facts: LintFacts, *, ip: str | None, sender: str | None, resolver: Resolver
) -> NetworkChecks:
    """Run the DNS checks concurrently (one TaskGroup)."""
    async with asyncio.TaskGroup() as group:
        dmarc = (
            group.create_task(discover_policy(facts.from_domain, resolver=resolver))
            if facts.from_domain
            else None
        )
        dkim = (
            group.create_task(verify_dkim(raw, resolver=resolver)) if facts.dkim_domains else None
        )
        rdns = group.create_task(check_rdns(ip, resolver=resolver)) if ip else None
        spf = group.create_task(_spf(ip, sender, resolver)) if ip and sender else None
    findings: list[Finding] = []
    discovery = dmarc.result() if dmarc is not None else None
    if discovery is not None:
        findings.extend(_dmarc_findings(discovery))
    if rdns is not None:
        findings.extend(rdns.result().findings)
    if spf is not None:
        findings.extend(spf.result())
    return NetworkChecks(
        findings=tuple(findings),
        dmarc_record=discovery.record if discovery is not None else None,
        dkim=dkim.result() if dkim is not None else (),
    )


def dkim_findings(
    results: tuple[DkimSignatureResult, ...], facts: LintFacts, adkim: str
) -> list[Finding]:
    """``lint.dkim-fail`` when no signature that counts verifies: the signatures aligned
    with the From domain when there are some (DMARC counts only those), else all of them.
    A DNS failure on one of them is ``lint.temperror`` instead."""
    if not results:
        return []
    from_domain = facts.from_domain
    aligned = [
        r for r in results if from_domain and r.domain and is_aligned(r.domain, from_domain, adkim)
    ]
    counted = aligned or list(results)
    if any(r.result is DkimVerdict.PASS for r in counted):
        return []
    details = {
        "signatures": [
            {"domain": r.domain, "selector": r.selector, "result": r.result.value,
             "reason": r.reason}
            for r in results[:10]
        ],
        "aligned_only": bool(aligned),
    }  # fmt: skip
    if any(r.result is DkimVerdict.TEMPERROR for r in counted):
        return [
            codes.LINT_TEMPERROR.finding(
                "message",
                "The DKIM keys could not be fetched: a DNS failure.",
                details={**details, "check": "dkim", "codes": ["lint.dkim-fail"]},
            )
        ]
    first = counted[0]
    return [
        codes.LINT_DKIM_FAIL.finding(
            "message",
            f"No DKIM signature {'by the From domain ' if aligned else ''}verifies "
            f"(d={first.domain} s={first.selector}: {first.reason or first.result.value}).",
            details=details,
            fix=f"Publish the selector's public key at {first.selector}._domainkey."
            f"{first.domain} (mailcheck dkim record), and sign the message as it is sent: "
            "nothing may change a signed field or the body afterwards.",
        )
    ]


async def _spf(ip: str, sender: str, resolver: Resolver) -> list[Finding]:
    result = await check_host(ip, sender, resolver=resolver)
    details = {"ip": ip, "sender": sender, "domain": result.domain, "result": result.result.value}
    if result.result is SpfVerdict.TEMPERROR:
        return [
            codes.LINT_TEMPERROR.finding(
                result.domain,
                f"SPF for {ip} could not be checked: a DNS failure.",
                details={
                    **details,
                    "check": "spf",
                    "codes": ["lint.spf-fail"],
                    "error": result.explanation,
                },
            )
        ]
    if result.result is SpfVerdict.PASS:
        return []
    return [
        codes.LINT_SPF_FAIL.finding(
            result.domain,
            f"SPF gives {result.result.value} for {ip} sending as {sender}.",
            details=details,
            fix=f"Add {ip} to the SPF record of {result.domain} (ip4:/ip6:), or send from a "
            "host it already lists.",
        )
    ]


def _dmarc_findings(discovery: Discovery) -> list[Finding]:
    if discovery.uncertain or (discovery.temperrors and discovery.location is None):
        errors = [f"{name}: {error}" for name, error in discovery.temperrors]
        return [
            codes.LINT_TEMPERROR.finding(
                discovery.domain,
                "The DMARC policy could not be looked up: a DNS failure.",
                details={"check": "dmarc", "codes": ["lint.dmarc-missing"], "errors": errors},
            )
        ]
    if discovery.record is not None:
        return []
    return [
        codes.LINT_DMARC_MISSING.finding(
            discovery.domain,
            f"{discovery.domain} has no usable DMARC policy: bulk senders must publish one.",
            details={"location": discovery.location, "records": list(discovery.texts)},
            fix=f"Publish _dmarc.{discovery.organizational_domain or discovery.domain}. IN TXT "
            '"v=DMARC1; p=none; rua=mailto:dmarc@..." (p=none is enough to start).',
        )
    ]
