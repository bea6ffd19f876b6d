"""Audit a list of domains with the library, the way a mail-stack script would.

    .venv/bin/python examples/audit_list.py                 # offline, the example zones
    .venv/bin/python examples/audit_list.py --live a.org b.org --nameserver 127.0.0.1

Prints one line per domain and exits 1 when a domain has an error, so it can run from
cron and mail its output. Offline it answers from examples/zones/ (no network at all).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from mailcheck import DnsResolver, Resolver, Severity, ZoneResolver
from mailcheck.audit import audit_domain

ZONES = Path(__file__).parent / "zones"


async def main(domains: list[str], resolver: Resolver) -> int:
    # One resolver for all domains: its cache and single-flight serve them all.
    semaphore = asyncio.Semaphore(20)

    async def one(domain: str) -> tuple[str, str, list[str]]:
        async with semaphore:
            report = await audit_domain(domain, resolver=resolver, reputation=False)
        worst = [f.code for f in report.findings if f.severity is not Severity.INFO]
        return domain, report.status.value, worst

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(d)) for d in domains]
    failed = False
    for task in tasks:
        domain, status, codes = task.result()
        failed |= status == "fail"
        print(f"{domain:30} {status:8} {' '.join(codes)}")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Audit a list of domains.")
    parser.add_argument("domains", nargs="*", default=["example.org", "mailhost.example"])
    parser.add_argument("--live", action="store_true", help="ask DNS instead of the example zones")
    parser.add_argument("--nameserver", action="append")
    args = parser.parse_args()
    resolver: Resolver
    if args.live:
        resolver = DnsResolver(args.nameserver)
    else:
        resolver = ZoneResolver(sorted(ZONES.glob("*.zone")))
    sys.exit(asyncio.run(main(args.domains, resolver)))
