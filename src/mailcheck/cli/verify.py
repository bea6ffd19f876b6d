"""``mailcheck verify MESSAGE``: DKIM, SPF and DMARC of a received message, as a receiver would.

An ARC chain, when the message has one, is shown too: its verdict and what each hop said.

Exit 0 when DMARC passes (or the domain has no DMARC policy), 1 when DMARC fails,
2 on a usage or operational error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from rich.text import Text

from mailcheck.cli import render
from mailcheck.cli.common import add_dns_options, add_format_option, make_resolver, print_json
from mailcheck.errors import ConfigError
from mailcheck.model import to_dict
from mailcheck.verify import DEFAULT_AUTHSERV_ID, VerifyResult, verify_message


def register(subparsers: Any) -> None:
    """Add ``mailcheck verify``."""
    parser = subparsers.add_parser(
        "verify",
        help="verify a received message: DKIM signatures, SPF, DMARC",
        description="Verify DKIM, SPF (with --ip) and DMARC of a message and print the "
        "Authentication-Results header. Exit 1 when DMARC fails.",
    )
    parser.add_argument("message", metavar="MESSAGE|-", help="the message file, or - for stdin")
    parser.add_argument("--ip", help="the connecting client's IP (enables SPF)")
    parser.add_argument("--mail-from", metavar="ADDR", help="the SMTP MAIL FROM address")
    parser.add_argument("--helo", metavar="NAME", help="the HELO/EHLO name")
    parser.add_argument(
        "--authserv-id",
        default=DEFAULT_AUTHSERV_ID,
        help=f"the name in the Authentication-Results header (default: {DEFAULT_AUTHSERV_ID})",
    )
    add_format_option(parser)
    add_dns_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    if args.message == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(args.message).read_bytes()
        except OSError as exc:
            raise ConfigError(f"{args.message}: cannot read ({exc.strerror})") from None
    resolver = make_resolver(args)
    result = asyncio.run(
        verify_message(
            data,
            ip=args.ip,
            mail_from=args.mail_from,
            helo=args.helo,
            resolver=resolver,
            authserv_id=args.authserv_id,
        )
    )
    if args.format == "json":
        payload = to_dict(result)
        payload["dmarc_passed"] = result.dmarc_passed
        print_json(payload)
    else:
        _print_text(result)
    return 1 if result.dmarc_result == "fail" else 0


def _print_text(result: VerifyResult) -> None:
    console = render.make_console(sys.stdout)
    lines = []
    for sig in result.dkim:
        line = Text(f"  dkim    {sig.result.value:<10}")
        line.append(render._clean(f"d={sig.domain} s={sig.selector} a={sig.algorithm}"))
        if sig.reason:
            line.append(render._clean(f"  ({sig.reason})"), style="dim")
        lines.append(line)
    if not result.dkim:
        lines.append(Text("  dkim    none      no signature"))
    spf = str(result.spf.result) if result.spf is not None else "not checked (no --ip)"
    lines.append(Text(f"  spf     {render._clean(spf)}"))
    dmarc = Text(f"  dmarc   {result.dmarc_result:<10}")
    dmarc.append(render._clean(f"From domain {result.from_domain or '?'}"))
    lines.append(dmarc)
    if result.arc is not None and result.arc.instances:
        lines.extend(_arc_lines(result))
    lines.append(Text(render._clean(result.header)))
    render.print_lines(console, lines)


def _arc_lines(result: VerifyResult) -> list[Text]:
    """The chain's verdict, then what each upstream hop said (its ARC-Authentication-Results)."""
    arc = result.arc
    assert arc is not None
    line = Text(f"  arc     {arc.result.value:<10}")
    oldest = f"  oldest-pass={arc.oldest_pass}" if arc.oldest_pass is not None else ""
    line.append(render._clean(f"{arc.instances} set(s){oldest}"))
    if arc.reason:
        line.append(render._clean(f"  ({arc.reason})"), style="dim")
    lines = [line]
    for s in arc.sets:
        lines.append(Text(render._clean(f"    i={s.instance} {s.domain} cv={s.cv}: {s.results}")))
    return lines
