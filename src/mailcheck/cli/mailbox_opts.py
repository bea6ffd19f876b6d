"""The mailbox options of the commands that read mail that comes back (``reports ingest``,
``bounces ingest``): ``--maildir``, ``--imap`` and its options, checked and opened alike.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mailcheck.errors import ConfigError

if TYPE_CHECKING:
    from mailcheck.mailbox import ImapSource


def add_mailbox_options(parser: argparse.ArgumentParser, *, done: str, ca: bool = False) -> None:
    """Add ``--maildir DIR`` (repeatable), ``--imap URL``, ``--imap-credentials FILE``,
    ``--imap-move-to FOLDER`` and, with ``ca``, ``--imap-ca FILE``.

    ``done`` says when a Maildir message is moved to ``cur/`` ("handled", "stored").
    """
    parser.add_argument(
        "--maildir", action="append", default=[], metavar="DIR",
        help=f"a Maildir: new messages are read, and moved to cur/ once {done} (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--imap", metavar="URL",
        help="imaps://user@host/Folder: unseen messages are read, then flagged seen",
    )  # fmt: skip
    parser.add_argument(
        "--imap-credentials", metavar="FILE",
        help="file (chmod 600) whose first line is the IMAP password "
        "(default: $MAILCHECK_IMAP_PASSWORD)",
    )  # fmt: skip
    parser.add_argument(
        "--imap-move-to", metavar="FOLDER", help="move handled IMAP messages to this folder"
    )
    if ca:
        parser.add_argument(
            "--imap-ca", metavar="FILE",
            help="trust this CA bundle for the IMAP server (default: the system's)",
        )  # fmt: skip


def check_mailbox_options(args: argparse.Namespace) -> None:
    """Refuse a run with nothing to read, or IMAP options without ``--imap``.

    Raises:
        ConfigError: no PATH, ``--maildir`` nor ``--imap``; an ``--imap-*`` option alone.
    """
    if not (args.paths or args.maildir or args.imap):
        raise ConfigError("nothing to ingest: give PATH..., --maildir DIR or --imap URL")
    imap_only = [n for n in ("imap_credentials", "imap_ca", "imap_move_to") if hasattr(args, n)]
    if any(getattr(args, name) for name in imap_only) and not args.imap:
        names = ["--" + name.replace("_", "-") for name in imap_only]
        raise ConfigError(f"{', '.join(names[:-1])} and {names[-1]} need --imap")


def open_imap(args: argparse.Namespace) -> ImapSource:
    """The ``--imap`` folder as a source (to use in ``async with``), its password from
    ``--imap-credentials`` or the environment, its CA from ``--imap-ca`` when the command has it.

    Raises:
        ConfigError: no password, a password file others can read, an unreadable CA bundle.
    """
    from mailcheck.mailbox import ImapSource, read_password

    password = read_password(args.imap_credentials)
    context = None
    cafile = getattr(args, "imap_ca", None)
    if cafile:
        import ssl

        try:
            context = ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"--imap-ca {cafile}: {exc}") from None
    return ImapSource(args.imap, password=password, move_to=args.imap_move_to, ssl_context=context)
