"""Who may send for a domain: its SPF tree split by include, its MX hosts, and PTR names.

:func:`authorisations` resolves the domain's SPF tree once (:func:`mailcheck.spf.tree.
resolve_tree`), then each record of the tree on its own, so that a source IP can be traced
to the include the domain wrote (``include:spf.brevo.com``) and to the deepest record whose
``ip4``/``ip6``/``a``/``mx`` terms cover it. :func:`reverse_names` fetches PTR names
concurrently, bounded; a DNS failure gives "name unknown", never an error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from collections.abc import Iterable, Sequence

from mailcheck.errors import ParseError, TempError
from mailcheck.lookup.resolver import Resolver
from mailcheck.reports.services import Catalogue
from mailcheck.reputation.rdns import fetch_ptr_names
from mailcheck.spf.tree import SpfInclude, SpfIncludeStatus, SpfTree, resolve_tree

__all__ = ["MAX_PTR_IN_FLIGHT", "Authorisations", "Grant", "authorisations", "reverse_names"]

#: PTR questions in flight at once: a year of reports holds thousands of sources, and a
#: recursive resolver (or a reverse zone's servers) should not see them all at once.
MAX_PTR_IN_FLIGHT = 16
#: MX hosts whose addresses are looked up (RFC 7208 §4.6.4 caps an SPF ``mx`` at 10 too).
MAX_MX_HOSTS = 10

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """Why an IP may send for the domain.

    Attributes:
        via: the term that authorises it as the domain wrote it (``include:spf.brevo.com``,
            ``redirect=_spf.hoster.example``, ``mx``, ``egress``, ``spf``).
        infrastructure: the domain's own servers (MX, egress, its own SPF terms, a
            redirect) rather than a service it includes.
        service: the service's display name when the catalogue knows the include.
        record: the deepest record of the tree whose terms cover the IP.
    """

    via: str
    infrastructure: bool
    service: str | None = None
    record: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Branch:
    via: str
    infrastructure: bool
    networks: tuple[Network, ...]
    records: tuple[tuple[str, tuple[Network, ...]], ...]  # every record below, deepest last


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Authorisations:
    """The networks allowed to send for a domain, each with its :class:`Grant`.

    ``complete`` is False when DNS could not answer for part of the SPF tree or the MX
    hosts: an IP then not found may still be authorised (``errors`` says what failed).
    """

    domain: str
    branches: tuple[_Branch, ...]
    own: tuple[Network, ...]
    complete: bool
    errors: tuple[str, ...] = ()
    catalogue: Catalogue = dataclasses.field(default_factory=Catalogue)

    def grant(self, ip: str, /) -> Grant | None:
        """Why ``ip`` may send for the domain, or ``None`` (or a malformed IP)."""
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        for branch in self.branches:
            if _covers(branch.networks, address):
                covering = [name for name, nets in branch.records if _covers(nets, address)]
                service = next(
                    (s.name for n in covering if (s := self.catalogue.by_include(n))), None
                )
                record = covering[-1] if covering else None
                return Grant(
                    via=branch.via,
                    infrastructure=branch.infrastructure,
                    service=service,
                    record=record,
                )
        if _covers(self.own, address):
            return Grant(via="spf", infrastructure=True, record=self.domain)
        return None


def _covers(
    networks: Iterable[Network], address: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def _networks(texts: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in texts)


def _subtree(node: SpfInclude) -> list[SpfInclude]:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if current.status is SpfIncludeStatus.OK:
            found.append(current)
        stack.extend(current.includes)
    return found


async def _branch(child: SpfInclude, resolver: Resolver) -> tuple[_Branch, list[str]]:
    nodes = _subtree(child)
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(resolve_tree(n.domain, resolver=resolver)) for n in nodes]
    trees: list[SpfTree] = [t.result() for t in tasks]
    records = tuple((n.domain, _networks(t.networks)) for n, t in zip(nodes, trees, strict=True))
    # The child's own tree covers the whole branch; deeper records come after it.
    networks = records[0][1] if records else ()
    redirect = child.mechanism == "redirect"
    via = f"redirect={child.domain}" if redirect else f"include:{child.domain}"
    errors = [e for t in trees for e in t.temperrors]
    return _Branch(via, redirect, networks, records), errors


async def _mx_networks(domain: str, resolver: Resolver) -> tuple[tuple[Network, ...], list[str]]:
    try:
        answer = await resolver.query(domain, "MX")
    except TempError as exc:
        return (), [str(exc)]
    hosts = [h for _, h in answer.mx_hosts() if h != "."][:MAX_MX_HOSTS] if answer.ok else []

    async def addresses(host: str, rdtype: str) -> tuple[list[str], str | None]:
        try:
            found = await resolver.query(host, rdtype)
        except (TempError, ParseError) as exc:
            return [], str(exc)
        return list(found.addresses()), None

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(addresses(h, t)) for h in hosts for t in ("A", "AAAA")]
    results = [t.result() for t in tasks]
    found = [a for addrs, _ in results for a in addrs]
    return _networks(found), [e for _, e in results if e]


async def authorisations(
    domain: str,
    /,
    *,
    resolver: Resolver,
    egress: Sequence[str] = (),
    catalogue: Catalogue | None = None,
) -> Authorisations:
    """Resolve who may send for ``domain``: its MX hosts, ``egress`` networks, its SPF tree.

    Raises:
        ValueError: an ``egress`` entry is not an IP address or network.
    """
    given = _networks(egress)
    tree = await resolve_tree(domain, resolver=resolver)
    children = [c for c in tree.root.includes if c.status is SpfIncludeStatus.OK]
    async with asyncio.TaskGroup() as group:
        mx_task = group.create_task(_mx_networks(domain, resolver))
        branch_tasks = [group.create_task(_branch(c, resolver)) for c in children]
    mx, errors = mx_task.result()
    errors = [*tree.temperrors, *errors]
    branches = [_Branch("egress", True, given, ()), _Branch("mx", True, mx, ())]
    for task in branch_tasks:
        branch, branch_errors = task.result()
        branches.append(branch)
        errors.extend(branch_errors)
    complete = not errors and tree.root.status is not SpfIncludeStatus.TEMPERROR
    return Authorisations(
        domain=domain,
        branches=tuple(branches),
        own=_networks(tree.networks),
        complete=complete,
        errors=tuple(dict.fromkeys(errors)),
        catalogue=catalogue or Catalogue(),
    )


async def reverse_names(
    ips: Iterable[str], /, *, resolver: Resolver, in_flight: int = MAX_PTR_IN_FLIGHT
) -> dict[str, tuple[str | None, bool]]:
    """``{ip: (first PTR name or None, known)}``; ``known`` is False when DNS failed."""
    semaphore = asyncio.Semaphore(in_flight)

    async def one(ip: str) -> tuple[str | None, bool]:
        async with semaphore:
            try:
                names = await fetch_ptr_names(ip, resolver=resolver)
            except TempError:
                return None, False
            except ParseError:  # not an IP: the report said so, nothing to ask
                return None, True
        return (names[0] if names else None), True

    async with asyncio.TaskGroup() as group:
        tasks = {ip: group.create_task(one(ip)) for ip in dict.fromkeys(ips)}
    return {ip: task.result() for ip, task in tasks.items()}
