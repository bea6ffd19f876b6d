"""A caller's bad IP argument is one clear error naming the value, never an ExceptionGroup."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailcheck import DnsResolver, IpReport, MailcheckError, ZoneResolver, check_ip
from mailcheck.audit import audit_domain
from mailcheck.reputation import Catalogue

ZONES = sorted((Path(__file__).parent.parent / "zones").glob("*.zone"))
OFFLINE = ZoneResolver(ZONES)

BAD = ["fe80::1%eth0", "fe80::1%1", "::1%", "203.0.113.1/32", "203.0.113.256", "", " ", "1.2.3"]


@pytest.mark.parametrize("value", BAD)
async def test_check_ip_refuses_with_the_value_named(value: str, catalogue: Catalogue) -> None:
    with pytest.raises(MailcheckError) as caught:
        await check_ip(value, resolver=OFFLINE, catalogue=catalogue)
    assert isinstance(caught.value, ValueError)
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize("value", BAD)
async def test_audit_domain_refuses_bad_ips(value: str) -> None:
    with pytest.raises(MailcheckError) as caught:
        await audit_domain("good.audittest", ips=[value], resolver=DnsResolver(["127.0.0.1:9"]))
    assert isinstance(caught.value, ValueError)
    assert repr(value) in str(caught.value)


def _check(value: str, catalogue: Catalogue) -> IpReport | None:
    try:
        return asyncio.run(check_ip(value, resolver=OFFLINE, catalogue=catalogue))
    except ValueError as exc:
        # Anything else (ExceptionGroup, SyntaxError, a bare ValueError) fails the test.
        if not isinstance(exc, MailcheckError):
            raise
        return None


_ADDRESSES = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=6).map(lambda a: f"{a}%{'eth0'}"),
    st.text(max_size=60),
    st.from_regex(r"[0-9a-fA-F:.%]{0,45}", fullmatch=True),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_ADDRESSES)
def test_any_string_works_or_is_a_clear_error(value: str, catalogue: Catalogue) -> None:
    report = _check(value, catalogue)
    if report is not None:
        assert "%" not in report.ip
