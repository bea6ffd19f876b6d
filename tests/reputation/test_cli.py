"""``mailcheck ip``: arguments, output formats, bulk JSON lines, exit codes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from mailcheck.cli import ip as ip_command
from mailcheck.errors import ConfigError
from tests.dnsserver import DnsTestServer

LISTS = Path(__file__).parent / "lists.toml"


def run(dns_server: DnsTestServer, *argv: str) -> int:
    # Only this command's parser: the full CLI registers every command of the tree.
    parser = argparse.ArgumentParser()
    ip_command.register(parser.add_subparsers())
    args = parser.parse_args(
        ["ip", "--nameserver", dns_server.address, "--timeout", "1",
         "--no-builtin-lists", "--lists", str(LISTS), *argv]
    )  # fmt: skip
    code: int = args.run(args)
    return code


def test_json_single(dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(dns_server, "203.0.113.66", "--helo", "mail.rep.test", "--format", "json")
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["ip"] == "203.0.113.66"
    assert data["status"] == "fail"
    assert "good.bl.rep.test" in data["listed_on"]


def test_text_and_fail_on(dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]) -> None:
    run(dns_server, "203.0.113.10", "--format", "json")
    status = json.loads(capsys.readouterr().out)["status"]
    # No error finding: 0, or 3 when the verdict could not be reached (status unknown).
    expected = 3 if status == "unknown" else 0
    assert run(dns_server, "203.0.113.10", "--fail-on", "error") == expected
    out = capsys.readouterr().out
    assert "203.0.113.10" in out
    assert "mail.rep.test (forward-confirmed)" in out
    assert "rbl.zone-broken" in out  # the fake catalogue has broken zones: warnings
    assert run(dns_server, "203.0.113.10", "--fail-on", "warning") == 1


def test_unknown_verdict_exits_3(dns_server: DnsTestServer, tmp_path: Path) -> None:
    # A resolver that refuses every question: no verdict can be reached.
    parser = argparse.ArgumentParser()
    ip_command.register(parser.add_subparsers())
    args = parser.parse_args(
        ["ip", "203.0.113.10", "--nameserver", "127.0.0.1:9", "--timeout", "0.5",
         "--no-builtin-lists", "--lists", str(LISTS)]
    )  # fmt: skip
    assert args.run(args) == 3


def test_zone_files_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zones = Path(__file__).resolve().parent.parent.parent / "examples" / "zones"
    parser = argparse.ArgumentParser()
    ip_command.register(parser.add_subparsers())
    args = parser.parse_args(
        ["ip", "192.0.2.30", "--format", "json", "--no-builtin-lists",
         "--lists", str(zones.parent / "demo-lists.toml"),
         "--zone", str(zones / "2.0.192.in-addr.arpa.zone"),
         "--zone", str(zones / "mailhost.example.zone"),
         "--zone", str(zones / "bl.example.zone")]
    )  # fmt: skip
    args.run(args)
    data = json.loads(capsys.readouterr().out)
    assert data["ip"] == "192.0.2.30"
    assert data["ptr_names"]


def test_bad_values_are_named_and_the_others_checked(
    dns_server: DnsTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(dns_server, "fe80::1%eth0", "203.0.113.66", "--format", "json")
    captured = capsys.readouterr()
    assert code == 2
    assert [r["ip"] for r in json.loads(captured.out)] == ["203.0.113.66"]
    assert captured.err.count("\n") == 1
    assert "'fe80::1%eth0'" in captured.err
    listing = tmp_path / "ips.txt"
    listing.write_text("203.0.113.66\n\n203.0.113.66\nnope\n")
    code = run(dns_server, "--from-file", str(listing))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out.count("203.0.113.66  ") == 1  # the duplicate is checked once
    assert f"{listing}:4: 'nope'" in captured.err


def test_bulk_json_lines(
    dns_server: DnsTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = tmp_path / "ips.txt"
    listing.write_text("# egress IPs\n203.0.113.10 mail.rep.test\n203.0.113.66\nnot-an-ip\n\n")
    code = run(dns_server, "--from-file", str(listing), "--format", "json")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 2  # one bad line
    by_ip = {line["ip"]: line for line in lines}
    assert set(by_ip) == {"203.0.113.10", "203.0.113.66", "not-an-ip"}
    assert by_ip["not-an-ip"]["status"] == "error"
    assert by_ip["203.0.113.10"]["helo"]["name"] == "mail.rep.test"
    assert dns_server.count("2.0.0.127.good.bl.rep.test", "A") == 1


def test_usage_errors(dns_server: DnsTestServer) -> None:
    with pytest.raises(ConfigError):
        run(dns_server)
    with pytest.raises(SystemExit):  # argparse: --concurrency is a number from 1
        run(dns_server, "203.0.113.10", "--concurrency", "0")
    with pytest.raises(ConfigError):
        run(dns_server, "--from-file", "/nonexistent/ips.txt")
