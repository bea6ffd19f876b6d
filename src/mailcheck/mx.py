"""MX: the hosts that receive a domain's mail (and its bounces), and what is wrong with them.

RFC 5321 §5.1: no MX but an address record means the domain itself receives
mail ("implicit MX"); RFC 7505: a single ``MX 0 .`` says the domain accepts no
mail at all; RFC 2181 §10.3: an MX target must not be an alias.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import ipaddress

from mailcheck import codes
from mailcheck.errors import TempError
from mailcheck.lookup.answer import DnsAnswer, DnsStatus
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import (
    CheckResult,
    CheckStatus,
    Finding,
    ToDict,
    error_of,
    sort_findings,
    status_of,
)

# MX hosts of one domain whose addresses are looked up (lowest preference first). RFC 7208
# §4.6.4 stops SPF's "mx" mechanism at 10 MX records for the same reason: a zone must not
# make a checker ask without end. Hosts past the cap get an ``mx.too-many-hosts`` finding.
MAX_MX_HOSTS = 10
# Addresses kept per MX host (and so checked for reputation). Senders try few of them:
# Postfix's smtp_mx_address_limit is 5 addresses per delivery. Addresses past the cap are
# counted, not kept, with an ``mx.too-many-addresses`` finding.
MAX_ADDRESSES_PER_HOST = 5


class MxHostStatus(enum.StrEnum):
    """What the lookup of one MX target found."""

    OK = "ok"
    NXDOMAIN = "nxdomain"
    """The name does not exist."""
    NO_ADDRESS = "no-address"
    """The name exists but has no A or AAAA record."""
    IP_LITERAL = "ip-literal"
    """The MX record names an address instead of a host."""
    UNKNOWN = "unknown"
    """DNS could not answer: not checked."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MxHost(ToDict):
    """One MX target and its addresses.

    Attributes:
        preference: lower is tried first.
        host: the target name (``"."`` for a null MX).
        addresses: its IPv4 and IPv6 addresses (at most ``max_addresses`` of them).
        address_count: how many addresses the host has (more than ``addresses`` holds
            when the cap cut them).
        cname_chain: aliases followed to reach the addresses (should be empty).
        status: ``ok``, ``nxdomain`` (the name does not exist), ``no-address``,
            ``ip-literal`` or ``unknown`` (DNS failed).
    """

    preference: int
    host: str
    addresses: tuple[str, ...] = ()
    address_count: int = 0
    cname_chain: tuple[str, ...] = ()
    status: MxHostStatus = MxHostStatus.OK


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MxResult(CheckResult):
    """The MX check of a domain.

    Attributes:
        hosts: MX targets by preference (for an implicit MX, the domain itself); at
            most ``max_hosts`` of them.
        host_count: how many MX records the domain publishes (more than ``hosts``
            holds when the cap cut them).
        null_mx: the domain publishes a null MX (RFC 7505): it accepts no mail.
        implicit: no MX record; the domain's own address receives mail (RFC 5321 §5.1).
    """

    hosts: tuple[MxHost, ...] = ()
    host_count: int = 0
    null_mx: bool = False
    implicit: bool = False


