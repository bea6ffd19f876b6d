"""Pure blocklist logic: query names, answers decoded per zone, self-test verdicts.

Nothing here does I/O. A blocklist answer is one of three states: ``listed``
(a documented listing code), ``clean`` (no record) or ``unknown`` (a refusal
code, an answer outside 127.0.0.0/8, an undocumented code). An error code is
never read as a listing.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import ipaddress
from collections.abc import Mapping, Sequence

from mailcheck.errors import ParseError
from mailcheck.reputation.catalogue import (
    RFC5782_TEST_ENTRIES,
    QueryForm,
    Zone,
    ZoneKind,
    code_matches,
)

# RFC 5782 §2.1: "the DNSxL ... returns an A record ... by convention 127.0.0.2"; answers are
# in 127.0.0.0/8 so that they can never be mistaken for a real host. Anything else is a
# resolver rewriting NXDOMAIN, a parked zone or a DNS blocker.
LOOPBACK_NET = ipaddress.IPv4Network("127.0.0.0/8")
# RFC 1035 §2.3.4: names are at most 255 octets on the wire, 253 characters as text.
MAX_NAME_LENGTH = 253
MAX_TXT_LENGTH = 500


class ListingState(enum.StrEnum):
    """What one zone says about one subject."""

    LISTED = "listed"
    CLEAN = "clean"
    UNKNOWN = "unknown"


class Why(enum.StrEnum):
    """Why a lookup ended ``unknown``."""

    REFUSED = "refused"
    OUTSIDE_LOOPBACK = "answer-outside-127"
    UNDOCUMENTED = "undocumented-code"
    TIMEOUT = "timeout"
    DNS_ERROR = "dns-error"
    ZONE_BROKEN = "zone-broken"
    NOT_QUERYABLE = "not-queryable"
    NOT_ASKED = "not-asked"
    """The audit's query budget was spent before this question (one domain finding says so)."""


class ZoneHealth(enum.StrEnum):
    """The verdict of a zone's self-test with the RFC 5782 §5 test entries, for one resolver."""

    OK = "ok"
    UNTESTED = "untested"
    """The zone has no test entries: its answers are taken as they come."""
    LISTS_EVERYTHING = "lists-everything"
    LISTS_NOTHING = "lists-nothing"
    REFUSED = "refused"
    OUTSIDE_LOOPBACK = "answers-outside-127"
    UNREACHABLE = "unreachable"
    NOT_TESTED = "not-tested"
    """The audit's query budget was spent before the test entries could be asked."""

    @property
    def trusted(self) -> bool:
        """True when the zone's answers can be believed."""
        return self in (ZoneHealth.OK, ZoneHealth.UNTESTED)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Decoded:
    """A zone's A answer, read with its code table."""

    state: ListingState
    codes: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    why: Why | None = None


