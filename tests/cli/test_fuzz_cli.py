"""Every command with hostile arguments: never a traceback, never an internal error, and an
exit code from 0 to 3.

Values: binary and control characters, huge and non-finite numbers, empty strings, scoped
IPv6, over-long names; files: binary, empty, missing, a directory. DNS goes to a port where
nothing listens (refused at once), so the commands get as far as they can without waiting.
A fixed table runs in the fast loop; hypothesis draws many more combinations (slow).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.hostile import DOWN, hostile_argument_tests

# Each command as a user would type it; V is a hostile value, F a hostile file.
TEMPLATES: dict[str, list[str]] = {
    "audit": ["audit", "V", *DOWN, "--no-probe", "--no-reputation"],
    "audit-options": ["audit", "example.org", "--ip", "V", "--selector", "V", *DOWN],
    "audit-numbers": ["audit", "example.org", "--timeout", "V", "--concurrency", "V"],
    "audit-file": ["audit", "--from-file", "F", *DOWN, "--no-reputation", "--format", "json"],
    "audit-zone": ["audit", "example.org", "--zone", "F", "--lists", "F"],
    "ip": ["ip", "V", *DOWN, "--no-builtin-lists"],
    "ip-helo": ["ip", "192.0.2.1", "--helo", "V", *DOWN, "--no-builtin-lists"],
    "ip-file": ["ip", "--from-file", "F", *DOWN, "--no-builtin-lists"],
    "dkim-keygen": ["dkim", "keygen", "--domain", "V", "--selector", "V", "--type", "ed25519"],
    "dkim-record": ["dkim", "record", "F", "--selector", "V", "--domain", "example.org"],
    "dkim-check": ["dkim", "check", "--domain", "V", "--selector", "s", "--key", "F", *DOWN],
    "dkim-sign": ["dkim", "sign", "--domain", "V", "--selector", "s", "--key", "F", "F"],
    "verify": ["verify", "F", "--ip", "V", "--mail-from", "V", *DOWN],
    "send": ["send", "F", "--from", "V", "--to", "V", "--no-run", "--spool", "spool"],
    "spool-list": ["spool", "list", "--spool", "F", "--limit", "V", "--domain", "V"],
    "spool-status": ["spool", "status", "--spool", "F"],
    "providers": ["providers", "--check", "F"],
    "provider": ["provider", "V", *DOWN],
}


# The fast table: every template with a few of the worst values and files.
FAST = [
    (name, value, file)
    for name in TEMPLATES
    for value, file in (("\x00", "binary"), ("999999999999999999999", "directory"), ("", "empty"))
]


test_hostile_arguments_table, test_hostile_arguments_fuzz = hostile_argument_tests(
    TEMPLATES, FAST, max_examples=300
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # keys and spools land here
    return tmp_path


# As a user runs them: a real process, so anything Python prints at exit shows up too.
PROCESS_CASES = [
    ["ip", "fe80::1%eth0"],
    ["audit", "example.org", "--timeout", "nan"],
    ["audit", "--from-file", "/bin/sh"],
    ["audit", "--from-file", "/"],
    ["spool", "list", "--limit", "999999999999999999999"],
    ["dkim", "keygen", "--domain", "example.org", "--selector", "x/../../escaped"],
]


@pytest.mark.parametrize("argv", PROCESS_CASES)
def test_hostile_arguments_in_a_process(argv: list[str], workdir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mailcheck.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
