"""``mailcheck arc seal MESSAGE``: add an ARC Set (RFC 8617) for a list's or forwarder's pipeline.

The message must carry this ADMD's Authentication-Results (``--authserv-id``), whose
``arc=`` result becomes the seal's ``cv=``; ``--verify`` builds that header first (DKIM,
SPF with ``--ip``, DMARC, ARC), as ``mailcheck verify`` would. The sealed message goes
to stdout. Exit 0 sealed (or left unchanged when the chain already ended with cv=fail),
2 on a usage or operational error, 3 when the chain could not be checked (DNS).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from mailcheck.authresults import read_authentication_results
from mailcheck.cli.common import add_dns_options, make_resolver
from mailcheck.dkim.arc_seal import ArcSealer
from mailcheck.dkim.keys import load_key
from mailcheck.errors import ConfigError
from mailcheck.verify import verify_message

EXIT_UNKNOWN = 3


def register(subparsers: Any) -> None:
    """Add ``mailcheck arc`` and its ``seal`` subcommand."""
    parser = subparsers.add_parser(
        "arc",
        help="ARC (RFC 8617): seal a message for a list or forwarder",
        description="ARC kept small: verification is part of 'mailcheck verify'; "
        "'arc seal' adds one ARC Set. See docs/arc.md for why ARC is being retired.",
    )
    sub = parser.add_subparsers(dest="arc_command", required=True, metavar="COMMAND")
    seal = sub.add_parser(
        "seal",
        help="add an ARC Set and write the sealed message to stdout",
        description="Seal MESSAGE with an ARC Set signed by --domain/--selector/--key. "
        "The message must carry the Authentication-Results of --authserv-id "
        "(or pass --verify to build it here).",
    )
    seal.add_argument("message", metavar="MESSAGE|-", help="the message file, or - for stdin")
    seal.add_argument("--domain", required=True, help="the sealing domain (d=)")
    seal.add_argument("--selector", required=True, help="the selector of --key (s=)")
    seal.add_argument(
        "--key", required=True, metavar="FILE", help="the private key (RSA or Ed25519)"
    )
    seal.add_argument(
        "--authserv-id", required=True, help="whose Authentication-Results are sealed"
    )
    seal.add_argument(
        "--verify",
        action="store_true",
        help="verify the message first and add its Authentication-Results (needs DNS)",
    )
    seal.add_argument("--ip", help="with --verify: the connecting client's IP (enables SPF)")
    seal.add_argument("--mail-from", metavar="ADDR", help="with --verify: the MAIL FROM address")
    seal.add_argument("--helo", metavar="NAME", help="with --verify: the HELO/EHLO name")
    seal.add_argument("--timestamp", type=int, help="the t= value (default: now)")
    add_dns_options(seal)
    seal.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Seal the message; returns the exit code."""
    key = load_key(args.key)
    sealer = ArcSealer(args.domain, args.selector, key, authserv_id=args.authserv_id)
    data = _read(args.message)
    if args.verify:
        result = asyncio.run(
            verify_message(
                data,
                ip=args.ip,
                mail_from=args.mail_from,
                helo=args.helo,
                resolver=make_resolver(args),
                authserv_id=sealer.authserv_id,
            )
        )
        data = result.header.encode("utf-8") + b"\r\n" + data
    if _chain_unknown(data, sealer.authserv_id):
        sys.stderr.write("mailcheck: the ARC chain could not be checked (DNS); not sealed\n")
        return EXIT_UNKNOWN
    sys.stdout.buffer.write(sealer.seal(data, timestamp=args.timestamp))
    sys.stdout.buffer.flush()
    return 0


def _chain_unknown(data: bytes, authserv_id: str) -> bool:
    """This ADMD's newest Authentication-Results says ``arc=temperror``."""
    ours = [h for h in read_authentication_results(data) if h.authserv_id == authserv_id]
    found = ours[0].result("arc") if ours else None
    return found is not None and found.result == "temperror"


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read ({exc.strerror})") from None
