"""The DMARC audit of a sending domain: discovery, lint, report destinations."""

from __future__ import annotations

import asyncio
import dataclasses

from mailcheck import codes
from mailcheck.dmarc.discover import Discovery, discover_policy, dmarc_texts
from mailcheck.dmarc.record import POLICIES, DmarcLint, DmarcMode, DmarcPolicy, DmarcRecord
from mailcheck.errors import ConfigError, ParseError, TempError
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import CheckResult, Finding, Severity, error_of, sort_findings, status_of

_STRENGTH = {policy: rank for rank, policy in enumerate(POLICIES)}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DmarcResult(CheckResult):
    """The DMARC check of a domain.

    Attributes:
        record: the DMARC record that applies (``None`` if none was found).
        location: the DNS name it was found at.
        inherited: found on a parent domain (the organisational or a public suffix domain).
        policy: what a receiver applies to mail from this very domain: ``p``, or
            ``sp`` for a subdomain that inherits a parent's record; ``none`` for a
            record receivers ignore or read as ``p=none`` (several records, a record
            that is not a DMARC tag-list, an invalid ``p`` or ``sp``: RFC 7489
            §6.6.3); ``None`` when no record was found or DNS failed.
        organizational_domain: by the RFC 9989 tree walk (or the PSL).
        rua, ruf: the report destinations a receiver would use (valid URIs only).
    """

    record: str | None = None
    location: str | None = None
    inherited: bool = False
    policy: DmarcPolicy | None = None
    organizational_domain: str | None = None
    rua: tuple[str, ...] = ()
    ruf: tuple[str, ...] = ()


def suggested_record(domain: str, policy: str = "quarantine") -> str:
    """A record to publish, with the domain filled in (for a domain that has none)."""
    return f'_dmarc.{domain}. 3600 IN TXT "v=DMARC1; p={policy}; rua=mailto:dmarc-reports@{domain}"'


def revised_record(subject: str, record: DmarcRecord, **changes: str) -> str:
    """The user's own record at ``subject`` with some tags set, every other tag kept as
    published (their own report addresses included): ``revised_record(s, r, p="reject")``.
    """
    tags = [(name, changes.pop(name, value)) for name, value in record.tags]
    tags[1:1] = list(changes.items())  # new tags go right after v=DMARC1
    text = "; ".join(f"{name}={value}" for name, value in tags)
    return f'{subject}. 3600 IN TXT "{text}"'


async def audit_dmarc(domain: str, /, *, resolver: Resolver, mode: str = "tree") -> DmarcResult:
    """Find and judge the DMARC policy of ``domain``; check its external report destinations.

    Raises:
        ConfigError: ``mode`` is not ``tree`` or ``psl``.
    """
    mode = _mode(mode)
    async with asyncio.TaskGroup() as group:
        discovery_task = group.create_task(discover_policy(domain, resolver=resolver, mode=mode))
        cname_task = group.create_task(_cname_conflict(domain, resolver))
    discovery = discovery_task.result()
    findings = judge_discovery(discovery)
    if cname_task.result():
        findings.append(
            codes.DMARC_TXT_AND_CNAME.finding(
                f"_dmarc.{domain}",
                "The _dmarc name holds both a CNAME and TXT records; which one a receiver sees "
                "depends on its resolver.",
                fix="Keep either the CNAME or the TXT record at the _dmarc name.",
            )
        )
    # The record receivers read: invalid tags dropped (their reports still go out).
    record = discovery.lint.record if discovery.lint else None
    if record is not None:
        findings.extend(await _destinations(domain, discovery, record, resolver))
    return DmarcResult(
        status=status_of(findings),
        findings=sort_findings(findings),
        error=error_of(findings),
        record=discovery.texts[0] if discovery.texts else None,
        location=discovery.location,
        inherited=discovery.inherited,
        policy=applied_policy(discovery),
        organizational_domain=discovery.organizational_domain,
        rua=tuple(u.to_text() for u in record.rua) if record else (),
        ruf=tuple(u.to_text() for u in record.ruf) if record else (),
    )


def _mode(mode: DmarcMode | str) -> DmarcMode:
    try:
        return DmarcMode(mode)
    except ValueError:
        raise ConfigError(f"dmarc mode {mode!r}: expected 'tree' or 'psl'") from None


