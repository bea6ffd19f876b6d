"""A short provider world (the full one is bench/bench_world.py): a real Sender and spool on
a virtual clock against simulated providers with hidden limits, escalation, silent drops
and ambiguous replies. Hours of sending take a second or two."""

from __future__ import annotations

import pytest

from mailcheck.sending.simulation.run import run_world


@pytest.mark.parametrize("seed", [1, 2])
def test_a_newsletter_is_placed_without_blocks_or_silent_drops(seed: int) -> None:
    result = run_world(seed, messages=400, transactional=6, hours=6)
    assert result.finished is not None, result.placed_by  # every recipient placed
    assert result.states["sending"] == result.states["queued"] == 0
    assert result.blocks == 0
    assert result.dropped == 0
    assert result.finished <= 2.0 * max(result.optimum, 3600.0)
    assert result.transactional_max <= 300.0  # never more than 5 simulated minutes


def test_the_world_is_hidden_and_drawn_per_seed() -> None:
    one, two = (
        run_world(3, messages=50, transactional=0, hours=1),
        run_world(4, messages=50, transactional=0, hours=1),
    )
    rates = [{n: p["hidden_rate_per_hour"] for n, p in r.providers.items()} for r in (one, two)]
    assert rates[0] != rates[1]
    assert set(rates[0]) == {"google", "microsoft", "yahoo", "orange", "free", "coop"}
