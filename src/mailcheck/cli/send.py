"""``mailcheck send --spool FILE``: queue a message, deliver the queue, show its status.

Examples::

    mailcheck send --spool q.db --from a@example.org --to b@example.net message.eml
    mailcheck send --spool q.db --run            # deliver what is due, then exit
    mailcheck send --spool q.db --status --format json

Exit 0 on success, 2 on a usage or operational error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from mailcheck.cli.common import add_dns_options, make_resolver, print_json
from mailcheck.errors import ConfigError
from mailcheck.sending.local_share import Gcra
from mailcheck.sending.sender import Sender, SendEvent
from mailcheck.sending.shaping import Budget
from mailcheck.sending.spool import SqliteSpool


def register(subparsers: Any) -> None:
    """Add ``mailcheck send``."""
    parser = subparsers.add_parser(
        "send",
        help="queue and deliver messages through the shaped sender",
        description="Queue MESSAGE (with --from/--to) in the spool, deliver due messages "
        "(--run, or --forever) and print the queue status (--status).",
    )
    parser.add_argument("message", nargs="?", metavar="MESSAGE|-")
    parser.add_argument("--spool", required=True, metavar="FILE", help="SQLite spool file")
    parser.add_argument("--from", dest="mail_from", metavar="ADDR")
    parser.add_argument("--to", action="append", default=[], metavar="ADDR")
    parser.add_argument("--tenant")
    parser.add_argument(
        "--run", dest="deliver", action="store_true", help="deliver what is due, then exit"
    )
    parser.add_argument("--forever", action="store_true", help="keep delivering")
    parser.add_argument("--status", action="store_true", help="print recipients per state")
    parser.add_argument("--source-address", metavar="IP", help="egress IP to bind")
    parser.add_argument("--helo", metavar="NAME")
    parser.add_argument("--rate", type=float, metavar="N", help="messages per second per group")
    parser.add_argument(
        "--mx-override",
        action="append",
        default=[],
        metavar="HOST=IP:PORT",
        help="connect to IP:PORT for MX host HOST (tests, relays)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    add_dns_options(parser)
    parser.set_defaults(run=run)


def _overrides(items: list[str]) -> dict[str, tuple[str, int]]:
    result: dict[str, tuple[str, int]] = {}
    for item in items:
        host, _, target = item.partition("=")
        ip, _, port = target.rpartition(":")
        if not host or not ip or not port.isdigit():
            raise ConfigError(f"--mx-override {item!r}: expected HOST=IP:PORT")
        result[host.lower().rstrip(".")] = (ip.strip("[]"), int(port))
    return result


def _print_event(event: SendEvent) -> None:
    print(f"{event.kind} message={event.message_id} rcpt={event.rcpt} {event.reply}".rstrip())


async def _main(args: argparse.Namespace, raw: bytes | None) -> dict[str, int]:
    spool = SqliteSpool(args.spool)
    budget = Budget()
    if args.rate:
        budget = Budget(message_rates=((f"{args.rate}/s", Gcra(interval=1 / args.rate)),))
    try:
        async with Sender(
            spool=spool,
            resolver=make_resolver(args),
            default_budget=budget,
            source_address=args.source_address,
            helo=args.helo,
            mx_override=_overrides(args.mx_override),
            on_event=_print_event if args.format == "text" and not args.status else None,
        ) as sender:
            if raw is not None:
                await sender.submit(raw, mail_from=args.mail_from, rcpt_to=args.to,
                                    tenant=args.tenant)  # fmt: skip
            if args.forever:
                await sender.run()
            elif args.deliver:
                await sender.run_until_idle()
        return await spool.counts()
    finally:
        spool.close()


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    raw: bytes | None = None
    if args.message is not None:
        if not args.mail_from or not args.to:
            raise ConfigError("a MESSAGE needs --from and at least one --to")
        try:
            raw = (
                sys.stdin.buffer.read() if args.message == "-" else Path(args.message).read_bytes()
            )
        except OSError as exc:
            raise ConfigError(f"{args.message}: cannot read ({exc.strerror})") from None
    counts = asyncio.run(_main(args, raw))
    if args.status:
        if args.format == "json":
            print_json(counts)
        else:
            for state, count in counts.items():
                print(f"{state:10} {count}")
    return 0
