"""Benchmark IP reputation (rDNS + every active blocklist) against pydnsbl on the same zones.

    .venv/bin/pip install pydnsbl    # the peer (not a dependency of mailcheck)
    .venv/bin/python bench/bench_ip.py [--delay 0.02] [--bulk 1000] [--runs 5]

A local DNS server (bench/dns_server_process.py, in its own process, pinned to the second
core) serves fake zones for the whole active catalogue: RFC 5782 test entries, a few real
listings (bl.spamcop.net lists 1 IP in 20) and, on zen.spamhaus.org, the refusal code
127.255.255.255 ("excessive queries") for 1 IP in 10. It answers after ``--delay`` seconds.
This process is pinned to one core. Prints one figure per line and a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mailcheck import DnsResolver
from mailcheck.bulk import check_many
from mailcheck.reputation import BlocklistChecker, ListingState, ZoneKind, builtin_catalogue
from mailcheck.reputation.decode import reverse_ip, test_subjects

HERE = Path(__file__).resolve().parent
TIMEOUT = 20.0
SOA = "@ 3600 IN SOA ns.bench-ip.test. hostmaster.bench-ip.test. 1 3600 600 86400 300\n"


def bench_ip(n: int) -> str:
    return str(ipaddress.IPv4Address("10.0.0.0") + n + 1)


def write_zones(directory: Path, count: int) -> list[Path]:
    """Fake zones for every active catalogue zone, plus the IPs' reverse and forward zones."""
    paths = []
    catalogue = builtin_catalogue()
    zones = {z.zone: z for kind in ZoneKind for z in catalogue.selected(kind)}
    for zone in zones.values():
        lines = [SOA]
        for kind in zone.kinds:
            listed, _ = test_subjects(zone, kind)
            label = listed if kind is ZoneKind.DOMAIN else reverse_ip(ipaddress.ip_address(listed))
            code = "127.0.0.10" if zone.bitmask else _first_code(zone.codes)
            lines.append(f"{label} 300 IN A {code}\n")
        for n in range(count):
            label = reverse_ip(ipaddress.ip_address(bench_ip(n)))
            if zone.zone == "zen.spamhaus.org" and n % 10 == 5:
                lines.append(f"{label} 300 IN A 127.255.255.255\n")
            if zone.zone == "bl.spamcop.net" and n % 20 == 7:
                lines.append(f"{label} 300 IN A 127.0.0.2\n")
                lines.append(f'{label} 300 IN TXT "Blocked - see https://www.spamcop.net/"\n')
        paths.append(directory / f"{zone.zone}.zone")
        paths[-1].write_text("".join(lines))
    reverse = [SOA] + [
        f"{reverse_ip(ipaddress.ip_address(bench_ip(n)))}.in-addr.arpa. 3600 IN PTR "
        f"mail{n}.bench-ip.test.\n"
        for n in range(count)
    ]
    (directory / "10.in-addr.arpa.zone").write_text("".join(reverse))
    forward = [SOA] + [f"mail{n} 3600 IN A {bench_ip(n)}\n" for n in range(count)]
    (directory / "bench-ip.test.zone").write_text("".join(forward))
    return [*paths, directory / "10.in-addr.arpa.zone", directory / "bench-ip.test.zone"]


def _first_code(codes: Any) -> str:
    code = next(iter(codes))
    return str(code).replace("*", "0")


