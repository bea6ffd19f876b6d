"""Signed zones for the DNSSEC and DANE tests, and a DNS server that serves their signatures.

Zones are signed here with dnspython (``dns.dnssec.sign_zone``: RRSIGs and an NSEC chain),
written to a tmp dir and loaded by :class:`SigningDnsServer`, a :class:`DnsTestServer`
that, for queries with the DO bit, adds the RRSIGs of every RRset it answers with and the
NSEC proofs of negative answers (RFC 4035 §3.1), and sets AA. Queries without DO get the
base server's answers, so the same server plays an unsigned authority too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import warnings
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.utils import CryptographyDeprecationWarning

from tests.dnsserver import DnsTestServer, LoggedQuery

with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)  # dnspython's DSA import
    import dns.dnssec


@dataclasses.dataclass(frozen=True)
class SignedZone:
    origin: str
    path: Path
    ds: str
    """The trust anchor as a DS record in zone-file syntax."""
    dnskey: str
    """The key-signing key as a DNSKEY record in zone-file syntax."""


def sign_zone_file(
    directory: Path,
    origin: str,
    body: str,
    *,
    tamper: dict[str, str] | None = None,
) -> SignedZone:
    """Sign ``body`` (zone-file lines, relative names) for ``origin`` and write it.

    ``tamper`` maps ``"owner TYPE"`` to replacement rdata applied *after* signing, which
    leaves that RRset with a signature that no longer validates (a bogus answer).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    dnskey = dns.dnssec.make_dnskey(
        key.public_key(), dns.dnssec.Algorithm.ECDSAP256SHA256, flags=257
    )
    text = "$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 127.0.0.1\n" + body
    zone = dns.zone.from_text(text, origin=origin + ".", relativize=False, check_origin=False)
    with zone.writer() as txn:
        dns.dnssec.sign_zone(
            zone, txn=txn, keys=[(key, dnskey)], inception=time.time() - 3600, lifetime=30 * 86400
        )
    for target, rdata in (tamper or {}).items():
        owner, rdtype = target.split()
        name = dns.name.from_text(owner, zone.origin)
        rdataset = zone.find_rdataset(name, rdtype)
        ttl = rdataset.ttl
        rdataset.clear()
        rdataset.add(dns.rdata.from_text(dns.rdataclass.IN, rdtype, rdata), ttl)
    path = directory / f"{origin}.zone"
    path.write_text(zone.to_text(relativize=False), encoding="utf-8")
    ds = dns.dnssec.make_ds(origin + ".", dnskey, "SHA256")
    return SignedZone(
        origin, path, f"{origin}. DS {ds.to_text()}", f"{origin}. DNSKEY {dnskey.to_text()}"
    )


class SigningDnsServer(DnsTestServer):
    """A :class:`DnsTestServer` that answers DO queries with signatures and NSEC proofs."""

    async def answer(self, wire: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if query.edns < 0 or not query.ednsflags & dns.flags.DO or not query.question:
            return await super().answer(wire, transport)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.log.append(LoggedQuery(name, rdtype, transport))
        behaviour = self.behaviours.get(name)
        if behaviour is not None and behaviour.rdtype not in (None, rdtype):
            behaviour = None
        delay = behaviour.delay if behaviour is not None and behaviour.delay else self.delay
        if delay:
            await asyncio.sleep(delay)
        if behaviour is not None and behaviour.drop:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if behaviour is not None and (behaviour.servfail or behaviour.refused):
            response.set_rcode(dns.rcode.SERVFAIL if behaviour.servfail else dns.rcode.REFUSED)
            return response.to_wire()
        found = self.zoneset.lookup(question.name, question.rdtype)
        zone = self.zoneset.zone_for(question.name)
        if found is None or zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        response.set_rcode(found.rcode)
        response.answer = _with_signatures(zone, list(found.answer))
        authority = list(found.authority)
        if not found.answer:
            authority += _denial(zone, question.name, found.rcode)
        response.authority = _with_signatures(zone, authority)
        limit = 65535 if transport == "tcp" else max(query.payload, 512)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            response.answer, response.authority = [], []
            response.flags |= dns.flags.TC
            return response.to_wire()


def _with_signatures(zone: dns.zone.Zone, rrsets: list[dns.rrset.RRset]) -> list[dns.rrset.RRset]:
    out = []
    for rrset in rrsets:
        out.append(rrset)
        sigs = zone.get_rdataset(rrset.name, dns.rdatatype.RRSIG, covers=rrset.rdtype)
        if sigs is not None:
            out.append(dns.rrset.from_rdata_list(rrset.name, sigs.ttl, list(sigs)))
    return out


def _nsec(zone: dns.zone.Zone, owner: dns.name.Name) -> list[dns.rrset.RRset]:
    found = zone.get_rdataset(owner, dns.rdatatype.NSEC)
    return [dns.rrset.from_rdata_list(owner, found.ttl, list(found))] if found is not None else []


def _covering(zone: dns.zone.Zone, qname: dns.name.Name) -> list[dns.rrset.RRset]:
    """The NSEC whose owner is the closest name before ``qname`` in canonical order."""
    owners = sorted(
        name.derelativize(zone.origin)
        for name, node in zone.nodes.items()
        if node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NSEC) is not None
    )
    if not owners:
        return []  # an unsigned zone: no proof to give
    before = [name for name in owners if name < qname]
    return _nsec(zone, before[-1] if before else owners[-1])


def _denial(zone: dns.zone.Zone, qname: dns.name.Name, rcode: int) -> list[dns.rrset.RRset]:
    if rcode == dns.rcode.NOERROR:
        return _nsec(zone, qname) or _covering(zone, qname)  # NODATA, or an empty non-terminal
    # NXDOMAIN (RFC 4035 §3.1.3.2): the name is covered, and so is the wildcard that
    # could have synthesised it at the closest encloser.
    encloser = qname.parent()
    while encloser != zone.origin and zone.get_node(encloser) is None:
        encloser = encloser.parent()
    proofs = _covering(zone, qname)
    wildcard = _covering(zone, dns.name.Name((b"*", *encloser.labels)))
    return proofs + [w for w in wildcard if w not in proofs]
