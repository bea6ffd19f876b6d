"""``mailcheck lint``: exit codes, JSON, text, errors on one line (the real entry point)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dnsserver import DnsTestServer
from tests.lint.messages import newsletter

ZONES = Path(__file__).parents[1] / "zones"


def mailcheck(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailcheck.cli.main", *args],
        input=stdin.decode("utf-8", "surrogateescape") if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(tmp_path: Path, message: bytes) -> str:
    path = tmp_path / "message.eml"
    path.write_bytes(message)
    return str(path)


def test_accepted_message_exits_0_with_json(tmp_path: Path, dns_server: DnsTestServer) -> None:
    path = write(tmp_path, newsletter())
    result = mailcheck(
        "lint", path, "--profile", "all", "--ip", "198.51.100.17",
        "--nameserver", dns_server.address, "--format", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"][1] == "Gmail (gmail-bulk): accepted"
    assert [v["verdict"] for v in data["verdicts"]] == ["accepted"] * 4
    assert data["findings"] == []


def test_rejected_exits_1_and_names_the_rule(tmp_path: Path) -> None:
    path = write(tmp_path, newsletter(signed=False))
    result = mailcheck("lint", path, "--profile", "microsoft-bulk", "--offline")
    assert result.returncode == 1, result.stderr
    first = result.stdout.splitlines()[0].split()
    assert first == ["would", "be", "rejected", "Outlook.com", "(microsoft-bulk)"]
    assert "lint.dkim-missing" in result.stdout
    assert "2025-05-05" in result.stdout


def test_at_risk_exits_0(tmp_path: Path) -> None:
    path = write(tmp_path, newsletter(unsubscribe=False))
    result = mailcheck("lint", path, "--profile", "gmail-bulk", "--offline", "--format", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["verdicts"][0]["verdict"] == "at-risk"


def test_zone_files_offline_and_could_not_check(tmp_path: Path) -> None:
    path = write(tmp_path, newsletter())
    zones = ["--zone", str(ZONES / "bulklint.test.zone")]
    zones += ["--zone", str(ZONES / "17.100.51.198.in-addr.arpa.zone")]
    result = mailcheck("lint", path, "--profile", "all", "--ip", "198.51.100.17", *zones)
    assert result.returncode == 0, result.stdout + result.stderr
    # Without the reverse zone, and no nameserver: the PTR could not be checked.
    result = mailcheck(
        "lint", path, "--profile", "gmail-bulk", "--ip", "198.51.100.17", *zones[:2],
        "--format", "json",
    )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["verdicts"][0]["verdict"] == "unknown"
    assert "rdns.temperror" in {f["code"] for f in data["findings"]}


def test_stdin(tmp_path: Path) -> None:
    result = mailcheck("lint", "-", "--offline", stdin=newsletter())
    assert result.returncode == 0, result.stderr
    assert "accepted" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["{missing}", "--offline"], "cannot read"),
        (["{message}", "--profile", "hotmail", "--offline"], "no lint profile 'hotmail'"),
        (["{message}", "--ip", "300.1.1.1", "--zone", "{zone}"], "300.1.1.1"),
        (["{message}", "--ip", "198.51.100.17", "--offline"], "--offline"),
    ],
)
def test_errors_are_one_line_exit_2(tmp_path: Path, args: list[str], expected: str) -> None:
    names = {
        "missing": str(tmp_path / "nope.eml"),
        "message": write(tmp_path, newsletter()),
        "zone": str(ZONES / "bulklint.test.zone"),
    }
    result = mailcheck("lint", *(a.format(**names) for a in args))
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
