"""``mailcheck send`` end to end, in process: real DNS, a real SMTP server, a real spool.

What a user meets: the run ends when every recipient is final; the exit status says how
it went; a second run of the same files queues nothing; a Maildir is read as a Maildir
reader should; bad options are one line, before anything is queued; stdout is the summary
(data), progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailcheck.cli.main import main
from mailcheck.cli.send import envelope, load_tenants
from mailcheck.cli.send_input import check_hostname, check_mailbox, mark_queued, parse_egress
from mailcheck.dkim.keys import generate_key
from mailcheck.errors import ConfigError
from tests.cli.sendkit import DOMAIN, FAST, Server, message, send_args, serve, write_messages
from tests.dnsserver import DnsTestServer
from tests.sending.simulator import Simulated, Simulator

SIM_PROVIDERS = Path(__file__).parents[1] / "sending" / "sim-providers.toml"
FROM = ["--from", "news@asso.example"]


def one_error_line(err: str) -> str:
    """The single ``mailcheck: error:`` line of stderr (no traceback; progress aside)."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1, err
    assert lines[0].startswith("mailcheck: error: ")
    return lines[0]


def test_envelope_takes_to_cc_bcc_and_never_sends_bcc() -> None:
    raw = (
        b"From: news@asso.example\nTo: A <a@x.example>, b@x.example\nCc: c@x.example\n"
        b"Bcc: hidden@x.example,\n  other@x.example\nSubject: hi\n\nBcc: in the body stays\n"
    )
    message_, rcpts = envelope(raw, [])
    assert rcpts == ["a@x.example", "b@x.example", "c@x.example", "hidden@x.example",
                     "other@x.example"]  # fmt: skip
    assert b"hidden" not in message_.split(b"\r\n\r\n")[0]
    assert message_.endswith(b"\r\nBcc: in the body stays\r\n")
    assert b"\n" not in message_.replace(b"\r\n", b"")
    assert envelope(raw, ["only@y.example"])[1] == ["only@y.example"]


