"""The SPF audit of a domain: the tree's facts, a pure judge, and ``audit_spf``.

``audit_spf`` resolves the include/redirect tree concurrently (see
:mod:`mailcheck.spf.tree`), evaluates each declared sending IP with
:func:`~mailcheck.spf.evaluate.check_host` at the same time, and hands the facts
to :func:`judge_spf`, which turns them into findings without any I/O.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping, Sequence

from mailcheck import codes
from mailcheck.errors import TempError
from mailcheck.lookup.domains import normalize_domain
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import (
    CheckResult,
    Finding,
    Severity,
    ToDict,
    error_of,
    sort_findings,
    status_of,
)
from mailcheck.spf.evaluate import SpfVerdict, check_host
from mailcheck.spf.lint import record_findings, tree_findings
from mailcheck.spf.tree import SpfInclude, SpfTerm, SpfTree, resolve_tree

IpInput = str | ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SpfIpResult(ToDict):
    """check_host() for one declared sending IP.

    Attributes:
        ip: the address.
        result: ``pass``, ``fail``, ``softfail``, ``neutral``, ``none``, ``temperror`` or
            ``permerror``.
        explanation: pyspf's explanation of the result.
    """

    ip: str
    result: SpfVerdict
    explanation: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SpfResult(CheckResult):
    """The SPF audit of one domain.

    Attributes:
        domain: the domain audited.
        record: the domain's SPF record, or ``None`` (none, several, or DNS failed).
        records: every ``v=spf1`` TXT record found at the domain.
        type99: whether an obsolete SPF (type 99) record is published.
        lookups: DNS-querying terms over the whole include/redirect tree, counted as if every
            term were evaluated (limit 10, RFC 7208 §4.6.4).
        void_lookups: terms whose query found nothing (limit 2).
        lookups_by_mechanism: ``lookups`` split by mechanism (``include``, ``a``, ...).
        terms: each DNS-querying term: the record holding it, its text, target, and whether
            it was a void lookup.
        includes: the tree: the records reached by include and redirect, nested.
        networks: the authorised networks, flattened (``ip4``/``ip6`` terms and the
            addresses of ``a`` and ``mx`` terms with their CIDR lengths).
        ip_results: check_host() for each declared IP.
    """

    domain: str
    record: str | None = None
    records: tuple[str, ...] = ()
    type99: bool = False
    lookups: int = 0
    void_lookups: int = 0
    lookups_by_mechanism: Mapping[str, int] = dataclasses.field(default_factory=dict)
    terms: tuple[SpfTerm, ...] = ()
    includes: tuple[SpfInclude, ...] = ()
    networks: tuple[str, ...] = ()
    ip_results: tuple[SpfIpResult, ...] = ()


async def audit_spf(
    domain: str, /, *, resolver: Resolver, ips: Sequence[IpInput] = ()
) -> SpfResult:
    """Audit the SPF record of ``domain``: the tree, its limits, lint, and the declared IPs.

    Args:
        domain: the domain (normalised: A-labels, lower case).
        resolver: every DNS question goes through it.
        ips: the domain's real sending IPs; each is evaluated with check_host().

    Returns:
        The facts and the findings; ``unknown`` with ``spf.temperror`` when DNS failed,
        keeping the record and the partial counts.

    Raises:
        ParseError: ``domain`` is not a domain name, or an IP of ``ips`` is not an address.

    Example:
        >>> result = await audit_spf("example.org", resolver=resolver)  # doctest: +SKIP
        >>> result.lookups, [f.code for f in result.findings]          # doctest: +SKIP
        (3, ['spf.neutral-all'])
    """
    domain = normalize_domain(domain)
    async with asyncio.TaskGroup() as group:
        tree_task = group.create_task(resolve_tree(domain, resolver=resolver))
        type99_task = group.create_task(_type99(domain, resolver))
        ip_tasks = [group.create_task(_evaluate(ip, domain, resolver)) for ip in ips]
    tree = tree_task.result()
    type99 = type99_task.result()
    ip_results = tuple(task.result() for task in ip_tasks)
    findings = judge_spf(domain, tree, type99=type99, ip_results=ip_results)
    root = tree.root
    by_mechanism: dict[str, int] = {}
    for term in tree.terms:
        by_mechanism[term.mechanism] = by_mechanism.get(term.mechanism, 0) + 1
    return SpfResult(
        status=status_of(findings),
        findings=findings,
        error=error_of(findings),
        domain=domain,
        record=root.record if len(root._records) == 1 else None,
        records=root._records,
        type99=type99,
        lookups=len(tree.terms),
        void_lookups=sum(term.void for term in tree.terms),
        lookups_by_mechanism=by_mechanism,
        terms=tree.terms,
        includes=root.includes,
        networks=tree.networks,
        ip_results=ip_results,
    )


async def _type99(domain: str, resolver: Resolver) -> bool:
    # Receivers read only TXT (RFC 7208 §3.1): a failure here does not make SPF unknown.
    try:
        answer = await resolver.query(domain, "SPF")
    except TempError:
        return False
    return answer.ok


async def _evaluate(ip: IpInput, domain: str, resolver: Resolver) -> SpfIpResult:
    evaluation = await check_host(ip, f"postmaster@{domain}", helo=domain, resolver=resolver)
    return SpfIpResult(
        ip=evaluation.ip, result=evaluation.result, explanation=evaluation.explanation
    )


def judge_spf(
    domain: str,
    tree: SpfTree,
    /,
    *,
    type99: bool = False,
    ip_results: Iterable[SpfIpResult] = (),
) -> tuple[Finding, ...]:
    """The findings the facts of an SPF tree imply (pure: no I/O).

    Args:
        domain: the domain audited.
        tree: the resolved tree.
        type99: an SPF (type 99) record is published.
        ip_results: check_host() for the declared sending IPs.

    Returns:
        The findings, worst first.
    """
    findings: list[Finding] = []
    if tree.temperrors:
        findings.append(
            codes.SPF_TEMPERROR.finding(
                domain,
                "Part of the SPF tree could not be looked up; the counts are partial.",
                details={"errors": list(tree.temperrors)},
            )
        )
    if type99:
        findings.append(
            codes.SPF_TYPE99.finding(
                domain,
                "An obsolete SPF (type 99) record is published; receivers read only TXT.",
                fix="Delete the SPF (type 99) record and keep the TXT record.",
            )
        )
    findings += record_findings(domain, tree.root)
    findings += tree_findings(domain, tree)
    findings += _ip_findings(domain, tree, ip_results)
    return sort_findings(findings)


def _ip_findings(domain: str, tree: SpfTree, ip_results: Iterable[SpfIpResult]) -> list[Finding]:
    findings: list[Finding] = []
    record = tree.root.record
    for item in ip_results:
        if item.result is SpfVerdict.PASS:
            continue
        if item.result is SpfVerdict.TEMPERROR:
            findings.append(
                codes.SPF_TEMPERROR.finding(
                    item.ip,
                    f"SPF for {item.ip} could not be evaluated (DNS failure).",
                    details={"ip": item.ip, "result": str(item.result)},
                )
            )
            continue
        fix = _with_ip(record, item.ip) if record and tree.root._parsed else None
        findings.append(
            codes.SPF_IP_NOT_AUTHORIZED.finding(
                item.ip,
                f"{item.ip} gets '{item.result}' from the SPF record of {domain}, not 'pass'.",
                details={"ip": item.ip, "result": str(item.result), "domain": domain},
                fix=fix,
                severity=Severity.ERROR,
            )
        )
    return findings


def _with_ip(record: str, ip: str) -> str:
    version = ipaddress.ip_address(ip).version
    term = f"ip{version}:{ip}"
    words = record.split()
    for index, word in enumerate(words):
        if word.lower().lstrip("+-~?") == "all" or word.lower().startswith("redirect="):
            return " ".join([*words[:index], term, *words[index:]])
    return " ".join([*words, term])
