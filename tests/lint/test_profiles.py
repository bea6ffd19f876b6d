"""The profile file: the built-in one is valid and sourced; the validator refuses mistakes."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck.codes import REGISTRY
from mailcheck.errors import ConfigError
from mailcheck.lint import ProfileSet, RuleAction, lint_offline
from mailcheck.lint.profiles import parse_profiles
from tests.lint.messages import newsletter

DOCS = Path(__file__).parents[2] / "docs" / "bulk-sender-rules.md"


def test_the_builtin_profiles() -> None:
    profiles = ProfileSet.builtin()
    assert profiles.names == ("baseline", "gmail-bulk", "yahoo-bulk", "microsoft-bulk")
    for name in profiles.names:
        for rule in profiles.get(name).rules:
            assert rule.source, (name, rule.name)
            assert rule.summary, (name, rule.name)
            assert datetime.date.fromisoformat(rule.date) <= datetime.date(2026, 12, 6)


def test_every_lint_code_counts_in_baseline_or_a_provider() -> None:
    profiles = ProfileSet.builtin()
    named = {c for n in profiles.names for r in profiles.get(n).rules for c in r.codes}
    lint_codes = {c for c in REGISTRY if c.startswith("lint.") and c != "lint.temperror"}
    assert lint_codes <= named


def test_dated_provider_requirements() -> None:
    gmail = ProfileSet.builtin().get("gmail-bulk")
    unsubscribe = gmail.rule_for("lint.unsubscribe-not-signed")
    assert unsubscribe is not None
    assert unsubscribe.date == "2024-06-01"
    microsoft = ProfileSet.builtin().get("microsoft-bulk")
    auth = microsoft.rule_for("lint.dkim-missing")
    assert auth is not None
    assert auth.action is RuleAction.REJECTED
    assert auth.date == "2025-05-05"
    assert "5.7.515" in auth.summary


def test_the_docs_table_lists_every_rule() -> None:
    text = DOCS.read_text(encoding="utf-8")
    profiles = ProfileSet.builtin()
    for name in profiles.names:
        for rule in profiles.get(name).rules:
            assert f"| `{name}` | {rule.name} |" in text, (name, rule.name)


def rule(**changes: Any) -> dict[str, Any]:
    base = {
        "name": "r",
        "action": "rejected",
        "codes": ["lint.dkim-missing"],
        "source": "RFC 6376",
        "date": "2011-09-01",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "no \\[profile.NAME\\]"),
        ({"profile": {}, "extra": 1}, "unknown top-level"),
        ({"profile": {"Bad Name": {"provider": "x", "rule": [rule()]}}}, "lower-case"),
        ({"profile": {"p": {"provider": "x"}}}, "no \\[\\[profile.p.rule\\]\\]"),
        ({"profile": {"p": {"rule": [rule()]}}}, "provider must be"),
        ({"profile": {"p": {"provider": "x", "colour": 1, "rule": [rule()]}}}, "unknown key"),
        ({"profile": {"p": {"provider": "x", "rule": [rule(action="junk")]}}}, "action 'junk'"),
        ({"profile": {"p": {"provider": "x", "rule": [rule(codes=["spf.missing"])]}}}, "lint"),
        ({"profile": {"p": {"provider": "x", "rule": [rule(codes=["lint.nope"])]}}}, "lint"),
        ({"profile": {"p": {"provider": "x", "rule": [rule(codes=[])]}}}, "non-empty list"),
        ({"profile": {"p": {"provider": "x", "rule": [rule(date="May 2025")]}}}, "YYYY-MM-DD"),
        ({"profile": {"p": {"provider": "x", "rule": [rule(source=None)]}}}, "source must"),
        ({"profile": {"p": {"provider": "x", "rule": [rule(), rule(name="s")]}}}, "is in rules"),
        ({"profile": {"p": {"provider": "x", "rule": [rule(why=1)]}}}, "unknown key"),
    ],
)
def test_the_validator_refuses(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_profiles(data)


def test_a_user_profile_file_extends_the_builtin_ones(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        '[profile.strict-list]\nprovider = "Our relay"\n'
        '[[profile.strict-list.rule]]\nname = "dates"\naction = "rejected"\n'
        'codes = ["lint.line-long"]\nsource = "house rule"\ndate = "2026-12-01"\n',
        encoding="utf-8",
    )
    profiles = ProfileSet.from_file(path)
    assert "strict-list" in profiles
    assert "gmail-bulk" in profiles
    long_line = newsletter().replace(b"here is the news.</p>", b"x" * 80 + b"</p>")
    report = lint_offline(long_line, profiles=("strict-list",), profile_set=profiles)
    assert report.rejected_by == ("strict-list",)
    assert ProfileSet.from_file(path, extend_builtin=False).names == ("strict-list",)


def test_an_unreadable_profile_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[profile.x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read"):
        ProfileSet.from_file(path)
    with pytest.raises(ConfigError, match="cannot read"):
        ProfileSet.from_file(tmp_path / "missing.toml")


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    | st.sampled_from(["rejected", "at-risk", "note", "lint.dkim-missing", "2024-02-01"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(
        st.sampled_from(["profile", "rule", "name", "action", "codes", "source", "date",
                         "provider", "summary", "p", "x"]),
        inner,
        max_size=5,
    ),
    max_leaves=30,
)  # fmt: skip


@settings(max_examples=300)
@given(_VALUES)
def test_any_data_is_a_profile_set_or_a_config_error(data: Any) -> None:
    """A user's file is parsed TOML of any shape: nothing but ConfigError escapes."""
    try:
        profiles = parse_profiles(data if isinstance(data, dict) else {"profile": data})
    except ConfigError:
        return
    for profile in profiles:
        assert profile.rules
