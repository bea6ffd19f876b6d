"""The DNS layer: answers as data, the resolver protocol, live and zone-file resolvers."""

from mailcheck.lookup.answer import DnsAnswer, DnsStatus
from mailcheck.lookup.resolver import DnsResolver, Resolver, ResolverStats, parse_nameserver
from mailcheck.lookup.zonefile import ZoneResolver, ZoneSet

__all__ = [
    "DnsAnswer",
    "DnsResolver",
    "DnsStatus",
    "Resolver",
    "ResolverStats",
    "ZoneResolver",
    "ZoneSet",
    "parse_nameserver",
]
