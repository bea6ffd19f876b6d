"""Reverse DNS of a sending IP (forward-confirmed) and its HELO name.

Receivers judge a sending IP first by its PTR: it must exist, one of its names
must resolve back to the same address (forward-confirmed reverse DNS,
"FCrDNS"), and it should not look like an end-user line. The HELO name must be
a fully qualified name that resolves, ideally the PTR name itself.

The generic-name heuristic (:func:`generic_reasons`) flags a name that contains
the address's own digits (``192-0-2-10.pool.example.net``, ``c0000214...``) or a
label token ISPs use for end-user lines (``dynamic``, ``dsl``, ``pool``,
``dhcp``, ``cust``, ``client``, ``ppp``, ``cable``, ``broadband``...). It is a
heuristic: it says what receivers' own heuristics (and the lists of
"generic rDNS" that Spamhaus PBL or SpamRATS publish) are likely to conclude.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import re

import dns.reversename

from mailcheck import codes
from mailcheck.errors import ParseError, TempError
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import CheckResult, Finding, error_of, sort_findings, status_of

# RFC 7208 §4.6.4 caps the PTR names an SPF "ptr" check looks at to 10; the same bound
# keeps a hostile PTR set from fanning out.
MAX_PTR_NAMES = 10
_GENERIC_WORDS = """dynamic dyn dynip dsl adsl vdsl xdsl sdsl pool dhcp cust customer customers
    client clients dial dialup dialin ppp pppoe cable broadband cpe residential unassigned
    ftth fttx fttc wireless mobile"""
GENERIC_TOKENS = frozenset(_GENERIC_WORDS.split())
_LDH_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RdnsResult(CheckResult):
    """Reverse DNS of one address.

    Attributes:
        ip: the address.
        ptr_names: the PTR names (lower case, no trailing dot).
        confirmed_names: the PTR names that resolve back to ``ip``.
        forward_confirmed: a PTR name resolves back (``None``: could not tell).
        generic_names: PTR names that look generic or dynamic.
    """

    ip: str
    ptr_names: tuple[str, ...] = ()
    confirmed_names: tuple[str, ...] = ()
    forward_confirmed: bool | None = None
    generic_names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HeloResult(CheckResult):
    """The HELO/EHLO name a host announces, judged against its IP and PTR.

    Attributes:
        name: the HELO name as given.
        addresses: what the name resolves to (A or AAAA, by the IP's family).
        resolves_to_ip: the name resolves to the IP (``None``: could not tell).
        matches_ptr: the name is one of the IP's PTR names.
    """

    name: str
    addresses: tuple[str, ...] = ()
    resolves_to_ip: bool | None = None
    matches_ptr: bool = False


def generic_reasons(
    name: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> tuple[str, ...]:
    """Why ``name`` looks like a generic (end-user or unnamed) PTR name for ``ip``.

    >>> generic_reasons("192-0-2-10.dsl.example.net", ipaddress.ip_address("192.0.2.10"))
    ('ip-digits', 'token:dsl')
    >>> generic_reasons("mail.example.org", ipaddress.ip_address("192.0.2.10"))
    ()
    """
    lowered = name.lower()
    reasons = []
    if _has_ip_digits(lowered, ip):
        reasons.append("ip-digits")
    tokens = [t for t in re.split(r"[^a-z]+", lowered) if t]
    reasons.extend(f"token:{t}" for t in dict.fromkeys(tokens) if t in GENERIC_TOKENS)
    return tuple(reasons)


def _has_ip_digits(name: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if ip.version == 4:
        octets = [int(o) for o in str(ip).split(".")]
        numbers = [int(t) for t in re.findall(r"\d+", name) if len(t) <= 3]
        # Three octets in a row, in either order, are the address spelt out.
        for run in (octets[:3], octets[1:], octets[::-1][:3], octets[::-1][1:]):
            if _contains_run(numbers, run):
                return True
        return f"{int(ip):08x}" in name.replace("-", "").replace(".", "")
    compact = re.sub(r"[^0-9a-f]", "", name)
    return ip.exploded.replace(":", "")[16:] in compact or str(ip).replace(":", "-") in name


def _contains_run(numbers: list[int], run: list[int]) -> bool:
    size = len(run)
    return any(numbers[i : i + size] == run for i in range(len(numbers) - size + 1))


def _is_fqdn(name: str) -> bool:
    labels = name.lower().rstrip(".").split(".")
    if len(labels) < 2 or len(name) > 253 or labels[-1].isdigit():
        return False
    return all(_LDH_LABEL.match(label) for label in labels)


def _forward_type(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return "A" if ip.version == 4 else "AAAA"


async def check_rdns(ip: str, /, *, resolver: Resolver) -> RdnsResult:
    """PTR records of ``ip``, whether one resolves back to it, whether they look generic.

    Raises:
        ParseError: ``ip`` is not an IP address.
    """
    address = parse_ip(ip)
    subject = str(address)
    try:
        names = await fetch_ptr_names(subject, resolver=resolver)
    except TempError as exc:
        finding = codes.RDNS_TEMPERROR.finding(
            subject, "The PTR record could not be fetched.", details={"error": exc.reason}
        )
        return RdnsResult(
            status=status_of([finding]), findings=(finding,), error=exc.reason, ip=subject
        )
    if not names:
        finding = codes.RDNS_MISSING.finding(
            subject,
            "The address has no PTR record: many receivers refuse mail from it.",
            fix=f"Ask the owner of {subject} (your hosting provider) to set a PTR record "
            "to your mail host's name, e.g. mail.example.org, which resolves back to it.",
        )
        return RdnsResult(status=status_of([finding]), findings=(finding,), ip=subject)
    confirmed, failed = await _forward_confirm(names, address, resolver)
    generic = tuple(n for n in names if generic_reasons(n, address))
    findings = _judge_rdns(subject, address, names, confirmed, failed, generic)
    forward: bool | None = bool(confirmed) or (None if failed else False)
    return RdnsResult(
        status=status_of(findings),
        findings=sort_findings(findings),
        error=error_of(findings),
        ip=subject,
        ptr_names=names,
        confirmed_names=confirmed,
        forward_confirmed=forward,
        generic_names=generic,
    )


async def fetch_ptr_names(ip: str, /, *, resolver: Resolver) -> tuple[str, ...]:
    """The PTR names of ``ip`` (at most :data:`MAX_PTR_NAMES`, duplicates dropped).

    Raises:
        TempError: DNS could not answer.
        ParseError: ``ip`` is not an IP address.
    """
    subject = str(parse_ip(ip))
    answer = await resolver.query(dns.reversename.from_address(subject).to_text(), "PTR")
    return tuple(dict.fromkeys(answer.targets()))[:MAX_PTR_NAMES] if answer.ok else ()


async def _forward_confirm(
    names: tuple[str, ...], address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    resolver: Resolver,
) -> tuple[tuple[str, ...], tuple[str, ...]]:  # fmt: skip
    """(names resolving back to the address, names whose lookup failed)."""

    async def resolves_back(name: str) -> bool | None:
        try:
            answer = await resolver.query(name, _forward_type(address))
        except (TempError, ParseError):
            return None
        return any(ipaddress.ip_address(a) == address for a in answer.addresses())

    async with asyncio.TaskGroup() as group:
        tasks = {name: group.create_task(resolves_back(name)) for name in names}
    confirmed = tuple(n for n, t in tasks.items() if t.result())
    failed = tuple(n for n, t in tasks.items() if t.result() is None)
    return confirmed, failed


def _judge_rdns(
    subject: str,
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    names: tuple[str, ...],
    confirmed: tuple[str, ...],
    failed: tuple[str, ...],
    generic: tuple[str, ...],
) -> list[Finding]:
    findings: list[Finding] = []
    if not confirmed and failed:
        findings.append(
            codes.RDNS_TEMPERROR.finding(
                subject,
                "The PTR names could not all be resolved: forward confirmation is unknown.",
                details={"names": list(failed)},
            )
        )
    elif not confirmed:
        kind = _forward_type(address)
        findings.append(
            codes.RDNS_NOT_CONFIRMED.finding(
                subject,
                "No PTR name resolves back to the address (no forward-confirmed reverse DNS).",
                details={"ptr_names": list(names)},
                fix=f"{names[0]}. IN {kind} {subject}",
            )
        )
    for name in generic:
        findings.append(
            codes.RDNS_GENERIC.finding(
                subject,
                "The PTR name looks generic or dynamic, like an end-user line.",
                details={"name": name, "reasons": list(generic_reasons(name, address))},
                fix=f"Ask your provider for a PTR naming your mail host (mail.example.org) "
                f"instead of {name}.",
            )
        )
    if len(names) > 1:
        findings.append(
            codes.RDNS_MULTIPLE.finding(
                subject,
                "The address has several PTR records; receivers may pick any one of them.",
                details={"ptr_names": list(names)},
            )
        )
    return findings


async def check_helo(
    name: str, /, *, ip: str, ptr_names: tuple[str, ...] = (), resolver: Resolver
) -> HeloResult:
    """Judge a HELO/EHLO name: an FQDN (RFC 5321 §4.1.1.1) resolving to ``ip``, = the PTR name.

    Raises:
        ParseError: ``ip`` is not an IP address.
    """
    address = parse_ip(ip)
    given = name.strip()
    helo = given.lower().rstrip(".")
    if helo.startswith("[") and helo.endswith("]"):
        finding = codes.HELO_ADDRESS_LITERAL.finding(
            given,
            "The HELO is an address literal, not a name; many receivers score it as spam.",
            fix=_helo_fix(ptr_names),
        )
        return HeloResult(status=status_of([finding]), findings=(finding,), name=given)
    if not _is_fqdn(helo):
        finding = codes.HELO_NOT_FQDN.finding(
            given, "The HELO name is not a fully qualified domain name.", fix=_helo_fix(ptr_names)
        )
        return HeloResult(status=status_of([finding]), findings=(finding,), name=given)
    try:
        answer = await resolver.query(helo, _forward_type(address))
    except TempError as exc:
        finding = codes.HELO_TEMPERROR.finding(
            given, "The HELO name could not be resolved.", details={"error": exc.reason}
        )
        return HeloResult(
            status=status_of([finding]), findings=(finding,), error=exc.reason, name=given
        )
    addresses = answer.addresses()
    resolves = any(ipaddress.ip_address(a) == address for a in addresses)
    findings = _judge_helo(given, helo, str(address), addresses, resolves)
    result = HeloResult(
        status=status_of(findings),
        findings=sort_findings(findings),
        name=given,
        addresses=addresses,
        resolves_to_ip=resolves,
    )
    return with_ptr(result, ptr_names) if ptr_names else result


def with_ptr(helo: HeloResult, ptr_names: tuple[str, ...]) -> HeloResult:
    """``helo`` judged against the IP's PTR names too (RFC 5321 §4.1.4: "SHOULD" match).

    A HELO name that is not a name at all was already judged; no PTR, nothing to compare.
    """
    name = helo.name.strip().lower().rstrip(".")
    if not ptr_names or not _is_fqdn(name):
        return helo
    if name in ptr_names:
        return dataclasses.replace(helo, matches_ptr=True)
    finding = codes.HELO_PTR_MISMATCH.finding(
        helo.name,
        "The HELO name is not the PTR name of the sending address.",
        details={"ptr_names": list(ptr_names)},
        fix=_helo_fix(ptr_names),
    )
    findings = sort_findings((*helo.findings, finding))
    return dataclasses.replace(helo, findings=findings, status=status_of(findings))


def _judge_helo(
    given: str, helo: str, ip: str, addresses: tuple[str, ...], resolves: bool
) -> list[Finding]:
    kind = "A" if ":" not in ip else "AAAA"
    if not addresses:
        return [
            codes.HELO_NO_ADDRESS.finding(
                given,
                "The HELO name does not resolve to any address.",
                details={"ip": ip},
                fix=f"{helo}. IN {kind} {ip}",
            )
        ]
    if not resolves:
        return [
            codes.HELO_IP_MISMATCH.finding(
                given,
                "The HELO name resolves, but not to the sending address.",
                details={"ip": ip, "addresses": list(addresses)},
                fix=f"{helo}. IN {kind} {ip}",
            )
        ]
    return []


def _helo_fix(ptr_names: tuple[str, ...]) -> str:
    target = ptr_names[0] if ptr_names else "the mail host's name (mail.example.org)"
    return f"Announce {target} in HELO/EHLO (Postfix: smtp_helo_name = {target})."


def parse_ip(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IP address; an IPv4-mapped IPv6 address becomes the IPv4 address.

    Raises:
        ParseError: not an IP address, or a scoped IPv6 address (``fe80::1%eth0``);
            the message names the value.
    """
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        raise ParseError(ip, 0, f"{ip!r} is not an IP address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        # RFC 4007 §11: a zone index (%eth0) names an interface of this host; a sending
        # IP seen by the world has none, and no reverse or blocklist name can carry it.
        raise ParseError(ip, max(ip.find("%"), 0), f"{ip!r} is a scoped address (zone index)")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
