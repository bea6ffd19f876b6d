"""Profile ``Sender.run_until_idle`` (no rate limit) with cProfile, against the same sink.

    .venv/bin/python bench/profile_send.py [--messages 5000] [--connections 10]
        [--per-connection 100] [--prefetch 100] [--top 25] [--no-profile] [--raw]

Same set-up as ``bench_send.py`` part 1 (sink in a child process, messages submitted
before the profiled part). Prints the top ``--top`` functions by cumulative and by own time
(event-loop thread only: SQLite work runs in the spool's worker thread, which cProfile does
not see). So the spool is also observed through its public API: the calls the Sender makes
(counted around the spool's public methods), its transactions (``spool.transactions``: a
group commit counts once) and the SQL statements it runs (``spool.trace``); and the CPU is
split with per-thread clocks: the event loop's thread (``time.thread_time``) against the
whole process (``time.process_time``), the difference being the spool's thread. ``--raw``
profiles the raw aiosmtplib baseline instead, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import functools
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_send import SinkProcess, make_sender, run_raw, submit_all

from mailcheck.sending.shaping import Budget
from mailcheck.sending.spool import SqliteSpool

#: The spool's public methods the Sender calls while it runs.
COUNTED = ("claim", "finish", "finish_nowait", "defer", "events", "ack", "counts", "next_due")


def count_calls(spool: SqliteSpool) -> collections.Counter[str]:
    """Count the calls to the spool's public methods (wrapped on this instance only)."""
    calls: collections.Counter[str] = collections.Counter()
    for name in COUNTED:
        method = getattr(spool, name)

        if asyncio.iscoroutinefunction(method):

            def wrap(method: Any = method, name: str = name) -> Any:
                @functools.wraps(method)
                async def counted(*args: Any, **kwargs: Any) -> Any:
                    calls[name] += 1
                    return await method(*args, **kwargs)

                return counted

        else:

            def wrap(method: Any = method, name: str = name) -> Any:
                @functools.wraps(method)
                def counted(*args: Any, **kwargs: Any) -> Any:
                    calls[name] += 1
                    return method(*args, **kwargs)

                return counted

        setattr(spool, name, wrap())
    return calls


def statement_kind(sql: str) -> str:
    """``"UPDATE recipients"``, ``"SELECT"``, ``"COMMIT"``: a statement's verb and table."""
    words = sql.split()
    if not words:
        return "?"
    verb = words[0].upper()
    upper = [w.upper() for w in words]
    for keyword in ("INTO", "UPDATE", "FROM"):
        if keyword in upper[:-1]:
            table = words[upper.index(keyword) + 1].strip("(")
            return f"{verb} {table}"
    return verb


def show(profile: cProfile.Profile, top: int) -> None:
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).strip_dirs().sort_stats(key)
        stats.print_stats(top)
        print(f"===== top {top} by {key} =====")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))


async def profile_raw(sink: SinkProcess, args: argparse.Namespace) -> None:
    profile = cProfile.Profile()
    profile.enable()
    begin = time.perf_counter()
    result = await run_raw(sink, args.messages, args.connections)
    elapsed = time.perf_counter() - begin
    profile.disable()
    print(f"raw: {result['per_s']} msg/s ({elapsed:.2f} s under the profiler)")
    show(profile, args.top)


async def profile_sender(sink: SinkProcess, args: argparse.Namespace) -> None:
    profile = cProfile.Profile()
    with tempfile.TemporaryDirectory() as tmp:
        await sink.call("reset")
        budget = Budget(connections=args.connections, messages_per_connection=args.per_connection)
        sender = make_sender(Path(tmp), "profile", sink.port, budget, args.prefetch)
        await submit_all(sender, args.messages)
        spool = sender.spool
        calls = count_calls(spool)
        statements: collections.Counter[str] = collections.Counter()
        spool.trace(lambda sql: statements.update((statement_kind(sql),)))
        transactions = spool.transactions
        if not args.no_profile:
            profile.enable()
        begin = time.perf_counter()
        cpu, loop_cpu = time.process_time(), time.thread_time()
        await sender.run_until_idle()
        cpu, loop_cpu = time.process_time() - cpu, time.thread_time() - loop_cpu
        elapsed = time.perf_counter() - begin
        profile.disable()
        transactions = spool.transactions - transactions
        spool.trace(None)
        stats = await sender.stats()
        await sender.close()
        spool.close()
    seen = await sink.call("stats")
    n = args.messages
    how = "" if args.no_profile else " under cProfile"
    print(
        f"Sender: {n / elapsed:.1f} msg/s{how} ({elapsed:.2f} s),"
        f" {seen['opened']} connections opened, at most {seen['max_open']} open"
    )
    print(
        f"CPU per message: {1000 * cpu / n:.3f} ms in the process, of which"
        f" {1000 * loop_cpu / n:.3f} ms on the event loop's thread and"
        f" {1000 * (cpu - loop_cpu) / n:.3f} ms in other threads (the spool's)"
    )
    print(f"spool calls: {dict(calls)}")
    print(f"spool transactions: {transactions} ({transactions / n:.2f} per message)")
    print(f"SQL statements: {dict(statements.most_common())}")
    print(f"stats: {stats}")
    if not args.no_profile:
        show(profile, args.top)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--per-connection", type=int, default=100)
    parser.add_argument("--prefetch", type=int, default=100)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true", help="counters only, no cProfile")
    parser.add_argument("--raw", action="store_true", help="profile raw aiosmtplib instead")
    args = parser.parse_args()
    sink = SinkProcess()
    try:
        await run_raw(sink, 500, args.connections)  # warm-up, not profiled
        if args.raw:
            await profile_raw(sink, args)
        else:
            await profile_sender(sink, args)
    finally:
        sink.stop()


if __name__ == "__main__":
    asyncio.run(main())
