"""Whether DNS answers validate (DNSSEC), two ways.

* **AD bit** (``trust_ad=True``): ask a validating resolver the caller trusts (a local
  unbound, over a path nobody can tamper with) and read its AD flag (RFC 6840 §5.7); a
  SERVFAIL that the same question with CD set does not get is a bogus answer.
* **Chain** (``trust_anchors=[...]``): validate here with dnspython, from a configured
  trust anchor (DS or DNSKEY records in zone-file syntax) down through DS records to the
  answer's RRSIG.

Limits of the chain mode, said plainly: a denial of existence (NSEC/NSEC3) is not
validated — a missing record is judged by the validated SOA of its zone — and a
delegation without a DS is taken as unsigned (insecure) without checking its proof.
The AD-bit mode has neither limit: the validator does it all.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
from cryptography.utils import CryptographyDeprecationWarning

from mailcheck.errors import ConfigError, DnsTimeout, TempError
from mailcheck.lookup.resolver import parse_nameserver
from mailcheck.tls.types import DnssecStatus

with warnings.catch_warnings():
    # dnspython's DSA module touches cryptography's deprecated DSA classes on import;
    # mailcheck never validates DSA (algorithm 3/6) signatures, so the warning is noise.
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    import dns.dnssec

# Zone cuts walked from a trust anchor down to a name, at most (one per label).
MAX_CHAIN_DEPTH = 16


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SignedAnswer:
    """An answer and whether it validates.

    Attributes:
        name: the name asked.
        rdtype: the type asked.
        status: ``secure``, ``insecure`` or ``bogus``.
        records: the records of that type at that name (empty when none).
        zone: the closest signed zone validated on the way (chain mode).
        reason: why it is bogus or insecure, in a few words.
    """

    name: str
    rdtype: str
    status: DnssecStatus
    records: tuple[dns.rdata.Rdata, ...] = ()
    zone: str | None = None
    reason: str | None = None


class _Bogus(Exception):
    """The chain does not validate (the reason is the message)."""


class DnssecChecker:
    """Validates answers, through a trusted resolver's AD bit or from trust anchors.

    Args:
        nameservers: ``host[:port]`` of the resolver(s) to ask.
        trust_ad: trust the AD bit of ``nameservers`` (validating resolvers on a
            trusted path).
        trust_anchors: DS or DNSKEY records in zone-file syntax
            (``"example. DS 12345 13 2 ab12..."``) to validate from, here.
        timeout: seconds for one question.

    Raises:
        ConfigError: neither or both of ``trust_ad`` and ``trust_anchors``, an anchor
            that does not parse, a bad nameserver or timeout.
    """

    def __init__(
        self,
        nameservers: Sequence[str],
        *,
        trust_ad: bool = False,
        trust_anchors: Sequence[str] = (),
        timeout: float = 5.0,
    ) -> None:
        if trust_ad == bool(trust_anchors):
            raise ConfigError("DNSSEC: give either trust_ad=True or trust_anchors, not both")
        if timeout <= 0:
            raise ConfigError("timeout must be positive")
        self.nameservers = tuple(parse_nameserver(ns) for ns in nameservers)
        if not self.nameservers:
            raise ConfigError("DNSSEC: no nameserver given")
        self.trust_ad = trust_ad
        self.timeout = timeout
        self.anchors = _parse_anchors(trust_anchors)

    @property
    def method(self) -> str:
        """``ad-bit`` or ``chain``."""
        return "ad-bit" if self.trust_ad else "chain"

    async def lookup(self, name: str, rdtype: str, /) -> SignedAnswer:
        """Ask ``name``/``rdtype`` and say whether the answer validates.

        Raises:
            TempError: no usable answer (timeout, SERVFAIL with CD too, REFUSED).
        """
        qname = dns.name.from_text(name)
        qtype = dns.rdatatype.from_text(rdtype)
        if self.trust_ad:
            return await self._by_ad_bit(qname, qtype)
        try:
            return await self._by_chain(qname, qtype)
        except _Bogus as exc:
            return SignedAnswer(
                name=_text(qname), rdtype=rdtype, status=DnssecStatus.BOGUS, reason=str(exc)
            )

    # --- AD bit --------------------------------------------------------------------------
    async def _by_ad_bit(
        self, qname: dns.name.Name, qtype: dns.rdatatype.RdataType
    ) -> SignedAnswer:
        response = await self._ask(qname, qtype)
        rdtype = dns.rdatatype.to_text(qtype)
        if response.rcode() == dns.rcode.SERVFAIL:
            # RFC 4035 §5.5: a validator answers SERVFAIL for bogus data; with CD set it
            # hands the data over, so a CD answer tells "bogus" from "broken".
            checked = await self._ask(qname, qtype, cd=True)
            if checked.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                raise TempError(_text(qname), rdtype, "SERVFAIL, with and without CD")
            return SignedAnswer(
                name=_text(qname),
                rdtype=rdtype,
                status=DnssecStatus.BOGUS,
                records=_records(checked, qname, qtype),
                reason="the validator answers SERVFAIL",
            )
        secure = bool(response.flags & dns.flags.AD)
        return SignedAnswer(
            name=_text(qname),
            rdtype=rdtype,
            status=DnssecStatus.SECURE if secure else DnssecStatus.INSECURE,
            records=_records(response, qname, qtype),
            reason=None if secure else "the validator did not set AD",
        )

    # --- chain from a trust anchor -------------------------------------------------------
    async def _by_chain(self, qname: dns.name.Name, qtype: dns.rdatatype.RdataType) -> SignedAnswer:
        rdtype = dns.rdatatype.to_text(qtype)
        anchor = _closest_anchor(self.anchors, qname)
        if anchor is None:
            return SignedAnswer(
                name=_text(qname),
                rdtype=rdtype,
                status=DnssecStatus.INSECURE,
                reason="no trust anchor covers the name",
            )
        zone = anchor
        keys = await self._zone_keys(zone, self.anchors[anchor])
        for child in _below(anchor, qname):
            found = await self._delegation(child, zone, keys)
            if found is not None:
                zone, keys = child, found
        response = await self._ask(qname, qtype)
        records = _records(response, qname, qtype)
        if records:
            rrset = response.find_rrset(response.answer, qname, dns.rdataclass.IN, qtype)
            status, reason = await self._judge_rrset(rrset, response.answer, zone, keys, qname)
        else:
            status, reason = await self._judge_absence(response, zone, keys)
        return SignedAnswer(
            name=_text(qname),
            rdtype=rdtype,
            status=status,
            records=records,
            zone=_text(zone),
            reason=reason,
        )

    async def _zone_keys(
        self, zone: dns.name.Name, anchor: dns.rdataset.Rdataset
    ) -> dns.rdataset.Rdataset:
        """The zone's DNSKEY set, validated against ``anchor`` (DS or DNSKEY records)."""
        response = await self._ask(zone, dns.rdatatype.DNSKEY)
        try:
            dnskeys = response.find_rrset(
                response.answer, zone, dns.rdataclass.IN, dns.rdatatype.DNSKEY
            )
        except KeyError:
            raise _Bogus(f"{_text(zone)} publishes no DNSKEY") from None
        trusted = [key for key in dnskeys if _anchored(zone, key, anchor)]
        if not trusted:
            raise _Bogus(f"no DNSKEY of {_text(zone)} matches its trust anchor or DS")
        sigs = _signatures(response.answer, zone, dns.rdatatype.DNSKEY)
        trusted_set = dns.rdataset.from_rdata_list(dnskeys.ttl, trusted)
        try:
            dns.dnssec.validate(dnskeys, sigs, {zone: trusted_set})
        except dns.exception.ValidationFailure as exc:
            raise _Bogus(f"the DNSKEY set of {_text(zone)} does not validate: {exc}") from None
        return dns.rdataset.from_rdata_list(dnskeys.ttl, list(dnskeys))

    async def _delegation(
        self, child: dns.name.Name, zone: dns.name.Name, keys: dns.rdataset.Rdataset
    ) -> dns.rdataset.Rdataset | None:
        """The child's validated keys when a DS at ``child`` says it is a signed zone."""
        response = await self._ask(child, dns.rdatatype.DS)
        try:
            ds = response.find_rrset(response.answer, child, dns.rdataclass.IN, dns.rdatatype.DS)
        except KeyError:
            return None
        try:
            dns.dnssec.validate(
                ds, _signatures(response.answer, child, dns.rdatatype.DS), {zone: keys}
            )
        except dns.exception.ValidationFailure as exc:
            raise _Bogus(f"the DS of {_text(child)} does not validate: {exc}") from None
        return await self._zone_keys(child, dns.rdataset.from_rdata_list(ds.ttl, list(ds)))

    async def _judge_rrset(
        self,
        rrset: dns.rrset.RRset,
        answer: list[dns.rrset.RRset],
        zone: dns.name.Name,
        keys: dns.rdataset.Rdataset,
        qname: dns.name.Name,
    ) -> tuple[DnssecStatus, str | None]:
        sigs = _signatures(answer, qname, rrset.rdtype)
        if not len(sigs):
            apex = await self._apex(qname)
            if apex is not None and apex != zone and apex.is_subdomain(zone):
                return DnssecStatus.INSECURE, f"{_text(apex)} is delegated without a DS"
            raise _Bogus(f"{_text(qname)} is not signed in the signed zone {_text(zone)}")
        try:
            dns.dnssec.validate(rrset, sigs, {zone: keys})
        except dns.exception.ValidationFailure as exc:
            raise _Bogus(f"the signature of {_text(qname)} does not validate: {exc}") from None
        return DnssecStatus.SECURE, None

    async def _judge_absence(
        self, response: dns.message.Message, zone: dns.name.Name, keys: dns.rdataset.Rdataset
    ) -> tuple[DnssecStatus, str | None]:
        """A missing record: judged by the SOA of the zone the negative answer names."""
        soa = next((r for r in response.authority if r.rdtype == dns.rdatatype.SOA), None)
        if soa is None:
            raise TempError(_text(zone), "SOA", "a negative answer without SOA")
        if soa.name != zone:
            if soa.name.is_subdomain(zone):
                return DnssecStatus.INSECURE, f"{_text(soa.name)} is delegated without a DS"
            raise _Bogus(f"the answer comes from {_text(soa.name)}, outside {_text(zone)}")
        try:
            dns.dnssec.validate(
                soa, _signatures(response.authority, zone, dns.rdatatype.SOA), {zone: keys}
            )
        except dns.exception.ValidationFailure as exc:
            raise _Bogus(f"the SOA of {_text(zone)} does not validate: {exc}") from None
        return DnssecStatus.SECURE, "absence not proven (NSEC is not validated)"

    async def _apex(self, qname: dns.name.Name) -> dns.name.Name | None:
        response = await self._ask(qname, dns.rdatatype.SOA)
        for rrset in (*response.answer, *response.authority):
            if rrset.rdtype == dns.rdatatype.SOA:
                return rrset.name
        return None

    # --- the wire ------------------------------------------------------------------------
    async def _ask(
        self, qname: dns.name.Name, qtype: dns.rdatatype.RdataType, *, cd: bool = False
    ) -> dns.message.Message:
        query = dns.message.make_query(qname, qtype, want_dnssec=True, use_edns=0, payload=4096)
        query.flags |= dns.flags.AD  # RFC 6840 §5.7: ask for the AD bit
        if cd:
            query.flags |= dns.flags.CD
        rdtype = dns.rdatatype.to_text(qtype)
        errors = []
        for host, port in self.nameservers:
            try:
                response, _ = await dns.asyncquery.udp_with_fallback(
                    query, host, timeout=self.timeout, port=port
                )
            except dns.exception.Timeout:
                errors.append(f"timeout at {host}:{port}")
                continue
            except (dns.exception.DNSException, OSError) as exc:
                errors.append(f"{host}:{port}: {exc}")
                continue
            if response.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL):
                return response
            errors.append(f"{dns.rcode.to_text(response.rcode())} at {host}:{port}")
        if errors and all(e.startswith("timeout") for e in errors):
            raise DnsTimeout(_text(qname), rdtype, errors[0])
        raise TempError(_text(qname), rdtype, "; ".join(errors) or "no answer")


