"""Hostile messages: the lint never raises, it reports (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailcheck.lint import LintReport, lint_offline
from tests.lint.messages import newsletter

PROFILES = ("baseline", "gmail-bulk", "yahoo-bulk", "microsoft-bulk")
PIECES = [
    b"From: ", b"To: ", b"Date: ", b"Message-ID: ", b"DKIM-Signature: ", b"v=1; d=",
    b"h=from:list-unsubscribe", b"List-Unsubscribe: <https://x/>", b"List-Unsubscribe-Post: ",
    b"List-Unsubscribe=One-Click", b"Content-Type: multipart/mixed; boundary=", b'"b"', b"--b",
    b"--b--", b"Content-Transfer-Encoding: ", b"base64", b"8bit", b"MIME-Version: 1.0",
    b"Return-Path: <", b">", b"@", b"\"", b"(", b")", b"<", b",", b";", b":", b"\r\n", b"\n",
    b"\r", b"\r\n\r\n", b" ", b"\t", b"\x00", b"\xff", b"\xc3\xa9", b"=?utf-8?q?x?=", b"a" * 1000,
]  # fmt: skip


def check(raw: bytes, mail_from: str | None = None) -> None:
    report = lint_offline(raw, profiles=PROFILES, mail_from=mail_from)
    assert isinstance(report, LintReport)
    assert len(report.verdicts) == 4
    report.to_dict()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=60))
def test_message_shaped_garbage(pieces: list[bytes]) -> None:
    check(b"".join(pieces))


@settings(max_examples=200)
@given(st.binary(max_size=2000), st.none() | st.text(max_size=40))
def test_random_bytes_and_senders(raw: bytes, mail_from: str | None) -> None:
    check(raw, mail_from)


@settings(max_examples=200)
@given(st.data())
def test_mutated_newsletters(data: st.DataObject) -> None:
    raw = bytearray(newsletter())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        piece = data.draw(st.sampled_from(PIECES))
        if action == "delete":
            del raw[at : at + len(piece)]
        elif action == "insert":
            raw[at:at] = piece
        else:
            raw[at : at + len(piece)] = piece
    check(bytes(raw))


def test_deep_nesting_is_bounded() -> None:
    head = b"From: a@b.example\r\nDate: x\r\nMessage-ID: <a@b>\r\nMIME-Version: 1.0\r\n"
    body = b""
    for depth in range(200, 0, -1):
        body = (
            f'Content-Type: multipart/mixed; boundary="b{depth}"\r\n\r\n--b{depth}\r\n'.encode()
            + body
            + f"\r\n--b{depth}--\r\n".encode()
        )
    report = lint_offline(head + body)
    (finding,) = report.for_code("lint.mime-malformed")
    assert any("deeper" in p["reason"] for p in finding.details["problems"])


def test_many_parts_are_bounded() -> None:
    head = (
        b"From: a@b.example\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    )
    body = b"--b\r\n\r\nx\r\n" * 5000 + b"--b--\r\n"
    (finding,) = lint_offline(head + body).for_code("lint.mime-malformed")
    assert any("parts" in p["reason"] for p in finding.details["problems"])


def test_an_oversized_message_is_refused_unread() -> None:
    big = b"From: a@b.example\r\n\r\n" + b"x" * (64 * 1024 * 1024)
    (finding,) = lint_offline(big).findings
    assert finding.code == "lint.unreadable"
