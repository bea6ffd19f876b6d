"""The ``report.*`` findings: what a summary or an ingest tells a panel to alert on.

Pure: the summary's parts in, findings out (details carry the figures; never parse the
message).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mailcheck import codes
from mailcheck.model import Finding, sort_findings
from mailcheck.reports.store import IngestSummary
from mailcheck.reports.summary_model import (
    Readiness,
    SourceCategory,
    SourceGroup,
    TlsSummary,
)

__all__ = ["TLS_RELATED", "ingest_findings", "summary_findings"]


def _source_findings(domain: str, groups: Sequence[SourceGroup]) -> list[Finding]:
    found: list[Finding] = []
    for group in groups:
        details = {
            "label": group.label, "via": group.via, "ips": list(group.ips),
            "messages": group.messages, "spf_rate": group.spf_rate,
            "dkim_rate": group.dkim_rate, "pass_rate": group.pass_rate, "issue": group.issue,
        }  # fmt: skip
        if group.issue in ("dkim-unaligned", "dmarc-failing"):
            code = (
                codes.REPORT_INFRASTRUCTURE_UNALIGNED
                if group.category is SourceCategory.INFRASTRUCTURE
                else codes.REPORT_SERVICE_UNALIGNED
            )
            found.append(
                code.finding(
                    group.label,
                    f"{group.label}: {group.messages} message(s), DKIM aligned "
                    f"{group.dkim_rate:.0%}, DMARC pass {group.pass_rate:.0%}.",
                    details=details,
                    fix=group.advice,
                )
            )
    unauthorized = [g for g in groups if g.category is SourceCategory.UNAUTHORIZED]
    if unauthorized:
        messages = sum(g.messages for g in unauthorized)
        found.append(
            codes.REPORT_UNAUTHORIZED_SOURCE.finding(
                domain,
                f"{messages} message(s) in the name of {domain} came from "
                f"{len(unauthorized)} unauthorised source group(s).",
                details={
                    "messages": messages,
                    "groups": [
                        {
                            "label": g.label,
                            "ips": list(g.ips),
                            "messages": g.messages,
                            "issue": g.issue,
                        }
                        for g in unauthorized
                    ],
                },
                fix="Authorise the services you use (SPF include, DKIM); a p=quarantine or "
                "p=reject policy stops the rest.",
            )
        )
    forwarders = [g for g in groups if g.issue == "forwarded-failing"]
    if forwarders:
        failing = sum(g.messages - g.passed for g in forwarders)
        found.append(
            codes.REPORT_FORWARDER_FAILURES.finding(
                domain,
                f"{failing} forwarded or list message(s) failed DMARC.",
                details={"messages": failing, "labels": [g.label for g in forwarders]},
                fix=forwarders[0].advice,
            )
        )
    return found


def _readiness_finding(domain: str, readiness: Readiness) -> Finding | None:
    details = {
        "policy": readiness.policy, "ready_for": readiness.ready_for,
        "legitimate": readiness.legitimate, "at_risk": readiness.at_risk,
        "forwarded_at_risk": readiness.forwarded_at_risk,
        "at_risk_share": readiness.at_risk_share,
    }  # fmt: skip
    if not readiness.legitimate or readiness.policy == "reject":
        return None
    order = ("none", "quarantine", "reject")
    target = "reject" if readiness.policy == "quarantine" else "quarantine"
    if order.index(readiness.ready_for) < order.index(target):
        return codes.REPORT_POLICY_NOT_READY.finding(
            domain,
            f"p={target} would quarantine or reject {readiness.at_risk_share:.1%} of the "
            "domain's legitimate mail today.",
            details=details,
            fix=readiness.steps[0] if readiness.steps else None,
        )
    return codes.REPORT_POLICY_READY.finding(
        domain,
        f"Legitimate mail passes DMARC: p={readiness.ready_for} would block "
        f"{readiness.at_risk_share:.1%} of it.",
        details=details,
        fix=readiness.steps[-1] if readiness.steps else None,
    )


#: RFC 8460 §4.3 result types -> the findings of ``mailcheck audit`` (transport security)
#: that look at the same cause from the sender's side.
TLS_RELATED = {
    "starttls-not-supported": ("tls.starttls-missing",),
    "certificate-host-mismatch": ("tls.name-mismatch", "mtasts.mx-certificate"),
    "certificate-expired": ("tls.certificate-expired",),
    "certificate-not-trusted": ("tls.certificate-untrusted", "mtasts.mx-certificate"),
    "validation-failure": ("tls.handshake-failed",),
    "tlsa-invalid": ("dane.unusable-record", "dane.mismatch"),
    "dnssec-invalid": ("dane.no-dnssec",),
    "dane-required": ("dane.missing",),
    "sts-policy-fetch-error": ("mtasts.policy-http-error", "mtasts.policy-host-missing"),
    "sts-policy-invalid": ("mtasts.policy-syntax-error",),
    "sts-webpki-invalid": ("mtasts.policy-certificate",),
}


def _related(row: TlsSummary) -> list[str]:
    return list(
        dict.fromkeys(c for kind, _ in row.failure_types for c in TLS_RELATED.get(kind, ()))
    )


def _tls_findings(tls: Iterable[TlsSummary]) -> list[Finding]:
    return [
        codes.REPORT_TLS_FAILURES.finding(
            row.policy_domain,
            f"{row.failed} TLS session(s) to {row.policy_domain} failed ({row.failure_rate:.1%},"
            f" policy {row.policy_type}).",
            details={
                "policy_type": row.policy_type,
                "successful": row.successful,
                "failed": row.failed,
                "failure_rate": row.failure_rate,
                "failure_types": dict(row.failure_types),
                "related": _related(row),
            },
            fix="Check the MX certificates and the MTA-STS policy or TLSA records the failure "
            "types point to (mailcheck audit shows the MTA-STS and DANE findings).",
        )
        for row in tls
        if row.failed
    ]


def summary_findings(
    domain: str,
    *,
    messages: int,
    groups: Sequence[SourceGroup],
    readiness: Readiness,
    tls: Sequence[TlsSummary],
    errors: Sequence[str],
) -> tuple[Finding, ...]:
    """The findings of a domain's summary, worst first."""
    found: list[Finding] = []
    if errors:
        found.append(
            codes.REPORT_TEMPERROR.finding(
                domain,
                "The domain's SPF or MX could not be resolved: some sources are not classified.",
                details={"errors": list(errors)},
            )
        )
    if not messages:
        found.append(
            codes.REPORT_NO_REPORTS.finding(
                domain,
                "No aggregate report covers the period.",
                fix=f"Publish rua=mailto:... in _dmarc.{domain} and ingest what arrives.",
            )
        )
    found.extend(_source_findings(domain, groups))
    readiness_finding = _readiness_finding(domain, readiness)
    if readiness_finding is not None:
        found.append(readiness_finding)
    found.extend(_tls_findings(tls))
    return sort_findings(found)


def ingest_findings(summary: IngestSummary) -> tuple[Finding, ...]:
    """Findings of an ingest: blobs quarantined, reports about domains not managed."""
    found: list[Finding] = []
    if summary.quarantined:
        found.append(
            codes.REPORT_QUARANTINED.finding(
                "ingest",
                f"{summary.quarantined} blob(s) were not readable reports and were quarantined.",
                details={"reasons": dict(summary.reasons)},
            )
        )
    for domain, count in summary.foreign_domains.items():
        found.append(
            codes.REPORT_FOREIGN_DOMAIN.finding(
                domain,
                f"{count} report(s) about {domain}, which the store does not manage, were "
                "kept apart.",
                details={"reports": count},
                fix="If the domain is yours, manage it (--domain); otherwise someone points "
                "its reports at your address.",
            )
        )
    return sort_findings(found)
