"""examples/list_pipeline.py runs offline: verify -> mitigate -> ARC seal -> DKIM sign -> Sender,
and what it writes passes DMARC as the list and carries a valid ARC chain; through a relay
(a real aiosmtpd server on loopback) every member gets a copy."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcheck import ZoneResolver
from mailcheck.dkim.arc_seal import ArcSealer
from mailcheck.verify import verify_message
from tests.dkim.dkimsign_helpers import RSA_KEY

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "list_pipeline.py"
POST = ROOT / "examples" / "lists" / "post.eml"
RESOLVER = ZoneResolver(sorted((ROOT / "examples" / "lists" / "zones").glob("*.zone")))


class Recorder:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        self.received.append((envelope.mail_from or "", list(envelope.rcpt_tos), data))
        return "250 2.0.0 queued"


@pytest.fixture
def relay() -> Iterator[tuple[Controller, Recorder]]:
    recorder = Recorder()
    with socket.socket() as probe:  # a free loopback port (the Controller needs a real one)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, recorder
    controller.stop()


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


async def test_offline_run_rewrites_seals_and_signs(tmp_path: Path) -> None:
    out = tmp_path / "out.eml"
    done = run("--list", "friends@lists.example", "--list-name", "Friends",
               "--message", str(POST), "--out", str(out), "--spool", str(tmp_path / "s.db"),
               "ana@members.example")  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["dmarc"] == "pass"
    assert summary["mitigation"]["action"] == "rewrite-from"
    assert summary["mitigation"]["policy"] == "reject"
    assert summary["queued"] == 1
    result = await verify_message(out.read_bytes(), resolver=RESOLVER, authserv_id="mx.members")
    assert result.from_domain == "lists.example"
    assert result.dmarc_result == "pass"
    assert result.arc is not None
    assert (result.arc.result, result.arc.instances) == ("pass", 1)
    assert "dkim=pass header.d=strict.example" in result.arc.sets[0].results


async def test_relay_delivers_to_every_member(
    tmp_path: Path, relay: tuple[Controller, Recorder]
) -> None:
    controller, recorder = relay
    members = ["ana@members.example", "bob@others.example"]
    post = POST.read_bytes().replace(
        b"Subject:", b"List-Post: <mailto:friends@lists.example>\r\nSubject:"
    )
    done = run("--wrap", "--relay",
               f"127.0.0.1:{controller.port}", "-oi", "-f", "friends-owner@lists.example",
               "--", *members, stdin=post)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["mitigation"]["action"] == "wrap"
    assert summary["delivered"] == 2
    assert sorted(r for _, rcpts, _ in recorder.received for r in rcpts) == members
    mail_from, _, data = recorder.received[0]
    assert mail_from == "friends-owner@lists.example"
    assert b"Content-Type: message/rfc822" in data
    result = await verify_message(data, resolver=RESOLVER)
    assert result.dmarc_result == "pass"


def test_a_post_without_from_is_a_data_error(tmp_path: Path) -> None:
    done = run("--list", "friends@lists.example", "--spool", str(tmp_path / "s.db"),
               "ana@members.example", stdin=b"Subject: no author\r\n\r\nhello\r\n")  # fmt: skip
    assert done.returncode == 65
    assert b"From" in done.stderr
    assert done.stdout == b""


def test_an_arc_chain_that_cannot_be_checked_is_a_temporary_failure(tmp_path: Path) -> None:
    # Sealed by a domain outside the example zones: offline, its key is "could not check".
    sealer = ArcSealer("lists.liststest", "rsa", RSA_KEY, authserv_id="lists.liststest")
    sealed = sealer.seal(
        b"Authentication-Results: lists.liststest; dkim=none\r\n" + POST.read_bytes()
    )
    done = run("--list", "friends@lists.example", "--spool", str(tmp_path / "s.db"),
               "ana@members.example", stdin=sealed)  # fmt: skip
    assert done.returncode == 75
    assert b"try later" in done.stderr
