"""The DNSSEC check of a domain: does the answer senders need (its MX) validate?"""

from __future__ import annotations

from mailcheck import codes
from mailcheck.errors import TempError
from mailcheck.model import Finding, error_of, sort_findings, status_of
from mailcheck.tls.dnssec import DnssecChecker, SignedAnswer
from mailcheck.tls.types import DnssecResult, DnssecStatus


async def audit_dnssec(domain: str, /, *, checker: DnssecChecker | None) -> DnssecResult:
    """Validate the MX answer of ``domain``; without a checker, say it was not checked.

    A broken chain is an error (validating resolvers answer SERVFAIL: senders behind them
    cannot find the MX); an unsigned zone is an info.
    """
    if checker is None:
        finding = codes.DNSSEC_NOT_CHECKED.finding(
            domain,
            "DNSSEC was not checked: no trusted validating resolver or trust anchor was given.",
        )
        return _result([finding], dnssec=DnssecStatus.UNKNOWN, method="none")
    try:
        answer = await checker.lookup(domain, "MX")
    except TempError as exc:
        finding = codes.DNSSEC_TEMPERROR.finding(
            domain, f"DNSSEC could not be checked ({exc}).", details={"error": str(exc)}
        )
        return _result([finding], dnssec=DnssecStatus.UNKNOWN, method=checker.method)
    return _result(
        judge_dnssec(domain, answer), dnssec=answer.status, method=checker.method, zone=answer.zone
    )


def judge_dnssec(subject: str, answer: SignedAnswer, /) -> list[Finding]:
    """The finding for one validated answer (none when it is secure)."""
    details = {"name": answer.name, "type": answer.rdtype, "reason": answer.reason}
    if answer.status is DnssecStatus.BOGUS:
        return [
            codes.DNSSEC_BOGUS.finding(
                subject,
                f"{answer.name} {answer.rdtype} does not validate ({answer.reason}): "
                "validating resolvers answer SERVFAIL.",
                details=details,
            )
        ]
    if answer.status is DnssecStatus.INSECURE:
        return [
            codes.DNSSEC_UNSIGNED.finding(
                subject, f"{answer.name} is not signed ({answer.reason}).", details=details
            )
        ]
    return []


def _result(findings: list[Finding], **facts: object) -> DnssecResult:
    ordered = sort_findings(findings)
    return DnssecResult(
        status=status_of(ordered),
        findings=ordered,
        error=error_of(ordered),
        **facts,  # type: ignore[arg-type]
    )