def _parse_anchors(lines: Sequence[str]) -> dict[dns.name.Name, dns.rdataset.Rdataset]:
    anchors: dict[dns.name.Name, list[dns.rdata.Rdata]] = {}
    for line in lines:
        parts = line.split()
        try:
            owner = dns.name.from_text(parts[0])
            index = 1
            while parts[index].upper() in ("IN",) or parts[index].isdigit():
                index += 1
            rdtype = dns.rdatatype.from_text(parts[index])
            if rdtype not in (dns.rdatatype.DS, dns.rdatatype.DNSKEY):
                raise ValueError("a trust anchor is a DS or DNSKEY record")
            rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, " ".join(parts[index + 1 :]))
        except (IndexError, ValueError, dns.exception.DNSException) as exc:
            raise ConfigError(f"trust anchor {line[:80]!r}: {exc}") from None
        anchors.setdefault(owner, []).append(rdata)
    return {name: dns.rdataset.from_rdata_list(0, rdatas) for name, rdatas in anchors.items()}


def _closest_anchor(
    anchors: dict[dns.name.Name, dns.rdataset.Rdataset], qname: dns.name.Name
) -> dns.name.Name | None:
    covering = [name for name in anchors if qname.is_subdomain(name)]
    return max(covering, key=len, default=None)


