"""The progress of ``mailcheck send``, on stderr only (stdout is the summary, data).

On a terminal: a live table, one row per provider (delivered, waiting, next attempt, rate,
why mail waits), redrawn every second. Otherwise (a log, journald, cron's mail): every
``every`` seconds one compact line for the whole run and one per provider that has mail
waiting. Remote text (the reply quoted in ``why``) is printed with control characters
escaped; colours follow :func:`mailcheck.cli.render.make_console` and ``NO_COLOR``.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TextIO

from rich.live import Live
from rich.table import Table
from rich.text import Text

from mailcheck.cli import render

if TYPE_CHECKING:
    from mailcheck.sending import ProviderProgress, SendProgress

__all__ = ["clean", "describe", "progress_line", "report_progress", "when"]

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Seconds between two redraws of the live table.
REDRAW = 1.0


def clean(text: str) -> str:
    """Remote text printed as plain text, without control characters."""
    return _CONTROL_RE.sub("?", text)


def when(at: float | None, now: float) -> str:
    """``at`` (wall clock) as a short delay from ``now``: ``now``, ``in 4 min``, ``in 2 h``."""
    if at is None:
        return "-"
    left = at - now
    if left < 1:
        return "now"
    if left < 90:
        return f"in {left:.0f} s"
    if left < 5400:
        return f"in {left / 60:.0f} min"
    return f"in {left / 3600:.1f} h"


def rate(provider: ProviderProgress) -> str:
    """The pace and why it is that: ``1200/h (probing)``."""
    if provider.rate_per_hour is None:
        return "-"
    return f"{provider.rate_per_hour:.0f}/h ({provider.rate_reason})"


def describe(provider: ProviderProgress, now: float) -> str:
    """One provider in a line: ``orange: 3 delivered, 130 waiting, paused 5 min after ...``."""
    parts = [f"{provider.delivered} delivered"]
    parts += [
        f"{n} {word}"
        for n, word in ((provider.bounced, "bounced"), (provider.expired, "expired"))
        if n
    ]
    if provider.waiting:
        parts.append(f"{provider.waiting} waiting")
        if provider.why:
            parts.append(clean(provider.why))
        if provider.next_attempt is not None:
            parts.append(f"next attempt {when(provider.next_attempt, now)}")
    if provider.rate_per_hour is not None and provider.waiting:
        parts.append(f"rate {rate(provider)}")
    return f"{clean(provider.group)}: " + ", ".join(parts)


def progress_line(progress: SendProgress) -> str:
    """The whole run in a line."""
    return (
        f"{progress.delivered} delivered, {progress.bounced} bounced, "
        f"{progress.expired} expired, {progress.waiting} waiting"
    )


def _table(progress: SendProgress, now: float) -> Table:
    table = Table(title=progress_line(progress), title_justify="left", expand=False)
    for column in ("provider", "delivered", "bounced", "waiting", "next attempt", "rate", "why"):
        numbers = column in ("delivered", "bounced", "waiting")
        table.add_column(column, justify="right" if numbers else "left", overflow="fold")
    for p in progress.providers:
        failed = p.bounced + p.expired
        table.add_row(
            Text(clean(p.group)),
            Text(str(p.delivered), style="green" if p.delivered else ""),
            Text(str(failed), style="red" if failed else ""),
            Text(str(p.waiting), style="yellow" if p.waiting else ""),
            when(p.next_attempt, now) if p.waiting else "",
            rate(p),
            Text(clean(p.why)),
        )
    return table


async def report_progress(
    fetch: Callable[[], Awaitable[SendProgress]],
    *,
    stream: TextIO,
    every: float,
    clock: Callable[[], float] = time.time,
) -> None:
    """Show progress on ``stream`` until cancelled: a live table on a terminal, else lines.

    Args:
        fetch: returns the current progress (``sender.progress``).
        stream: where to write (stderr).
        every: seconds between two sets of log lines (off a terminal).
        clock: wall-clock seconds, to show delays.
    """
    if stream.isatty():
        color = False if os.environ.get("NO_COLOR") else None
        console = render.make_console(stream, color=color)
        # redirect_stdout=False: stdout is data (a summary, JSON) and must reach its pipe;
        # what is written to stderr meanwhile (a signal's notice) prints above the table.
        with Live(
            console=console,
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=True,
        ) as live:
            while True:
                live.update(_table(await fetch(), clock()), refresh=True)
                await asyncio.sleep(REDRAW)
    while True:
        progress = await fetch()
        now = clock()
        stamp = time.strftime("%H:%M:%S", time.localtime(now))
        lines = [f"{stamp} {progress_line(progress)}"]
        lines += [f"{stamp}   {describe(p, now)}" for p in progress.providers if p.waiting]
        stream.write("".join(f"mailcheck: {line}\n" for line in lines))
        stream.flush()
        await asyncio.sleep(every)
