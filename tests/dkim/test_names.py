"""DKIM selectors and domains: one syntax everywhere; key files stay inside --out."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck.cli.main import main
from mailcheck.dkim.keys import load_key
from mailcheck.dkim.keystore import KeyStore
from mailcheck.dkim.names import (
    key_file_path,
    normalize_selector,
    normalize_signing_domain,
    record_name,
)
from mailcheck.dkim.publish import plan_rotation, rotation_selector
from mailcheck.dkim.sign import DkimSigner
from mailcheck.errors import ConfigError, KeyFileError, ParseError, SigningError
from tests.dkim.dkimsign_helpers import ED_KEY, RSA_KEY

# The three selectors of issue 13, item 3.
ZONE_LINE_INJECTION = 's2._domainkey.example.org. 60 IN TXT "v=spf1 +all"\nevil'
PATH_ESCAPE = "x/../../escaped"
TAG_INJECTION = "a b; p="
HOSTILE = [ZONE_LINE_INJECTION, PATH_ESCAPE, TAG_INJECTION]


@pytest.mark.parametrize("selector", ["202611", "s1", "google", "mc-2026", "k_1", "a.b.c", "X9"])
def test_valid_selectors(selector: str) -> None:
    assert normalize_selector(selector) == selector
    assert record_name(selector, "Example.ORG.") == f"{selector.lower()}._domainkey.example.org"


@pytest.mark.parametrize(
    "selector",
    [*HOSTILE, "", ".", "a.", ".a", "a..b", "-a", "a-", "a b", "a\tb", "s\x00", "é", "a/b", "a\\b",
     "x" * 64, "a;b", 'a"b', "a\r\nb", "s1\n"],
)  # fmt: skip
def test_invalid_selectors(selector: str) -> None:
    with pytest.raises(ParseError) as info:
        normalize_selector(selector)
    assert "\n" not in str(info.value)
    assert 0 <= info.value.position <= len(selector)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_selector_syntax_fuzz(text: str) -> None:
    try:
        normalize_selector(text)
    except ParseError:
        return
    # What passes is safe in a zone line, a tag list and a file name.
    assert not set(text) & set(" \t\r\n\"';()/\\=\x00")
    assert text.isascii()
    assert ".." not in text


@pytest.mark.parametrize(
    "domain", ["exa mple.org", "example.org;", "a_b.example", "-a.example", "a..example", "x"]
)
def test_invalid_signing_domains(domain: str) -> None:
    with pytest.raises(ParseError):
        normalize_signing_domain(domain)


def test_signing_domain_idna() -> None:
    assert normalize_signing_domain("Bücher.example.") == "xn--bcher-kva.example"


def test_record_name_too_long() -> None:
    with pytest.raises(ParseError):
        record_name(".".join(["a" * 63] * 3), "b" * 60 + ".example")


@pytest.mark.parametrize("selector", HOSTILE)
def test_library_refuses_hostile_selectors(selector: str, tmp_path: Path) -> None:
    with pytest.raises(SigningError):
        DkimSigner("example.org", selector, RSA_KEY)
    with pytest.raises(ParseError):
        ED_KEY.dns_record(selector, "example.org")
    with pytest.raises(ParseError):
        plan_rotation("example.org", ED_KEY, old_selector=selector)
    with pytest.raises(ParseError):
        key_file_path(tmp_path, "example.org", selector, create_directory=True)
    assert list(tmp_path.iterdir()) == []


def test_key_file_path_refuses_a_symlink_out(tmp_path: Path) -> None:
    keys, outside = tmp_path / "keys", tmp_path / "outside"
    keys.mkdir()
    outside.mkdir()
    (keys / "example.org.s1.pem").symlink_to(outside / "stolen.pem")
    with pytest.raises(KeyFileError):
        key_file_path(keys, "example.org", "s1")
    assert key_file_path(keys, "example.org", "s2") == keys.resolve() / "example.org.s2.pem"


def test_key_directory_is_created_0700(tmp_path: Path) -> None:
    path = key_file_path(tmp_path / "a" / "keys", "example.org", "s1", create_directory=True)
    assert path.parent == (tmp_path / "a" / "keys").resolve()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    (tmp_path / "file").write_text("x")
    with pytest.raises(KeyFileError):
        key_file_path(tmp_path / "file", "example.org", "s1", create_directory=True)


def test_keystore_refuses_a_bad_selector_file_name(tmp_path: Path) -> None:
    ED_KEY.save(tmp_path / "example.org.a b.pem")
    with pytest.raises(ConfigError):
        KeyStore.from_directory(tmp_path)


# --- through the command line, in process -------------------------------------------------------


@pytest.mark.parametrize("selector", HOSTILE)
def test_cli_keygen_refuses_hostile_selectors(
    selector: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "keys"
    argv = ["dkim", "keygen", "--domain", "example.org", "--selector", selector]
    code = main([*argv, "--type", "ed25519", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""  # no zone line at all, let alone an extra one
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith("mailcheck: error: ")
    assert "Traceback" not in captured.err
    assert list(tmp_path.rglob("*")) == []  # no key file, no --out directory, nothing escaped


@pytest.mark.parametrize("domain", ["exa mple.org", "evil.example/../x", 'e.org" 60 IN TXT "x'])
def test_cli_keygen_refuses_hostile_domains(
    domain: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["dkim", "keygen", "--domain", domain, "--selector", "s1", "--out", str(tmp_path)]
    assert main([*argv, "--type", "ed25519"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("selector", HOSTILE)
def test_cli_record_and_sign_refuse_hostile_selectors(
    selector: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "k.pem"
    ED_KEY.save(key_file)
    argv = ["dkim", "record", str(key_file), "--selector", selector, "--domain", "example.org"]
    assert main(argv) == 2
    message = tmp_path / "m.eml"
    message.write_bytes(b"From: a@example.org\r\n\r\nhi\r\n")
    argv = ["dkim", "sign", "--domain", "example.org", "--selector", selector]
    assert main([*argv, "--key", str(key_file), str(message)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 2


def test_cli_keygen_creates_out_and_shows_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "keys"
    argv = ["dkim", "keygen", "--domain", "example.org", "--selector", "202611", "--out", str(out)]
    assert main([*argv, "--type", "ed25519", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    path = out / "example.org.202611.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = load_key(path)
    assert data["key_file"] == str(path.resolve())
    assert data["key"] == {
        "type": "ed25519",
        "bits": 256,
        "algorithm": "ed25519-sha256",
        "fingerprint": key.fingerprint,
    }
    assert data["zone_line"] == key.dns_record("202611", "example.org").zone_line()
    assert "DkimKey(" not in json.dumps(data)
    # Text: one field a line, no repr; the existing directory keeps its mode.
    os.chmod(out, 0o750)
    argv[5] = "202612"
    assert main([*argv, "--type", "rsa"]) == 0
    text = capsys.readouterr().out
    assert "DkimKey(" not in text
    assert "# key_type: rsa\n" in text
    assert "# key_bits: 2048\n" in text
    assert "# key_fingerprint: sha256:" in text
    assert "PRIVATE" not in text
    assert stat.S_IMODE(out.stat().st_mode) == 0o750


def test_cli_record_shows_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "k.pem"
    ED_KEY.save(key_file)
    argv = ["dkim", "record", str(key_file), "--selector", "s1", "--domain", "example.org"]
    assert main([*argv, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["key"]["fingerprint"] == ED_KEY.fingerprint
    assert "key_file" not in data
    assert main(argv) == 0
    assert f"# key_fingerprint: {ED_KEY.fingerprint}\n" in capsys.readouterr().out


@pytest.mark.parametrize("ttl", ["-5", "2147483648", "1e3", "nan"])
def test_cli_keygen_refuses_a_bad_ttl(
    ttl: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["dkim", "keygen", "--domain", "example.org", "--selector", "s1", "--ttl", ttl]
    with pytest.raises(SystemExit) as info:
        main([*argv, "--out", str(tmp_path / "keys")])
    assert info.value.code == 2
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert not (tmp_path / "keys").exists()


@pytest.mark.parametrize("name", ["x;s=evil", "x=y", "a:b", "a b", "é", ""])
def test_signer_refuses_header_names_that_break_the_tag_list(name: str) -> None:
    with pytest.raises(SigningError):
        DkimSigner("example.org", "s1", RSA_KEY, headers=["from", name])
    with pytest.raises(SigningError):
        DkimSigner("example.org", "s1", RSA_KEY, oversign=[name])


def test_key_files_need_a_one_label_selector(tmp_path: Path) -> None:
    # DOMAIN.SELECTOR.pem is split at the last dot by KeyStore: a.b would read as domain.a + b.
    with pytest.raises(ParseError):
        key_file_path(tmp_path, "example.org", "a.b")
    assert main(["dkim", "keygen", "--domain", "example.org", "--selector", "a.b",
                 "--type", "ed25519", "--out", str(tmp_path)]) == 2  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_rotation_selector_prefix_is_checked() -> None:
    assert rotation_selector(prefix="mc-").startswith("mc-")
    with pytest.raises(ParseError):
        rotation_selector(prefix="a b")
