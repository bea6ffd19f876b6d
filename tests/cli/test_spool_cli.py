"""``mailcheck spool status|list|retry|purge|drop`` on a real spool file."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from mailcheck.cli.main import main
from mailcheck.cli.spool import clean
from mailcheck.sending.spool import TRANSACTIONAL, SqliteSpool

EVIL = "421 4.7.0 try later\r\n\x1b]0;owned\x07\x1b[2J\u202egnp.exe\x00 end"


def make_spool(directory: Path) -> Path:
    """A spool directory: gmail deferred (one transactional), yahoo bounced, one delivered."""
    directory.mkdir(mode=0o700)

    async def fill() -> None:
        spool = SqliteSpool(str(directory / "spool.db"))
        await spool.submit(
            b"body" * 500,
            mail_from="news@asso.test",
            rcpt_to=["a@gmail.test", "b@yahoo.test", "c@orange.test"],
        )
        await spool.submit(
            b"reset", mail_from="no@asso.test", rcpt_to=["d@gmail.test"], priority=TRANSACTIONAL
        )
        for job in await spool.claim():
            for rid, rcpt, _ in job.recipients:
                if rcpt.endswith("@yahoo.test"):
                    await spool.finish(rid, "bounced", "550 5.1.1 unknown")
                elif rcpt.endswith("@orange.test"):
                    await spool.finish(rid, "delivered", "250 ok")
                else:
                    await spool.defer(rid, EVIL)
        await spool.ack([e.id for e in await spool.events()])
        spool.close()

    asyncio.run(fill())
    return directory


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spool = str(make_spool(tmp_path / "spool"))
    code, out, err = run(capsys, "spool", "status", "--spool", spool)
    assert (code, err) == (0, "")
    assert "deferred   2" in out
    assert "bounced    1" in out
    assert "waiting 2, oldest" in out
    assert [line.split()[:3] for line in out.splitlines() if line.startswith("gmail")] == [
        ["gmail.test", "2", "2"]
    ]
    code, out, _ = run(
        capsys, "spool", "status", "--spool", spool + "/spool.db", "--format", "json"
    )
    status = json.loads(out)
    assert code == 0
    assert status["states"]["delivered"] == 1
    assert status["domains"]["gmail.test"]["waiting"] == 2
    assert status["oldest_waiting_age"] >= 0


def test_list_prints_remote_replies_without_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = str(make_spool(tmp_path / "spool"))
    code, out, _ = run(capsys, "spool", "list", "--spool", spool, "--state", "deferred")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3  # the header and one line per recipient, the reply's CRLF gone
    assert "a@gmail.test" in lines[1]
    assert "d@gmail.test" in lines[2]
    assert "421 4.7.0 try later  ]0;owned[2Jgnp.exe end" in lines[1]
    for char in "\x1b\x07\x00\r\u202e":
        assert char not in out
    code, out, _ = run(
        capsys, "spool", "list", "--spool", spool, "--domain", "GMAIL.test", "--limit", "1",
        "--format", "json",
    )  # fmt: skip
    rows = json.loads(out)
    assert code == 0
    assert [(r["rcpt"], r["state"], r["priority"]) for r in rows] == [
        ("a@gmail.test", "deferred", 0)
    ]
    assert rows[0]["last_reply"] == EVIL  # JSON keeps the reply as received, escaped
    assert "body" not in out


def test_retry_then_purge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spool = str(make_spool(tmp_path / "spool"))
    _, out, _ = run(capsys, "spool", "list", "--spool", spool, "--format", "json")
    ids = {r["rcpt"]: r["id"] for r in json.loads(out)}
    code, out, _ = run(capsys, "spool", "retry", "--spool", spool, "--id", str(ids["a@gmail.test"]))
    assert (code, out) == (0, "1 deferred recipient(s) due now\n")
    code, out, _ = run(capsys, "spool", "retry", "--spool", spool, "--domain", "gmail.test",
                       "--format", "json")  # fmt: skip
    assert (code, json.loads(out)) == (0, {"retried": 2})
    code, out, _ = run(capsys, "spool", "retry", "--spool", spool, "--state", "bounced")
    assert (code, out) == (0, "1 bounced recipient(s) due now\n")
    code, out, _ = run(capsys, "spool", "purge", "--spool", spool, "--older-than", "1h")
    assert (code, out) == (0, "0 recipient(s) purged\n")
    code, out, _ = run(capsys, "spool", "purge", "--spool", spool, "--format", "json")
    assert (code, json.loads(out)) == (0, {"purged": 1})

    async def due() -> list[tuple[str, int]]:
        opened = SqliteSpool(spool + "/spool.db")
        try:
            return [(r, a) for j in await opened.claim() for _, r, a in j.recipients]
        finally:
            opened.close()

    # Transactional first; no attempt burnt by the retries.
    assert asyncio.run(due()) == [("d@gmail.test", 1), ("a@gmail.test", 1), ("b@yahoo.test", 1)]


def test_errors_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spool = str(make_spool(tmp_path / "spool"))
    (tmp_path / "junk.db").write_bytes(b"not a database, not at all" * 100)
    for argv, message in [
        (["status", "--spool", str(tmp_path / "missing")], "no spool there"),
        (["status", "--spool", str(tmp_path / "junk.db")], "not a database"),
        (["purge", "--spool", spool, "--older-than", "soon"], "--older-than soon"),
        (["list", "--spool", spool, "--limit", "-1"], "--limit"),
    ]:
        code, out, err = run(capsys, "spool", *argv)
        assert (code, out) == (2, "")
        assert message in err
        assert err.count("\n") == 1
    for argv in (
        ["purge", "--spool", spool, "--state", "deferred"],  # purge never takes waiting mail
        ["retry", "--spool", spool, "--state", "queued"],
        ["frobnicate", "--spool", spool],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(["spool", *argv])
        assert exit_.value.code == 2
        assert "invalid choice" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()
    db = sqlite3.connect(spool + "/spool.db")
    try:
        assert db.execute("SELECT COUNT(*) FROM recipients").fetchone() == (4,)
    finally:
        db.close()


def test_admin_commands_leave_in_flight_recipients_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "spool"
    directory.mkdir()

    async def claim() -> SqliteSpool:
        spool = SqliteSpool(str(directory / "spool.db"))
        await spool.submit(b"x", mail_from="a@s.test", rcpt_to=["b@d.test"])
        await spool.claim()
        return spool  # a sender with an attempt in flight, still open

    sender = asyncio.run(claim())
    try:
        code, out, _ = run(capsys, "spool", "status", "--spool", str(directory), "--format", "json")
        assert code == 0
        assert json.loads(out)["states"]["sending"] == 1
    finally:
        sender.close()


def test_clean() -> None:
    assert clean("a\tb\r\nc\x1b[0m\u200b\u2028d\x85") == "a b  c[0m d "
    assert clean("réponse 🙂") == "réponse 🙂"


def foreign_sqlite(path: Path) -> Path:
    """Another program's SQLite file: a messages table that is not ours, rollback journal."""
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, subject TEXT);"
        "INSERT INTO messages (subject) VALUES ('hello');"
    )
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize("action", ["status", "list", "retry", "purge"])
def test_a_foreign_sqlite_file_is_refused_and_left_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    path = foreign_sqlite(tmp_path / "app.db")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, out, err = run(capsys, "spool", action, "--spool", str(path))
    assert (code, out) == (2, "")
    assert err == f"mailcheck: error: {path} is not a mailcheck spool: table messages lacks" + (
        " created, mail_from, raw, tenant\n"
    )
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert [p.name for p in tmp_path.iterdir()] == ["app.db"]  # no -wal, no -shm