async def audit_mx(
    domain: str,
    /,
    *,
    resolver: Resolver,
    max_hosts: int = MAX_MX_HOSTS,
    max_addresses: int = MAX_ADDRESSES_PER_HOST,
) -> MxResult:
    """Fetch the MX records of ``domain`` and the addresses of every target, concurrently.

    Args:
        domain: the domain (A-labels).
        resolver: the DNS resolver.
        max_hosts: MX hosts looked up, lowest preference first (default
            :data:`MAX_MX_HOSTS`); the others are counted in ``host_count`` and
            reported by an ``mx.too-many-hosts`` finding.
        max_addresses: addresses kept per host (default :data:`MAX_ADDRESSES_PER_HOST`);
            the others are counted in ``address_count`` (``mx.too-many-addresses``).
    """
    try:
        answer = await resolver.query(domain, "MX")
    except TempError as exc:
        return _unknown(domain, exc)
    pairs = answer.mx_hosts()
    if any(host == "." for _, host in pairs):
        return _null_mx(domain, pairs)
    if not pairs:
        return await _implicit(domain, answer, resolver, max_addresses)
    # Lowest preference first (the order senders try), then by name for a stable report.
    ordered = sorted(pairs, key=lambda pair: (pair[0], pair[1]))
    kept = ordered[: max(max_hosts, 1)]
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(_target(pref, host, resolver, max_addresses)) for pref, host in kept
        ]
    hosts = tuple(task.result()[0] for task in tasks)
    findings = [f for task in tasks for f in task.result()[1]]
    if len(ordered) > len(kept):
        findings.append(_too_many_hosts(domain, ordered, len(kept)))
    if not any(h.addresses for h in hosts) and not any(
        h.status is MxHostStatus.UNKNOWN for h in hosts
    ):
        findings.append(
            codes.MX_NO_REACHABLE_HOST.finding(
                domain,
                "No MX host of the domain has an address: mail to it (bounces, replies, "
                "DMARC reports) cannot be delivered.",
                details={"hosts": [h.host for h in hosts]},
            )
        )
    return _result(domain, hosts, findings, host_count=len(ordered))


def _too_many_hosts(domain: str, ordered: list[tuple[int, str]], checked: int) -> Finding:
    skipped = ordered[checked:]
    return codes.MX_TOO_MANY_HOSTS.finding(
        domain,
        f"The domain publishes {len(ordered)} MX records; only the {checked} most preferred "
        f"were checked, the other {len(skipped)} were not looked up.",
        details={
            "hosts": len(ordered),
            "limit": checked,
            "skipped": [h for _, h in skipped[:20]],
        },
        fix="Publish the few MX hosts that really receive the domain's mail.",
    )


def _too_many_addresses(domain: str, cut: list[MxHost]) -> Finding:
    """One finding for every host whose addresses the cap cut (not one per host)."""
    limit = max(len(h.addresses) for h in cut)
    names = ", ".join(h.host for h in cut[:3]) + (" ..." if len(cut) > 3 else "")
    return codes.MX_TOO_MANY_ADDRESSES.finding(
        domain,
        f"{len(cut)} MX host(s) have more addresses than the {limit} kept and checked "
        f"per host ({names}).",
        details={"hosts": {h.host: h.address_count for h in cut}, "limit": limit},
        fix="Publish only the addresses that really receive mail.",
    )


async def _target(
    preference: int, host: str, resolver: Resolver, max_addresses: int
) -> tuple[MxHost, list[Finding]]:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        finding = codes.MX_IP_LITERAL.finding(
            host,
            f"The MX record names the address {host} instead of a host name; senders "
            "look it up as a name and find nothing.",
            details={"host": host},
            fix="Publish a host name with an A/AAAA record as the MX target.",
        )
        return MxHost(preference=preference, host=host, status=MxHostStatus.IP_LITERAL), [finding]
    v4, v6 = await asyncio.gather(
        resolver.query(host, "A"), resolver.query(host, "AAAA"), return_exceptions=True
    )
    for outcome in (v4, v6):
        if isinstance(outcome, TempError):
            finding = codes.MX_TEMPERROR.finding(
                host,
                f"The addresses of MX host {host} could not be looked up: {outcome}.",
                details={"host": host, "error": str(outcome)},
            )
            host_result = MxHost(preference=preference, host=host, status=MxHostStatus.UNKNOWN)
            return host_result, [finding]
        if isinstance(outcome, BaseException):
            raise outcome
    assert isinstance(v4, DnsAnswer)
    assert isinstance(v6, DnsAnswer)
    return _judge_target(preference, host, v4, v6, max_addresses)


