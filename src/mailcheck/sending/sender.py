"""The Sender: takes recipients from the spool and delivers them under shaping.

A feeder claims due recipients from the spool (highest priority first) and routes each
message to a *budget*, keyed by (egress IP, provider group), and within it to a *lane*, one
MX host set. Each lane holds its messages in fair queues (transactional before bulk; tenants
by weight, :class:`~mailcheck.sending.fairness.FairQueue`) and runs up to the budget's
connection limit of workers. A worker holds a connection lease, takes one message grant at
a time from the shaping backend, then sends the message the fair queue names. Replies
become per-recipient states in the spool and, when they judge the provider's view of us,
shaping actions from the provider dataset (slow down, suspend the budget or one tenant).

A silent close after some messages is a reconnect, not a failure. A suspended budget or
tenant parks its messages in the spool without burning attempts. Only what is in flight is
held in memory, a bounded number of messages per domain.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import aiosmtplib

from mailcheck.errors import ParseError, TempError
from mailcheck.lookup import DnsResolver, Resolver
from mailcheck.sending.fairness import FairnessConfig, FairQueue
from mailcheck.sending.outcome import Outcome, OutcomeAction, OutcomeScope
from mailcheck.sending.providers import Provider, ProviderSet
from mailcheck.sending.redis_backend import Decision, Lease
from mailcheck.sending.redis_board import BudgetKey
from mailcheck.sending.replies import SmtpReply, classify_reply, parse_reply, to_outcome
from mailcheck.sending.shaping import Budget, MemoryBackend, Shaper, ShapingBackend
from mailcheck.sending.spool import TRANSACTIONAL, Job, SqliteSpool

__all__ = ["Egress", "SendEvent", "Sender"]

Classify = Callable[[int, str], Outcome]

#: Seconds of message grants a worker may reserve ahead: a transactional message submitted
#: now waits at most this long behind grants already promised to bulk mail.
RESERVE = 1.0
#: A worker that would wait longer than this for its next grant closes its connection
#: (servers drop idle sessions; an idle lease would block other lanes).
IDLE_CLOSE = 10.0
#: Deliveries of one connection whose commit may still be under way while it goes on.
SETTLING = 4
#: Longest wait (seconds) before asking again for a connection lease that was refused.
LEASE_POLL = 1.0
#: Longest time (seconds) a domain's MX hosts and provider group are reused without asking
#: DNS again (a shorter TTL wins), and most domains remembered.
ROUTING_TTL = 300.0
ROUTING_CACHE = 10_000
#: Seconds between two reads of the spool's events while only deliveries happen.
REPORT_EVERY = 0.05


class Signer(Protocol):
    """Anything that DKIM-signs a message."""

    def sign(self, message: bytes, /) -> bytes:
        """The message with its signature header."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class Egress:
    """A source address to send from and the name it gives in EHLO.

    Attributes:
        ip: the local address to bind, or None for the system's choice.
        helo: the EHLO name (it should be the PTR name of ``ip``).
    """

    ip: str | None = None
    helo: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SendEvent:
    """Something that happened.

    ``kind`` is a recipient state reported once from the spool (``delivered``,
    ``deferred``, ``bounced``, ``expired``), an ``attempt`` (one SMTP transaction begins),
    or a shaping change: ``rule`` (a provider rule matched), ``slowed``, ``suspended``,
    ``held`` (messages parked by a suspension) and ``resumed``.
    """

    kind: str
    message_id: int = 0
    rcpt: str = ""
    reply: str = ""
    key: tuple[str, str] = ("", "")
    rule: str = ""
    at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable mapping."""
        return {
            "kind": self.kind,
            "message_id": self.message_id,
            "rcpt": self.rcpt,
            "reply": self.reply,
            "egress": self.key[0],
            "group": self.key[1],
            "rule": self.rule,
            "at": self.at,
        }


class _Reconnect(Exception):
    """The server closed the connection: open another one."""


class _Waiting:
    """The messages of one lane: transactional first, then bulk, each fair between tenants."""

    def __init__(self, fairness: FairnessConfig) -> None:
        self.urgent: FairQueue[Job] = FairQueue(fairness)
        self.bulk: FairQueue[Job] = FairQueue(fairness)
        self.retry: collections.deque[Job] = collections.deque()

    def __len__(self) -> int:
        return len(self.urgent) + len(self.bulk) + len(self.retry)

    def push(self, job: Job) -> None:
        queue = self.urgent if job.priority >= TRANSACTIONAL else self.bulk
        queue.push(_tenant(job), job, priority=-job.priority)

    def peek(self, now: float) -> Job | None:
        if self.retry:
            return self.retry[0]
        item = self.urgent.peek(now=now) or self.bulk.peek(now=now)
        return None if item is None else item[1]

    def pop(self, now: float) -> Job | None:
        if self.retry:
            return self.retry.popleft()
        item = self.urgent.pop(now=now) or self.bulk.pop(now=now)
        return None if item is None else item[1]

    def suspend(self, tenant: str, until: float) -> list[Job]:
        """Hold ``tenant`` until ``until`` (monotonic); returns its messages to park."""
        held = [job for job in self.retry if _tenant(job) == tenant]
        self.retry = collections.deque(job for job in self.retry if _tenant(job) != tenant)
        for queue in (self.urgent, self.bulk):
            queue.suspend(tenant, until=until)
            held += queue.drain(tenant)
        return held

    def is_suspended(self, tenant: str, now: float) -> bool:
        return self.bulk.is_suspended(tenant, now=now)

    def next_ready(self, now: float) -> float | None:
        times = [t for q in (self.urgent, self.bulk) if (t := q.next_ready(now=now)) is not None]
        return min(times) if times else None

    def clear(self) -> list[Job]:
        jobs = list(self.retry)
        self.retry.clear()
        for queue in (self.urgent, self.bulk):
            for tenant in queue.tenants():
                jobs += queue.drain(tenant)
        return jobs


def _held_key(job: Job) -> tuple[str, str]:
    """How the claim counts a job held in memory: (domain, tenant as stored)."""
    return job.domain, job.tenant or ""


def _tenant(job: Job) -> str:
    """A message's tenant: the one given at submission, else its MAIL FROM domain."""
    return job.tenant or job.mail_from.rpartition("@")[2].lower()


