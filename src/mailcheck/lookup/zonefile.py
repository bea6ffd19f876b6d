"""Answer DNS questions from zone files, offline.

:class:`ZoneSet` is the pure lookup (CNAME chains, wildcards per RFC 4592,
empty non-terminals, negative answers with the SOA); :class:`ZoneResolver` is
the :class:`~mailcheck.lookup.resolver.Resolver` over it, used by
``mailcheck audit --zone`` to audit a zone before it is published. The test
DNS server answers from the same :class:`ZoneSet`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path

import dns.exception
import dns.name
import dns.node
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

from mailcheck.errors import ConfigError, TempError
from mailcheck.lookup.answer import MAX_CNAME_CHAIN, DnsAnswer, answer_from_rrsets
from mailcheck.lookup.resolver import Resolver, to_dns_name


@dataclasses.dataclass(frozen=True, slots=True)
class ZoneLookup:
    """What the zones say about one question, as the sections of a response."""

    rcode: dns.rcode.Rcode
    answer: tuple[dns.rrset.RRset, ...]
    authority: tuple[dns.rrset.RRset, ...]
    outside: dns.name.Name | None = None
    """Set when a CNAME led out of the loaded zones: the name to continue with."""


class ZoneSet:
    """Several zones, each answering for the names under its origin."""

    def __init__(self, zones: Iterable[dns.zone.Zone]) -> None:
        self.zones = tuple(sorted(zones, key=lambda z: -len(z.origin or dns.name.root)))
        # Every owner name and its ancestors inside the zone: tells an empty
        # non-terminal (NODATA) from a name that does not exist (NXDOMAIN).
        self._names: dict[dns.name.Name, set[dns.name.Name]] = {}
        for zone in self.zones:
            origin = zone.origin or dns.name.root
            names: set[dns.name.Name] = set()
            for owner in zone.nodes:
                name = owner.derelativize(origin)
                while name.is_subdomain(origin) and name not in names:
                    names.add(name)
                    if name == origin:
                        break
                    name = name.parent()
            self._names[origin] = names

    @classmethod
    def from_files(cls, paths: Sequence[str | Path]) -> ZoneSet:
        """Load zone files; the origin is ``$ORIGIN`` or else the file name less ``.zone``.

        Raises:
            ConfigError: a file cannot be read or does not parse.
        """
        zones = []
        for raw in paths:
            path = Path(raw)
            origin = path.name.removesuffix(".zone").removesuffix(".db")
            try:
                text = path.read_text(encoding="utf-8")
                zones.append(
                    dns.zone.from_text(
                        text,
                        origin=origin if "$ORIGIN" not in text else None,
                        relativize=False,
                        check_origin=False,
                    )
                )
            except OSError as exc:
                raise ConfigError(f"zone file {path}: {exc.strerror or exc}") from None
            except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
                raise ConfigError(f"zone file {path}: {exc}") from None
        return cls(zones)

    def zone_for(self, name: dns.name.Name) -> dns.zone.Zone | None:
        """The zone with the longest origin that contains ``name``."""
        for zone in self.zones:
            if zone.origin is not None and name.is_subdomain(zone.origin):
                return zone
        return None

    def lookup(self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> ZoneLookup | None:
        """Answer from the zones, following CNAMEs; ``None`` when no zone holds ``qname``."""
        if self.zone_for(qname) is None:
            return None
        answer: list[dns.rrset.RRset] = []
        current = qname
        for _ in range(MAX_CNAME_CHAIN + 1):
            zone = self.zone_for(current)
            if zone is None:
                return ZoneLookup(dns.rcode.NOERROR, tuple(answer), (), outside=current)
            node, exists = self._find(zone, current)
            if node is None:
                rcode = dns.rcode.NOERROR if exists else dns.rcode.NXDOMAIN
                return ZoneLookup(rcode, tuple(answer), self._soa(zone))
            found = node.get_rdataset(dns.rdataclass.IN, rdtype)
            if found is not None:
                answer.append(_rrset(current, found))
                return ZoneLookup(dns.rcode.NOERROR, tuple(answer), ())
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None or rdtype == dns.rdatatype.CNAME:
                return ZoneLookup(dns.rcode.NOERROR, tuple(answer), self._soa(zone))
            answer.append(_rrset(current, cname))
            current = cname[0].target.derelativize(zone.origin)
            if any(rrset.name == current for rrset in answer):
                break  # a loop: answer with the chain so far, the client sees the loop
        return ZoneLookup(dns.rcode.NOERROR, tuple(answer), ())

    def _find(self, zone: dns.zone.Zone, name: dns.name.Name) -> tuple[dns.node.Node | None, bool]:
        """The node for ``name`` (a wildcard's when synthesised) and whether the name exists."""
        origin = zone.origin or dns.name.root
        node = zone.get_node(name)
        if node is not None:
            return node, True
        names = self._names[origin]
        if name in names:
            return None, True  # empty non-terminal
        # RFC 4592 §3.3.1: the closest encloser's wildcard answers for names below it.
        encloser = name.parent()
        while encloser not in names and encloser != origin:
            encloser = encloser.parent()
        wildcard = zone.get_node(dns.name.Name((b"*", *encloser.labels)))
        return wildcard, wildcard is not None

    @staticmethod
    def _soa(zone: dns.zone.Zone) -> tuple[dns.rrset.RRset, ...]:
        origin = zone.origin or dns.name.root
        soa = zone.get_rdataset(origin, dns.rdatatype.SOA)
        return (_rrset(origin, soa),) if soa is not None else ()


def _rrset(owner: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    return dns.rrset.from_rdata_list(owner, rdataset.ttl, list(rdataset))


class ZoneResolver:
    """A :class:`Resolver` that answers from zone files, with no network.

    Names outside the loaded zones go to ``fallback`` when one is given;
    without one they are a :class:`TempError` ("could not check"), never a
    made-up NXDOMAIN.

    Args:
        zones: zone file paths, or a ready :class:`ZoneSet`.
        fallback: a resolver for names outside the zones.
    """

    def __init__(
        self, zones: Sequence[str | Path] | ZoneSet, *, fallback: Resolver | None = None
    ) -> None:
        self.zoneset = zones if isinstance(zones, ZoneSet) else ZoneSet.from_files(zones)
        self.fallback = fallback

    def serves(self, name: str, /) -> bool:
        """True when a question about ``name`` can be answered: it is inside the loaded
        zones, or a fallback resolver is set. Offline (no fallback), callers skip the
        names this is False for instead of asking and getting "could not check".

        Raises:
            ParseError: ``name`` is not a valid DNS name.
        """
        if self.fallback is not None:
            return True
        return self.zoneset.zone_for(to_dns_name(name)) is not None

    async def query(self, name: str, rdtype: str, /) -> DnsAnswer:
        """Answer from the zones (then the fallback for names outside them)."""
        qname = to_dns_name(name)
        rdtype_value = dns.rdatatype.from_text(rdtype.upper())
        found = self.zoneset.lookup(qname, rdtype_value)
        if found is None or found.outside is not None:
            return await self._outside(qname, rdtype_value, found)
        return answer_from_rrsets(qname, rdtype_value, found.rcode, found.answer, found.authority)

    async def _outside(
        self,
        qname: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        found: ZoneLookup | None,
    ) -> DnsAnswer:
        target = qname if found is None else found.outside
        assert target is not None
        text = qname.to_text(omit_final_dot=True)
        rdtype_text = dns.rdatatype.to_text(rdtype)
        if self.fallback is None:
            raise TempError(
                text, rdtype_text, f"{target.to_text(omit_final_dot=True)} is outside the zones"
            )
        answer = await self.fallback.query(target.to_text(), rdtype_text)
        if found is None:
            return answer
        chain = tuple(
            rrset[0].target.to_text(omit_final_dot=True).lower() for rrset in found.answer
        )
        return dataclasses.replace(
            answer, name=text.lower(), cname_chain=chain + answer.cname_chain
        )
