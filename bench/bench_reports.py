"""Benchmark DMARC report ingestion and the summary over a year of reports.

    .venv/bin/python bench/bench_reports.py [--reports 10000] [--records 100] [--small 2000]
        [--parsedmarc 10000] [--dir DIR]

Writes ``--reports`` aggregate reports (RFC 7489 XML, ``--records`` rows each on average,
one year of them from 12 reporters about one domain) as files: 40 % ``.xml.gz``, 40 %
``.zip``, 20 % plain ``.xml``. Then, each in a fresh subprocess (so that its peak RSS,
``ru_maxrss``, is its own):

- ``mailcheck`` ingest (read, decompress, parse, store in SQLite, one transaction per 200
  reports) of the first ``--small`` files and of all of them: reports/s and peak RSS; the
  two peaks show whether memory grows with the number of reports (it must not: streaming);
- ``mailcheck`` parse only (``ingest_report`` on each file, nothing stored);
- parsedmarc's parser (``parsedmarc.parse_report_file(path, offline=True,
  always_use_local_files=True)``: no DNS, no download) on the first ``--parsedmarc`` files.

Finally ``summarize()`` over the full store: the last 365 days and the last 30 without DNS
(``resolver=None``: what the store and the classification cost), then the last 365 days
with DNS: a fresh resolver per run against the test DNS server in its own process on
loopback (the SPF tree, the MX, 500 PTR names; the server refuses names outside its zones,
which the summary shows as "name unknown"). Three runs each. Target (issue 14): summary
under 1 s. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

DOMAIN = "asso.reports.test"
DAY = 86400
YEAR_END = 1_800_000_000
REPORTERS = (
    "google.com", "Outlook.com", "Yahoo", "Orange", "laposte.net", "Mail.Ru", "AOL",
    "web.de", "GMX", "Free", "Comcast", "Fastmail",
)  # fmt: skip


def _sources(rng: random.Random) -> list[tuple[str, str, str, str, int]]:
    """(ip, dkim, spf, dkim signer, weight): the mail of a small association over a year."""
    pool = [
        ("198.18.7.1", "pass", "pass", DOMAIN, 400),
        ("198.18.7.2", "pass", "pass", DOMAIN, 200),
    ]
    pool += [(f"198.18.7.{i}", "fail", "pass", "mailer.example", 15) for i in range(16, 32)]
    pool += [("198.18.7.50", "fail", "fail", "crm.example", 40)]
    pool += [(f"198.18.100.{i}", "pass", "fail", DOMAIN, 2) for i in range(200)]
    spoofers = {f"198.18.{rng.randrange(200, 256)}.{rng.randrange(256)}" for _ in range(3000)}
    pool += [(ip, "fail", "fail", "", 0.02) for ip in sorted(spoofers)]  # type: ignore[misc]
    return pool


def _record(ip: str, count: int, dkim: str, spf: str, signer: str) -> str:
    auth = f"<dkim><domain>{signer}</domain><selector>s1</selector><result>pass</result></dkim>"
    return (
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
        f"<disposition>none</disposition><dkim>{dkim}</dkim><spf>{spf}</spf>"
        f"</policy_evaluated></row><identifiers><header_from>{DOMAIN}</header_from>"
        f"</identifiers><auth_results>{auth if signer else ''}<spf><domain>{DOMAIN}</domain>"
        f"<result>{'pass' if spf == 'pass' else 'fail'}</result></spf></auth_results></record>"
    )


def generate(directory: Path, reports: int, records: int, seed: int = 14) -> int:
    """Write the report files; returns the number of records."""
    rng = random.Random(seed)
    pool = _sources(rng)
    weights = [s[4] for s in pool]
    total = 0
    for n in range(reports):
        begin = YEAR_END - 365 * DAY + (n * 365 // reports) * DAY
        reporter = REPORTERS[n % len(REPORTERS)]
        rows = rng.randint(records // 2, records * 3 // 2)
        total += rows
        chosen = rng.choices(pool, weights=weights, k=rows)
        body = "".join(_record(ip, rng.randint(1, 40), d, s, g) for ip, d, s, g, _ in chosen)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<feedback><report_metadata>'
            f"<org_name>{reporter}</org_name><email>dmarc@{reporter.lower()}</email>"
            f"<report_id>{n}.{seed}</report_id><date_range><begin>{begin}</begin>"
            f"<end>{begin + DAY - 1}</end></date_range></report_metadata><policy_published>"
            f"<domain>{DOMAIN}</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><pct>100</pct>"
            f"</policy_published>{body}</feedback>\n"
        ).encode()
        name = f"{reporter}!{DOMAIN}!{begin}!{begin + DAY - 1}!{n}"
        kind = n % 5
        if kind in (0, 1):
            (directory / f"{n:05d}-{name}.xml.gz").write_bytes(gzip.compress(xml, 6, mtime=0))
        elif kind in (2, 3):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(name + ".xml", xml)
            (directory / f"{n:05d}-{name}.zip").write_bytes(buffer.getvalue())
        else:
            (directory / f"{n:05d}-{name}.xml").write_bytes(xml)
    return total


# --- children (one process each: ru_maxrss is theirs) ------------------------------------


def _files(directory: str, limit: int) -> list[Path]:
    return sorted(Path(directory).iterdir())[:limit]


def child_ingest(db: str, directory: str, limit: int) -> dict[str, Any]:
    from mailcheck.reports.inputs import read_paths
    from mailcheck.reports.store import ReportStore

    files = _files(directory, limit)

    async def run() -> Any:
        async with ReportStore(db, domains=[DOMAIN]) as store:
            return await store.ingest(read_paths(files))

    start = time.perf_counter()
    summary = asyncio.run(run())
    return {"seconds": time.perf_counter() - start, "stored": summary.stored,
            "quarantined": summary.quarantined}  # fmt: skip


def child_parse(directory: str, limit: int) -> dict[str, Any]:
    from mailcheck.reports import ingest_report

    files = _files(directory, limit)
    start, rows = time.perf_counter(), 0
    for path in files:
        rows += len(ingest_report(path.read_bytes()).records)  # type: ignore[union-attr]
    return {"seconds": time.perf_counter() - start, "reports": len(files), "records": rows}


def child_parsedmarc(directory: str, limit: int) -> dict[str, Any]:
    import logging

    import parsedmarc

    logging.disable(logging.WARNING)
    files = _files(directory, limit)
    start, rows = time.perf_counter(), 0
    for path in files:
        parsed = parsedmarc.parse_report_file(str(path), offline=True, always_use_local_files=True)
        rows += len(parsed["report"]["records"])
    return {"seconds": time.perf_counter() - start, "reports": len(files), "records": rows}


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"child {args[0]} failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _run_child(argv: list[str]) -> None:
    kind, *rest = argv
    if kind == "ingest":
        result = child_ingest(rest[0], rest[1], int(rest[2]))
    elif kind == "parse":
        result = child_parse(rest[0], int(rest[1]))
    else:
        result = child_parsedmarc(rest[0], int(rest[1]))
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


# --- summary latency ---------------------------------------------------------------------


def summary_latency(
    db: str, days: int, runs: int = 3, nameserver: str | None = None
) -> list[float]:
    """Seconds per summarize() over the last ``days``; with ``nameserver``, a fresh
    DnsResolver each run (cold cache: the SPF tree, MX and PTR names asked every time)."""
    from mailcheck import DnsResolver
    from mailcheck.reports.store import ReportStore
    from mailcheck.reports.summary import summarize

    async def run() -> list[float]:
        times = []
        async with ReportStore(db) as store:
            for _ in range(runs):
                resolver = DnsResolver([nameserver], timeout=2.0) if nameserver else None
                start = time.perf_counter()
                summary = await summarize(
                    store, DOMAIN, since=YEAR_END - days * DAY, until=YEAR_END, resolver=resolver
                )
                times.append(round(time.perf_counter() - start, 3))
                assert summary.messages > 0
        return times

    return asyncio.run(run())


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _run_child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--parsedmarc", type=int, default=10_000)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-reports-") as tmp:
        files = Path(tmp) / "files"
        files.mkdir()
        start = time.perf_counter()
        records = generate(files, args.reports, args.records)
        size = sum(p.stat().st_size for p in files.iterdir())
        out: dict[str, Any] = {
            "reports": args.reports, "records": records, "files_mb": round(size / 2**20, 1),
            "generate_seconds": round(time.perf_counter() - start, 1),
        }  # fmt: skip
        small = _child("ingest", f"{tmp}/small.db", str(files), str(args.small))
        full = _child("ingest", f"{tmp}/full.db", str(files), str(args.reports))
        parse = _child("parse", str(files), str(args.reports))
        theirs = _child("parsedmarc", str(files), str(args.parsedmarc))
        for name, result, count in (
            ("ingest_small", small, args.small), ("ingest_full", full, args.reports),
            ("mailcheck_parse_only", parse, args.reports),
            ("parsedmarc_parse_only", theirs, args.parsedmarc),
        ):  # fmt: skip
            result["reports_per_second"] = round(count / result["seconds"], 1)
            result["seconds"] = round(result["seconds"], 2)
            out[name] = result
        out["db_mb"] = round(Path(f"{tmp}/full.db").stat().st_size / 2**20, 1)
        out["summary_365d_seconds"] = summary_latency(f"{tmp}/full.db", 365)
        out["summary_30d_seconds"] = summary_latency(f"{tmp}/full.db", 30)
        zones = Path(__file__).resolve().parent.parent / "tests" / "zones"
        dns = subprocess.Popen(
            [sys.executable, str(Path(__file__).parent / "dns_server_process.py"),
             str(zones / "reports.test.zone"), str(zones / "7.18.198.in-addr.arpa.zone")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert dns.stdout is not None
            port = dns.stdout.readline().strip()
            out["summary_365d_dns_seconds"] = summary_latency(
                f"{tmp}/full.db", 365, nameserver=f"127.0.0.1:{port}"
            )
        finally:
            assert dns.stdin is not None
            dns.stdin.close()
            dns.wait(timeout=10)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
