"""The SPF include/redirect tree of a domain, resolved concurrently, with its lookup counts.

Every term that would query DNS is counted as if it were evaluated (the figure
auditors report, RFC 7208 §4.6.4), naming the term, its record and whether it
was a void lookup. Includes, redirects and the targets of ``a``, ``mx`` and
``exists`` are resolved at once (asyncio.TaskGroup); the resolver coalesces
identical questions. Hostile trees are bounded: loops are cut, and past
:data:`MAX_RESOLVED_TERMS` terms are counted but no longer resolved.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import ipaddress
from collections.abc import Iterable

from mailcheck.errors import ParseError, TempError
from mailcheck.lookup.answer import DnsAnswer
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import ToDict
from mailcheck.spf.record import Mechanism, Modifier, SpfRecord, is_spf_record, parse_spf

# Far beyond the 10 lookups RFC 7208 §4.6.4 allows: enough to measure any real tree, small
# enough that a hostile record (10,000 includes) cannot make the audit ask thousands of names.
MAX_RESOLVED_TERMS = 100
# pyspf stops at 20 levels of recursion; no legitimate tree is deeper than a few.
MAX_DEPTH = 20


class SpfIncludeStatus(enum.StrEnum):
    """What reading one record of the tree found."""

    OK = "ok"
    MISSING = "missing"
    """No SPF record at the name."""
    MULTIPLE = "multiple"
    """Several SPF records: permerror."""
    SYNTAX_ERROR = "syntax-error"
    LOOP = "loop"
    """The name is already on the path from the root."""
    TEMPERROR = "temperror"
    """DNS could not answer: not checked."""
    MACRO = "macro"
    """The target holds macros: it depends on the message, not followed."""
    NOT_FOLLOWED = "not-followed"
    """Past the depth or term budget: counted, not resolved."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SpfTerm(ToDict):
    """One DNS-querying term of the tree (a lookup, RFC 7208 §4.6.4).

    Attributes:
        domain: the domain whose record holds the term.
        term: the term as written (``include:_spf.example.net``).
        mechanism: ``include``, ``a``, ``mx``, ``ptr``, ``exists`` or ``redirect``.
        target: the name the term queries, or ``None`` when it holds macros.
        void: the query found nothing (NXDOMAIN or no data): a void lookup.
        mx_hosts: for ``mx``, how many MX hosts the target has.
        resolved: whether the term's target was looked up (macros, ``ptr`` and terms past
            the audit's budget are counted only).
    """

    domain: str
    term: str
    mechanism: str
    target: str | None = None
    void: bool = False
    mx_hosts: int | None = None
    resolved: bool = True


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SpfInclude(ToDict):
    """A record of the tree: the domain's, or one reached by ``include`` or ``redirect``.

    Attributes:
        domain: the name whose TXT records were read.
        mechanism: ``top``, ``include`` or ``redirect``.
        status: ``ok``, ``missing`` (no SPF record), ``multiple``, ``syntax-error``, ``loop``,
            ``temperror``, ``macro`` (target holds macros) or ``not-followed`` (past the budget).
        record: the SPF record text, or ``None``.
        error: the parse error or DNS failure, or ``None``.
        lookups: DNS-querying terms in this record and below.
        void_lookups: void lookups in this record and below.
        includes: the records this one includes or redirects to.
    """

    domain: str
    mechanism: str
    status: SpfIncludeStatus
    record: str | None = None
    error: str | None = None
    lookups: int = 0
    void_lookups: int = 0
    includes: tuple[SpfInclude, ...] = ()
    _parsed: SpfRecord | None = None
    _answer: DnsAnswer | None = None
    _records: tuple[str, ...] = ()
    _terms: tuple[SpfTerm, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SpfTree(ToDict):
    """The whole tree and what was learnt walking it."""

    root: SpfInclude
    terms: tuple[SpfTerm, ...]
    networks: tuple[str, ...]
    temperrors: tuple[str, ...]

    def nodes(self) -> Iterable[SpfInclude]:
        """Every record of the tree, depth first."""
        return _depth_first(self.root)


@dataclasses.dataclass
class _Walk:
    resolver: Resolver
    budget: int = MAX_RESOLVED_TERMS
    networks: dict[str, None] = dataclasses.field(default_factory=dict)
    temperrors: list[str] = dataclasses.field(default_factory=list)

    def take(self) -> bool:
        self.budget -= 1
        return self.budget >= 0

    async def ask(self, name: str, rdtype: str) -> DnsAnswer | None:
        """The answer, or ``None`` after noting a DNS failure."""
        try:
            return await self.resolver.query(name, rdtype)
        except TempError as exc:
            self.temperrors.append(str(exc))
            return None


async def resolve_tree(domain: str, /, *, resolver: Resolver) -> SpfTree:
    """Walk the SPF tree of ``domain`` (already normalised)."""
    walk = _Walk(resolver)
    root = await _node(walk, domain, "top", ())
    terms = [term for node in _depth_first(root) for term in node._terms]
    return SpfTree(
        root=root,
        terms=tuple(terms),
        networks=tuple(sorted(walk.networks, key=_network_key)),
        temperrors=tuple(walk.temperrors),
    )


def _network_key(text: str) -> tuple[int, ipaddress.IPv4Network | ipaddress.IPv6Network]:
    network = ipaddress.ip_network(text)
    return network.version, network


def _depth_first(root: SpfInclude) -> Iterable[SpfInclude]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.includes))


