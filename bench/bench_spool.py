"""Benchmark the SQLite spool: submits/s and memory with 100,000 queued messages.

    .venv/bin/python bench/bench_spool.py [--messages 100000] [--size 2048] [--dir DIR]

Submits ``--messages`` messages of ``--size`` bytes, one recipient each over 50 domains,
one in 100 transactional, one ``submit`` (one committed transaction, WAL,
``synchronous=FULL``) at a time, as the Sender does. Then, on the full spool: one
``claim(limit=500)`` cycle (claim, then ``finish`` 9 in 10 recipients and ``defer`` the
rest; the first 500 claimed are transactional), a claim when nothing is
due (every waiting recipient in the future), and the admin calls ``status``, ``list``,
``retry`` and ``purge``; ``submit_once`` of ``--messages``/10 messages, then the same
again (every recipient a duplicate); 200 ``save_state`` calls (the shaping state store:
time spent on the event-loop thread, then the flush). Prints JSON: submits/s, seconds per
call, and the peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) after the imports, after submitting and
after the claim cycle. Targets (issue 5): >= 2,000 submits/s, RSS < 150 MB.

The spool file goes in a temporary directory under ``--dir`` (default: the system's
temporary directory; pass a directory on the disk you deploy on, fsync costs differ).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from mailcheck.sending.spool import BULK, TRANSACTIONAL, SqliteSpool, submission_key

TARGET_SUBMITS = 2000.0
TARGET_RSS_MB = 150.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float | None:
    """Resident set size now, where /proc tells it."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Clock:
    """Wall clock with an offset, to look at the spool from the past."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def message(n: int, size: int) -> bytes:
    head = f"From: news@asso.example\r\nTo: m{n}@d{n % 50}.example\r\nSubject: {n}\r\n\r\n"
    line = b"x" * 76 + b"\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head.encode() + body


async def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = await fn
    return result, time.perf_counter() - start


async def bench(messages: int, size: int, workdir: Path) -> dict[str, Any]:
    rss_start = peak_rss_mb()
    clock = Clock()
    spool = SqliteSpool(str(workdir / "spool.db"), clock=clock)
    body_bytes = 0
    start = time.perf_counter()
    for n in range(messages):
        raw = message(n, size)
        body_bytes += len(raw)
        await spool.submit(
            raw,
            mail_from="news@asso.example",
            rcpt_to=[f"m{n}@d{n % 50}.example"],
            tenant="asso",
            priority=TRANSACTIONAL if n % 100 == 0 else BULK,
        )
    submit_s = time.perf_counter() - start
    rss_submitted = peak_rss_mb()
    rss_submitted_now = current_rss_mb()

    jobs, claim_s = await timed(spool.claim(limit=500))
    claimed = sum(len(j.recipients) for j in jobs)
    transactional_first = all(j.priority == TRANSACTIONAL for j in jobs[: messages // 100])
    start = time.perf_counter()
    for i, job in enumerate(jobs):
        for rid, _, _ in job.recipients:
            if i % 10:
                await spool.finish(rid, "delivered", "250 2.0.0 OK")
            else:
                await spool.defer(rid, "421 4.7.28 try later")
    finish_s = time.perf_counter() - start
    del jobs
    rss_claimed = peak_rss_mb()

    clock.offset = -86400.0  # a day earlier: everything waiting is in the future
    idle, idle_claim_s = await timed(spool.claim(limit=500))
    clock.offset = 0.0
    status, status_s = await timed(spool.status())
    listed, list_s = await timed(spool.list(state="queued", domain="d7.example", limit=100))
    retried, retry_s = await timed(spool.retry(domain="d0.example"))
    purged, purge_s = await timed(spool.purge())
    once = await bench_submit_once(spool, max(1, messages // 10), size)
    state = await bench_save_state(spool)
    rss_end = peak_rss_mb()
    spool.close()
    return {
        "messages": messages,
        "message_bytes": round(body_bytes / messages),
        "submit_seconds": round(submit_s, 2),
        "submits_per_s": round(messages / submit_s),
        "claim_500_seconds": round(claim_s, 4),
        "claimed": claimed,
        "transactional_first": transactional_first,
        "finish_or_defer_500_seconds": round(finish_s, 3),
        "claim_nothing_due_seconds": round(idle_claim_s, 4),
        "claim_nothing_due_jobs": len(idle),
        "status_seconds": round(status_s, 4),
        "status_waiting": status["waiting"],
        "list_100_seconds": round(list_s, 4),
        "listed": len(listed),
        "retry_domain_seconds": round(retry_s, 4),
        "retried": retried,
        "purge_seconds": round(purge_s, 4),
        "purged": purged,
        **once,
        **state,
        "peak_rss_mb": {
            "after_imports": round(rss_start, 1),
            "after_submits": round(rss_submitted, 1),
            "after_claim_cycle": round(rss_claimed, 1),
            "at_end": round(rss_end, 1),
        },
        "rss_now_after_submits_mb": (
            None if rss_submitted_now is None else round(rss_submitted_now, 1)
        ),
        "targets_met": {
            "submits_per_s": messages / submit_s >= TARGET_SUBMITS,
            "rss": rss_claimed < TARGET_RSS_MB,
        },
    }


async def bench_submit_once(spool: SqliteSpool, count: int, size: int) -> dict[str, Any]:
    """``submit_once`` of ``count`` new messages, then of the same ones (all duplicates)."""
    raws = [b"Message-ID: <%d@bench.example>\r\n" % n + message(n, size) for n in range(count)]
    rates = []
    for _ in range(2):
        start = time.perf_counter()
        for n, raw in enumerate(raws):
            await spool.submit_once(
                raw,
                mail_from="news@asso.example",
                rcpt_to=[f"o{n}@d{n % 50}.example"],
                tenant="asso",
                key=submission_key(raw),
            )
        rates.append(round(count / (time.perf_counter() - start)))
    return {"submit_once_new_per_s": rates[0], "submit_once_duplicate_per_s": rates[1]}


async def bench_save_state(spool: SqliteSpool) -> dict[str, Any]:
    """200 ``save_state`` calls as a slowed budget makes them: time on the loop, flush."""
    start = time.perf_counter()
    for i in range(200):
        spool.save_state("override", ("192.0.2.1", "gmail"), "", {"factor": i}, time.time() + 60)
    loop_s = time.perf_counter() - start
    before = spool.transactions
    _, flush_s = await timed(spool.flush_state())
    return {
        "save_state_200_loop_ms": round(loop_s * 1000, 2),
        "save_state_flush_ms": round(flush_s * 1000, 2),
        "save_state_transactions": spool.transactions - before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=2048, help="bytes per message (about)")
    parser.add_argument("--dir", help="where the temporary spool goes (default: $TMPDIR)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-spool-", dir=args.dir) as tmp:
        result = asyncio.run(bench(args.messages, args.size, Path(tmp)))
        files = sum(p.stat().st_size for p in Path(tmp).iterdir())
    result["spool_mb_after_purge"] = round(files / 2**20, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
