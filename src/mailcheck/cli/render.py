"""Text rendering of reports for people: status per check, findings with their fix.

Everything from DNS is wrapped in :class:`rich.text.Text` (never parsed as
markup), so a hostile TXT record cannot inject styles or escape sequences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def _clean(value: object) -> str:
    # Control characters from DNS (ESC, CR...) would drive the terminal: show them escaped.
    text = str(value)
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def status_text(status: str) -> Text:
    """A status word in its colour."""
    return Text(status.upper().ljust(7), style=STATUS_STYLE.get(status, "bold"))


def check_line(label: str, data: Mapping[str, Any], summary: str) -> Text:
    """One line per check: label, status, a short summary of what was found."""
    line = Text(f"  {label:<7}")
    line.append_text(status_text(str(data.get("status", "unknown"))))
    line.append(" " + _clean(summary))
    return line


def findings_block(findings: Sequence[Mapping[str, Any]]) -> list[Text]:
    """Each finding: severity, code and subject, the message, then its fix."""
    lines: list[Text] = []
    for finding in findings:
        severity = str(finding["severity"])
        head = Text("  ")
        head.append(f"{severity:<8}", style=SEVERITY_STYLE.get(severity, ""))
        head.append(f"{finding['code']}", style="bold")
        head.append("  " + _clean(finding["subject"]), style="dim")
        lines.append(head)
        lines.append(Text("           " + _clean(finding["message"])))
        if finding.get("fix"):
            fix = Text("           fix: ", style="green")
            fix.append(_clean(finding["fix"]))
            lines.append(fix)
    return lines


def print_lines(console: Console, lines: Sequence[Text]) -> None:
    """Print rendered lines without rich's markup or highlighting."""
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def make_console(stream: Any, *, color: bool | None = None) -> Console:
    """A console on ``stream`` with colours only for a terminal (and never with NO_COLOR)."""
    return Console(file=stream, highlight=False, no_color=color is False, soft_wrap=True)
