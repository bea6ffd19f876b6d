"""``mailcheck serve`` as a process: it serves, speaks LANG, and refuses bad options with
one line and exit code 2."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serve.conftest import EXAMPLES, TOKEN

ZONES = [EXAMPLES / "zones" / "example.org.zone", EXAMPLES / "zones" / "mailhost.example.zone"]


def mailcheck(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailcheck.cli.main", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def running(token_file: Path) -> Iterator[tuple[str, subprocess.Popen[str], list[str]]]:
    port = free_port()
    zones = [arg for zone in ZONES for arg in ("--zone", str(zone))]
    process = subprocess.Popen(
        [sys.executable, "-m", "mailcheck.cli.main", "serve", "--listen", f"127.0.0.1:{port}",
         "--token-file", str(token_file), "--no-reputation", "--log-level", "info", *zones],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "LANG": "fr_BE.UTF-8"},
    )  # fmt: skip
    assert process.stderr is not None
    lines = []
    for line in process.stderr:  # uvicorn says when it listens: no polling
        lines.append(line)
        if "Uvicorn running on" in line:
            break
    else:
        pytest.fail("mailcheck serve did not start: " + "".join(lines))
    yield f"http://127.0.0.1:{port}", process, lines
    if process.poll() is None:
        process.kill()
    process.wait()
    process.stderr.close()


@pytest.mark.slow
def test_serve_answers_then_stops_on_sigint(
    running: tuple[str, subprocess.Popen[str], list[str]],
) -> None:
    url, process, lines = running
    assert any("mailcheck : service sur http://127.0.0.1:" in line for line in lines)
    assert httpx.get(url + "/healthz").json()["status"] == "ok"
    report = httpx.get(
        url + "/api/v1/audit/example.org",
        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30,
    )  # fmt: skip
    assert report.status_code == 200
    assert report.headers["content-language"] == "fr"  # --lang absent: LANG is the default
    assert {f["code"] for f in report.json()["findings"]} >= {"dmarc.policy-none"}
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "nowhere"], "--listen nowhere: expected HOST:PORT"),
        (["--listen", "127.0.0.1:99999"], "expected HOST:PORT"),
        (["--token-file", "/nonexistent/tokens"], "token file /nonexistent/tokens"),
        (["--max-audits", "0"], "--max-audits must be at least 1"),
        (["--spool", "/nonexistent/spool"], "--spool /nonexistent/spool: no spool there"),
        (["--reports-db", "/nonexistent/r.db"], "--reports-db /nonexistent/r.db: no report store"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = mailcheck("serve", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""


def test_a_token_file_readable_by_others_is_refused(token_file: Path) -> None:
    token_file.chmod(0o644)
    result = mailcheck("serve", "--token-file", str(token_file))
    assert result.returncode == 2
    assert "readable by others" in result.stderr


def test_help_follows_lang() -> None:
    result = mailcheck("serve", "--help", env={"LANG": "fr_FR.UTF-8", "LC_ALL": "", "LANGUAGE": ""})
    assert "fichier des jetons de l’API" in result.stdout
    english = mailcheck("serve", "--help", env={"LANG": "C.UTF-8", "LC_ALL": "", "LANGUAGE": ""})
    assert "file of API bearer tokens" in english.stdout
