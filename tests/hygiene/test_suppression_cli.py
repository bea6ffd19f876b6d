"""``mailcheck suppress``: the command line over a real spool."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from mailcheck.cli.main import main
from mailcheck.hygiene.rates import ComplaintPolicy
from mailcheck.hygiene.suppression import SuppressionList
from mailcheck.sending.spool import SqliteSpool


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_remove_export_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spool = str(tmp_path)  # a directory: spool.db is created there by the first write
    code, out, err = run(
        capsys, "suppress", "add", "Jo@Example.org", "al@example.org",
        "--reason", "unsubscribe", "--list", "asso/news", "--spool", spool,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out.startswith("suppressed Jo@example.org  unsubscribe  list:asso/news")
    code, out, _ = run(capsys, "suppress", "add", "x@example.org", "--expires", "30d",
                       "--spool", spool, "--format", "json")  # fmt: skip
    (entry,) = json.loads(out)
    assert entry["reason"] == "manual"
    assert entry["expires"] == pytest.approx(entry["created"] + 30 * 86400, abs=5)
    code, out, _ = run(capsys, "suppress", "list", "--spool", spool, "--format", "json")
    assert [e["address"] for e in json.loads(out)] == [
        "Jo@example.org", "al@example.org", "x@example.org"
    ]  # fmt: skip
    code, out, _ = run(capsys, "suppress", "list", "--reason", "manual", "--spool", spool)
    assert out.count("\n") == 1
    code, out, _ = run(capsys, "suppress", "export", "--spool", spool)
    assert code == 0
    assert out.startswith("address,scope,scope_value,reason,source,created,expires\r\n")
    exported = tmp_path / "list.csv"
    exported.write_text(out)
    code, out, _ = run(capsys, "suppress", "remove", "jo@example.org", "--list", "asso/news",
                       "--spool", spool)  # fmt: skip
    assert (code, out) == (0, "jo@example.org: 1 removed\n")
    other = str(tmp_path / "other.db")
    code, out, _ = run(capsys, "suppress", "import", str(exported), "--spool", other,
                       "--format", "json")  # fmt: skip
    assert (code, json.loads(out)) == (0, {"added": 3, "rejected": 0, "errors": []})


def test_import_with_bad_rows_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("address,reason\na@example.org,complaint\nnope,manual\nb@example.org,why\n")
    code, out, _ = run(capsys, "suppress", "import", str(bad), "--spool", str(tmp_path))
    assert code == 1
    assert out.splitlines()[0] == "added 1, rejected 2"
    assert out.splitlines()[1].startswith("line 3: ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["suppress", "add", "not-an-address"], "not an address"),
        (["suppress", "add", "a@b.example", "--expires", "soon"], "--expires soon"),
        (["suppress", "list", "--limit", "-1"], "--limit -1"),
        (["suppress", "import", "/nonexistent.csv"], "/nonexistent.csv"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv, "--spool", str(tmp_path))
    assert code == 2
    assert out == ""
    assert message in err
    assert err.count("\n") == 1


def test_list_needs_an_existing_spool(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "suppress", "list", "--spool", str(tmp_path / "none"))
    assert code == 2
    assert "no spool there" in err


def test_what_the_cli_adds_the_library_sees(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "suppress", "add", "z@example.org", "--tenant", "asso", "--spool", str(tmp_path))

    async def check() -> bool:
        spool = SqliteSpool(str(tmp_path / "spool.db"))
        try:
            return await SuppressionList(spool).is_suppressed("Z@example.org", tenant="asso")
        finally:
            spool.close()

    assert asyncio.run(check())


def test_resume_lifts_a_pause(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def pause() -> None:
        spool = SqliteSpool(str(tmp_path / "spool.db"))
        sl = SuppressionList(spool, complaints=ComplaintPolicy(min_delivered=1))
        await spool.submit(b"x", mail_from="n@asso.test", rcpt_to=["a@d.test"], tenant="asso")
        (job,) = await spool.claim()
        await spool.finish(job.recipients[0][0], "delivered", "250 ok")
        await sl.record_complaint("a@d.test", tenant="asso", source="arf")
        spool.close()

    asyncio.run(pause())
    code, out, _ = run(capsys, "spool", "status", "--spool", str(tmp_path), "--format", "json")
    assert json.loads(out)["hygiene"]["tenants"]["asso"]["paused_until"] is not None
    code, out, _ = run(capsys, "suppress", "resume", "asso", "--spool", str(tmp_path))
    assert (code, out) == (0, "asso: resumed\n")
    code, out, _ = run(capsys, "suppress", "resume", "asso", "--spool", str(tmp_path))
    assert out == "asso: was not paused\n"
