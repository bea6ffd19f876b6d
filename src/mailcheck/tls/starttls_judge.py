"""Judge STARTTLS probes, pure: probe facts in, findings and a status out."""

from __future__ import annotations

from collections.abc import Sequence

from mailcheck import codes
from mailcheck.model import Finding, error_of, sort_findings, status_of
from mailcheck.tls.certinfo import EXPIRY_WARNING_DAYS
from mailcheck.tls.types import ProbeStatus, StartTlsResult, TlsProbe

# RFC 8996 §2-3: TLS 1.0 and 1.1 "MUST NOT be used".
_OLD_PROTOCOLS = frozenset({"SSLv3", "TLSv1", "TLSv1.1"})


def judge_probes(probes: Sequence[TlsProbe], /) -> StartTlsResult:
    """The STARTTLS result of the probed MX hosts (one finding per fact that is wrong)."""
    findings: list[Finding] = []
    for probe in probes:
        findings.extend(judge_probe(probe))
    ordered = sort_findings(findings)
    return StartTlsResult(
        status=status_of(ordered),
        findings=ordered,
        error=error_of(ordered),
        probed=True,
        probes=tuple(probes),
    )


def judge_probe(probe: TlsProbe, /) -> tuple[Finding, ...]:
    """The findings about one probe."""
    where = {"host": probe.host, "address": probe.address, "port": probe.port}
    if probe.status is ProbeStatus.UNKNOWN:
        return (
            codes.TLS_TEMPERROR.finding(
                probe.host,
                f"{probe.host} could not be probed ({probe.error}): its STARTTLS is unknown.",
                details={**where, "error": probe.error},
            ),
        )
    if probe.status is ProbeStatus.NOT_OFFERED:
        return (
            codes.TLS_STARTTLS_MISSING.finding(
                probe.host,
                f"{probe.host} does not offer STARTTLS: mail to it travels in clear text.",
                details=where,
                fix="Enable STARTTLS in the mail server (Postfix: smtpd_tls_security_level = may).",
            ),
        )
    if probe.status is ProbeStatus.HANDSHAKE_FAILED:
        return (
            codes.TLS_HANDSHAKE_FAILED.finding(
                probe.host,
                f"{probe.host} offers STARTTLS but the TLS handshake fails ({probe.error}).",
                details={**where, "error": probe.error},
            ),
        )
    return tuple(_certificate_findings(probe, where))


def _certificate_findings(probe: TlsProbe, where: dict[str, object]) -> list[Finding]:
    findings: list[Finding] = []
    if probe.protocol in _OLD_PROTOCOLS:
        findings.append(
            codes.TLS_OLD_PROTOCOL.finding(
                probe.host,
                f"{probe.host} negotiates {probe.protocol}, deprecated by RFC 8996.",
                details={**where, "protocol": probe.protocol},
            )
        )
    expired = probe.days_to_expiry is not None and probe.days_to_expiry < 0
    if expired:
        findings.append(
            codes.TLS_CERTIFICATE_EXPIRED.finding(
                probe.host,
                f"The certificate of {probe.host} expired on {probe.not_after}.",
                details={**where, "not_after": probe.not_after},
            )
        )
    elif probe.days_to_expiry is not None and probe.days_to_expiry < EXPIRY_WARNING_DAYS:
        findings.append(
            codes.TLS_CERTIFICATE_EXPIRING.finding(
                probe.host,
                f"The certificate of {probe.host} expires in {probe.days_to_expiry} days.",
                details={**where, "not_after": probe.not_after, "days": probe.days_to_expiry},
            )
        )
    if probe.chain_valid is False and not expired:
        findings.append(
            codes.TLS_CERTIFICATE_UNTRUSTED.finding(
                probe.host,
                f"The certificate chain of {probe.host} does not verify ({probe.chain_error}); "
                "STARTTLS itself works.",
                details={**where, "reason": probe.chain_error},
            )
        )
    if probe.name_matches is False:
        findings.append(
            codes.TLS_NAME_MISMATCH.finding(
                probe.host,
                f"The certificate of {probe.host} names {', '.join(probe.names) or 'no host'}.",
                details={**where, "names": list(probe.names)},
            )
        )
    return findings


def certificate_problems(probe: TlsProbe, /) -> tuple[str, ...]:
    """Why an authenticating sender (MTA-STS, RFC 8461 §4.2) refuses this host's TLS:
    ``no-tls``, ``untrusted``, ``expired``, ``name-mismatch``; empty when it accepts it,
    and empty for an ``unknown`` probe (nothing is known)."""
    if probe.status is ProbeStatus.UNKNOWN:
        return ()
    if probe.status is not ProbeStatus.TLS:
        return ("no-tls",)
    problems = []
    if probe.days_to_expiry is not None and probe.days_to_expiry < 0:
        problems.append("expired")
    elif probe.chain_valid is False:
        problems.append("untrusted")
    if probe.name_matches is False:
        problems.append("name-mismatch")
    return tuple(problems)