@dataclasses.dataclass(eq=False)
class _Lane:
    """Messages of one budget to one MX host set, and the workers sending them."""

    hosts: tuple[str, ...]
    waiting: _Waiting
    workers: int = 0
    connecting: int = 0
    connected: int = 0
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    changed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


@dataclasses.dataclass(eq=False)
class _Route:
    """One budget: (egress, provider group)."""

    key: BudgetKey
    egress: Egress
    provider: Provider | None
    lanes: dict[tuple[str, ...], _Lane] = dataclasses.field(default_factory=dict)
    suspended_until: float = -math.inf  # wall clock
    resumed: bool = True


@dataclasses.dataclass
class _Stats:
    attempts: int = 0
    delivered: int = 0
    deferred: int = 0
    bounced: int = 0
    expired: int = 0
    connections: int = 0
    rules: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)


class Sender:
    """Deliver spooled messages to their MX hosts, shaped per (egress IP, provider group).

    Args:
        spool: the durable queue.
        resolver: DNS resolver for MX and addresses (default: a :class:`DnsResolver` on
            the system's nameservers, ``/etc/resolv.conf``).
        egress: the source addresses to send from (default: the system's, with ``helo``);
            each message goes out of one of them, chosen by its id.
        providers: the provider dataset (default: the built-in one) that names each
            destination's group, its limits, TLS policy and reply rules.
        backend: shaping state (default: a :class:`MemoryBackend` persisted in the spool;
            a :class:`~mailcheck.sending.redis_backend.RedisBackend` to share budgets).
        signer: DKIM signer applied once at submission (``sign(bytes) -> bytes``).
        budgets: group -> Budget, overriding the dataset's limits for that group.
        default_budget: the budget of groups that are not a provider of the dataset
            (default: the dataset's ``default`` entry).
        group_of: maps (domain, MX hosts) to a group (default: ``providers.group_of``).
        fairness: weights and caps of tenants sharing a budget.
        source_address: shorthand for ``egress=[Egress(source_address, helo)]``.
        helo: the EHLO name when ``egress`` is not given.
        mx_override: host -> (address, port), for tests and relays.
        port: the SMTP port of destinations (25; tests cannot bind it).
        tls: ``opportunistic`` (STARTTLS when offered), ``required``, or ``off``; a
            provider whose dataset entry says ``required`` always gets ``required``.
        classify: ``(code, text) -> Outcome`` replacing the dataset's reply rules.
        on_event: called with every :class:`SendEvent`.
        clock: wall-clock seconds.
        timeout: seconds for each SMTP command.
        prefetch: messages per domain held in memory, ready to send (transactional mail
            is claimed beyond it).
        linger: seconds an idle connection waits for more messages (in :meth:`run`).
    """

    def __init__(
        self,
        *,
        spool: SqliteSpool,
        resolver: Resolver | None = None,
        egress: Sequence[Egress] = (),
        providers: ProviderSet | None = None,
        backend: ShapingBackend | None = None,
        signer: Signer | None = None,
        budgets: Mapping[str, Budget] | None = None,
        default_budget: Budget | None = None,
        group_of: Callable[[str, Sequence[str]], str] | None = None,
        fairness: FairnessConfig | None = None,
        source_address: str | None = None,
        helo: str | None = None,
        mx_override: Mapping[str, tuple[str, int]] | None = None,
        port: int = 25,
        tls: str = "opportunistic",
        classify: Classify | None = None,
        on_event: Callable[[SendEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
        prefetch: int = 100,
        linger: float = 2.0,
    ) -> None:
        if tls not in ("opportunistic", "required", "off"):
            raise ValueError(f"tls must be opportunistic, required or off, not {tls!r}")
        self.spool, self.signer = spool, signer
        self.resolver: Resolver = resolver if resolver is not None else DnsResolver()
        self.egress = tuple(egress) or (Egress(source_address, helo),)
        self.providers = providers if providers is not None else ProviderSet.load()
        self.backend = backend or MemoryBackend(clock=clock, store=spool)
        self.shaper = Shaper(self.backend, clock=clock)
        self.budgets = dict(budgets or {})
        self.default_budget = default_budget or self.providers.default.limits.budget()
        self.group_of = group_of or self.providers.group_of
        self.fairness = fairness or FairnessConfig()
        self.mx_override = dict(mx_override or {})
        self.port, self.tls, self.classify = port, tls, classify
        self.clock, self.timeout = clock, timeout
        self.prefetch, self.linger = prefetch, linger
        self._listeners: list[Callable[[SendEvent], None]] = [on_event] if on_event else []
        self._wake = asyncio.Event()
        self._routes: dict[BudgetKey, _Route] = {}
        # Jobs in memory per (domain, tenant as stored): the claim holds back full ones.
        self._held: collections.Counter[tuple[str, str]] = collections.Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._news = asyncio.Event()  # spool events to report
        self._reported: set[int] = set()  # events emitted, acknowledgement under way
        self._draining = False
        self._flushed = -math.inf  # when spool events were last read (monotonic)
        self._failure: BaseException | None = None  # a worker's unexpected exception
        self._stats: dict[BudgetKey, _Stats] = collections.defaultdict(_Stats)
        # domain -> (monotonic expiry, MX hosts, group)
        self._routing_cache: dict[str, tuple[float, tuple[str, ...], str]] = {}

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the workers (their messages return to the spool) and report pending events."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for route in self._routes.values():
            for lane in route.lanes.values():
                for job in lane.waiting.clear():
                    self._release(job)
                    for rid, _, _ in job.recipients:
                        await self.spool.defer(rid, "sender closed", at=self.clock(), attempt=False)
        self._routes.clear()
        await self._flush_events()

    def subscribe(self, listener: Callable[[SendEvent], None], /) -> None:
        """Call ``listener`` with every future event."""
        self._listeners.append(listener)

    async def events(self) -> AsyncIterator[SendEvent]:
        """Every future event, as an async iterator (``async for e in sender.events()``)."""
        queue: asyncio.Queue[SendEvent] = asyncio.Queue()
        listener = queue.put_nowait
        self._listeners.append(listener)
        try:
            while True:
                yield await queue.get()
        finally:
            self._listeners.remove(listener)

    def _emit(self, event: SendEvent) -> None:
        for listener in self._listeners:
            listener(event)

    async def _flush_events(self) -> None:
        self._flushed = time.monotonic()
        events = [e for e in await self.spool.events() if e.id not in self._reported]
        for e in events:
            self._reported.add(e.id)
            self._emit(
                SendEvent(kind=e.kind, message_id=e.message_id, rcpt=e.rcpt, reply=e.reply, at=e.at)
            )
        if events:
            ids = [e.id for e in events]
            # Reported now; a cancellation during the acknowledgement must not report twice.
            await asyncio.shield(self.spool.ack(ids))
            self._reported.difference_update(ids)

    async def submit(
        self,
        raw: bytes,
        /,
        *,
        mail_from: str,
        rcpt_to: Sequence[str],
        tenant: str | None = None,
        priority: int = 0,
    ) -> int:
        """Sign (when a signer is set) and queue a message; returns after the commit.

        Args:
            raw: the message, headers and body, CRLF line ends.
            mail_from: the envelope sender.
            rcpt_to: the envelope recipients.
            tenant: whose mail this is, for fair shares (default: the MAIL FROM domain).
            priority: ``spool.TRANSACTIONAL`` (password resets, confirmations) goes before
                ``spool.BULK`` (newsletters) waiting for the same budget.
        """
        if self.signer is not None:
            raw = self.signer.sign(raw)
        tenant = tenant or mail_from.rpartition("@")[2].lower()
        mid = await self.spool.submit(
            raw, mail_from=mail_from, rcpt_to=rcpt_to, tenant=tenant, priority=priority
        )
        self._wake.set()
        return mid

    # -- the feeder ---------------------------------------------------------------------------

    async def run_until_idle(self) -> None:
        """Deliver until no recipient is due now (deferred ones stay for later).

        Raises:
            What a worker met and could not make a recipient's state (the spool failing
            to commit, say). Recipients it had in flight stay ``sending`` and are queued
            again when the spool is next opened.
        """
        await self._feed(forever=False, poll=0.0)

    async def run(self, *, poll: float = 1.0) -> None:
        """Deliver forever, waking on submissions and when deferred recipients fall due.

        Raises:
            As :meth:`run_until_idle`.
        """
        await self._feed(forever=True, poll=poll)

    async def _feed(self, *, forever: bool, poll: float) -> None:
        self._draining = not forever
        claim = True
        try:
            while True:
                self._raise_failure()
                self._wake.clear()
                self._idle.clear()
                self._news.clear()
                claimed = await self._claim() if claim else 0
                await self._flush_events()
                if claim and not claimed and not self._tasks and not forever:
                    self._raise_failure()  # the last worker may have died meanwhile
                    return
                if claimed and self._room() > 0:
                    continue
                wait: float | None = None
                if forever and not self._tasks:
                    due = await self.spool.next_due()
                    wait = poll if due is None else min(poll, max(0.0, due - self.clock()))
                await _any_of((self._wake, self._idle, self._news), wait)
                # Claim when asked, when a worker ended, or when a good share of room freed;
                # otherwise only report what happened.
                claim = (
                    self._wake.is_set()
                    or self._idle.is_set()
                    or not self._news.is_set()
                    or self._room() >= self.prefetch
                )
                pause = self._flushed + REPORT_EVERY - time.monotonic()
                if not claim and pause > 0:
                    # Only events to report: let them gather (one read, one acknowledgement).
                    await _any_of((self._wake, self._idle), pause)
                    claim = self._wake.is_set() or self._idle.is_set()
        finally:
            await self._flush_events()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def _room(self) -> int:
        return max(0, self.prefetch * 10 - sum(self._held.values()))

    async def _claim(self) -> int:
        full = [key for key, n in self._held.items() if n >= self.prefetch]
        room = self._room()
        # At most ``prefetch`` at a time, so one tenant's backlog cannot fill the memory
        # before the next claim holds it back.
        jobs = await self.spool.claim(
            limit=min(max(room, 50), self.prefetch),
            hold=full,
            min_priority=None if room else TRANSACTIONAL,
        )
        # Recipients of one message at different domains served by the same MX hosts (two
        # domains of one provider, of one hoster) travel in one transaction.
        routed: dict[tuple[int, str, tuple[str, ...]], Job] = {}
        for job in jobs:
            routing = await self._routing(job)
            if routing is None:
                continue
            same = (job.message_id, routing[1], routing[0])
            if same in routed:
                first = routed[same]
                job = dataclasses.replace(first, recipients=first.recipients + job.recipients)
            routed[same] = job
        for (_, group, hosts), job in routed.items():
            await self._dispatch(job, hosts, group)
        return len(jobs)

    def _release(self, job: Job) -> None:
        key = _held_key(job)
        self._held[key] -= 1
        if self._held[key] <= 0:
            del self._held[key]

    async def _dispatch(self, job: Job, hosts: tuple[str, ...], group: str) -> None:
        """Put a claimed job in the lane of its MX ``hosts`` in its budget."""
        egress = self.egress[job.message_id % len(self.egress)]
        key: BudgetKey = (egress.ip or "default", group)
        route = self._routes.get(key)
        if route is None:
            provider = self.providers.providers.get(group)
            route = self._routes[key] = _Route(key=key, egress=egress, provider=provider)
        held = _held_key(job)
        if route.suspended_until > self.clock():
            self._held[held] += 1  # _park releases it
            await self._park([job], route.suspended_until - self.clock(), route.key, False)
            return
        lane = route.lanes.get(hosts)
        if lane is None:
            lane = route.lanes[hosts] = _Lane(hosts, _Waiting(self.fairness))
        if lane.waiting.is_suspended(_tenant(job), time.monotonic()):
            self._held[held] += 1
            await self._park([job], 60.0, route.key, False)
            return
        budget = await self._budget(route)
        limit = max(1, budget.recipients_per_message)
        rcpts = job.recipients
        for start in range(0, len(rcpts), limit):
            part = (
                job
                if len(rcpts) <= limit
                else dataclasses.replace(job, recipients=rcpts[start : start + limit])
            )
            self._held[held] += 1
            lane.waiting.push(part)
        lane.changed.set()
        # At the memory bound, more of this domain waits in the spool than the lane shows.
        self._spawn(route, lane, budget, backlog=self._held[held] >= self.prefetch)

    def _spawn(self, route: _Route, lane: _Lane, budget: Budget, *, backlog: bool) -> None:
        """Run as many workers as the waiting messages fill (one per messages-per-connection),
        within the connection limit; all of them when the spool holds a backlog."""
        wanted = budget.connections
        if not backlog:
            wanted = min(wanted, -(-len(lane.waiting) // budget.messages_per_connection))
        while lane.workers < max(1, wanted):
            lane.workers += 1
            task = asyncio.create_task(self._worker(route, lane))
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._idle.set()
        if not task.cancelled() and task.exception() is not None and self._failure is None:
            # A worker died of something unexpected (the spool's disk full, a bug): the
            # caller of run() hears of it rather than a log line and a stalled lane.
            self._failure = task.exception()

    async def _routing(self, job: Job) -> tuple[tuple[str, ...], str] | None:
        """The job's MX hosts and provider group, or None once it is settled here."""
        now = time.monotonic()
        cached = self._routing_cache.get(job.domain)
        if cached is not None and cached[0] > now:
            hosts, group = cached[1], cached[2]
        else:
            try:
                answer = await self.resolver.query(job.domain, "MX")
            except TempError as exc:
                for rid, _, _ in job.recipients:
                    await self.spool.defer(rid, f"dns: {exc}")
                self._news.set()
                return None
            hosts = tuple(host for _, host in answer.mx_hosts()) if answer.ok else (job.domain,)
            group = "" if hosts == (".",) else self.group_of(job.domain, hosts)
            if len(self._routing_cache) >= ROUTING_CACHE:
                self._routing_cache.clear()
            # The answer's TTL bounds the cache: a domain moving its MX moves its mail.
            ttl = min(float(answer.ttl), ROUTING_TTL)
            if ttl > 0:
                self._routing_cache[job.domain] = (now + ttl, hosts, group)
        if hosts == (".",):
            bounce = "550 5.1.10 null MX: accepts no mail"
            await asyncio.gather(
                *(self.spool.finish(r, "bounced", bounce) for r, _, _ in job.recipients)
            )
            self._news.set()
            return None
        return hosts, group

    async def _address(self, host: str) -> tuple[str, int] | None:
        if host in self.mx_override:
            return self.mx_override[host]
        for rdtype in ("A", "AAAA"):
            try:
                answer = await self.resolver.query(host, rdtype)
            except TempError:
                continue
            addresses = answer.addresses() if answer.ok else ()
            if addresses:
                return str(addresses[0]), self.port
        return None

    async def _budget(self, route: _Route) -> Budget:
        group = route.key[1]
        if group in self.budgets:
            budget = self.budgets[group]
        elif route.provider is not None:
            budget = route.provider.limits.budget()
        else:
            budget = self.default_budget
        return await self.shaper.effective(route.key, budget)

    def _tls(self, route: _Route) -> bool | None:
        """aiosmtplib's ``start_tls``: True = required, None = when offered, False = never."""
        if route.provider is not None and route.provider.limits.tls == "required":
            return True
        return {"required": True, "off": False}.get(self.tls)

    # -- workers ------------------------------------------------------------------------------

    async def _worker(self, route: _Route, lane: _Lane) -> None:
        try:
            while lane.waiting:
                budget = await self._budget(route)
                lease = await self.backend.open_connection(
                    route.key, limit=budget.connections, rate=budget.connection_rate
                )
                if isinstance(lease, Decision):
                    if lease.suspended:
                        await self._suspend_route(route, lease.wait)
                        return
                    # At a shared connection limit the wait is the oldest lease's expiry, but
                    # a lease may be released long before: ask again within a second.
                    await asyncio.sleep(min(lease.wait, LEASE_POLL))
                    continue
                if not route.resumed:
                    route.resumed = True
                    self._emit(SendEvent(kind="resumed", key=route.key, at=self.clock()))
                try:
                    pause = await self._connection(route, lane, lease)
                finally:
                    await self.backend.release(lease)
                if pause is None:
                    return
                if pause > 0:
                    await asyncio.sleep(pause)
        finally:
            lane.workers -= 1
            if not lane.workers:
                # The last worker leaves: nothing may stay claimed in memory without one.
                for job in lane.waiting.clear():
                    self._release(job)
                    for rid, _, _ in job.recipients:
                        await self.spool.defer(
                            rid, "no connection", at=self.clock() + 1.0, attempt=False
                        )
                route.lanes.pop(lane.hosts, None)

    async def _suspend_route(self, route: _Route, wait: float) -> None:
        """The whole budget is suspended: park every message of it."""
        route.suspended_until = self.clock() + wait
        route.resumed = False
        for lane in route.lanes.values():
            jobs = lane.waiting.clear()
            if jobs:
                await self._park(jobs, wait, route.key, True)

    async def _park(self, jobs: Iterable[Job], wait: float, key: BudgetKey, held: bool) -> None:
        """Return suspended messages to the spool, due when the suspension ends."""
        jobs = list(jobs)
        if held:
            self._emit(SendEvent(kind="held", key=key, at=self.clock()))
        at = self.clock() + wait
        for job in jobs:
            self._release(job)
            for rid, _, _ in job.recipients:
                await self.spool.defer(rid, "suspended", at=at, attempt=False)

    async def _connect(
        self, route: _Route, hosts: Sequence[str]
    ) -> tuple[aiosmtplib.SMTP | None, str, tuple[int, str] | None]:
        """Connect to the first MX host that answers.

        Returns:
            The client, or None with why not and the last refusal the servers replied.
        """
        start_tls = self._tls(route)
        error, refusal = "no MX host address", None
        for host in hosts:
            address = await self._address(host)
            if address is None:
                continue
            smtp = aiosmtplib.SMTP(
                hostname=address[0],
                port=address[1],
                local_hostname=route.egress.helo,
                source_address=(route.egress.ip, 0) if route.egress.ip else None,
                timeout=self.timeout,
                start_tls=start_tls,
                # MTA to MTA: certificates are not validated (RFC 7435); MTA-STS/DANE would.
                validate_certs=False,
            )
            try:
                await smtp.connect()
            except aiosmtplib.SMTPResponseException as exc:  # a 4xx/5xx greeting or EHLO
                refusal = (exc.code, exc.message)
                error = f"{host}: {_line(exc)}"
                smtp.close()
                continue
            except (aiosmtplib.SMTPException, OSError) as exc:
                error = f"{host}: {exc}"
                if start_tls and "STARTTLS" in str(exc):
                    error = f"{host}: TLS required by policy but STARTTLS not offered"
                smtp.close()
                continue
            return smtp, "", None
        return None, error, refusal

    async def _next(self, route: _Route, lane: _Lane, budget: Budget) -> Job | float | None:
        """The next job with a message grant; seconds to wait; or None when none waits."""
        async with lane.lock:
            while True:
                now = time.monotonic()
                job = lane.waiting.peek(now)
                if job is None:
                    ready = lane.waiting.next_ready(now)
                    return None if ready is None else max(0.05, ready - now)
                decision = await self.backend.take_message(
                    route.key, budget.message_rates, tenant=job.tenant, reserve=RESERVE
                )
                if decision.granted:
                    job = lane.waiting.pop(time.monotonic()) or job
                    if decision.wait > 0:
                        await asyncio.sleep(decision.wait)
                    return job
                if decision.suspended == "tenant":
                    tenant = _tenant(job)
                    jobs = lane.waiting.suspend(tenant, time.monotonic() + decision.wait)
                    await self._park(jobs, decision.wait, route.key, True)
                    continue
                if decision.suspended:
                    await self._suspend_route(route, decision.wait)
                    return None
                if decision.wait > IDLE_CLOSE:
                    return decision.wait
                await asyncio.sleep(decision.wait)

    async def _connection(self, route: _Route, lane: _Lane, lease: Lease) -> float | None:
        """One connection's life; returns the pause before the next lease, None to stop."""
        lane.connecting += 1
        try:
            smtp, error, refusal = await self._connect(route, lane.hosts)
        finally:
            lane.connecting -= 1
        stats = self._stats[route.key]
        if smtp is None:
            if refusal is not None:  # "too many connections" at the greeting is a signal too
                await self._judge(route, None, refusal[0], refusal[1])
            if not lane.connected and not lane.connecting:  # nobody gets through: retry later
                for job in lane.waiting.clear():
                    self._release(job)
                    await self._defer_all(route, job, f"connect: {error}")
            return None
        stats.connections += 1
        lane.connected += 1
        sent = 0
        # Deliveries being committed: the next messages go out while the last ones commit
        # (a crash in between re-sends them: duplicates of messages in flight).
        settling: list[asyncio.Future[Any]] = []
        try:
            while True:
                budget = await self._budget(route)
                if sent >= budget.messages_per_connection:
                    return 0.0
                got = await self._next(route, lane, budget)
                if got is None:
                    if self._draining or not await self._linger(lane):
                        return None
                    continue
                if isinstance(got, float):
                    if got > IDLE_CLOSE:  # close now, come back with a new lease
                        return got
                    await asyncio.sleep(got)
                    continue
                job = got
                try:
                    stop = await self._send(route, smtp, job, settling)
                except _Reconnect:
                    if sent == 0:  # closed before any message: a failure, not a reconnect
                        self._release(job)
                        await self._defer_all(route, job, "connection closed by the server")
                        return 0.0
                    lane.waiting.retry.appendleft(job)  # a silent close after N messages
                    return 0.0
                self._release(job)
                sent += 1
                while len(settling) > SETTLING:
                    await asyncio.shield(settling.pop(0))
                if stop:
                    return 0.0
        finally:
            lane.connected -= 1
            for future in settling:
                await asyncio.shield(future)
            if smtp.is_connected:
                try:
                    await smtp.quit()
                except (aiosmtplib.SMTPException, OSError):
                    smtp.close()

    async def _linger(self, lane: _Lane) -> bool:
        """Keep an idle connection up to ``linger`` seconds for more work."""
        lane.changed.clear()
        try:
            async with asyncio.timeout(self.linger):
                await lane.changed.wait()
        except TimeoutError:
            return False
        return True

    async def _defer_all(self, route: _Route, job: Job, reply: str) -> None:
        for rid, _, _ in job.recipients:
            await self._count(route, await self.spool.defer(rid, reply))

    async def _send(
        self,
        route: _Route,
        smtp: aiosmtplib.SMTP,
        job: Job,
        settling: list[asyncio.Future[Any]],
    ) -> bool:
        """Send one job; True when the connection must not be reused.

        The commit of a delivery is appended to ``settling`` rather than awaited.
        """
        stats = self._stats[route.key]
        stats.attempts += 1
        if self._listeners:
            rcpts = ",".join(rcpt for _, rcpt, _ in job.recipients)
            self._emit(
                SendEvent(
                    kind="attempt", message_id=job.message_id, rcpt=rcpts, key=route.key,
                    at=self.clock(),
                )
            )  # fmt: skip
        accepted: list[int] = []
        try:
            await smtp.mail(job.mail_from)
            for i, (rid, rcpt, _) in enumerate(job.recipients):
                try:
                    await smtp.rcpt(rcpt)
                    accepted.append(rid)
                except aiosmtplib.SMTPResponseException as exc:
                    stop = await self._reply(route, job, [rid], exc.code, exc.message)
                    if stop or exc.code == 421:
                        rest = accepted + [r for r, _, _ in job.recipients[i + 1 :]]
                        for other in rest:
                            await self._count(route, await self.spool.defer(other, _line(exc)))
                        return True
            if not accepted:
                await smtp.rset()
                return False
            response = await smtp.data(job.raw)
        except aiosmtplib.SMTPServerDisconnected as exc:
            raise _Reconnect from exc
        except aiosmtplib.SMTPResponseException as exc:
            rids = accepted or [rid for rid, _, _ in job.recipients]
            return await self._reply(route, job, rids, exc.code, exc.message) or exc.code == 421
        except aiosmtplib.SMTPException as exc:  # timeouts, protocol errors: try later
            await self._defer_all(route, job, f"smtp: {exc}")
            return True
        reply = f"{response.code} {response.message}"
        # Concurrent calls share one commit (the spool's group commit).
        done = [self.spool.finish_nowait(rid, "delivered", reply) for rid in accepted]
        future = done[0] if len(done) == 1 else asyncio.gather(*done)
        future.add_done_callback(self._settled)
        settling.append(future)
        stats.delivered += len(accepted)
        await self.shaper.success(route.key)
        return False

    def _settled(self, future: asyncio.Future[Any]) -> None:
        """A delivery is committed: its events can be reported."""
        self._news.set()
        if not future.cancelled():
            future.exception()  # retrieved here too: a connection may be gone before it

    async def _count(self, route: _Route, state: str) -> None:
        self._news.set()
        stats = self._stats[route.key]
        if state == "expired":
            stats.expired += 1
        else:
            stats.deferred += 1

    def _outcome(self, route: _Route, code: int, text: str) -> Outcome:
        if self.classify is not None:
            return self.classify(code, text)
        try:
            reply = parse_reply(f"{code} {text}")
        except ParseError:
            reply = SmtpReply(code=code, enhanced=None, lines=(" ".join(text.split()),))
        return to_outcome(classify_reply(reply, route.provider or self.providers.default))

    async def _reply(
        self, route: _Route, job: Job, rids: Sequence[int], code: int, text: str
    ) -> bool:
        """Apply a failure reply to ``rids``; True when the connection must not be reused."""
        outcome = self._outcome(route, code, text)
        reply = f"{code} {text}".replace("\n", " / ")
        stats = self._stats[route.key]
        at = None
        if outcome.action is OutcomeAction.RETRY and outcome.duration > 0:
            at = self.clock() + outcome.duration  # the server said when
        for rid in rids:
            # 5xx is permanent for this message (RFC 5321) even when it also judges the IP.
            if outcome.action is OutcomeAction.BOUNCE or code >= 500:
                await self.spool.finish(rid, "bounced", reply)
                stats.bounced += 1
                self._news.set()
            else:
                await self._count(route, await self.spool.defer(rid, reply, at=at))
        return await self._judge(route, job, code, text, outcome)

    async def _judge(
        self,
        route: _Route,
        job: Job | None,
        code: int,
        text: str,
        outcome: Outcome | None = None,
    ) -> bool:
        """Let a reply shape the budget; True when the connection must not be reused."""
        outcome = outcome or self._outcome(route, code, text)
        reply = f"{code} {text}".replace("\n", " / ")
        if outcome.rule and not outcome.rule.startswith(("code:", "rfc3463:", "text:")):
            self._stats[route.key].rules[outcome.rule] += 1
        if not outcome.shapes or not await self._fires(route.key, outcome):
            return outcome.scope is OutcomeScope.CONNECTION
        self._emit(SendEvent(kind="rule", key=route.key, reply=reply, rule=outcome.rule,
                             message_id=job.message_id if job else 0, at=self.clock()))  # fmt: skip
        return await self._shape(route, job, outcome, reply)

    async def _fires(self, key: BudgetKey, outcome: Outcome) -> bool:
        """Count a match of the rule; True once its threshold ("2/h") is reached (counted
        over every host that shares the backend)."""
        if outcome.threshold is None:
            return True
        return await self.backend.threshold(
            key,
            outcome.rule,
            count=outcome.threshold.count,
            period=outcome.threshold.period,
        )

    async def _shape(self, route: _Route, job: Job | None, outcome: Outcome, reply: str) -> bool:
        key, now = route.key, self.clock()
        if outcome.action is OutcomeAction.SLOW:
            rule = self.providers.rule(outcome.rule)
            caps = rule is not None and (
                rule.connections or rule.messages_per_connection or rule.message_rate
            )
            if rule is not None and caps:
                changed = await self.shaper.restrict(
                    key,
                    seconds=rule.duration or 3600.0,
                    connections=rule.connections,
                    messages_per_connection=rule.messages_per_connection,
                    message_interval=rule.message_rate.interval if rule.message_rate else None,
                    exit_after=rule.exit_after,
                )
            else:
                changed = await self.shaper.slow(key, exit_after=outcome.exit_after)
            if changed:
                self._emit(SendEvent(kind="slowed", key=key, reply=reply, rule=outcome.rule,
                                     at=now))  # fmt: skip
            return outcome.scope is OutcomeScope.CONNECTION
        if outcome.action in (OutcomeAction.SUSPEND, OutcomeAction.SUSPEND_TENANT):
            tenant = None
            if outcome.action is OutcomeAction.SUSPEND_TENANT:
                if job is None:  # no message to name the tenant: nothing to suspend
                    return False
                tenant = _tenant(job)
            await self.backend.suspend(key, outcome.duration, tenant=tenant, reason=outcome.rule)
            self._emit(SendEvent(kind="suspended", key=key, reply=reply, rule=outcome.rule,
                                 at=now))  # fmt: skip
            return tenant is None
        return outcome.scope is OutcomeScope.CONNECTION

    # -- observability ------------------------------------------------------------------------

    async def stats(self) -> dict[str, Any]:
        """Counters since start and the shaping state, per budget (JSON-serialisable).

        Returns:
            ``{"egress|group": {"egress", "group", "attempts", "delivered", "deferred",
            "bounced", "expired", "connections", "rules", "waiting", "suspended_for",
            "factor", "limits"}}``.
        """
        result: dict[str, Any] = {}
        for key in sorted(set(self._stats) | set(self._routes)):
            s = self._stats[key]
            route = self._routes.get(key)
            state = await self.shaper.state(key)
            held = await self.backend.take_message(key, (), reserve=0.0)
            result[f"{key[0]}|{key[1]}"] = {
                "egress": key[0],
                "group": key[1],
                "attempts": s.attempts,
                "delivered": s.delivered,
                "deferred": s.deferred,
                "bounced": s.bounced,
                "expired": s.expired,
                "connections": s.connections,
                "rules": dict(s.rules),
                "waiting": sum(len(x.waiting) for x in route.lanes.values()) if route else 0,
                "suspended_for": round(held.wait, 3) if held.suspended == "budget" else 0.0,
                "factor": state["factor"],
                "limits": state["limits"] if state["limits_until"] > self.clock() else {},
            }
        return result


async def _any_of(events: Sequence[asyncio.Event], timeout: float | None) -> None:
    """Wait until one of ``events`` is set, at most ``timeout`` seconds."""
    futures = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(futures, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for future in futures:
            future.cancel()


def _line(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".replace("\n", " / ")