def _judge_target(
    preference: int, host: str, v4: DnsAnswer, v6: DnsAnswer, max_addresses: int
) -> tuple[MxHost, list[Finding]]:
    found = v4.addresses() + v6.addresses()
    addresses = found[: max(max_addresses, 1)]
    chain = v4.cname_chain or v6.cname_chain
    findings: list[Finding] = []
    status = MxHostStatus.OK
    if v4.status is DnsStatus.NXDOMAIN:
        status = MxHostStatus.NXDOMAIN
        findings.append(
            codes.MX_TARGET_NXDOMAIN.finding(
                host,
                f"MX host {host} does not exist.",
                details={"host": host},
                fix=f"Correct the MX record, or publish an A/AAAA record for {host}.",
            )
        )
    elif not addresses:
        status = MxHostStatus.NO_ADDRESS
        findings.append(
            codes.MX_TARGET_NO_ADDRESS.finding(
                host,
                f"MX host {host} has no A or AAAA record.",
                details={"host": host},
                fix=f"Publish an A (and AAAA) record for {host}.",
            )
        )
    if chain:
        findings.append(
            codes.MX_CNAME.finding(
                host,
                f"MX host {host} is an alias (CNAME to {chain[-1]}); RFC 2181 §10.3 forbids it "
                "and some senders refuse it.",
                details={"host": host, "cname_chain": list(chain)},
                fix=f"Point the MX record at {chain[-1]} directly.",
            )
        )
    return (
        MxHost(
            preference=preference,
            host=host,
            addresses=addresses,
            address_count=len(found),
            cname_chain=chain,
            status=status,
        ),
        findings,
    )


def _null_mx(domain: str, pairs: tuple[tuple[int, str], ...]) -> MxResult:
    hosts = tuple(MxHost(preference=p, host=h) for p, h in pairs)
    if len(pairs) == 1:
        finding = codes.MX_NULL.finding(
            domain,
            "The domain publishes a null MX (RFC 7505): it accepts no mail.",
            details={"records": [f"{p} {h}" for p, h in pairs]},
        )
        return _result(domain, hosts, [finding], null_mx=True)
    finding = codes.MX_NULL_MIXED.finding(
        domain,
        "A null MX is published beside other MX records; RFC 7505 §3 says a null MX must be "
        "the only one, and senders may treat the domain as accepting no mail.",
        details={"records": [f"{p} {h}" for p, h in pairs]},
        fix="Remove the '0 .' MX record, or remove every other MX record.",
    )
    return _result(domain, hosts, [finding], null_mx=True)


async def _implicit(
    domain: str, answer: DnsAnswer, resolver: Resolver, max_addresses: int
) -> MxResult:
    host, findings = await _target(0, domain, resolver, max_addresses)
    if host.status is MxHostStatus.UNKNOWN:
        return _result(domain, (host,), findings, implicit=True)
    if not host.addresses:
        finding = codes.MX_NONE.finding(
            domain,
            "The domain has no MX and no address record: it cannot receive mail, so bounces, "
            "replies and reports to it are lost, and many receivers refuse mail from it.",
            details={"status": answer.status.value},
            fix=f"{domain}. 3600 IN MX 10 mail.{domain}.",
        )
        return _result(domain, (), [finding])
    finding = codes.MX_IMPLICIT.finding(
        domain,
        "The domain has no MX record; mail goes to its own address (implicit MX, "
        "RFC 5321 §5.1), which is rarely meant.",
        details={"addresses": list(host.addresses)},
        fix=f"{domain}. 3600 IN MX 10 mail.{domain}.   (or '0 .' if it receives no mail)",
    )
    return _result(domain, (host,), [finding], implicit=True)


def _unknown(domain: str, exc: TempError) -> MxResult:
    finding = codes.MX_TEMPERROR.finding(
        domain,
        f"The MX records could not be looked up: {exc}.",
        details={"error": str(exc)},
    )
    return MxResult(status=CheckStatus.UNKNOWN, findings=(finding,), error=exc.reason)


def _result(
    domain: str,
    hosts: tuple[MxHost, ...],
    findings: list[Finding],
    *,
    null_mx: bool = False,
    implicit: bool = False,
    host_count: int | None = None,
) -> MxResult:
    cut = [h for h in hosts if h.address_count > len(h.addresses)]
    if cut:
        findings = [*findings, _too_many_addresses(domain, cut)]
    return MxResult(
        status=status_of(findings),
        findings=sort_findings(findings),
        error=error_of(findings),
        hosts=hosts,
        host_count=len(hosts) if host_count is None else host_count,
        null_mx=null_mx,
        implicit=implicit,
    )