class Server:
    def __init__(self, zones: list[Path], delay: float) -> None:
        cmd = [sys.executable, str(HERE / "dns_server_process.py"), "--delay", str(delay)]
        self.proc = subprocess.Popen(
            [*cmd, *map(str, zones)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(self.proc.pid, {1})

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cpu(self) -> float:
        """CPU seconds the server process has used so far (0 where /proc is missing)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


async def single(server: Server, runs: int) -> dict[str, Any]:
    """One IP with a cold checker, then IPs one at a time with self-tests cached."""
    resolver = DnsResolver([server.address], timeout=TIMEOUT)
    checker = BlocklistChecker(resolver=resolver)
    start = time.perf_counter()
    await checker.check_ip(bench_ip(0))
    cold, cold_sent = time.perf_counter() - start, resolver.stats.sent
    lists, full, lists_sent, full_sent = [], [], 0, 0
    for n in range(1, runs + 1):
        sent = resolver.stats.sent
        start = time.perf_counter()
        await checker.client.lookup_ip(bench_ip(2 * n))
        lists.append(time.perf_counter() - start)
        lists_sent = resolver.stats.sent - sent
        sent = resolver.stats.sent
        start = time.perf_counter()
        await checker.check_ip(bench_ip(2 * n + 1))
        full.append(time.perf_counter() - start)
        full_sent = resolver.stats.sent - sent
    return {
        "zones_ipv4": len(builtin_catalogue().selected(ZoneKind.IPV4)),
        "cold_check_ip_s": cold,
        "cold_queries": cold_sent,
        "blocklists_cached_median_s": statistics.median(lists),
        "blocklists_cached_queries": lists_sent,
        "check_ip_cached_median_s": statistics.median(full),
        "check_ip_cached_queries": full_sent,
    }


async def bulk(server: Server, count: int, full: bool) -> dict[str, Any]:
    resolver = DnsResolver([server.address], timeout=TIMEOUT)
    checker = BlocklistChecker(resolver=resolver)
    ips = [bench_ip(n) for n in range(count)]
    states = {"listed": 0, "unknown": 0, "errors": 0}

    def tally(listings: Any) -> None:
        if any(x.state is ListingState.LISTED for x in listings):
            states["listed"] += 1
        if any(x.state is ListingState.UNKNOWN for x in listings):
            states["unknown"] += 1

    def emit(job: Any, outcome: Any) -> None:
        if hasattr(outcome, "listings"):
            tally(outcome.listings)
        else:
            states["errors"] += 1

    server_cpu, cpu, start = server.cpu(), time.process_time(), time.perf_counter()
    if full:
        await check_many([(ip, None) for ip in ips], checker=checker, emit=emit, concurrency=200)
    else:
        semaphore = asyncio.Semaphore(200)

        async def one(ip: str) -> None:
            async with semaphore:
                tally(await checker.client.lookup_ip(ip))

        async with asyncio.TaskGroup() as group:
            for ip in ips:
                group.create_task(one(ip))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "ips": count,
        "wall_s": wall,
        "ips_per_s": count / wall,
        "cpu_s": cpu,
        "ips_per_cpu_s": count / cpu,
        "server_cpu_s": server.cpu() - server_cpu,
        "queries_sent": resolver.stats.sent,
        "cpu_us_per_query": 1e6 * cpu / max(resolver.stats.sent, 1),
        "ips_with_a_listing": states["listed"],
        "ips_with_an_unknown": states["unknown"],
        "errors": states["errors"],
    }


def _pydnsbl_checker(server: Server) -> Any:
    import aiodns
    import pydnsbl
    from pydnsbl.providers import Provider

    zones = [z.zone for z in builtin_catalogue().selected(ZoneKind.IPV4)]
    checker = pydnsbl.DNSBLIpChecker(providers=[Provider(z) for z in zones], timeout=TIMEOUT)
    # pydnsbl has no nameserver option: give its aiodns resolver our server and port.
    checker._resolver = aiodns.DNSResolver(
        nameservers=["127.0.0.1"], udp_port=server.port, tcp_port=server.port,
        timeout=TIMEOUT, tries=1,
    )  # fmt: skip
    return checker


async def pydnsbl_run(server: Server, runs: int, count: int) -> dict[str, Any] | None:
    try:
        checker = _pydnsbl_checker(server)
    except ImportError:
        return None
    times = []
    for n in range(runs):
        start = time.perf_counter()
        await checker.check_async(bench_ip(2 * n))
        times.append(time.perf_counter() - start)
    ips = [bench_ip(n) for n in range(count)]
    await asyncio.gather(*(_pydnsbl_checker(server).check_async(ip) for ip in ips))  # warm-up
    checker = _pydnsbl_checker(server)
    server_cpu, cpu, start = server.cpu(), time.process_time(), time.perf_counter()
    results = await asyncio.gather(*(checker.check_async(ip) for ip in ips))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    server_cpu = server.cpu() - server_cpu
    refused = sum(1 for r in results if "zen.spamhaus.org" in r.detected_by)
    return {
        "single_median_s": statistics.median(times),
        "bulk_ips": count,
        "bulk_wall_s": wall,
        "bulk_ips_per_s": count / wall,
        "bulk_cpu_s": cpu,
        "bulk_ips_per_cpu_s": count / cpu,
        "bulk_server_cpu_s": server_cpu,
        "ips_reported_blacklisted": sum(1 for r in results if r.blacklisted),
        "ips_blacklisted_by_zen_refusal_code": refused,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bulk", type=int, default=1000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(write_zones(Path(tmp), max(args.bulk, 2 * args.runs + 2)), args.delay)
        try:
            summary: dict[str, Any] = {"delay_s": args.delay}
            summary["single"] = asyncio.run(single(server, args.runs))
            # The test server replays answers it has built before (as a resolver's cache
            # would); one unmeasured pass per tool lets both meet a server that is not the
            # bottleneck, whichever runs first.
            asyncio.run(bulk(server, args.bulk, full=True))
            summary["bulk_blocklists"] = asyncio.run(bulk(server, args.bulk, full=False))
            summary["bulk_check_ip"] = asyncio.run(bulk(server, args.bulk, full=True))
            summary["pydnsbl"] = asyncio.run(pydnsbl_run(server, args.runs, args.bulk))
        finally:
            server.stop()
    for section, figures in summary.items():
        if isinstance(figures, dict):
            for key, value in figures.items():
                shown = f"{value:.4f}" if isinstance(value, float) else value
                print(f"{section}.{key} = {shown}")
    single_run = summary["single"]
    ratio = single_run["blocklists_cached_median_s"] / args.delay
    print(f"blocklists of one IP, self-tests cached: {ratio:.2f} x one round trip")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
