"""``mailcheck bounces ingest`` on files and a Maildir against a real spool: verified
reports suppress, forged ones do not, unreadable ones never stop the batch."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from mailcheck.cli.main import main
from mailcheck.hygiene.suppression import SuppressionList
from mailcheck.sending.spool import SqliteSpool
from tests.hygiene.ingest_helpers import BOUNCE_DOMAIN, SECRET, arf, dsn

MEMBERS = ("ana@mailbox.example", "bob@mailbox.example", "cy@mailbox.example")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def make_spool(tmp_path: Path) -> tuple[str, dict[str, int]]:
    path = str(tmp_path / "spool.db")

    async def setup() -> dict[str, int]:
        spool = SqliteSpool(path)
        try:
            await spool.submit(b"Subject: news\r\n\r\nnews\r\n", mail_from=f"news@{BOUNCE_DOMAIN}",
                               rcpt_to=MEMBERS, tenant="asso", list_id="asso/news")  # fmt: skip
            return {r.rcpt: r.id for r in await spool.list(limit=100)}
        finally:
            spool.close()

    return path, asyncio.run(setup())


def suppressed(spool: str) -> dict[str, str]:
    async def read() -> dict[str, str]:
        db = SqliteSpool(spool, recover=False)
        try:
            return {e.address: str(e.reason) for _, e in await SuppressionList(db).list()}
        finally:
            db.close()

    return asyncio.run(read())


@pytest.fixture
def secret_file(tmp_path: Path) -> str:
    path = tmp_path / "secret"
    path.write_bytes(SECRET + b"\n")
    path.chmod(0o600)
    return str(path)


def write(folder: Path, name: str, raw: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(raw)
    return folder / name


def test_files_verified_forged_and_junk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], secret_file: str
) -> None:
    spool, ids = make_spool(tmp_path)
    inbox = tmp_path / "in"
    write(inbox, "1-hard.eml", dsn(ids["ana@mailbox.example"], "ana@mailbox.example"))
    forged = f"bounces+{'a' * 29}@{BOUNCE_DOMAIN}"
    write(inbox, "2-forged.eml", dsn(None, "bob@mailbox.example", return_path=forged))
    write(inbox, "3-junk.eml", b"\x00\x01\x02")
    write(inbox, "4-complaint.eml", arf("arf-yahoo-cfl.eml", ids["cy@mailbox.example"]))
    code, out, err = run(capsys, "bounces", "ingest", str(inbox), "--secret-file", secret_file,
                         "--spool", spool, "--format", "json")  # fmt: skip
    assert code == 1, err  # one message could not be read
    data = json.loads(out)
    summary = data["summary"]
    assert summary["messages"] == 4
    assert summary["unreadable"] == 1
    assert summary["action:suppressed:hard-bounce"] == 1
    assert summary["action:suppressed:complaint"] == 1
    assert summary["action:unverified"] == 1
    junk = data["messages"][2]
    assert junk["error"].startswith("not-a-message")
    assert suppressed(spool) == {"ana@mailbox.example": "hard-bounce",
                                 "cy@mailbox.example": "complaint"}  # fmt: skip


def test_text_output_and_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], secret_file: str
) -> None:
    spool, ids = make_spool(tmp_path)
    path = write(tmp_path, "b.eml", dsn(ids["bob@mailbox.example"], "bob@mailbox.example"))
    code, out, err = run(capsys, "bounces", "ingest", str(path), "--secret-file", secret_file,
                         "--spool", spool)  # fmt: skip
    assert (code, err) == (0, "")
    assert "hard bounce 5.1.1 bob@mailbox.example [verp #" in out
    assert "-> suppressed hard-bounce: bob@mailbox.example tenant asso" in out
    assert out.splitlines()[-1].startswith("1 message(s): ")


def test_dry_run_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], secret_file: str
) -> None:
    spool, ids = make_spool(tmp_path)
    path = write(tmp_path, "b.eml", dsn(ids["bob@mailbox.example"], "bob@mailbox.example"))
    code, out, _ = run(capsys, "bounces", "ingest", str(path), "--secret-file", secret_file,
                       "--dry-run", "--format", "json")  # fmt: skip
    assert code == 0
    (message,) = json.loads(out)["messages"]
    assert message["inbound"]["bounces"][0]["matched_by"] == "verp"
    assert message["actions"] == []
    assert suppressed(spool) == {}


def _maildir(root: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True)
    return root


def test_maildir_moves_what_was_handled_and_keeps_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], secret_file: str
) -> None:
    spool, ids = make_spool(tmp_path)
    box = _maildir(tmp_path / "Maildir")
    write(box / "new", "1.host", dsn(ids["ana@mailbox.example"], "ana@mailbox.example"))
    write(box / "new", "2.host", b"")  # empty: cannot be read
    code, _, _ = run(capsys, "bounces", "ingest", "--maildir", str(box), "--secret-file",
                     secret_file, "--spool", spool, "--format", "json")  # fmt: skip
    assert code == 1
    assert sorted(p.name for p in (box / "new").iterdir()) == ["2.host"]  # left for a person
    assert [p.name for p in (box / "cur").iterdir()] == ["1.host:2,S"]
    # With --aside, it is copied there with its reason and marked handled.
    aside = tmp_path / "aside"
    code, _, _ = run(capsys, "bounces", "ingest", "--maildir", str(box), "--secret-file",
                     secret_file, "--spool", spool, "--aside", str(aside))  # fmt: skip
    assert code == 1
    assert list((box / "new").iterdir()) == []
    assert (aside / "2.host.reason").read_text().startswith("empty")
    assert (aside / "2.host").read_bytes() == b""


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([], "nothing to ingest"),
        (["missing.eml"], "no such file"),
        (["--maildir", "/nonexistent/box"], "not a Maildir"),
        (["--imap-credentials", "x", "m.eml"], "need --imap"),
    ],
)
def test_usage_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secret_file: str,
    argv: list[str],
    needle: str,
) -> None:
    spool, _ = make_spool(tmp_path)
    code, out, err = run(capsys, "bounces", "ingest", *argv, "--secret-file", secret_file,
                         "--spool", spool)  # fmt: skip
    assert code == 2
    assert out == ""
    assert needle in err
    assert len(err.splitlines()) == 1


def test_secret_file_readable_by_others_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool, _ = make_spool(tmp_path)
    secret = tmp_path / "secret"
    secret.write_bytes(SECRET)
    secret.chmod(0o644)
    path = write(tmp_path, "b.eml", b"From: x@example.org\n\nhi\n")
    code, _, err = run(capsys, "bounces", "ingest", str(path), "--secret-file", str(secret),
                       "--spool", spool)  # fmt: skip
    assert code == 2
    assert "chmod 600" in err
    assert SECRET.decode() not in err


def test_no_spool_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], secret_file: str
) -> None:
    path = write(tmp_path, "b.eml", b"From: x@example.org\n\nhi\n")
    code, _, err = run(capsys, "bounces", "ingest", str(path), "--secret-file", secret_file,
                       "--spool", str(tmp_path / "nowhere"))  # fmt: skip
    assert code == 2
    assert "no spool there" in err


HOSTILE = ["", "\x00", "\x1b[2J", "a\r\nb", "../../x", "é", "a" * 300, "-", "/"]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "template",
    [
        ["V"],
        ["--maildir", "V"],
        ["m.eml", "--aside", "V"],
        ["--maildir", "box", "--aside", "V"],
        ["m.eml", "--spool", "V"],
        ["m.eml", "--secret-file", "V"],
        ["--imap", "V"],
        ["--imap", "imaps://u@127.0.0.1:9/V", "--imap-credentials", "V"],
    ],
)
def test_hostile_arguments(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    secret_file: str,
    template: list[str],
    value: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    spool, _ = make_spool(tmp_path)
    write(tmp_path, "m.eml", b"\x00\xff binary")
    box = _maildir(tmp_path / "box")
    write(box / "new", "1.host", b"")
    argv = ["bounces", "ingest", "--secret-file", secret_file, "--spool", spool]
    argv += [value if word == "V" else word for word in template]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage errors
        code = exc.code if isinstance(exc.code, int) else 2
    err = capsys.readouterr().err
    assert code in (0, 1, 2, 3), (argv, code, err)
    assert "Traceback" not in err
    assert "internal error" not in err, err
