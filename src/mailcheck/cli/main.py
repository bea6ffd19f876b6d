"""Entry point of the ``mailcheck`` command.

Each command lives in its own module with ``register(subparsers)``, which adds
its parser and sets ``run`` (``args -> exit code``) as the parser's default.
Only the module of the command being run is imported: the others get a light
placeholder parser (name and help line), so ``mailcheck --version`` and a
single ``mailcheck audit`` do not pay for DKIM signing or the sending stack.

Exit codes (the monitoring-plugin convention):

* 0: done, nothing at or above ``--fail-on``;
* 1: a finding at or above ``--fail-on`` (could-not-check findings excluded);
* 2: a usage or operational error: one line on stderr, no traceback. A bug
  (an exception mailcheck did not expect) is reported as one line
  ``mailcheck: internal error: ...`` with the same code, so it is never
  silent and never a traceback (``MAILCHECK_TRACEBACK=1`` shows it);
* 3: could not check: a report whose status is ``unknown`` (DNS did not
  answer), and nothing at or above ``--fail-on``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from mailcheck import __version__
from mailcheck.cli.common import EXIT_ERROR, EXIT_OK, HelpFormatter
from mailcheck.errors import MailcheckError

# Every command: its module and its line in ``mailcheck --help``, in that order. The line
# is repeated here so that listing the commands imports none of them (a test checks that
# each module registers the same line).
COMMANDS: dict[str, tuple[str, str]] = {
    "audit": (
        "mailcheck.cli.audit",
        "audit domains: SPF, DMARC, DKIM keys, MX, reverse DNS and blocklists",
    ),
    "ip": ("mailcheck.cli.ip", "reputation of sending IPs: reverse DNS, HELO name, blocklists"),
    "dkim": (
        "mailcheck.cli.dkim",
        "DKIM keys: generate, print the DNS record, check it, sign messages",
    ),
    "verify": ("mailcheck.cli.verify", "verify a received message: DKIM signatures, SPF, DMARC"),
    "send": ("mailcheck.cli.send", "queue and deliver messages, shaped per destination provider"),
    "spool": (
        "mailcheck.cli.spool",
        "inspect the send queue, retry deferred mail, drop or purge mail",
    ),
    "providers": ("mailcheck.cli.providers", "list the provider dataset or lint a provider file"),
    "provider": (
        "mailcheck.cli.providers",
        "show which provider group a domain belongs to and its limits",
    ),
    "arc": ("mailcheck.cli.arc", "ARC (RFC 8617): seal a message for a list or forwarder"),
    "lint": (
        "mailcheck.cli.lint",
        "check a message against the bulk-sender rules of Gmail, Yahoo, Outlook.com",
    ),
    "serve": (
        "mailcheck.cli.serve",
        "serve the JSON API and the report pages (French and English) over HTTP",
    ),
    "reports": (
        "mailcheck.cli.reports",
        "ingest DMARC aggregate and TLS reports, explain them per domain, purge old ones",
    ),
    "bounces": (
        "mailcheck.cli.bounces",
        "ingest bounces, complaints (ARF) and mailto unsubscribes into the suppression list",
    ),
    "suppress": (
        "mailcheck.cli.suppress",
        "list, add, remove, import and export the suppression list the sender obeys",
    ),
    # New commands: one entry each, inserted just above this line.
}


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints the whole usage; one line is what a script's log wants.
        sys.stderr.write(f"mailcheck: error: {message}\n")
        raise SystemExit(EXIT_ERROR)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every command registered, or only ``command`` for real.

    With ``command``, the other commands get a placeholder parser (their help line only)
    and their modules are not imported.
    """
    parser = _Parser(
        prog="mailcheck",
        description="Audit, sign and throttle mail: SPF, DKIM, DMARC, MX, rDNS, blocklists. "
        "Exit codes: 0 ok, 1 findings at or above --fail-on, 2 usage or operational error, "
        "3 could not check.",
    )
    parser.add_argument("--version", action="version", version=f"mailcheck {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    wanted = COMMANDS[command][0] if command in COMMANDS else None
    imported: set[str] = set()
    for name, (module, help_line) in COMMANDS.items():
        if command is None or module == wanted:
            if module not in imported:  # one module may register several commands
                importlib.import_module(module).register(subparsers)
                imported.add(module)
        else:
            subparsers.add_parser(name, help=help_line, add_help=False)
    return parser


def _command_of(argv: Sequence[str]) -> str:
    """The command named in ``argv`` (the first word that is not an option), or ``""``."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else ""
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        build_parser("").print_usage(sys.stderr)
        sys.stderr.write("mailcheck: error: a command is required (mailcheck --help)\n")
        return EXIT_ERROR
    try:
        parser = build_parser(_command_of(argv))
        args = parser.parse_args(argv)
        code: int = args.run(args)
    except KeyboardInterrupt:
        sys.stderr.write("mailcheck: interrupted\n")
        return 130
    except Exception as exc:
        return report_error(exc)
    return code


def report_error(exc: Exception) -> int:
    """One line on stderr for an exception that ends the run; the exit code."""
    # A TaskGroup wraps what its tasks raise: look at the first error inside.
    while isinstance(exc, ExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, MailcheckError):
        sys.stderr.write(f"mailcheck: error: {_one_line(exc)}\n")
        return EXIT_ERROR
    if isinstance(exc, BrokenPipeError):
        # The reader went away (``| head``): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        _silence_stdout()
        return EXIT_OK
    # A bug: one line, never silent, never a traceback.
    if os.environ.get("MAILCHECK_TRACEBACK"):
        import traceback

        traceback.print_exception(exc)
    name = type(exc).__name__
    sys.stderr.write(
        f"mailcheck: internal error: {name}: {_one_line(exc)} "
        "(a bug: please report it; MAILCHECK_TRACEBACK=1 shows where)\n"
    )
    return EXIT_ERROR


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(
        "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in part)
        for part in text.splitlines()
    )


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
