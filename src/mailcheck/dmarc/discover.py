"""Find the DMARC policy that applies to a domain, and its organisational domain.

RFC 9989 §4.10 replaces the Public Suffix List with a DNS tree walk: at most 8
names (``_dmarc.<domain>``, then from 7 labels up to the top-level domain).
All of them are asked at once; the policy is the record found closest to the
domain, the organisational domain follows from the ``psd`` tags found. The
RFC 7489 mode asks ``_dmarc.<domain>`` and then the PSL's organisational domain.
"""

from __future__ import annotations

import asyncio
import dataclasses

from mailcheck.dmarc.record import DmarcLint, DmarcRecord, lint_dmarc, parse_dmarc
from mailcheck.errors import ParseError, TempError
from mailcheck.lookup.domains import (
    dmarc_tree_names,
    organizational_domain_psl,
    organizational_from_walk,
)
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import ToDict


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Discovery(ToDict):
    """What policy discovery found for one domain.

    Attributes:
        domain: the domain asked about.
        location: the ``_dmarc`` name where the policy was found, or ``None``.
        texts: the DMARC records at ``location`` (several = none applies).
        record: the parsed record when there is exactly one and it parses.
        parse_error: why the record at ``location`` does not parse (the first fault).
        lint: the record read as a receiver reads it, with every invalid tag
            (``None`` unless exactly one record was found).
        organizational_domain: by the tree walk (or the PSL in ``psl`` mode).
        temperrors: names that could not be checked, with the error.
        uncertain: a DNS failure closer to the domain than ``location`` means the
            applicable policy is not known.
    """

    domain: str
    location: str | None = None
    texts: tuple[str, ...] = ()
    record: DmarcRecord | None = None
    parse_error: ParseError | None = None
    lint: DmarcLint | None = None
    organizational_domain: str = ""
    temperrors: tuple[tuple[str, str], ...] = ()
    uncertain: bool = False

    @property
    def inherited(self) -> bool:
        """The policy was found on a parent domain."""
        return self.location is not None and self.location != f"_dmarc.{self.domain}"


def dmarc_texts(texts: tuple[str, ...]) -> tuple[str, ...]:
    """Keep the TXT records that are DMARC records (RFC 9989 §4.10: others are ignored)."""
    return tuple(t for t in texts if t.strip()[:8].replace(" ", "").lower().startswith("v=dmarc1"))


async def discover_policy(domain: str, /, *, resolver: Resolver, mode: str = "tree") -> Discovery:
    """Run policy discovery for ``domain`` (``mode`` is ``"tree"`` or ``"psl"``)."""
    if mode == "psl":
        names: tuple[str, ...] = (f"_dmarc.{domain}",)
        org = organizational_domain_psl(domain)
        if org != domain:
            names += (f"_dmarc.{org}",)
    else:
        names = dmarc_tree_names(domain)
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_texts(name, resolver)) for name in names]
    found: dict[str, tuple[str, ...]] = {}
    temperrors: list[tuple[str, str]] = []
    for name, task in zip(names, tasks, strict=True):
        outcome = task.result()
        if isinstance(outcome, TempError):
            temperrors.append((name, str(outcome)))
        elif outcome:
            found[name] = outcome
    location = next((name for name in names if name in found), None)
    failed = {name for name, _ in temperrors}
    closer = names[: names.index(location)] if location else names
    discovery = Discovery(
        domain=domain,
        location=location,
        texts=found.get(location, ()) if location else (),
        organizational_domain=org if mode == "psl" else _org(domain, found),
        temperrors=tuple(temperrors),
        uncertain=any(name in failed for name in closer),
    )
    if location is None or len(discovery.texts) != 1:
        return discovery
    lint = lint_dmarc(discovery.texts[0])
    if lint.fatal is not None:
        return dataclasses.replace(discovery, lint=lint, parse_error=lint.fatal)
    if lint.errors:
        first = lint.errors[0]
        error = ParseError(lint.text, first.position, first.reason)
        return dataclasses.replace(discovery, lint=lint, parse_error=error)
    return dataclasses.replace(discovery, lint=lint, record=lint.record)


def _org(domain: str, found: dict[str, tuple[str, ...]]) -> str:
    psd: dict[str, str | None] = {}
    for name, texts in found.items():
        value = None
        if len(texts) == 1:
            try:
                value = parse_dmarc(texts[0]).psd
            except ParseError:
                value = None
        psd[name.removeprefix("_dmarc.")] = value
    return organizational_from_walk(domain, psd)


async def _texts(name: str, resolver: Resolver) -> tuple[str, ...] | TempError:
    try:
        answer = await resolver.query(name, "TXT")
    except TempError as exc:
        return exc
    except ParseError:
        return ()
    return dmarc_texts(answer.texts())


async def organizational_domain(domain: str, /, *, resolver: Resolver, mode: str = "tree") -> str:
    """The organisational domain of ``domain`` (RFC 9989 tree walk, or the PSL).

    Raises:
        TempError: a DNS failure makes the answer uncertain.
    """
    if mode == "psl":
        return organizational_domain_psl(domain)
    discovery = await discover_policy(domain, resolver=resolver)
    if discovery.temperrors:
        name, reason = discovery.temperrors[0]
        raise TempError(name, "TXT", reason)
    return discovery.organizational_domain
