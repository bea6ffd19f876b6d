"""The Sender: takes recipients from the spool and delivers them under shaping.

A feeder claims due recipients (highest priority first), routes each message
(:mod:`~mailcheck.sending.routing`) to a *budget* keyed by (egress IP, provider group) and
within it to a *lane*, one MX host set (:mod:`~mailcheck.sending.lanes`). Workers
(:mod:`~mailcheck.sending.delivery`) send each lane's messages under the budget's limits
and learned pace (:mod:`~mailcheck.sending.shaper`); replies shape the budget through the
:mod:`~mailcheck.sending.judge`. Every task runs in one ``asyncio.TaskGroup`` per run:
an unexpected error in a worker (the spool cannot commit) reaches the caller of ``run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mailcheck.errors import ConfigError, MailcheckError
from mailcheck.hygiene.classify import BounceCodes
from mailcheck.hygiene.rates import ComplaintPolicy, Rate, SoftBouncePolicy
from mailcheck.hygiene.suppression import SuppressionList
from mailcheck.hygiene.verp import UnsubscribeConfig, VerpConfig
from mailcheck.lookup import DnsResolver, Resolver
from mailcheck.sending.delivery import Delivery
from mailcheck.sending.events import Listeners, SendEvent
from mailcheck.sending.fairness import FairnessConfig
from mailcheck.sending.feeder import Feeder
from mailcheck.sending.judge import Judge
from mailcheck.sending.lanes import Route
from mailcheck.sending.pacing import PacePolicy
from mailcheck.sending.progress import SendProgress, build_progress, merge_shaping
from mailcheck.sending.providers import ProviderSet
from mailcheck.sending.routing import Router
from mailcheck.sending.session import Egress, SmtpTransport, Transport
from mailcheck.sending.shaper import Shaper
from mailcheck.sending.shaping import Budget, MemoryBackend, ShapingBackend
from mailcheck.sending.spool import SqliteSpool
from mailcheck.sending.submission import BULK_LINT_PROFILES, Signer, Submitting, lint_settings
from mailcheck.sending.transaction import Classify
from mailcheck.sending.types import BudgetKey, Clock
from mailcheck.sending.warmup import WarmupPlan

if TYPE_CHECKING:
    from mailcheck.sending.tlspolicy import TlsPolicyCache

__all__ = ["Egress", "Sender"]

#: Most domains :meth:`Sender.progress` routes in one call (the rest stay "not routed yet").
PROGRESS_ROUTES = 200
WAITING = ("queued", "deferred", "sending")

#: The drain target: the rate rises only when the mail waiting for a provider would not
#: leave within this many seconds at the current rate.
DRAIN_TARGET = 3600.0


class Sender(Submitting):
    """Deliver spooled messages to their MX hosts, shaped per (egress IP, provider group).

    Args:
        spool: the durable queue.
        resolver: DNS for MX and addresses (default: the system's nameservers).
        egress: the source addresses to send from; each message leaves from one of them.
        providers: the provider dataset (default: the built-in one).
        backend: shaping state (default: a :class:`MemoryBackend` persisted in the spool;
            a :class:`~mailcheck.sending.redis_backend.RedisBackend` to share budgets).
        signer: DKIM signer applied once at submission.
        budgets: group -> Budget, overriding the dataset's limits for that group.
        default_budget: the budget of groups the dataset does not name.
        group_of: (domain, MX hosts) -> group (default: ``providers.group_of``).
        fairness: weights and caps of tenants sharing a budget.
        pacing: group -> :class:`PacePolicy` (default: the dataset's first-contact pace
            and ceiling, with ``drain_target``).
        drain_target: seconds within which the mail waiting for a provider should leave;
            the pace rises only when it would not.
        warmup: a :class:`~mailcheck.sending.warmup.WarmupPlan` capping each provider's
            messages a day while the egress IPs are new, counted from ``warmup_start``
            (wall clock of the IPs' first day).
        source_address: shorthand for ``egress=[Egress(source_address, helo)]``.
        helo: the EHLO name when ``egress`` is not given.
        mx_override: host -> (address, port), for tests and relays.
        port: the SMTP port of destinations.
        tls: ``opportunistic``, ``required`` or ``off``; a provider whose entry says
            ``required`` always gets ``required``.
        classify: ``(code, text) -> Classification`` replacing the dataset's rules.
        transport: opens SMTP sessions (default: aiosmtplib; simulations plug in theirs).
        on_event: called with every :class:`SendEvent`.
        suppression: honour the suppression list kept in the spool's database
            (:class:`~mailcheck.hygiene.suppression.SuppressionList`, at :attr:`suppressions`):
            a suppressed recipient is recorded ``suppressed`` at submission, at its claim
            and just before its attempt instead of being sent; a hard bounce suppresses
            at once, soft bounces are counted; a tenant paused for its complaint rate sends
            no bulk mail. Default: the spool's setting (on). Unsubscribes and complaints
            stop bulk mail only; hard bounces and manual entries stop all mail.
        complaints: the complaint-rate thresholds (0.1 % warns, 0.3 % pauses).
        soft_bounces: how many soft-bounced messages in how many days suppress.
        bounce_codes: the bounce classification (default: ``bounce_codes.toml``).
        verp: per-recipient return paths ``bounces+<token>@domain`` and a tracking
            header; each recipient then gets its own transaction.
        unsubscribe: RFC 8058 one-click unsubscribe headers for bulk mail submitted with
            ``list=``, one per recipient, added before DKIM signing: the ``signer`` then
            signs each copy when it is sent instead of once at submission, and each
            recipient gets its own transaction.
        lint: ``off``, ``warn`` or ``refuse``: bulk mail is linted at submission against
            ``lint_profiles`` (:func:`~mailcheck.lint.lint_offline`, no DNS); ``warn``
            emits a ``lint`` event when a provider would reject it or it is at risk,
            ``refuse`` raises :class:`~mailcheck.sending.submission.LintRefused` when a
            provider would reject it, and nothing is queued.
        lint_profiles: the profiles of ``docs/bulk-sender-rules.md`` (default: baseline
            and the Gmail, Yahoo and Microsoft bulk rules).
        tls_policy: MTA-STS and DANE for the destinations
            (:class:`~mailcheck.sending.tlspolicy.TlsPolicyCache`): under an ``enforce``
            policy or valid TLSA records a host needs authenticated TLS and a failure
            defers; ``testing`` policies deliver and report. Default: not applied.
        clock: wall-clock seconds (a simulation passes its virtual clock).
        timeout: seconds for each SMTP command.
        prefetch: messages per domain held in memory, ready to send.
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
        pacing: Callable[[str], PacePolicy] | None = None,
        drain_target: float = DRAIN_TARGET,
        warmup: WarmupPlan | None = None,
        warmup_start: float | None = None,
        source_address: str | None = None,
        helo: str | None = None,
        mx_override: Mapping[str, tuple[str, int]] | None = None,
        port: int = 25,
        tls: str = "opportunistic",
        classify: Classify | None = None,
        transport: Transport | None = None,
        on_event: Callable[[SendEvent], None] | None = None,
        suppression: bool | None = None,
        complaints: ComplaintPolicy | None = None,
        soft_bounces: SoftBouncePolicy | None = None,
        bounce_codes: BounceCodes | None = None,
        verp: VerpConfig | None = None,
        unsubscribe: UnsubscribeConfig | None = None,
        lint: str = "off",
        lint_profiles: Sequence[str] = BULK_LINT_PROFILES,
        tls_policy: TlsPolicyCache | None = None,
        clock: Clock = time.time,
        timeout: float = 30.0,
        prefetch: int = 100,
        linger: float = 2.0,
    ) -> None:
        if tls not in ("opportunistic", "required", "off"):
            raise ConfigError(f"tls must be opportunistic, required or off, not {tls!r}")
        self.lint, self.lint_profiles = lint_settings(lint, lint_profiles)
        if not (drain_target > 0 and math.isfinite(drain_target)):
            raise ConfigError("drain_target must be a positive number of seconds")
        self.spool, self.signer, self.clock = spool, signer, clock
        if suppression is not None:
            spool.suppression = suppression
        self.verp, self.unsubscribe = verp, unsubscribe
        # Headers per recipient must be signed too: the copy is signed when it is sent.
        self.sign_when_sent = unsubscribe is not None
        #: The suppression list in the spool's database (add, remove, record complaints).
        self.suppressions = SuppressionList(spool, complaints=complaints, soft_bounces=soft_bounces)
        self.egress = tuple(egress) or (Egress(source_address, helo),)
        self.providers = providers if providers is not None else ProviderSet.load()
        self.backend = backend or MemoryBackend(clock=clock, store=spool)
        self.shaper = Shaper(self.backend, clock=clock)
        self.budgets = dict(budgets or {})
        self.default_budget = default_budget or self.providers.default.limits.budget()
        self._pacing = pacing or (
            lambda group: self.providers.pace_policy(group, drain_target=drain_target)
        )
        self.warmup = warmup
        self.warmup_start = clock() if warmup_start is None else warmup_start
        self.listeners = Listeners()
        if on_event is not None:
            self.listeners.add(on_event)
        self.router = Router(
            resolver if resolver is not None else DnsResolver(),
            group_of or self.providers.group_of,
            mx_override=mx_override,
            port=port,
            monotonic=_loop_time,
            tls_policy=tls_policy,
        )
        self.tls_policy = tls_policy
        self.routes: dict[BudgetKey, Route] = {}
        self._base: dict[str, Budget] = {}  # group -> its configured budget
        self.judge = Judge(providers=self.providers, shaper=self.shaper, backend=self.backend,
                           listeners=self.listeners, clock=clock, hold=self._hold)  # fmt: skip
        self.feeder = Feeder(self, fairness or FairnessConfig(), prefetch)
        self.delivery = Delivery(
            spool=spool, router=self.router,
            transport=transport or SmtpTransport(tls_policy=tls_policy),
            backend=self.backend, shaper=self.shaper, judge=self.judge,
            providers=self.providers, listeners=self.listeners, clock=clock,
            budget_of=self.budget_of, hold=self._hold, release=self.feeder.release,
            settled=self.feeder.settled, tls=tls, timeout=timeout, linger=linger,
            classify=classify, suppressions=self.suppressions, verp=verp,
            unsubscribe=unsubscribe, bounce_codes=bounce_codes,
            late_signer=signer.sign if signer is not None and unsubscribe else None,
        )  # fmt: skip

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Report the events still pending. (Runs return their jobs to the spool.)"""
        await self.feeder.flush_events()

    # -- running ------------------------------------------------------------------------------

    async def run_until_idle(self) -> None:
        """Deliver until no recipient is due now (deferred ones stay for later).

        Raises:
            What a worker met and could not make a recipient's state (the spool failing
            to commit). Recipients it had in flight stay ``sending`` and are queued again
            when the spool is next opened.
        """
        await self.feeder.run(mode="idle")

    async def run_until_final(self, *, max_time: float | None = None) -> None:
        """Deliver until every recipient of the spool is delivered, bounced or expired,
        waiting out deferrals and pauses; or until ``max_time`` seconds, or :meth:`stop`."""
        await self.feeder.run(mode="final", max_time=max_time)

    async def run(self, *, poll: float = 1.0, max_time: float | None = None) -> None:
        """Deliver forever (or ``max_time`` seconds, or until :meth:`stop`), waking on
        submissions and when deferred recipients fall due."""
        await self.feeder.run(mode="forever", poll=poll, max_time=max_time)

    def stop(self) -> None:
        """Stop gracefully: no new transaction starts; the ones under way finish; messages
        held in memory return to the spool, due now; ``run*`` returns."""
        self.feeder.stop()

    # -- events and state --------------------------------------------------------------------

    def subscribe(self, listener: Callable[[SendEvent], None], /) -> None:
        """Call ``listener`` with every future event."""
        self.listeners.add(listener)

    async def events(self) -> AsyncIterator[SendEvent]:
        """Every future event, as an async iterator."""
        queue: asyncio.Queue[SendEvent] = asyncio.Queue()
        self.listeners.add(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            self.listeners.remove(queue.put_nowait)

    async def budget_of(self, route: Route) -> Budget:
        """The budget of ``route`` now: its limits, learned pace and a rule's caps."""
        group = route.key[1]
        budget = self._base.get(group)
        if budget is None:
            if group in self.budgets:
                budget = self.budgets[group]
            elif route.provider is not None:
                budget = route.provider.limits.budget()
            else:
                budget = self.default_budget
            self._base[group] = budget
        one_each = self.verp is not None or self.unsubscribe is not None
        if one_each and budget.recipients_per_message != 1:
            # A return path or headers per recipient: one transaction per recipient.
            budget = dataclasses.replace(budget, recipients_per_message=1)
        if self.warmup is not None:
            day = max(0, int((self.clock() - self.warmup_start) // 86400))
            cap = ("warmup", self.warmup.limit(day, group))
            budget = dataclasses.replace(budget, message_rates=(*budget.message_rates, cap))
        return await self.shaper.effective(route.key, budget, route.policy)

    async def open_route(self, key: BudgetKey, egress: Egress) -> Route:
        """The route of budget ``key``, created when missing. A route created here resumes
        the pause its budget's learned state still holds (a run started again within a
        pause does not send through it)."""
        route = self.routes.get(key)
        if route is not None:
            return route
        provider = self.providers.providers.get(key[1])
        route = self.routes[key] = Route(key=key, egress=egress, provider=provider,
                                         policy=self._pacing(key[1]))  # fmt: skip
        left = (await self.shaper.pace(key, route.policy)).paused_until - self.clock()
        if left > 0:
            # A first ladder step pauses bulk mail only; a later one is also a suspension
            # in the backend, which holds the rest.
            route.paused_until = asyncio.get_running_loop().time() + left
            route.bulk_only = True
        return route

    async def _hold(
        self, route: Route, seconds: float, reason: str, bulk_only: bool = False
    ) -> None:
        """Pause ``route`` for ``seconds``: its messages (bulk only, when ``bulk_only``) go
        back to the spool, due then."""
        loop = asyncio.get_running_loop()
        seconds = max(1.0, seconds)  # never due again at once: no busy loop
        if route.paused_until <= loop.time():
            route.bulk_only = bulk_only
        else:
            route.bulk_only = route.bulk_only and bulk_only  # a full pause stays full
        route.paused_until = max(route.paused_until, loop.time() + seconds)
        # One step: no lane comes or goes meanwhile.
        jobs = route.take_all(keep_transactional=route.bulk_only)
        await self.delivery.give_back(jobs, reason, at=self.clock() + seconds)

    async def progress(self) -> SendProgress:
        """Where the spool stands, per provider group (see :class:`SendProgress`)."""
        rows = await self.spool.domain_states()
        await self._route_waiting(rows)
        shaping: dict[str, dict[str, Any]] = {}
        now = self.clock()
        for key, route in list(self.routes.items()):
            state = await self.shaper.state(key, route.policy)
            held = await self.backend.take_message(key, (), reserve=0.0)
            if held.suspended == "budget" and held.wait > 0:
                state["paused_until"] = now + held.wait
                state["pause_reason"] = state["pause_reason"] or "suspended"
            shaping[key[1]] = merge_shaping(shaping.get(key[1]), state)
        return build_progress(rows, self.router.groups, shaping)

    async def _route_waiting(self, rows: Sequence[tuple[str, str, int, Any, str]]) -> None:
        """Route the domains whose recipients wait but that this process has not routed
        yet (after a restart, mail deferred by a pause), so that progress counts them under
        their provider. A DNS failure leaves a domain unrouted; bounded per call."""
        known = self.router.groups
        domains = sorted({d for d, state, *_ in rows if state in WAITING and d not in known})
        if not domains:
            return

        async def one(domain: str) -> None:
            with contextlib.suppress(MailcheckError):
                await self.router.route(domain)

        async with asyncio.TaskGroup() as group:
            for domain in domains[:PROGRESS_ROUTES]:
                group.create_task(one(domain))

    async def hygiene_stats(self) -> dict[str, Any]:
        """List hygiene from the spool (JSON-serialisable): bounce and complaint rates
        per tenant and per provider group over the complaint window, suppressions per
        tenant and reason, paused tenants (see
        :meth:`~mailcheck.hygiene.feedback.Feedback.summary`). Kept apart from
        :meth:`stats`, whose keys are budgets."""
        return await self.suppressions.summary()

    async def stats(self) -> dict[str, Any]:
        """Counters since start and the shaping state, per budget (JSON-serialisable):
        ``{"egress|group": {"egress", "group", "attempts", "delivered", "deferred",
        "bounced", "expired", "connections", "rules", "waiting", "suspended_for", "pace",
        "hygiene"}}``; ``hygiene`` is the provider group's delivered, bounced, complaints,
        bounce and complaint rates over the complaint window, from the spool (per tenant:
        :meth:`hygiene_stats`).
        """
        result: dict[str, Any] = {}
        counters = self.delivery.counters
        window = (await self.suppressions.rates())["providers"]
        nothing = Rate(delivered=0, bounced=0, complaints=0)
        for key in sorted(set(counters) | set(self.routes)):
            route = self.routes.get(key)
            policy = route.policy if route else self._pacing(key[1])
            c = counters.get(key)
            held = await self.backend.take_message(key, (), reserve=0.0)
            result[f"{key[0]}|{key[1]}"] = {
                "egress": key[0],
                "group": key[1],
                **(dataclasses.asdict(c) if c else {}),
                "rules": dict(self.judge.rules.get(key, {})),
                "waiting": route.waiting() if route else 0,
                "suspended_for": round(held.wait, 3) if held.suspended == "budget" else 0.0,
                "pace": await self.shaper.state(key, policy),
                "hygiene": window.get(key[1], nothing).to_dict(),
            }
        return result


def _loop_time() -> float:
    with contextlib.suppress(RuntimeError):
        return asyncio.get_running_loop().time()
    return time.monotonic()
