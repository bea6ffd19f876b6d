"""Entry point of the ``mailcheck`` command.

Each command lives in its own module with ``register(subparsers)``, which adds
its parser and sets ``run`` (``args -> exit code``) as the parser's default.
Exit codes: 0 nothing at or above ``--fail-on``, 1 something is, 2 a usage or
operational error (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mailcheck import __version__
from mailcheck.errors import MailcheckError

# One module per command, in the order ``mailcheck --help`` lists them.
COMMAND_MODULES = (
    "mailcheck.cli.audit",
    "mailcheck.cli.ip",
    "mailcheck.cli.dkim",
    "mailcheck.cli.verify",
    "mailcheck.cli.send",
    "mailcheck.cli.spool",
    "mailcheck.cli.providers",
)

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints the whole usage; one line is what a script's log wants.
        sys.stderr.write(f"mailcheck: error: {message}\n")
        raise SystemExit(EXIT_ERROR)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, every command registered."""
    parser = _Parser(
        prog="mailcheck",
        description="Audit, sign and throttle mail: SPF, DKIM, DMARC, MX, rDNS, blocklists.",
    )
    parser.add_argument("--version", action="version", version=f"mailcheck {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except MailcheckError as exc:
        sys.stderr.write(f"mailcheck: error: {exc}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("mailcheck: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    return code


if __name__ == "__main__":
    raise SystemExit(main())
