"""``render_html(summary)``: one self-contained page explaining a domain's reports.

No external asset, no script: inline CSS and an inline SVG chart of daily volume and DMARC
pass rate, then the sources, policy readiness, TLS and reporters. Built with the standard
library: every value goes through :func:`html.escape` (:func:`_e`), because reporter names,
report ids and PTR names are chosen by whoever sends the report.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Sequence

from mailcheck.reports.store_queries import DayCounts
from mailcheck.reports.summary_model import DmarcSummary, SourceCategory, SourceGroup

__all__ = ["MAX_GROUPS", "render_html"]

#: Source groups shown (the busiest first); a year of spoofing can name thousands.
MAX_GROUPS = 100

_CATEGORY = {
    SourceCategory.INFRASTRUCTURE: ("Your infrastructure", "ok"),
    SourceCategory.SERVICE: ("Authorised service", "ok"),
    SourceCategory.FORWARDER: ("Forwarder or list", "info"),
    SourceCategory.UNAUTHORIZED: ("Unauthorised", "bad"),
    SourceCategory.UNKNOWN: ("Could not tell (DNS failed or not asked)", "info"),
}
_SEVERITY = {"error": "bad", "warning": "warn", "info": "info"}
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1d2330;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:2px solid #e3e7ee;padding-bottom:.3rem}
.muted{color:#5b6577}.figures{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.figure{background:#f4f6fa;border-radius:8px;padding:.7rem 1rem;min-width:9rem}
.figure b{display:block;font-size:1.4rem}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #e3e7ee;vertical-align:top}
th{background:#f4f6fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.tag{border-radius:4px;padding:.05rem .4rem;font-size:.8rem;white-space:nowrap}
.ok{background:#dff3e4;color:#145c2c}.bad{background:#fde2e1;color:#8a1c17}
.info{background:#e4ecfb;color:#1f3f7a}.warn{background:#fff1d6;color:#7a4b00}
.advice{color:#7a4b00;font-size:.88rem;margin-top:.2rem}
.steps li{margin:.3rem 0}code{background:#f4f6fa;padding:0 .2rem;border-radius:3px}
svg text{font-size:11px;fill:#5b6577}
"""


def _e(value: object) -> str:
    """Any value as HTML text (quotes too: values also go in attributes)."""
    return html.escape(str(value), quote=True)


def _pct(value: float) -> str:
    return f"{value * 100:.0f} %" if value in (0.0, 1.0) else f"{value * 100:.1f} %"


