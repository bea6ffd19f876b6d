"""DMARC lint: every invalid tag reported, fixes that keep the user's record, the policy
a receiver applies (RFC 7489 §6.3 and §6.6.3)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from hypothesis import given
from hypothesis import strategies as st

from mailcheck import CheckStatus, DnsResolver
from mailcheck.dmarc import audit_dmarc
from mailcheck.dmarc.record import lint_dmarc, parse_dmarc

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "report.schema.json").read_text())


async def test_every_invalid_tag_is_reported(resolver: DnsResolver) -> None:
    result = await audit_dmarc("typos.lint.dmarctest", resolver=resolver)
    errors = [f for f in result.findings if f.code == "dmarc.syntax-error"]
    assert [(f.details["tag"], f.details["repair"]) for f in errors] == [
        ("p", "quarantine"),
        ("rua", "mailto:dmarc@typos.lint.dmarctest"),
        ("pct", "50"),
        ("adkim", "r"),
    ]
    assert result.status is CheckStatus.FAIL
    # One fix repairs them all and keeps the user's own report address.
    fixes = {f.fix for f in errors}
    assert fixes == {
        '_dmarc.typos.lint.dmarctest. 3600 IN TXT "v=DMARC1; p=quarantine; '
        'rua=mailto:dmarc@typos.lint.dmarctest; pct=50; adkim=r"'
    }
    assert "dmarc-reports@" not in fixes.pop()
    # An invalid p: receivers apply none (RFC 7489 §6.6.3), whatever p meant to say.
    assert result.policy == "none"
    assert result.rua == ()  # no valid report URI: no report is sent


async def test_one_bad_tag_keeps_the_policy(resolver: DnsResolver) -> None:
    result = await audit_dmarc("badpct.lint.dmarctest", resolver=resolver)
    assert [f.details["tag"] for f in result.findings if f.code == "dmarc.syntax-error"] == ["pct"]
    assert result.policy == "reject"  # the bad pct is dropped, p=reject stands
    assert result.rua == ("mailto:d@badpct.lint.dmarctest",)


async def test_records_receivers_ignore_read_as_none(resolver: DnsResolver) -> None:
    for domain in ("notdmarc.lint.dmarctest", "twice.lint.dmarctest"):
        result = await audit_dmarc(domain, resolver=resolver)
        assert result.policy == "none", domain
        assert result.status is CheckStatus.FAIL
    missing = await audit_dmarc("nothing.lint.dmarctest", resolver=resolver)
    assert missing.policy is None  # no record at all: nothing applies


async def test_policy_none_fix_keeps_the_report_address(resolver: DnsResolver) -> None:
    result = await audit_dmarc("monitor.lint.dmarctest", resolver=resolver)
    (none,) = [f for f in result.findings if f.code == "dmarc.policy-none"]
    assert none.fix == (
        '_dmarc.monitor.lint.dmarctest. 3600 IN TXT "v=DMARC1; p=quarantine; '
        'rua=mailto:reports@monitor.lint.dmarctest"'
    )
    data = result.to_dict()
    jsonschema.validate(data, SCHEMA["properties"]["dmarc"] | {"$defs": SCHEMA["$defs"]})
    assert data["policy"] == "none"


def test_lint_matches_the_strict_parser_on_valid_records() -> None:
    text = "v=DMARC1; p=reject; sp=quarantine; rua=mailto:a@example.org; adkim=s; fo=1"
    lint = lint_dmarc(text)
    assert lint.errors == ()
    assert lint.fatal is None
    assert lint.record == parse_dmarc(text)


_VALUES = st.one_of(
    st.sampled_from(
        ["none", "quarantine", "reject", "quarantaine", "rej", "r", "s", "relaxed", "y", "n",
         "50", "50%", "101", "x", "a@example.org", "mailto:a@example.org", "mailto:",
         "http://x", "1:d", "bogus"]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789@.:%!", max_size=12),
)  # fmt: skip
_TAGS = ["p", "sp", "np", "psd", "t", "adkim", "aspf", "rua", "ruf", "fo", "pct", "rf", "ri"]


@given(st.dictionaries(st.sampled_from(_TAGS), _VALUES, max_size=8))
def test_lint_reports_each_invalid_tag_and_its_repair_parses(tags: dict[str, str]) -> None:
    text = "; ".join(["v=DMARC1", *(f"{k}={v}" for k, v in tags.items())])
    lint = lint_dmarc(text)
    if lint.fatal is not None:
        return  # an empty value or such: the tag-list itself is malformed
    invalid = []
    for name, value in tags.items():
        try:
            parse_dmarc(f"v=DMARC1; {name}={value}")
        except ValueError:
            invalid.append(name)
    assert [e.tag for e in lint.errors] == invalid
    repaired = parse_dmarc(lint.repaired_text())  # never raises
    assert repaired.p is not None
