"""``mailcheck ip``: the reputation of sending IPs (rDNS, HELO, blocklists), one or in bulk."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from rich.text import Text

from mailcheck.cli import render
from mailcheck.cli.common import (
    add_blocklist_options,
    add_dns_options,
    add_output_options,
    fails,
    make_blocklist_checker,
    make_resolver,
    print_json,
    progress_bar,
    run_pool,
)
from mailcheck.errors import ConfigError, MailcheckError
from mailcheck.reputation import BlocklistChecker, IpReport, ListingState

DEFAULT_CONCURRENCY = 50


def register(subparsers: Any) -> None:
    """Add ``mailcheck ip``."""
    parser = subparsers.add_parser(
        "ip",
        help="reputation of sending IPs: reverse DNS, HELO name, blocklists",
        description="Check sending IPs: PTR and forward confirmation, the HELO name, and "
        "every active blocklist of the catalogue (each zone self-tested once per run). "
        "Exit 0: nothing at or above --fail-on; 1: something is; 2: usage or operational error.",
    )
    parser.add_argument("ips", nargs="*", metavar="IP")
    parser.add_argument("--helo", metavar="NAME", help="the HELO/EHLO name the host announces")
    add_blocklist_options(parser)
    parser.add_argument(
        "--from-file", metavar="FILE", help="check the IPs listed in FILE ('IP [HELO]' a line)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"IPs checked at once with --from-file (default {DEFAULT_CONCURRENCY})",
    )
    add_dns_options(parser, zones=False)
    add_output_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    if bool(args.ips) == bool(args.from_file):
        raise ConfigError("give either IP arguments or --from-file FILE")
    if args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    checker = make_checker(args)
    if args.from_file:
        jobs = list(_read_jobs(Path(args.from_file), args.helo))
        return asyncio.run(_bulk(args, checker, jobs))
    return asyncio.run(_single(args, checker, [(ip, args.helo) for ip in args.ips]))


def make_checker(args: argparse.Namespace) -> BlocklistChecker:
    """The checker the options ask for: resolvers and catalogue."""
    return make_blocklist_checker(args, make_resolver(args))


async def _single(
    args: argparse.Namespace, checker: BlocklistChecker, jobs: list[tuple[str, str | None]]
) -> int:
    reports = [await checker.check_ip(ip, helo=helo) for ip, helo in jobs]
    if args.format == "json":
        data = [r.to_dict() for r in reports]
        print_json(data[0] if len(data) == 1 else data)
    else:
        console = render.make_console(sys.stdout)
        for report in reports:
            render.print_lines(console, report_lines(report))
    return 1 if any(fails(r.findings, args.fail_on) for r in reports) else 0


async def _bulk(
    args: argparse.Namespace, checker: BlocklistChecker, jobs: list[tuple[str, str | None]]
) -> int:
    counts = {"failed": 0, "bad": 0}
    console = render.make_console(sys.stdout)

    def emit(job: tuple[str, str | None], outcome: IpReport | MailcheckError) -> None:
        advance()
        ip = job[0]
        if isinstance(outcome, MailcheckError):
            counts["bad"] += 1
            if args.format == "json":
                print_json({"ip": ip, "status": "error", "error": str(outcome)}, indent=None)
            else:
                sys.stderr.write(f"mailcheck: {_printable(ip)}: {outcome}\n")
            return
        counts["failed"] += fails(outcome.findings, args.fail_on)
        if args.format == "json":
            print_json(outcome.to_dict(), indent=None)
        else:
            render.print_lines(console, report_lines(outcome))

    with progress_bar("checking", len(jobs)) as advance:
        await check_many(checker, jobs, args.concurrency, emit)
    return 2 if counts["bad"] else (1 if counts["failed"] else 0)


async def check_many(
    checker: BlocklistChecker,
    jobs: Iterable[tuple[str, str | None]],
    concurrency: int,
    emit: Callable[[tuple[str, str | None], IpReport | MailcheckError], None],
) -> None:
    """Check every (ip, helo), at most ``concurrency`` at once, calling ``emit`` as each ends.

    One checker serves the whole run, so each zone is self-tested once; a bad line is
    reported through ``emit`` and the run goes on.
    """

    async def check(job: tuple[str, str | None]) -> IpReport:
        return await checker.check_ip(job[0], helo=job[1])

    await run_pool(jobs, concurrency, check, emit)


def _read_jobs(path: Path, helo: str | None) -> Iterator[tuple[str, str | None]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            yield fields[0], (fields[1] if len(fields) > 1 else helo)


def _printable(value: object) -> str:
    # Control characters (from DNS or a file) would drive the terminal: show them escaped.
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in str(value))


def report_lines(report: IpReport) -> list[Text]:
    """The text rendering of one IP report."""
    head = Text(_printable(report.ip) + "  ", style="bold")
    head.append_text(render.status_text(report.status.value))
    lines = [head]
    lines.append(render.check_line("PTR", {"status": report.rdns.status}, _ptr_summary(report)))
    if report.helo is not None:
        helo = report.helo
        lines.append(render.check_line("HELO", {"status": helo.status}, helo.name))
    lines.append(
        render.check_line("Lists", {"status": _lists_status(report)}, _lists_summary(report))
    )
    lines.extend(render.findings_block([_finding_data(f) for f in report.findings]))
    lines.append(Text(""))
    return lines


def _finding_data(finding: Any) -> dict[str, Any]:
    return {
        "severity": finding.severity.value,
        "code": finding.code,
        "subject": finding.subject,
        "message": finding.message,
        "fix": finding.fix,
    }


def _ptr_summary(report: IpReport) -> str:
    if not report.ptr_names:
        return "no PTR record" if report.rdns.status.value != "unknown" else "unknown"
    confirmed = {
        True: "forward-confirmed",
        False: "not forward-confirmed",
        None: "forward confirmation unknown",
    }[report.forward_confirmed]
    return f"{', '.join(report.ptr_names)} ({confirmed})"


def _lists_status(report: IpReport) -> str:
    states = {x.state for x in (*report.listings, *report.name_listings) if not x.allowlist}
    if ListingState.LISTED in states:
        return "fail"
    return "unknown" if ListingState.UNKNOWN in states else "pass"


def _lists_summary(report: IpReport) -> str:
    listings = (*report.listings, *report.name_listings)
    count = {state: 0 for state in ListingState}
    for listing in listings:
        count[listing.state] += 1
    listed = ", ".join(report.listed_on) or "none"
    return (
        f"listed on {listed}; {count[ListingState.CLEAN]} clean, "
        f"{count[ListingState.UNKNOWN]} unknown of {len(listings)} lookups"
    )
