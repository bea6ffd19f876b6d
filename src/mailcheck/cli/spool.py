"""``mailcheck spool``: look into the queue, retry deferred mail, drop or purge mail.

Examples::

    mailcheck spool status --spool /var/spool/mailcheck
    mailcheck spool list --state deferred --domain gmail.com --limit 20
    mailcheck spool retry --domain gmail.com             # due now, no attempt burnt
    mailcheck spool retry --id 1234 --id 1235 --state bounced
    mailcheck spool purge --older-than 7d --format json
    mailcheck spool drop --id 1234 --id 1235              # remove recipients
    mailcheck spool drop --message 17                     # remove a whole message

It is safe beside a running ``mailcheck send --forever``: the spool is opened without
crash recovery (recipients being sent stay ``sending``), and bodies are never read.
``status`` and ``list`` open it read-only (a ``mode=ro`` URI, schema checked first): a file
that is not a spool is refused and left byte-identical. Exit codes: 0 done, 2 a usage or
operational error (one line on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import unicodedata
from pathlib import Path
from typing import Any

from mailcheck.cli.common import print_json
from mailcheck.errors import ConfigError, ParseError
from mailcheck.hygiene.suppression import SuppressionList
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
#: The largest ``--limit`` (SQLite's integers are 64-bit).
MAX_LIMIT = 2**63 - 1
_SPACES = {"\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"}


def register(subparsers: Any) -> None:
    """Add ``mailcheck spool status|list|retry|purge|drop``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--spool",
        default="mailcheck-spool",
        metavar="DIR|FILE",
        help="the spool: a directory holding spool.db, or the .db file "
        "(default: ./mailcheck-spool)",
    )
    common.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people, json for programs (default: text)",
    )
    parser = subparsers.add_parser(
        "spool",
        help="inspect the send queue, retry deferred mail, drop or purge mail",
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
    listing.add_argument(
        "--limit", type=int, default=100, metavar="N", help="at most N rows (default: 100)"
    )
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
    drop = actions.add_parser(
        "drop",
        parents=[common],
        help="remove recipients or whole messages, whatever their state (except in flight)",
    )
    which = drop.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--id", dest="ids", type=int, action="append", metavar="N",
        help="a recipient id, as listed (repeatable)",
    )  # fmt: skip
    which.add_argument(
        "--message", dest="messages", type=int, action="append", metavar="N",
        help="a message id, as listed: every recipient of it (repeatable)",
    )  # fmt: skip
    drop.set_defaults(run=run_drop)


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


def _with_spool(args: argparse.Namespace, action: Any, *, readonly: bool = False) -> Any:
    """Run ``action(spool)``: read-only for looking, else without crash recovery.

    The spool raises ConfigError (not a spool) or SpoolError (a database error); both end
    the command with one line and exit 2.
    """

    async def main() -> Any:
        path = spool_file(args.spool)
        spool = SqliteSpool(path, recover=False, readonly=readonly)
        try:
            return await action(spool)
        finally:
            spool.close()

    try:
        return asyncio.run(main())
    except OSError as exc:
        raise ConfigError(f"--spool {args.spool}: {clean(str(exc))}") from None


def _ids(values: list[int] | None, option: str) -> list[int]:
    """Ids as given, each within SQLite's integers (one-line error otherwise)."""
    for value in values or ():
        if not -(2**63) <= value < 2**63:
            raise ConfigError(f"{option} {value}: not an id (too large)")
    return list(values or ())


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


async def _status(spool: SqliteSpool) -> dict[str, Any]:
    status: dict[str, Any] = await spool.status()
    status["hygiene"] = await SuppressionList(spool).summary()
    return status


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.2%}"


def _hygiene_lines(hygiene: dict[str, Any]) -> list[str]:
    """Bounce and complaint rates per tenant and provider, suppressions per tenant."""
    counts = hygiene["suppressions"]
    reasons = ", ".join(f"{r} {n}" for r, n in sorted(counts["reasons"].items()))
    lines = [f"suppressions {counts['total']}" + (f" ({reasons})" if reasons else "")]
    head = f"{'delivered':>9} {'bounce':>7} {'complaints':>10} {'rate':>7}"
    for title, rows in (("tenant", hygiene["tenants"]), ("provider", hygiene["providers"])):
        if not rows:
            continue
        extra = f" {'suppr.':>6}  paused" if title == "tenant" else ""
        lines.append(f"{title + ' (last ' + format(hygiene['window_days'], 'g') + ' d)':40}"
                     f" {head}{extra}")  # fmt: skip
        for name, row in list(rows.items())[:TEXT_DOMAINS]:
            line = (
                f"{clean(name)[:40]:40} {row['delivered']:>9} {_percent(row['bounce_rate']):>7}"
                f" {row['complaints']:>10} {_percent(row['complaint_rate']):>7}"
            )
            if title == "tenant":
                until = row["paused_until"]
                line += f" {row['suppressions']:>6}  {'-' if until is None else _when(until)}"
            lines.append(line)
    return lines


def run_status(args: argparse.Namespace) -> int:
    """``mailcheck spool status``."""
    status: dict[str, Any] = _with_spool(args, _status, readonly=True)
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
    for line in _hygiene_lines(status["hygiene"]):
        print(line)
    return 0


def _row(row: RecipientRow) -> str:
    due = _when(row.next_attempt) if row.state in ("queued", "deferred") else "-"
    return (
        f"{row.id:>8} {row.message_id:>8} {row.state:9} {row.attempts:>3} {row.priority:>4}"
        f" {due:20} {clean(row.tls or '-'):15} {clean(row.rcpt)}  {clean(row.last_reply)}"
    ).rstrip()


def run_list(args: argparse.Namespace) -> int:
    """``mailcheck spool list``."""
    if not 0 <= args.limit <= MAX_LIMIT:
        raise ConfigError(f"--limit {args.limit}: expected 0 to {MAX_LIMIT}")
    rows: list[RecipientRow] = _with_spool(
        args,
        lambda spool: spool.list(state=args.state, domain=args.domain, limit=args.limit),
        readonly=True,
    )
    if args.format == "json":
        print_json([row.to_dict() for row in rows])
        return 0
    print(
        f"{'id':>8} {'message':>8} {'state':9} {'try':>3} {'prio':>4} {'next attempt':20}"
        f" {'tls':15} recipient  last reply"
    )
    for row in rows:
        print(_row(row))
    return 0


def run_retry(args: argparse.Namespace) -> int:
    """``mailcheck spool retry``."""
    ids = _ids(args.ids, "--id")
    count: int = _with_spool(
        args, lambda spool: spool.retry(ids=ids, domain=args.domain, state=args.state)
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


def run_drop(args: argparse.Namespace) -> int:
    """``mailcheck spool drop``."""
    ids, messages = _ids(args.ids, "--id"), _ids(args.messages, "--message")
    count: int = _with_spool(args, lambda spool: spool.drop(ids, messages=messages))
    if args.format == "json":
        print_json({"dropped": count})
    else:
        print(f"{count} recipient(s) dropped")
    return 0
