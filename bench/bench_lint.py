"""``mailcheck lint`` on a 3,000-message newsletter (issue 17): messages per second.

Each message is what a list sends to one subscriber: multipart/alternative (text and HTML,
quoted-printable), about 20 KB, personalised To, Message-ID and one-click unsubscribe
token, dual-signed (RSA 2048 + Ed25519) by mailcheck's DkimSigner. Signing is set-up and
is not timed. Measured:

- ``lint_offline``: what the Sender runs per message at submission (no DNS);
- ``lint_message`` with the sending IP and a zone resolver (DMARC, DKIM verification of both
  signatures, reverse DNS, SPF through pyspf): what ``mailcheck lint --ip`` runs, DNS
  answered from memory.

    python bench/bench_lint.py [--messages 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import quopri
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mailcheck.dkim import DkimSigner
from mailcheck.dkim.keys import generate_key
from mailcheck.lint import lint_message, lint_offline
from mailcheck.lookup import ZoneResolver

PROFILES = ("baseline", "gmail-bulk", "yahoo-bulk", "microsoft-bulk")
ZONE = """$TTL 300
@ IN SOA ns.news.example. hostmaster.news.example. 1 3600 600 86400 60
@ IN NS ns.news.example.
@ IN TXT "v=spf1 ip4:192.0.2.25 -all"
_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@news.example"
mail IN A 192.0.2.25
"""
REVERSE = """$TTL 300
@ IN SOA ns.news.example. hostmaster.news.example. 1 3600 600 86400 60
@ IN NS ns.news.example.
@ IN PTR mail.news.example.
"""


def html_body() -> bytes:
    rows = "".join(
        f'<tr><td><a href="https://news.example/a/{i}?utm_source=letter&amp;u=%%U%%">'
        f"Article {i}: les actualités de l'association, réunion du mois</a></td></tr>\n"
        for i in range(120)
    )
    return f"<html><body><table>{rows}</table></body></html>".encode()


def newsletter(signer: DkimSigner, count: int) -> list[bytes]:
    html = quopri.encodestring(html_body())
    text = quopri.encodestring("Les actualités du mois, en texte.\n".encode() * 40)
    messages = []
    for n in range(count):
        head = (
            f"From: Association News <letter@news.example>\r\n"
            f"To: member{n}@example.net\r\n"
            f"Subject: =?utf-8?q?Les_actualit=C3=A9s_de_d=C3=A9cembre?=\r\n"
            f"Date: Sun, 06 Dec 2026 08:21:06 +0000\r\n"
            f"Message-ID: <202612.{n}@news.example>\r\n"
            f"List-Id: News <letter.news.example>\r\n"
            f"List-Unsubscribe: <https://news.example/u/{n:08x}>\r\n"
            f"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
            f"MIME-Version: 1.0\r\n"
            f'Content-Type: multipart/alternative; boundary="=_b"\r\n\r\n'
        ).encode()
        body = (
            b"--=_b\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + text + b"\r\n"
            b"--=_b\r\nContent-Type: text/html; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            + html.replace(b"%%U%%", str(n).encode())
            + b"\r\n--=_b--\r\n"
        )
        message = (head + body).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        messages.append(b"Return-Path: <bounce@news.example>\r\n" + signer.sign(message))
    return messages


def offline(messages: list[bytes]) -> tuple[float, list[float]]:
    per: list[float] = []
    start = time.perf_counter()
    for raw in messages:
        t = time.perf_counter()
        report = lint_offline(raw, profiles=PROFILES)
        per.append(time.perf_counter() - t)
        assert not report.rejected_by, report.findings
    return time.perf_counter() - start, per


async def online(messages: list[bytes], resolver: ZoneResolver) -> float:
    start = time.perf_counter()
    for raw in messages:
        report = await lint_message(raw, profiles=PROFILES, ip="192.0.2.25", resolver=resolver)
        assert not report.rejected_by, report.findings
    return time.perf_counter() - start


def _txt(text: str) -> str:
    # A TXT string holds at most 255 characters (RFC 1035 §3.3.14): split, each quoted.
    return " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()
    rsa, ed = generate_key("rsa"), generate_key("ed25519")
    signer = DkimSigner("news.example", "rsa1", rsa, keys=[("ed1", ed)])
    keys = "".join(
        f"{selector}._domainkey IN TXT {_txt(key.record())}\n"
        for selector, key in (("rsa1", rsa), ("ed1", ed))
    )
    messages = newsletter(signer, args.messages)
    size = statistics.mean(len(m) for m in messages)
    print(f"{len(messages)} messages, {size / 1024:.1f} KiB each on average", file=sys.stderr)
    total, per = offline(messages)
    per.sort()
    median, p99 = statistics.median(per) * 1e3, per[int(len(per) * 0.99)] * 1e3
    print(
        f"lint_offline:  {len(messages) / total:8.0f} messages/s  "
        f"(median {median:.3f} ms = {1000 / median:.0f}/s on one core, p99 {p99:.3f} ms)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        forward = Path(tmp) / "news.example.zone"
        reverse = Path(tmp) / "25.2.0.192.in-addr.arpa.zone"
        forward.write_text(ZONE + keys, encoding="utf-8")
        reverse.write_text(REVERSE, encoding="utf-8")
        resolver = ZoneResolver([forward, reverse])
        count = min(len(messages), 1000)
        elapsed = asyncio.run(online(messages[:count], resolver))
    print(
        f"lint_message:  {count / elapsed:8.0f} messages/s  "
        f"(with --ip: DMARC, 2 DKIM verifications, FCrDNS, SPF; zone resolver; {count} messages)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
