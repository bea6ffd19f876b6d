"""The TLS-RPT check against the DNS test server."""

from __future__ import annotations

import pytest

from mailcheck import DnsResolver
from mailcheck.tls.tlsrpt import audit_tlsrpt
from tests.dnsserver import DnsTestServer


async def test_record_and_destinations(resolver: DnsResolver) -> None:
    result = await audit_tlsrpt("tlstest.test", resolver=resolver)
    assert result.findings == ()
    assert result.status == "pass"
    assert result.rua == ("mailto:tls-reports@tlstest.test", "https://reports.tlstest.test/v1")


@pytest.mark.parametrize(
    ("domain", "code", "status"),
    [
        ("bare.tlstest.test", "tlsrpt.missing", "pass"),
        ("multi.tlstest.test", "tlsrpt.multiple-records", "fail"),
        ("badrec.tlstest.test", "tlsrpt.syntax-error", "fail"),
    ],
)
async def test_findings(domain: str, code: str, status: str, resolver: DnsResolver) -> None:
    result = await audit_tlsrpt(domain, resolver=resolver)
    assert [f.code for f in result.findings] == [code]
    assert result.status == status


async def test_dns_failure_is_unknown(resolver: DnsResolver, dns_server: DnsTestServer) -> None:
    dns_server.behave("_smtp._tls.tlstest.test", servfail=True)
    result = await audit_tlsrpt("tlstest.test", resolver=resolver)
    assert [f.code for f in result.findings] == ["tlsrpt.temperror"]
    assert result.status == "unknown"
