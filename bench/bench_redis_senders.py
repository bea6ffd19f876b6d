"""Benchmark three real Sender processes sharing one provider budget through Redis.

    apt-get install -y redis-server
    .venv/bin/python bench/bench_redis_senders.py [--messages 200] [--rate 20] [--burst 5]

Starts a redis-server and an aiosmtpd sink (each in its own process, on loopback), then
three sending processes, each with its own SQLite spool of ``--messages`` messages to one
domain, delivering through ``Sender(backend=RedisBackend(...))`` with a budget of ``--rate``
msg/s (GCRA, burst ``--burst``). From the sink's arrival times it prints the combined rate
against the budget and the most messages in any 1-second window against ``burst + rate``;
from the server's ``INFO commandstats``, the Redis round trips per message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_redis import client_commands, max_in_window, start_redis

ZONE = """$ORIGIN bench.test.
$TTL 300
@ SOA ns hostmaster 1 3600 600 86400 60
@ NS ns
asso MX 10 mx.bench.test.
"""


async def sink(out: Path) -> None:
    """An aiosmtpd server that appends each arrival time to ``out``; prints its port."""
    from aiosmtpd.smtp import SMTP, Envelope, Session

    log = out.open("a", buffering=1)

    class Handler:
        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
            log.write(f"{time.time()}\n")
            return "250 2.0.0 OK"

    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(Handler(), hostname="mx.bench.test"), "127.0.0.1", 0
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


async def sender(args: argparse.Namespace) -> None:
    from mailcheck.lookup.zonefile import ZoneResolver
    from mailcheck.sending.local_share import Gcra
    from mailcheck.sending.pacing import PacePolicy
    from mailcheck.sending.redis_backend import RedisBackend
    from mailcheck.sending.sender import Sender
    from mailcheck.sending.shaping import Budget
    from mailcheck.sending.spool import SqliteSpool

    spool = SqliteSpool(args.spool)
    budget = Budget(
        connections=2,
        message_rates=((f"{args.rate}/s", Gcra(interval=1 / args.rate, burst=args.burst)),),
    )
    async with RedisBackend(args.url, expected_hosts=3) as backend:
        s = Sender(
            spool=spool,
            resolver=ZoneResolver([args.zone]),
            backend=backend,
            default_budget=budget,
            mx_override={"mx.bench.test": ("127.0.0.1", args.port)},
            tls="off",
            pacing=lambda group: PacePolicy(first_contact=1e6),  # the budget alone shapes
        )
        for n in range(args.messages):
            raw = f"From: news@h{args.host}.example\r\nSubject: {n}\r\n\r\nhello\r\n".encode()
            await s.submit(raw, mail_from=f"news@h{args.host}.example",
                           rcpt_to=[f"m{n}@asso.bench.test"])  # fmt: skip
        print("ready", flush=True)
        sys.stdin.readline()  # start together
        await s.run_until_idle()
        await s.close()
        print(json.dumps({"round_trips": backend.stats().round_trips}), flush=True)
    spool.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    redis, port = start_redis()
    work = Path(tempfile.mkdtemp(prefix="bench-redis-senders-"))
    (work / "bench.test.zone").write_text(ZONE)
    arrivals = work / "arrivals"
    me = [sys.executable, __file__]
    sink_proc = subprocess.Popen([*me, "--sink", str(arrivals)], stdout=subprocess.PIPE, text=True)
    try:
        assert sink_proc.stdout is not None
        sink_port = int(sink_proc.stdout.readline())
        url = f"redis://127.0.0.1:{port}/0"
        common = ["--sender", "--url", url, "--port", str(sink_port),
                  "--zone", str(work / "bench.test.zone"), "--messages", str(args.messages),
                  "--rate", str(args.rate), "--burst", str(args.burst)]  # fmt: skip
        hosts = [
            subprocess.Popen(
                [*me, *common, "--host", str(n), "--spool", str(work / f"spool{n}.db")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in range(3)
        ]
        for host in hosts:
            assert host.stdout is not None
            assert host.stdout.readline().strip() == "ready"
        before = client_commands(port)
        for host in hosts:
            assert host.stdin is not None
            host.stdin.write("go\n")
            host.stdin.flush()
        outputs = [
            json.loads(h.communicate(timeout=600)[0].strip().splitlines()[-1]) for h in hosts
        ]
        commands = client_commands(port) - before
    finally:
        sink_proc.terminate()
        redis.terminate()
    times = sorted(float(line) for line in arrivals.read_text().split())
    total = 3 * args.messages
    # Past the initial burst, the pace is the budget's: measure from the burst's end.
    steady = times[args.burst :]
    rate = (len(steady) - 1) / (steady[-1] - steady[0])
    return {
        "messages": total,
        "delivered": len(times),
        "budget_rate": args.rate,
        "measured_rate": round(rate, 2),
        "rate_error_pct": round(100 * (rate - args.rate) / args.rate, 2),
        "max_in_1s_window": max_in_window(times, 1.0),
        "bound_1s": args.burst + args.rate,
        "redis_commands_per_message": round(commands / total, 2),
        "client_round_trips_per_message": round(sum(o["round_trips"] for o in outputs) / total, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sink", metavar="FILE")
    parser.add_argument("--sender", action="store_true")
    parser.add_argument("--url")
    parser.add_argument("--port", type=int)
    parser.add_argument("--host", type=int)
    parser.add_argument("--spool")
    parser.add_argument("--zone")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=5)
    args = parser.parse_args()
    if args.sink:
        asyncio.run(sink(Path(args.sink)))
    elif args.sender:
        asyncio.run(sender(args))
    else:
        result = run(args)
        for name, value in result.items():
            print(f"{name}: {value}")
        print(json.dumps(result))


if __name__ == "__main__":
    main()
