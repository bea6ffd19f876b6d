"""Sending-host processes for the Redis tests, and the analysis of what they did."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class Host:
    """One ``tests.redis.worker`` process whose JSON lines go to a file."""

    def __init__(
        self, url: str, number: int, out: Path, *options: str, module: str = "tests.redis.worker"
    ) -> None:
        self.number = number
        self.out = out
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"}
        with out.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, url, "--host", str(number), *options],
                cwd=ROOT,
                env=env,
                stdout=sink,
            )

    def records(self) -> list[dict[str, Any]]:
        """The complete lines written so far."""
        lines = self.out.read_text().splitlines(keepends=True)
        return [json.loads(line) for line in lines if line.endswith("\n")]

    def wait_for(self, kind: str, timeout: float = 20.0, *, count: int = 1, **fields: Any) -> None:
        """Block until the host wrote ``count`` records of ``kind`` with ``fields`` (or fail):
        the tests wait for what the hosts did, not for a length of time."""
        deadline = time.monotonic() + timeout

        def seen() -> int:
            return sum(
                1
                for r in self.records()
                if r["kind"] == kind and all(r.get(k) == v for k, v in fields.items())
            )

        while seen() < count:
            assert self.process.poll() is None, f"host {self.number} exited early"
            assert time.monotonic() < deadline, f"host {self.number} wrote no {kind!r}"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the host: no cleanup, no release of its leases."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def finish(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait for a normal exit and return every record."""
        assert self.process.wait(timeout=timeout) == 0
        return self.records()


def max_in_window(times: Iterable[float], width: float) -> int:
    """The largest number of ``times`` inside any window ``[t, t + width)``."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - width:
            start += 1
        best = max(best, end - start + 1)
    return best


def message_times(
    records: Sequence[dict[str, Any]], *, shared: bool, after: float = 0.0, before: float = 1e18
) -> list[float]:
    """Times of the messages sent by the shared budget (or the local share) in a span."""
    return [
        r["t"]
        for r in records
        if r["kind"] == "message" and r["shared"] is shared and after <= r["t"] < before
    ]
