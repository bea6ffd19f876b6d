"""The CLI on a real terminal (a pseudo-terminal): stdout stays data, colours obey NO_COLOR.

``mailcheck audit --from-file many.txt --format json > out.jsonl`` typed at a terminal:
stderr is the terminal (the progress bar is drawn there), stdout is the file and must
get every JSON line, none of them on the screen.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dnsserver import DnsTestServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

LISTS = Path(__file__).resolve().parent.parent / "reputation" / "lists.toml"
COLOUR = re.compile(rb"\x1b\[[0-9;]*3[0-7](;[0-9]+)*m")  # a foreground colour


def _read_all(master: int) -> bytes:
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def run_on_terminal(
    argv: list[str], *, stdout: Path | None, env: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """Run mailcheck with stderr (and stdout unless ``stdout`` is a file) on a pty."""
    master, slave = pty.openpty()
    out = stdout.open("wb") if stdout else None
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailcheck.cli.main", *argv],
            stdin=subprocess.DEVNULL,
            stdout=out if out else slave,
            stderr=slave,
            env={**os.environ, "COLUMNS": "100", **(env or {})},
        )
    finally:
        os.close(slave)
        if out:
            out.close()
    screen = _read_all(master)
    os.close(master)
    return proc.wait(60), screen


def test_bulk_json_goes_to_the_file_not_the_terminal(
    dns_server: DnsTestServer, tmp_path: Path
) -> None:
    listing = tmp_path / "many.txt"
    domains = ["good.audittest", "bare.audittest", "parked.audittest"]
    listing.write_text("\n".join([*domains, "good.audittest"]) + "\n")
    out = tmp_path / "out.jsonl"
    code, screen = run_on_terminal(
        ["audit", "--from-file", str(listing), "--nameserver", dns_server.address,
         "--no-reputation", "--format", "json", "--concurrency", "2"],
        stdout=out,
    )  # fmt: skip
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(line["domain"] for line in lines) == sorted(domains)  # the duplicate once
    assert b'"domain"' not in screen
    assert code == 1  # bare.audittest has errors


@pytest.mark.slow
def test_ip_bulk_json_goes_to_the_file_not_the_terminal(
    dns_server: DnsTestServer, tmp_path: Path
) -> None:
    listing = tmp_path / "ips.txt"
    listing.write_text("203.0.113.10 mail.rep.test\n203.0.113.66\n")
    out = tmp_path / "out.jsonl"
    _, screen = run_on_terminal(
        ["ip", "--from-file", str(listing), "--nameserver", dns_server.address,
         "--timeout", "1", "--no-builtin-lists", "--lists", str(LISTS), "--format", "json"],
        stdout=out,
    )  # fmt: skip
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(line["ip"] for line in lines) == ["203.0.113.10", "203.0.113.66"]
    assert b'"ip"' not in screen


def test_colours_on_a_terminal_unless_no_color(dns_server: DnsTestServer) -> None:
    argv = ["audit", "bare.audittest", "--nameserver", dns_server.address, "--no-reputation"]
    _, coloured = run_on_terminal(argv, stdout=None)
    assert COLOUR.search(coloured)
    _, plain = run_on_terminal(argv, stdout=None, env={"NO_COLOR": "1"})
    assert b"bare.audittest" in plain
    assert not COLOUR.search(plain)
