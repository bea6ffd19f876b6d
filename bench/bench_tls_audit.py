"""Benchmark a full audit with --probe-smtp: wall time against the critical path.

    .venv/bin/python bench/bench_tls_audit.py [--delay 0.02] [--latency 0.05] [--runs 5]

The world, all on loopback: the DNS test server (tests/dnsserver.py) answering every
question after ``--delay`` seconds, a domain with 3 MX hosts (127.0.0.1-3), each an aiosmtpd
server with STARTTLS behind a proxy that holds every chunk ``--latency``/2 seconds each way
(``--latency`` per round trip), and the MTA-STS policy over HTTPS (uvicorn) behind the same
kind of proxy. Certificates come from a test CA made here.

The critical path is the longest chain of steps that must follow one another, each
measured alone: MX -> addresses -> one STARTTLS probe, and _mta-sts TXT -> policy host
address -> HTTPS fetch. The full audit (SPF, DMARC, DKIM, MX, MTA-STS, TLS-RPT, TLSA and
the probes of all 3 hosts, concurrently) should stay close to it (the issue asks within
1.5x). Prints one figure per line and a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/ holds the servers the benchmark reuses

from aiosmtpd.smtp import SMTP  # noqa: E402
from tests.dnsserver import DnsTestServer  # noqa: E402
from tests.tls import https_server  # noqa: E402
from tests.tls.certs import TestCa  # noqa: E402

from mailcheck import DnsResolver  # noqa: E402
from mailcheck.audit import audit_domain  # noqa: E402
from mailcheck.tls.audit import TlsOptions  # noqa: E402
from mailcheck.tls.mtasts_fetch import fetch_policy  # noqa: E402
from mailcheck.tls.starttls import probe_starttls  # noqa: E402

DOMAIN = "tlsbench.test"
HOSTS = [f"mx{i}.{DOMAIN}" for i in (1, 2, 3)]
ZONE = f"""$TTL 300
@ SOA ns hostmaster 1 3600 600 86400 60
@ NS ns
ns A 127.0.0.1
@ MX 10 mx1
@ MX 20 mx2
@ MX 30 mx3
mx1 A 127.0.0.1
mx2 A 127.0.0.2
mx3 A 127.0.0.3
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{DOMAIN}"
_mta-sts TXT "v=STSv1; id=2026bench;"
mta-sts A 127.0.0.1
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@{DOMAIN}"
"""


class _Handler:
    """The probe sends no mail."""


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Forward ``reader`` to ``writer``, each chunk ``delay`` seconds later, in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(deliver())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
    except ConnectionError:
        pass
    queue.put_nowait((0.0, None))
    with contextlib.suppress(ConnectionError):
        await sender
    writer.close()


async def latency_proxy(
    listen: tuple[str, int], upstream: tuple[str, int], rtt: float
) -> asyncio.Server:
    """A TCP proxy adding ``rtt``/2 each way: one request and its reply cost ``rtt`` more."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*upstream)
        try:
            await asyncio.gather(
                _pump(reader, up_writer, rtt / 2), _pump(up_reader, writer, rtt / 2)
            )
        except asyncio.CancelledError:
            # The benchmark is over and its loop closes: a proxy mid-connection just stops.
            up_writer.close()
            writer.close()

    return await asyncio.start_server(client, *listen)