def reverse_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The labels a DNSxL is asked about, RFC 5782 §2.1 and §2.4.

    >>> reverse_ip(ipaddress.ip_address("192.0.2.99"))
    '99.2.0.192'
    """
    if ip.version == 4:
        return ".".join(reversed(str(ip).split(".")))
    # RFC 5782 §2.4: "the address is reversed nibble by nibble", 32 labels.
    return ".".join(reversed(ip.exploded.replace(":", "")))


def subject_labels(zone: Zone, kind: ZoneKind, subject: str) -> str:
    """The labels before the zone: a reversed address, or the (registrable) domain name.

    Raises:
        ParseError: the subject is not an address of ``kind``, or a domain
            with no registrable part when the zone asks for one.
    """
    if kind is ZoneKind.DOMAIN:
        name = subject.strip().lower().rstrip(".")
        if zone.query is QueryForm.REGISTERED_DOMAIN:
            registered = _registered_domain(name)
            if registered is None:
                raise ParseError(subject, 0, "no registrable domain in this name")
            name = registered
        return name
    try:
        ip = ipaddress.ip_address(subject)
    except ValueError:
        raise ParseError(subject, 0, "not an IP address") from None
    if (ip.version == 4) != (kind is ZoneKind.IPV4):
        raise ParseError(subject, 0, f"not an {kind.value} address")
    return reverse_ip(ip)


def query_name(zone: Zone, kind: ZoneKind, subject: str) -> str:
    """The full name to ask, under the zone's query zone (with the access key, if any).

    Raises:
        ParseError: see :func:`subject_labels`, or the name is too long for DNS.
    """
    name = f"{subject_labels(zone, kind, subject)}.{zone.query_zone}"
    if len(name) > MAX_NAME_LENGTH:
        raise ParseError(subject, 0, "the query name is longer than DNS allows")
    return name


@functools.cache
def _psl() -> object:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def _registered_domain(name: str) -> str | None:
    if name in ("test", "invalid"):
        return name  # RFC 5782 §5 test entries are asked as they are
    result = _psl().privatesuffix(name)  # type: ignore[attr-defined]
    return str(result) if result else None


def decode_answer(zone: Zone, addresses: Sequence[str]) -> Decoded:
    """Read the A records a zone answered for one subject.

    No record is ``clean``. Any answer outside 127.0.0.0/8 or any refusal code
    makes the whole answer ``unknown``; a documented listing code is ``listed``;
    only undocumented codes are ``unknown`` (never ``listed``).
    """
    if not addresses:
        return Decoded(state=ListingState.CLEAN)
    codes = tuple(sorted(set(addresses), key=_sort_key))
    for address in codes:
        try:
            parsed = ipaddress.IPv4Address(address)
        except ValueError:
            return Decoded(state=ListingState.UNKNOWN, codes=codes, why=Why.OUTSIDE_LOOPBACK)
        if parsed not in LOOPBACK_NET:
            return Decoded(state=ListingState.UNKNOWN, codes=codes, why=Why.OUTSIDE_LOOPBACK)
    decode = _decode_bits if zone.bitmask else _decode_code
    refusals = [m for c in codes for m in decode(zone.refusal, c)]
    if refusals:
        return Decoded(
            state=ListingState.UNKNOWN,
            codes=codes,
            meanings=tuple(dict.fromkeys(refusals)),
            why=Why.REFUSED,
        )
    meanings = [m for c in codes for m in decode(zone.codes, c)]
    if not meanings:
        return Decoded(state=ListingState.UNKNOWN, codes=codes, why=Why.UNDOCUMENTED)
    return Decoded(state=ListingState.LISTED, codes=codes, meanings=tuple(dict.fromkeys(meanings)))


def _sort_key(address: str) -> tuple[int, ...] | tuple[int, str]:
    try:
        return tuple(int(o) for o in address.split("."))
    except ValueError:
        return (1 << 30, address)


def _decode_code(table: Mapping[str, str], address: str) -> list[str]:
    if address in table:
        return [table[address]]
    # The most specific pattern wins: fewest wildcards.
    matches = [p for p in table if "*" in p and code_matches(p, address)]
    matches.sort(key=lambda p: p.count("*"))
    return [table[matches[0]]] if matches else []


def _decode_bits(table: Mapping[str, str], address: str) -> list[str]:
    last = int(address.rsplit(".", 1)[1])
    return [meaning for bit, meaning in table.items() if last & int(bit)]


def judge_self_test(positive: Decoded | None, negative: Decoded | None) -> ZoneHealth:
    """The health of a zone from its two test entries (``None``: DNS could not answer).

    RFC 5782 §5: the listed test entry must come back listed and the other must
    not; a zone failing either is broken for this resolver.
    """
    if positive is None or negative is None:
        return ZoneHealth.UNREACHABLE
    whys = {positive.why, negative.why}
    if Why.REFUSED in whys:
        return ZoneHealth.REFUSED
    if Why.OUTSIDE_LOOPBACK in whys:
        return ZoneHealth.OUTSIDE_LOOPBACK
    if negative.state is not ListingState.CLEAN:
        return ZoneHealth.LISTS_EVERYTHING
    if positive.state is ListingState.CLEAN:
        return ZoneHealth.LISTS_NOTHING
    return ZoneHealth.OK


def test_subjects(zone: Zone, kind: ZoneKind) -> tuple[str, str]:
    """The (must be listed, must not be listed) test subjects of ``zone`` for ``kind``."""
    listed, unlisted = RFC5782_TEST_ENTRIES[kind]
    if zone.test_listed is not None:
        is_v6 = ":" in zone.test_listed
        if kind is ZoneKind.DOMAIN or is_v6 == (kind is ZoneKind.IPV6):
            listed = zone.test_listed
    return listed, unlisted
