"""The workers of a lane: a connection lease, one connection at a time, one message grant
at a time, one SMTP transaction per job; replies become recipient states in the spool and
shaping through the :class:`~mailcheck.sending.judge.Judge`.

A silent close after some messages is a reconnect, not a failure. Every per-recipient
error of a transaction (a reply, an address the client refuses) is that recipient's
outcome; only the spool failing to commit escapes, and reaches the caller of ``run``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from mailcheck.hygiene.classify import BounceCodes
from mailcheck.hygiene.suppression import SuppressionList
from mailcheck.hygiene.verp import UnsubscribeConfig, VerpConfig
from mailcheck.sending.events import EventKind, Listeners, SendEvent
from mailcheck.sending.judge import Judge
from mailcheck.sending.lanes import Lane, Route, tenant_of
from mailcheck.sending.providers import ProviderSet
from mailcheck.sending.routing import Router
from mailcheck.sending.session import Session, SmtpFailure, SmtpReplyError, Transport
from mailcheck.sending.shaper import Shaper
from mailcheck.sending.shaping import Budget, ShapingBackend
from mailcheck.sending.spool import TRANSACTIONAL, Job, SqliteSpool
from mailcheck.sending.tlspolicy import EffectiveTls, TlsReport
from mailcheck.sending.transaction import (
    Classify,
    Counters,
    Reconnect,
    Transactions,
    session_tls,
)
from mailcheck.sending.types import Clock, Decision, Lease

__all__ = ["Delivery"]

#: Seconds of message grants a worker may reserve ahead: a transactional message submitted
#: now waits at most this long behind grants already promised to bulk mail.
RESERVE = 1.0
#: A worker that would wait longer than this for its next grant closes its connection
#: (servers drop idle sessions after minutes; an idle lease would block other lanes).
IDLE_CLOSE = 30.0
#: Deliveries of one connection whose commit may still be under way while it goes on.
SETTLING = 4
#: Longest wait (seconds) before asking again for a connection lease that was refused.
LEASE_POLL = 1.0
#: Shortest wait before asking again (a lane's only worker, waiting for another lane's).
LEASE_MIN = 0.25
#: Seconds given to QUIT before the connection is simply dropped.
QUIT_TIMEOUT = 2.0


class Delivery(Transactions):
    """Runs the workers of lanes. The Sender owns it and everything it is given."""

    def __init__(
        self,
        *,
        spool: SqliteSpool,
        router: Router,
        transport: Transport,
        backend: ShapingBackend,
        shaper: Shaper,
        judge: Judge,
        providers: ProviderSet,
        listeners: Listeners,
        clock: Clock,
        budget_of: Callable[[Route], Awaitable[Budget]],
        hold: Callable[[Route, float, str, bool], Awaitable[None]],
        release: Callable[[Job], None],
        settled: Callable[[asyncio.Future[Any]], None],
        tls: str,
        timeout: float,
        linger: float,
        classify: Classify | None,
        suppressions: SuppressionList,
        verp: VerpConfig | None = None,
        unsubscribe: UnsubscribeConfig | None = None,
        late_signer: Callable[[bytes], bytes] | None = None,
        bounce_codes: BounceCodes | None = None,
    ) -> None:
        self.spool, self.router, self.transport = spool, router, transport
        self.backend, self.shaper, self.judge = backend, shaper, judge
        self.providers, self.listeners, self.clock = providers, listeners, clock
        self.budget_of, self.hold, self.release, self.settled = budget_of, hold, release, settled
        self.tls, self.timeout, self.linger, self.classify = tls, timeout, linger, classify
        self.suppressions, self.verp, self.bounce_codes = suppressions, verp, bounce_codes
        self.unsubscribe, self.late_signer = unsubscribe, late_signer
        self.counters: dict[tuple[str, str], Counters] = {}
        self.draining = False  # run_until_idle: an idle connection does not linger
        self.stopping = False  # stop(): no new transaction starts
        self.stopped = asyncio.Event()  # set with ``stopping``: wakes every wait
        self.news = asyncio.Event()  # recipient states to report

    async def worker(self, route: Route, lane: Lane) -> None:
        """Send the lane's messages until none waits (or a stop, or a suspension)."""
        loop = asyncio.get_running_loop()
        try:
            while lane.waiting and not self.stopping:
                if route.paused_until > loop.time() and not route.bulk_only:
                    return  # the pause parked the lane's jobs (or will, for late ones)
                budget = await self.budget_of(route)
                lease = await self.backend.open_connection(
                    route.key, limit=budget.connections, rate=budget.connection_rate
                )
                if isinstance(lease, Decision):
                    if lease.suspended:
                        await self.hold(route, lease.wait, "suspended", False)
                        return
                    if lane.workers > 1:
                        return  # more workers than connections allowed: this one is spare
                    # At a shared connection limit the wait is the oldest lease's expiry, but
                    # a lease may be released long before: ask again within a second.
                    await self.wait(min(max(lease.wait, LEASE_MIN), LEASE_POLL))
                    continue
                try:
                    pause = await self._connection(route, lane, lease)
                finally:
                    await self.backend.release(lease)
                if pause is None:
                    return
                if pause > 0:
                    await self.wait(pause)
        finally:
            lane.workers -= 1
            # The last worker leaves: nothing may stay claimed in memory without one.
            left = route.retire(lane)
            await self.give_back(left, "not sent yet", at=self.clock() + self.paused_for(route))

    async def wait(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the run is stopped."""
        if self.stopping or seconds <= 0:
            return
        try:
            async with asyncio.timeout(seconds):
                await self.stopped.wait()
        except TimeoutError:
            pass

    async def give_back(self, jobs: Sequence[Job], reason: str, *, at: float) -> None:
        """Return claimed jobs to the spool, due at ``at``, without burning an attempt."""
        for job in jobs:
            self.release(job)
        if jobs:
            await asyncio.gather(
                *(
                    self.spool.defer(rid, reason, at=at, attempt=False)
                    for job in jobs
                    for rid, _, _ in job.recipients
                )
            )
            self.news.set()

    def _tls(self, route: Route) -> bool | None:
        """True = STARTTLS required, None = when offered, False = never."""
        if route.provider is not None and route.provider.limits.tls == "required":
            return True
        return {"required": True, "off": False}.get(self.tls)

    async def _connect(self, route: Route, lane: Lane) -> tuple[Session | None, str]:
        """Connect to the first MX host that answers; or None and why not."""
        error = "no MX host address"
        for host in lane.hosts:
            address = await self.router.address(host)
            if address is None:
                continue
            try:
                session = await self.transport.connect(
                    address, host=host, egress=route.egress, tls=self._tls(route),
                    timeout=self.timeout,
                )  # fmt: skip
            except SmtpReplyError as exc:  # a refusal at the greeting is a signal too
                error = f"{host}: {exc.line}"
                verdict = self._classify(route, exc.code, exc.message)
                await self.judge.judge(route, verdict, exc.line, tenant=None)
                continue
            except SmtpFailure as exc:
                error = str(exc)
                self._tls_report(route, exc.report)
                continue
            self._tls_report(route, getattr(session, "tls_report", None))
            return session, ""
        return None, error

    def _tls_report(self, route: Route, report: TlsReport | None) -> None:
        """A TLS failure met connecting, as a ``tls-report`` event."""
        if report is None or not self.listeners:
            return
        self.listeners.emit(
            SendEvent(
                kind=EventKind.TLS_REPORT, rcpt=",".join(report.domains), reply=report.reason,
                key=route.key, at=self.clock(), tls=str(EffectiveTls.of(report.mode)),
                host=report.host,
            )
        )  # fmt: skip

    async def _connection(self, route: Route, lane: Lane, lease: Lease) -> float | None:
        """One connection's life; returns the pause before the next lease, None to stop."""
        lane.connecting += 1
        try:
            session, error = await self._connect(route, lane)
        finally:
            lane.connecting -= 1
        if session is None:
            if not lane.connected and not lane.connecting:  # nobody gets through: retry later
                jobs = lane.waiting.clear()
                for job in jobs:
                    self.release(job)
                await asyncio.gather(
                    *(self._defer_all(route, j, f"connect: {error}") for j in jobs)
                )
            return None
        self._count(route).connections += 1
        lane.connected += 1
        sent = 0
        # Deliveries being committed: the next messages go out while the last ones commit
        # (a crash in between re-sends them: duplicates of messages in flight).
        settling: list[asyncio.Future[Any]] = []
        try:
            while not self.stopping:
                budget = await self.budget_of(route)
                if sent >= budget.messages_per_connection:
                    return 0.0
                got = await self._next(route, lane, budget)
                if got is None:
                    if self.draining or self.stopping or not await self._linger(lane):
                        return None
                    continue
                if isinstance(got, float):
                    if got > IDLE_CLOSE:  # close now, come back with a new lease
                        return got
                    await self.wait(got)
                    continue
                try:
                    stop = await self._send(route, session, got, settling)
                except Reconnect:
                    if sent == 0:  # closed before any message: a failure, not a reconnect
                        self.release(got)
                        await self._defer_all(
                            route, got, "connection closed by the server",
                            tls=session_tls(session),
                        )  # fmt: skip
                        return 0.0
                    lane.waiting.retry.appendleft(got)  # a silent close after N messages
                    return 0.0
                self.release(got)
                sent += 1
                while len(settling) > SETTLING:
                    await asyncio.shield(settling.pop(0))
                if stop:
                    return 0.0
            return None
        finally:
            lane.connected -= 1
            for future in settling:
                await asyncio.shield(future)
            # A cancelled run must not wait out a stuck server's timeout to say goodbye.
            try:
                async with asyncio.timeout(QUIT_TIMEOUT):
                    await session.quit()
            except TimeoutError:
                pass

    async def _next(self, route: Route, lane: Lane, budget: Budget) -> Job | float | None:
        """The next job with a message grant; seconds to wait; or None when none waits."""
        loop = asyncio.get_running_loop()
        async with lane.lock:
            while not self.stopping:
                job = lane.waiting.peek(loop.time())
                if job is None:
                    ready = lane.waiting.next_ready(loop.time())
                    return None if ready is None else max(0.05, ready - loop.time())
                if await self._paused_tenant(lane, job):
                    continue
                decision = await self.backend.take_message(
                    route.key, budget.message_rates, tenant=job.tenant, reserve=RESERVE
                )
                if decision.granted:
                    # The lane may have been emptied meanwhile (a suspension parked its
                    # jobs): then the grant is wasted, never a parked job sent.
                    taken = lane.waiting.pop(loop.time())
                    if taken is None:
                        return None
                    if decision.wait > 0:
                        await asyncio.sleep(decision.wait)
                    return taken
                if decision.suspended == "tenant":
                    tenant = tenant_of(job)
                    jobs = lane.waiting.suspend(tenant, loop.time() + decision.wait)
                    await self.give_back(jobs, "tenant suspended", at=self.clock() + decision.wait)
                    continue
                if decision.suspended:
                    await self.hold(route, decision.wait, "suspended", False)
                    return None
                if decision.wait > IDLE_CLOSE:
                    return decision.wait
                await self.wait(decision.wait)
            return None

    async def _paused_tenant(self, lane: Lane, job: Job) -> bool:
        """Park ``job`` (taken from the lane's head) when it is bulk mail of a tenant whose
        complaint rate paused it (:mod:`mailcheck.hygiene.rates`); its transactional
        mail goes on. The spool no longer claims the tenant's bulk mail meanwhile."""
        if job.priority >= TRANSACTIONAL:
            return False
        pause = self.spool.paused_tenants.get(job.tenant or "")
        if pause is None or pause[0] <= self.spool.clock():
            return False
        taken = lane.waiting.pop(asyncio.get_running_loop().time())
        if taken is None:
            return False
        await self.give_back([taken], f"tenant paused: {pause[1]}", at=pause[0])
        return True

    async def _linger(self, lane: Lane) -> bool:
        """Keep an idle connection up to ``linger`` seconds for more work."""
        lane.changed.clear()
        try:
            async with asyncio.timeout(self.linger):
                await lane.changed.wait()
        except TimeoutError:
            return False
        return True

    # -- one transaction -----------------------------------------------------------------------