def applied_policy(discovery: Discovery) -> DmarcPolicy | None:
    """What a receiver applies to mail from the domain (pure).

    RFC 7489 §6.6.3: several records, or one that is not a DMARC record, mean no
    DMARC processing; an invalid ``p`` or ``sp`` is read as ``p=none`` (with a valid
    ``rua``) or no processing: ``none`` either way. ``None`` when no record was
    found, or DNS failed closer to the domain.
    """
    if discovery.location is None or discovery.uncertain:
        return None
    lint = discovery.lint
    if len(discovery.texts) != 1 or lint is None or lint.record is None or lint.policy_invalid:
        return DmarcPolicy.NONE
    record = lint.record
    return DmarcPolicy(record.subdomain_policy if discovery.inherited else record.policy)


def judge_discovery(discovery: Discovery) -> list[Finding]:
    """Findings about what discovery found (pure)."""
    domain = discovery.domain
    if discovery.uncertain:
        name, reason = next((n, r) for n, r in discovery.temperrors)
        return [
            codes.DMARC_TEMPERROR.finding(
                name,
                f"The DMARC policy could not be looked up: {reason}.",
                details={"failed": [n for n, _ in discovery.temperrors], "error": reason},
            )
        ]
    if discovery.location is None:
        return [
            codes.DMARC_MISSING.finding(
                domain,
                "No DMARC record: anyone can send mail as this domain, and Gmail, Yahoo and "
                "Microsoft require one from bulk senders.",
                fix=suggested_record(domain, "none")
                + "   (then move to p=quarantine once reports look right)",
            )
        ]
    subject = discovery.location
    if len(discovery.texts) > 1:
        return [
            codes.DMARC_MULTIPLE_RECORDS.finding(
                subject,
                f"{len(discovery.texts)} DMARC records are published: receivers ignore them "
                "all (RFC 9989 §4.10), as if there were none.",
                details={"records": list(discovery.texts)},
                fix="Keep exactly one: " + suggested_record(domain),
            )
        ]
    if discovery.lint is not None and discovery.lint.errors:
        return _tag_errors(subject, discovery.lint)
    if discovery.parse_error is not None:
        error = discovery.parse_error
        return [
            codes.DMARC_SYNTAX_ERROR.finding(
                subject,
                f"The DMARC record does not parse: {error.reason} (at position {error.position}).",
                details={"record": error.text, "position": error.position, "reason": error.reason},
                fix=suggested_record(domain),
            )
        ]
    assert discovery.record is not None
    return judge_record(domain, subject, discovery.record, inherited=discovery.inherited)


def _tag_errors(subject: str, lint: DmarcLint) -> list[Finding]:
    """One ``dmarc.syntax-error`` per invalid tag; the fix repairs them all at once,
    keeping every valid tag (the user's own report addresses included)."""
    fix = f'{subject}. 3600 IN TXT "{lint.repaired_text()}"'
    findings = []
    for error in lint.errors:
        ignored = error.tag in ("p", "sp")
        effect = (
            "receivers read the record as p=none, or ignore it"
            if ignored
            else "receivers ignore this tag and use its default"
        )
        findings.append(
            codes.DMARC_SYNTAX_ERROR.finding(
                subject,
                f"{error.tag}={error.value} is invalid ({error.reason}): {effect}.",
                details={
                    "record": lint.text,
                    "tag": error.tag,
                    "value": error.value,
                    "position": error.position,
                    "reason": error.reason,
                    "repair": error.repair,
                },
                fix=fix,
            )
        )
    return findings


def judge_record(
    domain: str, subject: str, record: DmarcRecord, *, inherited: bool
) -> list[Finding]:
    """Lint one parsed record (pure)."""
    findings: list[Finding] = []
    if inherited:
        findings.append(
            codes.DMARC_INHERITED.finding(
                domain,
                f"The policy comes from {subject}: sp={record.subdomain_policy} applies here.",
                details={"location": subject, "policy": record.subdomain_policy},
            )
        )
    applied = record.subdomain_policy if inherited else record.policy
    if record.p is None:
        findings.append(
            codes.DMARC_NO_POLICY.finding(
                subject,
                "The record has no p= tag: RFC 9989 treats it as p=none, RFC 7489 "
                "receivers ignore the record.",
                fix=suggested_record(domain)
                if inherited
                else revised_record(subject, record, p="quarantine"),
            )
        )
    elif applied == "none":
        findings.append(
            codes.DMARC_POLICY_NONE.finding(
                subject,
                "The policy is none: receivers only report, spoofed mail is still delivered.",
                details={"policy": applied},
                fix=suggested_record(domain, "quarantine")
                if inherited
                else revised_record(subject, record, p="quarantine"),
            )
        )
    findings.extend(_weaker(subject, record))
    if not record.rua:
        findings.append(
            codes.DMARC_NO_RUA.finding(
                subject,
                "No rua= tag: you receive no aggregate reports, so you cannot see who sends "
                "as your domain nor whether your own mail passes.",
                fix=suggested_record(domain, record.policy)
                if inherited
                else revised_record(subject, record, rua=f"mailto:dmarc-reports@{domain}"),
            )
        )
    if record.testing:
        findings.append(
            codes.DMARC_TESTING.finding(
                subject,
                "t=y: receivers apply the policy one step lighter (reject as quarantine, "
                "quarantine as none).",
                fix="Remove t=y once reports look right.",
            )
        )
    findings.extend(_removed(subject, record))
    return findings


