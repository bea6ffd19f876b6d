"""Benchmark the Sender against raw aiosmtplib, and its shaping accuracy.

    .venv/bin/python bench/bench_send.py [--messages 5000] [--connections 10 50]
        [--per-connection 100] [--prefetch 0] [--rate 20] [--seconds 10]
        [--only throughput|shaping]

The aiosmtpd sink runs in a child process (``multiprocessing``, spawn) on 127.0.0.1, so its
CPU is not the benchmark's; it accepts everything and records arrival times, connections
opened and the most connections open at once. Messages are ~2 KB with one recipient each.

1. Throughput, for each ``--connections`` N (same message, same sink, same process):

   - raw: N ``aiosmtplib.SMTP`` clients connect once each (not timed), then send
     ``--messages`` messages over them in parallel (``sendmail``: MAIL, RCPT, DATA);
   - Sender: ``--messages`` messages submitted to the SQLite spool (timed apart), then
     ``Sender.run_until_idle`` timed on its own, with
     ``Budget(connections=N, messages_per_connection=M)``, M = ``--per-connection``. The
     Sender opens ``min(N, ceil(waiting / M))`` connections and holds at most
     ``10 * prefetch`` messages in memory, so ``--prefetch`` defaults to ``N * M / 10``
     (at least 100) for it to open all N; the sink's counts show how many it really had
     open at once and how many it opened (it reconnects after M messages).

   Prints msg/s of each and the ratio Sender / raw.
2. Shaping accuracy: a budget of ``--rate`` msg/s (burst 1, 2 connections) for about
   ``--seconds``; prints the measured rate (messages after the first / time between the
   first and the last arrival at the sink) and the most arrivals in any 1-second window
   ``[t, t + 1)`` starting at an arrival, and the smallest gap between two arrivals (times
   taken by the sink at the end of DATA, so they include the network and parsing jitter).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcheck.lookup.zonefile import ZoneResolver
from mailcheck.sending.local_share import Gcra
from mailcheck.sending.pacing import PacePolicy
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


# -- the sink (child process) ------------------------------------------------------------------


class _SinkState:
    """Arrival times (``time.time()``, comparable across processes) and connection counts."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.times: list[float] = []
        self.opened = 0
        self.open = 0
        self.max_open = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.times.append(time.time())
        return "250 OK"


class _SinkSMTP(SMTP):
    def __init__(self, state: _SinkState) -> None:
        super().__init__(state, hostname="mx.bench.test")
        self._state = state

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._state.opened += 1
        self._state.open += 1
        self._state.max_open = max(self._state.max_open, self._state.open)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._state.open -= 1
        super().connection_lost(exc)


async def _sink_serve(conn: Connection) -> None:
    state = _SinkState()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _SinkSMTP(state), "127.0.0.1", 0)
    conn.send(server.sockets[0].getsockname()[1])
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "stop":
            break
        if command == "reset":
            state.reset()
            conn.send(None)
        elif command == "stats":
            conn.send(
                {
                    "times": state.times,
                    "opened": state.opened,
                    "max_open": state.max_open,
                }
            )
    server.close()
    await server.wait_closed()


def _sink_main(conn: Connection) -> None:
    asyncio.run(_sink_serve(conn))


