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


def group_commit_finish(spool: Any) -> None:
    """Experiment: ``finish`` calls made while a commit runs share the next transaction.

    Each caller still returns only after its row is committed. The SQL is ``finish``'s own.
    """
    pending: list[tuple[int, str, str, asyncio.Future[None]]] = []
    running: set[asyncio.Task[None]] = set()

    async def flush() -> None:
        while pending:
            batch = pending[:]
            pending.clear()

            def work(db: Any, batch: list[tuple[int, str, str, Any]] = batch) -> None:
                for rid, state, reply, _ in batch:
                    db.execute(
                        "UPDATE recipients SET state=?, attempts=attempts+1, last_reply=?,"
                        " updated=? WHERE id=?",
                        (state, reply, spool.clock(), rid),
                    )
                    spool._event(db, rid, state, reply)

            try:
                await spool._run(work)
            except Exception as exc:  # handed to every waiting caller
                for *_, future in batch:
                    future.set_exception(exc)
                continue
            for *_, future in batch:
                future.set_result(None)

    async def finish(rid: int, state: str, reply: str = "") -> None:
        future = asyncio.get_running_loop().create_future()
        pending.append((rid, state, reply, future))
        if not running:
            task = asyncio.ensure_future(flush())
            running.add(task)
            task.add_done_callback(running.discard)
        await future

    spool.finish = finish


def cache_routing(sender: Any) -> None:
    """Experiment: memoise the resolver's answers and ``group_of`` (no TTL: a bench only)."""
    answers: dict[tuple[str, str], Any] = {}
    groups: dict[tuple[str, tuple[str, ...]], str] = {}
    query, group_of = sender.resolver.query, sender.group_of

    async def cached_query(name: str, rdtype: str) -> Any:
        key = (name, rdtype)
        if key not in answers:
            answers[key] = await query(name, rdtype)
        return answers[key]

    def cached_group_of(domain: str, hosts: Any) -> str:
        key = (domain, tuple(hosts))
        if key not in groups:
            groups[key] = group_of(domain, hosts)
        return groups[key]

    sender.resolver.query = cached_query
    sender.group_of = cached_group_of


def count_spool(spool: Any) -> tuple[collections.Counter[str], dict[str, float]]:
    """Count the spool's calls and the seconds of its transactions (in their thread)."""
    calls: collections.Counter[str] = collections.Counter()
    tx = {"seconds": 0.0, "count": 0.0, "lock_wait": 0.0, "held": 0.0}
    original_tx = spool._tx
    lock = threading.Lock()
    spool._lock = _TimedLock(spool._lock, tx, lock)

    def timed_tx(fn: Any) -> Any:
        begin = time.perf_counter()
        try:
            return original_tx(fn)
        finally:
            with lock:
                tx["seconds"] += time.perf_counter() - begin
                tx["count"] += 1

    spool._tx = timed_tx
    for name in ("claim", "finish", "defer", "events", "ack", "counts", "next_due"):
        method = getattr(spool, name)

        def wrap(method: Any = method, name: str = name) -> Any:
            @functools.wraps(method)
            async def counted(*args: Any, **kwargs: Any) -> Any:
                calls[name] += 1
                return await method(*args, **kwargs)

            return counted

        setattr(spool, name, wrap())
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
    parser.add_argument(
        "--group-commit",
        action="store_true",
        help="experiment: concurrent finish() calls share one transaction",
    )
    parser.add_argument(
        "--cache-routing",
        action="store_true",
        help="experiment: memoise MX answers and provider groups instead of per message",
    )
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

                async def inline(fn: Any) -> Any:
                    return spool._tx(fn)

                spool._run = inline
            if args.switch_interval:
                sys.setswitchinterval(args.switch_interval)
            if args.group_commit:
                group_commit_finish(sender.spool)
            if args.cache_routing:
                cache_routing(sender)
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
