"""Profile ``Sender.run_until_idle`` (no rate limit) with cProfile, against the same sink.

    .venv/bin/python bench/profile_send.py [--messages 5000] [--connections 10]
        [--per-connection 100] [--prefetch 100] [--top 25] [--raw]

Same set-up as ``bench_send.py`` part 1 (sink in a child process, messages submitted
before the profiled part). Prints the top ``--top`` functions by cumulative and by own time
(event-loop thread only: SQLite work runs in ``asyncio.to_thread`` workers, which cProfile
does not see, so the spool's calls are also counted and timed in their thread, and the
event loop's idle time in ``select`` is shown). ``--raw`` profiles the raw aiosmtplib
baseline instead, for comparison.
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
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_send import SinkProcess, make_sender, run_raw, submit_all

from mailcheck.sending.shaping import Budget


class _TimedLock:
    """The spool's lock, timing the wait for it and how long it is held."""

    def __init__(self, inner: Any, tx: dict[str, float], lock: threading.Lock) -> None:
        self._inner, self._tx, self._lock = inner, tx, lock
        self._since = 0.0

    def __enter__(self) -> Any:
        begin = time.perf_counter()
        self._inner.acquire()
        self._since = time.perf_counter()
        with self._lock:
            self._tx["lock_wait"] += self._since - begin
        return self

    def __exit__(self, *exc: object) -> None:
        held = time.perf_counter() - self._since
        self._inner.release()
        with self._lock:
            self._tx["held"] += held


def count_spool(spool: Any) -> tuple[collections.Counter[str], dict[str, float]]:
    """Count the spool's calls, and its transactions (group commits) with their seconds in
    their thread."""
    calls: collections.Counter[str] = collections.Counter()
    tx = {"seconds": 0.0, "count": 0.0, "lock_wait": 0.0, "held": 0.0}
    original_batch = spool._tx_batch
    lock = threading.Lock()
    spool._lock = _TimedLock(spool._lock, tx, lock)

    def timed_batch(fns: Any) -> Any:
        begin = time.perf_counter()
        try:
            return original_batch(fns)
        finally:
            with lock:
                tx["seconds"] += time.perf_counter() - begin
                tx["count"] += 1

    spool._tx_batch = timed_batch
    for name in ("claim", "finish", "defer", "events", "ack", "counts", "next_due"):
        method = getattr(spool, name)

        def wrap(method: Any = method, name: str = name) -> Any:
            @functools.wraps(method)
            async def counted(*args: Any, **kwargs: Any) -> Any:
                calls[name] += 1
                return await method(*args, **kwargs)

            return counted

        setattr(spool, name, wrap())
    finish_nowait = spool.finish_nowait

    def counted_nowait(*args: Any, **kwargs: Any) -> Any:
        calls["finish_nowait"] += 1
        return finish_nowait(*args, **kwargs)

    spool.finish_nowait = counted_nowait
    return calls, tx


def show(profile: cProfile.Profile, top: int) -> None:
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).strip_dirs().sort_stats(key)
        stats.print_stats(top)
        print(f"===== top {top} by {key} =====")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--per-connection", type=int, default=100)
    parser.add_argument("--prefetch", type=int, default=100)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--synchronous",
        choices=("FULL", "NORMAL", "OFF"),
        default="FULL",
        help="experiment: the spool's PRAGMA synchronous (spool.py sets FULL)",
    )
    parser.add_argument(
        "--inline-spool",
        action="store_true",
        help="experiment: run the spool's transactions on the event loop, not in a thread",
    )
    parser.add_argument("--switch-interval", type=float, help="experiment: sys.setswitchinterval")
    parser.add_argument("--no-profile", action="store_true", help="counters only, no cProfile")
    parser.add_argument("--raw", action="store_true", help="profile raw aiosmtplib instead")
    args = parser.parse_args()
    sink = SinkProcess()
    profile = cProfile.Profile()
    try:
        await run_raw(sink, 500, args.connections)  # warm-up, not profiled
        if args.raw:
            profile.enable()
            begin = time.perf_counter()
            result = await run_raw(sink, args.messages, args.connections)
            elapsed = time.perf_counter() - begin
            profile.disable()
            print(f"raw: {result['per_s']} msg/s ({elapsed:.2f} s under the profiler)")
            show(profile, args.top)
            return
        with tempfile.TemporaryDirectory() as tmp:
            await sink.call("reset")
            budget = Budget(
                connections=args.connections, messages_per_connection=args.per_connection
            )
            sender = make_sender(Path(tmp), "profile", sink.port, budget, args.prefetch)
            await submit_all(sender, args.messages)
            sender.spool._db.execute(f"PRAGMA synchronous={args.synchronous}")
            if args.inline_spool:
                spool = sender.spool

                def inline(fn: Any, *, lazy: bool = False) -> Any:
                    future = asyncio.get_running_loop().create_future()
                    ok, value = spool._tx_batch([fn])[0]
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
                    return future

                spool._enqueue = inline
            if args.switch_interval:
                sys.setswitchinterval(args.switch_interval)
            calls, tx = count_spool(sender.spool)
            if not args.no_profile:
                profile.enable()
            begin = time.perf_counter()
            await sender.run_until_idle()
            elapsed = time.perf_counter() - begin
            profile.disable()
            stats = await sender.stats()
            await sender.close()
            sender.spool.close()
        seen = await sink.call("stats")
        how = "" if args.no_profile else " under cProfile"
        print(
            f"Sender: {args.messages / elapsed:.1f} msg/s{how} ({elapsed:.2f} s),"
            f" {seen['opened']} connections opened, at most {seen['max_open']} open"
        )
        print(f"spool calls: {dict(calls)}")
        print(
            f"spool transactions: {tx['count']:.0f}, {tx['seconds']:.2f} s in their threads"
            f" ({1000 * tx['seconds'] / max(1.0, tx['count']):.3f} ms each,"
            f" {tx['count'] / args.messages:.2f} per message); lock held {tx['held']:.2f} s"
            f" ({1000 * tx['held'] / max(1.0, tx['count']):.3f} ms each),"
            f" waited for {tx['lock_wait']:.2f} s"
        )
        print(f"stats: {stats}")
        if not args.no_profile:
            show(profile, args.top)
    finally:
        sink.stop()


if __name__ == "__main__":
    asyncio.run(main())
