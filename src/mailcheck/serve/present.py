"""A report made ready for people: localized findings, badges per check, records read.

Used by the JSON API (``message_localized`` beside the stable codes) and by the pages.
Nothing here escapes HTML: the templates autoescape everything they are given.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mailcheck.audit import DomainReport
from mailcheck.locale import finding_text, translations
from mailcheck.model import CheckStatus, Finding, sort_findings

#: The checks shown as badges, in this order.
CHECKS = ("spf", "dmarc", "dkim", "mx")
#: Checks shown when the report has them.
OPTIONAL_CHECKS = ("transport",)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LocalizedFinding:
    """A finding with its text in one language.

    Attributes:
        finding: the finding itself (code, severity, details, concrete fix).
        title: what was found, in the language.
        why: why it matters ("" when there is nothing to say).
        advice: how to fix it, in general, in the language.
    """

    finding: Finding
    title: str
    why: str
    advice: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RecordRead:
    """A DNS record mailcheck read for the report."""

    name: str
    type: str
    value: str


def localize(finding: Finding, language: str) -> LocalizedFinding:
    """The finding's text in ``language`` (English for a code without a translation)."""
    text = finding_text(finding.code, language)
    return LocalizedFinding(finding=finding, title=text.title, why=text.why, advice=text.fix)


def finding_json(finding: Finding, language: str) -> dict[str, Any]:
    """The finding as JSON with ``message_localized``, ``why_localized``, ``fix_localized``
    and ``language``; the stable fields (``code``, ``message``...) are unchanged."""
    text = localize(finding, language)
    # English keeps the finding's own sentence (it names the subject and the figures).
    message = finding.message if language == "en" else text.title
    return finding.to_dict() | {
        "language": language,
        "message_localized": message,
        "why_localized": text.why,
        "fix_localized": text.advice,
    }


def report_json(report: DomainReport, language: str) -> dict[str, Any]:
    """The report's JSON (``docs/json.md``) with each finding localized."""
    data = report.to_dict()
    data["findings"] = [finding_json(f, language) for f in report.findings]
    for check in CHECKS:
        result = getattr(report, check)
        data[check]["findings"] = [finding_json(f, language) for f in result.findings]
    return data


def badges(report: DomainReport) -> list[tuple[str, CheckStatus, str | None]]:
    """(check, status, why it could not run) per check, then the addresses' reputation."""
    out: list[tuple[str, CheckStatus, str | None]] = [
        (check, getattr(report, check).status, getattr(report, check).error) for check in CHECKS
    ]
    # Sections some reports carry (transport security: MTA-STS, TLS-RPT, DNSSEC, DANE).
    for name in OPTIONAL_CHECKS:
        section = getattr(report, name, None)
        if section is not None and hasattr(section, "status"):
            out.append((name, section.status, getattr(section, "error", None)))
    for ip in report.ips:
        out.append((f"ip {ip.ip}", ip.status, getattr(ip, "error", None)))
    return out


def findings_worst_first(report: DomainReport, language: str) -> list[LocalizedFinding]:
    """Every finding of the report, worst first, localized."""
    return [localize(f, language) for f in sort_findings(report.findings)]


def records_read(report: DomainReport) -> list[RecordRead]:
    """The DNS records the checks read: SPF (and its includes), DMARC, DKIM keys, MX."""
    out: list[RecordRead] = []
    spf = report.spf
    if spf.record:
        out.append(RecordRead(name=report.domain, type="TXT", value=str(spf.record)))
    out.extend(_includes(spf.includes))
    if report.dmarc.record:
        out.append(RecordRead(name=str(report.dmarc.location), type="TXT",
                              value=str(report.dmarc.record)))  # fmt: skip
    for selector in report.dkim.selectors:
        if selector.found and selector.record:
            out.append(RecordRead(name=selector.name, type="TXT", value=str(selector.record)))
    for host in report.mx.hosts:
        out.append(RecordRead(name=report.domain, type="MX",
                              value=f"{host.preference} {host.host}"))  # fmt: skip
    return out


def _includes(includes: Any) -> list[RecordRead]:
    out = []
    for include in includes or ():
        if getattr(include, "record", None):
            out.append(RecordRead(name=include.domain, type="TXT", value=str(include.record)))
        out.extend(_includes(getattr(include, "includes", ())))
    return out


def status_label(status: CheckStatus | str, language: str) -> str:
    """The status in words (``unknown`` is "could not check", never "missing")."""
    _ = translations(language).gettext
    labels = {
        "pass": _("OK"),
        "warn": _("to improve"),
        "fail": _("problem"),
        "unknown": _("could not check"),
    }
    return labels.get(str(status), str(status))
