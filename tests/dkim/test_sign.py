"""DKIM signing: dkimpy-identical output, RFC vectors, over-signing, refusals, KeyStore."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import time
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from dkim.canonicalization import Simple
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck.dkim.canon import relaxed_body, relaxed_headers
from mailcheck.dkim.keys import generate_key, load_key_bytes
from mailcheck.dkim.keystore import KeyStore
from mailcheck.dkim.sign import DkimSigner
from mailcheck.errors import ConfigError, SigningError
from tests.dkim.dkimsign_helpers import DATA, DOMAIN, ED_KEY, MESSAGE, RSA_KEY, dkimpy_dnsfunc
from tests.dnsserver import DnsTestServer

SIGNER = DkimSigner(DOMAIN, "rsa", RSA_KEY, keys=[("ed", ED_KEY)])


def _tags(signature: bytes) -> dict[bytes, bytes]:
    value = signature.split(b":", 1)[1].replace(b"\r\n", b"")
    return dkim.util.parse_tag_value(value)


def _h(signature: bytes) -> list[bytes]:
    return [x.strip() for x in _tags(signature)[b"h"].split(b":")]


def _ed_seed() -> bytes:
    private = serialization.load_pem_private_key(ED_KEY.private_pem(), None)
    raw = private.private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw)


def test_output_is_byte_identical_to_dkimpy() -> None:
    for _ in range(3):
        now = int(time.time())
        ours = SIGNER.signatures(MESSAGE, timestamp=now)
        include = _h(ours[0])
        theirs_rsa = dkim.sign(
            MESSAGE, b"rsa", DOMAIN.encode(), RSA_KEY.private_pem(),
            canonicalize=(b"relaxed", b"relaxed"), include_headers=include,
        )  # fmt: skip
        theirs_ed = dkim.sign(
            MESSAGE, b"ed", DOMAIN.encode(), _ed_seed(), signature_algorithm=b"ed25519-sha256",
            canonicalize=(b"relaxed", b"relaxed"), include_headers=include,
        )  # fmt: skip
        if int(time.time()) == now:  # dkimpy takes t= from the clock
            assert ours == (theirs_rsa, theirs_ed)
            return
    pytest.fail("the clock moved three times")


def test_rfc8463_ed25519_vector() -> None:
    key = load_key_bytes(b"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
    signer = DkimSigner(
        "football.example.com", "brisbane", key,
        headers=["from", "to", "subject", "date", "message-id"],
        oversign=["from", "subject", "date"],
    )  # fmt: skip
    ours = signer.signatures((DATA / "rfc8463-unsigned.eml").read_bytes(), timestamp=1528637909)
    expected = _tags((DATA / "rfc8463-ed25519.sig").read_bytes())
    got = _tags(ours[0])
    for tag in (b"a", b"c", b"d", b"i", b"s", b"t", b"bh", b"b"):
        assert got[tag].replace(b" ", b"") == expected[tag].replace(b" ", b""), tag
    assert _h(ours[0]) == [x.strip() for x in expected[b"h"].split(b":")]


def test_rfc6376_canonicalization_example() -> None:
    vector = json.loads((DATA / "rfc6376-canonicalization.json").read_text())
    message = vector["message"].encode()
    _, body = message.split(b"\r\n\r\n", 1)
    headers = [(b"A", b" X\r\n"), (b"B ", b" Y\t\r\n\tZ  \r\n")]
    assert b"".join(n + b":" + v for n, v in relaxed_headers(headers)) == (
        vector["relaxed_headers"].encode()
    )
    assert relaxed_body(body) == vector["relaxed_body"].encode()
    assert Simple.canonicalize_body(body) == vector["simple_body"].encode()
    # Through the signer: "B :" is obsolete syntax it refuses; with "B:" the body hashes match.
    signed = b"From: a@dkimsign.test\r\n" + message
    with pytest.raises(SigningError):
        SIGNER.signatures(signed)
    signed = signed.replace(b"B : Y", b"B: Y")
    expected = base64.b64encode(hashlib.sha256(vector["relaxed_body"].encode()).digest())
    assert _tags(SIGNER.signatures(signed)[0])[b"bh"] == expected
    simple = DkimSigner(DOMAIN, "rsa", RSA_KEY, canonicalization="relaxed/simple")
    expected = base64.b64encode(hashlib.sha256(vector["simple_body"].encode()).digest())
    assert _tags(simple.signatures(signed)[0])[b"bh"] == expected


def test_header_list_oversigns_and_covers_list_unsubscribe() -> None:
    sig = SIGNER.signatures(MESSAGE)[0]
    h = _h(sig)
    for name in (b"from", b"to", b"subject", b"date", b"message-id", b"list-unsubscribe",
                 b"list-unsubscribe-post", b"mime-version", b"content-type"):  # fmt: skip
        assert h.count(name) == 2, name
    assert b"received" not in h
    tags = _tags(sig)
    assert b"l" not in tags
    assert tags[b"a"] == b"rsa-sha256"
    assert tags[b"c"] == b"relaxed/relaxed"
    assert _tags(SIGNER.signatures(MESSAGE)[1])[b"a"] == b"ed25519-sha256"


@pytest.mark.parametrize("idx", [0, 1])
def test_dkimpy_verifies_our_signatures(dns_server: DnsTestServer, idx: int) -> None:
    signed = SIGNER.sign(MESSAGE)
    assert (
        dkim.verify(signed, dnsfunc=dkimpy_dnsfunc(dns_server.address))
        if idx == 0
        else (dkim.DKIM(signed).verify(idx=1, dnsfunc=dkimpy_dnsfunc(dns_server.address)))
    )


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m.replace(b"noon", b"dawn"),
        lambda m: m.replace(b"Subject: The plan", b"Subject: The plan!"),
        lambda m: b"From: Mallory <m@dkimsign.test>\r\n" + m,
        lambda m: m.replace(b"\r\n\r\n", b"\r\nSubject: Pay now\r\n\r\n", 1),
        lambda m: m.replace(
            b"\r\n\r\n", b"\r\nList-Unsubscribe: <https://evil.example/>\r\n\r\n", 1
        ),
    ],
    ids=["body", "subject", "second-from-on-top", "second-subject", "second-list-unsubscribe"],
)
def test_tampering_fails(dns_server: DnsTestServer, tamper: object) -> None:
    signed = SIGNER.sign(MESSAGE)
    bad = tamper(signed)  # type: ignore[operator]
    dnsfunc = dkimpy_dnsfunc(dns_server.address)
    for idx in (0, 1):
        try:
            ok = dkim.DKIM(bad).verify(idx=idx, dnsfunc=dnsfunc)
        except dkim.ValidationError:
            ok = False
        assert not ok


def test_bare_lf_becomes_crlf_and_8bit_body_kept(dns_server: DnsTestServer) -> None:
    lf = MESSAGE.replace(b"\r\n", b"\n")
    signed = SIGNER.sign(lf)
    assert b"\n" not in signed.replace(b"\r\n", b"")
    assert signed.endswith(b"Caf\xc3\xa9 at  noon.\r\n\r\n")
    assert dkim.verify(signed, dnsfunc=dkimpy_dnsfunc(dns_server.address))


@pytest.mark.parametrize(
    "message",
    [
        b"To: b@example.net\r\n\r\nno from\r\n",
        b"From: a@dkimsign.test\r\nFrom: b@dkimsign.test\r\n\r\nx\r\n",
        b"From: a@dkimsign.test, b@dkimsign.test\r\n\r\nx\r\n",
        b"From: a@other.example\r\n\r\nx\r\n",
        b"From: a@notdkimsign.test\r\n\r\nx\r\n",
        b"From: nobody\r\n\r\nx\r\n",
        b"From a@dkimsign.test Sun Nov 22 10:00:00 2026\r\nFrom: a@dkimsign.test\r\n\r\nx\r\n",
        b" folded: first\r\nFrom: a@dkimsign.test\r\n\r\nx\r\n",
        b"From: a@dkimsign.test\r\nBad Header: x\r\n\r\nx\r\n",
        b"From: a@dkimsign.test\r\nX-Nul: a\x00b\r\n\r\nx\r\n",
        b"From: a@dkimsign.test\r\nX-Cr: a\rb\r\n\r\nx\r\n",
        b"From: a@dkimsign.test\r\nX-Long: " + b"a" * 1000 + b"\r\n\r\nx\r\n",
        b"\r\nFrom: a@dkimsign.test\r\n",
        b"",
    ],
)
def test_refusals(message: bytes) -> None:
    with pytest.raises(SigningError):
        SIGNER.sign(message)


def test_subdomain_and_third_party() -> None:
    assert SIGNER.sign(b"From: a@news.dkimsign.test\r\n\r\nx\r\n").startswith(b"DKIM-Signature:")
    third = DkimSigner(DOMAIN, "rsa", RSA_KEY, third_party=True)
    assert third.sign(b"From: a@other.example\r\n\r\nx\r\n").startswith(b"DKIM-Signature:")


def test_signer_construction_errors() -> None:
    with pytest.raises(SigningError):
        DkimSigner(DOMAIN)
    with pytest.raises(SigningError):
        DkimSigner(DOMAIN, "a", RSA_KEY, keys=[("a", ED_KEY)])
    with pytest.raises(SigningError):
        DkimSigner("not a domain", "a", RSA_KEY)
    with pytest.raises(SigningError):
        DkimSigner(DOMAIN, "a", RSA_KEY, headers=["subject"])
    with pytest.raises(SigningError):
        DkimSigner(DOMAIN, "a", RSA_KEY, canonicalization="loose/loose")
    assert "MII" not in repr(SIGNER)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_hostile_bytes_only_signing_error(data: bytes) -> None:
    with contextlib.suppress(SigningError):
        SIGNER.sign(data)


_header_lines = st.lists(
    st.one_of(
        st.just(b"From: a@dkimsign.test"),
        st.binary(max_size=60).map(lambda b: b"X-H: " + b),
        st.binary(max_size=40),
        st.sampled_from([b" cont", b"\tcont", b"From: x@y.example", b"Subject: s", b"From: <>"]),
    ),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(_header_lines, st.binary(max_size=100), st.sampled_from([b"\r\n", b"\n"]))
def test_hostile_messages_only_signing_error(lines: list[bytes], body: bytes, eol: bytes) -> None:
    message = eol.join(lines) + eol + eol + body
    try:
        signed = SIGNER.sign(message)
    except SigningError:
        return
    assert signed.startswith(b"DKIM-Signature: ")


def test_keystore_from_directory(tmp_path: Path) -> None:
    RSA_KEY.save(tmp_path / "dkimsign.test.rsa.pem")
    ED_KEY.save(tmp_path / "dkimsign.test.ed.key")
    other = generate_key("ed25519")
    other.save(tmp_path / "other.example.202611.pem")
    (tmp_path / "README").write_text("not a key")
    store = KeyStore.from_directory(tmp_path)
    assert sorted(store) == ["dkimsign.test", "other.example"]
    assert store["dkimsign.test"].selectors == ("rsa", "ed")
    assert store.signer_for("news.dkimsign.test") is store["dkimsign.test"]
    assert store.signer_for("example.net") is None
    signed = store.sign(b"From: a@news.other.example\r\n\r\nx\r\n")
    assert _tags(signed.split(b"\r\n\r\n")[0] + b"\r\n")[b"d"] == b"other.example"
    with pytest.raises(SigningError):
        store.sign(b"From: a@example.net\r\n\r\nx\r\n")


def test_keystore_errors(tmp_path: Path) -> None:
    RSA_KEY.save(tmp_path / "dkimsign.test.a.pem")
    generate_key("rsa", bits=1024, force=True).save(tmp_path / "dkimsign.test.b.pem")
    with pytest.raises(ConfigError):
        KeyStore.from_directory(tmp_path)
    with pytest.raises(ConfigError):
        KeyStore.from_directory(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.mkdir()
    RSA_KEY.save(bad / "nodot.pem")
    with pytest.raises(ConfigError):
        KeyStore.from_directory(bad)
    with pytest.raises(ConfigError):
        KeyStore({"other.example": SIGNER})
    assert KeyStore({"DKIMSIGN.test": SIGNER})["dkimsign.test"] is SIGNER


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"\r\n")))
def test_relaxed_body_equals_dkimpy(body: bytes) -> None:
    from dkim.canonicalization import Relaxed

    from mailcheck.dkim.canon import relaxed_body

    assert relaxed_body(body) == Relaxed.canonicalize_body(body)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([b"a", b"b", b"c", b"A"]), st.binary(max_size=3))),
    st.lists(st.sampled_from([b"a", b"b", b"c", b"d"]), max_size=8),
)
def test_select_headers_equals_dkimpy(
    headers: list[tuple[bytes, bytes]], include: list[bytes]
) -> None:
    from mailcheck.dkim.canon import select_headers

    assert select_headers(headers, include) == dkim.select_headers(headers, include)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"From", b"subject", b"X-A"]),
            st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"\r\n") + b"\r\n"),
        ),
        max_size=5,
    )
)
def test_relaxed_headers_equal_dkimpy(headers: list[tuple[bytes, bytes]]) -> None:
    from dkim.canonicalization import Relaxed

    from mailcheck.dkim.canon import relaxed_headers

    assert relaxed_headers(headers) == Relaxed.canonicalize_headers(headers)


def test_cli_sign_dual(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], dns_server: DnsTestServer
) -> None:
    import argparse

    from mailcheck.cli import dkim as dkim_cli

    message = tmp_path / "m.eml"
    message.write_bytes(MESSAGE)
    parser = argparse.ArgumentParser()
    dkim_cli.register(parser.add_subparsers())
    args = parser.parse_args(
        ["dkim", "sign", "--domain", DOMAIN,
         "--selector", "rsa", "--key", str(DATA / "dkimsign.test.rsa.pem"),
         "--selector", "ed", "--key", str(DATA / "dkimsign.test.ed.pem"), str(message)]
    )  # fmt: skip
    assert args.run(args) == 0
    signed = capsysbinary.readouterr().out
    assert signed.count(b"DKIM-Signature:") == 2
    dnsfunc = dkimpy_dnsfunc(dns_server.address)
    assert all(dkim.DKIM(signed).verify(idx=i, dnsfunc=dnsfunc) for i in (0, 1))
    args = parser.parse_args(
        ["dkim", "sign", "--domain", DOMAIN, "--selector", "rsa", "--selector", "ed",
         "--key", str(DATA / "dkimsign.test.rsa.pem"), str(message)]
    )  # fmt: skip
    with pytest.raises(ConfigError):
        args.run(args)
