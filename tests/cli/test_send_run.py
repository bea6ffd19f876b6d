"""``mailcheck send`` as a process: signals, ``--max-time``, ``--redis``, the resume command.

A slow server is played by a DATA gate the test opens (never by sleeping); the process is
the real console entry point, so signals reach the handlers a user's Ctrl-C or systemd's
SIGTERM would.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import select
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck.cli.main import build_parser, main
from mailcheck.cli.send_args import resume_command
from tests.cli.sendkit import DOMAIN, Server, message, send_args, serve, write_messages
from tests.dnsserver import DnsTestServer
from tests.redis_server import RedisTestServer

FROM = ["--from", "news@asso.example"]
ALL = [f"m{n}@{DOMAIN}" for n in range(3)]


@pytest.fixture
def redis_server() -> Iterator[RedisTestServer]:
    """A fresh ``redis-server`` on a free loopback port."""
    server = RedisTestServer().start()
    try:
        yield server
    finally:
        server.close()


async def _start(argv: list[str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mailcheck.cli.main",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _line_with(proc: asyncio.subprocess.Process, text: bytes) -> bytes:
    """Read stderr up to the first line containing ``text``."""
    assert proc.stderr is not None
    seen = b""
    while text not in seen:
        line = await asyncio.wait_for(proc.stderr.readline(), 60)
        assert line, "stderr closed before: " + text.decode()
        seen += line
    return seen


@pytest.mark.slow
async def test_sigterm_stops_cleanly_and_the_resume_command_finishes_the_job(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_messages(tmp_path / "out", 3)
    async with serve(Server(gate=asyncio.Event())) as server:
        proc = await _start([*send_args(tmp_path / "spool", dns_server, server), *FROM, *files])
        await asyncio.wait_for(server.data_started.wait(), 60)  # a transaction is in flight
        proc.send_signal(signal.SIGTERM)
        before = await _line_with(proc, b"stopping")
        assert server.gate is not None
        server.gate.set()  # the transaction in flight finishes
        out, err = await proc.communicate()
        err = before + err
        assert proc.returncode == 128 + signal.SIGTERM
        assert b"Traceback" not in err
        assert b"Traceback" not in out
        text = out.decode()
        assert "stopped by SIGTERM: " in text
        assert "recipient(s) wait in the spool" in text
        resume = text.strip().splitlines()[-1].strip()
        assert resume.startswith(f"mailcheck send --spool {tmp_path / 'spool'} ")
        assert "--from" not in resume
        assert files[0] not in resume
        first = list(server.received)
        assert len(first) < 3  # stopped: not every message went
        assert await asyncio.to_thread(main, shlex.split(resume)[1:]) == 0
    assert "every recipient is final" in capsys.readouterr().out
    assert sorted(server.delivered_to()) == ALL  # each exactly once


@pytest.mark.slow
async def test_a_second_signal_stops_at_once_without_traceback(
    tmp_path: Path, dns_server: DnsTestServer
) -> None:
    files = write_messages(tmp_path / "out", 3)
    async with serve(Server(gate=asyncio.Event())) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        proc = await _start([*argv, "--format", "json"])
        await asyncio.wait_for(server.data_started.wait(), 60)
        proc.send_signal(signal.SIGINT)
        before = await _line_with(proc, b"stopping")
        proc.send_signal(signal.SIGINT)  # the transaction in flight never ends: abort
        out, err = await proc.communicate()
        assert proc.returncode == 128 + signal.SIGINT
        assert b"Traceback" not in before + err
        result = json.loads(out)
        assert (result["ended"], result["signal"]) == ("aborted", "SIGINT")
        assert result["progress"]["waiting"] == 3
        assert result["resume"]
        assert server.gate is not None
        server.gate.set()
        assert await asyncio.to_thread(main, shlex.split(result["resume"])[1:]) == 0
    assert sorted(server.delivered_to()) == ALL


@pytest.mark.slow
async def test_max_time_ends_a_run_that_cannot_finish_with_exit_3(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_messages(tmp_path / "out", 2)
    async with serve(Server(rcpt={f"m1@{DOMAIN}": "450 4.2.1 mailbox busy"})) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        code = await asyncio.to_thread(main, [*argv, "--max-time", "1s", "--format", "json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 3
    assert result["ended"] == "max-time"
    assert (result["progress"]["delivered"], result["progress"]["waiting"]) == (1, 1)
    assert "--max-time" not in result["resume"]


@pytest.mark.slow
async def test_redis_from_the_environment_shares_the_budgets(
    tmp_path: Path,
    dns_server: DnsTestServer,
    redis_server: RedisTestServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import redis

    monkeypatch.setenv("MAILCHECK_REDIS", redis_server.url)
    files = write_messages(tmp_path / "out", 2)
    async with serve(Server()) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        code = await asyncio.to_thread(main, [*argv, "--redis-hosts", "3"])
    assert code == 0
    assert sorted(server.delivered_to()) == [f"m{n}@{DOMAIN}" for n in range(2)]
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert client.keys("mailcheck:shaping:*")  # the budgets were taken in Redis
    finally:
        client.close()
    assert "every recipient is final" in capsys.readouterr().out


_PATHS = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1
)


@settings(deadline=None)
@given(
    spool=_PATHS,
    helo=st.sampled_from([None, "out.asso.example"]),
    redis=st.sampled_from([None, "redis://:pw@10.0.0.5:6379/0", "redis://r:6379/1"]),
)
def test_the_resume_command_parses_back_to_the_same_delivery_options(
    spool: str, helo: str | None, redis: str | None
) -> None:
    argv = ["send", f"--spool={spool}", "--port", "2525", "--from", "a@asso.example", "m.eml"]
    argv += ["--helo", helo] if helo else []
    argv += ["--redis", redis] if redis else []
    args = build_parser().parse_args(argv)
    again = build_parser().parse_args(shlex.split(resume_command(args))[1:])
    assert (again.spool, again.port, again.helo) == (spool, 2525, helo)
    assert again.messages == []
    assert again.mail_from is None
    if redis and ":pw@" in redis:
        assert again.redis == "redis://:****@10.0.0.5:6379/0"  # a password never printed
    else:
        assert again.redis == redis


COLOUR = re.compile(rb"\x1b\[[0-9;]*3[0-7](;[0-9]+)*m")  # a foreground colour


def _on_terminal(argv: list[str], stdout: Path, env: dict[str, str]) -> tuple[int, bytes]:
    """Run mailcheck with stderr on a pseudo-terminal and stdout into a file."""
    master, slave = pty.openpty()
    with stdout.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailcheck.cli.main", *argv],
            stdin=subprocess.DEVNULL, stdout=out, stderr=slave,
            env={**os.environ, "COLUMNS": "120", **env},
        )  # fmt: skip
    os.close(slave)
    screen = b""
    while select.select([master], [], [], 60)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    return proc.wait(60), screen


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
async def test_on_a_terminal_the_table_is_on_stderr_without_colour_and_stdout_is_data(
    tmp_path: Path, dns_server: DnsTestServer
) -> None:
    files = write_messages(tmp_path / "out", 1)
    summary = tmp_path / "summary.json"
    async with serve(Server()) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        code, screen = await asyncio.to_thread(
            _on_terminal, [*argv, "--format", "json"], summary, {"NO_COLOR": "1"}
        )
    assert code == 0
    assert json.loads(summary.read_text())["progress"]["delivered"] == 1  # all of stdout
    assert b"next attempt" in screen  # the live table's header, on the terminal
    assert b'"progress"' not in screen
    assert not COLOUR.search(screen)


@pytest.mark.slow
async def test_three_processes_sharing_redis_keep_to_one_connection(
    tmp_path: Path, dns_server: DnsTestServer, redis_server: RedisTestServer
) -> None:
    one = tmp_path / "one-connection.toml"
    one.write_text(
        '[provider.default]\nconnections = 1\nfirst_contact = "36000/h"\n'
        'first_contact_source = "tests: one connection for every sender together"\n'
    )
    async with serve(Server()) as server:
        procs = []
        for host in range(3):
            files = []
            for n in range(2):
                path = tmp_path / f"host{host}" / f"{n}.eml"
                path.parent.mkdir(exist_ok=True)
                path.write_bytes(message(n, to=f"h{host}m{n}@{DOMAIN}"))
                files.append(str(path))
            spool = tmp_path / f"host{host}" / "spool"
            argv = [*send_args(spool, dns_server, server), "--providers", str(one), *FROM]
            argv += ["--redis", redis_server.url, "--redis-hosts", "3", *files]
            procs.append(await _start(argv))
        outputs = await asyncio.gather(*(proc.communicate() for proc in procs))
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    expected = sorted(f"h{host}m{n}@{DOMAIN}" for host in range(3) for n in range(2))
    assert sorted(server.delivered_to()) == expected
    assert server.most_sessions == 1  # the connection limit held across the processes


@pytest.mark.slow
async def test_forever_ends_at_max_time_with_exit_0(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_messages(tmp_path / "out", 1)
    async with serve(Server()) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        code = await asyncio.to_thread(main, [*argv, "--forever", "--max-time", "1s"])
    out = capsys.readouterr().out
    assert code == 0  # a daemon's end is its normal end
    assert "this run: 1 delivered\n" in out
    assert "in the spool: 1 delivered, 0 bounced, 0 expired, 0 waiting: every" in out
    assert server.delivered_to() == [f"m0@{DOMAIN}"]


@pytest.mark.slow
async def test_a_third_signal_exits_at_once_and_the_next_run_loses_nothing(
    tmp_path: Path, dns_server: DnsTestServer
) -> None:
    files = write_messages(tmp_path / "out", 3)
    async with serve(Server(gate=asyncio.Event())) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        proc = await _start(argv)
        await asyncio.wait_for(server.data_started.wait(), 60)
        seen = b""
        for expected in (b"stopping;", b"again", b"third time"):
            proc.send_signal(signal.SIGTERM)
            seen += await _line_with(proc, expected)
        _, err = await proc.communicate()
        assert proc.returncode == 128 + signal.SIGTERM
        assert b"Traceback" not in seen + err
        assert server.gate is not None
        server.gate.set()
        # As after a crash: what was in flight is queued again when the spool is opened.
        assert await asyncio.to_thread(main, argv) == 0
    assert sorted(set(server.delivered_to())) == ALL
