"""Benchmark the suppression list in the spool: what it costs submit and claim.

    .venv/bin/python bench/bench_suppression.py [--entries 100000] [--recipients 10000]

Builds a list of ``--entries`` suppressions (CSV import, 1,000 rows per transaction),
then submits one newsletter of ``--recipients`` recipients (1 in 100 suppressed) with
``submit_checked`` and claims it all (``claim(limit=500)`` until empty), and does the
same on a spool with an empty list and on one with ``suppression=False``. Prints JSON:
import rows/s, seconds of the submit and of the whole claim per case, how many were
suppressed, and the peak RSS. The spool files go in a temporary directory under ``--dir``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from mailcheck.hygiene.suppression import SuppressionList
from mailcheck.sending.spool import SqliteSpool


def _csv(entries: int) -> str:
    rows = [f"u{n}@example{n % 50}.org" for n in range(0, entries * 100, 100)]
    return "address\n" + "\n".join(rows) + "\n"


async def _case(path: Path, *, entries: int, recipients: int, check: bool) -> dict[str, Any]:
    spool = SqliteSpool(str(path), suppression=check)
    sl = SuppressionList(spool)
    result: dict[str, Any] = {"entries": entries, "suppression": check}
    if entries:
        text = _csv(entries)
        start = time.perf_counter()
        imported = await sl.import_csv(text)
        elapsed = time.perf_counter() - start
        result["import_rows_per_s"] = round(imported.added / elapsed)
    rcpts = [f"u{n}@example{n % 50}.org" for n in range(recipients)]
    start = time.perf_counter()
    done = await spool.submit_checked(b"x" * 2048, mail_from="news@asso.example",
                                      rcpt_to=rcpts, tenant="asso.example")  # fmt: skip
    result["submit_s"] = round(time.perf_counter() - start, 4)
    result["suppressed_at_submit"] = len(done.suppressed)
    start = time.perf_counter()
    claimed = 0
    while jobs := await spool.claim(limit=500):
        claimed += sum(len(job.recipients) for job in jobs)
    result["claim_all_s"] = round(time.perf_counter() - start, 4)
    result["claimed"] = claimed
    spool.close()
    return result


async def main(entries: int, recipients: int, directory: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        cases = [
            await _case(Path(tmp, "full.db"), entries=entries, recipients=recipients,
                        check=True),
            await _case(Path(tmp, "empty.db"), entries=0, recipients=recipients, check=True),
            await _case(Path(tmp, "off.db"), entries=0, recipients=recipients, check=False),
        ]  # fmt: skip
    return {
        "cases": cases,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.entries, args.recipients, args.dir)), indent=2))
