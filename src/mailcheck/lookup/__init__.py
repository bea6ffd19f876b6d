"""The DNS layer: answers as data, the resolver protocol, live and zone-file resolvers."""

from __future__ import annotations

import typing

from mailcheck import _lazy

# Each name and the module it lives in, imported on first use (PEP 562): importing
# the package stays cheap (no dkimpy, pyspf or DNS stack until a name needs them).
_EXPORTS = {
    "DnsAnswer": "mailcheck.lookup.answer",
    "DnsResolver": "mailcheck.lookup.resolver",
    "DnsStatus": "mailcheck.lookup.answer",
    "QueryBudget": "mailcheck.lookup.budget",
    "QueryBudgetExhausted": "mailcheck.lookup.budget",
    "Resolver": "mailcheck.lookup.resolver",
    "ResolverStats": "mailcheck.lookup.resolver",
    "ZoneResolver": "mailcheck.lookup.zonefile",
    "ZoneSet": "mailcheck.lookup.zonefile",
    "parse_nameserver": "mailcheck.lookup.resolver",
}

__getattr__, __dir__ = _lazy.lazy_exports(__name__, _EXPORTS)

if typing.TYPE_CHECKING:
    from mailcheck.lookup.answer import DnsAnswer, DnsStatus
    from mailcheck.lookup.budget import QueryBudget, QueryBudgetExhausted
    from mailcheck.lookup.resolver import DnsResolver, Resolver, ResolverStats, parse_nameserver
    from mailcheck.lookup.zonefile import ZoneResolver, ZoneSet

__all__ = [
    "DnsAnswer",
    "DnsResolver",
    "DnsStatus",
    "QueryBudget",
    "QueryBudgetExhausted",
    "Resolver",
    "ResolverStats",
    "ZoneResolver",
    "ZoneSet",
    "parse_nameserver",
]
