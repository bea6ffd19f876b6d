"""Messages for the lint tests: a newsletter that meets every rule, and ways to break it."""

from __future__ import annotations

import functools
from pathlib import Path

from mailcheck.dkim import DkimSigner
from mailcheck.dkim.keys import DkimKey, load_key

KEY = Path(__file__).parent / "data" / "s2026.ed25519.pem"

UNSUBSCRIBE = (
    b"List-Unsubscribe: <https://bulklint.test/u/tok3n>,\r\n <mailto:u+tok3n@bulklint.test>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
)
HEADERS = (
    b"From: Bulk Lint News <news@bulklint.test>\r\n"
    b"To: reader@example.net\r\n"
    b"Subject: The December letter\r\n"
    b"Date: Sun, 06 Dec 2026 08:21:06 +0000\r\n"
    b"Message-ID: <20261206.1@bulklint.test>\r\n"
    b"List-Id: News <news.bulklint.test>\r\n"
)
MIME = (
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="=_b1"\r\n'
    b"\r\n"
    b"--=_b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"H=C3=A9llo, here is the news.\r\n"
    b"--=_b1\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"<p>H\xc3\xa9llo, here is the news.</p>\r\n"
    b"--=_b1--\r\n"
)
RETURN_PATH = b"Return-Path: <bounce+x@bulklint.test>\r\n"


@functools.cache
def key() -> DkimKey:
    """The Ed25519 key published as s2026._domainkey in tests/zones/bulklint.test.zone."""
    return load_key(KEY)


def sign(
    message: bytes,
    *,
    domain: str = "bulklint.test",
    headers: tuple[str, ...] = (),
    selector: str = "s2026",
) -> bytes:
    """``message`` signed by mailcheck's DkimSigner (``headers``: h= instead of the default)."""
    options = {"headers": headers} if headers else {}
    signer = DkimSigner(domain, selector, key(), third_party=True, **options)  # type: ignore[arg-type]
    return signer.sign(message, timestamp=1796544000)


def newsletter(*, unsubscribe: bool = True, signed: bool = True, return_path: bool = True) -> bytes:
    """A newsletter that every profile accepts (given 198.51.100.17 as the sending IP)."""
    message = HEADERS + (UNSUBSCRIBE if unsubscribe else b"") + MIME
    if signed:
        message = sign(message)
    return (RETURN_PATH if return_path else b"") + message


def replace_header(message: bytes, name: bytes, line: bytes | None) -> bytes:
    """``message`` with the first ``name:`` line replaced by ``line`` (or removed)."""
    head, _, body = message.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    for i, current in enumerate(lines):
        if current.lower().startswith(name.lower() + b":"):
            lines[i : i + 1] = [] if line is None else [line]
            break
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