def _date(t: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def _chart(days: Sequence[DayCounts], *, width: int = 1000, height: int = 220) -> str:
    """Bars of daily messages, a line of the daily DMARC pass rate (right axis, 0-100 %)."""
    if not days:
        return '<p class="muted">No aggregate report in the period.</p>'
    left, right, top, bottom = 56, 44, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    first, last = days[0].day, days[-1].day
    span = last - first + 1
    step = plot_w / span
    peak = max(d.messages for d in days) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="Daily messages and DMARC pass rate">'
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ee"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{int(peak * fraction):,}</text>"
            f'<text x="{width - right + 6}" y="{y + 4:.1f}">{int(fraction * 100)} %</text>'
        )
    points = []
    for d in days:
        x = left + (d.day - first) * step
        h = plot_h * d.messages / peak
        title = f"{_date(d.day * 86400)}: {d.messages:,} messages, {d.passed:,} pass"
        parts.append(
            f'<rect x="{x + step * 0.1:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(step * 0.8, 0.5):.1f}" height="{h:.1f}" fill="#9db7e8">'
            f"<title>{_e(title)}</title></rect>"
        )
        share = d.passed / d.messages if d.messages else 0.0
        points.append(f"{x + step / 2:.1f},{top + plot_h * (1 - share):.1f}")
    parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="#1f8a4c" stroke-width="2"/>'
    )
    for day, anchor in ((first, "start"), (last, "end")):
        x = left if anchor == "start" else width - right
        parts.append(
            f'<text x="{x}" y="{height - 8}" text-anchor="{anchor}">{_date(day * 86400)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _figures(summary: DmarcSummary) -> str:
    r = summary.readiness
    items = (
        ("Messages", f"{summary.messages:,}"),
        ("DMARC pass", _pct(summary.pass_rate)),
        ("Reports", f"{summary.reports:,}"),
        ("Reporters", f"{len(summary.reporters):,}"),
        ("Published policy", f"p={r.policy or 'unknown'}"),
        ("Ready for", f"p={r.ready_for}"),
    )
    cells = "".join(f'<div class="figure">{_e(k)}<b>{_e(v)}</b></div>' for k, v in items)
    return f'<div class="figures">{cells}</div>'


def _group_row(group: SourceGroup) -> str:
    name, style = _CATEGORY[group.category]
    if group.issue and group.category in (SourceCategory.INFRASTRUCTURE, SourceCategory.SERVICE):
        style = "warn"
    via = f'<div class="muted">via <code>{_e(group.via)}</code></div>' if group.via else ""
    advice = f'<div class="advice">&rarr; {_e(group.advice)}</div>' if group.advice else ""
    ips = ", ".join(group.ips[:5]) + (" ..." if len(group.ips) > 5 else "")
    return (
        f'<tr><td><span class="tag {style}">{_e(name)}</span></td>'
        f"<td><b>{_e(group.label)}</b>{via}{advice}</td><td>{_e(ips)}</td>"
        f'<td class="n">{group.messages:,}</td><td class="n">{_pct(group.spf_rate)}</td>'
        f'<td class="n">{_pct(group.dkim_rate)}</td><td class="n">{_pct(group.pass_rate)}</td></tr>'
    )


def _table(head: Iterable[str], rows: Iterable[str], *, numeric_from: int) -> str:
    cells = "".join(
        f"<th{' class=n' if i >= numeric_from else ''}>{_e(h)}</th>" for i, h in enumerate(head)
    )
    body = "".join(rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _readiness(summary: DmarcSummary) -> str:
    r = summary.readiness
    steps = "".join(f"<li>{_e(step)}</li>" for step in r.steps)
    return (
        f"<p>Of <b>{r.legitimate:,}</b> legitimate messages (your servers, your services, "
        f"forwarders), a stricter policy would quarantine (<code>p=quarantine</code>) or "
        f"reject (<code>p=reject</code>) <b>{r.at_risk + r.forwarded_at_risk:,}</b> today "
        f"(<b>{_pct(r.at_risk_share)}</b>), {r.forwarded_at_risk:,} of them forwarded. It "
        f"would stop <b>{r.unauthorized:,}</b> unauthorised messages.</p>"
        f'<ol class="steps">{steps}</ol>'
    )


def _tls(summary: DmarcSummary) -> str:
    if not summary.tls:
        return '<p class="muted">No TLS report (RFC 8460) in the period.</p>'
    rows = []
    for row in summary.tls:
        kinds = ", ".join(f"{k} ({n:,})" for k, n in row.failure_types) or "-"
        style = "bad" if row.failed else "ok"
        rows.append(
            f"<tr><td>{_e(row.policy_domain)}</td><td>{_e(row.policy_type)}</td>"
            f'<td class="n">{row.successful + row.failed:,}</td><td class="n">{row.failed:,}</td>'
            f'<td class="n"><span class="tag {style}">{_pct(row.failure_rate)}</span></td>'
            f"<td>{_e(kinds)}</td></tr>"
        )
    head = ("Receiving domain", "Policy", "Sessions", "Failed", "Failure rate", "Failure types")
    return _table(head, rows, numeric_from=2)


def render_html(summary: DmarcSummary, /) -> str:
    """The summary as one HTML page (UTF-8 text, no external asset, no script)."""
    groups = _table(
        ("Who", "Source", "IPs", "Messages", "SPF aligned", "DKIM aligned", "DMARC pass"),
        (_group_row(g) for g in summary.groups[:MAX_GROUPS]),
        numeric_from=3,
    )
    if len(summary.groups) > MAX_GROUPS:
        rest = summary.groups[MAX_GROUPS:]
        groups += (
            f'<p class="muted">... and {len(rest):,} smaller groups '
            f"({sum(g.messages for g in rest):,} messages): see --format json.</p>"
        )
    reporters = _table(
        ("Reporter", "Reports", "Messages", "DMARC pass"),
        (
            f'<tr><td>{_e(r.reporter)}</td><td class="n">{r.reports:,}</td>'
            f'<td class="n">{r.messages:,}</td>'
            f'<td class="n">{_pct(r.passed / r.messages if r.messages else 0.0)}</td></tr>'
            for r in summary.reporters
        ),
        numeric_from=1,
    )
    findings = "".join(
        f'<li><span class="tag {_SEVERITY.get(f.severity.value, "info")}">'
        f"{_e(f.severity.value)}</span> <code>{_e(f.code)}</code> {_e(f.message)}</li>"
        for f in summary.findings
    )
    errors = (
        f'<p class="advice">Could not check: {_e("; ".join(summary.errors))}</p>'
        if summary.errors
        else ""
    )
    title = f"DMARC reports for {summary.domain}"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1>"
        f'<p class="muted">{_e(_date(summary.since))} to {_e(_date(summary.until))} '
        f"&middot; status {_e(summary.status.value)} &middot; made by mailcheck</p>"
        f"{_figures(summary)}{errors}"
        f"<h2>Daily messages and DMARC pass rate</h2>{_chart(summary.days)}"
        f"<h2>Sources</h2>{groups}"
        f"<h2>Policy readiness</h2>{_readiness(summary)}"
        f"<h2>TLS reports</h2>{_tls(summary)}"
        f"<h2>Reporters</h2>{reporters}"
        f"<h2>Findings</h2><ul>{findings or '<li>None.</li>'}</ul>"
        "</body></html>\n"
    )
