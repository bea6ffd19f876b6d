"""The feeder: claims due recipients from the spool, routes them into lanes, starts the
lanes' workers in the run's TaskGroup, reports the spool's events, and decides when a run
ends (``idle``: nothing due now; ``final``: nothing left but final states; ``forever``).

It owns the count of jobs held in memory (per domain and tenant), which bounds memory and
tells when more of a domain waits in the spool than its lane shows.

A recipient whose domain takes no mail (NXDOMAIN, a null MX) is bounced here, before any
lane, and suppressed for :data:`NO_MAIL_SUPPRESS_FOR` when the spool's suppression is on;
a DNS failure only defers (it could not check).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import math
import time
from typing import TYPE_CHECKING, Any

from mailcheck.errors import ParseError, TempError
from mailcheck.hygiene.types import Suppression, SuppressionReason
from mailcheck.sending.events import EventKind, SendEvent
from mailcheck.sending.fairness import FairnessConfig
from mailcheck.sending.lanes import Lane, Route, tenant_of
from mailcheck.sending.progress import build_progress
from mailcheck.sending.routing import NoMail, NoMailKind
from mailcheck.sending.spool import TRANSACTIONAL, Job
from mailcheck.sending.types import BudgetKey

if TYPE_CHECKING:
    from mailcheck.sending.sender import Sender

__all__ = ["Feeder"]

#: Seconds between two reads of the spool's events while only deliveries happen.
REPORT_EVERY = 0.05
#: Seconds between two counts of what waits in the spool per domain (the backlog that
#: decides whether a pace may rise).
BACKLOG_EVERY = 30.0
#: Seconds a recipient stays suppressed (``hard-bounce``, global) once its domain answered
#: NXDOMAIN or a null MX. Not forever, unlike a ``550 5.1.1``: a domain comes back and
#: nothing tells us. A lapsed gTLD domain leaves the DNS during its redemption period and
#: is free for anyone to register at most about 80 days after it expired (ICANN: auto-renew
#: grace up to 45 days, redemption 30, pending delete 5); a parked domain with a null MX is
#: sold and set up for mail. After 90 days the recipient is claimed again and its domain
#: asked once more: still dead, it costs one local bounce and 90 more days, and nobody
#: else sees it (no SMTP connection is made). Forever would lose that recipient's mail
#: for good without anybody noticing.
NO_MAIL_SUPPRESS_FOR = 90 * 86400.0


class Feeder:
    """The run loop of one :class:`~mailcheck.sending.sender.Sender`."""

    def __init__(self, sender: Sender, fairness: FairnessConfig, prefetch: int) -> None:
        self.sender, self.fairness, self.prefetch = sender, fairness, prefetch
        # Jobs in memory per (domain, tenant as stored): the claim holds back full ones.
        self.held: collections.Counter[tuple[str, str]] = collections.Counter()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._group: asyncio.TaskGroup | None = None
        self._workers = 0
        self._reported: set[int] = set()
        self._flushed = -math.inf
        self._counted = -math.inf
        self._stop = asyncio.Event()

    # -- control --------------------------------------------------------------------------

    def wake(self) -> None:
        """Something was submitted."""
        self._wake.set()

    def stop(self) -> None:
        """See :meth:`Sender.stop`."""
        self.sender.delivery.stopping = True
        self.sender.delivery.stopped.set()
        self._stop.set()
        self._wake.set()

    def release(self, job: Job) -> None:
        """A job left memory (sent, given back, parked)."""
        key = (job.domain, job.tenant or "")
        self.held[key] -= 1
        if self.held[key] <= 0:
            del self.held[key]

    def settled(self, future: asyncio.Future[Any]) -> None:
        """A delivery is committed: its events can be reported."""
        self.sender.delivery.news.set()
        if not future.cancelled():
            future.exception()  # retrieved here too: a connection may be gone before it

    # -- the run ---------------------------------------------------------------------------

    async def run(self, *, mode: str, poll: float = 1.0, max_time: float | None = None) -> None:
        """Run until ``mode`` says the run is over (see the module docstring)."""
        if self._group is not None:
            raise RuntimeError("this Sender is already running")
        loop = asyncio.get_running_loop()
        deadline = math.inf if max_time is None else loop.time() + max_time
        delivery = self.sender.delivery
        delivery.draining, delivery.stopping = mode == "idle", False
        delivery.stopped.clear()
        self._stop.clear()
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                await self._loop(mode, poll, deadline)
                delivery.draining = True  # workers end when their lanes are empty
        except BaseExceptionGroup as group_error:
            # One failure (the usual case) is raised as itself, not wrapped.
            errors = group_error.exceptions
            if len(errors) == 1:  # with its own cause (a SpoolError names the SQLite error)
                raise errors[0] from errors[0].__cause__
            raise group_error from None
        finally:
            self._group = None
            await asyncio.shield(self.flush_events())

    async def _loop(self, mode: str, poll: float, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        delivery = self.sender.delivery
        claim = True
        while not self._stop.is_set():
            if loop.time() >= deadline:
                self.stop()
                break
            self._wake.clear()
            self._idle.clear()
            delivery.news.clear()
            claimed = await self._claim() if claim else 0
            await self.flush_events()
            if claimed and self._room() > 0:
                continue
            wait: float | None = None
            if claim and not claimed and not self._workers:
                if mode == "idle":
                    return
                due = await self.sender.spool.next_due()
                if mode == "final" and due is None and not await self._pending():
                    return
                now = self.sender.clock()
                wait = poll if due is None else max(0.0, due - now)
                if mode == "forever":
                    wait = min(wait, poll)
            wait = None if wait is None else min(wait, max(0.0, deadline - loop.time()))
            await _any_of((self._wake, self._idle, delivery.news, self._stop), wait)
            # Claim when asked, when a worker ended, when the wait ran out, or when a good
            # share of room freed; otherwise only report what happened.
            claim = (
                self._wake.is_set()
                or self._idle.is_set()
                or not delivery.news.is_set()
                or self._room() >= self.prefetch
            )
            pause = self._flushed + REPORT_EVERY - time.monotonic()
            if not claim and pause > 0:
                await _any_of((self._wake, self._idle), pause)
                claim = self._wake.is_set() or self._idle.is_set()

    async def _pending(self) -> bool:
        """Whether any recipient is still queued, deferred or in flight."""
        counts = await self.sender.spool.counts()
        return any(counts.get(state, 0) for state in ("queued", "deferred", "sending"))

    def _room(self) -> int:
        return max(0, self.prefetch * 10 - sum(self.held.values()))

    async def _claim(self) -> int:
        spool = self.sender.spool
        await self._count_backlog()
        full = [key for key, n in self.held.items() if n >= self.prefetch]
        room = self._room()
        # At most ``prefetch`` at a time, so one tenant's backlog cannot fill the memory
        # before the next claim holds it back.
        jobs = await spool.claim(
            limit=min(max(room, 50), self.prefetch),
            hold=full,
            min_priority=None if room else TRANSACTIONAL,
        )
        # Recipients of one message at domains served by the same MX hosts (two domains
        # of one provider, of one hoster) travel in one transaction.
        routed: dict[tuple[int, str, tuple[str, ...]], Job] = {}
        for job in jobs:
            target = await self._route(job)
            if target is None:
                continue
            same = (job.message_id, target[1], target[0])
            if same in routed:
                first = routed[same]
                job = dataclasses.replace(first, recipients=first.recipients + job.recipients)
            routed[same] = job
        for (_, group, hosts), job in routed.items():
            await self._dispatch(job, hosts, group)
        return len(jobs)

    async def _route(self, job: Job) -> tuple[tuple[str, ...], str] | None:
        """The job's MX hosts and group, or None once it is settled here."""
        spool = self.sender.spool
        try:
            found = await self.sender.router.route(job.domain)
        except TempError as exc:
            await asyncio.gather(*(spool.defer(rid, f"dns: {exc}") for rid, _, _ in job.recipients))
            self.sender.delivery.news.set()
            return None
        if isinstance(found, NoMail):
            # Suppressed before bounced: a crash in between leaves the recipient
            # ``sending``, queued again when the spool is reopened and stopped at its claim,
            # never bounced without its suppression.
            await self._suppress(job, found)
            await asyncio.gather(
                *(spool.finish(rid, "bounced", found.reply) for rid, _, _ in job.recipients)
            )
            self.sender.delivery.news.set()
            return None
        return found.hosts, found.group

    async def _suppress(self, job: Job, found: NoMail) -> None:
        """Suppress ``job``'s recipients, whose domain takes no mail, for everybody (in
        one transaction), when the spool's suppression list is on."""
        if not self.sender.spool.suppression:
            return
        suppressions = self.sender.suppressions
        if found.kind is NoMailKind.NULL_MX:
            why = f"null MX (RFC 7505) for {job.domain}"
        else:
            why = f"no such domain (NXDOMAIN): {job.domain}"
        source = f"{why} (message {job.message_id})"
        expires = suppressions.clock() + NO_MAIL_SUPPRESS_FOR
        entries: list[tuple[Suppression, str]] = []
        for _, rcpt, _ in job.recipients:
            try:
                entry = suppressions.entry(
                    rcpt, reason=SuppressionReason.HARD_BOUNCE, source=source, expires=expires
                )
            except ParseError:  # an address that never parsed: bounced only
                continue
            entries.append(entry)
        if entries:
            await suppressions.add_many(entries)

    async def _dispatch(self, job: Job, hosts: tuple[str, ...], group: str) -> None:
        """Put a claimed job in the lane of its MX ``hosts`` in its budget."""
        sender = self.sender
        loop = asyncio.get_running_loop()
        egress = sender.egress[job.message_id % len(sender.egress)]
        key: BudgetKey = (egress.ip or "default", group)
        route = await sender.open_route(key, egress)
        self.held[(job.domain, job.tenant or "")] += 1  # given back or sent: released
        urgent = route.bulk_only and job.priority >= TRANSACTIONAL
        if route.paused_until > loop.time() and not urgent:
            # Due again when the pause ends (never sooner than a second: no busy loop).
            wait = max(1.0, route.paused_until - loop.time())
            await sender.delivery.give_back([job], "paused", at=sender.clock() + wait)
            return
        lane = route.lane(hosts, self.fairness)
        if lane.waiting.is_suspended(tenant_of(job), loop.time()):
            await sender.delivery.give_back([job], "tenant suspended", at=sender.clock() + 60.0)
            return
        budget = await sender.budget_of(route)
        limit = max(1, budget.recipients_per_message)
        rcpts = job.recipients
        if len(rcpts) <= limit:
            lane.waiting.push(job)
        else:
            self.release(job)
            for start in range(0, len(rcpts), limit):
                self.held[(job.domain, job.tenant or "")] += 1
                lane.waiting.push(dataclasses.replace(job, recipients=rcpts[start : start + limit]))
        lane.changed.set()
        # At the memory bound, more of this domain waits in the spool than the lane shows.
        backlog = self.held[(job.domain, job.tenant or "")] >= self.prefetch
        self._spawn(route, lane, budget.connections, budget.messages_per_connection, backlog)

    def _spawn(self, route: Route, lane: Lane, connections: int, per_connection: int,
               backlog: bool) -> None:  # fmt: skip
        """Run as many workers as the waiting messages fill (one per messages-per-connection),
        within the connection limit, and no more than the pace can feed."""
        wanted = connections
        if not backlog:
            wanted = min(wanted, -(-len(lane.waiting) // per_connection))
        # Below a message a second, one connection carries the first-contact pace.
        if route.policy.first_contact < 1.0:
            wanted = min(wanted, 1)
        group = self._group
        assert group is not None, "workers start only inside a run"
        while lane.workers < max(1, wanted):
            lane.workers += 1
            self._workers += 1
            task = group.create_task(self.sender.delivery.worker(route, lane))
            task.add_done_callback(self._worker_done)

    def _worker_done(self, task: asyncio.Task[None]) -> None:
        self._workers -= 1
        self._idle.set()

    async def _count_backlog(self) -> None:
        """Refresh each route's backlog (what waits in the spool for its group)."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._counted < BACKLOG_EVERY:
            return
        self._counted = loop.time()
        rows = await self.sender.spool.domain_states()
        waiting = build_progress(rows, self.sender.router.groups, {}).providers
        per_group = {p.group: p.waiting for p in waiting}
        egresses = max(1, len(self.sender.egress))
        for key, route in list(self.sender.routes.items()):
            route.backlog = per_group.get(key[1], 0) // egresses

    async def flush_events(self) -> None:
        """Report the spool's new recipient events, once each."""
        self._flushed = time.monotonic()
        spool, listeners = self.sender.spool, self.sender.listeners
        events = [e for e in await spool.events() if e.id not in self._reported]
        for e in events:
            self._reported.add(e.id)
            listeners.emit(SendEvent(kind=EventKind(e.kind), message_id=e.message_id,
                                     rcpt=e.rcpt, reply=e.reply, at=e.at))  # fmt: skip
        if events:
            ids = [e.id for e in events]
            # Reported now; a cancellation during the acknowledgement must not report twice.
            await asyncio.shield(spool.ack(ids))
            self._reported.difference_update(ids)


async def _any_of(events: tuple[asyncio.Event, ...], timeout: float | None) -> None:
    """Wait until one of ``events`` is set, at most ``timeout`` seconds."""
    futures = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(futures, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for future in futures:
            future.cancel()