@pytest.mark.slow
async def test_default_run_ends_with_every_recipient_final(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_messages(tmp_path / "out", 3)
    async with serve(Server()) as server:
        code = await asyncio.to_thread(
            main, [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        )
    out = capsys.readouterr().out
    assert code == 0
    assert sorted(server.delivered_to()) == [f"m{n}@{DOMAIN}" for n in range(3)]
    assert "queued 3 message(s) for 3 recipient(s)" in out
    assert "3 delivered, 0 bounced, 0 expired, 0 waiting: every recipient is final" in out
    assert "to go on" not in out


@pytest.mark.slow
async def test_a_bounce_exits_1(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_messages(tmp_path / "out", 2)
    async with serve(Server(rcpt={f"m1@{DOMAIN}": "550 5.1.1 no such user"})) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        code = await asyncio.to_thread(main, [*argv, "--format", "json", "--rate", "50"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    assert result["exit_code"] == 1
    assert result["ended"] == "final"
    assert result["this_run"] == {"delivered": 1, "bounced": 1}
    assert (result["progress"]["delivered"], result["progress"]["bounced"]) == (1, 1)
    assert server.delivered_to() == [f"m0@{DOMAIN}"]


@pytest.mark.slow
async def test_json_summary_shape(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_messages(tmp_path / "out", 2)
    async with serve(Server()) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        argv += ["--egress", "127.0.0.1=egress.asso.example"]  # a local address: accepted
        code = await asyncio.to_thread(main, [*argv, "--format", "json", "--status"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert server.helos == ["egress.asso.example"] * 2
    assert set(result) == {"ended", "signal", "submitted", "this_run", "progress", "spool",
                           "resume", "exit_code"}  # fmt: skip
    assert result["submitted"] == {"messages": 2, "recipients": 2, "already_queued": 0,
                                   "already_queued_messages": 0, "suppressed": 0,
                                   "rejected": []}  # fmt: skip
    progress = result["progress"]
    assert {k: progress[k] for k in ("delivered", "bounced", "expired", "waiting", "final")} == {
        "delivered": 2, "bounced": 0, "expired": 0, "waiting": 0, "final": True,
    }  # fmt: skip
    (provider,) = progress["providers"]
    assert {"group", "delivered", "waiting", "next_attempt", "why", "rate_per_hour",
            "rate_reason"} <= set(provider)  # fmt: skip
    assert provider["delivered"] == 2
    assert result["spool"]["delivered"] == 2
    assert (result["ended"], result["signal"], result["resume"]) == ("final", None, None)


@pytest.mark.slow
async def test_sending_the_same_files_twice_sends_each_message_once(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_messages(tmp_path / "with-id", 2)
    files += write_messages(tmp_path / "no-id", 1, to=f"x@{DOMAIN}", message_id=False)
    async with serve(Server()) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        assert await asyncio.to_thread(main, argv) == 0
        capsys.readouterr()
        assert await asyncio.to_thread(main, [*argv, "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["submitted"]["messages"] == 0
    assert result["submitted"]["already_queued"] == 3
    assert result["submitted"]["already_queued_messages"] == 3
    assert sorted(server.delivered_to()) == [f"m0@{DOMAIN}", f"m1@{DOMAIN}", f"x@{DOMAIN}"]


@pytest.mark.slow
async def test_second_run_says_already_queued(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_messages(tmp_path / "out", 2)
    async with serve(Server()) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        await asyncio.to_thread(main, [*argv, "--no-run"])
        await asyncio.to_thread(main, argv)
    out = capsys.readouterr().out
    assert "queued 2 message(s) for 2 recipient(s)\n" in out  # the first run
    assert "\n2 recipient(s) already queued (not again)\n" in out  # the second
    assert len(server.received) == 2


@pytest.mark.slow
async def test_maildir_messages_move_to_cur_with_the_seen_flag(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    maildir = tmp_path / "outbox"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.a").write_bytes(message(1))
    (maildir / "new" / "2.b").write_bytes(message(2))
    (maildir / "cur" / "3.c:2,").write_bytes(message(3))  # read by a client, not queued
    (maildir / "cur" / "4.d:2,S").write_bytes(message(4))  # queued by an earlier run
    outside = tmp_path / "secret.txt"
    outside.write_bytes(message(5))
    (maildir / "new" / "5.link").symlink_to(outside)
    async with serve(Server()) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM]
        code = await asyncio.to_thread(main, [*argv, "--maildir", str(maildir)])
        captured = capsys.readouterr()
        assert sorted(server.delivered_to()) == [f"m{n}@{DOMAIN}" for n in (1, 2, 3)]
        # Refused, named, not followed; the others went.
        line = one_error_line(captured.err.replace("\r", ""))
        assert "5.link" in line
        assert "symbolic link" in line
        assert code == 2
        assert sorted(os.listdir(maildir / "new")) == ["5.link"]
        assert sorted(os.listdir(maildir / "cur")) == ["1.a:2,S", "2.b:2,S", "3.c:2,S", "4.d:2,S"]
        # A second run reads nothing again (only the link, refused again).
        code = await asyncio.to_thread(main, [*argv, "--maildir", str(maildir)])
    assert not [line for line in capsys.readouterr().out.splitlines() if line.startswith("queued")]
    assert code == 2
    assert len(server.received) == 3


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--to", "bad user@example.net", "bad user@example.net"),
        ("--to", "victim@target.org,x@example.net", "victim@target.org,x@example.net"),
        ("--from", "not-an-address", "not-an-address"),
        ("--egress", "192.0.2.25=mail.asso.example", "192.0.2.25"),
        ("--egress", "mail.asso.example", "mail.asso.example"),
        ("--egress", "0.0.0.0=mail.asso.example", "0.0.0.0"),
        ("--egress", "127.0.0.1=bad name", "bad name"),
        ("--helo", "out\r\nX-Injected: 1", "--helo"),
        ("--max-time", "soon", "soon"),
        ("--drain-target", "0", "--drain-target"),
        ("--redis-hosts", "0", "--redis-hosts"),
        ("--providers", "a\x00b", "--providers"),
        ("--tenants", "a\x00b", "--tenants"),
        ("--maildir", "a\x00b", "--maildir"),
    ],
)
def test_bad_options_are_one_line_and_nothing_is_queued(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, named: str
) -> None:
    msg = tmp_path / "m.eml"
    msg.write_bytes(message(1))
    spool = tmp_path / "spool"
    argv = ["send", "--spool", str(spool), "--from", "news@asso.example", option, value]
    assert main([*argv, str(msg)]) == 2
    assert named in one_error_line(capsys.readouterr().err)
    assert not spool.exists()


@pytest.mark.slow
async def test_a_bad_header_address_skips_that_message_only(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.eml"
    good.write_bytes(message(1))
    bad = tmp_path / "bad.eml"
    bad.write_bytes(message(2, to=f'"Joe Q" <joe q@{DOMAIN}>'))
    async with serve(Server()) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, str(bad), str(good)]
        code = await asyncio.to_thread(main, argv)
    captured = capsys.readouterr()
    assert code == 2
    line = one_error_line(captured.err)
    assert "bad.eml" in line
    assert "To" in line
    assert server.delivered_to() == [f"m1@{DOMAIN}"]
    assert "1 message(s) not queued" in captured.out


def test_a_foreign_sqlite_file_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "accounts.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    before = foreign.read_bytes()
    assert main(["send", "--spool", str(foreign), "--until-idle"]) == 2
    assert "not a mailcheck spool" in one_error_line(capsys.readouterr().err)
    assert foreign.read_bytes() == before


@pytest.mark.parametrize("spool", ["", "a\x00b"])
def test_a_spool_that_is_not_a_path_is_one_line(
    spool: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["send", "--spool", spool, "--no-run"]) == 2
    assert "--spool" in one_error_line(capsys.readouterr().err)
    assert os.listdir(tmp_path) == []


def test_a_spool_that_cannot_be_created_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["send", "--spool", str(blocker / "spool"), "--until-idle"]) == 2
    assert "--spool" in one_error_line(capsys.readouterr().err)


def test_redis_that_does_not_answer_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILCHECK_REDIS", "redis://:hunter2@127.0.0.1:1/0")
    assert main(["send", "--spool", str(tmp_path / "spool"), "--until-idle"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "cannot reach Redis" in line
    assert "hunter2" not in line
    assert not (tmp_path / "spool").exists()


@pytest.mark.slow
async def test_progress_goes_to_stderr_and_stdout_is_only_the_summary(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_messages(tmp_path / "out", 2)
    async with serve(Server()) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        code = await asyncio.to_thread(main, [*argv, "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0
    json.loads(captured.out)  # nothing but the summary
    progress = [line for line in captured.err.splitlines() if "waiting" in line]
    assert progress
    assert all(line.startswith("mailcheck: ") for line in progress)


async def test_until_idle_leaves_deferred_mail_and_says_how_to_go_on(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_messages(tmp_path / "out", 2)
    dns_server.behave(DOMAIN, servfail=True)  # the provider cannot be known: DNS fails
    async with serve(Server()) as server:
        argv = [*send_args(tmp_path / "spool", dns_server, server), *FROM, *files]
        code = await asyncio.to_thread(main, [*argv, "--until-idle", "--format", "json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0  # --until-idle: nothing bounced; what waits is in the summary
    assert result["ended"] == "idle"
    assert result["progress"]["waiting"] == 2
    (group,) = result["progress"]["providers"]
    assert group["waiting"] == 2
    assert group["why"]
    assert result["resume"].startswith(f"mailcheck send --spool {tmp_path / 'spool'} ")
    assert "--until-idle" in result["resume"]
    assert str(files[0]) not in result["resume"]
    assert "--from" not in result["resume"]


@pytest.mark.slow
async def test_send_a_maildir_signed_to_simulated_providers(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    maildir = tmp_path / "outbox"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for n in range(3):
        (maildir / "new" / f"{n}.eml").write_bytes(
            f"From: news@asso.example\r\nTo: m{n}@yahoo.sim.test\r\n"
            f"Bcc: secret{n}@gmail.sim.test\r\nSubject: {n}\r\n\r\nhello\r\n".encode()
        )
    key = tmp_path / "asso.sel.pem"
    generate_key("ed25519").save(key)
    sims = await Simulator([
        Simulated(name="yahoo", address="127.0.0.3"),
        Simulated(name="gmail", address="127.0.0.2"),
    ]).start()  # fmt: skip
    try:
        code = await asyncio.to_thread(
            main,
            [
                "send", "--maildir", str(maildir), "--from", "news@asso.example",
                "--spool", str(tmp_path / "spool"), "--nameserver", dns_server.address,
                "--port", str(sims.port), "--providers", str(SIM_PROVIDERS), "--providers", FAST,
                "--dkim-key", str(key), "--dkim-selector", "sel",
                "--dkim-domain", "asso.example", "--helo", "out.asso.example",
                "--format", "json",
            ],
        )  # fmt: skip
    finally:
        await sims.stop()
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["submitted"]["messages"] == 3
    assert result["this_run"] == {"delivered": 6}
    groups = {p["group"]: p["delivered"] for p in result["progress"]["providers"]}
    assert groups == {"yahoo": 3, "google": 3}
    assert (tmp_path / "spool" / "spool.db").exists()
    assert (tmp_path / "spool").stat().st_mode & 0o777 == 0o700
    for received in sims["yahoo"].received + sims["gmail"].received:
        assert received.data.startswith(b"DKIM-Signature: v=1; a=ed25519-sha256;")
        assert b"Bcc" not in received.data
    assert sorted(sims["gmail"].delivered_to()) == [f"secret{n}@gmail.sim.test" for n in range(3)]
    assert sorted(os.listdir(maildir / "cur")) == [f"{n}.eml:2,S" for n in range(3)]


def test_tenants_file(tmp_path: Path) -> None:
    good = tmp_path / "tenants.toml"
    good.write_text('[tenant."asso-a.example"]\nweight = 3\n[tenant."*"]\nmax_rate = 2.5\n')
    config = load_tenants(str(good))
    assert config is not None
    assert config.policy("asso-a.example").weight == 3
    assert config.policy("other").max_rate == 2.5
    bad = tmp_path / "bad.toml"
    for text in ("[tenant.a]\nweight = -1\n", "[tenant.a]\nspeed = 1\n", "weight = 3\n", "[x"):
        bad.write_text(text)
        with pytest.raises(ConfigError):
            load_tenants(str(bad))


@pytest.mark.parametrize(
    ("name", "folder", "moved"),
    [
        ("1.a", "new", "1.a:2,S"),
        ("2.b:2,", "cur", "2.b:2,S"),
        ("3.c:2,RF", "cur", "3.c:2,FRS"),  # flags kept, in ASCII order (Maildir spec)
    ],
)
def test_mark_queued_moves_to_cur_with_the_s_flag(
    tmp_path: Path, name: str, folder: str, moved: str
) -> None:
    (tmp_path / folder).mkdir()
    (tmp_path / folder / name).write_bytes(message(1))
    assert mark_queued(tmp_path / folder / name) == tmp_path / "cur" / moved
    assert os.listdir(tmp_path / "cur") == [moved]


def test_a_maildir_whose_new_is_a_link_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "1.a").write_bytes(message(1))
    maildir = tmp_path / "outbox"
    maildir.mkdir()
    (maildir / "new").symlink_to(elsewhere)
    argv = ["send", "--spool", str(tmp_path / "spool"), *FROM, "--no-run"]
    assert main([*argv, "--maildir", str(maildir)]) == 2
    assert "symbolic link" in one_error_line(capsys.readouterr().err)
    assert os.listdir(elsewhere) == ["1.a"]


def _error_of(parse: Callable[[], object]) -> str | None:
    try:
        parse()
    except ConfigError as exc:
        return str(exc)
    return None


@settings(max_examples=300, deadline=None)
@given(text=st.text())
@example(text="fe80::1%\x00")  # a scope with NUL: socket.bind raises TypeError
@example(text="[IPv6:::1]")
def test_option_parsers_raise_only_config_error(text: str) -> None:
    for parse in (
        lambda: parse_egress([text], None),
        lambda: check_hostname(text, "--helo"),
        lambda: check_mailbox(text, "--to"),
    ):
        error = _error_of(parse)  # anything but a ConfigError escapes and fails the test
        assert error is None or "\n" not in error  # one line, whatever the input
