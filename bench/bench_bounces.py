"""A bounce storm: 10,000 DSNs in a Maildir ingested by ``mailcheck bounces ingest``.

    .venv/bin/python bench/bench_bounces.py [--count 10000]

The spool holds ``count`` recipients of one tenant; the Maildir holds one DSN per
recipient, in Postfix's layout: 80 % hard (5.1.1), 15 % soft (4.2.2 delayed), 5 % forged
(a VERP token that does not verify). Three figures, each in a fresh child process so the
peak RSS is the command's own:

* ``parse``: ``read_inbound`` over the messages in memory (no database);
* ``dry-run``: the CLI reading the Maildir, nothing written;
* ``ingest``: the CLI reading the Maildir, suppressing in the spool, moving to ``cur/``.

Prints one figure per line and a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.hygiene.ingest_helpers import BOUNCE_DOMAIN, SECRET, dsn  # noqa: E402

from mailcheck.sending.spool import SqliteSpool  # noqa: E402


async def _fill_spool(path: str, count: int) -> list[int]:
    spool = SqliteSpool(path)
    try:
        for start in range(0, count, 1000):
            rcpts = [f"member{n}@mailbox.example" for n in range(start, min(count, start + 1000))]
            await spool.submit(b"Subject: news\r\n\r\nnews\r\n", mail_from=f"news@{BOUNCE_DOMAIN}",
                               rcpt_to=rcpts, tenant="asso", list_id="asso/news")  # fmt: skip
        return [row.id for row in await spool.list(limit=count)]
    finally:
        spool.close()


def _messages(ids: list[int]) -> list[bytes]:
    raws = []
    for n, rid in enumerate(ids):
        rcpt = f"member{n}@mailbox.example"
        if n % 20 == 0:  # 5 %: forged
            raws.append(
                dsn(None, rcpt, serial=n, return_path=f"bounces+{'b' * 29}@{BOUNCE_DOMAIN}")
            )
        elif n % 20 < 4:  # 15 %: soft
            raws.append(dsn(rid, rcpt, serial=n, status="4.2.2", action="delayed",
                            diagnostic="smtp; 452 4.2.2 Mailbox full"))  # fmt: skip
        else:
            raws.append(dsn(rid, rcpt, serial=n))
    return raws


def _maildir(root: Path, raws: list[bytes]) -> Path:
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True)
    for n, raw in enumerate(raws):
        (root / "new" / f"{1_800_000_000 + n}.M{n}.bench").write_bytes(raw)
    return root


def _child(argv: list[str]) -> tuple[float, int, str]:
    """Run a child; its wall time, peak RSS (KiB) and stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv[:4]} failed ({done.returncode}): {done.stderr.strip()}")
    # ru_maxrss of children is the largest of any child so far: run the largest last.
    return elapsed, max(after, before), done.stdout


_PARSE = """
import sys, time
from pathlib import Path
from mailcheck.hygiene.inbound import read_inbound
raws = [p.read_bytes() for p in sorted(Path(sys.argv[1]).iterdir())]
start = time.perf_counter()
for raw in raws:
    read_inbound(raw, secret=sys.argv[2].encode())
print(time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    count = parser.parse_args().count
    python = sys.executable
    results: dict[str, Any] = {"count": count}
    with tempfile.TemporaryDirectory(prefix="bench-bounces-") as tmp:
        spool = str(Path(tmp) / "spool.db")
        ids = asyncio.run(_fill_spool(spool, count))
        raws = _messages(ids)
        box = _maildir(Path(tmp) / "Maildir", raws)
        secret = Path(tmp) / "secret"
        secret.write_bytes(SECRET)
        secret.chmod(0o600)
        _, rss, out = _child([python, "-c", _PARSE, str(box / "new"), SECRET.decode()])
        results["parse_per_s"] = round(count / float(out.strip()))
        results["parse_peak_rss_mib"] = round(rss / 1024, 1)
        cli = [python, "-m", "mailcheck.cli.main", "bounces", "ingest", "--maildir", str(box),
               "--secret-file", str(secret), "--spool", spool, "--format", "json"]  # fmt: skip
        elapsed, rss, _ = _child([*cli, "--dry-run"])
        results["dry_run_per_s"] = round(count / elapsed)
        results["dry_run_peak_rss_mib"] = round(rss / 1024, 1)
        elapsed, rss, out = _child(cli)
        summary = json.loads(out)["summary"]
        results["ingest_per_s"] = round(count / elapsed)
        results["ingest_seconds"] = round(elapsed, 2)
        results["ingest_peak_rss_mib"] = round(rss / 1024, 1)
        results["ingest_summary"] = summary
        results["left_in_new"] = len(os.listdir(box / "new"))
    for key, value in results.items():
        if not isinstance(value, dict):
            print(f"{key:24} {value}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
