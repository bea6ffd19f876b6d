"""The DKIM keys a domain publishes: the caller's selectors and commonly used ones.

Selectors cannot be listed from DNS, so an audit asks for the selectors the
caller names and probes the names mail software commonly uses, all at once.
A probe that finds nothing is normal; a selector the caller named that is
missing is an error; a DNS failure is "could not check", never "missing".
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from mailcheck import codes
from mailcheck.dkim.record import DkimKeyRecord, parse_dkim_key
from mailcheck.errors import ParseError, TempError
from mailcheck.lookup.answer import DnsAnswer
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import (
    CheckResult,
    CheckStatus,
    Finding,
    Severity,
    ToDict,
    sort_findings,
    status_of,
)

# Selectors that common MTAs, control panels and providers use (Mailcow "dkim",
# Google "google", Microsoft 365 "selector1/2", OpenDKIM "default", ...).
COMMON_SELECTORS = (
    "default", "dkim", "mail", "s1", "s2", "selector1", "selector2", "google",
    "k1", "k2", "k3", "mx", "smtp", "key1", "dkim1", "email", "sig1",
)  # fmt: skip
# RFC 8301 §3.2: "Signers MUST use RSA keys of at least 1024 bits ... SHOULD use at
# least 2048 bits"; verifiers "MUST NOT consider signatures using RSA keys of less
# than 1024 bits as valid".
RSA_MIN_BITS = 1024
RSA_GOOD_BITS = 2048


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SelectorResult(ToDict):
    """What one selector holds.

    Attributes:
        selector: the selector.
        name: the DNS name asked (``<selector>._domainkey.<domain>``).
        requested: the caller named it (a probe otherwise).
        found: a key record is published there.
        status: this selector's status.
        record: the key record text, or ``None``.
        key_type, key_bits: ``rsa``/``ed25519`` and the key size.
        strings: how many TXT character-strings the record was split into.
        cname_chain: aliases followed (a selector delegated to a provider).
        testing, revoked: ``t=y``; an empty ``p=``.
    """

    selector: str
    name: str
    requested: bool
    found: bool
    status: CheckStatus
    record: str | None = None
    key_type: str | None = None
    key_bits: int | None = None
    strings: int = 0
    cname_chain: tuple[str, ...] = ()
    testing: bool = False
    revoked: bool = False
    findings: tuple[Finding, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DkimAuditResult(CheckResult):
    """The DKIM key audit of a domain: every selector found (and every one requested)."""

    selectors: tuple[SelectorResult, ...] = ()
    probed: tuple[str, ...] = ()


def probe_selectors(today: dt.date | None = None) -> tuple[str, ...]:
    """The common selectors plus date-based ones (``2026``, ``202611``, ``202610``...)."""
    today = today or dt.datetime.now(dt.UTC).date()
    months = [(today.year, today.month - i) for i in range(3)]
    dated = [f"{y - (m <= 0)}{(m - 1) % 12 + 1:02d}" for y, m in months]
    return (*COMMON_SELECTORS, str(today.year), str(today.year - 1), *dated)


async def audit_dkim(
    domain: str,
    /,
    *,
    resolver: Resolver,
    selectors: Sequence[str] = (),
    probe: bool = True,
) -> DkimAuditResult:
    """Fetch and judge the keys of the requested selectors and of common ones, concurrently."""
    requested = tuple(dict.fromkeys(s.strip().lower() for s in selectors if s.strip()))
    probed = tuple(s for s in probe_selectors() if s not in requested) if probe else ()
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(_selector(domain, s, s in requested, resolver))
            for s in (*requested, *probed)
        ]
    results = tuple(t.result() for t in tasks)
    shown = tuple(r for r in results if r.requested or r.found or r.status is CheckStatus.UNKNOWN)
    findings = [f for r in shown for f in r.findings]
    findings.extend(_judge_domain(domain, shown))
    return DkimAuditResult(
        status=status_of(findings),
        findings=sort_findings(findings),
        selectors=shown,
        probed=probed,
    )


async def _selector(
    domain: str, selector: str, requested: bool, resolver: Resolver
) -> SelectorResult:
    name = f"{selector}._domainkey.{domain}"
    base = SelectorResult(
        selector=selector, name=name, requested=requested, found=False, status=CheckStatus.PASS
    )
    try:
        answer = await resolver.query(name, "TXT")
    except (TempError, ParseError) as exc:
        if isinstance(exc, ParseError):
            return base  # not a valid DNS name: nothing can be published there
        finding = codes.DKIM_TEMPERROR.finding(
            name,
            f"The key of selector {selector} could not be fetched: {exc}.",
            details={"selector": selector, "error": str(exc)},
        )
        return dataclasses.replace(base, status=CheckStatus.UNKNOWN, findings=(finding,))
    return judge_selector(base, answer)


def judge_selector(base: SelectorResult, answer: DnsAnswer) -> SelectorResult:
    """Judge what DNS holds at one selector (pure)."""
    texts = [t for t in answer.texts() if "p=" in t or t.lstrip().startswith("v=DKIM1")]
    if not texts:
        if not base.requested:
            return base
        finding = codes.DKIM_NOT_PUBLISHED.finding(
            base.name,
            f"No DKIM key is published for selector {base.selector}: mail signed with it "
            "fails DKIM.",
            details={"selector": base.selector, "dns_status": answer.status.value},
            fix=f"Publish the key: mailcheck dkim record KEYFILE --selector {base.selector}",
        )
        return dataclasses.replace(base, status=CheckStatus.FAIL, findings=(finding,))
    text = texts[0]
    chunks = next(
        (c for c in answer.text_chunks() if b"".join(c).decode(errors="replace") == text), ()
    )
    found = dataclasses.replace(
        base, found=True, record=text, strings=len(chunks), cname_chain=answer.cname_chain
    )
    findings: list[Finding] = []
    if len(texts) > 1:
        findings.append(
            codes.DKIM_MULTIPLE_RECORDS.finding(
                base.name,
                f"Selector {base.selector} publishes {len(texts)} key records; verifiers may "
                "pick any of them.",
                details={"selector": base.selector, "count": len(texts)},
                fix="Keep one key record per selector.",
            )
        )
        # Which key a verifier sees is a matter of chance: judging one would mislead.
        return _finish(found, findings)
    if answer.cname_chain:
        findings.append(
            codes.DKIM_CNAME.finding(
                base.name,
                f"Selector {base.selector} is delegated to {answer.canonical_name}.",
                details={"selector": base.selector, "cname_chain": list(answer.cname_chain)},
            )
        )
    try:
        record = parse_dkim_key(text)
    except ParseError as exc:
        findings.append(_invalid(base, str(exc), exc.position))
        return _finish(found, findings)
    found = dataclasses.replace(
        found,
        key_type=record.key_type,
        key_bits=record.key_bits,
        testing=record.testing,
        revoked=record.revoked,
    )
    findings.extend(judge_key(base, record))
    return _finish(found, findings)


def judge_key(base: SelectorResult, record: DkimKeyRecord) -> list[Finding]:
    """Findings about one parsed key record (pure)."""
    subject, selector = base.name, base.selector
    details = {"selector": selector, "key_type": record.key_type, "key_bits": record.key_bits}
    if record.revoked:
        # A revoked key is the last step of a rotation; an error only if still in use.
        severity = Severity.ERROR if base.requested else Severity.INFO
        return [
            codes.DKIM_KEY_REVOKED.finding(
                subject,
                f"The key of selector {selector} is revoked (empty p=).",
                details=details,
                severity=severity,
            )
        ]
    findings: list[Finding] = []
    if record.key_error:
        findings.append(_invalid(base, record.key_error, None))
    elif record.key_type == "rsa" and record.key_bits is not None:
        findings.extend(_rsa_size(subject, selector, record.key_bits, details))
    if record.hash_algorithms and "sha256" not in record.hash_algorithms:
        findings.append(
            codes.DKIM_SHA1_ONLY.finding(
                subject,
                f"Selector {selector} allows only {':'.join(record.hash_algorithms)}; "
                "RFC 8301 forbids rsa-sha1, so no valid signature can use this key.",
                details={**details, "h": list(record.hash_algorithms)},
                fix="Remove the h= tag (or set h=sha256).",
            )
        )
    if record.testing:
        findings.append(
            codes.DKIM_KEY_TESTING.finding(
                subject,
                f"Selector {selector} is in testing mode (t=y): receivers treat its "
                "failures like unsigned mail.",
                details=details,
                fix="Remove t=y once signing works.",
            )
        )
    return findings


def _rsa_size(subject: str, selector: str, bits: int, details: Mapping[str, Any]) -> list[Finding]:
    if bits < RSA_MIN_BITS:
        return [
            codes.DKIM_KEY_TOO_SHORT.finding(
                subject,
                f"The RSA key of selector {selector} has {bits} bits; receivers must "
                "treat its signatures as invalid (RFC 8301).",
                details=details,
                fix="mailcheck dkim keygen --type rsa --bits 2048, publish, switch signing.",
            )
        ]
    if bits < RSA_GOOD_BITS:
        return [
            codes.DKIM_KEY_WEAK.finding(
                subject,
                f"The RSA key of selector {selector} has {bits} bits; 2048 is the norm.",
                details=details,
                fix="Rotate to a 2048-bit key: mailcheck dkim keygen --bits 2048.",
            )
        ]
    return []


def _invalid(base: SelectorResult, reason: str, position: int | None) -> Finding:
    return codes.DKIM_KEY_INVALID.finding(
        base.name,
        f"The key record of selector {base.selector} is unusable: {reason}.",
        details={"selector": base.selector, "reason": reason, "position": position},
        fix="Publish the record that mailcheck dkim record KEYFILE prints.",
    )


def _finish(result: SelectorResult, findings: list[Finding]) -> SelectorResult:
    return dataclasses.replace(result, status=status_of(findings), findings=tuple(findings))


def _judge_domain(domain: str, results: Sequence[SelectorResult]) -> list[Finding]:
    usable = [r for r in results if r.found and not r.revoked and r.key_type]
    if not any(r.found for r in results):
        if any(r.status is CheckStatus.UNKNOWN for r in results):
            return []  # a DNS failure already says "could not check"
        return [
            codes.DKIM_NO_SELECTOR_FOUND.finding(
                domain,
                "No DKIM key was found at the requested or common selectors. Selectors "
                "cannot be listed from DNS: name yours (--selector) to check them.",
                details={"requested": [r.selector for r in results if r.requested]},
            )
        ]
    if usable and all(r.key_type == "ed25519" for r in usable):
        return [
            codes.DKIM_ED25519_ONLY.finding(
                domain,
                "Only Ed25519 keys are published; many receivers do not verify Ed25519 yet, "
                "so sign with an RSA key as well (dual signing, RFC 8463 §4).",
                details={"selectors": [r.selector for r in usable]},
                fix="mailcheck dkim keygen --type rsa --bits 2048; sign with both keys.",
            )
        ]
    return []
