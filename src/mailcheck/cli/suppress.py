"""``mailcheck suppress``: the suppression list the Sender obeys (kept in the spool).

Examples::

    mailcheck suppress list --spool /var/spool/mailcheck --reason complaint
    mailcheck suppress add jo@example.org --reason manual --source "asked by phone"
    mailcheck suppress add jo@example.org --reason unsubscribe --list asso.example/news
    mailcheck suppress remove jo@example.org --all-scopes
    mailcheck suppress import old-list.csv --reason unsubscribe
    mailcheck suppress export > suppressions.csv
    mailcheck suppress resume asso.example      # lift a complaint-rate pause

It is safe beside a running ``mailcheck send --forever``: a suppression added here
applies to mail already waiting, before its next attempt. ``list`` and ``export`` open
the spool read-only. Exit codes: 0 done, 1 an import refused some rows (listed), 2 a usage
or operational error (one line on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from mailcheck.cli.common import print_json
from mailcheck.cli.spool import clean, spool_file
from mailcheck.errors import ConfigError, ParseError
from mailcheck.hygiene.csvio import MAX_CSV_BYTES
from mailcheck.hygiene.suppression import SuppressionList
from mailcheck.hygiene.types import Suppression, SuppressionReason, SuppressionScope
from mailcheck.sending.spool import SqliteSpool
from mailcheck.sending.types import parse_duration

T = TypeVar("T")
#: Most addresses one ``add`` or ``remove`` takes on its command line.
MAX_ADDRESSES = 10_000


def register(subparsers: Any) -> None:
    """Add ``mailcheck suppress list|add|remove|import|export|resume``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--spool", default="mailcheck-spool", metavar="DIR|FILE",
                        help="the spool: a directory holding spool.db, or the .db file "
                        "(default: ./mailcheck-spool)")  # fmt: skip
    common.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people, json for programs (default: text)")  # fmt: skip
    scope = argparse.ArgumentParser(add_help=False)
    which = scope.add_mutually_exclusive_group()
    which.add_argument("--tenant", metavar="T", help="only for this tenant's mail")
    which.add_argument("--list", dest="list_id", metavar="L", help="only for this list's mail")
    parser = subparsers.add_parser(
        "suppress",
        help="list, add, remove, import and export the suppression list the sender obeys",
        description="The suppression list in the spool: addresses the sender no longer "
        "mails (hard bounces, complaints, unsubscribes, manual entries).",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[common], help="entries, oldest first")
    listing.add_argument("--scope", choices=tuple(SuppressionScope), help="only this scope")
    listing.add_argument("--value", metavar="NAME", help="only this tenant or list name")
    listing.add_argument("--reason", action="append", choices=tuple(SuppressionReason),
                         help="only this reason (repeatable)")  # fmt: skip
    listing.add_argument("--expired", action="store_true", help="include expired entries")
    listing.add_argument("--limit", type=int, default=100, metavar="N",
                         help="at most N entries (default: 100)")  # fmt: skip
    listing.set_defaults(run=run_list)
    add = actions.add_parser("add", parents=[common, scope], help="suppress addresses")
    add.add_argument("addresses", nargs="+", metavar="ADDRESS", help="addresses to suppress")
    add.add_argument("--reason", choices=tuple(SuppressionReason), default="manual",
                     help="why (default: manual)")  # fmt: skip
    add.add_argument("--source", default="mailcheck suppress add", help="what asked for it")
    add.add_argument("--expires", metavar="DURATION", help="lift it after 30d, 12h ...")
    add.set_defaults(run=run_add)
    remove = actions.add_parser("remove", parents=[common, scope], help="lift suppressions")
    remove.add_argument("addresses", nargs="+", metavar="ADDRESS", help="addresses to lift")
    remove.add_argument("--all-scopes", action="store_true",
                        help="lift it for everybody, every tenant and every list")  # fmt: skip
    remove.set_defaults(run=run_remove)
    imp = actions.add_parser("import", parents=[common], help="add the entries of a CSV file")
    imp.add_argument("file", metavar="FILE|-", help="CSV with an address column, or - (stdin)")
    imp.add_argument("--reason", choices=tuple(SuppressionReason), default="manual",
                     help="reason of rows that give none (default: manual)")  # fmt: skip
    imp.add_argument("--source", default="csv import", help="source when the file has none")
    imp.set_defaults(run=run_import)
    exp = actions.add_parser("export", parents=[common], help="the list as CSV on stdout")
    exp.add_argument("--expired", action="store_true", help="include expired entries")
    exp.set_defaults(run=run_export)
    resume = actions.add_parser(
        "resume", parents=[common], help="lift a tenant's complaint-rate pause now"
    )
    resume.add_argument("tenant", metavar="TENANT", help="the tenant whose bulk mail resumes")
    resume.set_defaults(run=run_resume)


def _path(value: str, *, create: bool) -> str:
    """The spool database; a new one in an existing directory when ``create``."""
    path = Path(value)
    if create and (path.is_dir() or (path.suffix == ".db" and path.parent.is_dir())):
        return str(path / "spool.db" if path.is_dir() else path)
    return spool_file(value)