@pytest.mark.parametrize(
    "argv",
    [
        ["list", "--limit", "999999999999999999999"],
        ["list", "--limit", "-1"],
        ["list", "--limit", str(2**63)],
        ["retry", "--id", "999999999999999999999"],
        ["drop", "--id", "-999999999999999999999"],
        ["drop", "--message", str(2**63)],
    ],
)
def test_huge_or_negative_numbers_give_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    spool = str(make_spool(tmp_path / "spool"))
    code, out, err = run(capsys, "spool", argv[0], "--spool", spool, *argv[1:])
    assert (code, out) == (2, "")
    assert err.startswith(f"mailcheck: error: {argv[1]} ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_drop_recipients_or_whole_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = str(make_spool(tmp_path / "spool"))
    _, out, _ = run(capsys, "spool", "list", "--spool", spool, "--format", "json")
    rows = {r["rcpt"]: r for r in json.loads(out)}
    code, out, _ = run(
        capsys, "spool", "drop", "--spool", spool, "--id", str(rows["a@gmail.test"]["id"])
    )
    assert (code, out) == (0, "1 recipient(s) dropped\n")
    code, out, _ = run(
        capsys, "spool", "drop", "--spool", spool,
        "--message", str(rows["d@gmail.test"]["message_id"]), "--format", "json",
    )  # fmt: skip
    assert (code, json.loads(out)) == (0, {"dropped": 1})
    _, out, _ = run(capsys, "spool", "list", "--spool", spool, "--format", "json")
    assert sorted(r["rcpt"] for r in json.loads(out)) == ["b@yahoo.test", "c@orange.test"]
    for argv in (
        ["drop", "--spool", spool],
        ["drop", "--spool", spool, "--id", "1", "--message", "1"],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(["spool", *argv])
        assert exit_.value.code == 2
        assert capsys.readouterr().err.count("\n") == 1
