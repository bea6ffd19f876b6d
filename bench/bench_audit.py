"""Benchmark the domain audit against checkdmarc, on a local DNS server that delays answers.

    .venv/bin/pip install checkdmarc   # the peer (not a dependency of mailcheck)
    .venv/bin/python bench/bench_audit.py [--delay 0.02] [--bulk 1000] [--stream 10000]

Prints one figure per line and a JSON summary. The DNS server runs in another process
(bench/dns_server_process.py) so it does not compete for this process' GIL; this process is
pinned to one core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dns.asyncresolver
import dns.nameserver
import dns.resolver

from mailcheck import DnsResolver
from mailcheck.audit import audit_domain
from mailcheck.bulk import audit_many

HERE = Path(__file__).resolve().parent
# The longest chain of dependent questions in bench.test: its SPF record, then three
# nested includes (TXT -> TXT -> TXT -> TXT).
BENCH_DEPTH = 4
# 20 s of budget: a bulk run must never time out here.
TIMEOUT = 20.0


def bench_zone() -> str:
    key = (HERE / "data" / "rsa2048.b64").read_text().strip()
    chunks = " ".join(f'"{key[i : i + 200]}"' for i in range(0, len(key), 200))
    return f"""$ORIGIN bench.test.
$TTL 3600
@ SOA ns hostmaster 1 3600 600 86400 300
@ NS ns
ns A 127.0.0.1
@ MX 10 mx1
@ MX 20 mx2
mx1 A 192.0.2.25
mx2 A 192.0.2.26
@ TXT "v=spf1 mx include:_spf1.bench.test -all"
_spf1 TXT "v=spf1 ip4:192.0.2.0/28 include:_spf2.bench.test -all"
_spf2 TXT "v=spf1 ip4:192.0.2.16/28 include:_spf3.bench.test -all"
_spf3 TXT "v=spf1 ip4:192.0.2.32/28 ip6:2001:db8::/32 -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@bench.test"
mail._domainkey TXT ( "v=DKIM1; k=rsa; " {chunks} )
"""


def bulk_zone(count: int) -> str:
    key = (HERE / "data" / "rsa2048.b64").read_text().strip()
    chunks = " ".join(f'"{key[i : i + 200]}"' for i in range(0, len(key), 200))
    lines = [
        "$ORIGIN bulk.test.",
        "$TTL 3600",
        "@ SOA ns hostmaster 1 3600 600 86400 300",
        "@ NS ns",
        "ns A 127.0.0.1",
        "mx1.host A 192.0.2.25",
        "mx2.host A 192.0.2.26",
        '_spf1.host TXT "v=spf1 ip4:192.0.2.0/28 include:_spf2.host.bulk.test -all"',
        '_spf2.host TXT "v=spf1 ip4:192.0.2.16/28 include:_spf3.host.bulk.test -all"',
        '_spf3.host TXT "v=spf1 ip4:192.0.2.32/28 -all"',
    ]
    for i in range(count):
        d = f"d{i}"
        lines += [
            f"{d} MX 10 mx1.host.bulk.test.",
            f"{d} MX 20 mx2.host.bulk.test.",
            f'{d} TXT "v=spf1 mx include:_spf1.host.bulk.test -all"',
            f'_dmarc.{d} TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@{d}.bulk.test"',
            f'mail._domainkey.{d} TXT ( "v=DKIM1; k=rsa; " {chunks} )',
        ]
    return "\n".join(lines) + "\n"


class Server:
    def __init__(self, zones: list[Path], delay: float) -> None:
        cmd = [sys.executable, str(HERE / "dns_server_process.py"), "--delay", str(delay)]
        self.proc = subprocess.Popen(
            [*cmd, *map(str, zones)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:  # type: ignore[operator]
            os.sched_setaffinity(self.proc.pid, {1})

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


def single(server: Server, runs: int, reputation: bool) -> dict[str, Any]:
    times, queries = [], 0
    for _ in range(runs):
        resolver = DnsResolver([server.address], timeout=TIMEOUT)
        start = time.perf_counter()
        asyncio.run(
            audit_domain("bench.test", selectors=["mail"], resolver=resolver, reputation=reputation)
        )
        times.append(time.perf_counter() - start)
        queries = resolver.stats.sent
    return {"median_s": statistics.median(times), "min_s": min(times), "queries": queries}


def checkdmarc_single(server: Server, runs: int) -> dict[str, Any] | None:
    try:
        import checkdmarc
    except ImportError:
        return None
    ns = [dns.nameserver.Do53Nameserver("127.0.0.1", server.port)]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        checkdmarc.check_domains(["bench.test"], nameservers=ns, skip_tls=True, timeout=TIMEOUT)
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times)}


def bulk(server: Server, count: int, reputation: bool) -> dict[str, Any]:
    domains = [f"d{i}.bulk.test" for i in range(count)]
    resolver = DnsResolver([server.address], timeout=TIMEOUT)
    options: dict[str, Any] = {
        "resolver": resolver,
        "selectors": ["mail"],
        "reputation": reputation,
    }
    results: dict[str, int] = {"ok": 0, "errors": 0}

    def emit(domain: str, outcome: Any) -> None:
        results["ok" if hasattr(outcome, "status") else "errors"] += 1

    cpu, start = time.process_time(), time.perf_counter()
    asyncio.run(audit_many(domains, emit=emit, concurrency=50, **options))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "domains": count,
        "wall_s": wall,
        "domains_per_s": count / wall,
        "cpu_s": cpu,
        "queries_sent": resolver.stats.sent,
        "cpu_us_per_query": 1e6 * cpu / max(resolver.stats.sent, 1),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **results,
    }


async def _raw_queries(names: list[str], port: int, ours: bool) -> float:
    sem = asyncio.Semaphore(100)
    if ours:
        resolver = DnsResolver([f"127.0.0.1:{port}"], timeout=TIMEOUT)

        async def ask(name: str) -> None:
            await resolver.query(name, "TXT")
    else:
        plain = dns.asyncresolver.Resolver(configure=False)
        plain.nameservers = [dns.nameserver.Do53Nameserver("127.0.0.1", port)]
        plain.lifetime = TIMEOUT

        async def ask(name: str) -> None:
            async with sem:
                with contextlib.suppress(dns.resolver.NXDOMAIN):
                    await plain.resolve(name, "TXT", raise_on_no_answer=False)

    cpu = time.process_time()
    async with asyncio.TaskGroup() as group:
        for name in names:
            group.create_task(ask(name))
    return 1e6 * (time.process_time() - cpu) / len(names)


def cpu_per_query(server: Server, count: int) -> dict[str, float]:
    names = [f"d{i}.bulk.test" for i in range(count)]
    return {
        "mailcheck_us": asyncio.run(_raw_queries(names, server.port, True)),
        "dnspython_asyncresolver_us": asyncio.run(_raw_queries(names, server.port, False)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bulk", type=int, default=1000)
    parser.add_argument("--stream", type=int, default=0, help="also stream N domains for RSS")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    out: dict[str, Any] = {"delay_ms": args.delay * 1000, "depth": BENCH_DEPTH}
    with tempfile.TemporaryDirectory() as tmp:
        zone = Path(tmp) / "bench.test.zone"
        zone.write_text(bench_zone())
        big = Path(tmp) / "bulk.test.zone"
        big.write_text(bulk_zone(max(args.bulk, args.stream)))
        server = Server([zone, big], args.delay)
        try:
            out["target_s"] = 1.3 * BENCH_DEPTH * args.delay
            out["mailcheck"] = single(server, args.runs, reputation=False)
            out["mailcheck_with_reputation"] = single(server, args.runs, reputation=True)
            out["checkdmarc"] = checkdmarc_single(server, args.runs)
            if out["checkdmarc"]:
                out["speedup_vs_checkdmarc"] = (
                    out["checkdmarc"]["median_s"] / out["mailcheck"]["median_s"]
                )
            out["bulk"] = bulk(server, args.bulk, reputation=False)
            if args.stream:
                out["stream"] = bulk(server, args.stream, reputation=False)
        finally:
            server.stop()
        server = Server([big], 0.0)
        try:
            out["cpu_per_query"] = cpu_per_query(server, max(args.bulk, args.stream))
        finally:
            server.stop()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
