"""``mailcheck spool``: look into the queue, retry deferred mail, purge what is done.

Examples::

    mailcheck spool status --spool /var/spool/mailcheck
    mailcheck spool list --state deferred --domain gmail.com --limit 20
    mailcheck spool retry --domain gmail.com             # due now, no attempt burnt
    mailcheck spool retry --id 1234 --id 1235 --state bounced
    mailcheck spool purge --older-than 7d --format json

It is safe beside a running ``mailcheck send --forever``: the spool is opened without
crash recovery (recipients being sent stay ``sending``), and bodies are never read.
Exit codes: 0 done, 2 a usage or operational error (one line on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
import unicodedata
from pathlib import Path
from typing import Any

from mailcheck.cli.common import print_json
from mailcheck.errors import ConfigError, ParseError
from mailcheck.sending.providers import parse_duration
from mailcheck.sending.spool import (
    FINAL_STATES,
    RETRY_STATES,
    STATES,
    RecipientRow,
    SqliteSpool,
)

#: Domains ``status`` prints in text (JSON has them all).
TEXT_DOMAINS = 20
_SPACES = {"\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"}


def register(subparsers: Any) -> None:
    """Add ``mailcheck spool status|list|retry|purge``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--spool",
        default="mailcheck-spool",
        metavar="DIR|FILE",
        help="the spool: a directory holding spool.db, or the .db file "
        "(default: ./mailcheck-spool)",
    )
    common.add_argument("--format", choices=("text", "json"), default="text")
    parser = subparsers.add_parser(
        "spool",
        help="inspect the send queue, retry deferred mail, purge delivered mail",
        description="Inspect and manage the spool of mailcheck send (never reads bodies; "
        "safe beside a running sender).",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser(
        "status",
        parents=[common],
        help="recipients per state; what waits per domain and for how long",
    )
    status.set_defaults(run=run_status)
    listing = actions.add_parser("list", parents=[common], help="recipients, oldest first")
    listing.add_argument("--state", choices=STATES, help="only recipients in this state")
    listing.add_argument("--domain", metavar="D", help="only recipients at this domain")
    listing.add_argument("--limit", type=int, default=100, metavar="N", help="(default 100)")
    listing.set_defaults(run=run_list)
    retry = actions.add_parser(
        "retry",
        parents=[common],
        help="make deferred recipients due now, without burning an attempt",
    )
    retry.add_argument(
        "--id", dest="ids", type=int, action="append", default=[], metavar="N",
        help="a recipient id, as listed (repeatable)",
    )  # fmt: skip
    retry.add_argument("--domain", metavar="D", help="only recipients at this domain")
    retry.add_argument(
        "--state",
        choices=RETRY_STATES,
        default="deferred",
        help="retry recipients in this state (default deferred; bounced or expired ones "
        "only when named)",
    )
    retry.set_defaults(run=run_retry)
    purge = actions.add_parser(
        "purge",
        parents=[common],
        help="delete delivered, bounced and expired recipients and their messages",
    )
    purge.add_argument(
        "--older-than",
        default="0",
        metavar="DURATION",
        help="only those settled at least this long ago: 3600, 90min, 12h, 7d (default: all)",
    )
    purge.add_argument(
        "--state",
        dest="states",
        action="append",
        choices=FINAL_STATES,
        metavar="STATE",
        help="only this final state (repeatable; default: delivered, bounced, expired)",
    )
    purge.set_defaults(run=run_purge)


def clean(text: str) -> str:
    """Untrusted text (remote replies, addresses) made safe for a terminal: line breaks
    and tabs become spaces, other control and format characters (ESC, bidi overrides)
    are dropped."""
    return "".join(
        " " if ch in _SPACES else ch
        for ch in text
        if ch in _SPACES or unicodedata.category(ch) not in ("Cc", "Cf")
    )


def spool_file(value: str) -> str:
    """The database of ``--spool``: the file itself, or ``spool.db`` in a directory."""
    path = Path(value)
    if path.is_dir():
        path = path / "spool.db"
    if not path.is_file():
        raise ConfigError(f"--spool {value}: no spool there")
    return str(path)


def _with_spool(args: argparse.Namespace, action: Any) -> Any:
    async def main() -> Any:
        spool = SqliteSpool(spool_file(args.spool), recover=False)
        try:
            return await action(spool)
        finally:
            spool.close()

    try:
        return asyncio.run(main())
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"--spool {args.spool}: {clean(str(exc))}") from None


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(at))


def run_status(args: argparse.Namespace) -> int:
    """``mailcheck spool status``."""
    status: dict[str, Any] = _with_spool(args, lambda spool: spool.status())
    if args.format == "json":
        print_json(status)
        return 0
    for state, count in status["states"].items():
        print(f"{state:10} {count}")
    due = status["next_due"]
    print(
        f"waiting {status['waiting']}, oldest {_age(status['oldest_waiting_age'])}"
        + ("" if due is None else f", next due {_when(due)}")
    )
    domains = list(status["domains"].items())
    if domains:
        print(f"{'domain':40} {'waiting':>8} {'deferred':>8} {'oldest':>9}")
    for domain, row in domains[:TEXT_DOMAINS]:
        print(
            f"{clean(domain):40} {row['waiting']:>8} {row['deferred']:>8}"
            f" {_age(row['oldest_age']):>9}"
        )
    if len(domains) > TEXT_DOMAINS:
        print(f"... {len(domains) - TEXT_DOMAINS} more domains (--format json lists them all)")
    return 0


def _row(row: RecipientRow) -> str:
    due = _when(row.next_attempt) if row.state in ("queued", "deferred") else "-"
    return (
        f"{row.id:>8} {row.message_id:>8} {row.state:9} {row.attempts:>3} {row.priority:>4}"
        f" {due:20} {clean(row.rcpt)}  {clean(row.last_reply)}"
    ).rstrip()


def run_list(args: argparse.Namespace) -> int:
    """``mailcheck spool list``."""
    if args.limit < 0:
        raise ConfigError("--limit must be 0 or more")
    rows: list[RecipientRow] = _with_spool(
        args, lambda spool: spool.list(state=args.state, domain=args.domain, limit=args.limit)
    )
    if args.format == "json":
        print_json([row.to_dict() for row in rows])
        return 0
    print(
        f"{'id':>8} {'message':>8} {'state':9} {'try':>3} {'prio':>4} {'next attempt':20}"
        " recipient  last reply"
    )
    for row in rows:
        print(_row(row))
    return 0


def run_retry(args: argparse.Namespace) -> int:
    """``mailcheck spool retry``."""
    count: int = _with_spool(
        args, lambda spool: spool.retry(ids=args.ids, domain=args.domain, state=args.state)
    )
    if args.format == "json":
        print_json({"retried": count})
    else:
        print(f"{count} {args.state} recipient(s) due now")
    return 0


def run_purge(args: argparse.Namespace) -> int:
    """``mailcheck spool purge``."""
    try:
        older_than = parse_duration(args.older_than)
    except ParseError as exc:
        raise ConfigError(f"--older-than {clean(args.older_than)}: {exc.reason}") from None
    states = tuple(dict.fromkeys(args.states or FINAL_STATES))
    count: int = _with_spool(args, lambda spool: spool.purge(states=states, older_than=older_than))
    if args.format == "json":
        print_json({"purged": count})
    else:
        print(f"{count} recipient(s) purged")
    return 0
