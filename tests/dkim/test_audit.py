"""The DKIM key audit against a real DNS server."""

from __future__ import annotations

import datetime as dt

from mailcheck import CheckStatus, DnsResolver, Severity
from mailcheck.dkim.audit import audit_dkim, probe_selectors
from tests.dnsserver import DnsTestServer


def by_selector(result: object) -> dict[str, object]:
    return {s.selector: s for s in result.selectors}  # type: ignore[attr-defined]


def codes_of(result: object) -> list[str]:
    return sorted(f.code for f in result.findings)  # type: ignore[attr-defined]


async def test_good_keys_found_by_probe(resolver: DnsResolver, dns_server: DnsTestServer) -> None:
    result = await audit_dkim("good.dkimkeys.test", resolver=resolver, selectors=["ed"])
    found = by_selector(result)
    assert set(found) == {"ed", "mail", "selector1"}
    mail = found["mail"]
    assert (mail.key_type, mail.key_bits, mail.strings) == ("rsa", 2048, 3)  # type: ignore[attr-defined]
    assert found["ed"].key_bits == 256  # type: ignore[attr-defined]
    assert found["selector1"].cname_chain == ("sel1.provider.dkimkeys.test",)  # type: ignore[attr-defined]
    assert codes_of(result) == ["dkim.cname"]
    assert result.status is CheckStatus.PASS
    # Every probe went out once, all concurrently.
    for selector in probe_selectors():
        assert dns_server.count(f"{selector}._domainkey.good.dkimkeys.test", "TXT") == 1


async def test_weak_keys(resolver: DnsResolver) -> None:
    result = await audit_dkim("weak.dkimkeys.test", resolver=resolver, selectors=["old"])
    assert codes_of(result) == [
        "dkim.key-revoked",
        "dkim.key-testing",
        "dkim.key-too-short",
        "dkim.key-weak",
        "dkim.sha1-only",
    ]
    found = by_selector(result)
    assert found["s1"].key_bits == 512  # type: ignore[attr-defined]
    assert found["old"].revoked  # type: ignore[attr-defined]
    assert result.status is CheckStatus.FAIL


async def test_revoked_probe_is_only_info(resolver: DnsResolver) -> None:
    result = await audit_dkim("weak.dkimkeys.test", resolver=resolver, selectors=["dkim"])
    revoked = [f for f in result.findings if f.code == "dkim.key-revoked"]
    assert revoked == []  # "old" is not probed, so not seen


async def test_bad_records(resolver: DnsResolver) -> None:
    result = await audit_dkim("bad.dkimkeys.test", resolver=resolver)
    assert codes_of(result) == ["dkim.key-invalid", "dkim.key-invalid", "dkim.multiple-records"]
    invalid = [f for f in result.findings if f.code == "dkim.key-invalid"]
    assert {f.details["selector"] for f in invalid} == {"mail", "dkim"}


async def test_ed25519_only(resolver: DnsResolver) -> None:
    result = await audit_dkim("edonly.dkimkeys.test", resolver=resolver)
    assert codes_of(result) == ["dkim.ed25519-only"]


async def test_nothing_found_is_info_but_requested_missing_is_error(
    resolver: DnsResolver,
) -> None:
    result = await audit_dkim("none.dkimkeys.test", resolver=resolver)
    assert codes_of(result) == ["dkim.no-selector-found"]
    assert result.findings[0].severity is Severity.INFO
    assert result.status is CheckStatus.PASS
    named = await audit_dkim("none.dkimkeys.test", resolver=resolver, selectors=["mine"])
    assert "dkim.not-published" in codes_of(named)
    assert named.status is CheckStatus.FAIL


async def test_servfail_is_unknown_never_missing(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("mail._domainkey.none.dkimkeys.test", servfail=True)
    result = await audit_dkim("none.dkimkeys.test", resolver=resolver, selectors=["mail"])
    assert codes_of(result) == ["dkim.temperror"]
    assert result.status is CheckStatus.UNKNOWN


def test_probe_names_follow_the_date() -> None:
    names = probe_selectors(dt.date(2026, 1, 15))
    assert {"2026", "2025", "202601", "202512", "202511", "selector1", "google"} <= set(names)
    assert len(names) == len(set(names))
