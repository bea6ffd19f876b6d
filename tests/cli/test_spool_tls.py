"""``mailcheck spool list`` shows the TLS each recipient was delivered (or last tried) under."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from mailcheck.cli.main import main
from mailcheck.sending.spool import SqliteSpool


def make_spool(path: Path) -> Path:
    """Three recipients: delivered under an enforce policy, deferred in clear, untried."""

    async def fill() -> None:
        spool = SqliteSpool(str(path))
        await spool.submit(
            b"body", mail_from="news@asso.test", rcpt_to=["a@gmail.test", "b@gmail.test"]
        )
        (job,) = await spool.claim()
        (a, _, _), (b, _, _) = job.recipients
        await spool.finish(a, "delivered", "250 ok", tls="mta-sts-enforce")
        await spool.defer(b, "451 later", tls="none")
        await spool.submit(b"later", mail_from="news@asso.test", rcpt_to=["c@yahoo.test"])
        spool.close()

    asyncio.run(fill())
    return path


def test_list_shows_tls_in_text_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = str(make_spool(tmp_path / "spool.db"))
    assert main(["spool", "list", "--spool", spool]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-5:] == ["attempt", "tls", "recipient", "last", "reply"]

    def line_of(rcpt: str) -> str:
        return next(line for line in lines[1:] if rcpt in line)

    assert " mta-sts-enforce a@gmail.test  250 ok" in line_of("a@gmail.test")
    assert " none            b@gmail.test  451 later" in line_of("b@gmail.test")
    assert " -               c@yahoo.test" in line_of("c@yahoo.test")  # never tried
    assert main(["spool", "list", "--spool", spool, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["rcpt"]: r["tls"] for r in rows} == {
        "a@gmail.test": "mta-sts-enforce",
        "b@gmail.test": "none",
        "c@yahoo.test": None,
    }
