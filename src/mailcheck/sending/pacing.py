"""The learned sending pace of one budget (egress IP, provider): pure, no I/O, no clock.

Every budget has a real rate at all times. With no history it starts at the provider's
*first-contact pace* and rises additively while the provider accepts, but only while the
mail waiting for it would not drain within the *drain target* at the current rate: raising
a rate is a bet, and just above its limit a provider such as Outlook.com accepts mail with
250 and destroys it before the first throttling reply. A throttling reply cuts the rate
from what was actually accepted over the recent window (multiplicative decrease of the
measured rate) and pauses the budget for the first step of a *ladder*; repeated within the
ladder's window, the reply climbs it (5 min, 15 min, 1 h, then the provider's documented
block length). For providers that drop silently above their limit, the rate stays below
the last rate that drew a throttling reply and rises only by small, spaced steps.

A learned state decays back toward the first-contact pace over days without traffic.
The state is plain data (:meth:`PaceState.to_dict`) so a backend can persist and share it.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from typing import Any

from mailcheck.errors import ConfigError

__all__ = [
    "DEFAULT_LADDER",
    "PacePolicy",
    "PaceReason",
    "PaceState",
    "Throttle",
    "decayed",
    "initial",
    "on_success",
    "on_throttle",
]

#: Pauses after a throttling reply, by repetition within the ladder window, when the rule
#: names none: the first is "slow down" (the provider's bucket refills in minutes).
DEFAULT_LADDER = (120.0, 600.0, 1800.0, 3600.0)
#: Repetitions older than this no longer count toward the ladder (seconds).
DEFAULT_LADDER_WINDOW = 2 * 3600.0
#: Fewer acceptances than this in the window do not make a measured rate.
MIN_MEASURED = 3


class PaceReason(enum.StrEnum):
    """Why a budget sends at its current rate."""

    FIRST_CONTACT = "first-contact"
    PROBING = "probing"
    BACKED_OFF = "backed-off"
    ENOUGH = "enough"
    CEILING = "ceiling"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PacePolicy:
    """How one provider's pace is learned (rates in messages per second).

    Attributes:
        first_contact: the pace of a budget with no history.
        floor: the lowest pace a throttling reply may set.
        ceiling: a configured top (the dataset's message rates), or None.
        step: the additive increase (default: half the first-contact pace).
        step_every: seconds between two increases.
        decrease: the factor applied to the measured accepted rate on a throttling reply.
        window: seconds over which the accepted rate is measured.
        silent_drop: the provider accepts then destroys mail above its limit.
        margin: for such a provider, the fraction of the last throttled rate not exceeded.
        cautious_every: seconds between two increases for such a provider.
        drain_target: seconds within which the waiting mail should drain; the rate is
            raised only when it would not.
        half_life: seconds of idleness that halve the distance to the first-contact pace.
        transactional_through: the ladder steps during which transactional mail still goes
            (at the cut pace) while bulk mail pauses; from the next step on, everything waits.
        strike_window: after two throttling replies within this many seconds, the rate
            stays below the last throttled rate until they age out (each throttling reply
            is a deferral, and repeated ones are what earn a block).
    """

    first_contact: float
    floor: float = 1 / 300
    ceiling: float | None = None
    step: float | None = None
    step_every: float = 120.0
    decrease: float = 0.5
    window: float = 120.0
    silent_drop: bool = False
    margin: float = 0.8
    cautious_every: float = 600.0
    drain_target: float = 3600.0
    half_life: float = 2 * 86400.0
    strike_window: float = 2 * 3600.0
    transactional_through: int = 2

    def __post_init__(self) -> None:
        for name in ("first_contact", "floor", "step_every", "window", "drain_target"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{name} must be positive and finite, not {value!r}")
        if not 0 < self.decrease < 1 or not 0 < self.margin <= 1:
            raise ConfigError("decrease must be in (0, 1) and margin in (0, 1]")

    @property
    def increase(self) -> float:
        """The additive step (smaller for providers that drop silently)."""
        step = self.step if self.step is not None else self.first_contact / 2
        return step / 2 if self.silent_drop else step

    @property
    def every(self) -> float:
        """Seconds between two increases."""
        return self.cautious_every if self.silent_drop else self.step_every


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Throttle:
    """What a throttling reply did to the pace.

    Attributes:
        pause: seconds the budget pauses.
        level: the ladder step reached (1 = first occurrence in the window).
        steps: the number of steps of the ladder.
        rate: the new rate.
        hold_all: transactional mail waits too (a high step: perhaps a block).
    """

    pause: float
    level: int
    steps: int
    rate: float
    hold_all: bool = True


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PaceState:
    """The learned pace of one budget.

    Attributes:
        rate: messages per second now.
        reason: why.
        changed: when the rate last changed (wall clock).
        updated: when the provider last answered (wall clock).
        throttled_at: the accepted rate that last drew a throttling reply, or None.
        paused_until: the end of the current pause (wall clock).
        pause_reason: the reply that caused it, with its ladder step.
        hits: rule name -> times it matched within its ladder window.
    """

    rate: float
    reason: PaceReason = PaceReason.FIRST_CONTACT
    changed: float = 0.0
    updated: float = 0.0
    throttled_at: float | None = None
    paused_until: float = 0.0
    pause_reason: str = ""
    hits: Mapping[str, tuple[float, ...]] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "rate": self.rate,
            "reason": str(self.reason),
            "changed": self.changed,
            "updated": self.updated,
            "throttled_at": self.throttled_at,
            "paused_until": self.paused_until,
            "pause_reason": self.pause_reason,
            "hits": {k: list(v) for k, v in self.hits.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaceState:
        """The state :meth:`to_dict` wrote (ValueError/TypeError/KeyError on junk)."""
        rate = float(data["rate"])
        if not (rate > 0 and math.isfinite(rate)):
            raise ConfigError(f"rate must be positive, not {rate!r}")
        throttled = data.get("throttled_at")
        return cls(
            rate=rate,
            reason=PaceReason(data.get("reason", PaceReason.FIRST_CONTACT)),
            changed=float(data.get("changed", 0.0)),
            updated=float(data.get("updated", 0.0)),
            throttled_at=None if throttled is None else float(throttled),
            paused_until=float(data.get("paused_until", 0.0)),
            pause_reason=str(data.get("pause_reason", "")),
            hits={str(k): tuple(float(t) for t in v) for k, v in data.get("hits", {}).items()},
        )


def initial(policy: PacePolicy, now: float) -> PaceState:
    """The state of a budget with no history."""
    rate = _clamp(policy.first_contact, policy)
    return PaceState(rate=rate, changed=now, updated=now)


def decayed(state: PaceState, policy: PacePolicy, now: float) -> PaceState:
    """``state`` after the idleness since it was last updated: the rate and the learned
    ceiling move back toward the first-contact pace with half-life ``policy.half_life``."""
    idle = now - state.updated
    if idle < 3600.0:  # an hour without traffic changes nothing worth computing
        return state
    keep = 0.5 ** (idle / policy.half_life)
    first = policy.first_contact
    rate = _clamp(first + (state.rate - first) * keep, policy)
    throttled = state.throttled_at
    if throttled is not None:
        throttled = first + (throttled - first) * keep
        if abs(throttled - first) < 0.05 * first:
            throttled = None  # forgotten
    reason = state.reason if abs(rate - first) > 0.05 * first else PaceReason.FIRST_CONTACT
    return dataclasses.replace(state, rate=rate, throttled_at=throttled, reason=reason)


def on_success(state: PaceState, policy: PacePolicy, now: float, *, backlog: int) -> PaceState:
    """A message accepted: maybe raise the rate (additive increase), when the ``backlog``
    waiting for this budget would not drain within the drain target at the current rate."""
    state = dataclasses.replace(state, updated=now)
    if now < state.paused_until:
        return state
    need = backlog / policy.drain_target
    top = _top(state, policy, now)
    safe = None if state.throttled_at is None else state.throttled_at * policy.margin
    if safe is not None and state.rate < min(safe, top) and backlog > 0:
        # Back up to below the rate that drew the last throttling reply: a known-safe
        # rate, not a bet, so the backlog need not ask for it.
        if now - state.changed < policy.step_every:
            return state
        rate = _clamp(min(state.rate + policy.increase, safe, top), policy)
        return dataclasses.replace(state, rate=rate, reason=PaceReason.BACKED_OFF, changed=now)
    if state.rate >= need:
        reason = PaceReason.ENOUGH if state.reason is not PaceReason.BACKED_OFF else state.reason
        return dataclasses.replace(state, reason=reason)
    if state.rate >= top:
        return dataclasses.replace(state, reason=PaceReason.CEILING)
    step, every = policy.increase, policy.every
    if state.throttled_at is not None and state.rate >= state.throttled_at * policy.margin:
        # Near the rate that drew the last throttling reply: small steps, far apart (each
        # throttling reply is a deferral, and repeated ones are what earn a block).
        step, every = step / 2, max(every, policy.cautious_every)
    if now - state.changed < every:
        return state
    rate = _clamp(min(state.rate + step, top, max(need, state.rate)), policy)
    return dataclasses.replace(state, rate=rate, reason=PaceReason.PROBING, changed=now)


def on_throttle(
    state: PaceState,
    policy: PacePolicy,
    now: float,
    *,
    measured: float | None,
    rule: str,
    reply: str = "",
    ladder: Sequence[float] = DEFAULT_LADDER,
    ladder_window: float = DEFAULT_LADDER_WINDOW,
    cap: float | None = None,
) -> tuple[PaceState, Throttle]:
    """A throttling reply: cut the rate from what was accepted, pause, climb the ladder.

    Args:
        state: the current state.
        policy: the provider's policy.
        now: wall-clock seconds.
        measured: messages per second accepted over the recent window, or None when too
            few were accepted to tell.
        rule: the rule that matched (its repetitions climb its ladder).
        reply: the reply, kept as the pause's reason.
        ladder: pauses by repetition within ``ladder_window``.
        ladder_window: seconds within which repetitions count.
        cap: a rate the rule imposes (e.g. Microsoft S775: 1/min), or None.
    """
    ladder = tuple(ladder) or DEFAULT_LADDER
    recent = (*tuple(t for t in state.hits.get(rule, ()) if now - t < ladder_window), now)
    hits = {k: v for k, v in state.hits.items() if k != rule and v and now - v[-1] < 86400.0}
    hits[rule] = recent[-len(ladder) - 1 :]
    level = min(len(recent), len(ladder))  # the top step repeats
    pause = ladder[level - 1]
    sending = state.rate if measured is None else min(state.rate, measured)
    rate = sending * policy.decrease
    if cap is not None:
        rate = min(rate, cap)
    rate = _clamp(rate, policy)
    until = max(state.paused_until, now + pause)
    why = f'paused {_duration(pause)} after "{reply}" (slow-down {level} of {len(ladder)})'
    new = dataclasses.replace(
        state,
        rate=rate,
        reason=PaceReason.BACKED_OFF,
        changed=now,
        updated=now,
        throttled_at=sending,
        paused_until=until,
        pause_reason=why,
        hits=hits,
    )
    hold_all = level > policy.transactional_through
    return new, Throttle(pause=pause, level=level, steps=len(ladder), rate=rate, hold_all=hold_all)


def _top(state: PaceState, policy: PacePolicy, now: float) -> float:
    """The highest rate the next increase may reach."""
    top = policy.ceiling if policy.ceiling is not None else math.inf
    if state.throttled_at is not None:
        strikes = sum(1 for times in state.hits.values() for t in times
                      if now - t < policy.strike_window)  # fmt: skip
        if policy.silent_drop or strikes >= 2:
            top = min(top, state.throttled_at * policy.margin)
    return max(top, policy.floor)


def _clamp(rate: float, policy: PacePolicy) -> float:
    top = policy.ceiling if policy.ceiling is not None else math.inf
    return max(policy.floor, min(rate, top))


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    if seconds >= 60:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds)} s"
