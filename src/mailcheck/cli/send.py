"""``mailcheck send``: queue messages in the spool and deliver them, shaped per provider.

Examples::

    mailcheck send --from news@asso.example newsletter.eml      # recipients from To/Cc/Bcc
    mailcheck send --from a@asso.example --to b@example.net message.eml
    mailcheck send --maildir ~/outbox --from a@asso.example --egress 192.0.2.25=mail.asso.example
    mailcheck send --spool /var/spool/mailcheck --status --format json
    mailcheck send --spool /var/spool/mailcheck --forever     # a delivery daemon

Without ``--no-run`` or ``--forever`` the queue is delivered until nothing is due now, with a
progress bar (on a terminal) and a summary per provider group. Exit 0 when nothing bounced
or expired in this run (deferred recipients wait in the spool for their retry), 1 when some
did, 2 on a usage or operational error.
"""

from __future__ import annotations

import argparse
import asyncio
import email.parser
import email.policy
import email.utils
import re
import sqlite3
import sys
import tomllib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mailcheck.cli.common import add_dns_options, make_resolver, print_json, progress_bar
from mailcheck.dkim.keys import load_key
from mailcheck.dkim.sign import DkimSigner
from mailcheck.errors import ConfigError
from mailcheck.sending.fairness import FairnessConfig
from mailcheck.sending.local_share import Gcra
from mailcheck.sending.providers import ProviderSet
from mailcheck.sending.sender import Egress, Sender, SendEvent
from mailcheck.sending.shaping import Budget
from mailcheck.sending.spool import BULK, TRANSACTIONAL, SqliteSpool

_BCC_RE = re.compile(rb"^bcc[ \t]*:.*(?:\r?\n[ \t].*)*\r?\n", re.IGNORECASE | re.MULTILINE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def register(subparsers: Any) -> None:
    """Add ``mailcheck send``."""
    parser = subparsers.add_parser(
        "send",
        help="queue and deliver messages, shaped per destination provider",
        description="Queue MESSAGE files (or a --maildir) in the spool, then deliver what is "
        "due, shaped per provider group, and print a summary per group.",
    )
    parser.add_argument("messages", nargs="*", metavar="MESSAGE|-")
    parser.add_argument("--maildir", metavar="DIR", help="queue every message of DIR/new, DIR/cur")
    parser.add_argument(
        "--spool",
        default="mailcheck-spool",
        metavar="DIR|FILE",
        help="the spool: a directory (spool.db inside, created 0700) or a .db file "
        "(default: ./mailcheck-spool)",
    )
    parser.add_argument("--from", dest="mail_from", metavar="ADDR", help="envelope sender")
    parser.add_argument(
        "--to",
        action="append",
        default=[],
        metavar="ADDR",
        help="envelope recipient (repeatable; default: the To, Cc and Bcc of each message)",
    )
    parser.add_argument(
        "--tenant", help="whose mail this is, for fair shares (default: --from's domain)"
    )
    parser.add_argument(
        "--tenants",
        metavar="FILE",
        help="TOML weights and caps of tenants sharing a budget: "
        '[tenant."asso.example"] weight = 3, max_rate = 2 ("*" = every other tenant)',
    )
    parser.add_argument(
        "--priority",
        choices=("bulk", "transactional"),
        default="bulk",
        help="transactional mail goes before bulk mail waiting for the same provider",
    )
    parser.add_argument(
        "--egress",
        action="append",
        default=[],
        metavar="IP[=HELO]",
        help="a source address and its EHLO name (repeatable; default: the system's)",
    )
    parser.add_argument("--helo", metavar="NAME", help="EHLO name when no --egress gives one")
    parser.add_argument(
        "--providers",
        action="append",
        default=[],
        metavar="FILE",
        help="a provider file over the built-in dataset (repeatable, later files win)",
    )
    parser.add_argument("--dkim-key", action="append", default=[], metavar="FILE")
    parser.add_argument("--dkim-selector", action="append", default=[], metavar="SELECTOR")
    parser.add_argument("--dkim-domain", metavar="DOMAIN", help="d= of the DKIM signature")
    parser.add_argument(
        "--rate", type=float, metavar="N", help="messages/s for groups that are not providers"
    )
    parser.add_argument("--port", type=int, default=25, help="SMTP port of the destinations")
    parser.add_argument(
        "--mx-override",
        action="append",
        default=[],
        metavar="HOST=IP:PORT",
        help="connect to IP:PORT for MX host HOST (tests, relays)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--no-run", action="store_true", help="queue only, deliver nothing")
    mode.add_argument("--forever", action="store_true", help="keep delivering (a daemon)")
    parser.add_argument("--status", action="store_true", help="print recipients per state")
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


def _egress(items: list[str], helo: str | None) -> list[Egress]:
    result = []
    for item in items:
        ip, _, name = item.partition("=")
        if not ip:
            raise ConfigError(f"--egress {item!r}: expected IP[=HELO]")
        result.append(Egress(ip.strip("[]"), name or helo))
    return result


def _spool_path(value: str) -> str:
    path = Path(value)
    if path.suffix == ".db" or path.is_file():
        return str(path)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--spool {value}: cannot create ({exc.strerror})") from None
    return str(path / "spool.db")


def load_tenants(path: str | None) -> FairnessConfig | None:
    """The ``--tenants`` file: ``[tenant.NAME]`` tables of ``weight`` and ``max_rate``."""
    if path is None:
        return None
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"--tenants {path}: {exc}") from None
    tenants = data.get("tenant", {})
    if not isinstance(tenants, dict) or set(data) - {"tenant"}:
        raise ConfigError(f"--tenants {path}: expected only [tenant.NAME] tables")
    return FairnessConfig.from_mapping(tenants)


