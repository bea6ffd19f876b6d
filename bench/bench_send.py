"""Benchmark the Sender: messages/s to a local aiosmtpd sink, and shaping accuracy.

    .venv/bin/python bench/bench_send.py [--messages 1000] [--rate 20] [--seconds 10]

1. Throughput: ``--messages`` one-recipient messages submitted to the SQLite spool, then
   delivered by ``Sender.run_until_idle`` to an aiosmtpd server on 127.0.0.1 (no rate limit,
   5 connections, 100 messages per connection). Prints submit/s and delivered/s.
2. Shaping accuracy: a budget of ``--rate`` msg/s (burst 1) for about ``--seconds``;
   prints the measured rate (messages after the first / time between first and last
   arrival at the sink) and the most messages in any 1-second window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcheck.lookup.zonefile import ZoneResolver
from mailcheck.sending.local_share import Gcra
from mailcheck.sending.sender import Sender
from mailcheck.sending.shaping import Budget
from mailcheck.sending.spool import SqliteSpool

ZONE = """$TTL 300
@ IN SOA ns.bench.test. h.bench.test. 1 3600 600 86400 60
@ IN NS ns.bench.test.
@ MX 10 mx.bench.test.
"""
MESSAGE = (
    b"From: a@s.test\r\nTo: b@bench.test\r\nSubject: bench\r\n\r\n" + (b"x" * 76 + b"\r\n") * 26
)


class Sink:
    """Accepts everything and records arrival times."""

    def __init__(self) -> None:
        self.times: list[float] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.times.append(time.perf_counter())
        return "250 OK"


async def run(messages: int, budget: Budget, workdir: Path, name: str) -> dict[str, Any]:
    sink = Sink()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(sink, hostname="mx.bench.test"), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    zone = workdir / "bench.test.zone"
    zone.write_text(ZONE)
    spool = SqliteSpool(str(workdir / f"{name}.db"))
    sender = Sender(
        spool=spool,
        resolver=ZoneResolver([zone]),
        default_budget=budget,
        mx_override={"mx.bench.test": ("127.0.0.1", port)},
    )
    begin = time.perf_counter()
    for i in range(messages):
        await sender.submit(MESSAGE, mail_from="a@s.test", rcpt_to=[f"u{i}@bench.test"])
    submitted = time.perf_counter()
    await sender.run_until_idle()
    done = time.perf_counter()
    server.close()
    await server.wait_closed()
    counts = await spool.counts()
    spool.close()
    t = sink.times
    window = max(sum(1 for x in t if s <= x < s + 1.0) for s in t)
    return {
        "messages": messages,
        "delivered": counts["delivered"],
        "submit_per_s": round(messages / (submitted - begin), 1),
        "deliver_per_s": round(messages / (done - submitted), 1),
        "measured_rate": round((len(t) - 1) / (t[-1] - t[0]), 2) if len(t) > 1 else 0.0,
        "max_in_1s_window": window,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fast = await run(args.messages, Budget(connections=5), Path(tmp), "fast")
        shaped_budget = Budget(
            connections=2, message_rates=(("rate", Gcra(interval=1 / args.rate, burst=1)),)
        )
        count = int(args.rate * args.seconds) + 1
        shaped = await run(count, shaped_budget, Path(tmp), "shaped")
    print(f"throughput: {fast['deliver_per_s']} msg/s delivered, {fast['submit_per_s']} submit/s")
    print(f"shaping: configured {args.rate} msg/s, measured {shaped['measured_rate']} msg/s, "
          f"max {shaped['max_in_1s_window']} in any 1-s window")  # fmt: skip
    print(json.dumps({"throughput": fast, "shaped": shaped, "configured_rate": args.rate}))


if __name__ == "__main__":
    asyncio.run(main())
