"""The deployment secret file: bytes less one line break, private, long enough."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailcheck.errors import ConfigError
from mailcheck.hygiene.secret import read_secret


def _file(tmp_path: Path, data: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "secret"
    path.write_bytes(data)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("data", "secret"),
    [
        (b"0123456789abcdef0123456789abcdef\n", b"0123456789abcdef0123456789abcdef"),
        (b"0123456789abcdef\r\n", b"0123456789abcdef"),
        (b"\x00\xff" * 16, b"\x00\xff" * 16),  # head -c 32 /dev/urandom: kept as is
        (b"0123456789abcdef\n\n", b"0123456789abcdef\n"),  # only one line break removed
    ],
)
def test_read(tmp_path: Path, data: bytes, secret: bytes) -> None:
    assert read_secret(_file(tmp_path, data)) == secret


@pytest.mark.parametrize(
    ("data", "mode", "needle"),
    [
        (b"0123456789abcdef", 0o640, "chmod 600"),
        (b"0123456789abcdef", 0o604, "chmod 600"),
        (b"short\n", 0o600, "under 16 bytes"),
        (b"x" * 5000, 0o600, "over 4096 bytes"),
    ],
    ids=["group-readable", "world-readable", "short", "long"],  # ids, not the secret, in paths
)
def test_refused(tmp_path: Path, data: bytes, mode: int, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle) as caught:
        read_secret(_file(tmp_path, data, mode))
    assert data.decode() not in str(caught.value)


def test_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read secret file"):
        read_secret(tmp_path / "nowhere")