def _signer(args: argparse.Namespace) -> DkimSigner | None:
    if not args.dkim_key:
        return None
    if not args.dkim_domain or len(args.dkim_selector) != len(args.dkim_key):
        raise ConfigError("--dkim-key needs --dkim-domain and one --dkim-selector per key")
    keys = [(s, load_key(k)) for s, k in zip(args.dkim_selector, args.dkim_key, strict=True)]
    return DkimSigner(args.dkim_domain, keys=keys)


def _sources(args: argparse.Namespace) -> Iterator[tuple[str, bytes]]:
    for name in args.messages:
        try:
            yield name, sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            raise ConfigError(f"{name}: cannot read ({exc.strerror})") from None
    if args.maildir:
        root = Path(args.maildir)
        if not (root / "new").is_dir() and not (root / "cur").is_dir():
            raise ConfigError(f"--maildir {root}: no new/ or cur/ directory")
        for sub in ("new", "cur"):
            for path in sorted((root / sub).glob("*")) if (root / sub).is_dir() else ():
                if path.is_file() and not path.name.startswith("."):
                    yield str(path), path.read_bytes()


def envelope(raw: bytes, to: Sequence[str]) -> tuple[bytes, list[str]]:
    """The message with CRLF line ends and without Bcc, and its recipients.

    Recipients are ``to`` when given, else the addresses of the To, Cc and Bcc fields
    (as ``sendmail -t`` does); the Bcc field is never sent.
    """
    raw = re.sub(rb"\r?\n", b"\r\n", raw)
    head, sep, body = raw.partition(b"\r\n\r\n")
    recipients = list(to)
    if not recipients:
        parsed = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
        fields = [str(v) for name in ("to", "cc", "bcc") for v in parsed.get_all(name, [])]
        recipients = [addr for _, addr in email.utils.getaddresses(fields) if "@" in addr]
    head = _BCC_RE.sub(b"", head + b"\r\n")[:-2]
    return head + sep + body, list(dict.fromkeys(recipients))


def _clean(text: str) -> str:
    """Remote replies printed as plain text, without control characters."""
    return _CONTROL_RE.sub("?", text)


class _Settled:
    """Recipients settled in this run, counted by state; each one moves ``advance``."""

    def __init__(self, advance: Callable[[], None]) -> None:
        self.counts: dict[str, int] = {}
        self.advance = advance

    def __call__(self, event: SendEvent) -> None:
        if event.kind in ("delivered", "deferred", "bounced", "expired"):
            self.counts[event.kind] = self.counts.get(event.kind, 0) + 1
            self.advance()


async def _main(args: argparse.Namespace, queued: list[tuple[bytes, list[str]]]) -> dict[str, Any]:
    spool = SqliteSpool(_spool_path(args.spool))
    budget = None
    if args.rate:
        if args.rate <= 0:
            raise ConfigError("--rate must be positive")
        budget = Budget(message_rates=((f"{args.rate}/s", Gcra(interval=1 / args.rate)),))
    live = args.format == "text" and not args.no_run and not args.forever
    total = sum(len(r) for _, r in queued)
    try:
        async with Sender(
            spool=spool,
            resolver=make_resolver(args),
            providers=ProviderSet.load(user_files=args.providers),
            egress=_egress(args.egress, args.helo),
            helo=args.helo,
            signer=_signer(args),
            default_budget=budget,
            fairness=load_tenants(args.tenants),
            port=args.port,
            mx_override=_overrides(args.mx_override),
        ) as sender:
            priority = TRANSACTIONAL if args.priority == "transactional" else BULK
            for raw, rcpts in queued:
                await sender.submit(raw, mail_from=args.mail_from, rcpt_to=rcpts,
                                    tenant=args.tenant, priority=priority)  # fmt: skip
            with progress_bar("delivering", total, enabled=live) as advance:
                settled = _Settled(advance)
                sender.subscribe(settled)
                if args.forever:
                    await sender.run()
                elif not args.no_run:
                    await sender.run_until_idle()
            return {
                "submitted": len(queued),
                "this_run": settled.counts,
                "groups": await sender.stats(),
                "spool": await spool.counts(),
            }
    finally:
        spool.close()


def _print_summary(result: dict[str, Any], status: bool) -> None:
    if result["submitted"]:
        print(f"queued {result['submitted']} message(s)")
    for group in result["groups"].values():
        line = (
            f"{group['group']} (from {group['egress']}): {group['delivered']} delivered, "
            f"{group['deferred']} deferred, {group['bounced']} bounced, "
            f"{group['expired']} expired"
        )
        if group["suspended_for"]:
            line += f"; suspended for {group['suspended_for']:.0f} s"
        if group["rules"]:
            rules = ", ".join(f"{name} x{n}" for name, n in sorted(group["rules"].items()))
            line += f"; rules: {rules}"
        print(_clean(line))
    if status:
        for state, count in result["spool"].items():
            print(f"{state:10} {count}")


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    if (args.messages or args.maildir) and not args.mail_from:
        raise ConfigError("messages to queue need --from ADDR")
    queued = []
    for name, raw in _sources(args):
        message, rcpts = envelope(raw, args.to)
        if not rcpts:
            raise ConfigError(f"{name}: no recipient (no --to, and no To/Cc/Bcc address)")
        queued.append((message, rcpts))
    try:
        result = asyncio.run(_main(args, queued))
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"spool {args.spool}: {_clean(str(exc))}") from None
    if args.format == "json":
        print_json(result)
    else:
        _print_summary(result, args.status)
    failed = result["this_run"].get("bounced", 0) + result["this_run"].get("expired", 0)
    return 1 if failed else 0