def _weaker(subject: str, record: DmarcRecord) -> list[Finding]:
    findings = []
    for tag, value in (("sp", record.sp), ("np", record.np)):
        if value is not None and _STRENGTH[value] < _STRENGTH[record.policy]:
            findings.append(
                codes.DMARC_SUBDOMAIN_WEAKER.finding(
                    subject,
                    f"{tag}={value} is weaker than p={record.policy}: spoofers can use "
                    + ("subdomains." if tag == "sp" else "names that do not exist."),
                    details={"tag": tag, "value": value, "p": record.policy},
                    fix=f"Remove {tag}= or set {tag}={record.policy}.",
                )
            )
    return findings


def _removed(subject: str, record: DmarcRecord) -> list[Finding]:
    findings = []
    for tag in record.removed_tags:
        effect = {
            "pct": "RFC 9989 replaced pct with t=: receivers that follow it apply the policy "
            "to all mail (pct<100 no longer samples)",
            "rf": "failure report format is always AFRF",
            "ri": "aggregate reports are sent daily whatever ri says",
        }[tag]
        partial = tag == "pct" and record.pct is not None and record.pct < 100
        findings.append(
            codes.DMARC_REMOVED_TAG.finding(
                subject,
                f"{tag}= was removed by RFC 9989: {effect}.",
                details={"tag": tag, "value": dict(record.tags)[tag]},
                fix=f"Remove {tag}=" + (" and use t=y while testing." if partial else "."),
                severity=Severity.WARNING if partial else None,
            )
        )
    return findings


async def _cname_conflict(domain: str, resolver: Resolver) -> bool:
    name = f"_dmarc.{domain}"
    try:
        cname, txt = await asyncio.gather(
            resolver.query(name, "CNAME"), resolver.query(name, "TXT")
        )
    except (TempError, ParseError):
        return False
    return cname.ok and txt.ok and not txt.cname_chain


async def _destinations(
    domain: str, discovery: Discovery, record: DmarcRecord, resolver: Resolver
) -> list[Finding]:
    org = discovery.organizational_domain or domain
    external = {
        uri.domain
        for uri in (*record.rua, *record.ruf)
        if uri.domain and uri.domain != org and not uri.domain.endswith("." + org)
    }
    # RFC 9990 §3.2.3: the destination authorises the domain that published the record.
    owner = (discovery.location or f"_dmarc.{domain}").removeprefix("_dmarc.")
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(_destination(owner, dest, resolver)) for dest in sorted(external)
        ]
    return [f for task in tasks for f in task.result()]


async def _destination(domain: str, dest: str, resolver: Resolver) -> list[Finding]:
    name = f"{domain}._report._dmarc.{dest}"
    try:
        auth, mx = await asyncio.gather(resolver.query(name, "TXT"), resolver.query(dest, "MX"))
    except TempError as exc:
        return [
            codes.DMARC_TEMPERROR.finding(
                name,
                f"The report destination {dest} could not be checked: {exc}.",
                details={"destination": dest},
            )
        ]
    except ParseError:
        return []
    findings = []
    if not dmarc_texts(auth.texts()):
        findings.append(
            codes.DMARC_REPORT_NOT_AUTHORIZED.finding(
                name,
                f"{dest} has not authorised reports about {domain}: receivers will not send "
                "them there (RFC 9990 §3.2.3).",
                details={"destination": dest},
                fix=f'{name}. 3600 IN TXT "v=DMARC1"   (published by {dest}; '
                f'"*._report._dmarc.{dest}" authorises every domain)',
            )
        )
    hosts = [h for _, h in mx.mx_hosts() if h != "."]
    if not hosts:
        findings.append(
            codes.DMARC_REPORT_NO_MX.finding(
                dest,
                f"The report destination {dest} has no MX: reports to it are lost.",
                details={"destination": dest},
            )
        )
    return findings
