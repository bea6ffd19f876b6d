"""``lint_message`` with DNS: the DMARC policy, the sending IP's reverse DNS and SPF result,
through the zone-serving test DNS server (tests/zones/bulklint*.zone, 198.51.100.17-19)."""

from __future__ import annotations

import pytest

from mailcheck import DnsResolver
from mailcheck.errors import ConfigError, ParseError
from mailcheck.lint import LintReport, Verdict, lint_message
from tests.dnsserver import DnsTestServer
from tests.lint.messages import HEADERS, MIME, UNSUBSCRIBE, newsletter, sign

ALL = ("baseline", "gmail-bulk", "yahoo-bulk", "microsoft-bulk")
GOOD_IP, UNCONFIRMED_IP, NO_PTR_IP = "198.51.100.17", "198.51.100.18", "198.51.100.19"


async def lint(message: bytes, resolver: DnsResolver, **options: object) -> LintReport:
    return await lint_message(message, profiles=ALL, resolver=resolver, **options)  # type: ignore[arg-type]


def verdicts(report: LintReport) -> dict[str, Verdict]:
    return {v.profile: v.verdict for v in report.verdicts}


async def test_a_compliant_newsletter_from_its_ip(resolver: DnsResolver) -> None:
    report = await lint(newsletter(), resolver, ip=GOOD_IP)
    assert report.findings == ()
    assert set(verdicts(report).values()) == {Verdict.ACCEPTED}
    assert all(v.not_checked == () for v in report.verdicts)


async def test_reverse_dns_not_confirmed_and_missing(resolver: DnsResolver) -> None:
    report = await lint(newsletter(), resolver, ip=UNCONFIRMED_IP)
    assert {f.code for f in report.findings} == {"rdns.not-confirmed"}
    assert verdicts(report)["gmail-bulk"] is Verdict.REJECTED  # 550 5.7.25
    assert verdicts(report)["yahoo-bulk"] is Verdict.AT_RISK
    assert verdicts(report)["microsoft-bulk"] is Verdict.ACCEPTED
    report = await lint(newsletter(), resolver, ip=NO_PTR_IP)
    assert {f.code for f in report.findings} == {"rdns.missing"}


async def test_spf_fail_for_an_ip_outside_the_record(resolver: DnsResolver) -> None:
    report = await lint(newsletter(), resolver, ip="203.0.113.10")  # mail.rep.test's IP
    (finding,) = report.for_code("lint.spf-fail")
    assert finding.details["result"] == "fail"
    assert finding.details["domain"] == "bulklint.test"
    assert verdicts(report)["microsoft-bulk"] is Verdict.REJECTED  # 550 5.7.515


async def test_spf_uses_mail_from_over_return_path(resolver: DnsResolver) -> None:
    report = await lint(newsletter(), resolver, ip=GOOD_IP, mail_from="bounce@news.bulklint.test")
    assert report.findings == ()
    report = await lint(newsletter(return_path=False), resolver, ip=GOOD_IP)
    for verdict in report.verdicts:
        assert "lint.spf-fail" in verdict.not_checked


async def test_dmarc_missing(resolver: DnsResolver) -> None:
    message = sign(
        HEADERS.replace(b"news@bulklint.test", b"news@example.lintnodmarc") + UNSUBSCRIBE + MIME,
        domain="example.lintnodmarc",
    )
    report = await lint(message, resolver, mail_from="b@example.lintnodmarc")
    assert {f.code for f in report.findings} == {"lint.dmarc-missing"}
    assert report.rejected_by == ("gmail-bulk", "yahoo-bulk", "microsoft-bulk")


async def test_the_domains_strict_alignment_modes_apply(resolver: DnsResolver) -> None:
    headers = HEADERS.replace(b"news@bulklint.test", b"news@strict.bulklint.test")
    message = sign(headers + UNSUBSCRIBE + MIME, domain="bulklint.test")
    offline = await lint_message(message, profiles=ALL, mail_from="b@bulklint.test")
    assert offline.findings == ()  # relaxed by default: aligned
    report = await lint(message, resolver, mail_from="b@bulklint.test")
    assert {f.code for f in report.findings} == {
        "lint.dkim-not-aligned",
        "lint.spf-not-aligned",
        "lint.not-aligned",
    }