async def _node(walk: _Walk, domain: str, mechanism: str, path: tuple[str, ...]) -> SpfInclude:
    answer = await walk.ask(domain, "TXT")
    if answer is None:
        return SpfInclude(domain=domain, mechanism=mechanism, status=SpfIncludeStatus.TEMPERROR)
    records = tuple(text for text in answer.texts() if is_spf_record(text))
    node = SpfInclude(
        domain=domain,
        mechanism=mechanism,
        status=SpfIncludeStatus.MISSING,
        _answer=answer,
        _records=records,
    )
    if not records:
        return node
    if len(records) > 1:
        return dataclasses.replace(node, status=SpfIncludeStatus.MULTIPLE)
    try:
        parsed = parse_spf(records[0])
    except ParseError as exc:
        return dataclasses.replace(
            node, status=SpfIncludeStatus.SYNTAX_ERROR, record=records[0], error=str(exc)
        )
    terms, children = await _terms(walk, domain, parsed, (*path, domain))
    return dataclasses.replace(
        node,
        status=SpfIncludeStatus.OK,
        record=records[0],
        lookups=len(terms) + sum(child.lookups for child in children),
        void_lookups=sum(t.void for t in terms) + sum(child.void_lookups for child in children),
        includes=children,
        _parsed=parsed,
        _terms=terms,
    )


async def _terms(
    walk: _Walk, domain: str, record: SpfRecord, path: tuple[str, ...]
) -> tuple[tuple[SpfTerm, ...], tuple[SpfInclude, ...]]:
    tasks: list[asyncio.Task[tuple[SpfTerm, SpfInclude | None]]] = []
    async with asyncio.TaskGroup() as group:
        for term in record.terms:
            if isinstance(term, Mechanism):
                if term.kind in ("ip4", "ip6"):
                    walk.networks[str(term.ip_network())] = None
                elif term.kind == "include":
                    tasks.append(group.create_task(_follow(walk, domain, term, path)))
                elif term.queries_dns:
                    tasks.append(group.create_task(_mechanism(walk, domain, term)))
            elif term.name == "redirect" and record.all is None:
                # RFC 7208 §6.1: redirect is ignored when the record has an "all" mechanism.
                tasks.append(group.create_task(_follow(walk, domain, term, path)))
    results = [task.result() for task in tasks]
    children = tuple(child for _, child in results if child is not None)
    return tuple(term for term, _ in results), children


async def _follow(
    walk: _Walk, domain: str, term: Mechanism | Modifier, path: tuple[str, ...]
) -> tuple[SpfTerm, SpfInclude | None]:
    kind = term.kind if isinstance(term, Mechanism) else "redirect"
    spec = term.domain if isinstance(term, Mechanism) else term.value
    assert spec is not None
    target = spec.rstrip(".").lower()
    found = SpfTerm(domain=domain, term=term.to_text(), mechanism=kind, target=target)
    status: SpfIncludeStatus | None = None
    if "%" in spec:
        status, target = SpfIncludeStatus.MACRO, spec
        found = dataclasses.replace(found, target=None, resolved=False)
    elif target in path:
        status = SpfIncludeStatus.LOOP
    elif len(path) >= MAX_DEPTH or not walk.take():
        status = SpfIncludeStatus.NOT_FOLLOWED
        found = dataclasses.replace(found, resolved=False)
    if status is not None:
        return found, SpfInclude(domain=target, mechanism=kind, status=status)
    child = await _node(walk, target, kind, path)
    void = (
        child.status is SpfIncludeStatus.MISSING
        and child._answer is not None
        and not child._answer.ok
    )
    return dataclasses.replace(found, void=void), child


async def _mechanism(walk: _Walk, domain: str, term: Mechanism) -> tuple[SpfTerm, None]:
    spec = term.domain or domain
    target = None if "%" in spec else spec.rstrip(".").lower()
    found = SpfTerm(domain=domain, term=term.to_text(), mechanism=term.kind, target=target)
    if target is None or term.kind == "ptr" or not walk.take():
        return dataclasses.replace(found, resolved=False), None
    if term.kind == "mx":
        answer = await walk.ask(target, "MX")
        hosts = [host for _, host in answer.mx_hosts() if host != "."] if answer else []
        async with asyncio.TaskGroup() as group:
            for host in hosts[: 2 * MAX_MX_ADDRESS_NAMES]:
                group.create_task(_addresses(walk, host, term))
        void = answer is not None and not answer.ok
        return dataclasses.replace(found, void=void, mx_hosts=len(hosts)), None
    kinds = ("A",) if term.kind == "exists" else ("A", "AAAA")
    addresses = await _addresses(walk, target, term, kinds=kinds)
    return dataclasses.replace(found, void=addresses == []), None


# RFC 7208 §4.6.4: "the evaluation of each "MX" record MUST NOT result in querying more than
# 10 address records".
MAX_MX_ADDRESS_NAMES = 10


async def _addresses(
    walk: _Walk, name: str, term: Mechanism, *, kinds: tuple[str, ...] = ("A", "AAAA")
) -> list[str] | None:
    """A/AAAA of ``name``; adds them as networks (with the term's CIDR) unless ``exists``."""
    tasks = [walk.ask(name, kind) for kind in kinds]
    answers = await asyncio.gather(*tasks)
    if any(answer is None for answer in answers):
        return None
    found = [address for answer in answers if answer is not None for address in answer.addresses()]
    if term.kind != "exists":
        for address in found:
            version = ipaddress.ip_address(address).version
            prefix = term.cidr4 if version == 4 else term.cidr6
            suffix = "" if prefix is None else f"/{prefix}"
            walk.networks[str(ipaddress.ip_network(f"{address}{suffix}", strict=False))] = None
    return found
