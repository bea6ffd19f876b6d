"""The text of ``mailcheck reports summary``: a domain's reports at a glance.

Every value that came from a report or from DNS goes through ``printable`` (control
characters shown escaped): a reporter cannot drive the terminal.
"""

from __future__ import annotations

import time

from mailcheck.cli.common import printable
from mailcheck.reports.summary_model import DmarcSummary, SourceCategory, SourceGroup, rate

__all__ = ["group_line", "summary_text"]

_CATEGORY = {
    SourceCategory.INFRASTRUCTURE: "your infrastructure",
    SourceCategory.SERVICE: "authorised services",
    SourceCategory.FORWARDER: "forwarders and lists",
    SourceCategory.UNAUTHORIZED: "unauthorised",
    SourceCategory.UNKNOWN: "could not tell (DNS failed or not asked)",
}
#: Groups listed per category in text (JSON has them all).
TEXT_GROUPS = 12
#: Days shown in text (JSON has every day; HTML charts them).
TEXT_DAYS = 7


def _date(t: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def _pct(value: float) -> str:
    return f"{value * 100:.0f} %" if value in (0.0, 1.0) else f"{value * 100:.1f} %"


def group_line(group: SourceGroup) -> str:
    """``Brevo (via include:spf.brevo.com): 1,204 messages, SPF aligned 100 %, ...``."""
    label = printable(group.label)
    if group.via and group.via not in ("mx", "egress", "spf"):
        label += f" (via {printable(group.via)})"
    elif group.via:
        label += f" [{group.via}]"
    ips = ", ".join(group.ips[:3]) + (" ..." if len(group.ips) > 3 else "")
    return (
        f"{label}: {group.messages:,} messages, SPF aligned {_pct(group.spf_rate)}, "
        f"DKIM aligned {_pct(group.dkim_rate)}, DMARC pass {_pct(group.pass_rate)}  "
        f"({printable(ips)})"
    )


def _sources(summary: DmarcSummary) -> list[str]:
    lines = ["", "Sources"]
    for category in SourceCategory:
        groups = [g for g in summary.groups if g.category is category]
        if not groups:
            continue
        total = sum(g.messages for g in groups)
        lines.append(f"  {_CATEGORY[category]}: {total:,} messages")
        for group in groups[:TEXT_GROUPS]:
            lines.append(f"    {group_line(group)}")
            if group.advice:
                lines.append(f"      -> {printable(group.advice)}")
        if len(groups) > TEXT_GROUPS:
            lines.append(f"    ... and {len(groups) - TEXT_GROUPS} more (--format json)")
    return lines


def _readiness(summary: DmarcSummary) -> list[str]:
    r = summary.readiness
    lines = ["", f"Policy readiness (published: p={printable(r.policy or 'unknown')})"]
    lines.append(
        f"  legitimate mail {r.legitimate:,}; a stricter policy would quarantine or reject "
        f"{r.at_risk + r.forwarded_at_risk:,} of it today ({_pct(r.at_risk_share)}), "
        f"{r.forwarded_at_risk:,} of those forwarded"
    )
    lines.append(f"  unauthorised mail it would stop: {r.unauthorized:,}")
    lines.append(f"  ready for: p={r.ready_for}")
    for number, step in enumerate(r.steps, start=1):
        lines.append(f"  {number}. {printable(step)}")
    return lines


def _tls(summary: DmarcSummary) -> list[str]:
    if not summary.tls:
        return []
    lines = ["", "TLS reports (RFC 8460)"]
    for row in summary.tls:
        kinds = ", ".join(f"{printable(k)} {n:,}" for k, n in row.failure_types) or "none"
        lines.append(
            f"  {printable(row.policy_domain)} ({printable(row.policy_type)}): "
            f"{row.successful + row.failed:,} sessions, {row.failed:,} failed "
            f"({_pct(row.failure_rate)}); failure types: {kinds}"
        )
    return lines


def summary_text(summary: DmarcSummary) -> str:
    """The whole summary as text lines (ends with a newline)."""
    head = (
        f"{summary.domain}: DMARC reports {_date(summary.since)} to {_date(summary.until)}"
        f" - status {summary.status.value}"
    )
    lines = [
        head,
        f"  {summary.reports:,} report(s) from {len(summary.reporters)} reporter(s), "
        f"{summary.messages:,} messages, DMARC pass {_pct(summary.pass_rate)}",
    ]
    if summary.reporters:
        top = ", ".join(f"{printable(r.reporter)} {r.messages:,}" for r in summary.reporters[:6])
        lines.append(f"  by reporter: {top}")
    if summary.days:
        recent = ", ".join(
            f"{_date(d.day * 86400)[5:]} {d.messages:,} ({_pct(rate(d.passed, d.messages))})"
            for d in summary.days[-TEXT_DAYS:]
        )
        lines.append(f"  by day (last {min(TEXT_DAYS, len(summary.days))}): {recent}")
    lines += _sources(summary) + _readiness(summary) + _tls(summary)
    if summary.errors:
        lines += ["", "Could not check: " + printable("; ".join(summary.errors))]
    if summary.findings:
        lines += ["", "Findings"]
        for f in summary.findings:
            lines.append(f"  {f.severity.value:<8} {f.code}  {printable(f.message)}")
    return "\n".join(lines) + "\n"
