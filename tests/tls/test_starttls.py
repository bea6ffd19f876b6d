"""The STARTTLS probe against real aiosmtpd servers with certificates from a test CA."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mailcheck.errors import ConfigError
from mailcheck.tls.certinfo import name_matches
from mailcheck.tls.starttls import probe_many, probe_starttls
from mailcheck.tls.starttls_judge import certificate_problems, judge_probe, judge_probes
from mailcheck.tls.types import ProbeStatus
from tests.tls.certs import TestCa, self_signed
from tests.tls.conftest import MX_HOST, StartSmtp


async def test_valid_certificate(test_ca: TestCa, smtp_server: StartSmtp) -> None:
    server = await smtp_server(test_ca.issue("mx", [MX_HOST], days=200))
    probe = await probe_starttls(
        MX_HOST, address="127.0.0.1", port=server.port, cafile=test_ca.cafile, timeout=10
    )
    assert probe.status is ProbeStatus.TLS
    assert probe.offered is True
    assert probe.chain_valid is True
    assert probe.chain_error is None
    assert probe.name_matches is True
    assert probe.names == (MX_HOST,)
    assert probe.protocol in ("TLSv1.2", "TLSv1.3")
    assert probe.cipher
    assert probe.days_to_expiry is not None
    assert 198 <= probe.days_to_expiry <= 200
    assert "SMTPUTF8" in probe.extensions
    assert "SIZE" in probe.extensions
    assert probe.size_limit == 10_485_760
    assert len(probe.chain) == 2  # leaf and CA, as the server sent them
    assert server.connections == 1
    assert "_chain" not in probe.to_dict()


async def test_system_store_does_not_trust_the_test_ca(
    test_ca: TestCa, smtp_server: StartSmtp
) -> None:
    server = await smtp_server(test_ca.issue("mx", [MX_HOST]))
    probe = await probe_starttls(MX_HOST, address="127.0.0.1", port=server.port, timeout=10)
    # STARTTLS is offered and works: an untrusted chain is a separate fact.
    assert probe.status is ProbeStatus.TLS
    assert probe.offered
    assert probe.chain_valid is False
    assert probe.name_matches is True


async def test_expired(test_ca: TestCa, smtp_server: StartSmtp) -> None:
    server = await smtp_server(test_ca.issue("mx", [MX_HOST], expired=True))
    probe = await probe_starttls(
        MX_HOST, address="127.0.0.1", port=server.port, cafile=test_ca.cafile, timeout=10
    )
    assert probe.status is ProbeStatus.TLS
    assert probe.chain_valid is False
    assert "expired" in (probe.chain_error or "")
    assert probe.days_to_expiry is not None
    assert probe.days_to_expiry < 0
    assert server.connections == 2  # the second, unverified look collected the facts


async def test_wrong_name(test_ca: TestCa, smtp_server: StartSmtp) -> None:
    server = await smtp_server(test_ca.issue("mx", ["other.tlstest.test"]))
    probe = await probe_starttls(
        MX_HOST, address="127.0.0.1", port=server.port, cafile=test_ca.cafile, timeout=10
    )
    assert probe.status is ProbeStatus.TLS
    assert probe.chain_valid is True
    assert probe.name_matches is False
    assert probe.names == ("other.tlstest.test",)


async def test_self_signed(tmp_path: Path, test_ca: TestCa, smtp_server: StartSmtp) -> None:
    server = await smtp_server(self_signed(tmp_path, "self", MX_HOST))
    probe = await probe_starttls(
        MX_HOST, address="127.0.0.1", port=server.port, cafile=test_ca.cafile, timeout=10
    )
    assert probe.status is ProbeStatus.TLS
    assert probe.chain_valid is False
    assert "self" in (probe.chain_error or "").lower()
    assert probe.name_matches is True
    assert len(probe.chain) == 1


async def test_no_starttls(smtp_server: StartSmtp) -> None:
    server = await smtp_server(None)
    probe = await probe_starttls(MX_HOST, address="127.0.0.1", port=server.port, timeout=10)
    assert probe.status is ProbeStatus.NOT_OFFERED
    assert probe.offered is False
    assert probe.chain_valid is None
    assert "SMTPUTF8" in probe.extensions


async def test_silent_server_is_unknown_not_no_tls(smtp_server: StartSmtp) -> None:
    server = await smtp_server(None, silent=True)
    probe = await probe_starttls(MX_HOST, address="127.0.0.1", port=server.port, timeout=0.3)
    assert probe.status is ProbeStatus.UNKNOWN
    assert probe.offered is None
    assert "timeout" in (probe.error or "")


async def test_refused_connection_is_unknown() -> None:
    # Bind a port and close it: nothing listens there.
    server = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    probe = await probe_starttls(MX_HOST, address="127.0.0.1", port=port, timeout=5)
    assert probe.status is ProbeStatus.UNKNOWN
    assert probe.error


async def test_many_hosts_at_once(test_ca: TestCa, smtp_server: StartSmtp) -> None:
    good = await smtp_server(test_ca.issue("a", [MX_HOST]))
    probes = await probe_many(
        [(MX_HOST, "127.0.0.1"), ("mx2.tlstest.test", "127.0.0.1")],
        port=good.port,
        cafile=test_ca.cafile,
        timeout=10,
    )
    assert [p.host for p in probes] == [MX_HOST, "mx2.tlstest.test"]
    assert probes[0].name_matches is True
    assert probes[1].name_matches is False
    assert good.connections == 2


async def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        await probe_starttls(MX_HOST, timeout=0)
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(ConfigError):
        await probe_starttls(MX_HOST, cafile=tmp_path / "bad.pem")


@pytest.mark.parametrize(
    ("names", "host", "expected"),
    [
        (("mx.example.org",), "MX.example.org.", True),
        (("*.example.org",), "mx.example.org", True),
        (("*.example.org",), "example.org", False),
        (("*.example.org",), "a.mx.example.org", False),
        (("*.org",), "example.org", False),
        ((), "mx.example.org", False),
    ],
)
def test_name_matching(names: tuple[str, ...], host: str, expected: bool) -> None:
    assert name_matches(names, host) is expected


async def test_judge_keeps_the_facts_apart(
    tmp_path: Path, test_ca: TestCa, smtp_server: StartSmtp
) -> None:
    expired = await smtp_server(test_ca.issue("old", [MX_HOST], expired=True))
    selfsigned = await smtp_server(self_signed(tmp_path, "self", "other.tlstest.test"))
    soon = await smtp_server(test_ca.issue("soon", [MX_HOST], days=5))
    plain = await smtp_server(None)
    silent = await smtp_server(None, silent=True)
    probes = []
    for server in (expired, selfsigned, soon, plain):
        probes.append(
            await probe_starttls(
                MX_HOST, address="127.0.0.1", port=server.port, cafile=test_ca.cafile, timeout=10
            )
        )
    probes.append(await probe_starttls(MX_HOST, address="127.0.0.1", port=silent.port, timeout=0.3))
    judged = [[f.code for f in judge_probe(p)] for p in probes]
    assert judged == [
        ["tls.certificate-expired"],
        ["tls.certificate-untrusted", "tls.name-mismatch"],
        ["tls.certificate-expiring"],
        ["tls.starttls-missing"],
        ["tls.temperror"],
    ]
    assert [certificate_problems(p) for p in probes] == [
        ("expired",),
        ("untrusted", "name-mismatch"),
        (),
        ("no-tls",),
        (),
    ]
    result = judge_probes(probes)
    assert result.status == "fail"  # no STARTTLS at one host is an error
    assert result.probed
    assert len(result.probes) == 5
    only_unknown = judge_probes(probes[-1:])
    assert only_unknown.status == "unknown"
    assert only_unknown.error
