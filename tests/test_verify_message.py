"""verify_message: DKIM + SPF + DMARC of one message, and its Authentication-Results header."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from mailcheck import DnsResolver, ZoneResolver
from mailcheck.authresults import read_authentication_results
from mailcheck.cli import verify as verify_cli
from mailcheck.cli.main import main
from mailcheck.dkim.sign import DkimSigner
from mailcheck.errors import ParseError
from mailcheck.sync import verify_message_sync
from mailcheck.verify import verify_message
from tests.dkim.dkimsign_helpers import DOMAIN, ED_KEY, MESSAGE, RSA_KEY
from tests.dnsserver import DnsTestServer

ZONES = Path(__file__).parent / "zones"
SIGNER = DkimSigner(DOMAIN, "rsa", RSA_KEY, keys=[("ed", ED_KEY)])
GOOD_IP, BAD_IP = "192.0.2.10", "198.51.100.7"
OTHER = MESSAGE.replace(b"alice@dkimsign.test", b"alice@dkimsign-other.test")


async def test_all_pass(resolver: DnsResolver) -> None:
    result = await verify_message(
        SIGNER.sign(MESSAGE),
        ip=GOOD_IP,
        mail_from="alice@dkimsign.test",
        helo="mail.dkimsign.test",
        resolver=resolver,
        authserv_id="mx.example.net",
    )
    assert result.from_domain == DOMAIN
    assert [str(r.result) for r in result.dkim] == ["pass", "pass"]
    assert result.spf is not None
    assert str(result.spf.result) == "pass"
    assert result.dmarc_result == "pass"
    assert result.dmarc_passed
    assert result.header.startswith("Authentication-Results: mx.example.net; dkim=pass")
    (header,) = read_authentication_results(result.header.encode() + b"\r\n" + MESSAGE)
    assert header.authserv_id == "mx.example.net"
    assert [r.method for r in header.results] == ["dkim", "dkim", "spf", "dmarc"]
    assert header.results[0].property("header.d") == DOMAIN
    assert header.results[1].property("header.a") == "ed25519-sha256"
    assert header.result("spf").property("smtp.mailfrom") == "alice@dkimsign.test"  # type: ignore[union-attr]
    assert header.result("dmarc").property("header.from") == DOMAIN  # type: ignore[union-attr]


async def test_unsigned_from_a_wrong_ip_fails_dmarc(resolver: DnsResolver) -> None:
    result = await verify_message(
        MESSAGE, ip=BAD_IP, mail_from="alice@dkimsign.test", resolver=resolver
    )
    assert result.dkim == ()
    assert result.spf is not None
    assert str(result.spf.result) == "fail"
    assert result.dmarc_result == "fail"
    assert "dkim=none" in result.authentication_results


async def test_dkim_alone_passes_dmarc(resolver: DnsResolver) -> None:
    result = await verify_message(
        SIGNER.sign(MESSAGE), ip=BAD_IP, mail_from="b@dkimsign-other.test", resolver=resolver
    )
    assert result.dmarc_result == "pass"


async def test_no_ip_no_spf(resolver: DnsResolver) -> None:
    result = await verify_message(SIGNER.sign(MESSAGE), resolver=resolver)
    assert result.spf is None
    assert "spf=" not in result.authentication_results
    assert result.dmarc_result == "pass"


async def test_dns_failure_is_temperror_not_fail(dns_server: DnsTestServer) -> None:
    dns_server.behave("rsa._domainkey.dkimsign.test", servfail=True)
    dns_server.behave("ed._domainkey.dkimsign.test", servfail=True)
    resolver = DnsResolver([dns_server.address], timeout=0.5)
    result = await verify_message(SIGNER.sign(MESSAGE), resolver=resolver)
    assert [str(r.result) for r in result.dkim] == ["temperror", "temperror"]
    assert result.dmarc_result != "fail"
    assert "dkim=temperror" in result.authentication_results


async def test_domain_without_dmarc(tmp_path: Path) -> None:
    # The RFC 9989 tree walk asks _dmarc.test too: a zone for the TLD answers it (offline).
    tld = tmp_path / "test.zone"
    tld.write_text("$TTL 300\n@ IN SOA ns.test. h.test. 1 3600 600 86400 60\n@ IN NS ns\n")
    resolver = ZoneResolver([ZONES / "dkimsign-other.test.zone", tld])
    result = await verify_message(
        OTHER, ip=BAD_IP, mail_from="a@dkimsign-other.test", resolver=resolver
    )
    assert result.from_domain == "dkimsign-other.test"
    assert result.dmarc_result == "none"
    assert result.spf is not None
    assert str(result.spf.result) == "fail"


@pytest.mark.parametrize(
    "message",
    [
        b"To: b@example.net\r\n\r\nno from\r\n",
        b"From: a@dkimsign.test\r\nFrom: b@dkimsign.test\r\n\r\nx\r\n",
    ],
)
async def test_without_one_from(resolver: DnsResolver, message: bytes) -> None:
    result = await verify_message(message, resolver=resolver)
    assert result.from_domain is None
    assert result.dmarc is None
    assert result.dmarc_result == "permerror"


def test_sync_twin(dns_server: DnsTestServer) -> None:
    resolver = DnsResolver([dns_server.address], timeout=1)
    result = verify_message_sync(SIGNER.sign(MESSAGE), resolver=resolver)
    assert result.dmarc_result == "pass"


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    verify_cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


def test_cli(tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]) -> None:
    dns = ["--nameserver", dns_server.address, "--timeout", "1"]
    good = tmp_path / "good.eml"
    good.write_bytes(SIGNER.sign(MESSAGE))
    bad = tmp_path / "bad.eml"
    bad.write_bytes(MESSAGE)
    assert _cli(["verify", str(good), *dns]) == 0
    assert "Authentication-Results: mailcheck; dkim=pass" in capsys.readouterr().out
    argv = ["verify", str(bad), "--ip", BAD_IP, "--mail-from", "alice@dkimsign.test"]
    assert _cli([*argv, "--helo", "x.example", "--format", "json", *dns]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["dmarc_result"] == "fail"
    assert data["dmarc_passed"] is False


# --- issue 13, item 1: a forged Authentication-Results --------------------------------------------

FORGED_MAIL_FROM = "x;dmarc=pass header.from=paypal.com@evil.example"


async def test_forged_mail_from_stays_one_value(resolver: DnsResolver) -> None:
    result = await verify_message(
        MESSAGE, ip=BAD_IP, mail_from=FORGED_MAIL_FROM, helo="mx (x) ; y", resolver=resolver
    )
    assert result.dmarc_result != "pass"
    (header,) = read_authentication_results(result.header.encode() + b"\r\n" + MESSAGE)
    assert header.error is None
    dmarcs = [r for r in header.results if r.method == "dmarc"]
    assert len(dmarcs) == 1  # the real one, no forged "dmarc=pass" before it
    assert dmarcs[0].result == result.dmarc_result
    assert dmarcs[0].property("header.from") == DOMAIN
    spf = header.result("spf")
    assert spf is not None
    assert spf.property("smtp.mailfrom") == FORGED_MAIL_FROM
    assert spf.property("smtp.helo") == "mx (x) ; y"
    assert [r.method for r in header.results] == ["dkim", "spf", "dmarc"]


@pytest.mark.parametrize("bad", ["mx.example.org\r\nX-Injected: 1", "a\nb", "a\rb", "a\x00b"])
async def test_control_characters_are_refused(resolver: DnsResolver, bad: str) -> None:
    for name, value in (("helo", bad), ("mail_from", f"a@{bad}"), ("authserv_id", bad)):
        options = {"helo": None, "mail_from": None, "authserv_id": "mx", name: value}
        with pytest.raises(ParseError) as info:
            await verify_message(
                MESSAGE,
                ip=BAD_IP,
                resolver=resolver,
                helo=options["helo"],
                mail_from=options["mail_from"],
                authserv_id=options["authserv_id"] or "mx",
            )
        assert "\n" not in str(info.value)
        assert name in str(info.value)


async def test_control_characters_from_the_message_are_dropped(resolver: DnsResolver) -> None:
    signature = (
        b"DKIM-Signature: v=1; a=rsa-sha256; d=dkimsign.test; s=a\x01b\x7f;"
        b" c=relaxed/relaxed; h=from; bh=AAAA; b=AA\x00AA\r\n"
    )
    result = await verify_message(signature + MESSAGE, resolver=resolver)
    assert result.header.isprintable()
    (header,) = read_authentication_results(result.header + "\r\n\r\n")
    assert header.error is None
    assert header.results[0].method == "dkim"
    assert header.results[0].result == str(result.dkim[0].result)


def test_cli_refuses_injection(
    tmp_path: Path, dns_server: DnsTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    message = tmp_path / "m.eml"
    message.write_bytes(MESSAGE)
    dns = ["--nameserver", dns_server.address, "--timeout", "1"]
    argv = ["verify", str(message), "--ip", BAD_IP, "--helo", "mx.example.org\r\nX-Injected: 1"]
    assert main([*argv, *dns]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    argv = ["verify", str(message), "--ip", BAD_IP, "--mail-from", FORGED_MAIL_FROM]
    assert main([*argv, *dns, "--format", "json"]) in (0, 1)
    data = json.loads(capsys.readouterr().out)
    assert f'smtp.mailfrom="{FORGED_MAIL_FROM}"' in data["header"]
    (header,) = read_authentication_results(data["header"] + "\r\n\r\n")
    assert [r.result for r in header.results if r.method == "dmarc"] == [data["dmarc_result"]]
