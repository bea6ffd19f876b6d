"""The DKIM key record parser: RFC vectors, faults with positions, fuzzing."""

from __future__ import annotations

import base64
import contextlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.dkim.record import parse_dkim_key
from mailcheck.errors import ParseError

# RFC 8463 §A.2: the Ed25519 public key of the example (brisbane._domainkey.football.example.com).
RFC8463_ED25519 = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


def _rsa_spki(bits: int) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def rsa1024() -> bytes:
    return _rsa_spki(1024)


def test_rfc8463_ed25519_key() -> None:
    record = parse_dkim_key(RFC8463_ED25519)
    assert (record.key_type, record.key_bits, record.key_error) == ("ed25519", 256, None)
    assert record.version == "DKIM1"
    assert not record.revoked


def test_rsa_key_bits_spki_and_pkcs1(rsa1024: bytes) -> None:
    spki = base64.b64encode(rsa1024).decode()
    assert parse_dkim_key(f"k=rsa; p={spki}").key_bits == 1024
    # Some publish the bare PKCS#1 RSAPublicKey: still a 1024-bit key.
    public = serialization.load_der_public_key(rsa1024)
    pkcs1 = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    assert parse_dkim_key("p=" + base64.b64encode(pkcs1).decode()).key_bits == 1024


def test_folding_white_space_inside_the_key(rsa1024: bytes) -> None:
    spki = base64.b64encode(rsa1024).decode()
    folded = " ".join(spki[i : i + 40] for i in range(0, len(spki), 40))
    record = parse_dkim_key(f"v=DKIM1;\r\n\tk=rsa; p={folded}")
    assert record.public_key == spki
    assert record.key_bits == 1024


def test_tags_flags_and_lists() -> None:
    record = parse_dkim_key(
        "v=DKIM1; h=sha1:sha256; s=email; t=y:s; n=rotated 2026; x_future=1; p="
    )
    assert record.hash_algorithms == ("sha1", "sha256")
    assert record.service_types == ("email",)
    assert record.testing
    assert record.strict
    assert record.revoked
    assert record.notes == "rotated 2026"
    assert ("x_future", "1") in record.tags  # unknown tags are kept, and ignored
    assert record.tags[-1] == ("p", "")


def test_unusable_keys_parse_with_key_error() -> None:
    junk = base64.b64encode(b"not a key at all").decode()
    assert parse_dkim_key(f"p={junk}").key_error is not None
    assert parse_dkim_key(f"k=ed25519; p={junk}").key_error is not None
    assert parse_dkim_key(f"k=dsa; p={junk}").key_error == "unknown key type k=dsa"


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("p=abc", 2),
        ("k=rsa", 5),
        ("x", 0),
        ("v=DKIM2; p=", 2),
        ("k=rsa; v=DKIM1; p=", 9),
        ("p=; p=", 3),
        ("1x=2; p=", 0),
    ],
)
def test_faults_have_positions(text: str, position: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_dkim_key(text)
    assert info.value.position == position


@given(st.text(max_size=300))
def test_fuzz_only_parse_errors(text: str) -> None:
    with contextlib.suppress(ParseError):
        parse_dkim_key(text)


@given(
    st.sampled_from(["rsa", "ed25519"]),
    st.lists(st.sampled_from(["y", "s"]), unique=True),
    st.binary(min_size=0, max_size=64),
)
def test_round_trip(key_type: str, flags: list[str], key: bytes) -> None:
    parts = [f"v=DKIM1; k={key_type}"]
    if flags:
        parts.append("t=" + ":".join(flags))
    parts.append("p=" + base64.b64encode(key).decode())
    record = parse_dkim_key("; ".join(parts))
    assert parse_dkim_key(record.to_text()) == record


def test_generated_ed25519() -> None:
    raw = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    record = parse_dkim_key("k=ed25519; p=" + base64.b64encode(raw).decode())
    assert record.public_key_bytes == raw