async def test_a_dns_failure_is_could_not_check(
    dns_server: DnsTestServer, resolver: DnsResolver
) -> None:
    dns_server.behave("bulklint.test", servfail=True)
    dns_server.behave("17.100.51.198.in-addr.arpa", servfail=True)
    report = await lint(newsletter(), resolver, ip=GOOD_IP)
    found = {f.code for f in report.findings}
    assert found == {"lint.temperror", "rdns.temperror"}
    assert "lint.spf-fail" not in found
    assert "rdns.missing" not in found
    assert set(verdicts(report).values()) == {Verdict.UNKNOWN}
    assert report.status == "unknown"
    spf = next(f for f in report.findings if f.details.get("check") == "spf")
    assert spf.details["codes"] == ["lint.spf-fail"]


async def test_a_dmarc_lookup_failure_is_could_not_check(
    dns_server: DnsTestServer, resolver: DnsResolver
) -> None:
    dns_server.behave("_dmarc.bulklint.test", servfail=True)
    report = await lint(newsletter(), resolver)
    (finding,) = report.findings
    assert finding.code == "lint.temperror"
    assert finding.details["check"] == "dmarc"
    assert verdicts(report)["microsoft-bulk"] is Verdict.UNKNOWN
    assert verdicts(report)["baseline"] is Verdict.ACCEPTED  # a note only in baseline


async def test_a_certain_rejection_outranks_could_not_check(
    dns_server: DnsTestServer, resolver: DnsResolver
) -> None:
    dns_server.behave("_dmarc.bulklint.test", servfail=True)
    report = await lint(newsletter(signed=False), resolver)
    assert verdicts(report)["microsoft-bulk"] is Verdict.REJECTED


async def test_caller_mistakes(resolver: DnsResolver) -> None:
    with pytest.raises(ConfigError, match="resolver"):
        await lint_message(newsletter(), ip=GOOD_IP)
    with pytest.raises(ParseError):
        await lint_message(newsletter(), ip="not-an-ip", resolver=resolver)


async def test_dkim_signatures_are_verified_with_dns(resolver: DnsResolver) -> None:
    report = await lint(newsletter(), resolver)
    assert report.findings == ()
    tampered = newsletter().replace(b"here is the news.</p>", b"here is other news.</p>")
    report = await lint(tampered, resolver)
    (finding,) = report.findings
    assert finding.code == "lint.dkim-fail"
    assert finding.details["signatures"][0]["result"] == "fail"
    assert finding.details["aligned_only"] is True
    assert verdicts(report)["microsoft-bulk"] is Verdict.REJECTED
    offline = await lint_message(tampered, profiles=ALL)
    assert offline.findings == ()  # without DNS the signature is not verified
    assert "lint.dkim-fail" in offline.verdicts[0].not_checked


async def test_a_key_that_is_not_the_signers(resolver: DnsResolver) -> None:
    message = b"Return-Path: <b@bulklint.test>\r\n" + sign(
        HEADERS + UNSUBSCRIBE + MIME, selector="other"
    )
    report = await lint(message, resolver)
    assert {f.code for f in report.findings} == {"lint.dkim-fail"}
    unpublished = b"Return-Path: <b@bulklint.test>\r\n" + sign(
        HEADERS + UNSUBSCRIBE + MIME, selector="nokey"
    )
    (finding,) = (await lint(unpublished, resolver)).findings
    assert finding.code == "lint.dkim-fail"
    assert finding.details["signatures"][0]["result"] == "permerror"


async def test_an_aligned_signature_counts_over_a_passing_third_party_one(
    resolver: DnsResolver,
) -> None:
    """A passing signature by another domain does not make DMARC pass."""
    body = HEADERS + UNSUBSCRIBE + MIME
    third = sign(body, domain="example.lintnodmarc")  # published, passes, not aligned
    both = sign(third, selector="other")  # aligned, does not verify
    report = await lint(b"Return-Path: <b@esp.example>\r\n" + both, resolver)
    (finding,) = report.for_code("lint.dkim-fail")
    assert finding.details["aligned_only"] is True


async def test_a_dns_failure_on_the_dkim_key(
    dns_server: DnsTestServer, resolver: DnsResolver
) -> None:
    dns_server.behave("s2026._domainkey.bulklint.test", servfail=True)
    report = await lint(newsletter(), resolver)
    (finding,) = report.findings
    assert finding.code == "lint.temperror"
    assert finding.details["codes"] == ["lint.dkim-fail"]
    assert verdicts(report)["microsoft-bulk"] is Verdict.UNKNOWN
