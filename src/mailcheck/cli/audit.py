"""``mailcheck audit``: audit domains, one or in bulk, as text or JSON.

A value that is not a domain name is reported (one line on stderr naming the value and
where it came from, or a JSON error record with ``--from-file --format json``) and the run
goes on with the others; the exit code is then 2. See :mod:`mailcheck.cli.main` for the
exit codes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from mailcheck.cli.common import (
    EXIT_ERROR,
    InputLine,
    Tally,
    add_blocklist_options,
    add_bulk_options,
    add_dns_options,
    add_output_options,
    print_json,
    progress_bar,
    read_input_file,
    report_bad_input,
)
from mailcheck.errors import ConfigError, MailcheckError

if TYPE_CHECKING:
    from rich.text import Text

    from mailcheck.audit import DomainReport
    from mailcheck.lookup import Resolver

HELP = "audit domains: SPF, DMARC, DKIM keys, MX, reverse DNS and blocklists"


def register(subparsers: Any) -> None:
    """Add ``mailcheck audit``."""
    parser = subparsers.add_parser(
        "audit",
        help=HELP,
        description="Audit the mail setup of domains. Exit 0: nothing at or above "
        "--fail-on; 1: something is; 2: usage or operational error, or a value that is "
        "not a domain name (the others are audited); 3: could not check (DNS did not "
        "answer).",
    )
    parser.add_argument("domains", nargs="*", metavar="DOMAIN", help="the domains to audit")
    parser.add_argument(
        "--ip",
        action="append",
        default=[],
        metavar="IP",
        help="a sending IP of the domain, checked against SPF, reverse DNS and blocklists "
        "(repeatable)",
    )
    parser.add_argument(
        "--selector",
        action="append",
        default=[],
        metavar="S",
        help="a DKIM selector in use (repeatable)",
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
    _add_transport_options(parser)
    add_bulk_options(parser, what="domains")
    add_blocklist_options(parser)
    add_dns_options(parser)
    add_output_options(parser)
    parser.set_defaults(run=run)


def _add_transport_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("transport security (docs/transport-security.md)")
    group.add_argument(
        "--probe-smtp",
        action="store_true",
        help="connect to port 25 of each MX host: STARTTLS, certificate, DANE matching",
    )
    group.add_argument(
        "--no-transport",
        action="store_true",
        help="skip MTA-STS, TLS-RPT, DNSSEC and DANE (and the SMTP probe)",
    )
    group.add_argument(
        "--dnssec-resolver",
        metavar="HOST[:PORT]",
        help="a validating resolver whose AD bit you trust (e.g. a local unbound)",
    )
    group.add_argument(
        "--trust-anchor",
        action="append",
        default=[],
        metavar="RECORD",
        help='validate DNSSEC here from this DS or DNSKEY record ("example. DS 1 13 2 ab..."; '
        "repeatable), asking --nameserver",
    )
    group.add_argument(
        "--ca-file", metavar="FILE", help="trusted CAs (PEM) instead of the system store"
    )


def _tls_options(args: argparse.Namespace) -> dict[str, Any]:
    from mailcheck.tls.audit import TlsOptions
    from mailcheck.tls.dnssec import DnssecChecker

    if args.no_transport:
        if args.probe_smtp:
            raise ConfigError("--probe-smtp needs the transport checks: drop --no-transport")
        return {"transport": False}
    if args.dnssec_resolver and args.trust_anchor:
        raise ConfigError("give either --dnssec-resolver or --trust-anchor, not both")
    checker = None
    if args.dnssec_resolver:
        checker = DnssecChecker([args.dnssec_resolver], trust_ad=True)
    elif args.trust_anchor:
        servers = list(args.nameserver or []) or None
        if servers is None:
            from dns import resolver as system

            servers = [str(ns) for ns in system.Resolver(configure=True).nameservers]
        checker = DnssecChecker(servers, trust_anchors=args.trust_anchor)
    options = TlsOptions(probe_smtp=args.probe_smtp, cafile=args.ca_file, dnssec=checker)
    return {"transport": True, "probe_smtp": args.probe_smtp, "tls": options}


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    if bool(args.domains) == bool(args.from_file):
        raise ConfigError("give either DOMAIN arguments or --from-file FILE")
    from mailcheck.lookup.domains import normalize_domain

    if args.from_file:
        items = read_input_file(args.from_file, what="domain")
    else:
        items = [InputLine(d, "command line", 0) for d in dict.fromkeys(args.domains)]
    json_lines = bool(args.from_file) and args.format == "json"
    tally = Tally()
    domains: dict[str, InputLine] = {}
    for item in items:
        try:
            name = normalize_domain(item.text)
        except MailcheckError as exc:
            tally.bad_input += 1
            report_bad_input(item, exc, key="domain", json_lines=json_lines)
            continue
        domains.setdefault(name, item)
    if domains:
        asyncio.run(_audit(args, list(domains), tally))
    return tally.exit_code() if tally.checked or tally.bad_input else EXIT_ERROR


def _options(args: argparse.Namespace, resolver: Resolver) -> dict[str, Any]:
    from mailcheck.cli.common import make_blocklist_checker

    return {
        "ips": args.ip,
        "selectors": args.selector,
        "resolver": resolver,
        "reputation": not args.no_reputation,
        "blocklists": None if args.no_reputation else make_blocklist_checker(args, resolver),
        "probe_selectors": not args.no_probe,
        "dmarc_mode": "psl" if args.psl else "tree",
        **_tls_options(args),
    }


async def _audit(args: argparse.Namespace, domains: list[str], tally: Tally) -> None:
    from mailcheck.bulk import audit_many
    from mailcheck.cli.common import make_resolver

    options = _options(args, make_resolver(args))
    streaming = bool(args.from_file)
    console = None if args.format == "json" else _console()
    kept: dict[str, DomainReport] = {}

    def emit(domain: str, outcome: DomainReport | MailcheckError) -> None:
        advance()
        if isinstance(outcome, MailcheckError):  # e.g. an --ip that is not an address
            raise outcome
        tally.add(outcome.status, outcome.findings, args.fail_on)
        if not streaming:
            kept[domain] = outcome
        elif console is None:
            print_json(outcome.to_dict(), indent=None)
        else:
            _print_report(console, outcome)

    concurrency = args.concurrency if streaming else len(domains)
    with progress_bar("auditing", len(domains), enabled=streaming) as advance:
        await audit_many(domains, emit=emit, concurrency=concurrency, **options)
    if streaming:
        return
    reports = [kept[d] for d in domains]  # in the order of the arguments
    if console is None:
        data = [r.to_dict() for r in reports]
        print_json(data[0] if len(args.domains) == 1 else data)
    else:
        for report in reports:
            _print_report(console, report)


def _console() -> Any:
    from mailcheck.cli import render

    return render.make_console(sys.stdout)


def _print_report(console: Any, report: DomainReport) -> None:
    from mailcheck.cli import render

    render.print_lines(console, report_lines(report))


def report_lines(report: DomainReport) -> list[Text]:
    """The text rendering of one domain report."""
    from rich.text import Text

    from mailcheck.cli import render

    data = report.to_dict()
    head = Text(render.clean(report.domain) + "  ", style="bold")
    head.append_text(render.status_text(report.status.value))
    if report.parked:
        head.append("  parked: neither sends nor receives mail", style="dim")
    lines = [head]
    for label, key, summary in (
        ("SPF", "spf", _spf_summary),
        ("DMARC", "dmarc", _dmarc_summary),
        ("DKIM", "dkim", _dkim_summary),
        ("MX", "mx", _mx_summary),
    ):
        lines.append(render.check_line(label, data[key], render.summary(data[key], summary)))
    if data.get("transport"):
        transport = data["transport"]
        lines.append(
            render.check_line("TLS", transport, render.summary(transport, _transport_summary))
        )
    for ip in data.get("ips") or ():
        lines.append(render.check_line("IP", ip, _ip_summary(ip)))
    if data.get("blocklists"):
        lines.append(render.check_line("Lists", {"status": ""}, _lists_summary(data)))
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
    from mailcheck.cli import render

    reason = render.could_not_check(ip.get("rdns") or {})
    missing = f"PTR could not be checked ({reason})" if reason else "no PTR"
    names = ", ".join(ip.get("ptr_names") or ()) or missing
    confirmed = {True: "", False: " (not forward-confirmed)", None: ""}[ip.get("forward_confirmed")]
    listed = ip.get("listed_on") or ()
    return f"{ip['ip']}  {names}{confirmed}" + (
        f"  listed on {', '.join(listed)}" if listed else ""
    )


def _lists_summary(data: dict[str, Any]) -> str:
    lists = data["blocklists"]
    text = f"{lists.get('checked', 0)} of {lists.get('asked', 0)} blocklist zones read"
    if lists.get("unavailable"):
        text += f"; could not check {', '.join(lists['unavailable'])}"
    if lists.get("not_queried"):
        text += f"; {len(lists['not_queried'])} not asked (offline)"
    listed = sorted({zone for ip in data.get("ips") or () for zone in ip.get("listed_on") or ()})
    return text + (f"; listed on {', '.join(listed)}" if listed else "")


def _mx_summary(mx: dict[str, Any]) -> str:
    if mx.get("null_mx"):
        return "null MX: accepts no mail"
    hosts = [f"{h['preference']} {h['host']}" for h in mx.get("hosts", ())]
    prefix = "implicit MX: " if mx.get("implicit") else ""
    return prefix + (", ".join(hosts) if hosts else "no mail host")


def _transport_summary(transport: dict[str, Any]) -> str:
    parts = []
    probes = transport["starttls"]["probes"]
    if transport["starttls"]["probed"]:
        good = sum(1 for p in probes if p["status"] == "tls" and p["chain_valid"])
        parts.append(f"STARTTLS {good}/{len(probes)} valid")
    mtasts = transport["mtasts"]
    if mtasts.get("mode"):
        parts.append(f"MTA-STS {mtasts['mode']}")
    else:
        parts.append("MTA-STS record, policy not read" if mtasts.get("record") else "no MTA-STS")
    parts.append("TLS-RPT" if transport["tlsrpt"].get("rua") else "no TLS-RPT")
    dnssec = transport["dnssec"]
    checked = dnssec["method"] != "none"
    parts.append(f"DNSSEC {dnssec['dnssec']}" if checked else "DNSSEC not checked")
    tlsa = sum(1 for h in transport["dane"]["hosts"] if h["records"])
    if tlsa:
        parts.append(f"DANE on {tlsa} host(s)")
    return ", ".join(parts)
