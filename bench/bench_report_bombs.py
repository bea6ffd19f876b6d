"""What hostile report blobs cost mailcheck: time and peak memory to refuse each one.

    .venv/bin/python bench/bench_report_bombs.py [--skip-slow]

Each case is built in memory (the bombs are about 1 MiB), then handed to ``ingest_report``
(or ``reports_in_message``) twice: once for the wall time, once under ``tracemalloc`` for
the peak of Python allocations during the call (the blob itself excluded), with the reason
the blob was refused. The largest genuine report accepted (200,000 plain rows, 66 MB of XML)
is the yardstick: no hostile blob should cost more than it. Prints JSON.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.reports.bombs import gzip_bomb, zip_bomb  # noqa: E402

from mailcheck.reports import ReportError, ingest_report, reports_in_message  # noqa: E402

HEAD = (
    b"<feedback><report_metadata><org_name>bench</org_name><report_id>r1</report_id>"
    b"<date_range><begin>1</begin><end>2</end></date_range></report_metadata>"
    b"<policy_published><domain>asso.example</domain><p>none</p></policy_published>"
)
ROW = (
    b"<record><row><source_ip>192.0.2.%d</source_ip><count>1</count>"
    b"<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf>"
    b"</policy_evaluated></row><identifiers><header_from>asso.example</header_from>"
    b"</identifiers><auth_results><spf><domain>asso.example</domain><result>pass</result>"
    b"</spf></auth_results></record>"
)
# Under each bound of the parser but the size: blocks of 2 MB (33 elements of 60 KB of
# text), 512 of them: 1 GiB.
EXTENSION = b"<extension>" + (b"<a>" + b" " * 60_000 + b"</a>") * 33 + b"</extension>"
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, b"&lol%d;" % (n - 1) * 10 if n > 1 else b"&lol;" * 10)
        for n in range(1, 10)
    )
    + b"]><feedback><report_metadata><org_name>&lol9;</org_name></report_metadata></feedback>"
)


def cases(slow: bool) -> dict[str, Callable[[], bytes]]:
    filler = {"mebibytes": 512, "prefix": b"<feedback>", "filler": EXTENSION}
    built: dict[str, Callable[[], bytes]] = {
        "gzip bomb, 1 GiB of XML": lambda: gzip_bomb(**filler),
        "zip bomb, 1 GiB of XML": lambda: zip_bomb(**filler),
        "zip bomb lying about its size": lambda: zip_bomb(declared=1024, **filler),
        "gzip, 1 GiB of blanks in one element": lambda: gzip_bomb(
            prefix=b"<feedback>", filler=b" "
        ),
        "billion laughs": lambda: LAUGHS,
        "message of 1,000,000 MIME parts": lambda: (
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\n\r\n" * 1_000_000
        ),
    }
    if slow:
        built["gzip, 100 MiB of <a/>"] = lambda: gzip.compress(
            b"<feedback>" + b"<a/>" * (25 * 1024 * 1024), 1
        )
        padded = (ROW % 1).replace(b"</record>", b"<a/>" * 9_000 + b"</record>")
        built["gzip, 100 MiB of records padded with <a/>"] = lambda: gzip.compress(
            HEAD + padded * 2_900, 1
        )
        built["largest genuine: 200,000 rows, plain"] = lambda: (
            HEAD + b"".join(ROW % (n % 250) for n in range(200_000)) + b"</feedback>"
        )
    return built


def _run(name: str, blob: bytes) -> str:
    """The outcome of reading ``blob``: "read", or the reason it was refused."""
    try:
        if name.startswith("message"):
            first = reports_in_message(blob)[0]
            return first.reason if isinstance(first, ReportError) else "read"
        ingest_report(blob)
    except ReportError as exc:
        return exc.reason
    return "read"


def measure(name: str, blob: bytes) -> dict[str, object]:
    """Time without tracemalloc (it slows Python down), then the peak under it."""
    started = time.perf_counter()
    outcome = _run(name, blob)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    _run(name, blob)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "case": name,
        "blob_bytes": len(blob),
        "outcome": outcome,
        "seconds": round(elapsed, 3),
        "peak_mib": round(peak / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-slow", action="store_true", help="leave out the two big cases")
    args = parser.parse_args()
    results = [measure(name, build()) for name, build in cases(not args.skip_slow).items()]
    print(json.dumps({"python": sys.version.split()[0], "cases": results}, indent=2))


if __name__ == "__main__":
    main()