def common_port() -> int:
    """A TCP port free on 127.0.0.1, .2 and .3 (the three MX hosts share it, like 25)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        free = True
        for host in ("127.0.0.2", "127.0.0.3"):
            with socket.socket() as other:
                try:
                    other.bind((host, port))
                except OSError:
                    free = False
        if free:
            return port
    raise RuntimeError("no common free port")


async def world(
    directory: Path, rtt: float
) -> tuple[int, int, TestCa, list[asyncio.Server], https_server.PolicyServer]:
    ca = TestCa(directory)
    issued = ca.issue("mx", HOSTS)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.certfile, issued.keyfile)
    loop = asyncio.get_running_loop()
    port = common_port()
    servers: list[asyncio.Server] = []
    for index in (1, 2, 3):
        backend = await loop.create_server(
            lambda: SMTP(_Handler(), hostname="mx.tlsbench.test", tls_context=context),
            "127.0.0.1",
            0,
        )
        servers.append(backend)
        backend_port = backend.sockets[0].getsockname()[1]
        servers.append(
            await latency_proxy((f"127.0.0.{index}", port), ("127.0.0.1", backend_port), rtt)
        )
    https_server.BEHAVIOURS["tlsbench"] = (
        200,
        "text/plain",
        b"version: STSv1\r\nmode: enforce\r\nmx: *.tlsbench.test\r\nmax_age: 604800\r\n",
        {},
    )
    web = ca.issue("web", [f"mta-sts.{DOMAIN}"])
    policy = https_server.PolicyServer(str(web.certfile), str(web.keyfile)).start()
    web_proxy = await latency_proxy(("127.0.0.1", 0), ("127.0.0.1", policy.port), rtt)
    servers.append(web_proxy)
    return port, web_proxy.sockets[0].getsockname()[1], ca, servers, policy


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="bench-tls-"))
    zone = directory / f"{DOMAIN}.zone"
    zone.write_text(ZONE)
    dns = DnsTestServer([zone]).start()
    dns.delay = args.delay
    smtp_port, https_port, ca, servers, policy = await world(directory, args.latency)
    options = TlsOptions(
        smtp_port=smtp_port,
        https_port=https_port,
        cafile=ca.cafile,
        allow_private=True,
        probe_timeout=10,
        fetch_timeout=10,
    )
    try:
        # Each step of the critical path, alone (the probe and the fetch on warm servers).
        probe_alone = []
        fetch_alone = []
        for _ in range(args.runs):
            start = time.perf_counter()
            probe = await probe_starttls(
                HOSTS[0], address="127.0.0.1", port=smtp_port, cafile=ca.cafile, timeout=10
            )
            probe_alone.append(time.perf_counter() - start)
            assert probe.chain_valid, probe
            resolver = DnsResolver([dns.address], timeout=5)
            start = time.perf_counter()
            fetched = await fetch_policy(
                DOMAIN, resolver=resolver, allow_private=True, cafile=ca.cafile, port=https_port
            )
            fetch_alone.append(time.perf_counter() - start)  # includes one DNS hop (A + AAAA)
            assert fetched.text, fetched
        walls = []
        for _ in range(args.runs):
            resolver = DnsResolver([dns.address], timeout=5)
            start = time.perf_counter()
            report = await audit_domain(
                DOMAIN, resolver=resolver, reputation=False, probe_smtp=True, tls=options
            )
            walls.append(time.perf_counter() - start)
            assert report.transport is not None
            assert [p.status for p in report.transport.starttls.probes] == ["tls"] * 3, (
                report.transport.starttls
            )
            assert report.transport.mtasts.mode == "enforce"
    finally:
        for server in servers:
            server.close()
        policy.stop()
        dns.stop()
    probe_t, fetch_t, wall = (statistics.median(x) for x in (probe_alone, fetch_alone, walls))
    # MX then the hosts' addresses: two DNS hops before a probe can start; the TXT record:
    # one hop before the fetch (whose own address lookup is inside fetch_t).
    chains = {"mx-probe": 2 * args.delay + probe_t, "mtasts-fetch": args.delay + fetch_t}
    critical = max(chains.values())
    return {
        "dns_delay_s": args.delay,
        "rtt_s": args.latency,
        "runs": args.runs,
        "probe_alone_s": round(probe_t, 4),
        "fetch_alone_s": round(fetch_t, 4),
        "chains_s": {k: round(v, 4) for k, v in chains.items()},
        "critical_path_s": round(critical, 4),
        "audit_wall_s": round(wall, 4),
        "audit_wall_runs_s": [round(w, 4) for w in walls],
        "ratio": round(wall / critical, 3),
        "sequential_probes_would_be_s": round(2 * args.delay + 3 * probe_t, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.02, help="DNS answer delay, seconds")
    parser.add_argument(
        "--latency", type=float, default=0.05, help="TLS servers' round trip, seconds"
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    result = asyncio.run(measure(args))
    print(f"one STARTTLS probe alone:     {result['probe_alone_s'] * 1000:7.1f} ms")
    print(f"one policy fetch alone:       {result['fetch_alone_s'] * 1000:7.1f} ms")
    print(f"critical path:                {result['critical_path_s'] * 1000:7.1f} ms")
    print(
        f"full audit, --probe-smtp:     {result['audit_wall_s'] * 1000:7.1f} ms "
        f"(median of {args.runs})"
    )
    print(f"ratio wall / critical path:   {result['ratio']:7.2f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
