"""GCRA as the shaping code uses it: burst, sustained rate, reservation."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from mailcheck.sending.local_share import Gcra, gcra_check


def test_burst_then_interval() -> None:
    limit = Gcra(interval=0.1, burst=3)
    tat, waits = -math.inf, []
    for _ in range(5):
        wait, tat = gcra_check(tat, 0.0, limit)
        waits.append(round(wait, 6))
    assert waits == [0.0, 0.0, 0.0, 0.1, 0.2]


@given(
    st.floats(min_value=0.001, max_value=10),
    st.integers(min_value=1, max_value=20),
    st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=60),
)
def test_never_more_than_burst_plus_rate(interval: float, burst: int, gaps: list[float]) -> None:
    """Taking grants only when the wait is 0, no window holds more than the limit allows."""
    limit, tat, now, granted = Gcra(interval=interval, burst=burst), -math.inf, 0.0, []
    for gap in gaps:
        now += gap
        wait, new = gcra_check(tat, now, limit)
        if wait == 0:
            tat = new
            granted.append(now)
    span = granted[-1] - granted[0] if granted else 0.0
    assert len(granted) <= burst + span / interval + 1e-6
