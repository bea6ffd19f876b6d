"""DKIM keys: generation limits, 0600 files, loading, repr safety, the DNS record."""

from __future__ import annotations

import base64
import logging
import os
import pickle
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mailcheck.dkim.keys import (
    TXT_STRING_MAX,
    DkimKey,
    KeyType,
    generate_key,
    load_key,
    load_key_bytes,
    split_txt,
)
from mailcheck.errors import KeyFileError

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
