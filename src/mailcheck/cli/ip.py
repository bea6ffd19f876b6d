"""``mailcheck ip``: the reputation of sending IPs (rDNS, HELO, blocklists), one or in bulk.

A value that is not an IP address (``fe80::1%eth0`` included: a scoped address is not a
sending address) is reported, naming the value and where it came from, and the others
are checked; the exit code is then 2. See :mod:`mailcheck.cli.main` for the exit codes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from mailcheck.cli.common import (
    InputLine,
    Tally,
    add_blocklist_options,
    add_bulk_options,
    add_dns_options,
    add_output_options,
    print_json,
    printable,
    progress_bar,
    read_input_file,
    report_bad_input,
)
from mailcheck.errors import ConfigError, MailcheckError

if TYPE_CHECKING:
    from rich.text import Text

    from mailcheck.reputation import BlocklistChecker, IpReport

HELP = "reputation of sending IPs: reverse DNS, HELO name, blocklists"
Job = tuple[str, str | None]


def register(subparsers: Any) -> None:
    """Add ``mailcheck ip``."""
    parser = subparsers.add_parser(
        "ip",
        help=HELP,
        description="Check sending IPs: PTR and forward confirmation, the HELO name, and "
        "every active blocklist of the catalogue (each zone self-tested once per run). "
        "Exit 0: nothing at or above --fail-on; 1: something is; 2: usage or operational "
        "error, or a value that is not an IP address (the others are checked); 3: could "
        "not check (no verdict: DNS did not answer).",
    )
    parser.add_argument("ips", nargs="*", metavar="IP", help="the IP addresses to check")
    parser.add_argument(
        "--helo", metavar="NAME", help="the HELO/EHLO name the host announces (checked too)"
    )
    add_blocklist_options(parser)
    add_bulk_options(parser, what="IPs ('IP [HELO]' a line)")
    add_dns_options(parser)
    add_output_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    if bool(args.ips) == bool(args.from_file):
        raise ConfigError("give either IP arguments or --from-file FILE")
    from mailcheck.reputation.rdns import parse_ip

    if args.from_file:
        items = read_input_file(args.from_file, what="IP address")
    else:
        items = [InputLine(ip, "command line", 0) for ip in dict.fromkeys(args.ips)]
    json_lines = bool(args.from_file) and args.format == "json"
    tally = Tally()
    jobs: dict[Job, InputLine] = {}
    for item in items:
        value = item.fields[0] if item.fields else item.text
        try:
            ip = str(parse_ip(value))
            if len(item.fields) > 2:
                raise ConfigError(f"one IP and at most one HELO name a line, not {item.text!r}")
        except MailcheckError as exc:
            tally.bad_input += 1
            report_bad_input(item, exc, key="ip", json_lines=json_lines, value=value)
            continue
        helo = item.fields[1] if len(item.fields) > 1 else args.helo
        jobs.setdefault((ip, helo), item)
    if jobs:
        asyncio.run(_check(args, list(jobs), jobs, tally, json_lines=json_lines))
    return tally.exit_code()


def make_checker(args: argparse.Namespace) -> BlocklistChecker:
    """The checker the options ask for: resolvers and catalogue."""
    from mailcheck.cli.common import make_blocklist_checker, make_resolver

    return make_blocklist_checker(args, make_resolver(args))


async def _check(
    args: argparse.Namespace,
    order: list[Job],
    items: dict[Job, InputLine],
    tally: Tally,
    *,
    json_lines: bool,
) -> None:
    from mailcheck.bulk import check_many

    checker = make_checker(args)
    streaming = bool(args.from_file)
    console = None if args.format == "json" else _console()
    kept: dict[Job, IpReport] = {}

    def emit(job: Job, outcome: IpReport | MailcheckError) -> None:
        advance()
        if isinstance(outcome, MailcheckError):  # e.g. a HELO name that is not a name
            tally.bad_input += 1
            report_bad_input(items[job], outcome, key="ip", json_lines=json_lines, value=job[0])
            return
        tally.add(outcome.status, outcome.findings, args.fail_on)
        if not streaming:
            kept[job] = outcome
        elif console is None:
            print_json(outcome.to_dict(), indent=None)
        else:
            _print_report(console, outcome)

    concurrency = args.concurrency if streaming else len(order)
    with progress_bar("checking", len(order), enabled=streaming) as advance:
        await check_many(order, checker=checker, emit=emit, concurrency=concurrency)
    if streaming:
        return
    reports = [kept[job] for job in order if job in kept]
    if console is None:
        data = [r.to_dict() for r in reports]
        if len(args.ips) == 1:
            if data:
                print_json(data[0])
        else:
            print_json(data)
    else:
        for report in reports:
            _print_report(console, report)


def _console() -> Any:
    from mailcheck.cli import render

    return render.make_console(sys.stdout)


def _print_report(console: Any, report: IpReport) -> None:
    from mailcheck.cli import render

    render.print_lines(console, report_lines(report))


def report_lines(report: IpReport) -> list[Text]:
    """The text rendering of one IP report."""
    from rich.text import Text

    from mailcheck.cli import render

    head = Text(printable(report.ip) + "  ", style="bold")
    head.append_text(render.status_text(report.status.value))
    lines = [head]
    lines.append(render.check_line("PTR", {"status": report.rdns.status}, _ptr_summary(report)))
    if report.helo is not None:
        helo = report.helo
        lines.append(render.check_line("HELO", {"status": helo.status}, _helo_summary(report)))
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


def _reason(result: Any) -> str:
    from mailcheck.cli import render
    from mailcheck.model import to_dict

    data = {"status": "unknown", "error": getattr(result, "error", None)}
    data["findings"] = [to_dict(f) for f in result.findings]
    return render.could_not_check(data) or "DNS did not answer"


def _ptr_summary(report: IpReport) -> str:
    if report.rdns.status.value == "unknown" and not report.ptr_names:
        return f"could not check ({_reason(report.rdns)})"
    if not report.ptr_names:
        return "no PTR record"
    confirmed = {
        True: "forward-confirmed",
        False: "not forward-confirmed",
        None: "forward confirmation could not be checked",
    }[report.forward_confirmed]
    return f"{', '.join(report.ptr_names)} ({confirmed})"


def _helo_summary(report: IpReport) -> str:
    helo = report.helo
    assert helo is not None
    if helo.status.value == "unknown":
        return f"{helo.name}  could not check ({_reason(helo)})"
    return str(helo.name)


def _lists_status(report: IpReport) -> str:
    from mailcheck.reputation import ListingState

    states = {x.state for x in (*report.listings, *report.name_listings) if not x.allowlist}
    if ListingState.LISTED in states:
        return "fail"
    return "unknown" if ListingState.UNKNOWN in states else "pass"


def _lists_summary(report: IpReport) -> str:
    from mailcheck.reputation import ListingState

    listings = (*report.listings, *report.name_listings)
    count = {state: 0 for state in ListingState}
    for listing in listings:
        count[listing.state] += 1
    listed = ", ".join(report.listed_on) or "none"
    unknown = count[ListingState.UNKNOWN]
    could_not = f", {unknown} could not be checked" if unknown else ""
    return (
        f"listed on {listed}; {count[ListingState.CLEAN]} clean{could_not} "
        f"of {len(listings)} lookups"
    )
