"""Text rendering of reports for people: status per check, findings with their fix.

Everything from DNS is wrapped in :class:`rich.text.Text` (never parsed as
markup), so a hostile TXT record cannot inject styles or escape sequences.
A check that could not run says so ("could not check (reason)"), never
"no record": absence and a DNS failure are different facts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

STATUS_STYLE = {
    "pass": "bold green",
    "warn": "bold yellow",
    "fail": "bold red",
    "unknown": "bold magenta",
}
SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


def clean(value: object) -> str:
    """``value`` as text with control characters shown escaped (ESC, CR... from DNS would
    drive the terminal)."""
    text = str(value)
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


_clean = clean  # the name the other command modules use


def status_text(status: str) -> Text:
    """A status word in its colour."""
    return Text(status.upper().ljust(7), style=STATUS_STYLE.get(status, "bold"))


def check_line(label: str, data: Mapping[str, Any], summary: str) -> Text:
    """One line per check: label, status, a short summary of what was found."""
    line = Text(f"  {label:<7}")
    line.append_text(status_text(str(data.get("status", "unknown"))))
    line.append(" " + clean(summary))
    return line


def could_not_check(data: Mapping[str, Any]) -> str | None:
    """Why a check could not run, from its data: ``None`` when it ran.

    Reads an explicit ``error`` field when the result has one, else the details of its
    first ``*.temperror`` finding (``error``, the first of ``errors``, the names that
    ``failed``), else its message.
    """
    if str(data.get("status")) != "unknown":
        return None
    explicit = data.get("error") or data.get("temperror")
    if explicit:
        return str(explicit)
    for finding in _all_findings(data):
        if str(finding.get("code", "")).endswith(".temperror"):
            details = finding.get("details") or {}
            for key in ("error", "reason"):
                if details.get(key):
                    return str(details[key])
            if details.get("errors"):
                return str(next(iter(details["errors"])))
            message = str(finding.get("message") or "DNS failure").rstrip(".")
            return message.split(": ", 1)[-1]
    return "DNS did not answer"


def _all_findings(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = list(data.get("findings") or ())
    for value in data.values():  # nested results: DKIM selectors, IP results
        if isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    found.extend(item.get("findings") or ())
    return found


def summary(data: Mapping[str, Any], describe: Callable[[dict[str, Any]], str]) -> str:
    """``describe(data)``, or "could not check (reason)" when the check could not run and
    found nothing (a DNS failure is not an absence)."""
    reason = could_not_check(data)
    if reason is None:
        return describe(dict(data))
    text = describe(dict(data))
    if text.startswith("no ") or not text:
        return f"could not check ({reason})"
    return f"{text}  (partly: could not check {reason})"


def findings_block(
    findings: Sequence[Mapping[str, Any]], *, language: str | None = None
) -> list[Text]:
    """Each finding: severity, code and subject, the message, then its fix.

    In French (``language``, else ``LANGUAGE``/``LC_ALL``/``LC_MESSAGES``/``LANG``) the
    message is the code's French title and the fix, when the finding has no concrete one,
    the code's general French fix (:func:`mailcheck.locale.finding_text`); codes and the
    values to publish stay as they are.
    """
    from mailcheck.locale import language_from_env

    if (language or language_from_env()) == "fr":
        return _findings_block_fr(findings)
    lines: list[Text] = []
    for finding in findings:
        severity = str(finding["severity"])
        head = Text("  ")
        head.append(f"{severity:<8}", style=SEVERITY_STYLE.get(severity, ""))
        head.append(f"{finding['code']}", style="bold")
        head.append("  " + clean(finding["subject"]), style="dim")
        lines.append(head)
        lines.append(Text("           " + clean(finding["message"])))
        if finding.get("fix"):
            fix = Text("           fix: ", style="green")
            fix.append(clean(finding["fix"]))
            lines.append(fix)
    return lines


def _findings_block_fr(findings: Sequence[Mapping[str, Any]]) -> list[Text]:
    from mailcheck.locale import finding_text

    lines: list[Text] = []
    labels = {"error": "erreur", "warning": "avert.", "info": "info"}
    for finding in findings:
        severity = str(finding["severity"])
        text = finding_text(str(finding["code"]), "fr")
        head = Text("  ")
        head.append(f"{labels.get(severity, severity):<8}", style=SEVERITY_STYLE.get(severity, ""))
        head.append(f"{finding['code']}", style="bold")
        head.append("  " + clean(finding["subject"]), style="dim")
        lines.append(head)
        lines.append(Text("           " + clean(text.title)))
        remedy = finding.get("fix") or text.fix
        if remedy:
            fix = Text("           correction : ", style="green")
            fix.append(clean(remedy))
            lines.append(fix)
    return lines


def print_lines(console: Console, lines: Sequence[Text]) -> None:
    """Print rendered lines without rich's markup or highlighting."""
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def make_console(stream: Any, *, color: bool | None = None) -> Console:
    """A console on ``stream`` with colours only for a terminal, and never when the
    ``NO_COLOR`` environment variable is set to anything but "" (https://no-color.org)."""
    no_color = color is False or bool(os.environ.get("NO_COLOR"))
    return Console(
        file=stream,
        highlight=False,
        no_color=no_color,
        force_terminal=True if color else None,
        soft_wrap=True,
    )
