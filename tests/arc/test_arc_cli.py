"""``mailcheck arc seal`` and the ARC lines of ``mailcheck verify``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from mailcheck.cli.main import main
from mailcheck.dkim.arc_verify import ArcVerdict, verify_arc
from mailcheck.lookup import DnsResolver
from tests.arc.arc_helpers import LIST, POST
from tests.cli.hostile import FILES, make_file
from tests.dkim.dkimsign_helpers import DATA
from tests.dnsserver import DnsTestServer


def seal_args(path: Path, key: str, *extra: str) -> list[str]:
    key_file = str(DATA / f"dkimsign.test.{key}.pem")
    return ["arc", "seal", str(path), "--domain", LIST, "--selector", key,
            "--key", key_file, "--authserv-id", LIST, *extra]  # fmt: skip


@pytest.mark.parametrize("key", ["rsa", "ed"])
async def test_seal_with_verify(
    key: str,
    tmp_path: Path,
    dns_server: DnsTestServer,
    resolver: DnsResolver,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    path = tmp_path / "post.eml"
    path.write_bytes(POST)
    dns = ["--nameserver", dns_server.address]
    code = await _run(seal_args(path, key, "--verify", "--ip", "192.0.2.10", *dns))
    sealed = capsysbinary.readouterr().out
    assert code == 0
    assert sealed.startswith(b"ARC-Seal: i=1; cv=none;")
    assert (await verify_arc(sealed, resolver=resolver)).result is ArcVerdict.PASS
    (tmp_path / "sealed.eml").write_bytes(sealed)
    assert await _run(["verify", str(tmp_path / "sealed.eml"), *dns]) in (0, 1)
    out = capsysbinary.readouterr().out.decode()
    assert "arc     pass" in out
    assert f"i=1 {LIST} cv=none: {LIST}; dkim=none" in out
    await _run(["verify", str(tmp_path / "sealed.eml"), *dns, "--format", "json"])
    data = json.loads(capsysbinary.readouterr().out)
    assert data["arc"]["result"] == "pass"
    assert data["arc"]["oldest_pass"] == 0


async def test_seal_without_results_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "post.eml"
    path.write_bytes(POST)
    assert await _run(seal_args(path, "rsa")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "verify the message first" in err


async def test_seal_unreadable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await _run(seal_args(tmp_path / "missing.eml", "rsa")) == 2
    assert "cannot read" in capsys.readouterr().err


async def test_seal_when_dns_fails_is_could_not_check(
    tmp_path: Path, dns_server: DnsTestServer, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = tmp_path / "post.eml"
    path.write_bytes(POST)
    dns = ["--nameserver", dns_server.address]
    assert await _run(seal_args(path, "ed", "--verify", *dns)) == 0
    sealed = capsysbinary.readouterr().out.replace(b"s=ed;", b"s=flaky;")
    (tmp_path / "sealed.eml").write_bytes(sealed)
    dns_server.behave("flaky._domainkey.lists.liststest", servfail=True)
    assert await _run(seal_args(tmp_path / "sealed.eml", "ed", "--verify", *dns)) == 3
    assert capsysbinary.readouterr().out == b""
    # The same when an earlier step wrote arc=temperror in this ADMD's header.
    unknown = f"Authentication-Results: {LIST}; arc=temperror\r\n".encode() + sealed
    (tmp_path / "unknown.eml").write_bytes(unknown)
    assert await _run(seal_args(tmp_path / "unknown.eml", "ed")) == 3


async def _run(argv: list[str]) -> int:
    # The CLI runs its own event loop: keep it off this test's loop.
    return await asyncio.to_thread(main, argv)


HOSTILE = ["", "-1", "a" * 300, "x y", "\u202etxt.exe", "é.example", "../../escaped", "a;b=c"]


@pytest.mark.parametrize("kind", FILES)
@pytest.mark.parametrize("where", ["message", "key"])
def test_hostile_files_give_one_line(
    tmp_path: Path, kind: str, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = Path(make_file(tmp_path, kind, garbage=b"From: \r\n\tARC-Seal: i=99\r\n" * 50))
    good = tmp_path / "post.eml"
    good.write_bytes(f"Authentication-Results: {LIST}; dkim=none\r\n".encode() + POST)
    argv = seal_args(bad if where == "message" else good, "rsa")
    if where == "key":
        argv[argv.index("--key") + 1] = str(bad)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "internal error" not in err


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("option", ["--domain", "--selector", "--authserv-id"])
def test_hostile_values_give_one_line(
    tmp_path: Path, option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "post.eml"
    path.write_bytes(f"Authentication-Results: {LIST}; dkim=none\r\n".encode() + POST)
    argv = seal_args(path, "rsa")
    argv[argv.index(option) + 1] = value
    code = main(argv)
    captured = capsys.readouterr()
    assert code in (0, 2)
    assert "internal error" not in captured.err
    assert captured.err.count("\n") == (1 if code else 0)
