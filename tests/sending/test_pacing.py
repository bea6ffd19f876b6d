"""The learned pace, pure: first contact, additive increase on need, cut from the accepted
rate, the ladder, silent-drop caution, decay; and invariants under any sequence of events."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.sending.pacing import (
    PacePolicy,
    PaceReason,
    PaceState,
    decayed,
    initial,
    on_success,
    on_throttle,
)
from mailcheck.sending.providers import ProviderSet

FREE_LADDER = (180.0, 900.0, 3600.0, 86400.0)
POLICY = PacePolicy(first_contact=100 / 3600, step_every=60.0)


def test_first_contact_then_additive_steps_only_while_the_backlog_needs_them() -> None:
    state = initial(POLICY, 0.0)
    assert state.rate == POLICY.first_contact
    assert state.reason is PaceReason.FIRST_CONTACT
    rates = []
    now = 0.0
    for _ in range(10):
        now += 61.0
        state = on_success(state, POLICY, now, backlog=300)  # 300 in an hour: 300/h needed
        rates.append(round(state.rate * 3600))
    assert rates[:4] == [150, 200, 250, 300]  # +50/h a minute: additive, not doubling
    assert max(rates) == 300  # never past what the backlog needs
    assert state.reason is PaceReason.ENOUGH


def test_a_throttle_cuts_the_measured_rate_and_climbs_the_ladder() -> None:
    state = PaceState(rate=0.2, changed=0.0, updated=0.0)
    state, first = on_throttle(state, POLICY, 100.0, measured=0.1, rule="free",
                               reply="421 Too many spams", ladder=FREE_LADDER,
                               ladder_window=12 * 3600)  # fmt: skip
    assert first.rate == pytest.approx(0.05)  # half of what was accepted, not of the pace
    assert (first.level, first.pause) == (1, 180.0)  # "slow down", not a 24 h suspension
    assert state.throttled_at == 0.1
    assert "slow-down 1 of 4" in state.pause_reason
    levels = []
    now = 100.0
    for _ in range(4):
        now += 1000.0
        state, step = on_throttle(state, POLICY, now, measured=None, rule="free",
                                  ladder=FREE_LADDER, ladder_window=12 * 3600)  # fmt: skip
        levels.append((step.level, step.pause))
    assert levels == [(2, 900.0), (3, 3600.0), (4, 86400.0), (4, 86400.0)]
    # Outside the window the ladder starts again at its first step.
    state, again = on_throttle(state, POLICY, now + 13 * 3600, measured=None, rule="free",
                               ladder=FREE_LADDER, ladder_window=12 * 3600)  # fmt: skip
    assert again.level == 1


def test_a_rule_cap_and_the_floor_bound_the_cut() -> None:
    state = PaceState(rate=1.0)
    _, capped = on_throttle(state, POLICY, 0.0, measured=None, rule="s775", cap=1 / 60)
    assert capped.rate == pytest.approx(1 / 60)
    _, floored = on_throttle(PaceState(rate=POLICY.floor), POLICY, 0.0, measured=None, rule="r")
    assert floored.rate == POLICY.floor


def test_silent_drop_providers_stay_below_the_last_throttled_rate() -> None:
    policy = PacePolicy(first_contact=300 / 3600, silent_drop=True)
    state, _ = on_throttle(PaceState(rate=0.2), policy, 0.0, measured=0.2, rule="s775")
    now = 0.0
    for _ in range(200):
        now += 600.0
        state = on_success(state, policy, now, backlog=100_000)
    assert state.rate <= 0.2 * policy.margin + 1e-9


def test_after_two_throttles_any_provider_stays_below_the_throttled_rate() -> None:
    state = PaceState(rate=0.2)
    for at in (0.0, 600.0):
        state, _ = on_throttle(state, POLICY, at, measured=0.2, rule="r")
    now = 600.0
    for _ in range(50):
        now += 120.0
        state = on_success(state, POLICY, now, backlog=100_000)
    assert state.rate <= 0.2 * POLICY.margin + 1e-9


def test_a_learned_pace_decays_toward_first_contact() -> None:
    learned = PaceState(rate=1.0, throttled_at=1.2, reason=PaceReason.PROBING, updated=0.0)
    assert decayed(learned, POLICY, 1800.0) is learned  # within the hour: untouched
    half = decayed(learned, POLICY, POLICY.half_life)
    assert half.rate == pytest.approx(POLICY.first_contact + (1.0 - POLICY.first_contact) / 2)
    gone = decayed(learned, POLICY, 30 * POLICY.half_life)
    assert gone.rate == pytest.approx(POLICY.first_contact, rel=1e-3)
    assert gone.throttled_at is None
    assert gone.reason is PaceReason.FIRST_CONTACT


def test_state_round_trips_and_junk_is_refused() -> None:
    state = PaceState(rate=0.5, throttled_at=0.4, hits={"r": (1.0, 2.0)}, paused_until=9.0)
    assert PaceState.from_dict(state.to_dict()) == state
    for junk in ({"rate": -1}, {"rate": math.inf}, {}):
        with pytest.raises((ValueError, KeyError, TypeError)):
            PaceState.from_dict(junk)


def test_every_provider_of_the_dataset_has_a_sourced_first_contact_pace() -> None:
    providers = ProviderSet.load()
    for name, provider in providers.providers.items():
        policy = providers.pace_policy(name)
        assert 0 < policy.first_contact <= 1.0, name  # at most one a second at first contact
        if provider.first_contact is not None:
            assert provider.first_contact_source, name
    assert providers.pace_policy("microsoft").silent_drop
    assert providers.get("free").rules[0].ladder[-1] == 86400.0  # the block is the top


EVENT = st.one_of(
    st.tuples(st.just("ok"), st.floats(0, 7200), st.integers(0, 100_000)),
    st.tuples(st.just("throttle"), st.floats(0, 7200), st.floats(0.0001, 100) | st.none()),
    st.tuples(st.just("idle"), st.floats(0, 30 * 86400), st.none()),
)


@given(st.lists(EVENT, max_size=60), st.booleans(), st.floats(0.001, 10))
def test_invariants_under_any_events(events: list[tuple[str, float, object]], silent: bool,
                                     first: float) -> None:  # fmt: skip
    policy = PacePolicy(first_contact=first, silent_drop=silent, ceiling=20.0)
    state, now = initial(policy, 0.0), 0.0
    for kind, dt, arg in events:
        now += dt
        before = state.rate
        if kind == "ok":
            assert isinstance(arg, int)
            state = on_success(state, policy, now, backlog=arg)
            need = arg / policy.drain_target
            safe = (state.throttled_at or 0.0) * policy.margin
            # Rises only back to a known-safe rate or when the backlog needs it, never above.
            assert state.rate <= max(before, need, safe) + 1e-9
        elif kind == "throttle":
            measured = arg if isinstance(arg, float) else None
            state, step = on_throttle(state, policy, now, measured=measured, rule="r")
            assert state.rate <= max(before * policy.decrease, policy.floor) + 1e-9
            assert step.pause > 0
            assert state.paused_until >= now + step.pause - 1e-6
        else:
            state = decayed(state, policy, now)
        assert policy.floor - 1e-12 <= state.rate <= 20.0 + 1e-9
        assert math.isfinite(state.rate)