def _below(anchor: dns.name.Name, qname: dns.name.Name) -> list[dns.name.Name]:
    """The names from one label under ``anchor`` down to ``qname``."""
    names: list[dns.name.Name] = []
    current = qname
    while current != anchor and len(names) < MAX_CHAIN_DEPTH:
        names.append(current)
        current = current.parent()
    return list(reversed(names))


def _anchored(zone: dns.name.Name, key: dns.rdata.Rdata, anchor: dns.rdataset.Rdataset) -> bool:
    for trusted in anchor:
        if trusted.rdtype == dns.rdatatype.DNSKEY and trusted == key:
            return True
        if trusted.rdtype == dns.rdatatype.DS:
            try:
                made = dns.dnssec.make_ds(zone, key, trusted.digest_type)
            except (dns.exception.UnsupportedAlgorithm, ValueError):
                continue
            if made == trusted:
                return True
    return False


def _signatures(
    section: list[dns.rrset.RRset], owner: dns.name.Name, covered: dns.rdatatype.RdataType
) -> dns.rrset.RRset:
    for rrset in section:
        if rrset.name == owner and rrset.rdtype == dns.rdatatype.RRSIG and rrset.covers == covered:
            return rrset
    return dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.RRSIG, covered)


def _records(
    response: dns.message.Message, qname: dns.name.Name, qtype: dns.rdatatype.RdataType
) -> tuple[dns.rdata.Rdata, ...]:
    for rrset in response.answer:
        if rrset.name == qname and rrset.rdtype == qtype:
            return tuple(rrset)
    return ()


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()
