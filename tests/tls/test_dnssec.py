"""DNSSEC: zones signed in the fixture, validated here from trust anchors, and by a real
unbound whose AD bit the checker trusts."""

from __future__ import annotations

import pytest

from mailcheck.errors import ConfigError
from mailcheck.tls.dnssec import DnssecChecker
from mailcheck.tls.dnssec_audit import audit_dnssec
from mailcheck.tls.types import DnssecStatus
from tests.tls.conftest import DaneWorld
from tests.tls.unbound import Unbound


def chain_checker(dane: DaneWorld, anchors: tuple[str, ...] | None = None) -> DnssecChecker:
    return DnssecChecker([dane.server.address], trust_anchors=anchors or dane.anchors, timeout=2.0)


CASES = [
    ("tlssec.test", "MX", DnssecStatus.SECURE),
    ("_25._tcp.mx1.tlssec.test", "TLSA", DnssecStatus.SECURE),
    ("_25._tcp.mx6.tlssec.test", "TLSA", DnssecStatus.BOGUS),
    ("tlsbogus.test", "MX", DnssecStatus.BOGUS),
    ("tlstest.test", "MX", DnssecStatus.INSECURE),
    ("_25._tcp.mx5.tlssec.test", "TLSA", DnssecStatus.SECURE),  # NXDOMAIN in a signed zone
]


@pytest.mark.parametrize(("name", "rdtype", "status"), CASES)
async def test_chain_from_trust_anchor(
    dane: DaneWorld, name: str, rdtype: str, status: DnssecStatus
) -> None:
    answer = await chain_checker(dane).lookup(name, rdtype)
    assert answer.status is status, answer.reason


async def test_chain_records_come_with_the_answer(dane: DaneWorld) -> None:
    answer = await chain_checker(dane).lookup("_25._tcp.mx2.tlssec.test", "TLSA")
    assert answer.status is DnssecStatus.SECURE
    assert len(answer.records) == 2
    assert answer.zone == "tlssec.test"


async def test_wrong_trust_anchor_is_bogus(dane: DaneWorld) -> None:
    # The other zone's key is no anchor of tlssec.test.
    wrong = dane.zones[1].dnskey.replace("tlsbogus.test.", "tlssec.test.")
    answer = await chain_checker(dane, (wrong,)).lookup("tlssec.test", "MX")
    assert answer.status is DnssecStatus.BOGUS
    assert "trust anchor" in (answer.reason or "")


async def test_dnskey_anchor_works_like_ds(dane: DaneWorld) -> None:
    answer = await chain_checker(dane, (dane.zones[0].dnskey,)).lookup("tlssec.test", "MX")
    assert answer.status is DnssecStatus.SECURE


@pytest.mark.parametrize(("name", "rdtype", "status"), CASES)
async def test_ad_bit_of_a_real_unbound(
    dane: DaneWorld, unbound: Unbound, name: str, rdtype: str, status: DnssecStatus
) -> None:
    checker = DnssecChecker([unbound.address], trust_ad=True, timeout=5.0)
    answer = await checker.lookup(name, rdtype)
    assert answer.status is status, answer.reason


async def test_audit_dnssec(dane: DaneWorld) -> None:
    checker = chain_checker(dane)
    secure = await audit_dnssec("tlssec.test", checker=checker)
    assert secure.findings == ()
    assert secure.dnssec is DnssecStatus.SECURE
    assert secure.method == "chain"
    bogus = await audit_dnssec("tlsbogus.test", checker=checker)
    assert [f.code for f in bogus.findings] == ["dnssec.bogus"]
    assert bogus.status == "fail"
    unsigned = await audit_dnssec("tlstest.test", checker=checker)
    assert [f.code for f in unsigned.findings] == ["dnssec.unsigned"]
    assert unsigned.status == "pass"
    unchecked = await audit_dnssec("tlstest.test", checker=None)
    assert [f.code for f in unchecked.findings] == ["dnssec.not-checked"]


async def test_dns_failure_is_unknown(dane: DaneWorld) -> None:
    dane.server.behave("tlssec.test", drop=True)
    checker = DnssecChecker([dane.server.address], trust_ad=True, timeout=0.3)
    result = await audit_dnssec("tlssec.test", checker=checker)
    assert [f.code for f in result.findings] == ["dnssec.temperror"]
    assert result.status == "unknown"


def test_bad_configuration() -> None:
    with pytest.raises(ConfigError):
        DnssecChecker(["127.0.0.1"])
    with pytest.raises(ConfigError):
        DnssecChecker(["127.0.0.1"], trust_ad=True, trust_anchors=["x. DS 1 13 2 00"])
    with pytest.raises(ConfigError):
        DnssecChecker(["127.0.0.1"], trust_anchors=["example. A 192.0.2.1"])
    with pytest.raises(ConfigError):
        DnssecChecker(["127.0.0.1"], trust_anchors=["example. DS nonsense"])
