"""``mailcheck providers --check FILE`` and ``mailcheck provider DOMAIN``.

Examples::

    mailcheck providers                         # list the providers and their limits
    mailcheck providers --check my-providers.toml
    mailcheck provider example.org --providers my-providers.toml --format json

``providers --check`` exits 1 when a file has problems; ``provider`` exits 0, or 2 when DNS
could not answer.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from typing import Any

from mailcheck.cli.common import (
    add_dns_options,
    add_format_option,
    add_providers_option,
    make_resolver,
    print_json,
)
from mailcheck.model import to_dict
from mailcheck.sending.provider_lint import lint_provider_file
from mailcheck.sending.providers import Limits, Provider, ProviderSet


def register(subparsers: Any) -> None:
    """Add ``mailcheck providers`` and ``mailcheck provider``."""
    many = subparsers.add_parser(
        "providers",
        help="list the provider dataset or lint a provider file",
        description="List the providers (built in, then --providers files), or with --check "
        "lint provider files: regexes compile, values well-formed, no overlapping MX "
        "suffixes, durations bounded.",
    )
    many.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="FILE",
        help="lint a provider file instead of listing (repeatable; exit 1 on problems)",
    )
    add_providers_option(many)
    add_format_option(many)
    many.set_defaults(run=run_providers)
    one = subparsers.add_parser(
        "provider",
        help="show which provider group a domain belongs to and its limits",
        description="Resolve DOMAIN's MX hosts and show its provider group and limits.",
    )
    one.add_argument("domain", help="a recipient domain (its MX hosts decide)")
    add_providers_option(one)
    add_format_option(one)
    add_dns_options(one)
    one.set_defaults(run=run_provider)


def _limits_text(limits: Limits) -> str:
    rates = ", ".join(name for name, _ in limits.message_rates) or "adaptive"
    return (
        f"connections {limits.connections}, {limits.messages_per_connection} msgs/connection, "
        f"{limits.recipients_per_message} rcpts/message, rates {rates}, TLS {limits.tls}"
    )


def _provider_dict(provider: Provider) -> dict[str, Any]:
    data: dict[str, Any] = to_dict(dataclasses.replace(provider, rules=()))
    data["rules"] = [
        {f.name: to_dict(getattr(r, f.name)) for f in dataclasses.fields(r) if f.name != "pattern"}
        | {"pattern": r.pattern.pattern}
        for r in provider.rules
    ]
    return data


def run_providers(args: argparse.Namespace) -> int:
    """List providers or lint files."""
    if args.check:
        problems = {str(path): lint_provider_file(path) for path in args.check}
        if args.format == "json":
            print_json({path: list(found) for path, found in problems.items()})
        else:
            for path, found in problems.items():
                sys.stdout.write(f"{path}: {'ok' if not found else 'problems'}\n")
                sys.stdout.writelines(f"  {problem}\n" for problem in found)
        return 1 if any(problems.values()) else 0
    providers = ProviderSet.load(user_files=args.providers)
    if args.format == "json":
        print_json([_provider_dict(p) for p in providers.providers.values()])
        return 0
    for p in providers.providers.values():
        sys.stdout.write(f"{p.name}: {p.description} [{' '.join(p.mx) or '*'}]\n")
        sys.stdout.write(f"  {_limits_text(p.limits)}; {len(p.rules)} rules\n")
        sys.stdout.write(f"  {_pace_text(providers, p.name)}\n")
    return 0


def _pace_text(providers: ProviderSet, group: str) -> str:
    """First-contact pace, silent drop and ladder, on one line."""
    policy = providers.pace_policy(group)
    provider = providers.get(group)
    ladder = ", ".join(_short(step) for step in provider.ladder)
    silent = "; drops silently above its limit" if policy.silent_drop else ""
    return f"first contact {policy.first_contact * 3600:.0f}/h{silent}; pauses {ladder}"


def _short(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 60:.0f}min" if seconds >= 60 else f"{seconds:.0f}s"


def run_provider(args: argparse.Namespace) -> int:
    """Show a domain's provider group and limits."""
    providers = ProviderSet.load(user_files=args.providers)
    match = asyncio.run(providers.resolve(args.domain, resolver=make_resolver(args)))
    if args.format == "json":
        print_json(
            {
                "domain": match.domain,
                "group": match.group,
                "mx_hosts": list(match.mx_hosts),
                "provider": _provider_dict(match.provider),
            }
        )
        return 0
    sys.stdout.write(
        f"{match.domain}: group {match.group} (provider {match.provider.name})\n"
        f"  MX: {' '.join(match.mx_hosts) or '(none)'}\n"
        f"  {_limits_text(match.provider.limits)}\n"
        f"  {_pace_text(providers, match.group)}\n"
    )
    return 0
