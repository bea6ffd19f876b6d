"""mitigation_for: the From domain's DMARC policy (p, sp, np, inheritance) and the enforcers."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck import DnsResolver
from mailcheck.errors import ConfigError
from mailcheck.lists import (
    Enforcers,
    MitigationAction,
    MitigationError,
    MitigationReason,
    from_domain,
    load_enforcers,
    mitigation_for,
)
from tests.dnsserver import DnsTestServer


@pytest.mark.parametrize(
    ("address", "action", "reason", "policy", "tag"),
    [
        ("alice@reject.liststest", "rewrite-from", "policy", "reject", "p"),
        ("Bob <bob@quarantine.liststest>", "rewrite-from", "policy", "quarantine", "p"),
        ("carol@none.liststest", "none", "policy-none", "none", "p"),
        ("dan@org.liststest", "none", "policy-none", "none", "p"),
        ("erin@www.org.liststest", "rewrite-from", "policy", "reject", "sp"),
        ("frank@gone.org.liststest", "rewrite-from", "policy", "quarantine", "np"),
        ("gus@nopolicy.liststest", "none", "no-policy", None, None),
        ("hal@two.liststest", "none", "invalid-policy", None, None),
        ("ivy@broken.liststest", "none", "invalid-policy", None, None),
    ],
)
async def test_policy_decides(
    resolver: DnsResolver,
    address: str,
    action: str,
    reason: str,
    policy: str | None,
    tag: str | None,
) -> None:
    result = await mitigation_for(address, resolver=resolver)
    assert (str(result.action), str(result.reason)) == (action, reason)
    assert (result.policy, result.applied_tag) == (policy, tag)
    assert result.checked
    assert result.mitigate is (action != "none")


async def test_inherited_facts(resolver: DnsResolver) -> None:
    result = await mitigation_for("erin@www.org.liststest", resolver=resolver)
    assert result.inherited
    assert result.location == "_dmarc.org.liststest"
    assert result.organizational_domain == "org.liststest"
    assert result.record == "v=DMARC1; p=none; sp=reject; np=quarantine"
    assert result.to_dict()["action"] == "rewrite-from"


async def test_testing_flag_is_reported_not_relaxed(resolver: DnsResolver) -> None:
    result = await mitigation_for("bob@quarantine.liststest", resolver=resolver)
    assert result.testing
    assert result.action is MitigationAction.REWRITE_FROM


async def test_quarantine_can_be_left_alone(resolver: DnsResolver) -> None:
    result = await mitigation_for("bob@quarantine.liststest", resolver=resolver, quarantine=False)
    assert result.action is MitigationAction.NONE
    assert result.reason is MitigationReason.POLICY_NONE


async def test_wrap_is_answered_when_asked(resolver: DnsResolver) -> None:
    result = await mitigation_for("alice@reject.liststest", resolver=resolver, action="wrap")
    assert result.action is MitigationAction.WRAP


async def test_dns_failure_errs_on_the_safe_side(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("_dmarc.none.liststest", servfail=True)
    result = await mitigation_for("carol@none.liststest", resolver=resolver)
    assert result.reason is MitigationReason.COULD_NOT_CHECK
    assert result.action is MitigationAction.REWRITE_FROM
    assert not result.checked
    assert result.temperrors
    assert result.temperrors[0][0] == "_dmarc.none.liststest"


async def test_existence_unknown_takes_the_stricter_of_sp_and_np(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    dns_server.behave("www.org.liststest", servfail=True, rdtype="A")
    result = await mitigation_for("erin@www.org.liststest", resolver=resolver)
    assert (result.policy, result.applied_tag) == ("reject", "sp")
    assert ("www.org.liststest", result.temperrors[-1][1]) == result.temperrors[-1]


async def test_enforcer_overrides_p_none(resolver: DnsResolver, tmp_path: Path) -> None:
    path = tmp_path / "enforcers.toml"
    path.write_text(
        '[[enforcer]]\ndomain = "enforced.liststest"\npublished = "p=none"\n'
        'treat_as = "reject"\nbehaviour = "rejects anyway"\n'
        '[[enforcer.source]]\nurl = "https://example.org/report"\ndate = "2026-01-02"\n'
        'what = "a report"\n'
    )
    enforcers = load_enforcers(path)
    result = await mitigation_for("x@enforced.liststest", resolver=resolver, enforcers=enforcers)
    assert result.reason is MitigationReason.ENFORCER
    assert result.enforcer == "enforced.liststest"
    assert result.enforcer_sources == ("https://example.org/report",)
    plain = await mitigation_for("x@enforced.liststest", resolver=resolver, enforcers=Enforcers())
    assert plain.action is MitigationAction.NONE


def test_builtin_enforcers_cite_dated_sources() -> None:
    enforcers = load_enforcers()
    gmail = enforcers.match("gmail.com")
    assert gmail is not None
    assert gmail.treat_as == "reject"
    assert all(s.url.startswith("https://") and len(s.date) == 10 for s in gmail.sources)
    assert enforcers.match("googlemail.com") is not None
    assert enforcers.match("notgmail.com") is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('[[enforcer]]\ndomain = "x.org"\n', "non-empty"),
        (
            '[[enforcer]]\ndomain = "x.org"\npublished = "p"\ntreat_as = "none"\nbehaviour = "b"\n',
            "treat_as",
        ),
        (
            '[[enforcer]]\ndomain = "x.org"\npublished = "p"\ntreat_as = "reject"\n'
            'behaviour = "b"\n',
            "source",
        ),
        (
            '[[enforcer]]\ndomain = "x.org"\npublished = "p"\ntreat_as = "reject"\n'
            'behaviour = "b"\n[[enforcer.source]]\nurl = "https://a"\ndate = "last year"\n'
            'what = "w"\n',
            "YYYY-MM-DD",
        ),
        ("not toml [", "not TOML"),
    ],
)
def test_enforcers_file_is_validated(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "e.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=why):
        load_enforcers(path)


@pytest.mark.parametrize(
    "address",
    ["", "no address", "a@x.liststest, b@y.liststest", "undisclosed:;", "a@bad..liststest"],
)
async def test_bad_addresses_are_refused(resolver: DnsResolver, address: str) -> None:
    with pytest.raises(MitigationError):
        await mitigation_for(address, resolver=resolver)


async def test_idn_domain_is_asked_as_a_labels(
    resolver: DnsResolver, dns_server: DnsTestServer
) -> None:
    result = await mitigation_for("zoé@bücher.liststest", resolver=resolver)
    assert result.domain == "xn--bcher-kva.liststest"
    assert result.reason is MitigationReason.NO_POLICY
    assert any(q.name.startswith("_dmarc.xn--bcher-kva.liststest") for q in dns_server.log)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_from_domain_raises_only_mitigation_error(text: str) -> None:
    try:
        domain = from_domain(text)
    except MitigationError:
        return
    assert domain == domain.lower()
    assert domain.isascii()
