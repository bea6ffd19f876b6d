"""Fair shares between tenants: pure weighted fair queueing, no I/O."""

from __future__ import annotations

import collections

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.errors import ConfigError
from mailcheck.sending.fairness import (
    FairnessConfig,
    FairQueue,
    TenantPolicy,
    is_tenant_scoped,
)
from mailcheck.sending.local_share import Gcra, gcra_check

BUDGET = Gcra(interval=1 / 20, burst=5)  # 20 msg/s


def drain(queue: FairQueue[int], seconds: float, budget: Gcra = BUDGET) -> collections.Counter[str]:
    """Spend a saturated budget on the queue for ``seconds`` of simulated time."""
    sent: collections.Counter[str] = collections.Counter()
    now, tat = 0.0, 0.0
    while now < seconds:
        wait, _ = gcra_check(tat, now, budget)
        ready = queue.next_ready(now=now + wait)
        if ready is None:
            break
        now = max(now + wait, ready)
        popped = queue.pop(now=now)
        assert popped is not None
        tat = gcra_check(tat, now, budget)[1]
        sent[popped[0]] += 1
    return sent


def test_weights_three_to_one_share_a_saturated_budget() -> None:
    queue: FairQueue[int] = FairQueue(FairnessConfig.from_mapping({"big": {"weight": 3}}))
    for n in range(2000):
        queue.push("big", n)
        queue.push("small", n)
    sent = drain(queue, 30.0)
    assert sent["big"] / sent["small"] == pytest.approx(3.0, rel=0.10)


def test_a_newsletter_queued_first_does_not_stall_daily_mail() -> None:
    queue: FairQueue[int] = FairQueue()
    for n in range(20_000):
        queue.push("newsletter", n)
    for _ in range(10):
        queue.pop(now=0.0)
    for n in range(5):
        queue.push("daily", n)
    order = [queue.pop(now=0.0) for _ in range(10)]
    daily = [i for i, item in enumerate(order) if item and item[0] == "daily"]
    # Idle tenants bank no credit, busy ones get no head start: daily goes every other turn.
    assert daily == [0, 2, 4, 6, 8]


def test_priority_orders_messages_within_a_tenant() -> None:
    queue: FairQueue[str] = FairQueue()
    queue.push("asso", "bulk-1", priority=10)
    queue.push("asso", "reset-password", priority=0)
    queue.push("asso", "bulk-2", priority=10)
    assert [queue.pop(now=0.0) for _ in range(3)] == [
        ("asso", "reset-password"),
        ("asso", "bulk-1"),
        ("asso", "bulk-2"),
    ]
    assert queue.pop(now=0.0) is None


def test_cap_bounds_a_tenant_even_alone() -> None:
    config = FairnessConfig.from_mapping({"capped": {"max_rate": 2.0}})
    queue: FairQueue[int] = FairQueue(config)
    for n in range(1000):
        queue.push("capped", n)
    sent = drain(queue, 10.0)
    assert sent["capped"] <= 2.0 * 10.0 + 1


def test_cap_leaves_the_rest_to_others() -> None:
    config = FairnessConfig.from_mapping({"capped": {"max_rate": 2.0, "weight": 10}})
    queue: FairQueue[int] = FairQueue(config)
    for n in range(1000):
        queue.push("capped", n)
        queue.push("other", n)
    sent = drain(queue, 10.0)
    assert sent["capped"] <= 21
    assert sent["other"] >= 20 * 10 - 21


def test_suspended_tenant_waits_others_go() -> None:
    queue: FairQueue[str] = FairQueue()
    queue.push("a", "a1")
    queue.push("b", "b1")
    queue.push("b", "b2")
    queue.suspend("a", until=100.0)
    assert queue.pop(now=0.0) == ("b", "b1")
    assert queue.pop(now=0.0) == ("b", "b2")
    assert queue.pop(now=0.0) is None
    assert queue.next_ready(now=0.0) == 100.0
    assert queue.pop(now=100.0) == ("a", "a1")
    queue.push("a", "a2")
    queue.suspend("a", until=500.0)
    queue.resume("a")
    assert queue.pop(now=101.0) == ("a", "a2")
    assert queue.next_ready(now=101.0) is None
    assert len(queue) == 0


@pytest.mark.parametrize(
    "reply",
    [
        "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail from your DKIM domain."
        " To protect our users, mail sent from your DKIM domain has been temporarily rate"
        " limited.",
        "421 4.7.28 ... originating from your SPF domain [example.org 12]",
        "550 5.7.515 Access denied, sending domain example.org does not meet the required"
        " authentication level.",
    ],
)
def test_tenant_scoped_replies(reply: str) -> None:
    assert is_tenant_scoped(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "421 4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from"
        " your IP address.",
        "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred",
        "250 2.0.0 OK",
    ],
)
def test_ip_scoped_replies(reply: str) -> None:
    assert not is_tenant_scoped(reply)


@pytest.mark.parametrize(
    "data",
    [
        {"a": {"weight": 0}},
        {"a": {"weight": -1}},
        {"a": {"weight": "x"}},
        {"a": {"max_rate": 0}},
        {"a": {"speed": 3}},
        {"a": 3},
    ],
)
def test_bad_configuration(data: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        FairnessConfig.from_mapping(data)


def test_default_policy() -> None:
    config = FairnessConfig.from_mapping({"*": {"weight": 2}, "a": {"weight": 5}})
    assert config.policy("a") == TenantPolicy(weight=5)
    assert config.policy("zzz") == TenantPolicy(weight=2)


@given(
    weights=st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=5),
    pops=st.integers(min_value=1, max_value=200),
)
def test_backlogged_tenants_share_by_weight(weights: list[int], pops: int) -> None:
    tenants = {f"t{i}": {"weight": w} for i, w in enumerate(weights)}
    queue: FairQueue[int] = FairQueue(FairnessConfig.from_mapping(tenants))
    for name in tenants:
        for n in range(pops):
            queue.push(name, n)
    sent = collections.Counter(queue.pop(now=0.0)[0] for _ in range(pops))  # type: ignore[index]
    # The fairness bound of weighted fair queueing: the service of any two backlogged
    # tenants, each divided by its weight, differs by at most 1/w_i + 1/w_j.
    for i, wi in enumerate(weights):
        for j, wj in enumerate(weights):
            gap = sent[f"t{i}"] / wi - sent[f"t{j}"] / wj
            assert gap <= 1 / wi + 1 / wj + 1e-9
