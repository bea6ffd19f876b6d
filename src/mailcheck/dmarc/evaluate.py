"""DMARC for one received message: alignment and disposition (RFC 9989 §4.4, §5)."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from collections.abc import Sequence
from typing import Any

from mailcheck.dmarc.discover import discover_policy
from mailcheck.dmarc.record import DmarcMode, DmarcPolicy
from mailcheck.errors import TempError
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import to_dict

# RFC 9989 §4.7: with t=y a policy is applied one step lighter.
_LIGHTER = {"reject": "quarantine", "quarantine": "none", "none": "none"}


class DmarcVerdict(enum.StrEnum):
    """The DMARC result of one message (RFC 8601 §2.7.1), named like ``SpfVerdict``."""

    PASS = "pass"
    FAIL = "fail"
    NONE = "none"
    """No policy applies (no record, or several)."""
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DmarcEvaluation:
    """The DMARC verdict on one message.

    Attributes:
        result: ``pass``, ``fail``, ``none`` (no policy), ``temperror`` or ``permerror``.
        policy: the policy that applies to the From domain (``p`` or ``sp``).
        disposition: what the receiver should do: ``none``, ``quarantine``, ``reject``.
        aligned_spf, aligned_dkim: which mechanism passed *and* aligned.
        record, location: the record used and where it was found.
        organizational_domain: of the From domain.
    """

    result: DmarcVerdict
    policy: DmarcPolicy | None = None
    disposition: DmarcPolicy = DmarcPolicy.NONE
    aligned_spf: bool = False
    aligned_dkim: bool = False
    record: str | None = None
    location: str | None = None
    organizational_domain: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The evaluation as plain JSON data."""
        data: dict[str, Any] = to_dict(self)
        return data


def aligned(domain: str | None, from_domain: str, mode: str, org: str, other_org: str) -> bool:
    """Strict: the same name; relaxed: the same organisational domain (pure)."""
    if not domain:
        return False
    if mode == "s":
        return domain.lower() == from_domain.lower()
    return org == other_org


async def evaluate_dmarc(
    from_domain: str,
    /,
    *,
    spf_result: str,
    spf_domain: str | None,
    dkim_results: Sequence[tuple[str, str]],
    resolver: Resolver,
    mode: str = "tree",
) -> DmarcEvaluation:
    """Evaluate DMARC for a message whose From domain is ``from_domain``.

    Args:
        spf_result: the SPF result for the envelope sender (``pass``, ``fail``...).
        spf_domain: the domain SPF was checked for (MAIL FROM, or HELO when empty).
        dkim_results: (``d=`` domain, result) of every DKIM signature.
    """
    from_domain = from_domain.lower().rstrip(".")
    discovery = await discover_policy(from_domain, resolver=resolver, mode=mode)
    if discovery.uncertain:
        return DmarcEvaluation(result=DmarcVerdict.TEMPERROR)
    if discovery.location is None or len(discovery.texts) > 1:
        return DmarcEvaluation(
            result=DmarcVerdict.NONE, organizational_domain=discovery.organizational_domain
        )
    if discovery.record is None:
        return DmarcEvaluation(result=DmarcVerdict.PERMERROR, location=discovery.location)
    record = discovery.record
    org = discovery.organizational_domain
    candidates = {d.lower() for d, r in dkim_results if r == "pass"}
    if spf_result == "pass" and spf_domain:
        candidates.add(spf_domain.lower())
    try:
        orgs = await _orgs(candidates - {from_domain}, resolver, mode)
    except TempError:
        return DmarcEvaluation(result=DmarcVerdict.TEMPERROR, location=discovery.location)
    orgs[from_domain] = org
    spf_ok = spf_result == "pass" and aligned(
        spf_domain, from_domain, record.aspf or "r", org, orgs.get((spf_domain or "").lower(), "")
    )
    dkim_ok = any(
        result == "pass"
        and aligned(d, from_domain, record.adkim or "r", org, orgs.get(d.lower(), ""))
        for d, result in dkim_results
    )
    policy = DmarcPolicy(record.subdomain_policy if discovery.inherited else record.policy)
    passed = spf_ok or dkim_ok
    disposition = "none" if passed else (_LIGHTER[policy] if record.testing else policy)
    return DmarcEvaluation(
        result=DmarcVerdict.PASS if passed else DmarcVerdict.FAIL,
        policy=policy,
        disposition=DmarcPolicy(disposition),
        aligned_spf=spf_ok,
        aligned_dkim=dkim_ok,
        record=discovery.texts[0],
        location=discovery.location,
        organizational_domain=org,
    )


async def _orgs(domains: set[str], resolver: Resolver, mode: DmarcMode | str) -> dict[str, str]:
    from mailcheck.dmarc.discover import organizational_domain

    async with asyncio.TaskGroup() as group:
        tasks = {
            d: group.create_task(organizational_domain(d, resolver=resolver, mode=mode))
            for d in domains
        }
    return {d: task.result() for d, task in tasks.items()}
