"""The CLI's shared bulk runner and progress bar."""

from __future__ import annotations

import asyncio
import io
import sys

import pytest

from mailcheck.cli.common import progress_bar, run_pool
from mailcheck.errors import MailcheckError, ParseError


async def test_run_pool_reports_each_item_bad_ones_included_within_its_concurrency() -> None:
    running, most = 0, 0
    seen: dict[int, object] = {}

    async def work(n: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001)
        running -= 1
        if n % 5 == 0:
            raise ParseError(str(n), 0, "bad item")
        return n * n

    await run_pool(range(20), 3, work, seen.__setitem__)
    assert sorted(seen) == list(range(20))
    assert most == 3
    assert all(isinstance(seen[n], MailcheckError) for n in (0, 5, 10, 15))
    assert seen[7] == 49


async def test_run_pool_does_not_swallow_unexpected_errors() -> None:
    async def work(n: int) -> int:
        raise RuntimeError("bug")

    with pytest.raises(ExceptionGroup):
        await run_pool([1], 1, work, lambda *_: None)


def test_progress_bar_draws_nothing_when_stderr_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with progress_bar("checking", 3) as advance:
        for _ in range(3):
            advance()
    assert err.getvalue() == ""
