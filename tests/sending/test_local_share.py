"""The fallback share: GCRA bounds and shares that add up to no more than the budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailcheck.sending.local_share import (
    Gcra,
    LocalShare,
    MatchWindow,
    connection_share,
    gcra_check,
)
from tests.redis.hosts import max_in_window

times = st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), min_size=1, max_size=80)


def granted(share: LocalShare, requests: list[float], limit: Gcra) -> list[float]:
    sent = []
    for now in sorted(requests):
        ok, wait = share.take(("k",), (limit,), now, 0.0)
        if ok:
            assert wait == 0
            sent.append(now)
    return sent


@given(
    requests=times,
    interval=st.floats(min_value=0.01, max_value=2),
    burst=st.integers(min_value=1, max_value=10),
)
def test_no_window_holds_more_than_burst_plus_rate(
    requests: list[float], interval: float, burst: int
) -> None:
    limit = Gcra(interval=interval, burst=burst)
    sent = granted(LocalShare(hosts=1), requests, limit)
    for width in (0.5, 1.0, 5.0):
        assert max_in_window(sent, width) <= burst + width / interval + 1e-9


@given(
    requests=st.lists(times, min_size=1, max_size=4),
    interval=st.floats(min_value=0.01, max_value=2),
    burst=st.integers(min_value=1, max_value=12),
)
def test_host_shares_add_up_to_the_budget(
    requests: list[list[float]], interval: float, burst: int
) -> None:
    hosts = len(requests)
    limit = Gcra(interval=interval, burst=burst)
    sent = [t for r in requests for t in granted(LocalShare(hosts=hosts), r, limit)]
    # Each host: burst // hosts (at least 1) at once, then 1/hosts of the rate.
    bound_burst = hosts * max(1, burst // hosts)
    assert max_in_window(sent, 1.0) <= bound_burst + 1.0 / interval + 1e-9


def test_reserve_grants_a_later_slot_and_keeps_it() -> None:
    share, limit = LocalShare(hosts=1), Gcra(interval=1.0)
    assert share.take(("k",), (limit,), 0.0, 0.0) == (True, 0.0)
    assert share.take(("k",), (limit,), 0.0, 0.0) == (False, 1.0)
    assert share.take(("k",), (limit,), 0.0, 1.0) == (True, 1.0)
    assert share.take(("k",), (limit,), 0.0, 1.5) == (False, 2.0)


def test_gcra_quantity() -> None:
    assert gcra_check(0.0, 0.0, Gcra(interval=1.0, burst=3), qty=3) == (0.0, 3.0)
    assert gcra_check(0.0, 0.0, Gcra(interval=1.0, burst=3), qty=4)[0] == 1.0


def test_connection_share() -> None:
    assert connection_share(10, 3) == 3
    assert connection_share(2, 3) == 0
    assert connection_share(5, 1) == 5


def test_match_window_fires_at_the_count_within_the_period_then_restarts() -> None:
    window = MatchWindow()
    key = ("192.0.2.1", "google")
    assert not window.hit(key, "r", 0.0, count=3, period=60)
    assert not window.hit(key, "r", 30.0, count=3, period=60)
    assert not window.hit(key, "r", 61.0, count=3, period=60)  # the first has left
    assert window.hit(key, "r", 62.0, count=3, period=60)
    assert not window.hit(key, "r", 63.0, count=3, period=60)  # counting again
    assert not window.hit(key, "other", 64.0, count=2, period=60)
    assert window.hit(key, "r", 64.0, count=2, period=60)
