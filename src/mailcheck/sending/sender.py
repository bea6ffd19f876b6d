"""The Sender: takes recipients from the spool and delivers them under shaping.

Per budget key (egress IP, provider group) one worker opens connections within the limits
(lease + connection-open rate), sends up to ``messages_per_connection`` messages per
connection, and turns each reply into a per-recipient state and, when the reply concerns
the provider, a shaping action. A silent close after a message is a reconnect, not a
failure. A suspended group parks its messages without burning attempts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import aiosmtplib

from mailcheck.errors import TempError
from mailcheck.lookup import Resolver
from mailcheck.sending.outcome import Outcome, OutcomeAction, OutcomeScope, basic_classify
from mailcheck.sending.redis_backend import Decision, Lease
from mailcheck.sending.redis_board import BudgetKey
from mailcheck.sending.shaping import Budget, MemoryBackend, Shaper, ShapingBackend
from mailcheck.sending.spool import Job, SqliteSpool

__all__ = ["SendEvent", "Sender"]

Classify = Callable[[int, str], Outcome]


class Signer(Protocol):
    """Anything that DKIM-signs a message."""

    def sign(self, message: bytes, /) -> bytes:
        """The message with its signature header."""
        ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SendEvent:
    """Something that happened: a recipient state (``delivered``, ``deferred``, ``bounced``,
    ``expired``) reported once from the spool, or a shaping change (``suspended``,
    ``slowed``, ``held``)."""

    kind: str
    message_id: int = 0
    rcpt: str = ""
    reply: str = ""
    key: tuple[str, str] = ("", "")
    at: float = 0.0


class _Reconnect(Exception):
    """The server closed the connection: open another one."""


class Sender:
    """Deliver spooled messages to their MX hosts, shaped per (egress IP, provider group).

    Args:
        spool: the durable queue.
        resolver: DNS resolver for MX and addresses.
        backend: shaping state (default: a :class:`MemoryBackend` persisted in the spool).
        signer: DKIM signer applied once at submission (``sign(bytes) -> bytes``).
        budgets: provider group -> Budget; groups not listed use ``default_budget``.
        group_of: maps (domain, MX hosts) to a provider group (default: the MX host set).
        source_address: egress IP to bind (also the first part of the budget key).
        helo: the EHLO name.
        mx_override: host -> (address, port), for tests and relays.
        tls: ``opportunistic`` (STARTTLS when offered), ``required`` or ``off``.
        classify: ``(code, text) -> Outcome``.
        on_event: called with every :class:`SendEvent`.
        clock: wall-clock seconds.
        timeout: seconds for each SMTP command.
    """

    def __init__(
        self,
        *,
        spool: SqliteSpool,
        resolver: Resolver,
        backend: ShapingBackend | None = None,
        signer: Signer | None = None,
        budgets: Mapping[str, Budget] | None = None,
        default_budget: Budget | None = None,
        group_of: Callable[[str, Sequence[str]], str] | None = None,
        source_address: str | None = None,
        helo: str | None = None,
        mx_override: Mapping[str, tuple[str, int]] | None = None,
        tls: str = "opportunistic",
        classify: Classify = basic_classify,
        on_event: Callable[[SendEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
    ) -> None:
        self.spool, self.resolver, self.signer = spool, resolver, signer
        self.backend = backend or MemoryBackend(clock=clock, store=spool)
        self.shaper = Shaper(self.backend, clock=clock)
        self.budgets = dict(budgets or {})
        self.default_budget = default_budget or Budget()
        self.group_of = group_of or (lambda domain, hosts: ",".join(sorted(hosts)) or domain)
        self.source_address, self.helo = source_address, helo
        self.mx_override = dict(mx_override or {})
        self.tls, self.classify, self.clock, self.timeout = tls, classify, clock, timeout
        self._listeners: list[Callable[[SendEvent], None]] = [on_event] if on_event else []
        self._wake = asyncio.Event()

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._flush_events()

    def subscribe(self, listener: Callable[[SendEvent], None], /) -> None:
        """Call ``listener`` with every future event."""
        self._listeners.append(listener)

    def _emit(self, event: SendEvent) -> None:
        for listener in self._listeners:
            listener(event)

    async def _flush_events(self) -> None:
        events = await self.spool.events()
        for e in events:
            self._emit(
                SendEvent(kind=e.kind, message_id=e.message_id, rcpt=e.rcpt, reply=e.reply, at=e.at)
            )
        if events:
            await self.spool.ack([e.id for e in events])

    async def submit(
        self, raw: bytes, /, *, mail_from: str, rcpt_to: Sequence[str], tenant: str | None = None
    ) -> int:
        """Sign (when a signer is set) and queue a message; returns after the commit."""
        if self.signer is not None:
            raw = self.signer.sign(raw)
        mid = await self.spool.submit(raw, mail_from=mail_from, rcpt_to=rcpt_to, tenant=tenant)
        self._wake.set()
        return mid

    async def run_until_idle(self) -> None:
        """Deliver until no recipient is due now (deferred ones stay for later)."""
        while jobs := await self.spool.claim(limit=500):
            routes: dict[BudgetKey, tuple[list[str], list[Job]]] = {}
            for job in jobs:
                hosts = await self._mx_hosts(job)
                if hosts is None:
                    continue
                key = (self.source_address or "default", self.group_of(job.domain, hosts))
                routes.setdefault(key, (hosts, []))[1].append(job)
            async with asyncio.TaskGroup() as tg:
                for key, (hosts, group_jobs) in routes.items():
                    tg.create_task(self._work(key, hosts, group_jobs))
            await self._flush_events()
        await self._flush_events()

    async def run(self, *, poll: float = 1.0) -> None:
        """Deliver forever, waking on submissions and when deferred recipients fall due."""
        while True:
            self._wake.clear()
            await self.run_until_idle()
            due = await self.spool.next_due()
            wait = poll if due is None else min(poll, max(0.0, due - self.clock()))
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _mx_hosts(self, job: Job) -> list[str] | None:
        try:
            answer = await self.resolver.query(job.domain, "MX")
        except TempError as exc:
            for rid, _, _ in job.recipients:
                await self.spool.defer(rid, f"dns: {exc}")
            return None
        hosts = [host for _, host in answer.mx_hosts()] if answer.ok else [job.domain]
        if hosts == ["."]:
            for rid, _, _ in job.recipients:
                await self.spool.finish(rid, "bounced", "550 5.1.10 null MX")
            return None
        return hosts

    async def _address(self, host: str) -> tuple[str, int] | None:
        if host in self.mx_override:
            return self.mx_override[host]
        try:
            answer = await self.resolver.query(host, "A")
        except TempError:
            return None
        addresses = answer.addresses() if answer.ok else ()
        return (str(addresses[0]), 25) if addresses else None

    async def _budget(self, key: BudgetKey) -> Budget:
        return await self.shaper.effective(key, self.budgets.get(key[1], self.default_budget))

    async def _work(self, key: BudgetKey, hosts: list[str], jobs: list[Job]) -> None:
        """Deliver ``jobs`` over up to ``connections`` connections sharing one list."""
        pending = list(jobs)
        budget = await self._budget(key)
        workers = min(budget.connections, -(-len(jobs) // budget.messages_per_connection))
        async with asyncio.TaskGroup() as tg:
            for _ in range(max(1, workers)):
                tg.create_task(self._worker(key, hosts, pending))

    async def _worker(self, key: BudgetKey, hosts: list[str], pending: list[Job]) -> None:
        while pending:
            budget = await self._budget(key)
            lease = await self.backend.open_connection(
                key, limit=budget.connections, rate=budget.connection_rate
            )
            if isinstance(lease, Decision):
                if lease.suspended:
                    await self._park(key, pending, lease.wait)
                    pending.clear()
                    return
                await asyncio.sleep(lease.wait)
                continue
            try:
                await self._connection(key, hosts, pending, lease)
            finally:
                await self.backend.release(lease)

    async def _park(self, key: BudgetKey, jobs: Sequence[Job], wait: float) -> None:
        self._emit(SendEvent(kind="held", key=key, at=self.clock()))
        at = self.clock() + wait
        for job in jobs:
            for rid, _, _ in job.recipients:
                await self.spool.defer(rid, "suspended", at=at, attempt=False)

    async def _connect(self, hosts: list[str]) -> aiosmtplib.SMTP | None:
        start_tls = {"required": True, "off": False}.get(self.tls)
        for host in hosts:
            address = await self._address(host)
            if address is None:
                continue
            smtp = aiosmtplib.SMTP(
                hostname=address[0],
                port=address[1],
                local_hostname=self.helo,
                source_address=(self.source_address, 0) if self.source_address else None,
                timeout=self.timeout,
                start_tls=start_tls,
                validate_certs=False,
            )
            try:
                await smtp.connect()
            except (aiosmtplib.SMTPException, OSError):
                continue
            return smtp
        return None

    async def _connection(
        self, key: BudgetKey, hosts: list[str], pending: list[Job], lease: Lease
    ) -> None:
        smtp = await self._connect(hosts)
        if smtp is None:
            while pending:
                for rid, _, _ in pending.pop().recipients:
                    await self.spool.defer(rid, "connect: no MX host answered")
            return
        sent = 0
        try:
            while pending and sent < (await self._budget(key)).messages_per_connection:
                job = pending.pop(0)
                budget = await self._budget(key)
                decision = await self.backend.take_message(
                    key, budget.message_rates, tenant=job.tenant, reserve=60.0
                )
                if not decision.granted:
                    pending.insert(0, job)
                    if decision.suspended:
                        tenant = job.tenant if decision.suspended == "tenant" else None
                        held = [j for j in pending if tenant is None or j.tenant == tenant]
                        await self._park(key, held, decision.wait)
                        pending[:] = [j for j in pending if j not in held]
                    else:
                        await asyncio.sleep(decision.wait)
                    continue
                await asyncio.sleep(decision.wait)
                try:
                    stop = await self._send(key, smtp, job)
                except _Reconnect:
                    if sent == 0:  # closed before any message: a failure, not a reconnect
                        for rid, _, _ in job.recipients:
                            await self.spool.defer(rid, "connection closed")
                    else:  # a silent close after N messages: a new connection takes it
                        pending.insert(0, job)
                    return
                sent += 1
                if stop:
                    return
        finally:
            if smtp.is_connected:
                try:
                    await smtp.quit()
                except (aiosmtplib.SMTPException, OSError):
                    smtp.close()

    async def _send(self, key: BudgetKey, smtp: aiosmtplib.SMTP, job: Job) -> bool:
        """Send one job; True when the connection must not be reused."""
        accepted: list[int] = []
        try:
            await smtp.mail(job.mail_from)
            for i, (rid, rcpt, _) in enumerate(job.recipients):
                try:
                    await smtp.rcpt(rcpt)
                    accepted.append(rid)
                except aiosmtplib.SMTPResponseException as exc:
                    stop = await self._reply(key, job, [rid], exc.code, exc.message)
                    if stop or exc.code == 421:
                        rest = accepted + [r for r, _, _ in job.recipients[i + 1 :]]
                        for other in rest:
                            await self.spool.defer(other, f"{exc.code} {exc.message}")
                        return True
            if not accepted:
                await smtp.rset()
                return False
            response = await smtp.data(job.raw)
        except aiosmtplib.SMTPServerDisconnected as exc:
            raise _Reconnect from exc
        except aiosmtplib.SMTPResponseException as exc:
            rids = accepted or [rid for rid, _, _ in job.recipients]
            return await self._reply(key, job, rids, exc.code, exc.message) or exc.code == 421
        reply = f"{response.code} {response.message}"
        for rid in accepted:
            await self.spool.finish(rid, "delivered", reply)
        await self.shaper.success(key)
        return False

    async def _reply(
        self, key: BudgetKey, job: Job, rids: Sequence[int], code: int, text: str
    ) -> bool:
        """Apply a failure reply to ``rids``; True when the budget was suspended."""
        outcome = self.classify(code, text)
        reply = f"{code} {text}"
        for rid in rids:
            if outcome.action is OutcomeAction.BOUNCE:
                await self.spool.finish(rid, "bounced", reply)
            else:
                await self.spool.defer(rid, reply)
        if not outcome.shapes:
            return False
        return await self._shape(key, job, outcome, reply)

    async def _shape(self, key: BudgetKey, job: Job, outcome: Outcome, reply: str) -> bool:
        now = self.clock()
        if outcome.action is OutcomeAction.SLOW:
            if await self.shaper.slow(key, exit_after=outcome.exit_after):
                self._emit(SendEvent(kind="slowed", key=key, reply=reply, at=now))
            return False
        if outcome.action in (OutcomeAction.SUSPEND, OutcomeAction.SUSPEND_TENANT):
            tenant = job.tenant if outcome.action is OutcomeAction.SUSPEND_TENANT else None
            await self.backend.suspend(key, outcome.duration, tenant=tenant, reason=outcome.rule)
            self._emit(SendEvent(kind="suspended", key=key, reply=reply, at=now))
            return True
        return outcome.scope is OutcomeScope.CONNECTION
