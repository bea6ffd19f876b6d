"""Shared bits of the DKIM signing/verification tests: the test keys and a dkimpy DNS hook."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dns.resolver

from mailcheck.dkim.keys import DkimKey, load_key

DATA = Path(__file__).parent / "data"
DOMAIN = "dkimsign.test"
RSA_KEY: DkimKey = load_key(DATA / "dkimsign.test.rsa.pem")
ED_KEY: DkimKey = load_key(DATA / "dkimsign.test.ed.pem")

MESSAGE = (
    b"From: Alice <alice@dkimsign.test>\r\n"
    b"To: Bob <bob@example.net>\r\n"
    b"Subject: The plan\r\n"
    b"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <plan-1@dkimsign.test>\r\n"
    b"List-Unsubscribe: <https://dkimsign.test/u/1>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    b"Received: from somewhere\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Caf\xc3\xa9 at  noon.\r\n"
    b"\r\n"
)


def dkimpy_dnsfunc(address: str) -> Callable[..., bytes | None]:
    """A dkimpy ``dnsfunc`` asking the DNS test server (dnspython, no cache)."""
    host, port = address.rsplit(":", 1)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = int(port)

    def get_txt(name: bytes | str, timeout: float = 5) -> bytes | None:
        text = name.decode() if isinstance(name, bytes) else name
        try:
            answer = resolver.resolve(text, "TXT", lifetime=timeout)
        except dns.exception.DNSException:
            return None
        return b"".join(answer[0].strings)

    return get_txt
