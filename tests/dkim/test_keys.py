"""DKIM keys: generation limits, 0600 files, loading, repr safety, the DNS record."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import logging
import os
import pickle
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mailcheck import DnsResolver
from mailcheck.cli import dkim as dkim_cli
from mailcheck.dkim.keys import (
    TXT_STRING_MAX,
    DkimKey,
    KeyType,
    generate_key,
    load_key,
    load_key_bytes,
    split_txt,
)
from mailcheck.dkim.publish import check_published, plan_rotation, rotation_selector
from mailcheck.errors import KeyFileError
from tests.dkim.dkimsign_helpers import DOMAIN, ED_KEY, RSA_KEY
from tests.dnsserver import DnsTestServer

DATA = Path(__file__).parent / "data"
RFC8463_SEED = b"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
RFC8463_PUBLIC = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


@pytest.fixture(scope="module")
def rsa_key() -> DkimKey:
    return generate_key("rsa")


def test_rsa_default_is_2048(rsa_key: DkimKey) -> None:
    assert rsa_key.type is KeyType.RSA
    assert rsa_key.bits == 2048
    assert rsa_key.algorithm == "rsa-sha256"
    assert not rsa_key.weak


def test_ed25519() -> None:
    key = generate_key("ed25519")
    assert key.type is KeyType.ED25519
    assert key.algorithm == "ed25519-sha256"
    assert len(base64.b64decode(key.public_key_b64)) == 32


@pytest.mark.parametrize("bits", [512, 768, 1023])
def test_under_1024_never(bits: int) -> None:
    with pytest.raises(KeyFileError):
        generate_key("rsa", bits=bits, force=True)


def test_under_2048_refused_unless_forced() -> None:
    with pytest.raises(KeyFileError):
        generate_key("rsa", bits=1024)
    key = generate_key("rsa", bits=1024, force=True)
    assert key.bits == 1024
    assert key.weak


@pytest.mark.parametrize("bits", [2047, 2500, 8192])
def test_odd_sizes_refused(bits: int) -> None:
    with pytest.raises(KeyFileError):
        generate_key("rsa", bits=bits)


def test_unknown_type() -> None:
    with pytest.raises(KeyFileError):
        generate_key("dsa")


def test_save_is_0600_and_round_trips(tmp_path: Path, rsa_key: DkimKey) -> None:
    old = os.umask(0)  # the mode must not depend on a permissive umask
    try:
        path = rsa_key.save(tmp_path / "example.org.202611.pem")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(path) == rsa_key
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left


def test_save_refuses_to_overwrite(tmp_path: Path, rsa_key: DkimKey) -> None:
    path = tmp_path / "k.pem"
    rsa_key.save(path)
    other = generate_key("ed25519")
    with pytest.raises(KeyFileError):
        other.save(path)
    assert load_key(path) == rsa_key
    other.save(path, overwrite=True)
    assert load_key(path) == other
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_load_der_and_pkcs1(tmp_path: Path, rsa_key: DkimKey) -> None:
    private = serialization.load_pem_private_key(rsa_key.private_pem(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pkcs1 = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert load_key_bytes(der) == rsa_key
    assert load_key_bytes(pkcs1) == rsa_key


def test_load_dkimpy_raw_ed25519_seed() -> None:
    key = load_key_bytes(RFC8463_SEED + b"\n")
    assert key.public_key_b64 == RFC8463_PUBLIC


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", b"\x30\x03"],
)
def test_garbage_is_a_key_file_error(data: bytes) -> None:
    with pytest.raises(KeyFileError):
        load_key_bytes(data)


def test_ec_key_refused() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(KeyFileError):
        load_key_bytes(pem)


def test_encrypted_key_refused(rsa_key: DkimKey) -> None:
    private = serialization.load_pem_private_key(rsa_key.private_pem(), None)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    with pytest.raises(KeyFileError):
        load_key_bytes(pem)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError):
        load_key(tmp_path / "nope.pem")


def test_no_key_material_in_repr_errors_or_logs(
    rsa_key: DkimKey, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pem = rsa_key.private_pem()
    body = b"".join(pem.splitlines()[1:-1]).decode()
    assert body[:40] not in repr(rsa_key)
    assert "PRIVATE" not in repr(rsa_key)
    broken = pem[:200] + b"XX" + pem[202:]
    with pytest.raises(KeyFileError) as info:
        load_key_bytes(broken)
    text = str(info.value) + repr(info.value.__cause__) + repr(info.value.__context__)
    for chunk in (body[:20], body[100:120], body[200:220]):
        assert chunk not in text
        assert chunk not in caplog.text
    with pytest.raises(TypeError):
        pickle.dumps(rsa_key)


def test_record_rsa(rsa_key: DkimKey) -> None:
    record = rsa_key.dns_record("202611", "Example.ORG")
    assert record.name == "202611._domainkey.example.org"
    assert record.value == f"v=DKIM1; k=rsa; h=sha256; t=s; p={rsa_key.public_key_b64}"
    assert all(len(s.encode()) <= TXT_STRING_MAX for s in record.strings)
    assert len(record.strings) >= 2  # a 2048-bit key does not fit one string
    assert "".join(record.strings) == record.value
    line = record.zone_line()
    assert line.startswith('202611._domainkey.example.org. 3600 IN TXT ( "v=DKIM1;')
    assert line.count('"') == 2 * len(record.strings)


def test_record_ed25519_testing() -> None:
    key = load_key_bytes(RFC8463_SEED)
    assert key.record(testing=True, strict=False) == f"v=DKIM1; k=ed25519; t=y; p={RFC8463_PUBLIC}"
    assert key.record() == f"v=DKIM1; k=ed25519; t=s; p={RFC8463_PUBLIC}"
    assert key.dns_record("brisbane", "football.example.com").strings == (key.record(),)


def test_split_txt_never_cuts_utf8() -> None:
    value = "é" * 300
    parts = split_txt(value)
    assert "".join(parts) == value
    assert all(len(p.encode()) <= TXT_STRING_MAX for p in parts)
    assert split_txt("") == ("",)


def test_sign_digest_rsa_verifies(rsa_key: DkimKey) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    private = serialization.load_pem_private_key(rsa_key.private_pem(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    import hashlib

    digest = hashlib.sha256(b"x").digest()
    private.public_key().verify(
        rsa_key.sign_digest(digest), b"x", padding.PKCS1v15(), hashes.SHA256()
    )


# --- check_published and rotation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "key", "status", "codes"),
    [
        ("rsa", "rsa", "pass", []),
        ("ed", "ed", "pass", []),
        ("mismatch", "rsa", "fail", ["dkim.key-mismatch"]),
        ("rsa", "ed", "fail", ["dkim.key-mismatch"]),
        ("revoked", "rsa", "fail", ["dkim.key-revoked"]),
        ("testing", "rsa", "warn", ["dkim.key-testing"]),
        ("absent", "rsa", "fail", ["dkim.not-published"]),
        ("nokey", "rsa", "fail", ["dkim.not-published"]),
        ("garbage", "rsa", "fail", ["dkim.key-invalid"]),
        ("sha1only", "rsa", "fail", ["dkim.sha1-only"]),
    ],
)
async def test_check_published(
    resolver: DnsResolver, selector: str, key: str, status: str, codes: list[str]
) -> None:
    dkim_key = RSA_KEY if key == "rsa" else ED_KEY
    result = await check_published(DOMAIN, selector, dkim_key, resolver=resolver)
    assert result.status == status
    assert [f.code for f in result.findings] == codes
    assert result.name == f"{selector}._domainkey.{DOMAIN}"
    if codes and codes[0] != "dkim.key-testing":
        assert result.findings[0].fix == dkim_key.dns_record(selector, DOMAIN).zone_line()
    if status == "pass":
        assert result.matches is True
    assert "PRIVATE" not in repr(result)


async def test_check_published_temperror(dns_server: DnsTestServer) -> None:
    dns_server.behave("rsa._domainkey.dkimsign.test", servfail=True)
    resolver = DnsResolver([dns_server.address], timeout=0.5)
    result = await check_published(DOMAIN, "rsa", RSA_KEY, resolver=resolver)
    assert result.status == "unknown"
    assert [f.code for f in result.findings] == ["dkim.temperror"]
    assert result.matches is None


def test_rotation_selector() -> None:
    assert rotation_selector(dt.date(2026, 11, 22)) == "202611"
    assert rotation_selector(dt.date(2026, 11, 22), taken=["202611"]) == "202611b"
    assert rotation_selector(dt.date(2026, 1, 2), prefix="mc") == "mc202601"


def test_plan_rotation() -> None:
    now = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
    plan = plan_rotation("Example.org", ED_KEY, old_selector="202605", now=now, ttl=600)
    assert plan.new_selector == "202611"
    assert plan.new_record == ED_KEY.dns_record("202611", "example.org", ttl=600)
    assert plan.switch_after == now + dt.timedelta(seconds=600)
    assert plan.revoke_after == plan.switch_after + dt.timedelta(days=7)
    assert plan.revoke_record is not None
    assert plan.revoke_record.name == "202605._domainkey.example.org"
    assert plan.revoke_record.value.endswith("p=")
    again = plan_rotation("example.org", ED_KEY, old_selector="202611", now=now)
    assert again.new_selector == "202611b"
    first = plan_rotation("example.org", RSA_KEY, now=now)
    assert first.revoke_record is None
    assert first.revoke_after is None


# --- mailcheck dkim -----------------------------------------------------------------------------


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    dkim_cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


def test_cli_keygen_and_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["dkim", "keygen", "--domain", "example.org", "--selector", "202611"]
    assert _cli([*argv, "--type", "ed25519", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    path = tmp_path / "example.org.202611.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = load_key(path)
    assert key.dns_record("202611", "example.org").zone_line() in out
    assert "PRIVATE" not in out
    argv = ["dkim", "record", str(path), "--selector", "202611", "--domain", "example.org"]
    assert _cli([*argv, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["value"] == key.record()
    assert data["name"] == "202611._domainkey.example.org"
    with pytest.raises(KeyFileError):
        _cli(["dkim", "keygen", "--domain", "example.org", "--selector", "x", "--bits", "1024"])


def test_cli_check(dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["dkim", "check", "--domain", DOMAIN, "--key", str(DATA / "dkimsign.test.rsa.pem")]
    dns = ["--nameserver", dns_server.address, "--timeout", "1"]
    assert _cli([*base, "--selector", "rsa", *dns]) == 0
    assert _cli([*base, "--selector", "mismatch", *dns, "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :])["findings"][0]["code"] == "dkim.key-mismatch"
