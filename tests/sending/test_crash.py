"""A sender process killed with SIGKILL mid-run loses nothing: the rest goes after restart."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from mailcheck.lookup.zonefile import ZoneResolver
from mailcheck.sending.sender import Sender
from mailcheck.sending.spool import SqliteSpool
from tests.sending.conftest import MakeSink, fast_pace

ZONE = str(Path(__file__).parent.parent / "zones" / "sending.test.zone")
MX = "mx.plain.sending.test"
CLI = "import sys; from mailcheck.cli.main import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.slow
async def test_sigkill_mid_run_then_restart_delivers_everything(
    tmp_path: Path, make_sink: MakeSink
) -> None:
    sink = await make_sink(delay=0.05)
    db = str(tmp_path / "q.db")
    spool = SqliteSpool(db)
    rcpts = [f"u{i}@plain.sending.test" for i in range(12)]
    ids = [
        await spool.submit(b"Subject: x\r\n\r\nbody\r\n", mail_from="a@s.test", rcpt_to=[r])
        for r in rcpts
    ]
    spool.close()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLI, "send", "--spool", db, "--zone", ZONE,
        "--mx-override", f"{MX}=127.0.0.1:{sink.port}", "--format", "json",
        "--providers", str(Path(__file__).parent.parent / "cli" / "fast-providers.toml"),
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    async with asyncio.timeout(30):
        while len(sink.received) < 3:
            assert proc.returncode is None
            await asyncio.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert len(sink.received) < len(rcpts)  # killed mid-run
    spool = SqliteSpool(db)
    async with Sender(
        pacing=fast_pace,
        spool=spool,
        resolver=ZoneResolver([ZONE]),
        mx_override={MX: ("127.0.0.1", sink.port)},
    ) as sender:
        await sender.run_until_idle()
    for mid, rcpt in zip(ids, rcpts, strict=True):
        assert await spool.recipients(mid) == {rcpt: "delivered"}
    assert set(sink.delivered_to()) == set(rcpts)  # at least once; a duplicate is allowed
    spool.close()
