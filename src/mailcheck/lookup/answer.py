"""DNS answers as data: ``ok``, ``nxdomain`` or ``nodata`` — absence is not an exception."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from mailcheck.errors import TempError
from mailcheck.model import ToDict

# RFC 1034 §3.6.2 leaves chain length open; resolvers stop well before 16 hops.
MAX_CNAME_CHAIN = 16
# RFC 2308 §5: negative answers are cached for the SOA MINIMUM; without an SOA use a short default.
DEFAULT_NEGATIVE_TTL = 300

K = TypeVar("K")


class DnsStatus(enum.StrEnum):
    """What DNS said about a (name, type) pair."""

    OK = "ok"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DnsAnswer(ToDict):
    """The answer to one question.

    Attributes:
        name: the name asked, lower case, without the trailing dot.
        rdtype: the record type asked (``"TXT"``).
        status: ``ok``, ``nxdomain`` or ``nodata``.
        records: the records of the final name of the CNAME chain (empty unless ``ok``).
        ttl: how long the answer may be cached, in seconds.
        cname_chain: the CNAME targets followed from ``name``, in order.
    """

    name: str
    rdtype: str
    status: DnsStatus
    records: tuple[dns.rdata.Rdata, ...] = ()
    ttl: int = 0
    cname_chain: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when records of the asked type exist."""
        return self.status is DnsStatus.OK

    @property
    def canonical_name(self) -> str:
        """The name the records belong to, after CNAMEs."""
        return self.cname_chain[-1] if self.cname_chain else self.name

    def texts(self) -> tuple[str, ...]:
        """TXT records, each with its character-strings joined (RFC 7208 §3.3).

        Bytes that are not UTF-8 are kept as U+FFFD so parsers can flag them.
        """
        return tuple(b"".join(chunks).decode("utf-8", "replace") for chunks in self.text_chunks())

    def text_chunks(self) -> tuple[tuple[bytes, ...], ...]:
        """TXT records as their raw character-strings (each at most 255 bytes)."""
        return tuple(tuple(r.strings) for r in self.records if hasattr(r, "strings"))

    def addresses(self) -> tuple[str, ...]:
        """A or AAAA records as address strings."""
        return tuple(str(r.address) for r in self.records if hasattr(r, "address"))

    def mx_hosts(self) -> tuple[tuple[int, str], ...]:
        """MX records as (preference, host) sorted by preference; ``"."`` is a null MX."""
        pairs = [
            (int(getattr(r, "preference", 0)), _name_text(r.exchange))
            for r in self.records
            if hasattr(r, "exchange")
        ]
        return tuple(sorted(pairs))

    def targets(self) -> tuple[str, ...]:
        """PTR, CNAME or NS targets as names without the trailing dot."""
        return tuple(_name_text(r.target) for r in self.records if hasattr(r, "target"))


def _name_text(name: dns.name.Name) -> str:
    text = name.to_text(omit_final_dot=True).lower()
    return text or "."


def name_text(name: dns.name.Name) -> str:
    """A name as mailcheck writes it: lower case, no trailing dot (the root is ``"."``)."""
    return _name_text(name)


def answer_from_rrsets(
    qname: dns.name.Name,
    rdtype: dns.rdatatype.RdataType,
    rcode: dns.rcode.Rcode,
    answer: Sequence[dns.rrset.RRset],
    authority: Sequence[dns.rrset.RRset] = (),
) -> DnsAnswer:
    """Build a :class:`DnsAnswer` from the sections of a response.

    Follows the CNAME chain in the answer section, as a stub resolver must.

    Raises:
        TempError: for any rcode but NOERROR and NXDOMAIN, or a CNAME loop.
    """
    rdtype_text = dns.rdatatype.to_text(rdtype)
    qtext = _name_text(qname)
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise TempError(qtext, rdtype_text, f"server answered {dns.rcode.to_text(rcode)}")
    by_owner: dict[tuple[dns.name.Name, int], tuple[int, dns.rrset.RRset]] = {}
    for rrset in answer:
        if rrset.rdclass == dns.rdataclass.IN:
            by_owner[(rrset.name, rrset.rdtype)] = (rrset.ttl, rrset)
    return answer_from_sets(
        qname, qtext, rdtype, rdtype_text, rcode, by_owner, _same_name, _negative_ttl(authority)
    )


def _same_name(name: dns.name.Name) -> dns.name.Name:
    return name


def answer_from_sets(
    qkey: K,
    qtext: str,
    rdtype: int,
    rdtype_text: str,
    rcode: int,
    sets: Mapping[tuple[K, int], tuple[int, Iterable[dns.rdata.Rdata]]],
    key_of: Callable[[dns.name.Name], K],
    negative_ttl: int,
) -> DnsAnswer:
    """Build a :class:`DnsAnswer` from the answer section as record sets.

    ``sets`` maps (owner key, type) to (TTL, records) for class IN, as dnspython's RRsets
    would hold them (one per owner and type, duplicates dropped, the last CNAME kept);
    ``key_of`` turns a CNAME target into an owner key, ``qkey`` is the question's.
    ``negative_ttl`` is the one an NXDOMAIN or NODATA answer gets (RFC 2308 §5).

    Raises:
        TempError: for any rcode but NOERROR and NXDOMAIN, or a CNAME loop.
    """
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        text = dns.rcode.to_text(dns.rcode.Rcode.make(rcode))
        raise TempError(qtext, rdtype_text, f"server answered {text}")
    current, ttl = qkey, None
    chain: list[str] = []
    for _ in range(MAX_CNAME_CHAIN + 1):
        found = sets.get((current, rdtype))
        if found is not None:
            ttl = found[0] if ttl is None else min(ttl, found[0])
            return DnsAnswer(
                name=qtext,
                rdtype=rdtype_text,
                status=DnsStatus.OK,
                records=tuple(found[1]),
                ttl=ttl,
                cname_chain=tuple(chain),
            )
        cname = sets.get((current, dns.rdatatype.CNAME))
        if cname is None or rdtype == dns.rdatatype.CNAME:
            break
        target: dns.name.Name = cast(Any, next(iter(cname[1]))).target
        target_key = key_of(target)
        if _name_text(target) in chain or target_key == qkey:
            raise TempError(qtext, rdtype_text, "CNAME loop")
        chain.append(_name_text(target))
        ttl = cname[0] if ttl is None else min(ttl, cname[0])
        current = target_key
    else:
        raise TempError(qtext, rdtype_text, f"CNAME chain longer than {MAX_CNAME_CHAIN}")
    return DnsAnswer(
        name=qtext,
        rdtype=rdtype_text,
        status=DnsStatus.NXDOMAIN if rcode == dns.rcode.NXDOMAIN else DnsStatus.NODATA,
        ttl=negative_ttl if ttl is None else min(ttl, negative_ttl),
        cname_chain=tuple(chain),
    )


def _negative_ttl(authority: Sequence[dns.rrset.RRset]) -> int:
    for rrset in authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return int(min(rrset.ttl, rrset[0].minimum))
    return DEFAULT_NEGATIVE_TTL
