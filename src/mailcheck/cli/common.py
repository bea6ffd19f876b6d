"""Options and helpers shared by the commands: argument types, DNS options, output format,
bulk input files, exit codes and the progress bar.

Each shared option is declared here once (``--format``, ``--fail-on``, ``--from-file`` and
``--concurrency``, ``--providers``, the DNS and blocklist options). Heavy modules (rich, the
DNS stack, the blocklist catalogue) are imported inside the functions that need them, so
registering a command's parser costs nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailcheck.errors import ConfigError

if TYPE_CHECKING:
    from mailcheck.lookup import Resolver
    from mailcheck.model import CheckStatus, Finding
    from mailcheck.reputation import BlocklistChecker

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR, EXIT_UNKNOWN = 0, 1, 2, 3
DEFAULT_CONCURRENCY = 50
#: Upper bounds of numeric options: past them a value is a typo, not a wish.
MAX_TIMEOUT = 3600.0
MAX_CONCURRENCY = 10_000


class HelpFormatter(argparse.HelpFormatter):
    """Help that shows each option's default, unless the help text already names it.

    Flags (``store_true``) and empty lists have nothing worth showing.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            not text
            or "default" in text.lower()
            or default in (None, False, [], argparse.SUPPRESS)
            or not (action.option_strings or action.nargs in ("?", "*"))
        ):
            return action.help
        return f"{text} (default: %(default)s)"


# --- argument types ---------------------------------------------------------------------


def positive_float(maximum: float = math.inf) -> Callable[[str], float]:
    """An argparse type: a finite number above 0 and at most ``maximum`` (no nan, no inf)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or value <= 0 or value > maximum:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number above 0 and at most {maximum:g}"
            )
        return value

    return parse


def bounded_int(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``minimum`` to ``maximum`` inclusive."""

    def parse(text: str) -> int:
        digits = text.strip()
        try:
            if not digits.isascii():  # int() takes any script's digits
                raise ValueError(text)
            value = int(digits, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"{text!r} is out of range (from {minimum} to {maximum})"
            )
        return value

    return parse


