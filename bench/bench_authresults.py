"""Benchmark reading Authentication-Results on hostile headers (issue 13, item 6).

    .venv/bin/python bench/bench_authresults.py [--repeat 5]

Reading must be linear in the header's size and never recurse: this times
``parse_authentication_results`` on folded headers of growing size up to the
bound (``MAX_VALUE_LENGTH``), ``read_authentication_results`` on a 585 KiB
header (over the bound: kept with an error), deeply nested comments, and the
builder with values full of characters that must be quoted. Best of N runs,
one figure a line, then a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from mailcheck.authresults import (
    MAX_VALUE_LENGTH,
    AuthResult,
    AuthResultProperty,
    build_authentication_results,
    parse_authentication_results,
    read_authentication_results,
)

LINE = "\r\n  dkim=pass header.d=example.org header.s=s1 header.b=AbCdEf12;"


def folded_value(size: int) -> str:
    """A folded header value of about ``size`` characters, one result a line."""
    return "mx.example.net;" + LINE * (size // len(LINE)) + " spf=pass"


def best(repeat: int, run: Callable[[], object]) -> float:
    """The best of ``repeat`` timings of ``run()``, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    summary: dict[str, float] = {}
    for kib in (8, 16, 32, 63):
        value = folded_value(kib * 1024)
        ms = best(args.repeat, lambda v=value: parse_authentication_results(v))  # type: ignore[misc]
        summary[f"parse_folded_{kib}kib_ms"] = ms
        print(f"parse folded {kib:>3} KiB: {ms:8.2f} ms ({ms / kib:.3f} ms/KiB)")
    message = ("Authentication-Results: " + folded_value(585 * 1024) + "\r\n\r\nbody\r\n").encode()
    ms = best(args.repeat, lambda: read_authentication_results(message))
    summary["read_585kib_ms"] = ms
    print(f"read 585 KiB header (over the {MAX_VALUE_LENGTH} bound, kept with error): {ms:.2f} ms")
    for depth in (500, 30_000):
        nested = f"Authentication-Results: mx; dkim=pass {'(' * depth}{')' * depth}\r\n\r\n"
        ms = best(args.repeat, lambda n=nested: read_authentication_results(n))  # type: ignore[misc]
        summary[f"read_nested_{depth}_ms"] = ms
        print(f"read {depth} nested comments (kept with error): {ms:.2f} ms")
    hostile = 'x;dmarc=pass (header.from="paypal.com")\\' * 20
    props = tuple(
        AuthResultProperty(ptype="smtp", name="mailfrom", value=hostile) for _ in range(5)
    )
    results = [AuthResult(method="spf", result="fail", properties=props)] * 20
    ms = best(args.repeat, lambda: build_authentication_results("mx.example.net", results))
    summary["build_100_hostile_values_ms"] = ms
    print(f"build 100 hostile values: {ms:.2f} ms")
    print(json.dumps({k: round(v, 3) for k, v in summary.items()}))


if __name__ == "__main__":
    main()
