"""Domain audits for the service: validated first, cached, deduplicated, bounded.

A request for a domain audited less than ``cache_ttl`` seconds ago gets the cached report;
requests for a domain being audited wait for that audit (one audit per domain at a time);
at most ``max_audits`` audits run at once (one semaphore), and at most ``max_waiting``
wait for a slot. The domain is checked before anything is resolved.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable

from mailcheck.audit import DomainReport, audit_domain
from mailcheck.errors import ParseError
from mailcheck.lookup.domains import normalize_domain
from mailcheck.reputation import BlocklistChecker, IpReport
from mailcheck.serve.config import ServeConfig
from mailcheck.serve.problems import Problem, busy, invalid

#: Longest text accepted as a domain before it is parsed (253 + room for a trailing dot
#: and U-labels' longer spelling).
MAX_DOMAIN_INPUT = 300
# RFC 5321 §4.1.2 / RFC 1123 §2.1: a mail domain is LDH labels (A-labels after IDNA).
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def validate_domain(text: str, /) -> str:
    """The domain to audit, normalised (A-labels, lower case), or a 400 problem.

    Nothing is resolved here: a hostile value never reaches the resolver.

    Raises:
        Problem: 400 ``invalid-request`` saying what is wrong (the value is not echoed).
    """
    if not text or len(text) > MAX_DOMAIN_INPUT:
        raise invalid("domain", "a domain name of 1 to 253 characters is required")
    try:
        name = normalize_domain(text)
    except ParseError as exc:
        # The reason may quote the input; the detail stays a fixed sentence.
        raise invalid("domain", f"not a domain name (at character {exc.position + 1})") from None
    labels = name.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise invalid("domain", "not a domain name: only letters, digits and hyphens")
    if labels[-1].isdigit():
        raise invalid("domain", "an IP address is not a domain (use /api/v1/ip/{ip})")
    return name


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CachedAudit:
    """A report and when it was made (the config's monotonic clock)."""

    report: DomainReport
    at: float
    cached: bool


class Auditor:
    """Runs and caches audits (see the module docstring).

    Attributes:
        running: audits running now.
        peak: the most audits ever running at once (never above ``max_audits``).
        waiting: audits waiting for a slot now.
        audits: audits run, per report status.
        cache_hits: requests answered from the cache or from an audit already running.
    """

    def __init__(
        self,
        config: ServeConfig,
        *,
        audit: Callable[..., Awaitable[DomainReport]] = audit_domain,
    ) -> None:
        self.config = config
        self._audit = audit
        self._slots = asyncio.Semaphore(config.max_audits)
        self._cache: OrderedDict[str, tuple[DomainReport, float]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[DomainReport]] = {}
        self._checker: BlocklistChecker | None = None
        self.running = self.peak = self.waiting = 0
        self.audits: dict[str, int] = {}
        self.cache_hits = 0
        self.errors = 0

    def cached(self, domain: str) -> CachedAudit | None:
        """The cached report of ``domain`` (already validated), if still fresh."""
        entry = self._cache.get(domain)
        if entry is None or self.config.clock() - entry[1] > self.config.cache_ttl:
            return None
        return CachedAudit(report=entry[0], at=entry[1], cached=True)

    async def report(self, domain: str, /, *, fresh: bool = False) -> CachedAudit:
        """The report of ``domain`` (already validated): cached, joined, or audited now.

        ``fresh`` skips a cached report older than ``recheck_after`` seconds.

        Raises:
            Problem: 503 when ``max_waiting`` audits already wait for a slot.
        """
        entry = self.cached(domain)
        if entry is not None and (
            not fresh or self.config.clock() - entry.at < self.config.recheck_after
        ):
            self.cache_hits += 1
            return entry
        running = self._inflight.get(domain)
        if running is not None:
            self.cache_hits += 1
            report = await asyncio.shield(running)
            return CachedAudit(report=report, at=self._cache[domain][1], cached=True)
        if self.waiting >= self.config.max_waiting and self.running >= self.config.max_audits:
            raise busy(5)
        future: asyncio.Future[DomainReport] = asyncio.get_running_loop().create_future()
        self._inflight[domain] = future
        try:
            report = await self._run(domain)
        except asyncio.CancelledError:
            future.cancel()  # the server is stopping: those who joined stop too
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody joined
            raise
        else:
            future.set_result(report)
        finally:
            del self._inflight[domain]
        now = self.config.clock()
        self._cache[domain] = (report, now)
        self._cache.move_to_end(domain)
        while len(self._cache) > self.config.cache_size:
            self._cache.popitem(last=False)
        return CachedAudit(report=report, at=now, cached=False)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the ``max_audits`` slots (audits and IP checks share them)."""
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            yield
        finally:
            self.running -= 1
            self._slots.release()

    async def _run(self, domain: str) -> DomainReport:
        async with self.slot():
            try:
                report = await self._audit(
                    domain,
                    resolver=self.config.resolver,
                    reputation=self.config.reputation,
                    blocklists=self._blocklists(),
                )
            except Exception:
                self.errors += 1
                raise
        self.audits[report.status] = self.audits.get(report.status, 0) + 1
        return report

    async def check_ip(self, ip: str, /) -> IpReport:
        """The reputation of ``ip`` (already validated), in one of the audit slots."""
        if self.waiting >= self.config.max_waiting and self.running >= self.config.max_audits:
            raise busy(5)
        async with self.slot():
            return await self._shared_checker().check_ip(ip)

    def _blocklists(self) -> BlocklistChecker | None:
        """One checker for the service's life: the zones' self-tests run once, not per audit."""
        if not self.config.reputation:
            return None
        return self._shared_checker()

    def _shared_checker(self) -> BlocklistChecker:
        if self._checker is None:
            from mailcheck.lookup.resolver import DnsResolver

            self._checker = BlocklistChecker(
                resolver=self.config.resolver or DnsResolver(), catalogue=self.config.catalogue
            )
        return self._checker


__all__ = ["Auditor", "CachedAudit", "Problem", "validate_domain"]