class SinkProcess:
    """The sink in a child process; ``call`` sends it a command and returns its answer."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_sink_main, args=(child,), daemon=True)
        self._process.start()
        self.port: int = self._conn.recv()

    async def call(self, command: str) -> Any:
        self._conn.send(command)
        return await asyncio.to_thread(self._conn.recv)

    def stop(self) -> None:
        self._conn.send("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()


# -- the runs ------------------------------------------------------------------------------------


async def run_raw(sink: SinkProcess, messages: int, connections: int) -> dict[str, Any]:
    """``messages`` over ``connections`` reused aiosmtplib connections, in parallel."""
    await sink.call("reset")
    clients = [
        aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port, timeout=30, local_hostname="s.test")
        for _ in range(connections)
    ]
    await asyncio.gather(*(c.connect() for c in clients))
    numbers = iter(range(messages))

    async def worker(client: aiosmtplib.SMTP) -> None:
        for i in numbers:
            await client.sendmail("a@s.test", [f"u{i}@bench.test"], MESSAGE)

    begin, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(c) for c in clients))
    elapsed, cpu = time.perf_counter() - begin, time.process_time() - cpu
    await asyncio.gather(*(c.quit() for c in clients))
    seen = await sink.call("stats")
    return {
        "messages": messages,
        "connections": connections,
        "arrived": len(seen["times"]),
        "seconds": round(elapsed, 3),
        "per_s": round(messages / elapsed, 1),
        "cpu_ms_per_message": round(1000 * cpu / messages, 3),
        "sink_connections": seen["opened"],
        "sink_max_open": seen["max_open"],
    }


def make_sender(workdir: Path, name: str, port: int, budget: Budget, prefetch: int) -> Sender:
    """A Sender on a fresh spool, every message of ``bench.test`` to the sink."""
    zone = workdir / "bench.test.zone"
    zone.write_text(ZONE)
    return Sender(
        spool=SqliteSpool(str(workdir / f"{name}.db")),
        resolver=ZoneResolver([zone]),
        default_budget=budget,
        mx_override={"mx.bench.test": ("127.0.0.1", port)},
        tls="off",
        prefetch=prefetch,
        # The sink accepts as fast as we send: no first-contact pace, only the budget's.
        pacing=lambda group: PacePolicy(first_contact=1e6),
    )


async def submit_all(sender: Sender, messages: int) -> float:
    """Submit ``messages`` one-recipient messages; returns the seconds it took."""
    begin = time.perf_counter()
    for i in range(messages):
        await sender.submit(MESSAGE, mail_from="a@s.test", rcpt_to=[f"u{i}@bench.test"])
    return time.perf_counter() - begin


async def run_sender(
    sink: SinkProcess,
    messages: int,
    budget: Budget,
    workdir: Path,
    name: str,
    prefetch: int = 100,
) -> dict[str, Any]:
    """Submit ``messages``, then time ``run_until_idle`` alone."""
    await sink.call("reset")
    sender = make_sender(workdir, name, sink.port, budget, prefetch)
    submit = await submit_all(sender, messages)
    begin, cpu = time.perf_counter(), time.process_time()
    await sender.run_until_idle()
    elapsed, cpu = time.perf_counter() - begin, time.process_time() - cpu
    counts = await sender.spool.counts()
    await sender.close()
    sender.spool.close()
    seen = await sink.call("stats")
    t = sorted(seen["times"])
    window = 0
    j = 0
    for i, start in enumerate(t):  # most arrivals in any [start, start + 1)
        j = max(j, i)
        while j < len(t) and t[j] < start + 1.0:
            j += 1
        window = max(window, j - i)
    return {
        "messages": messages,
        "connections": budget.connections,
        "messages_per_connection": budget.messages_per_connection,
        "prefetch": prefetch,
        "delivered": counts["delivered"],
        "arrived": len(t),
        "submit_seconds": round(submit, 3),
        "submit_per_s": round(messages / submit, 1),
        "seconds": round(elapsed, 3),
        "per_s": round(messages / elapsed, 1),
        "cpu_ms_per_message": round(1000 * cpu / messages, 3),
        "sink_connections": seen["opened"],
        "sink_max_open": seen["max_open"],
        "measured_rate": round((len(t) - 1) / (t[-1] - t[0]), 3) if len(t) > 1 else 0.0,
        "max_in_1s_window": window,
        "min_gap_ms": round(1000 * min((b - a for a, b in itertools.pairwise(t)), default=0), 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--connections", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--per-connection", type=int, default=100, help="messages per connection")
    parser.add_argument(
        "--prefetch", type=int, default=0, help="Sender(prefetch=...); 0: N * M / 10, >= 100"
    )
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", choices=("throughput", "shaping"))
    args = parser.parse_args()
    sink = SinkProcess()
    result: dict[str, Any] = {"throughput": [], "shaped": None}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # One unmeasured raw pass: imports, sockets and the sink's loop warmed up.
            await run_raw(sink, min(500, args.messages), args.connections[0])
            if args.only != "shaping":
                for n in args.connections:
                    raw = await run_raw(sink, args.messages, n)
                    budget = Budget(connections=n, messages_per_connection=args.per_connection)
                    prefetch = args.prefetch or max(100, -(-n * args.per_connection // 10))
                    sent = await run_sender(
                        sink, args.messages, budget, Path(tmp), f"fast{n}", prefetch
                    )
                    ratio = sent["per_s"] / raw["per_s"]
                    result["throughput"].append({"raw": raw, "sender": sent, "ratio": ratio})
                    raw_cpu, sent_cpu = raw["cpu_ms_per_message"], sent["cpu_ms_per_message"]
                    print(
                        f"N={n}: raw {raw['per_s']} msg/s ({raw_cpu} ms CPU each)"
                        f" | Sender {sent['per_s']} msg/s ({sent_cpu} ms CPU each,"
                        f" {sent['sink_connections']} connections opened,"
                        f" at most {sent['sink_max_open']} open; submit {sent['submit_per_s']}/s)"
                        f" | ratio {ratio:.0%}",
                        flush=True,
                    )
            if args.only != "throughput":
                shaped_budget = Budget(
                    connections=2, message_rates=(("rate", Gcra(interval=1 / args.rate, burst=1)),)
                )
                count = int(args.rate * args.seconds) + 1
                shaped = await run_sender(sink, count, shaped_budget, Path(tmp), "shaped")
                result["shaped"] = shaped
                result["configured_rate"] = args.rate
                error = shaped["measured_rate"] / args.rate - 1
                print(
                    f"shaping: configured {args.rate} msg/s, {count} messages,"
                    f" measured {shaped['measured_rate']} msg/s ({error:+.2%}),"
                    f" max {shaped['max_in_1s_window']} in any 1-s window,"
                    f" smallest gap between arrivals {shaped['min_gap_ms']} ms"
                )
    finally:
        sink.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
