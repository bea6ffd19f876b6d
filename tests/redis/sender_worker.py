"""A sending host for the end-to-end Redis test: a Sender over its own SqliteSpool.

Run as ``python -m tests.redis.sender_worker URL SPOOL ZONE PORT --host N [--submit M]``:
submits M messages (only into a new spool; a restarted host finds its own again), then
delivers until idle through a RedisBackend shared with the other hosts. The MX of every
recipient domain is the SMTP sink on 127.0.0.1:PORT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from mailcheck.lookup import ZoneResolver
from mailcheck.sending.local_share import Gcra
from mailcheck.sending.redis_backend import RedisBackend
from mailcheck.sending.sender import Sender
from mailcheck.sending.shaping import Budget
from mailcheck.sending.spool import SqliteSpool
from tests.sending.conftest import fast_pace

RATE, BURST, CONNECTIONS, LEASE_TTL = 15.0, 3, 2, 2.0
BUDGET = Budget(
    connections=CONNECTIONS,
    message_rates=(("rate", Gcra(interval=1 / RATE, burst=BURST)),),
    messages_per_connection=100,
)
ZONE = """$ORIGIN e2e.redis.test.
$TTL 300
@ SOA ns hostmaster 1 3600 600 86400 60
@ NS ns
asso MX 10 mx.e2e.redis.test.
"""


def emit(host: int, kind: str) -> None:
    sys.stdout.write(json.dumps({"t": time.time(), "host": host, "kind": kind}) + "\n")
    sys.stdout.flush()


def message(host: int, n: int) -> bytes:
    return (
        f"From: news@asso.example\r\nTo: member{n}@asso.e2e.redis.test\r\n"
        f"Subject: {n}\r\nMessage-ID: <h{host}-m{n}@asso.example>\r\n\r\nhello\r\n"
    ).encode()


async def run(args: argparse.Namespace, *, fresh: bool) -> None:
    spool = SqliteSpool(args.spool)
    backend = RedisBackend(args.url, expected_hosts=3, lease_ttl=LEASE_TTL, socket_timeout=2.0)
    async with backend:
        sender = Sender(
            pacing=fast_pace,
            spool=spool,
            resolver=ZoneResolver([args.zone]),
            backend=backend,
            default_budget=BUDGET,
            mx_override={"mx.e2e.redis.test": ("127.0.0.1", args.port)},
            tls="off",
            timeout=10.0,
        )
        async with sender:
            if fresh:
                for n in range(args.submit):
                    await sender.submit(
                        message(args.host, n),
                        mail_from="news@asso.example",
                        rcpt_to=[f"member{n}@asso.e2e.redis.test"],
                    )
            emit(args.host, "submitted")
            await sender.run_until_idle()
    spool.close()
    emit(args.host, "idle")


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("url", "spool", "zone"):
        parser.add_argument(name)
    parser.add_argument("port", type=int)
    parser.add_argument("--host", type=int, required=True)
    parser.add_argument("--submit", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(run(args, fresh=not Path(args.spool).exists()))


if __name__ == "__main__":
    main()