def _with_list(
    args: argparse.Namespace,
    action: Callable[[SuppressionList], Awaitable[T]],
    *,
    readonly: bool = False,
) -> T:
    async def main() -> T:
        path = _path(args.spool, create=not readonly)
        spool = SqliteSpool(path, recover=False, readonly=readonly)
        try:
            return await action(SuppressionList(spool))
        finally:
            spool.close()

    try:
        return asyncio.run(main())
    except OSError as exc:
        raise ConfigError(f"--spool {args.spool}: {clean(str(exc))}") from None


def _when(at: float | None) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(at))


def _line(entry: Suppression) -> str:
    scope = str(entry.scope) + (f":{clean(entry.scope_value)}" if entry.scope_value else "")
    return (
        f"{clean(entry.address)}  {entry.reason}  {scope}  since {_when(entry.created)}"
        f"  until {_when(entry.expires)}  {clean(entry.source)}"
    )


def run_list(args: argparse.Namespace) -> int:
    """``mailcheck suppress list``."""
    if not 0 <= args.limit <= 100_000:
        raise ConfigError(f"--limit {args.limit}: expected 0 to 100000")
    rows = _with_list(
        args,
        lambda sl: sl.list(
            scope=args.scope,
            scope_value=args.value,
            reasons=args.reason or (),
            expired=args.expired,
            limit=args.limit,
        ),
        readonly=True,
    )
    if args.format == "json":
        print_json([entry.to_dict() for _, entry in rows])
    else:
        for _, entry in rows:
            print(_line(entry))
    return 0


def _check_count(addresses: list[str]) -> None:
    if len(addresses) > MAX_ADDRESSES:
        raise ConfigError(f"at most {MAX_ADDRESSES} addresses (use import for more)")


def run_add(args: argparse.Namespace) -> int:
    """``mailcheck suppress add``."""
    _check_count(args.addresses)
    expires = None
    if args.expires is not None:
        try:
            expires = time.time() + parse_duration(args.expires)
        except ParseError as exc:
            raise ConfigError(f"--expires {clean(args.expires)}: {exc.reason}") from None

    async def action(sl: SuppressionList) -> list[Suppression]:
        entries = [
            sl.entry(
                a,
                reason=args.reason,
                tenant=args.tenant,
                list=args.list_id,
                source=args.source,
                expires=expires,
            )
            for a in args.addresses
        ]  # every address is checked before anything is stored
        await sl.add_many(entries)
        return [entry for entry, _ in entries]

    try:
        added = _with_list(args, action)
    except ParseError as exc:
        raise ConfigError(f"not an address: {clean(str(exc))}") from None
    if args.format == "json":
        print_json([entry.to_dict() for entry in added])
    else:
        for entry in added:
            print(f"suppressed {_line(entry)}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """``mailcheck suppress remove``."""
    _check_count(args.addresses)

    async def action(sl: SuppressionList) -> dict[str, int]:
        return {
            a: await sl.remove(
                a, tenant=args.tenant, list=args.list_id, every_scope=args.all_scopes
            )
            for a in args.addresses
        }

    try:
        removed = _with_list(args, action)
    except ParseError as exc:
        raise ConfigError(f"not an address: {clean(str(exc))}") from None
    if args.format == "json":
        print_json({"removed": removed})
    else:
        for address, n in removed.items():
            print(f"{clean(address)}: {n} removed")
    return 0


def _read(file: str) -> str:
    try:
        if file == "-":
            data = sys.stdin.buffer.read(MAX_CSV_BYTES + 1)
        else:
            with open(file, "rb") as handle:
                data = handle.read(MAX_CSV_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{clean(file)}: {clean(exc.strerror or str(exc))}") from None
    if len(data) > MAX_CSV_BYTES:
        raise ConfigError(f"{clean(file)}: larger than {MAX_CSV_BYTES} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{clean(file)}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def run_import(args: argparse.Namespace) -> int:
    """``mailcheck suppress import``."""
    text = _read(args.file)
    result = _with_list(args, lambda sl: sl.import_csv(text, reason=args.reason,
                                                       source=args.source))  # fmt: skip
    if args.format == "json":
        print_json(result.to_dict())
    else:
        print(f"added {result.added}, rejected {result.rejected}")
        for line, why in result.errors:
            print(f"line {line}: {clean(why)}")
    return 1 if result.rejected else 0


def run_export(args: argparse.Namespace) -> int:
    """``mailcheck suppress export`` (CSV whatever ``--format``: it is the data)."""
    _with_list(args, lambda sl: sl.export_csv(sys.stdout, expired=args.expired), readonly=True)
    sys.stdout.flush()
    return 0


def run_resume(args: argparse.Namespace) -> int:
    """``mailcheck suppress resume``: the tenant's paused bulk mail goes at its next claim
    (``mailcheck spool retry`` makes it due at once)."""
    lifted = _with_list(args, lambda sl: sl.resume_tenant(args.tenant))
    if args.format == "json":
        print_json({"tenant": args.tenant, "resumed": lifted})
    else:
        print(f"{clean(args.tenant)}: " + ("resumed" if lifted else "was not paused"))
    return 0
