"""Reports for the store, summary and CLI tests (and bench/bench_reports.py): built as
objects, or written as RFC 7489 XML the way reporters send them (plain, gzip, zip, in a
message)."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Sequence
from email.message import EmailMessage
from xml.sax.saxutils import escape

from mailcheck.reports import (
    AggregateRecord,
    AggregateReport,
    AuthResult,
    DateRange,
    PolicyOverride,
    PublishedPolicy,
    TlsFailure,
    TlsPolicyResult,
    TlsReport,
)

DAY = 86400
DOMAIN = "asso.reports.test"


def record(
    ip: str,
    count: int,
    *,
    dkim: str = "pass",
    spf: str = "pass",
    domain: str = DOMAIN,
    dkim_domain: str | None = None,
    spf_domain: str | None = None,
    reasons: Sequence[str] = (),
    disposition: str = "none",
) -> AggregateRecord:
    """A row: ``dkim``/``spf`` are the policy-evaluated (aligned) results; the raw DKIM
    result passes for ``dkim_domain`` (default: the domain when DKIM aligns)."""
    signer = dkim_domain or (domain if dkim == "pass" else None)
    return AggregateRecord(
        source_ip=ip,
        count=count,
        disposition=disposition,
        dkim=dkim,
        spf=spf,
        header_from=domain,
        reasons=tuple(PolicyOverride(type=r) for r in reasons),
        dkim_results=(
            (AuthResult(method="dkim", domain=signer, result="pass", selector="s1"),)
            if signer
            else ()
        ),
        spf_results=(
            AuthResult(
                method="spf",
                domain=spf_domain or domain,
                result="pass" if spf == "pass" else "fail",
                scope="mfrom",
            ),
        ),
    )


def report(
    report_id: str,
    records: Sequence[AggregateRecord],
    *,
    begin: int,
    reporter: str = "google.com",
    domain: str = DOMAIN,
    p: str = "none",
    days: int = 1,
) -> AggregateReport:
    return AggregateReport(
        org_name=reporter,
        email=f"noreply-dmarc@{reporter}",
        report_id=report_id,
        date_range=DateRange(begin, begin + days * DAY - 1),
        policy=PublishedPolicy(domain=domain, p=p, adkim="r", aspf="r", pct=100),
        records=tuple(records),
    )


def tls_report(
    report_id: str, *, begin: int, domain: str = DOMAIN, ok: int = 90, failed: int = 10
) -> TlsReport:
    failures = (
        (
            TlsFailure(
                result_type="certificate-expired",
                failed_session_count=failed,
                sending_mta_ip="192.0.2.9",
                receiving_mx_hostname=f"mx.{domain}",
            ),
        )
        if failed
        else ()
    )
    return TlsReport(
        org_name="Google Inc.",
        report_id=report_id,
        date_range=DateRange(begin, begin + DAY - 1),
        contact_info="smtp-tls-reporting@google.com",
        policies=(
            TlsPolicyResult(
                policy_type="sts",
                policy_domain=domain,
                successful=ok,
                failed=failed,
                mx_hosts=(f"mx.{domain}",),
                failures=failures,
            ),
        ),
    )


# --- as reporters send them ---------------------------------------------------------------


def _auth_xml(r: AggregateRecord) -> str:
    parts = []
    for a in r.dkim_results:
        selector = f"<selector>{escape(a.selector)}</selector>" if a.selector else ""
        parts.append(
            f"<dkim><domain>{escape(a.domain)}</domain>{selector}"
            f"<result>{escape(a.result)}</result></dkim>"
        )
    for a in r.spf_results:
        parts.append(
            f"<spf><domain>{escape(a.domain)}</domain><scope>{a.scope or 'mfrom'}</scope>"
            f"<result>{escape(a.result)}</result></spf>"
        )
    return "".join(parts)


def to_xml(rep: AggregateReport) -> bytes:
    """The report as RFC 7489 appendix C XML."""
    rows = []
    for r in rep.records:
        reasons = "".join(f"<reason><type>{escape(x.type)}</type></reason>" for x in r.reasons)
        rows.append(
            "<record><row>"
            f"<source_ip>{escape(r.source_ip)}</source_ip><count>{r.count}</count>"
            f"<policy_evaluated><disposition>{r.disposition}</disposition>"
            f"<dkim>{r.dkim}</dkim><spf>{r.spf}</spf>{reasons}</policy_evaluated>"
            f"</row><identifiers><header_from>{escape(r.header_from)}</header_from>"
            f"</identifiers><auth_results>{_auth_xml(r)}</auth_results></record>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feedback><report_metadata>'
        f"<org_name>{escape(rep.org_name)}</org_name><email>{escape(rep.email or '')}</email>"
        f"<report_id>{escape(rep.report_id)}</report_id><date_range>"
        f"<begin>{rep.date_range.begin}</begin><end>{rep.date_range.end}</end></date_range>"
        f"</report_metadata><policy_published><domain>{escape(rep.policy.domain)}</domain>"
        f"<adkim>r</adkim><aspf>r</aspf><p>{rep.policy.p}</p><pct>100</pct>"
        f"</policy_published>{''.join(rows)}</feedback>\n"
    ).encode()


def file_name(rep: AggregateReport) -> str:
    """RFC 7489 §7.2.1.1: receiver!policy-domain!begin!end."""
    return f"{rep.org_name}!{rep.domain}!{rep.date_range.begin}!{rep.date_range.end}"


def to_gzip(rep: AggregateReport) -> bytes:
    return gzip.compress(to_xml(rep), mtime=0)


def to_zip(rep: AggregateReport) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(file_name(rep) + ".xml", to_xml(rep))
    return buffer.getvalue()


def to_tls_json(rep: TlsReport) -> bytes:
    """The TLS report as RFC 8460 JSON."""
    begin = rep.date_range.begin
    from datetime import UTC, datetime

    def stamp(t: int) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    data = {
        "organization-name": rep.org_name,
        "date-range": {"start-datetime": stamp(begin), "end-datetime": stamp(rep.date_range.end)},
        "contact-info": rep.contact_info,
        "report-id": rep.report_id,
        "policies": [
            {
                "policy": {
                    "policy-type": p.policy_type,
                    "policy-domain": p.policy_domain,
                    "mx-host": list(p.mx_hosts),
                },
                "summary": {
                    "total-successful-session-count": p.successful,
                    "total-failure-session-count": p.failed,
                },
                "failure-details": [
                    {
                        "result-type": f.result_type,
                        "sending-mta-ip": f.sending_mta_ip,
                        "receiving-mx-hostname": f.receiving_mx_hostname,
                        "failed-session-count": f.failed_session_count,
                    }
                    for f in p.failures
                ],
            }
            for p in rep.policies
        ],
    }
    return json.dumps(data).encode()


def to_message(rep: AggregateReport, *, to: str = f"dmarc@{DOMAIN}") -> bytes:
    """A report message as reporters send it: a zip attached."""
    message = EmailMessage()
    message["From"] = rep.email or "noreply@example.net"
    message["To"] = to
    message["Subject"] = f"Report Domain: {rep.domain} Submitter: {rep.org_name}"
    message["Message-ID"] = f"<{rep.report_id}@{rep.org_name}>"
    message.set_content("This is an aggregate report.")
    message.add_attachment(
        to_zip(rep), maintype="application", subtype="zip", filename=file_name(rep) + ".zip"
    )
    return message.as_bytes()
