"""The TLS-RPT check of a domain (RFC 8460): the ``_smtp._tls`` record and its ``rua``."""

from __future__ import annotations

from collections.abc import Sequence

from mailcheck import codes
from mailcheck.errors import ParseError, TempError
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import Finding, error_of, sort_findings, status_of
from mailcheck.tls.tlsrpt_record import is_tlsrpt_txt, parse_tlsrpt
from mailcheck.tls.types import TlsRptResult


async def audit_tlsrpt(domain: str, /, *, resolver: Resolver) -> TlsRptResult:
    """Look up and judge ``_smtp._tls.<domain>``.

    Example:
        >>> result = await audit_tlsrpt("example.org", resolver=resolver)  # doctest: +SKIP
        >>> result.rua                                                      # doctest: +SKIP
        ('mailto:tls-reports@example.org',)
    """
    subject = f"_smtp._tls.{domain}"
    try:
        answer = await resolver.query(subject, "TXT")
    except TempError as exc:
        finding = codes.TLSRPT_TEMPERROR.finding(
            subject, f"TLS-RPT could not be checked ({exc}).", details={"error": str(exc)}
        )
        return _result([finding])
    return judge_tlsrpt(subject, answer.texts())


def judge_tlsrpt(subject: str, texts: Sequence[str], /) -> TlsRptResult:
    """Judge the TXT strings at ``_smtp._tls.<domain>`` (pure)."""
    records = [t for t in texts if is_tlsrpt_txt(t)]
    if not records:
        return _result(
            [
                codes.TLSRPT_MISSING.finding(
                    subject, "No TLS-RPT record: TLS failures go unreported."
                )
            ]
        )
    if len(records) > 1:
        # RFC 8460 §3: "If the number of resulting records is not one, senders MUST
        # assume the recipient domain does not implement TLSRPT."
        finding = codes.TLSRPT_MULTIPLE_RECORDS.finding(
            subject,
            "Several TLS-RPT records: senders send no report.",
            details={"records": records},
        )
        return _result([finding], record=records[0])
    try:
        record = parse_tlsrpt(records[0])
    except ParseError as exc:
        finding = codes.TLSRPT_SYNTAX_ERROR.finding(
            subject,
            f"The TLS-RPT record does not parse: {exc.reason}.",
            details={"record": records[0], "reason": exc.reason, "position": exc.position},
        )
        return _result([finding], record=records[0])
    return _result([], record=records[0], rua=record.rua)


def _result(findings: list[Finding], **facts: object) -> TlsRptResult:
    ordered = sort_findings(findings)
    return TlsRptResult(
        status=status_of(ordered),
        findings=ordered,
        error=error_of(ordered),
        **facts,  # type: ignore[arg-type]
    )
