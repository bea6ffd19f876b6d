"""``mailcheck reports purge|status|quarantine|domains``: retention and a look into the
report store."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailcheck.cli.common import EXIT_OK, print_json, printable
from mailcheck.errors import ConfigError, ParseError

if TYPE_CHECKING:
    from mailcheck.reports.store import ReportStore


def duration(text: str, option: str) -> float:
    """A duration option (``180d``, ``12h``, seconds) in seconds; ConfigError naming it."""
    from mailcheck.sending.types import parse_duration

    try:
        return parse_duration(text)
    except ParseError as exc:
        raise ConfigError(f"{option} {printable(text)}: {exc.reason}") from None


def open_store(args: argparse.Namespace, *, create: bool) -> ReportStore:
    """The store of ``--db``; a missing file is an error unless ``create``."""
    from mailcheck.reports.store import ReportStore

    if not create and not Path(args.db).exists():
        raise ConfigError(f"{args.db}: no such report store (mailcheck reports ingest creates it)")
    return ReportStore(args.db)


def run_purge(args: argparse.Namespace) -> int:
    """``mailcheck reports purge``."""
    older_than = duration(args.older_than, "--older-than")
    store = open_store(args, create=False)

    async def run() -> int:
        try:
            return await store.purge(older_than=older_than)
        finally:
            await store.close()

    count = asyncio.run(run())
    if args.format == "json":
        print_json({"purged": count})
    else:
        print(f"{count} report(s) purged")
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    """``mailcheck reports status``."""
    store = open_store(args, create=False)

    async def run() -> dict[str, Any]:
        try:
            return {
                "reports": await store.count(),
                "managed": sorted(store.managed),
                "domains": await store.report_domains(),
                "foreign_domains": await store.foreign_domains(),
                "quarantine": [e.to_dict() for e in await store.quarantined(limit=20)],
            }
        finally:
            await store.close()

    data = asyncio.run(run())
    if args.format == "json":
        print_json(data)
        return EXIT_OK
    counts = data["reports"]
    print(
        f"{counts['aggregate']} aggregate report(s), {counts['tls']} TLS report(s), "
        f"{counts['foreign']} foreign, {counts['quarantine']} quarantined"
    )
    print("managed: " + (", ".join(data["managed"]) or "every domain (none configured)"))
    for domain, count in list(data["domains"].items())[:20]:
        print(f"  reports  {printable(domain)}: {count}")
    for domain, count in data["foreign_domains"].items():
        print(f"  foreign  {printable(domain)}: {count} report(s)")
    for entry in data["quarantine"]:
        print(
            f"  quarantined  {entry['sha256'][:12]}  {entry['reason']:<16} "
            f"{printable(entry['source'])} ({entry['size']} bytes, seen {entry['seen']}x): "
            f"{printable(entry['message'])}"
        )
    return EXIT_OK


def run_domains(args: argparse.Namespace) -> int:
    """``mailcheck reports domains [add|remove DOMAIN...]``."""
    if args.change and not args.names:
        raise ConfigError(f"domains {args.change}: name at least one domain")
    if args.names and not args.change:
        raise ConfigError("domains: say add or remove before the domain names")
    store = open_store(args, create=args.change == "add")

    async def run() -> list[str]:
        try:
            for name in args.names:
                if args.change == "add":
                    joined = await store.add_domain(name)
                    if joined:
                        sys.stderr.write(
                            f"{name}: {joined} earlier report(s) kept apart now count for it\n"
                        )
                else:
                    await store.remove_domain(name)
            return sorted(store.managed)
        finally:
            await store.close()

    for name in asyncio.run(run()):
        print(name)
    return EXIT_OK


def run_quarantine(args: argparse.Namespace) -> int:
    """``mailcheck reports quarantine SHA256 --output FILE``: the bytes go to a file only
    (a hostile blob never reaches a terminal)."""
    store = open_store(args, create=False)

    async def run() -> bytes | None:
        try:
            return await store.quarantined_blob(args.sha256)
        finally:
            await store.close()

    blob = asyncio.run(run())
    if blob is None:
        raise ConfigError(f"no single quarantined blob matches {printable(args.sha256)}")
    try:
        Path(args.output).write_bytes(blob)
    except OSError as exc:
        raise ConfigError(f"{args.output}: cannot write ({exc.strerror or exc})") from None
    print(f"{len(blob)} bytes written to {printable(args.output)}")
    return EXIT_OK
