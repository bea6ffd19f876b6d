"""Ask blocklist zones about addresses and names, with a per-run self-test of each zone.

:class:`BlocklistClient` is the per-run object: it self-tests each zone once
(RFC 5782 §5 test entries) the first time the zone is needed, caches the
verdict for the rest of the run, bounds the queries in flight per zone, and
turns every answer into a :class:`Listing` (``listed | clean | unknown``).
Query names may contain an access key; they are never put in a result or a
message.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable

from mailcheck.errors import DnsTimeout, ParseError, TempError
from mailcheck.lookup.budget import QueryBudgetExhausted
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import ToDict
from mailcheck.reputation.catalogue import (
    Catalogue,
    Scope,
    Zone,
    ZoneKind,
    ZoneStatus,
    builtin_catalogue,
)
from mailcheck.reputation.decode import (
    MAX_TXT_LENGTH,
    Decoded,
    ListingState,
    Why,
    ZoneHealth,
    decode_answer,
    judge_self_test,
    query_name,
    test_subjects,
)
from mailcheck.reputation.rdns import parse_ip

# Queries in flight per zone: a polite bound (operators rate-limit busy resolvers).
DEFAULT_PER_ZONE = 32
# A name that cannot exist (RFC 6761 §6.4: ".invalid" is never delegated). A resolver that
# answers it with an address rewrites NXDOMAIN, and would make every IP look listed.
DEFAULT_NXDOMAIN_PROBE = "mailcheck-nxdomain-probe.invalid"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Listing(ToDict):
    """What one zone says about one subject (an IP address or a domain name).

    Attributes:
        zone: the zone's public name (never the keyed query name).
        subject: the address or name asked about.
        state: ``listed``, ``clean`` or ``unknown``.
        codes: the A records answered (``127.0.0.2``...).
        meanings: what the codes mean for this zone (refusal meanings when refused).
        reason: the zone's TXT record for a listing (often a URL), if any.
        why: for ``unknown``, why (``refused``, ``timeout``, ``zone-broken``...).
        scope: ``ip``, ``range`` or ``asn``.
        allowlist: the zone is an allow-list (a listing is good news).
        paid_delisting: the operator sells express delisting.
        delist: the operator's lookup or removal page.
    """

    zone: str
    subject: str
    state: ListingState
    codes: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    reason: str | None = None
    why: Why | None = None
    scope: Scope = Scope.IP
    allowlist: bool = False
    paid_delisting: bool = False
    delist: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ZoneTest(ToDict):
    """The self-test verdict of one zone for one kind of subject, this run."""

    zone: str
    kind: ZoneKind
    health: ZoneHealth
    codes: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()


class BlocklistClient:
    """Ask blocklist zones, self-testing each zone once per run.

    Args:
        resolver: the resolver for blocklist queries: a local recursive resolver,
            never a public one (Spamhaus refuses them or answers NXDOMAIN).
        catalogue: the zones (default: the built-in catalogue).
        per_zone: queries in flight per zone.
        nxdomain_probe: a name that must not exist, to detect NXDOMAIN rewriting.
    """

    def __init__(
        self,
        resolver: Resolver,
        *,
        catalogue: Catalogue | None = None,
        per_zone: int = DEFAULT_PER_ZONE,
        nxdomain_probe: str = DEFAULT_NXDOMAIN_PROBE,
    ) -> None:
        self.resolver = resolver
        self.catalogue = catalogue if catalogue is not None else builtin_catalogue()
        self.per_zone = per_zone
        self.nxdomain_probe = nxdomain_probe
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tests: dict[tuple[str, ZoneKind], asyncio.Task[ZoneTest]] = {}
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._probe: asyncio.Task[bool | None] | None = None

    def _same_loop(self) -> None:
        # Tasks and semaphores belong to one event loop; a client may outlive one.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._tests.clear()
            self._semaphores.clear()
            self._probe = None

    def zones_for(self, kind: ZoneKind) -> tuple[Zone, ...]:
        """The selected zones of ``kind`` this client asks: all of them, except offline.

        Offline (the resolver is a :class:`~mailcheck.lookup.ZoneResolver` without a
        live fallback), a zone outside the loaded zone files cannot be asked: it is left
        out here and listed by :meth:`not_queried`, never reported "could not check".
        """
        return tuple(z for z in self.catalogue.selected(kind) if self._serves(z))

    def not_queried(self, kind: ZoneKind) -> tuple[str, ...]:
        """The selected zones of ``kind`` left out because the resolver cannot ask them."""
        return tuple(z.zone for z in self.catalogue.selected(kind) if not self._serves(z))

    def _serves(self, zone: Zone) -> bool:
        serves = getattr(self.resolver, "serves", None)
        if serves is None:
            return True
        try:
            return bool(serves(zone.zone))
        except ParseError:
            return False

    async def lookup_ip(self, ip: str, *, resolver: Resolver | None = None) -> tuple[Listing, ...]:
        """Ask every selected zone that serves this address family about ``ip``.

        Args:
            ip: the address.
            resolver: ask through this resolver instead of the client's (a view of it
                charging a :class:`~mailcheck.lookup.budget.QueryBudget`); the zones'
                self-tests, shared by the run, still use the client's.

        Raises:
            ParseError: ``ip`` is not an IP address.
        """
        address = parse_ip(ip)
        kind = ZoneKind.IPV4 if address.version == 4 else ZoneKind.IPV6
        zones = self.zones_for(kind)
        return await self._gather(((zone, kind, str(address)) for zone in zones), resolver)

    async def lookup_names(
        self, names: Iterable[str], *, resolver: Resolver | None = None
    ) -> tuple[Listing, ...]:
        """Ask every selected domain list about each name (duplicates asked once).

        ``resolver`` is as for :meth:`lookup_ip`.
        """
        unique = dict.fromkeys(n.strip().lower().rstrip(".") for n in names if n.strip())
        zones = self.zones_for(ZoneKind.DOMAIN)
        jobs = ((z, ZoneKind.DOMAIN, n) for n in unique for z in zones)
        return await self._gather(jobs, resolver)

    async def _gather(
        self, jobs: Iterable[tuple[Zone, ZoneKind, str]], resolver: Resolver | None
    ) -> tuple[Listing, ...]:
        self._same_loop()
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self.lookup(*job, resolver=resolver)) for job in jobs]
        return tuple(task.result() for task in tasks)

    async def lookup(
        self, zone: Zone, kind: ZoneKind, subject: str, *, resolver: Resolver | None = None
    ) -> Listing:
        """Ask one zone about one subject; the zone's self-test runs alongside, once per run."""
        self._same_loop()
        test = self._test_task(zone, kind)
        try:
            name = query_name(zone, kind, subject)
        except ParseError:
            return _listing(zone, subject, Decoded(state=ListingState.UNKNOWN,
                                                   why=Why.NOT_QUERYABLE))  # fmt: skip
        if test.done() and not test.result().health.trusted:
            # Known broken or refusing this run: asking again would only add load.
            why = _untrusted_why(test.result().health)
            return _listing(zone, subject, Decoded(state=ListingState.UNKNOWN, why=why))
        decoded, txt = await self._ask(zone, name, with_txt=True, resolver=resolver)
        # Shielded: one caller giving up must not cancel the verdict the others wait for.
        verdict = test.result() if test.done() else await asyncio.shield(test)
        if not verdict.health.trusted:
            # The zone's self-test failed: whatever it said is unknown (one zone finding says why).
            why = _untrusted_why(verdict.health)
            decoded = Decoded(state=ListingState.UNKNOWN, codes=decoded.codes, why=why)
            txt = None
        return _listing(zone, subject, decoded, txt)

    async def _ask(
        self, zone: Zone, name: str, *, with_txt: bool, resolver: Resolver | None = None
    ) -> tuple[Decoded, str | None]:
        resolver = resolver or self.resolver
        semaphore = self._semaphores.get(zone.zone)
        if semaphore is None:
            semaphore = self._semaphores[zone.zone] = asyncio.Semaphore(self.per_zone)
        async with semaphore:
            try:
                answer = await resolver.query(name, "A")
            except QueryBudgetExhausted:
                return Decoded(state=ListingState.UNKNOWN, why=Why.NOT_ASKED), None
            except DnsTimeout:
                return Decoded(state=ListingState.UNKNOWN, why=Why.TIMEOUT), None
            except (TempError, ParseError):
                return Decoded(state=ListingState.UNKNOWN, why=Why.DNS_ERROR), None
            decoded = decode_answer(zone, answer.addresses() if answer.ok else ())
            if not with_txt or decoded.state is not ListingState.LISTED:
                return decoded, None
            try:
                texts = await resolver.query(name, "TXT")
            except (TempError, ParseError):
                return decoded, None  # the reason is a courtesy; the listing stands
        reason = zone.hide_key(" ".join(texts.texts()))[:MAX_TXT_LENGTH]
        return decoded, reason or None

    def _test_task(self, zone: Zone, kind: ZoneKind) -> asyncio.Task[ZoneTest]:
        key = (zone.zone, kind)
        task = self._tests.get(key)
        if task is None:
            task = self._tests[key] = asyncio.ensure_future(self._self_test(zone, kind))
        return task

    async def _self_test(self, zone: Zone, kind: ZoneKind) -> ZoneTest:
        if not zone.test_entries:
            return ZoneTest(zone=zone.zone, kind=kind, health=ZoneHealth.UNTESTED)
        listed, unlisted = test_subjects(zone, kind)
        async with asyncio.TaskGroup() as group:
            positive = group.create_task(self._ask_test(zone, kind, listed))
            negative = group.create_task(self._ask_test(zone, kind, unlisted))
        if Why.NOT_ASKED in (positive.result(), negative.result()):
            # The audit's query budget was spent: the zone is not broken, just not tested.
            return ZoneTest(zone=zone.zone, kind=kind, health=ZoneHealth.NOT_TESTED)
        health = judge_self_test(_answered(positive.result()), _answered(negative.result()))
        shown = _evidence(health, _answered(positive.result()), _answered(negative.result()))
        return ZoneTest(
            zone=zone.zone,
            kind=kind,
            health=health,
            codes=shown.codes if shown else (),
            meanings=shown.meanings if shown else (),
        )

    async def _ask_test(self, zone: Zone, kind: ZoneKind, subject: str) -> Decoded | Why | None:
        """The test entry's answer; ``None`` when DNS could not answer, ``Why.NOT_ASKED``
        when the query budget refused the question."""
        try:
            name = query_name(zone, kind, subject)
        except ParseError:
            return None
        decoded, _ = await self._ask(zone, name, with_txt=False)
        if decoded.why is Why.NOT_ASKED:
            return Why.NOT_ASKED
        if decoded.why in (Why.TIMEOUT, Why.DNS_ERROR):
            return None
        return decoded

    async def zone_tests(self) -> tuple[ZoneTest, ...]:
        """The self-test verdicts of the zones used so far this run (waits for them)."""
        tasks = list(self._tests.values())
        return tuple([await asyncio.shield(t) for t in tasks])

    async def rewrites_nxdomain(self) -> bool | None:
        """True when the resolver answers a name that cannot exist (once per run).

        ``None`` when the probe got no answer (which tells nothing).
        """
        self._same_loop()
        if self._probe is None:
            self._probe = asyncio.ensure_future(self._nxdomain_probe())
        return await asyncio.shield(self._probe)

    async def _nxdomain_probe(self) -> bool | None:
        try:
            answer = await self.resolver.query(self.nxdomain_probe, "A")
        except (TempError, ParseError):
            return None
        return answer.ok


