"""Tokens, the token file, rate buckets, the domain check: the pieces on their own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcheck.errors import ConfigError
from mailcheck.serve import ServeConfig, read_tokens
from mailcheck.serve.auditor import validate_domain
from mailcheck.serve.guard import RateLimiter, TokenGuard, token_id
from mailcheck.serve.problems import Problem

TOKEN = "a-good-token-0123456789"


def test_token_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"# panel\n{TOKEN}\n\nsecond-token-0123456789\n")
    os.chmod(path, 0o600)
    assert read_tokens(path) == (TOKEN, "second-token-0123456789")
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        read_tokens(path)
    with pytest.raises(ConfigError, match="token file"):
        read_tokens(tmp_path / "missing")


def test_short_tokens_are_refused() -> None:
    with pytest.raises(ConfigError, match="at least 16"):
        ServeConfig(tokens=("short",))


def test_the_guard_names_the_token_without_showing_it() -> None:
    guard = TokenGuard([TOKEN])
    assert guard.check(f"Bearer {TOKEN}") == token_id(TOKEN)
    assert TOKEN not in token_id(TOKEN)
    for header in (None, "", "Bearer", f"Basic {TOKEN}", f"Bearer {TOKEN}x"):
        with pytest.raises(Problem) as refused:
            guard.check(header)
        assert refused.value.status == 401


def test_the_bucket_refills_with_the_clock() -> None:
    now = [0.0]
    limiter = RateLimiter(60, 2, clock=lambda: now[0])
    limiter.take("a")
    limiter.take("a")
    with pytest.raises(Problem) as refused:
        limiter.take("a")
    assert refused.value.headers["Retry-After"] == "1"
    limiter.take("b")  # another caller has its own bucket
    now[0] = 1.0
    limiter.take("a")
    assert limiter.refused == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Example.ORG.", "example.org"), ("bücher.example", "xn--bcher-kva.example")],
)
def test_validate_domain_normalises(text: str, expected: str) -> None:
    assert validate_domain(text) == expected


@given(st.text(max_size=400))
def test_validate_domain_gives_a_domain_or_a_400(text: str) -> None:
    result = _validated(text)
    if isinstance(result, Problem):
        assert result.status == 400
        # A fixed sentence: the input itself is never echoed.
        assert result.detail.startswith(("a domain name", "not a domain name", "an IP address"))
    else:
        name = result
        assert name == name.lower()
        assert "." in name
        assert len(name) <= 253
        assert all(ch.isalnum() or ch in "-." for ch in name)


def _validated(text: str) -> str | Problem:
    try:
        return validate_domain(text)
    except Problem as problem:
        return problem


@given(st.text(max_size=1200))
def test_any_authorization_header_is_a_token_or_a_401(header: str) -> None:
    guard = TokenGuard([TOKEN])
    result = _checked(guard, header)
    assert result == token_id(TOKEN) if isinstance(result, str) else result.status == 401


def _checked(guard: TokenGuard, header: str) -> str | Problem:
    try:
        return guard.check(header)
    except Problem as problem:
        return problem


@given(
    st.text(max_size=5000),
    st.sampled_from(["", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]),
)
def test_one_click_body_check_never_fails(body: str, content_type: str) -> None:
    from mailcheck.serve.hygiene_api import one_click_body

    assert isinstance(one_click_body(body, content_type), bool)
