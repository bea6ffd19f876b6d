"""A sending host for the multi-process Redis tests: takes budget as fast as it is granted.

Run as ``python -m tests.redis.worker URL --host N --seconds S [--rate R --burst B]
[--hosts H] [--connections C] [--lease-ttl T]``. It writes one JSON line per event to
stdout, flushed at once so a SIGKILL loses nothing already written:
``{"t": wall time, "host": N, "kind": "message"|"lease"|"mode", ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from mailcheck.sending.local_share import Gcra
from mailcheck.sending.redis_backend import BackendEvent, RedisBackend
from mailcheck.sending.types import Lease

KEY = ("192.0.2.10", "google")


def emit(host: int, kind: str, **fields: object) -> None:
    sys.stdout.write(json.dumps({"t": time.time(), "host": host, "kind": kind, **fields}) + "\n")
    sys.stdout.flush()


async def run(args: argparse.Namespace) -> None:
    def on_event(event: BackendEvent) -> None:
        emit(args.host, "mode", event=event.kind)

    # A killed Redis closes the sockets at once; the long timeout only keeps a loaded test
    # machine from faking an outage.
    backend = RedisBackend(
        args.url,
        expected_hosts=args.hosts,
        lease_ttl=args.lease_ttl,
        socket_timeout=2.0,
        on_event=on_event,
    )
    async with backend:
        if args.connections:
            while True:
                got = await backend.open_connection(KEY, limit=args.connections)
                if isinstance(got, Lease):
                    emit(args.host, "lease", lease=got.lease_id)
                    break
                await asyncio.sleep(got.wait)
        limits = [("rate", Gcra(interval=1 / args.rate, burst=args.burst))]
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            decision = await backend.take_message(KEY, limits)
            if decision.granted:
                await asyncio.sleep(decision.wait)  # the reserved slot
                emit(args.host, "message", shared=decision.shared)
            else:
                await asyncio.sleep(max(0.0, min(decision.wait, deadline - time.monotonic())))
        stats = backend.stats()
        emit(args.host, "stats", round_trips=stats.round_trips, granted=stats.granted)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--host", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--connections", type=int, default=0)
    parser.add_argument("--lease-ttl", type=float, default=10.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