def _answered(result: Decoded | Why | None) -> Decoded | None:
    return result if isinstance(result, Decoded) else None


def _untrusted_why(health: ZoneHealth) -> Why:
    return Why.NOT_ASKED if health is ZoneHealth.NOT_TESTED else Why.ZONE_BROKEN


def _evidence(
    health: ZoneHealth, positive: Decoded | None, negative: Decoded | None
) -> Decoded | None:
    wanted = {ZoneHealth.REFUSED: Why.REFUSED, ZoneHealth.OUTSIDE_LOOPBACK: Why.OUTSIDE_LOOPBACK}
    for decoded in (positive, negative):
        if decoded is not None and decoded.why is not None and decoded.why is wanted.get(health):
            return decoded
    return negative if health is ZoneHealth.LISTS_EVERYTHING else positive


def _listing(zone: Zone, subject: str, decoded: Decoded, txt: str | None = None) -> Listing:
    return Listing(
        zone=zone.zone,
        subject=subject,
        state=decoded.state,
        codes=decoded.codes,
        meanings=decoded.meanings,
        reason=txt,
        why=decoded.why,
        scope=zone.scope,
        allowlist=zone.allowlist,
        paid_delisting=zone.status is ZoneStatus.PAID_DELISTING,
        delist=zone.delist,
    )
