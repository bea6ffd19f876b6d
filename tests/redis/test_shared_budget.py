"""Three sending processes share one provider budget through a real redis-server.

One scenario runs once per module: three hosts take a 15 msg/s budget (burst 3) as fast as
it is granted; Redis is stopped mid-run and started again. The tests then read what every
host did. Bounds are the budget's own (GCRA: no window of ``w`` seconds holds more than
``burst + rate * w`` grants) plus two grants of slack: times are taken by the processes,
which a loaded machine may schedule late.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.redis.hosts import Host, max_in_window, message_times
from tests.redis_server import RedisTestServer

RATE, BURST, HOSTS = 15.0, 3, 3
SLACK = 2

Scenario = dict[str, Any]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    server = RedisTestServer().start()
    out: Path = tmp_path_factory.mktemp("hosts")
    options = ("--seconds", "6", "--rate", str(RATE), "--burst", str(BURST))
    hosts = [Host(server.url, n, out / f"host{n}.jsonl", *options) for n in range(HOSTS)]
    try:
        # Each host sends through the shared budget for a while, then through its local
        # share while Redis is away: waited for by what the hosts record, not by sleeps.
        for host in hosts:
            host.wait_for("message", count=BURST + 5, shared=True)
        stopped = time.time()
        server.stop()
        for host in hosts:
            host.wait_for("message", count=2, shared=False)
        # A host may see Redis back before start() returns (it waits for PING itself):
        # the restart begins when the process is launched.
        restarted = time.time()
        server.start()
        records = [host.finish() for host in hosts]
    finally:
        for host in hosts:
            host.kill()
        server.close()
    return {"records": records, "stopped": stopped, "restarted": restarted}


def _all(scenario: Scenario) -> list[dict[str, Any]]:
    return [r for records in scenario["records"] for r in records]


def test_hosts_together_never_exceed_the_shared_budget(scenario: Scenario) -> None:
    times = message_times(_all(scenario), shared=True, before=scenario["stopped"])
    assert len(times) > BURST
    for width in (0.5, 1.0):
        assert max_in_window(times, width) <= BURST + RATE * width + SLACK


def test_redis_down_each_host_stays_within_its_share_and_keeps_sending(
    scenario: Scenario,
) -> None:
    share_rate, share_burst = RATE / HOSTS, max(1, BURST // HOSTS)
    for records in scenario["records"]:
        events = [r["event"] for r in records if r["kind"] == "mode"]
        assert events[:2] == ["redis-unavailable", "redis-restored"]
        local = message_times(records, shared=False)
        assert local, "work continues while Redis is down"
        assert all(scenario["stopped"] <= t for t in local)
        assert max_in_window(local, 1.0) <= share_burst + share_rate + SLACK


def test_redis_back_restores_the_shared_budget(scenario: Scenario) -> None:
    records = _all(scenario)
    restored = max(r["t"] for r in records if r["kind"] == "mode")
    assert restored >= scenario["restarted"]
    times = message_times(records, shared=True, after=restored)
    assert len(times) > BURST
    # Every host is back on Redis: the three shares add up to the full budget again.
    assert {r["host"] for r in records if r["kind"] == "message" and r["t"] > restored} == {
        0,
        1,
        2,
    }
    assert max_in_window(times, 1.0) <= BURST + RATE + SLACK


def test_one_round_trip_per_message(scenario: Scenario) -> None:
    for records in scenario["records"]:
        stats = next(r for r in records if r["kind"] == "stats")
        assert stats["round_trips"] <= 2 * stats["granted"]
