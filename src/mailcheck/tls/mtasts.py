"""The MTA-STS check of a domain (RFC 8461): record, policy fetch, policy against the MX.

Three steps, each judged by a pure function: the ``_mta-sts`` TXT record
(:func:`judge_record`), the HTTPS fetch (:func:`judge_fetch`) and the policy against
the MX hosts and the certificates the STARTTLS probe saw (:func:`judge_policy`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from mailcheck import codes
from mailcheck.errors import ParseError, TempError
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import Finding, Severity, error_of, sort_findings, status_of
from mailcheck.tls.mtasts_fetch import (
    DEFAULT_FETCH_TIMEOUT,
    FetchOutcome,
    PolicyFetch,
    fetch_policy,
)
from mailcheck.tls.mtasts_record import (
    MtaStsPolicy,
    MtaStsRecord,
    is_mtasts_txt,
    mx_pattern_matches,
    parse_mtasts_policy,
    parse_mtasts_record,
)
from mailcheck.tls.starttls_judge import certificate_problems
from mailcheck.tls.types import MtaStsMode, MtaStsResult, TlsProbe

# RFC 8461 §3.2 suggests "weeks or greater" for max_age; under a day, a policy barely
# outlives the attack it should defeat.
MIN_SENSIBLE_MAX_AGE = 86_400


async def audit_mtasts(
    domain: str,
    /,
    *,
    resolver: Resolver,
    mx_hosts: Sequence[str],
    probes: Sequence[TlsProbe] = (),
    timeout: float = DEFAULT_FETCH_TIMEOUT,
    allow_private: bool = False,
    cafile: str | Path | None = None,
    https_port: int = 443,
) -> MtaStsResult:
    """Check the MTA-STS record and policy of ``domain`` against its MX hosts.

    Args:
        domain: the domain (A-labels).
        resolver: the DNS resolver (also resolves ``mta-sts.<domain>`` for the fetch).
        mx_hosts: the domain's MX host names.
        probes: STARTTLS probes of those hosts, if any: their certificates are checked
            as the policy's senders would.
        timeout: seconds for the policy fetch.
        allow_private: let the fetch connect to non-global addresses (tests only).
        cafile: trusted CAs for the policy host instead of the system store.
        https_port: the policy host's HTTPS port (443).
    """
    loaded = await load_mtasts(
        domain,
        resolver=resolver,
        timeout=timeout,
        allow_private=allow_private,
        cafile=cafile,
        https_port=https_port,
    )
    return complete_mtasts(loaded, mx_hosts, probes)


async def load_mtasts(
    domain: str,
    /,
    *,
    resolver: Resolver,
    timeout: float = DEFAULT_FETCH_TIMEOUT,
    allow_private: bool = False,
    cafile: str | Path | None = None,
    https_port: int = 443,
) -> MtaStsResult:
    """The record and the policy, judged on their own (no MX needed yet): the first half
    of :func:`audit_mtasts`, run while the MX hosts are being looked up and probed."""
    subject = f"_mta-sts.{domain}"
    try:
        answer = await resolver.query(subject, "TXT")
    except TempError as exc:
        return _result([_temperror(subject, str(exc))])
    record, record_text, findings = judge_record(subject, answer.texts())
    if record is None:
        return _result(findings, record=record_text)
    fetch = await fetch_policy(
        domain,
        resolver=resolver,
        timeout=timeout,
        allow_private=allow_private,
        cafile=cafile,
        port=https_port,
    )
    facts = {"record": record_text, "id": record.id, "policy_url": fetch.url}
    fetched = judge_fetch(domain, fetch)
    if fetch.text is None:
        return _result(fetched, **facts)
    try:
        policy = parse_mtasts_policy(fetch.text)
    except ParseError as exc:
        fetched.append(
            codes.MTASTS_POLICY_SYNTAX_ERROR.finding(
                fetch.url,
                f"The MTA-STS policy does not parse: {exc.reason}.",
                details={"reason": exc.reason, "position": exc.position},
            )
        )
        return _result(fetched, policy=fetch.text, **facts)
    return _result(
        fetched, policy=fetch.text, mode=policy.mode, max_age=policy.max_age, mx=policy.mx, **facts
    )


def complete_mtasts(
    loaded: MtaStsResult, mx_hosts: Sequence[str], probes: Sequence[TlsProbe] = (), /
) -> MtaStsResult:
    """Judge a loaded policy against the MX hosts and the probed certificates (pure)."""
    if loaded.mode is None or loaded.max_age is None or loaded.policy_url is None:
        return loaded
    policy = MtaStsPolicy(mode=loaded.mode, max_age=loaded.max_age, mx=loaded.mx)
    more = judge_policy(policy, mx_hosts, probes, subject=loaded.policy_url)
    findings = sort_findings((*loaded.findings, *more))
    return dataclasses.replace(
        loaded, findings=findings, status=status_of(findings), error=error_of(findings)
    )


def _result(findings: Sequence[Finding], **facts: object) -> MtaStsResult:
    ordered = sort_findings(findings)
    return MtaStsResult(
        status=status_of(ordered),
        findings=ordered,
        error=error_of(ordered),
        **facts,  # type: ignore[arg-type]
    )


def _temperror(subject: str, error: str) -> Finding:
    return codes.MTASTS_TEMPERROR.finding(
        subject, f"MTA-STS could not be checked ({error}).", details={"error": error}
    )


def judge_record(
    subject: str, texts: Sequence[str], /
) -> tuple[MtaStsRecord | None, str | None, list[Finding]]:
    """The record among the TXT strings at ``_mta-sts.<domain>``, or why there is none."""
    records = [t for t in texts if is_mtasts_txt(t)]
    if not records:
        return (
            None,
            None,
            [
                codes.MTASTS_MISSING.finding(
                    subject, "No MTA-STS record: senders do not require TLS."
                )
            ],
        )
    if len(records) > 1:
        # RFC 8461 §3.1: "If the number of resulting records is not one, senders MUST
        # assume the recipient domain does not have an available MTA-STS Policy."
        return (
            None,
            records[0],
            [
                codes.MTASTS_MULTIPLE_RECORDS.finding(
                    subject,
                    "Several MTA-STS records: senders ignore them all.",
                    details={"records": records},
                )
            ],
        )
    try:
        return parse_mtasts_record(records[0]), records[0], []
    except ParseError as exc:
        return (
            None,
            records[0],
            [
                codes.MTASTS_SYNTAX_ERROR.finding(
                    subject,
                    f"The MTA-STS record does not parse: {exc.reason}.",
                    details={"record": records[0], "reason": exc.reason, "position": exc.position},
                )
            ],
        )


def judge_fetch(domain: str, fetch: PolicyFetch, /) -> list[Finding]:
    """Findings about how the policy was served (empty for a clean ``text/plain`` 200)."""
    url = fetch.url
    details: dict[str, object] = {"url": url, "address": fetch.address}
    outcome = fetch.outcome
    if outcome is FetchOutcome.OK:
        if fetch.text_plain:
            return []
        return [
            codes.MTASTS_POLICY_CONTENT_TYPE.finding(
                url,
                f"The policy is served as {fetch.content_type or 'no type'}, not text/plain.",
                details={**details, "content_type": fetch.content_type},
            )
        ]
    if outcome is FetchOutcome.UNREACHABLE:
        return [_temperror(url, fetch.error or "unreachable")]
    if outcome is FetchOutcome.NO_ADDRESS:
        return [
            codes.MTASTS_POLICY_HOST_MISSING.finding(
                f"mta-sts.{domain}",
                f"mta-sts.{domain} has no address: the policy cannot be fetched.",
            )
        ]
    if outcome is FetchOutcome.ADDRESS_REFUSED:
        return [
            codes.MTASTS_POLICY_ADDRESS_REFUSED.finding(
                f"mta-sts.{domain}",
                f"mta-sts.{domain} resolves only to non-public addresses "
                f"({', '.join(fetch.refused)}): the policy was not fetched.",
                details={"addresses": list(fetch.refused)},
            )
        ]
    simple = {
        FetchOutcome.CERTIFICATE: (
            codes.MTASTS_POLICY_CERTIFICATE,
            f"The HTTPS certificate of mta-sts.{domain} does not verify ({fetch.error}).",
        ),
        FetchOutcome.REDIRECT: (
            codes.MTASTS_POLICY_REDIRECT,
            f"The policy URL redirects to {fetch.location}; senders do not follow redirects.",
        ),
        FetchOutcome.HTTP_ERROR: (
            codes.MTASTS_POLICY_HTTP_ERROR,
            f"The policy URL answers {fetch.status}.",
        ),
        FetchOutcome.TOO_LARGE: (
            codes.MTASTS_POLICY_TOO_LARGE,
            "The policy file is larger than senders read (64 KiB).",
        ),
    }
    code, message = simple[outcome]
    extra = {"status": fetch.status, "location": fetch.location, "error": fetch.error}
    return [
        code.finding(
            url, message, details={**details, **{k: v for k, v in extra.items() if v is not None}}
        )
    ]


def judge_policy(
    policy: MtaStsPolicy,
    mx_hosts: Sequence[str],
    probes: Sequence[TlsProbe],
    /,
    *,
    subject: str,
) -> list[Finding]:
    """The policy's mode and max_age, its ``mx`` patterns against the MX hosts, and the
    probed certificates against the policy (RFC 8461 §4)."""
    findings: list[Finding] = []
    if policy.mode is MtaStsMode.TESTING:
        findings.append(
            codes.MTASTS_TESTING.finding(
                subject, "The MTA-STS policy is in testing mode: it protects nothing yet."
            )
        )
    elif policy.mode is MtaStsMode.NONE:
        findings.append(
            codes.MTASTS_MODE_NONE.finding(
                subject, "The MTA-STS policy mode is none: the policy is withdrawn."
            )
        )
        return findings
    if policy.max_age < MIN_SENSIBLE_MAX_AGE:
        findings.append(
            codes.MTASTS_MAX_AGE_SHORT.finding(
                subject,
                f"max_age is {policy.max_age} s: senders forget the policy within a day.",
                details={"max_age": policy.max_age},
            )
        )
    # In testing mode nothing is refused: what would be an error is a warning.
    severity = None if policy.mode is MtaStsMode.ENFORCE else Severity.WARNING
    hosts = [h.lower().rstrip(".") for h in mx_hosts if h != "."]
    for host in hosts:
        if not policy.matches(host):
            findings.append(
                codes.MTASTS_MX_NOT_COVERED.finding(
                    host,
                    f"The MX host {host} matches no mx: pattern of the MTA-STS policy.",
                    details={"host": host, "patterns": list(policy.mx), "mode": str(policy.mode)},
                    severity=severity,
                )
            )
    for pattern in policy.mx:
        if hosts and not any(mx_pattern_matches(pattern, host) for host in hosts):
            findings.append(
                codes.MTASTS_PATTERN_UNUSED.finding(
                    subject,
                    f"The pattern mx: {pattern} matches no MX host.",
                    details={"pattern": pattern},
                )
            )
    for probe in probes:
        problems = certificate_problems(probe)
        if problems and policy.matches(probe.host):
            findings.append(
                codes.MTASTS_MX_CERTIFICATE.finding(
                    probe.host,
                    f"Senders applying the MTA-STS policy refuse {probe.host}: "
                    f"{', '.join(problems)}.",
                    details={
                        "host": probe.host,
                        "reasons": list(problems),
                        "mode": str(policy.mode),
                    },
                    severity=severity,
                )
            )
    return findings
