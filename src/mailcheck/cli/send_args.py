"""The command line of ``mailcheck send``: its options, and the command that resumes a run."""

from __future__ import annotations

import argparse
import os
import shlex
import urllib.parse
from collections.abc import Callable
from typing import Any

from mailcheck.cli.common import add_dns_options
from mailcheck.cli.send_hygiene import add_hygiene_options

__all__ = ["ENV_REDIS", "add_send_parser", "resume_command", "safe_url"]

#: The environment variable that gives ``--redis`` (for systemd units).
ENV_REDIS = "MAILCHECK_REDIS"


def _add_delivery_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--egress",
        action="append",
        default=[],
        metavar="IP[=HELO]",
        help="a source address of this host and its EHLO name (repeatable; default: the system's)",
    )
    parser.add_argument("--helo", metavar="NAME", help="EHLO name when no --egress gives one")
    parser.add_argument(
        "--providers",
        action="append",
        default=[],
        metavar="FILE",
        help="a provider file over the built-in dataset (repeatable, later files win)",
    )
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
    parser.add_argument(
        "--drain-target",
        metavar="DURATION",
        help="raise a provider's pace only when its waiting mail would not drain within "
        "this time (default: 1h)",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        default=os.environ.get(ENV_REDIS),
        help=f"share budgets with other senders through Redis (default: ${ENV_REDIS})",
    )
    parser.add_argument(
        "--redis-hosts",
        type=int,
        default=1,
        metavar="N",
        help="how many hosts share the budgets (each uses 1/N while Redis is away; default 1)",
    )


def add_send_parser(subparsers: Any, *, run: Callable[[argparse.Namespace], int]) -> None:
    """Add the parser of ``mailcheck send``, whose command is ``run``."""
    parser = subparsers.add_parser(
        "send",
        help="queue and deliver messages, shaped per destination provider",
        description="Queue MESSAGE files (or a --maildir) in the spool, then deliver until "
        "every recipient is final, shaped per provider group, and print a summary.",
    )
    parser.add_argument(
        "messages",
        nargs="*",
        metavar="MESSAGE|-",
        help="message files to queue (- reads one from stdin); none: deliver what the spool holds",
    )
    parser.add_argument(
        "--maildir",
        metavar="DIR",
        help="queue the messages of DIR/new and DIR/cur not yet "
        "queued (each is moved to cur/ with the S flag once queued)",
    )
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
        "--dkim-key",
        action="append",
        default=[],
        metavar="FILE",
        help="DKIM private key to sign each message with at queuing (repeatable)",
    )
    parser.add_argument(
        "--dkim-selector",
        action="append",
        default=[],
        metavar="SELECTOR",
        help="the selector of each --dkim-key, in the same order",
    )
    parser.add_argument("--dkim-domain", metavar="DOMAIN", help="d= of the DKIM signature")
    _add_delivery_options(parser)
    add_hygiene_options(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--no-run", action="store_true", help="queue only, deliver nothing")
    mode.add_argument(
        "--until-idle",
        action="store_true",
        help="deliver what is due now, then exit (cron); deferred mail waits in the spool",
    )
    mode.add_argument("--forever", action="store_true", help="keep delivering (a daemon)")
    parser.add_argument(
        "--max-time", metavar="DURATION", help="end the run after this long (90m, 2h)"
    )
    parser.add_argument(
        "--progress-every",
        default="60s",
        metavar="DURATION",
        help="seconds between progress lines when stderr is not a terminal (default 60s)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=None,
        metavar="N",
        help="for simulations: run the clock N times faster than real time (the spool, "
        "shaping and pauses follow it); never for real mail",
    )
    parser.add_argument("--status", action="store_true", help="print recipients per state")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="the summary on stdout: text for people, JSON for programs (default: text)",
    )
    add_dns_options(parser)
    parser.set_defaults(run=run)


def safe_url(url: str) -> str:
    """A Redis URL with its password masked (it would end in logs)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":****@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _option(flag: str, value: object) -> list[str]:
    text = str(value)
    # "--spool -x" would read -x as an option: such a value is glued to its flag.
    return [f"{flag}={text}"] if text.startswith("-") else [flag, text]


def resume_command(args: argparse.Namespace) -> str:
    """The command that goes on delivering this spool: the delivery options, no messages.

    Queued recipients are in the spool, so resuming needs only the spool and the options
    that shape delivery (not ``--from``, ``--to``, the DKIM keys: messages are queued
    signed). ``--redis`` from the environment is left to the environment, and a password
    in a ``--redis`` URL is masked. ``--max-time`` is not repeated.
    """
    words = ["mailcheck", "send", *_option("--spool", args.spool)]
    for flag, values in (
        ("--egress", args.egress),
        ("--providers", args.providers),
        ("--mx-override", args.mx_override),
        ("--nameserver", args.nameserver),
        ("--zone", args.zone),
    ):
        for value in values:
            words += _option(flag, value)
    if args.redis and args.redis != os.environ.get(ENV_REDIS):
        words += _option("--redis", safe_url(args.redis))
    for flag, value, default in (
        ("--helo", args.helo, None),
        ("--rate", args.rate, None),
        ("--port", args.port, 25),
        ("--timeout", args.timeout, 5.0),
        ("--drain-target", args.drain_target, None),
        ("--tenants", args.tenants, None),
        ("--redis-hosts", args.redis_hosts, 1),
        # Applied to each copy when it is sent: VERP, unsubscribe headers.
        ("--verp-domain", args.verp_domain, None),
        ("--unsubscribe-url", args.unsubscribe_url, None),
        ("--unsubscribe-mailto", args.unsubscribe_mailto, None),
        ("--secret-file", args.secret_file, None),
    ):
        if value != default:
            words += _option(flag, f"{value:g}" if isinstance(value, float) else value)
    words += ["--mta-sts"] if args.mta_sts else []
    words += ["--until-idle"] if args.until_idle else ["--forever"] if args.forever else []
    return shlex.join(words)
