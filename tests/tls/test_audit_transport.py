"""Transport security inside ``audit_domain`` and ``mailcheck audit``: real STARTTLS servers,
a real HTTPS policy server, DNS from the test servers."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import jsonschema
import pytest

from mailcheck import DnsResolver, audit_domain, report_schema
from mailcheck.tls.audit import TlsOptions, audit_transport
from mailcheck.tls.dnssec import DnssecChecker
from mailcheck.tls.types import DnssecStatus, MtaStsMode, ProbeStatus
from tests.dnsserver import DnsTestServer
from tests.tls.certs import TestCa
from tests.tls.conftest import DaneWorld, StartSmtp
from tests.tls.https_server import PolicyServer

TLSTEST_MX = ["mx1.tlstest.test", "mx2.tlstest.test", "mx3.tlstest.test"]


async def test_full_audit_with_probe(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer, smtp_server: StartSmtp
) -> None:
    server = await smtp_server(session_ca.issue("mxs", TLSTEST_MX))
    options = TlsOptions(
        smtp_port=server.port,
        https_port=policies.port,
        cafile=session_ca.cafile,
        allow_private=True,
        probe_timeout=10,
        fetch_timeout=10,
    )
    report = await audit_domain(
        "tlstest.test", resolver=resolver, reputation=False, probe_smtp=True, tls=options
    )
    transport = report.transport
    assert transport is not None
    assert [p.host for p in transport.starttls.probes] == TLSTEST_MX
    assert all(
        p.status is ProbeStatus.TLS and p.chain_valid and p.name_matches
        for p in transport.starttls.probes
    )
    assert server.connections == 3
    assert transport.mtasts.mode is MtaStsMode.ENFORCE
    assert transport.tlsrpt.rua == (
        "mailto:tls-reports@tlstest.test",
        "https://reports.tlstest.test/v1",
    )
    tls_codes = sorted(
        f.code
        for f in report.findings
        if f.code.split(".")[0] in {"tls", "mtasts", "tlsrpt", "dnssec", "dane"}
    )
    assert tls_codes == ["dnssec.not-checked"]
    data = report.to_dict()
    jsonschema.validate(data, report_schema())
    assert all("_chain" not in probe for probe in data["transport"]["starttls"]["probes"])


async def test_probe_is_opt_in(resolver: DnsResolver, dns_server: DnsTestServer) -> None:
    report = await audit_domain(
        "tlstest.test", resolver=resolver, reputation=False, tls=TlsOptions(fetch_timeout=5)
    )
    assert report.transport is not None
    assert report.transport.starttls.probed is False
    assert report.transport.starttls.probes == ()
    # The guard refused the loopback policy host: nothing was fetched from it.
    assert "mtasts.policy-address-refused" in {f.code for f in report.findings}
    off = await audit_domain("tlstest.test", resolver=resolver, reputation=False, transport=False)
    assert off.transport is None


async def test_unreachable_hosts_are_unknown_not_missing(
    resolver: DnsResolver, session_ca: TestCa, policies: PolicyServer, smtp_server: StartSmtp
) -> None:
    silent = await smtp_server(None, silent=True)
    options = TlsOptions(
        smtp_port=silent.port,
        https_port=policies.port,
        cafile=session_ca.cafile,
        allow_private=True,
        probe_timeout=0.3,
    )
    report = await audit_domain(
        "tlstest.test", resolver=resolver, reputation=False, probe_smtp=True, tls=options
    )
    assert report.transport is not None
    assert {p.status for p in report.transport.starttls.probes} == {ProbeStatus.UNKNOWN}
    codes = [f.code for f in report.findings]
    assert codes.count("tls.temperror") == 3
    assert "tls.starttls-missing" not in codes
    assert report.transport.starttls.status == "unknown"
    assert (
        report.status != "unknown"
    )  # a probe that could not connect leaves the domain at worst warn


async def test_dane_and_dnssec_through_the_audit(
    dane: DaneWorld, session_ca: TestCa, smtp_server: StartSmtp
) -> None:
    server = await smtp_server(dane.certificate)
    resolver = DnsResolver([dane.server.address], timeout=2.0)
    checker = DnssecChecker([dane.server.address], trust_anchors=dane.anchors, timeout=2.0)
    options = TlsOptions(
        smtp_port=server.port,
        cafile=session_ca.cafile,
        dnssec=checker,
        probe_timeout=10,
        allow_private=True,
    )
    result = await audit_transport(
        "tlssec.test",
        resolver=resolver,
        hosts=[("mx1.tlssec.test", ["127.0.0.1"]), ("mx2.tlssec.test", ["::1", "127.0.0.1"])],
        options=dataclasses_replace(options, probe_smtp=True),
    )
    assert result.dnssec.dnssec is DnssecStatus.SECURE
    assert [h.matched is not None and len(h.matched) for h in result.dane.hosts] == [1, 1]
    assert sorted(f.code for f in result.dane.findings) == ["dane.no-rollover"]
    assert [p.address for p in result.starttls.probes] == ["127.0.0.1", "127.0.0.1"]  # IPv4 first


def dataclasses_replace(options: TlsOptions, **changes: object) -> TlsOptions:
    return dataclasses.replace(options, **changes)  # type: ignore[arg-type]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailcheck.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_cli_probe_smtp_and_no_transport(dns_server: DnsTestServer) -> None:
    ns = ["--nameserver", dns_server.address, "--no-reputation", "--format", "json"]
    # Port 25 of 127.0.0.1 has no server here: the probe is unknown, never "no TLS".
    probed = run_cli("audit", "bare.tlstest.test", *ns, "--probe-smtp")
    data = json.loads(probed.stdout)
    assert probed.returncode in (0, 1), probed.stderr
    probes = data["transport"]["starttls"]["probes"]
    assert [p["status"] for p in probes] == ["unknown"]
    assert "tls.temperror" in {f["code"] for f in data["findings"]}
    off = run_cli("audit", "bare.tlstest.test", *ns, "--no-transport")
    assert json.loads(off.stdout)["transport"] is None
    bad = run_cli("audit", "bare.tlstest.test", *ns, "--no-transport", "--probe-smtp")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
    text = run_cli("audit", "tlstest.test", "--nameserver", dns_server.address, "--no-reputation")
    # The record is there; the policy host is loopback, which the guard refuses.
    assert "MTA-STS record, policy not read" in text.stdout
    assert "DNSSEC not checked" in text.stdout


async def test_probe_refuses_private_addresses_by_default(
    resolver: DnsResolver, smtp_server: StartSmtp
) -> None:
    server = await smtp_server(None)
    result = await audit_transport(
        "bare.tlstest.test",
        resolver=resolver,
        hosts=[("mx1.bare.tlstest.test", ["127.0.0.1"]), ("mx2.bare.tlstest.test", ["10.1.2.3"])],
        options=TlsOptions(probe_smtp=True, smtp_port=server.port),
    )
    assert [(p.host, p.status) for p in result.starttls.probes] == [
        ("mx1.bare.tlstest.test", ProbeStatus.UNKNOWN),
        ("mx2.bare.tlstest.test", ProbeStatus.UNKNOWN),
    ]
    assert all("not a public address" in (p.error or "") for p in result.starttls.probes)
    assert server.connections == 0
