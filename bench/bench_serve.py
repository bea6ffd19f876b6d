"""Load on ``mailcheck serve``: 100 clients asking for cached reports, 10 for fresh audits.

    .venv/bin/python bench/bench_serve.py [--delay 0.02] [--seconds 10] [--max-audits 4]

The DNS test server (bench/dns_server_process.py, its own process) answers every question
after ``--delay`` seconds; it serves tests/zones, the examples' zones and a generated zone of
distinct domains (``dNNNN.benchtest``), so every fresh audit is a new domain. The service
runs as ``mailcheck serve`` in its own process (uvicorn, one worker); this process plays
the clients (raw HTTP/1.1 keep-alive connections on asyncio streams). Prints one figure per
line and a JSON summary: requests/s, p50 and p99 latency, the server's RSS, and the most
audits it ever ran at once (read from its /metrics while the load runs, and at the end)
against ``--max-audits``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token-0123456789abcdef"


def zone_of_domains(count: int) -> str:
    lines = ["$ORIGIN benchtest.", "$TTL 300", "@ SOA ns hostmaster 1 3600 600 86400 60",
             "@ NS ns", "ns A 127.0.0.1"]  # fmt: skip
    for i in range(count):
        lines += [
            f"d{i:04d} MX 10 mx1.host.audittest.",
            f'd{i:04d} TXT "v=spf1 mx include:_spf.host.audittest -all"',
            f'_dmarc.d{i:04d} TXT "v=DMARC1; p=reject; rua=mailto:dmarc@d{i:04d}.benchtest"',
        ]
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    values = {}
    for line in status.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = round(int(rest.split()[0]) / 1024, 1)
    return values


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Connection:
    """One keep-alive HTTP/1.1 connection on raw asyncio streams: the clients must cost
    less than the server they measure (httpx's pool at 100 connections does not)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {TOKEN}\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def phase(
    port: int, clients: int, seconds: float, path_of: Any, peaks: list[float]
) -> dict[str, Any]:
    """``clients`` connections asking ``path_of(client, n)`` until ``seconds`` have passed."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    end = time.perf_counter() + seconds

    async def client(index: int) -> None:
        connection, n = Connection(port), 0
        try:
            while time.perf_counter() < end:
                start = time.perf_counter()
                status, _ = await connection.get(path_of(index, n))
                latencies.append(time.perf_counter() - start)
                statuses[status] = statuses.get(status, 0) + 1
                n += 1
        finally:
            connection.close()

    async def watch() -> None:
        connection = Connection(port)
        try:
            while time.perf_counter() < end:
                peaks.append(await running_now(connection))
                await asyncio.sleep(0.05)
        finally:
            connection.close()

    began = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for index in range(clients):
            group.create_task(client(index))
        group.create_task(watch())
    elapsed = time.perf_counter() - began
    return {
        "clients": clients,
        "requests": len(latencies),
        "statuses": statuses,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
    }


async def metric(connection: Connection, name: str) -> float:
    text = (await connection.get("/metrics"))[1].decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise KeyError(name)


async def running_now(connection: Connection) -> float:
    return await metric(connection, "mailcheck_audits_running")


async def run(args: argparse.Namespace, port: int, pid: int) -> dict[str, Any]:
    warm = Connection(port)
    status, body = await warm.get("/api/v1/audit/example.org")
    assert status == 200, body
    result: dict[str, Any] = {"delay_s": args.delay, "max_audits": args.max_audits}
    result["rss_idle_mib"] = rss_mib(pid)
    seen: list[float] = []
    result["cached"] = await phase(
        port, 100, args.seconds, lambda i, n: "/api/v1/audit/example.org", seen
    )
    result["rss_after_cached_mib"] = rss_mib(pid)
    counter = iter(range(10**6))
    result["fresh"] = await phase(
        port, 10, args.seconds,
        lambda i, n: f"/api/v1/audit/d{next(counter) % args.domains:04d}.benchtest?fresh=1",
        seen,
    )  # fmt: skip
    result["rss_after_fresh_mib"] = rss_mib(pid)
    warm.close()  # idle longer than uvicorn's keep-alive: closed by now
    last = Connection(port)
    result["audits_running_peak"] = await metric(last, "mailcheck_audits_running_peak")
    result["audits_running_seen_max"] = max(seen)
    last.close()
    result["never_above_max_audits"] = result["audits_running_peak"] <= args.max_audits
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-audits", type=int, default=4)
    parser.add_argument("--domains", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generated = Path(tmp) / "benchtest.zone"
        generated.write_text(zone_of_domains(args.domains))
        tokens = Path(tmp) / "tokens"
        tokens.write_text(TOKEN + "\n")
        tokens.chmod(0o600)
        zones = [*sorted((ROOT / "tests" / "zones").glob("*.zone")),
                 *sorted((ROOT / "examples" / "zones").glob("*.zone")), generated]  # fmt: skip
        dns = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "dns_server_process.py"),
             "--delay", str(args.delay), *map(str, zones)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert dns.stdout is not None
        assert dns.stdin is not None
        dns_port = int(dns.stdout.readline())
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "mailcheck.cli.main", "serve", "--listen", f"127.0.0.1:{port}",
             "--token-file", str(tokens), "--nameserver", f"127.0.0.1:{dns_port}",
             "--max-audits", str(args.max_audits), "--rate", "1000000",
             "--lists", str(ROOT / "examples" / "demo-lists.toml"), "--no-builtin-lists",
             "--log-level", "info"],
            stderr=subprocess.PIPE, text=True, env={**os.environ, "LANG": "C.UTF-8"},
        )  # fmt: skip
        assert server.stderr is not None
        for line in server.stderr:
            if "Uvicorn running on" in line:
                break
        try:
            result = asyncio.run(run(args, port, server.pid))
        finally:
            server.terminate()
            server.wait()
            server.stderr.close()
            dns.stdin.close()
            dns.wait()
            dns.stdout.close()
    for name in ("cached", "fresh"):
        r = result[name]
        print(f"{name}: {r['clients']} clients, {r['requests_per_s']} req/s, "
              f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, statuses {r['statuses']}")  # fmt: skip
    rss = (result["rss_idle_mib"], result["rss_after_cached_mib"], result["rss_after_fresh_mib"])
    print("server RSS (MiB): idle {}, after cached {}, after fresh {}".format(*rss))
    print(f"audits running at once: peak {result['audits_running_peak']:g} (seen "
          f"{result['audits_running_seen_max']:g}), limit {args.max_audits}")  # fmt: skip
    print(json.dumps(result))
    if not result["never_above_max_audits"]:
        raise SystemExit("the server ran more audits at once than --max-audits")


if __name__ == "__main__":
    main()
