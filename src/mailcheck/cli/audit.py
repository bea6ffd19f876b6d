"""``mailcheck audit``: audit domains, one or in bulk, as text or JSON."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from mailcheck.audit import DomainReport, audit_domain
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
from mailcheck.lookup.domains import normalize_domain
from mailcheck.lookup.resolver import Resolver

DEFAULT_CONCURRENCY = 50


def register(subparsers: Any) -> None:
    """Add ``mailcheck audit``."""
    parser = subparsers.add_parser(
        "audit",
        help="audit domains: SPF, DMARC, DKIM keys, MX, reverse DNS and blocklists",
        description="Audit the mail setup of domains. Exit 0: nothing at or above "
        "--fail-on; 1: something is; 2: usage or operational error.",
    )
    parser.add_argument("domains", nargs="*", metavar="DOMAIN")
    parser.add_argument(
        "--ip", action="append", default=[], metavar="IP", help="a sending IP (repeatable)"
    )
    parser.add_argument(
        "--selector", action="append", default=[], metavar="S", help="a DKIM selector"
    )
    parser.add_argument(
        "--no-probe", action="store_true", help="do not probe common DKIM selectors"
    )
    parser.add_argument(
        "--no-reputation",
        action="store_true",
        help="skip reverse DNS and blocklists of the MX hosts and --ip addresses",
    )
    parser.add_argument(
        "--psl",
        action="store_true",
        help="organisational domain from the Public Suffix List (RFC 7489) "
        "instead of the RFC 9989 DNS tree walk",
    )
    parser.add_argument("--from-file", metavar="FILE", help="audit the domains listed in FILE")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"domains audited at once with --from-file (default {DEFAULT_CONCURRENCY})",
    )
    add_blocklist_options(parser)
    add_dns_options(parser)
    add_output_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    if bool(args.domains) == bool(args.from_file):
        raise ConfigError("give either DOMAIN arguments or --from-file FILE")
    if args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    if args.from_file:
        return asyncio.run(_bulk(args))
    domains = [normalize_domain(d) for d in args.domains]
    return asyncio.run(_single(args, domains))


def _options(args: argparse.Namespace, resolver: Resolver) -> dict[str, Any]:
    return {
        "ips": args.ip,
        "selectors": args.selector,
        "resolver": resolver,
        "reputation": not args.no_reputation,
        "blocklists": None if args.no_reputation else make_blocklist_checker(args, resolver),
        "probe_selectors": not args.no_probe,
        "dmarc_mode": "psl" if args.psl else "tree",
    }


async def _single(args: argparse.Namespace, domains: list[str]) -> int:
    resolver = make_resolver(args)
    options = _options(args, resolver)
    reports = [await audit_domain(d, **options) for d in domains]
    if args.format == "json":
        data = [r.to_dict() for r in reports]
        print_json(data[0] if len(data) == 1 else data)
    else:
        console = render.make_console(sys.stdout)
        for report in reports:
            render.print_lines(console, report_lines(report))
    return 1 if any(fails(r.findings, args.fail_on) for r in reports) else 0


async def _bulk(args: argparse.Namespace) -> int:
    resolver = make_resolver(args)
    options = _options(args, resolver)
    domains = list(_read_domains(Path(args.from_file)))
    counts = {"failed": 0, "bad": 0}
    console = render.make_console(sys.stdout)

    def emit(domain: str, outcome: DomainReport | MailcheckError) -> None:
        advance()
        if isinstance(outcome, MailcheckError):
            counts["bad"] += 1
            _emit_error(args, console, domain, outcome)
        else:
            counts["failed"] += fails(outcome.findings, args.fail_on)
            if args.format == "json":
                print_json(outcome.to_dict(), indent=None)
            else:
                render.print_lines(console, report_lines(outcome))

    with progress_bar("auditing", len(domains)) as advance:
        await audit_many(domains, options, args.concurrency, emit)
    return 2 if counts["bad"] else (1 if counts["failed"] else 0)


async def audit_many(
    domains: Iterable[str],
    options: dict[str, Any],
    concurrency: int,
    emit: Callable[[str, DomainReport | MailcheckError], None],
) -> None:
    """Audit every domain, at most ``concurrency`` at once, calling ``emit`` as each finishes
    (a bad domain is reported through ``emit`` and the run goes on; memory stays flat)."""

    async def audit(domain: str) -> DomainReport:
        return await audit_domain(domain, **options)

    await run_pool(domains, concurrency, audit, emit)


def _read_domains(path: Path) -> Iterator[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            yield line


def _emit_error(args: argparse.Namespace, console: Any, domain: str, error: MailcheckError) -> None:
    if args.format == "json":
        print_json({"domain": domain, "status": "error", "error": str(error)}, indent=None)
    else:
        sys.stderr.write(f"mailcheck: {render._clean(domain)}: {error}\n")


def report_lines(report: DomainReport) -> list[Any]:
    """The text rendering of one domain report."""
    data = report.to_dict()
    from rich.text import Text

    head = Text(render._clean(report.domain) + "  ", style="bold")
    head.append_text(render.status_text(report.status.value))
    if report.parked:
        head.append("  parked: neither sends nor receives mail", style="dim")
    lines = [head]
    lines.append(render.check_line("SPF", data["spf"], _spf_summary(data["spf"])))
    lines.append(render.check_line("DMARC", data["dmarc"], _dmarc_summary(data["dmarc"])))
    lines.append(render.check_line("DKIM", data["dkim"], _dkim_summary(data["dkim"])))
    lines.append(render.check_line("MX", data["mx"], _mx_summary(data["mx"])))
    for ip in data.get("ips") or ():
        lines.append(render.check_line("IP", ip, _ip_summary(ip)))
    lines.extend(render.findings_block(data["findings"]))
    lines.append(Text(""))
    return lines


def _spf_summary(spf: dict[str, Any]) -> str:
    if not spf.get("record"):
        return "no SPF record"
    counts = f"lookups {spf.get('lookups', '?')}/10, void {spf.get('void_lookups', '?')}/2"
    return f"{spf['record']}  ({counts})"


def _dmarc_summary(dmarc: dict[str, Any]) -> str:
    if not dmarc.get("record"):
        return "no DMARC record"
    where = " (inherited)" if dmarc.get("inherited") else ""
    return f"policy {dmarc.get('policy')}{where}  {dmarc['record']}"


def _dkim_summary(dkim: dict[str, Any]) -> str:
    found = [
        f"{s['selector']} {s.get('key_type') or '?'} {s.get('key_bits') or ''}".strip()
        for s in dkim.get("selectors", ())
        if s.get("record")
    ]
    return ", ".join(found) if found else "no selector found"


def _ip_summary(ip: dict[str, Any]) -> str:
    names = ", ".join(ip.get("ptr_names") or ()) or "no PTR"
    confirmed = {True: "", False: " (not forward-confirmed)", None: ""}[ip.get("forward_confirmed")]
    listed = ip.get("listed_on") or ()
    return f"{ip['ip']}  {names}{confirmed}" + (
        f"  listed on {', '.join(listed)}" if listed else ""
    )


def _mx_summary(mx: dict[str, Any]) -> str:
    if mx.get("null_mx"):
        return "null MX: accepts no mail"
    hosts = [f"{h['preference']} {h['host']}" for h in mx.get("hosts", ())]
    prefix = "implicit MX: " if mx.get("implicit") else ""
    return prefix + (", ".join(hosts) if hosts else "no mail host")
