"""``mailcheck audit`` as a user runs it: a real process, real DNS on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.dnsserver import DnsTestServer

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = ROOT / "examples" / "zones"


def mailcheck(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailcheck.cli.main", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        check=False,
    )


def test_json_one_domain_and_exit_codes(dns_server: DnsTestServer) -> None:
    ns = ["--nameserver", dns_server.address, "--no-reputation", "--selector", "mail"]
    good = mailcheck("audit", "good.audittest", *ns, "--format", "json")
    assert good.returncode == 0, good.stderr
    data = json.loads(good.stdout)
    assert data["domain"] == "good.audittest"
    assert data["status"] == "pass"
    bare = mailcheck("audit", "bare.audittest", *ns, "--format", "json")
    assert bare.returncode == 1
    assert json.loads(bare.stdout)["status"] == "fail"


def test_fail_on_warning(dns_server: DnsTestServer) -> None:
    args = ["--nameserver", dns_server.address, "--no-reputation", "--format", "json"]
    parked = mailcheck("audit", "parked.audittest", *args, "--fail-on", "warning")
    assert parked.returncode == 0, parked.stdout  # info only


def test_text_output(dns_server: DnsTestServer) -> None:
    result = mailcheck(
        "audit", "bare.audittest", "--nameserver", dns_server.address, "--no-reputation"
    )
    assert result.returncode == 1
    assert "bare.audittest" in result.stdout
    assert "spf.missing" in result.stdout
    assert "fix:" in result.stdout
    assert "\x1b[" not in result.stdout  # no colours when not a terminal


def test_bulk_json_lines(dns_server: DnsTestServer, tmp_path: Path) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("# customers\ngood.audittest\nbare.audittest\nnot a domain\n")
    result = mailcheck(
        "audit",
        "--from-file",
        str(listing),
        "--nameserver",
        dns_server.address,
        "--no-reputation",
        "--format",
        "json",
        "--concurrency",
        "2",
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(line["domain"] for line in lines) == [
        "bare.audittest",
        "good.audittest",
        "not a domain",
    ]
    assert next(line for line in lines if line["domain"] == "not a domain")["status"] == "error"
    assert result.returncode == 2  # a line that is not a domain


def test_usage_errors_are_one_line() -> None:
    for args in (
        ["audit", "not a domain"],
        ["audit"],
        ["audit", "example.org", "--nameserver", "nonsense"],
        ["audit", "--zone", "/nonexistent.zone", "example.org"],
        ["frobnicate"],
    ):
        result = mailcheck(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_offline_demo_zone() -> None:
    result = mailcheck(
        "audit",
        "--zone",
        str(EXAMPLES / "example.org.zone"),
        "--zone",
        str(EXAMPLES / "mailhost.example.zone"),
        "--zone",
        str(EXAMPLES / "2.0.192.in-addr.arpa.zone"),
        "--selector",
        "mail2026",
        "--selector",
        "ed2026",
        "--no-reputation",
        "example.org",
        "--format",
        "json",
    )
    data = json.loads(result.stdout)
    assert data["dmarc"]["policy"] == "none"
    assert {s["selector"] for s in data["dkim"]["selectors"]} >= {"mail2026", "ed2026", "default"}
    assert "dkim.key-weak" in {f["code"] for f in data["findings"]}


def test_dns_down_exits_3_as_a_process() -> None:
    result = mailcheck(
        "audit", "example.org", "--nameserver", "127.0.0.1:9", "--timeout", "1",
        "--no-reputation", "--no-probe",
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "could not check (" in result.stdout
    assert result.stderr == ""


def test_bulk_file_problems_are_named(dns_server: DnsTestServer, tmp_path: Path) -> None:
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody yet\n")
    for path, says in ((binary, "not UTF-8"), (empty, "no domain"), (tmp_path, str(tmp_path))):
        result = mailcheck("audit", "--from-file", str(path))
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1
        assert says in result.stderr
        assert "Traceback" not in result.stderr
    listing = tmp_path / "domains.txt"
    listing.write_text("good.audittest\nGOOD.audittest.\nnot a domain\n")
    result = mailcheck(
        "audit", "--from-file", str(listing), "--nameserver", dns_server.address,
        "--no-reputation",
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout.count("good.audittest  ") == 1  # the same domain, audited once
    assert f"{listing}:3: 'not a domain'" in result.stderr
