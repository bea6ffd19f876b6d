"""``mailcheck reports``: ingest DMARC aggregate and TLS reports, explain them, purge them.

Examples::

    mailcheck reports ingest ~/reports/ --db reports.db --domain asso.example
    mailcheck reports ingest --maildir /var/mail/dmarc --db reports.db
    mailcheck reports ingest --imap imaps://dmarc@mail.asso.example/INBOX \\
        --imap-credentials ~/.config/mailcheck/imap-password --db reports.db
    mailcheck reports summary asso.example --since 30d --db reports.db
    mailcheck reports summary asso.example --format html --output summary.html
    mailcheck reports purge --older-than 180d --db reports.db

Ingest never stops on a bad file: what cannot be read is quarantined with its reason and
the rest goes on. Exit codes: 0 done; 1 a summary finding at or above ``--fail-on``; 2 a
usage or operational error (an unreadable path, a mailbox that cannot be opened); 3 the
summary could not classify sources (DNS failure).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailcheck.cli import reports_admin
from mailcheck.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_UNKNOWN,
    add_dns_options,
    add_format_option,
    fails,
    print_json,
    printable,
)
from mailcheck.cli.mailbox_opts import add_mailbox_options, check_mailbox_options, open_imap
from mailcheck.errors import ConfigError

if TYPE_CHECKING:
    from mailcheck.reports.store import IngestSummary, ReportStore

DEFAULT_DB = "mailcheck-reports.db"
HELP = "ingest DMARC aggregate and TLS reports, explain them per domain, purge old ones"


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", default=DEFAULT_DB, metavar="FILE", help="the report store (SQLite file)"
    )
    return common


def register(subparsers: Any) -> None:
    """Add ``mailcheck reports ingest|summary|purge|status|domains``."""
    common = _common()
    parser = subparsers.add_parser(
        "reports",
        help=HELP,
        description="Read what receivers report back (DMARC aggregate reports, SMTP TLS "
        "reports), store them deduplicated, and explain them per domain.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    ingest = actions.add_parser(
        "ingest",
        parents=[common],
        help="read reports from files, directories, a Maildir or an IMAP folder",
    )
    ingest.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="report files (.xml, .xml.gz, .gz, .zip, .json, .json.gz, .eml) or directories",
    )
    add_mailbox_options(ingest, done="stored", ca=True)
    ingest.add_argument(
        "--domain", action="append", default=[], metavar="D",
        help="a domain you manage, remembered in the store (repeatable; while none is "
        "given or stored, every domain is managed); reports about others are kept apart",
    )  # fmt: skip
    add_format_option(ingest)
    ingest.set_defaults(run=run_ingest)
    summary = actions.add_parser(
        "summary", parents=[common], help="explain a domain's reports: sources, readiness, TLS"
    )
    summary.add_argument("domain", metavar="DOMAIN", help="the domain whose reports to explain")
    summary.add_argument(
        "--since", default="30d", metavar="DURATION", help="the period: 30d, 12h, 365d"
    )
    summary.add_argument(
        "--format", choices=("text", "json", "html"), default="text",
        help="text for people, JSON for programs, HTML: one self-contained page",
    )  # fmt: skip
    summary.add_argument(
        "--output", metavar="FILE", help="write to FILE instead of stdout (for --format html)"
    )
    summary.add_argument(
        "--egress", action="append", default=[], metavar="IP[/LEN]",
        help="your outgoing IPs or networks, counted as your infrastructure (repeatable)",
    )  # fmt: skip
    summary.add_argument(
        "--services", action="append", default=[], metavar="FILE",
        help="a TOML file of known services over the built-in one (repeatable)",
    )  # fmt: skip
    summary.add_argument(
        "--offline", action="store_true",
        help="no DNS: sources are not traced to your SPF nor named",
    )  # fmt: skip
    summary.add_argument(
        "--fail-on", choices=("warning", "error"), default="error",
        help="exit 1 when a finding has this severity or worse",
    )  # fmt: skip
    add_dns_options(summary)
    summary.set_defaults(run=run_summary)
    purge = actions.add_parser(
        "purge", parents=[common], help="delete reports whose period ended long ago"
    )
    purge.add_argument(
        "--older-than", required=True, metavar="DURATION", help="e.g. 180d (reports ended before)"
    )
    add_format_option(purge)
    purge.set_defaults(run=reports_admin.run_purge)
    status = actions.add_parser(
        "status", parents=[common], help="reports stored, foreign domains, quarantine"
    )
    add_format_option(status)
    status.set_defaults(run=reports_admin.run_status)
    quarantine = actions.add_parser(
        "quarantine", parents=[common], help="write a quarantined blob's kept bytes to a file"
    )
    quarantine.add_argument(
        "sha256", metavar="SHA256", help="the blob's hash, or its first 8+ digits (see status)"
    )
    quarantine.add_argument(
        "--output",
        required=True,
        metavar="FILE",
        help="where to write the bytes (never a terminal)",
    )
    quarantine.set_defaults(run=reports_admin.run_quarantine)
    domains = actions.add_parser(
        "domains", parents=[common], help="list, add or remove the managed domains"
    )
    domains.add_argument(
        "change", nargs="?", choices=("add", "remove"), metavar="add|remove",
        help="add or remove the domains named (without: list the managed domains)",
    )  # fmt: skip
    domains.add_argument("names", nargs="*", metavar="DOMAIN", help="domain names")
    domains.set_defaults(run=reports_admin.run_domains)


# --- helpers ------------------------------------------------------------------------------


def _tally_text(summary: IngestSummary) -> str:
    parts = [f"{summary.stored} stored", f"{summary.duplicates} duplicate(s)"]
    if summary.foreign:
        names = ", ".join(f"{d}: {n}" for d, n in list(summary.foreign_domains.items())[:5])
        parts.append(f"{summary.foreign} foreign ({printable(names)})")
    quarantined = f"{summary.quarantined} quarantined"
    if summary.reasons:
        quarantined += " (" + ", ".join(f"{r}: {n}" for r, n in summary.reasons.items()) + ")"
    parts.append(quarantined)
    return ", ".join(parts)


class _Progress:
    """One line on stderr, rewritten after each committed batch (only on a terminal)."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def __call__(self, summary: IngestSummary) -> None:
        if self.enabled:
            sys.stderr.write(f"\r\x1b[Kingest: {summary.total} item(s): {_tally_text(summary)}")
            sys.stderr.flush()
            self.shown = True

    def end(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _warn(where: str, reason: str) -> None:
    sys.stderr.write(f"mailcheck: error: {printable(where)}: {printable(reason)}\n")


# --- ingest -------------------------------------------------------------------------------


def run_ingest(args: argparse.Namespace) -> int:
    """``mailcheck reports ingest``."""
    check_mailbox_options(args)
    return asyncio.run(_ingest(args))


async def _ingest(args: argparse.Namespace) -> int:
    from mailcheck.reports.findings import ingest_findings
    from mailcheck.reports.inputs import ingest_mailbox, read_paths
    from mailcheck.reports.store import IngestTally

    errors: list[str] = []

    def on_error(where: str, reason: str) -> None:
        errors.append(f"{where}: {reason}")
        _warn(where, reason)

    progress = _Progress()
    totals: list[IngestSummary] = []
    store = reports_admin.open_store(args, create=True)
    try:
        for domain in args.domain:
            await store.add_domain(domain)
        if args.paths:
            totals.append(
                await store.ingest(read_paths(args.paths, on_error=on_error), on_batch=progress)
            )
        for maildir in args.maildir:
            from mailcheck.mailbox import MaildirSource

            source = MaildirSource(maildir)
            totals.append(await ingest_mailbox(store, source, on_batch=progress, on_skip=on_error))
        if args.imap:
            totals.append(await _ingest_imap(args, store, progress, on_error))
    finally:
        progress.end()
        await store.close()
    tally = IngestTally()
    for part in totals:
        tally.merge(part)
    summary = tally.summary()
    findings = ingest_findings(summary)
    if args.format == "json":
        data = summary.to_dict()
        data["findings"] = [f.to_dict() for f in findings]
        data["errors"] = errors
        print_json(data)
    else:
        print(f"ingested {summary.total} item(s): {_tally_text(summary)}")
        for finding in findings:
            print(f"  {finding.severity.value:<8} {finding.code}  {printable(finding.message)}")
    return EXIT_ERROR if errors else EXIT_OK


async def _ingest_imap(
    args: argparse.Namespace, store: ReportStore, progress: _Progress, on_error: Any
) -> IngestSummary:
    from mailcheck.reports.inputs import ingest_mailbox

    async with open_imap(args) as source:
        return await ingest_mailbox(store, source, on_batch=progress, on_skip=on_error)


# --- summary ------------------------------------------------------------------------------


def run_summary(args: argparse.Namespace) -> int:
    """``mailcheck reports summary``."""
    from mailcheck.cli.common import make_resolver
    from mailcheck.reports.services import load_services

    period = reports_admin.duration(args.since, "--since")
    if period <= 0:
        raise ConfigError("--since must be above 0")
    catalogue = load_services(*args.services)
    resolver = None if args.offline else make_resolver(args)
    store = reports_admin.open_store(args, create=False)

    async def run() -> Any:
        from mailcheck.reports.summary import summarize

        try:
            now = time.time()
            return await summarize(
                store, args.domain, since=now - period, until=now, resolver=resolver,
                egress=args.egress, catalogue=catalogue,
            )  # fmt: skip
        finally:
            await store.close()

    summary = asyncio.run(run())
    if store.managed and not store.manages(summary.domain):
        sys.stderr.write(
            f"mailcheck: note: {summary.domain} is not managed by {args.db}: its reports "
            "were kept apart (mailcheck reports domains add)\n"
        )
    _write_summary(args, summary)
    if fails(summary.findings, args.fail_on, temperrors=False):
        return 1
    return EXIT_UNKNOWN if summary.status == "unknown" else EXIT_OK


def _write_summary(args: argparse.Namespace, summary: Any) -> None:
    if args.format == "json":
        text = None
        data = summary.to_dict()
    elif args.format == "html":
        from mailcheck.reports.html import render_html

        text = render_html(summary)
    else:
        from mailcheck.cli.reports_text import summary_text

        text = summary_text(summary)
    if args.output:
        import json

        out = text if text is not None else json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        try:
            Path(args.output).write_text(out, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{args.output}: cannot write ({exc.strerror or exc})") from None
        return
    if text is None:
        print_json(data)
    else:
        sys.stdout.write(text)
