"""Reply normalisation and classification on hostile replies (issue 13 item 5).

A remote server chooses its reply text; aiosmtplib accepts lines up to 8 KiB. The old
masking pattern was quadratic (a 4-line 450 reply blocked the event loop about 2 s); this
measures the time per reply for hostile shapes of growing size, against the previous
pattern kept here for comparison only.

    python bench/bench_replies.py
"""

from __future__ import annotations

import re
import sys
import time

from mailcheck.sending.providers import ProviderSet
from mailcheck.sending.replies import classify_text, normalize_reply

# The pattern before the fix, measured for comparison (never used by mailcheck).
_PROVIDER = (
    r"\b(?:OFR\d*_\d+|LPN[A-Z0-9]*_\d+|SFR_IN_\w+|GU_EIB_\d+|(?:RP|SC|DY|OU)-\d{3})\b"
    r"|(?<=\[)(?:TSS?\d+|IPTS\d+|BL\d+|PH\d+|HCM\d+|BS\d+|HME\d+|CS\d+)(?=\])"
    r"|(?<=\()(?:S\d{3,4}|AS\d{3})(?=\))"
    r"|(?<=c=)r\d{4}\b"
)
OLD = re.compile(
    r"(?P<keep>^[2-5]\d\d\b|(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d.])|" + _PROVIDER
    + r")|(?P<addr>[^\s<>@\[\](),;:\"]+@[^\s<>@\[\](),;:\"]+)"
    r"|(?P<ip>(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])"
    r"|(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:]))"
    r"|(?P<id>(?<![\w])(?=[\w-]*\d)[\w-]{8,})"
    r"|(?P<n>\d+)",
    re.IGNORECASE,
)  # fmt: skip

SHAPES = {
    "no @ in a long word": lambda n: "450 " + "a" * n,
    "word chars, digit at the end": lambda n: "450 " + "a" * n + "1",
    "dashes and words": lambda n: "450 " + "a-" * (n // 2),
    "colons (IPv6-like)": lambda n: "450 " + "1:" * (n // 2),
    "4 lines of 8 KiB": lambda n: "\n".join("450-" + "b" * n for _ in range(4)),
}


def timed(fn, text: str) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn(text)
    return time.perf_counter() - start


def main() -> int:
    orange = ProviderSet.load().get("orange")
    print(f"{'shape':32} {'size':>6} {'old mask':>10} {'normalise':>10} {'classify':>10}")
    for name, make in SHAPES.items():
        for size in (1024, 4096, 8192):
            text = make(size)
            old = timed(lambda t: OLD.sub("x", " ".join(t.split())), text) if size <= 4096 else None
            new = timed(normalize_reply, text)
            full = timed(lambda t: classify_text(450, t[4:], orange), text)
            old_text = f"{old * 1000:8.1f}ms" if old is not None else "   (skip)"
            print(f"{name:32} {size:6d} {old_text:>10} {new * 1000:8.2f}ms {full * 1000:8.2f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
