"""``mailcheck send``: the options of list hygiene and transport security.

``--list`` names the list the messages go to (its suppressions apply; one-click
unsubscribe headers name it), ``--lint`` lints bulk mail before it is queued, ``--verp-domain``
gives each recipient a signed return path (so ``mailcheck bounces ingest`` matches bounces
safely), ``--unsubscribe-url`` adds RFC 8058 headers, ``--mta-sts`` obeys the destinations'
MTA-STS policies. The secret of the tokens comes from ``--secret-file`` (chmod 600).
"""

from __future__ import annotations

import argparse
from typing import Any

from mailcheck.errors import ConfigError
from mailcheck.lookup import Resolver

__all__ = ["add_hygiene_options", "check_hygiene", "tls_options"]


def add_hygiene_options(parser: argparse.ArgumentParser) -> None:
    """Add the list-hygiene and transport-security options to ``mailcheck send``."""
    group = parser.add_argument_group("list hygiene and transport security")
    group.add_argument(
        "--list",
        dest="list_id",
        metavar="NAME",
        help="the mailing list the messages go to: its suppressions (unsubscribes) apply, "
        "and --unsubscribe-url headers name it",
    )
    group.add_argument(
        "--lint",
        choices=("off", "warn", "refuse"),
        default="off",
        help="lint bulk mail before queuing it as Gmail, Yahoo and Outlook.com would: warn "
        "on stderr, or refuse a message a provider would reject (default: off)",
    )
    group.add_argument(
        "--verp-domain",
        metavar="DOMAIN",
        help="give each recipient the return path bounces+TOKEN@DOMAIN (needs --secret-file)",
    )
    group.add_argument(
        "--unsubscribe-url",
        metavar="URL",
        help="add RFC 8058 one-click unsubscribe headers pointing to this https endpoint to "
        "bulk mail sent with --list (needs --secret-file)",
    )
    group.add_argument(
        "--unsubscribe-mailto",
        metavar="ADDR",
        help="also offer unsubscribing by mail to this address (read by mailcheck bounces)",
    )
    group.add_argument(
        "--secret-file",
        metavar="FILE",
        help="the secret of the VERP and unsubscribe tokens (16+ bytes, chmod 600); the "
        "same file is given to mailcheck bounces and to the unsubscribe endpoint",
    )
    group.add_argument(
        "--mta-sts",
        action="store_true",
        help="obey the destinations' MTA-STS policies: under enforce, a host without a "
        "valid certificate gets no mail (it waits)",
    )


def check_hygiene(args: argparse.Namespace) -> dict[str, Any]:
    """The Sender's keyword arguments for lint, VERP and unsubscribe headers, checked
    before anything is opened (the secret file is read here).

    Raises:
        ConfigError: a token option without ``--secret-file``, a bad file, URL or domain.
    """
    options: dict[str, Any] = {"lint": args.lint}
    if (args.verp_domain or args.unsubscribe_url) and not args.secret_file:
        raise ConfigError("--verp-domain and --unsubscribe-url need --secret-file")
    if args.unsubscribe_mailto and not args.unsubscribe_url:
        raise ConfigError("--unsubscribe-mailto goes with --unsubscribe-url")
    if args.secret_file:
        from mailcheck.hygiene.secret import read_secret
        from mailcheck.hygiene.verp import UnsubscribeConfig, VerpConfig

        if "\x00" in args.secret_file:
            raise ConfigError(f"--secret-file {args.secret_file!r}: not a path (a NUL byte)")
        secret = read_secret(args.secret_file)
        if args.verp_domain:
            options["verp"] = VerpConfig(domain=args.verp_domain, secret=secret)
        if args.unsubscribe_url:
            options["unsubscribe"] = UnsubscribeConfig(
                url=args.unsubscribe_url, secret=secret, mailto=args.unsubscribe_mailto
            )
    return options


def tls_options(args: argparse.Namespace, resolver: Resolver) -> dict[str, Any]:
    """The Sender's ``tls_policy`` when ``--mta-sts`` asks for it."""
    if not args.mta_sts:
        return {}
    from mailcheck.sending.tlspolicy import TlsPolicyCache

    return {"tls_policy": TlsPolicyCache(resolver)}
