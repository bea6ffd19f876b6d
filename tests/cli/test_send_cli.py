"""``mailcheck send`` end to end: a maildir, real DNS, a simulated provider, DKIM."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from mailcheck.cli.main import main
from mailcheck.cli.send import envelope, load_tenants
from mailcheck.dkim.keys import generate_key
from mailcheck.errors import ConfigError
from tests.dnsserver import DnsTestServer
from tests.sending.simulator import Simulated, Simulator

SIM_PROVIDERS = Path(__file__).parents[1] / "sending" / "sim-providers.toml"


def test_envelope_takes_to_cc_bcc_and_never_sends_bcc() -> None:
    raw = (
        b"From: news@asso.example\nTo: A <a@x.example>, b@x.example\nCc: c@x.example\n"
        b"Bcc: hidden@x.example,\n  other@x.example\nSubject: hi\n\nBcc: in the body stays\n"
    )
    message, rcpts = envelope(raw, [])
    assert rcpts == ["a@x.example", "b@x.example", "c@x.example", "hidden@x.example",
                     "other@x.example"]  # fmt: skip
    assert b"hidden" not in message.split(b"\r\n\r\n")[0]
    assert message.endswith(b"\r\nBcc: in the body stays\r\n")
    assert b"\n" not in message.replace(b"\r\n", b"")
    assert envelope(raw, ["only@y.example"])[1] == ["only@y.example"]


async def test_send_a_maildir_signed_to_a_simulated_provider(
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
                "--port", str(sims.port), "--providers", str(SIM_PROVIDERS),
                "--dkim-key", str(key), "--dkim-selector", "sel",
                "--dkim-domain", "asso.example", "--helo", "out.asso.example",
                "--format", "json",
            ],
        )  # fmt: skip
    finally:
        await sims.stop()
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["submitted"] == 3
    assert result["this_run"] == {"delivered": 6}
    assert result["groups"]["default|yahoo"]["delivered"] == 3
    assert result["groups"]["default|google"]["delivered"] == 3
    assert (tmp_path / "spool" / "spool.db").exists()
    assert (tmp_path / "spool").stat().st_mode & 0o777 == 0o700
    for received in sims["yahoo"].received + sims["gmail"].received:
        assert received.data.startswith(b"DKIM-Signature: v=1; a=ed25519-sha256;")
        assert b"Bcc" not in received.data
    assert sorted(sims["gmail"].delivered_to()) == [f"secret{n}@gmail.sim.test" for n in range(3)]


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
