"""``mailcheck lint MESSAGE``: a message checked against the bulk-sender rules, per provider.

Exit 0 when every profile accepts the message (or only puts it at risk), 1 when a profile
would reject it, 3 when a rule could not be checked (a DNS failure) and none rejects,
2 on a usage or operational error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text

from mailcheck.cli import render
from mailcheck.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNKNOWN,
    add_dns_options,
    add_format_option,
    make_resolver,
    print_json,
)
from mailcheck.errors import ConfigError

if TYPE_CHECKING:
    from mailcheck.lint import LintReport

#: A message file larger than this is refused before it is read (the lint's own bound).
MAX_INPUT = 64 * 1024 * 1024


def register(subparsers: Any) -> None:
    """Add ``mailcheck lint``."""
    parser = subparsers.add_parser(
        "lint",
        help="check a message against the bulk-sender rules of Gmail, Yahoo, Outlook.com",
        description="Check a message before it is sent: RFC 5322, MIME, DKIM and SPF "
        "alignment, one-click unsubscribe, the DMARC policy, and with --ip the sending "
        "IP's reverse DNS and SPF result. Exit 1 when a profile would reject it.",
    )
    parser.add_argument("message", metavar="MESSAGE|-", help="the message file, or - for stdin")
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME",
        help="a profile to judge by (repeatable): baseline, gmail-bulk, yahoo-bulk, "
        "microsoft-bulk, or 'all' (default: baseline)",
    )
    parser.add_argument("--profiles-file", metavar="FILE", help="more profiles (TOML)")
    parser.add_argument("--ip", help="the sending IP: checks its reverse DNS and SPF result")
    parser.add_argument(
        "--mail-from", metavar="ADDR", help="the envelope sender (default: the Return-Path)"
    )
    parser.add_argument(
        "--offline", action="store_true", help="no DNS at all (no DMARC policy, no --ip)"
    )
    add_format_option(parser)
    add_dns_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    from mailcheck.lint import Verdict, lint_message
    from mailcheck.lint.profiles import ProfileSet

    data = _read(args.message)
    profile_set = ProfileSet.from_file(args.profiles_file) if args.profiles_file else None
    names = list(args.profile) or ["baseline"]
    if "all" in names:
        names = list((profile_set or ProfileSet.builtin()).names)
    if args.offline and args.ip:
        raise ConfigError("--ip needs DNS: drop --offline")
    resolver = None if args.offline else make_resolver(args)
    report = asyncio.run(
        lint_message(
            data,
            profiles=names,
            mail_from=args.mail_from,
            ip=args.ip,
            resolver=resolver,
            profile_set=profile_set,
        )
    )
    if args.format == "json":
        payload = report.to_dict()
        payload["summary"] = list(report.summary)
        print_json(payload)
    else:
        _print_text(report)
    verdicts = {v.verdict for v in report.verdicts}
    if Verdict.REJECTED in verdicts:
        return EXIT_FINDINGS
    return EXIT_UNKNOWN if Verdict.UNKNOWN in verdicts else EXIT_OK


def _read(name: str) -> bytes:
    if name == "-":
        data = sys.stdin.buffer.read(MAX_INPUT + 1)
    else:
        try:
            with Path(name).open("rb") as handle:
                data = handle.read(MAX_INPUT + 1)
        except OSError as exc:
            raise ConfigError(f"{name}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_INPUT:
        raise ConfigError(f"{name}: larger than {MAX_INPUT} bytes")
    return data


def _print_text(report: LintReport) -> None:
    console = render.make_console(sys.stdout)
    lines: list[Text] = []
    for verdict in report.verdicts:
        style = {"accepted": "green", "at-risk": "yellow", "rejected": "red"}.get(
            verdict.verdict.value, "magenta"
        )
        line = Text("  ")
        line.append(f"{verdict.verdict.phrase:<19}", style=style)
        line.append(render._clean(f"{verdict.provider} ({verdict.profile})"))
        lines.append(line)
        for broken in verdict.broken:
            lines.append(
                Text(
                    render._clean(
                        f"      {broken.action.value:<10}{broken.rule}: {', '.join(broken.codes)}"
                        f"  [{broken.source}, {broken.date}]"
                    ),
                    style="dim",
                )
            )
        if verdict.not_checked:
            text = f"      not checked: {', '.join(verdict.not_checked)}"
            lines.append(Text(render._clean(text), style="dim"))
    for finding in report.findings:
        line = Text(f"  {finding.severity.value:<8}{finding.code}  ")
        line.append(render._clean(finding.message))
        lines.append(line)
        if finding.fix:
            lines.append(Text(render._clean(f"          fix: {finding.fix}"), style="dim"))
    render.print_lines(console, lines)