# --- shared options ---------------------------------------------------------------------


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
        "--timeout",
        type=positive_float(MAX_TIMEOUT),
        default=5.0,
        metavar="S",
        help=f"seconds per DNS question (above 0, at most {MAX_TIMEOUT:g})",
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


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """``--format text|json``."""
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people, JSON for programs",
    )


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--format text|json`` and ``--fail-on warning|error``."""
    add_format_option(parser)
    parser.add_argument(
        "--fail-on",
        choices=("warning", "error"),
        default="error",
        help="exit 1 when a finding has this severity or worse",
    )


def add_bulk_options(parser: argparse.ArgumentParser, *, what: str) -> None:
    """``--from-file FILE`` and ``--concurrency N``; ``what`` names a line of the file."""
    parser.add_argument(
        "--from-file",
        metavar="FILE",
        help=f"read {what} from FILE, one a line ('#' starts a comment; duplicates are "
        "checked once); JSON output is then one line per input",
    )
    parser.add_argument(
        "--concurrency",
        type=bounded_int(1, MAX_CONCURRENCY),
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help="inputs checked at once with --from-file",
    )


def add_providers_option(parser: argparse.ArgumentParser) -> None:
    """``--providers FILE`` (repeatable)."""
    parser.add_argument(
        "--providers",
        action="append",
        default=[],
        metavar="FILE",
        help="a provider file over the built-in dataset (repeatable, later files win)",
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


# --- what the options ask for -----------------------------------------------------------


def make_blocklist_checker(args: argparse.Namespace, resolver: Resolver) -> BlocklistChecker:
    """The blocklist checker the options ask for (one per run: zones self-test once)."""
    from mailcheck.lookup import DnsResolver
    from mailcheck.reputation import BlocklistChecker, load_catalogue

    rbl_resolver = (
        DnsResolver(args.rbl_nameserver, timeout=args.timeout) if args.rbl_nameserver else None
    )
    catalogue = load_catalogue(*args.lists, builtin=not args.no_builtin_lists)
    return BlocklistChecker(resolver=resolver, blocklist_resolver=rbl_resolver, catalogue=catalogue)


def make_resolver(args: argparse.Namespace) -> Resolver:
    """The resolver the options ask for: zone files (with a live fallback) or live DNS."""
    from mailcheck.lookup import DnsResolver

    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise ConfigError("--timeout must be a number above 0")
    live: DnsResolver | None = None
    if args.nameserver or not getattr(args, "zone", None):
        live = DnsResolver(args.nameserver or None, timeout=args.timeout)
    if getattr(args, "zone", None):
        from mailcheck.lookup import ZoneResolver  # dns.zone and its parser: only offline

        return ZoneResolver(args.zone, fallback=live)
    assert live is not None
    return live


# --- exit codes -------------------------------------------------------------------------


def fails(findings: Iterable[Finding], fail_on: str, *, temperrors: bool = True) -> bool:
    """True when a finding is at or above the ``--fail-on`` severity.

    With ``temperrors=False``, could-not-check findings (``*.temperror``) do not count:
    :class:`Tally` gives them exit code 3 instead.
    """
    from mailcheck.model import Severity

    threshold = Severity(fail_on).rank
    return any(
        f.severity.rank >= threshold and (temperrors or not f.is_temperror) for f in findings
    )


@dataclass(slots=True)
class Tally:
    """Outcomes of a run, counted as they come, and the exit code they make."""

    bad_input: int = 0
    failed: int = 0
    unknown: int = 0
    checked: int = 0

    def add(self, status: CheckStatus, findings: Iterable[Finding], fail_on: str) -> None:
        """Count one report."""
        self.checked += 1
        if fails(findings, fail_on, temperrors=False):
            self.failed += 1
        elif status == "unknown":
            self.unknown += 1

    def exit_code(self) -> int:
        """2 if an input was bad, else 1 if a report fails, else 3 if one is unknown, else 0."""
        if self.bad_input:
            return EXIT_ERROR
        if self.failed:
            return EXIT_FINDINGS
        return EXIT_UNKNOWN if self.unknown else EXIT_OK


# --- input files ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InputLine:
    """One non-empty line of a ``--from-file`` list (or one argument): its text, its
    whitespace-separated fields, and where it was (``line`` 0: the command line)."""

    text: str
    source: str
    line: int

    @property
    def fields(self) -> tuple[str, ...]:
        """The whitespace-separated fields of the line."""
        return tuple(self.text.split())

    @property
    def where(self) -> str:
        """``FILE:LINE`` (or ``command line``) for messages."""
        return f"{self.source}:{self.line}" if self.line else self.source


def read_input_file(path: str, *, what: str) -> list[InputLine]:
    """The lines of a ``--from-file`` list, comments and blank lines skipped, each kept once.

    Raises:
        ConfigError: the file cannot be read, is not UTF-8 text, or lists nothing
            (``what`` names what it should list).
    """
    source = Path(path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    lines: list[InputLine] = []
    seen: set[str] = set()
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{path}:{number}: not UTF-8 text (is it the right file?)") from None
        if "\x00" in text:
            raise ConfigError(f"{path}:{number}: a NUL byte (is it the right file?)")
        content = " ".join(text.split("#", 1)[0].split())
        if content and content not in seen:
            seen.add(content)
            lines.append(InputLine(content, path, number))
    if not lines:
        raise ConfigError(f"{path}: no {what} in the file (empty, or only comments)")
    return lines


def printable(value: object) -> str:
    """``value`` with control characters shown escaped (they would drive the terminal)."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in str(value))


# --- output -----------------------------------------------------------------------------


def print_json(data: Any, *, indent: int | None = 2) -> None:
    """Write JSON to stdout (one line when ``indent`` is ``None``)."""
    sys.stdout.write(json.dumps(data, indent=indent, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def report_bad_input(
    item: InputLine, error: Exception, *, key: str, json_lines: bool, value: str | None = None
) -> None:
    """One bad input: a JSON error record on stdout (``json_lines``) or one line on stderr.

    The message names the value, and the file and line it came from.
    """
    shown = item.text if value is None else value
    if json_lines:
        record: dict[str, Any] = {key: shown, "status": "error", "error": str(error)}
        if item.line:
            record.update(file=item.source, line=item.line)
        print_json(record, indent=None)
        return
    message = str(error)
    if repr(shown) not in message:
        message = f"{shown!r}: {message}"
    where = f"{item.where}: " if item.line else ""
    sys.stderr.write(f"mailcheck: error: {where}{printable(message)}\n")
    sys.stderr.flush()


@contextlib.contextmanager
def progress_bar(label: str, total: int, *, enabled: bool = True) -> Iterator[Callable[[], None]]:
    """A bar on stderr, shown only on a terminal; yields the function that moves it a step.

    stdout is data (``--format json > out.jsonl``): the bar never redirects or wraps it.
    """
    if not (enabled and total and sys.stderr.isatty()):
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from mailcheck.cli import render

    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        console=render.make_console(sys.stderr),
        transient=True,
        # stdout is never touched; stderr lines (bad inputs) are printed above the bar.
        redirect_stdout=False,
        redirect_stderr=True,
    )
    task = progress.add_task(label, total=total)
    with progress:
        yield lambda: progress.advance(task)
