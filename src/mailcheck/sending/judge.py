"""What a reply does to a budget: nothing, a rule's caps, a cut of the learned pace with a
pause from the rule's ladder, or a suspension.

A throttling reply (``slow``) about the IP cuts the pace from what was accepted and pauses
the budget for the ladder's step; one about connections only caps them. An unambiguous
block (``suspend``) stops the budget for the rule's duration; a ``suspend-tenant`` holds
one tenant. Our own conditions (waiting for a grant, a connection limit) never come here:
only the provider's replies shape the budget.
"""

from __future__ import annotations

import collections
from collections.abc import Awaitable, Callable

from mailcheck.sending.events import EventKind, Listeners, SendEvent
from mailcheck.sending.lanes import Route
from mailcheck.sending.providers import ProviderSet, Rule
from mailcheck.sending.replies import DEFAULT_SUSPEND, Classification
from mailcheck.sending.shaper import Shaper
from mailcheck.sending.shaping import ShapingBackend
from mailcheck.sending.types import Action, Clock, Scope

__all__ = ["Judge"]

#: Seconds a rule's connection caps last when it names no duration.
DEFAULT_CAPS = 3600.0
_GENERIC = ("code:", "rfc3463:", "text:")


class Judge:
    """Applies replies to budgets.

    Args:
        providers: the dataset (rules, ladders).
        shaper: learned paces and caps.
        backend: suspensions and rule thresholds.
        listeners: where shaping events go.
        clock: wall-clock seconds.
        hold: ``(route, seconds, reason, bulk_only)`` -> parks the route's messages (its bulk
            messages only, when ``bulk_only``) for ``seconds``.
    """

    def __init__(
        self,
        *,
        providers: ProviderSet,
        shaper: Shaper,
        backend: ShapingBackend,
        listeners: Listeners,
        clock: Clock,
        hold: Callable[[Route, float, str, bool], Awaitable[None]],
    ) -> None:
        self.providers, self.shaper, self.backend = providers, shaper, backend
        self.listeners, self.clock, self.hold = listeners, clock, hold
        #: budget key -> rule name -> matches seen (the provider rules, not generic ones).
        self.rules: collections.defaultdict[tuple[str, str], collections.Counter[str]] = (
            collections.defaultdict(collections.Counter)
        )

    def _emit(self, kind: EventKind, route: Route, reply: str, rule: str, message_id: int,
              rate: float | None = None) -> None:  # fmt: skip
        if self.listeners:
            self.listeners.emit(SendEvent(kind=kind, key=route.key, reply=reply, rule=rule,
                                          message_id=message_id, at=self.clock(),
                                          rate=rate))  # fmt: skip

    async def judge(
        self, route: Route, verdict: Classification, reply: str, *, tenant: str | None,
        message_id: int = 0,
    ) -> bool:  # fmt: skip
        """Let ``verdict`` shape ``route``'s budget; True when the connection must not be
        reused. ``tenant`` is the message's (None when no message was under way)."""
        if verdict.rule and not verdict.rule.startswith(_GENERIC):
            self.rules[route.key][verdict.rule] += 1
        if not verdict.shapes:
            return verdict.scope is Scope.CONNECTION
        if verdict.threshold is not None and not await self.backend.threshold(
            route.key, verdict.rule, count=verdict.threshold.count,
            period=verdict.threshold.period,
        ):  # fmt: skip
            return verdict.scope is Scope.CONNECTION
        self._emit(EventKind.RULE, route, reply, verdict.rule, message_id)
        rule = self.providers.rule(verdict.rule)
        if verdict.action is Action.SLOW:
            return await self._slow(route, verdict, rule, reply, message_id)
        duration = verdict.retry_after or DEFAULT_SUSPEND
        if verdict.action is Action.SUSPEND_TENANT:
            if tenant is None:  # no message to name the tenant: nothing to suspend
                return False
            await self.backend.suspend(route.key, duration, tenant=tenant, reason=verdict.rule)
            self._emit(EventKind.SUSPENDED, route, reply, verdict.rule, message_id)
            return False
        await self.backend.suspend(route.key, duration, reason=f'blocked: "{reply}"')
        self._emit(EventKind.SUSPENDED, route, reply, verdict.rule, message_id)
        await self.hold(route, duration, f'suspended after "{reply}"', False)
        return True

    async def _slow(
        self, route: Route, verdict: Classification, rule: Rule | None, reply: str,
        message_id: int,
    ) -> bool:  # fmt: skip
        key = route.key
        if rule is not None and (rule.connections or rule.messages_per_connection):
            await self.shaper.restrict(
                key,
                seconds=rule.duration or DEFAULT_CAPS,
                connections=rule.connections,
                messages_per_connection=rule.messages_per_connection,
                exit_after=rule.exit_after,
            )
        if verdict.scope is Scope.CONNECTION:
            return True  # fewer connections, not a slower pace
        provider = route.provider or self.providers.default
        cap = rule.message_rate.per_second if rule is not None and rule.message_rate else None
        throttle = await self.shaper.throttle(
            key,
            route.policy,
            rule=verdict.rule,
            reply=reply[:200],
            ladder=(rule.ladder if rule is not None and rule.ladder else provider.ladder),
            ladder_window=(
                rule.ladder_window
                if rule is not None and rule.ladder_window
                else provider.ladder_window
            ),
            cap=cap,
        )
        self._emit(EventKind.SLOWED, route, reply, verdict.rule, message_id, throttle.rate * 3600)
        self._emit(EventKind.PAUSED, route, reply, verdict.rule, message_id)
        why = f"slow-down {throttle.level} of {throttle.steps}"
        reason = f'paused after "{reply[:200]}" ({why})'
        await self.hold(route, throttle.pause, reason, not throttle.hold_all)
        return True
