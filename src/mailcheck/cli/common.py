"""Options and helpers shared by the commands: DNS options, output format, exit codes,
bulk runs and their progress bar."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from mailcheck.cli import render
from mailcheck.errors import ConfigError, MailcheckError
from mailcheck.lookup import DnsResolver, Resolver, ZoneResolver
from mailcheck.model import Finding, Severity
from mailcheck.reputation import BlocklistChecker, load_catalogue


def add_dns_options(parser: argparse.ArgumentParser, *, zones: bool = True) -> None:
    """``--nameserver``, ``--timeout`` and (optionally) ``--zone``."""
    parser.add_argument(
        "--nameserver",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="recursive resolver to ask (repeatable; default: /etc/resolv.conf)",
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, metavar="S", help="seconds per DNS question"
    )
    if zones:
        parser.add_argument(
            "--zone",
            action="append",
            default=[],
            metavar="FILE",
            help="answer from this zone file, offline (repeatable; the origin is $ORIGIN "
            "or the file name less .zone); names outside go to --nameserver if given",
        )


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--format text|json`` and ``--fail-on warning|error``."""
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--fail-on",
        choices=("warning", "error"),
        default="error",
        help="exit 1 when a finding has this severity or worse (default: error)",
    )


def add_blocklist_options(parser: argparse.ArgumentParser) -> None:
    """``--lists``, ``--no-builtin-lists`` and ``--rbl-nameserver``."""
    parser.add_argument(
        "--lists",
        action="append",
        default=[],
        metavar="FILE",
        help="a TOML file adding or overriding blocklist zones (access keys too; repeatable)",
    )
    parser.add_argument(
        "--no-builtin-lists",
        action="store_true",
        help="use only the zones of the --lists files, not the built-in catalogue",
    )
    parser.add_argument(
        "--rbl-nameserver",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="resolver for blocklist queries: a local recursive resolver, never a public one "
        "(default: --nameserver)",
    )


def make_blocklist_checker(args: argparse.Namespace, resolver: Resolver) -> BlocklistChecker:
    """The blocklist checker the options ask for (one per run: zones self-test once)."""
    rbl_resolver = (
        DnsResolver(args.rbl_nameserver, timeout=args.timeout) if args.rbl_nameserver else None
    )
    catalogue = load_catalogue(*args.lists, builtin=not args.no_builtin_lists)
    return BlocklistChecker(resolver=resolver, blocklist_resolver=rbl_resolver, catalogue=catalogue)


def make_resolver(args: argparse.Namespace) -> Resolver:
    """The resolver the options ask for: zone files (with a live fallback) or live DNS."""
    if args.timeout <= 0:
        raise ConfigError("--timeout must be positive")
    live: DnsResolver | None = None
    if args.nameserver or not getattr(args, "zone", None):
        live = DnsResolver(args.nameserver or None, timeout=args.timeout)
    if getattr(args, "zone", None):
        return ZoneResolver(args.zone, fallback=live)
    assert live is not None
    return live


def fails(findings: Iterable[Finding], fail_on: str) -> bool:
    """True when a finding is at or above the ``--fail-on`` severity."""
    threshold = Severity(fail_on).rank
    return any(f.severity.rank >= threshold for f in findings)


def print_json(data: Any, *, indent: int | None = 2) -> None:
    """Write JSON to stdout (one line when ``indent`` is ``None``)."""
    sys.stdout.write(json.dumps(data, indent=indent, ensure_ascii=False) + "\n")
    sys.stdout.flush()


T = TypeVar("T")
R = TypeVar("R")


async def run_pool(
    items: Iterable[T],
    concurrency: int,
    work: Callable[[T], Awaitable[R]],
    emit: Callable[[T, R | MailcheckError], None],
) -> None:
    """Run ``work`` on every item, at most ``concurrency`` at once, calling ``emit`` as each
    ends with its result or its :class:`MailcheckError`.

    A fixed pool of workers pulls from one iterator, so memory stays flat however long the
    list is; a bad item is reported through ``emit`` and the run goes on.
    """
    pending = iter(items)

    async def worker() -> None:
        for item in pending:
            try:
                outcome: R | MailcheckError = await work(item)
            except MailcheckError as exc:
                outcome = exc
            emit(item, outcome)

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())


@contextlib.contextmanager
def progress_bar(label: str, total: int, *, enabled: bool = True) -> Iterator[Callable[[], None]]:
    """A bar on stderr, shown only on a terminal; yields the function that moves it a step."""
    if not (enabled and total and sys.stderr.isatty()):
        yield lambda: None
        return
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        console=render.make_console(sys.stderr),
        transient=True,
    )
    task = progress.add_task(label, total=total)
    with progress:
        yield lambda: progress.advance(task)
