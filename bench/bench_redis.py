"""Benchmark the Redis shared budget: three sending processes share 20 msg/s.

    apt-get install -y redis-server      # the server binary (started here on a free port)
    .venv/bin/python bench/bench_redis.py [--seconds 30] [--rate 20] [--burst 5] [--hosts 3]

Each host process takes messages from one (egress IP, provider) budget as fast as Redis
grants them (sleeping out each reserved slot) and records when each message would go. The
script prints: the combined rate against the budget, the most messages in any 1-second window
against the GCRA bound (``burst + rate``), Redis round trips per message (counted by the
server: ``INFO commandstats``), and the cost of one decision through Redis against the
in-process ``MemoryBackend``. Prints one figure per line and a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mailcheck.sending.local_share import Gcra
from mailcheck.sending.redis_backend import RedisBackend
from mailcheck.sending.shaping import MemoryBackend

HERE = Path(__file__).resolve().parent
KEY = ("192.0.2.10", "google")


def start_redis() -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed: apt-get install -y redis-server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return process, port
        except OSError:
            time.sleep(0.02)
    sys.exit("redis-server did not start")


async def worker(url: str, seconds: float, start: float, rate: float, burst: int) -> None:
    """One sending host: print the send time of every message, then its own counters."""
    limits = [("rate", Gcra(interval=1 / rate, burst=burst))]
    sent: list[float] = []
    async with RedisBackend(url, expected_hosts=3) as backend:
        await asyncio.sleep(max(0.0, start - time.time()))
        deadline = start + seconds
        while time.time() < deadline:
            decision = await backend.take_message(KEY, limits)
            if decision.granted:
                await asyncio.sleep(decision.wait)
                if time.time() < deadline:
                    sent.append(time.time())
            else:
                await asyncio.sleep(min(decision.wait, max(0.0, deadline - time.time())))
        stats = backend.stats()
    print(json.dumps({"sent": sent, "round_trips": stats.round_trips}))


def max_in_window(times: list[float], width: float) -> int:
    ordered, best, first = sorted(times), 0, 0
    for last, t in enumerate(ordered):
        while ordered[first] <= t - width:
            first += 1
        best = max(best, last - first + 1)
    return best


async def decision_cost(url: str, calls: int) -> dict[str, float]:
    """Microseconds per take_message: RedisBackend against the in-process MemoryBackend."""
    limits = [("rate", Gcra(interval=1e-9, burst=1))]
    memory = MemoryBackend()
    begin = time.perf_counter()
    for _ in range(calls):
        await memory.take_message(KEY, limits)
    memory_us = (time.perf_counter() - begin) / calls * 1e6
    async with RedisBackend(url) as backend:
        begin = time.perf_counter()
        for _ in range(calls):
            await backend.take_message(KEY, limits)
        redis_us = (time.perf_counter() - begin) / calls * 1e6
    return {"redis_us": redis_us, "memory_us": memory_us, "overhead_us": redis_us - memory_us}


# Commands that only the Lua scripts call: Redis counts them in its statistics too, but they
# run inside one EVALSHA and cost no round trip.
SCRIPT_ONLY = {"time", "pttl", "get", "set", "zremrangebyscore", "zscore", "zcard", "zrange"}
SCRIPT_ONLY |= {"zadd", "pexpire"}


def client_commands(port: int) -> int:
    """Commands clients sent (round trips), from the server's ``INFO commandstats``."""
    out = subprocess.run(
        ["redis-cli", "-p", str(port), "INFO", "commandstats"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = 0
    for line in out.splitlines():
        if line.startswith("cmdstat_"):
            name, fields = line[len("cmdstat_") :].split(":", 1)
            if name.split("|")[0] not in SCRIPT_ONLY | {"info"}:
                total += int(fields.split(",")[0].split("=")[1])
    return total


def run(args: argparse.Namespace) -> dict[str, Any]:
    server, port = start_redis()
    url = f"redis://127.0.0.1:{port}/0"
    try:
        before = client_commands(port)
        start = time.time() + 2.0  # every host connected and subscribed before the start
        command = [sys.executable, __file__, "--worker", url, "--start", str(start)]
        command += ["--seconds", str(args.seconds), "--rate", str(args.rate)]
        command += ["--burst", str(args.burst)]
        env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
        hosts = [
            subprocess.Popen(command, stdout=subprocess.PIPE, env=env) for _ in range(args.hosts)
        ]
        results = [json.loads(h.communicate()[0]) for h in hosts]
        # Setup per host, outside the loop: HELLO-free connect, CLIENT SETINFO (2), SUBSCRIBE,
        # SCRIPT LOAD after the first NOSCRIPT (1 per script, shared): counted, not removed.
        after = client_commands(port)
        cost = asyncio.run(decision_cost(url, args.calls))
    finally:
        server.kill()
        server.wait()
    sent = sorted(t for r in results for t in r["sent"])
    messages = len(sent)
    return {
        "hosts": args.hosts,
        "budget_per_s": args.rate,
        "burst": args.burst,
        "seconds": args.seconds,
        "messages": messages,
        "combined_rate_per_s": messages / args.seconds,
        "rate_error_pct": (messages / args.seconds / args.rate - 1) * 100,
        "max_in_1s_window": max_in_window(sent, 1.0),
        # After the first second the initial burst is spent: the sustained rate shows.
        "max_in_1s_window_after_1s": max_in_window([t for t in sent if t >= sent[0] + 1], 1.0),
        "gcra_bound_1s": args.burst + args.rate,
        "round_trips_per_message_server": (after - before) / messages,
        "round_trips_per_message_client": sum(r["round_trips"] for r in results) / messages,
        **cost,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(args.worker, args.seconds, args.start, args.rate, args.burst))
        return
    summary = run(args)
    for name, value in summary.items():
        print(f"{name:34} {value:.3f}" if isinstance(value, float) else f"{name:34} {value}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
