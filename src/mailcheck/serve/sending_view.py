"""The sending side seen from the spool, read-only: per provider, and the last 24 hours.

The spool is opened with :meth:`SqliteSpool.open_readonly` (a ``mode=ro`` URI after the
schema check): the service never alters it and runs safely beside ``mailcheck send
--forever``. Each recipient domain is put in its provider group through the provider
dataset and its MX (cached for :data:`GROUP_TTL`, at most :data:`MAX_ROUTED` new domains
per look); the learned paces and pauses come from the shaping state the Sender keeps in the
spool, read through the same classes the Sender uses (:class:`Shaper` over a
:class:`MemoryBackend` loaded from the spool), so the figures are the Sender's own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailcheck.errors import MailcheckError
from mailcheck.lookup.resolver import Resolver
from mailcheck.sending.progress import UNROUTED, SendProgress, build_progress, merge_shaping
from mailcheck.sending.providers import ProviderSet
from mailcheck.sending.shaper import Shaper
from mailcheck.sending.shaping import MemoryBackend
from mailcheck.sending.spool import SqliteSpool

#: Seconds a domain's provider group is remembered.
GROUP_TTL = 3600.0
#: New domains routed per look (their MX asked); the others wait for the next look.
MAX_ROUTED = 200
#: Domains whose group is remembered at most.
MAX_REMEMBERED = 100_000
#: MX lookups in flight while routing.
ROUTE_CONCURRENCY = 10
#: Hours in the chart.
HOURS = 24


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HourlyCounts:
    """Deliveries and deferrals of one provider group per hour, oldest hour first.

    Attributes:
        group: the provider group.
        delivered: ``HOURS`` counts.
        deferred: ``HOURS`` counts.
    """

    group: str
    delivered: tuple[int, ...]
    deferred: tuple[int, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SendingView:
    """What the dashboard and ``/api/v1/spool`` show.

    Attributes:
        states: recipients per state.
        progress: per provider group (delivered, waiting, paused until and why, rate).
        hourly: the last 24 hours per group; ``start`` is the wall time of the first hour.
        start: wall-clock start of the chart.
        now: wall-clock time of the look.
    """

    states: dict[str, int]
    progress: SendProgress
    hourly: tuple[HourlyCounts, ...]
    start: float
    now: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "now": self.now,
            "states": dict(self.states),
            "progress": self.progress.to_dict(),
            "last_24h": {
                "start": self.start,
                "hour_seconds": 3600,
                "groups": [dataclasses.asdict(h) for h in self.hourly],
            },
        }


class SpoolWatcher:
    """Looks at a spool read-only (see the module docstring).

    Args:
        path: the spool (a directory holding ``spool.db``, or the file).
        resolver: the resolver for the MX of recipient domains.
        providers: the provider dataset (default: the built-in one).
        clock: wall-clock seconds.
    """

    def __init__(
        self,
        path: str,
        *,
        resolver: Resolver,
        providers: ProviderSet | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        file = Path(path)
        self.path = str(file / "spool.db" if file.is_dir() else file)
        self.resolver = resolver
        self.providers = providers or ProviderSet.load()
        self.clock = clock
        self._groups: dict[str, tuple[str, float]] = {}

    async def look(self) -> SendingView:
        """Read the spool once.

        Raises:
            ConfigError: the file is not a spool.
            SpoolError: it cannot be read.
        """
        now = self.clock()
        spool = SqliteSpool.open_readonly(self.path, clock=self.clock)
        try:
            rows = await spool.domain_states()
            states = await spool.counts()
            backend = MemoryBackend(clock=self.clock, store=spool)
            keys = {tuple(key) for _, key, *_ in spool.load_state()}
            shaper = Shaper(backend, clock=self.clock)
            shaping: dict[str, dict[str, Any]] = {}
            for key in sorted(keys):
                budget = (str(key[0]), str(key[1]))
                state = await shaper.state(budget, self.providers.pace_policy(budget[1]))
                held = await backend.take_message(budget, (), reserve=0.0)
                if held.suspended == "budget" and held.wait > 0:
                    state["paused_until"] = now + held.wait
                    state["pause_reason"] = state["pause_reason"] or "suspended"
                shaping[budget[1]] = merge_shaping(shaping.get(budget[1]), state)
        finally:
            spool.close()
        start = math.floor(now / 3600.0) * 3600.0 - (HOURS - 1) * 3600.0
        events = await asyncio.to_thread(_hourly_events, self.path, start)
        await self._route({d for d, *_ in rows} | {d for d, *_ in events})
        groups = {d: g for d, (g, _) in self._groups.items()}
        return SendingView(
            states=states,
            progress=build_progress(rows, groups, shaping),
            hourly=_per_group(events, groups),
            start=start,
            now=now,
        )

    async def _route(self, domains: set[str]) -> None:
        now = self.clock()
        todo = sorted(d for d in domains if d not in self._groups or self._groups[d][1] < now)
        slots = asyncio.Semaphore(ROUTE_CONCURRENCY)

        async def route(domain: str) -> None:
            async with slots:
                try:
                    match = await self.providers.resolve(domain, resolver=self.resolver)
                except MailcheckError:
                    return  # DNS failed: the domain stays "not routed yet"
                self._groups[domain] = (match.group, now + GROUP_TTL)

        if len(self._groups) > MAX_REMEMBERED:  # a spool of countless domains: start over
            self._groups.clear()
        async with asyncio.TaskGroup() as tasks:
            for domain in todo[:MAX_ROUTED]:
                tasks.create_task(route(domain))


def _hourly_events(path: str, start: float) -> list[tuple[str, str, int, int]]:
    """(domain, kind, hour index, count) of deliveries and deferrals since ``start``.

    The spool has no public query for past events (``events()`` gives the unacknowledged
    ones), so this reads the ``events`` table through its own read-only connection.
    """
    db = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, timeout=5.0)
    try:
        rows = db.execute(
            "SELECT lower(substr(rcpt, instr(rcpt, '@') + 1)), kind,"
            " CAST((at - ?) / 3600 AS INTEGER), COUNT(*) FROM events"
            " WHERE at >= ? AND kind IN ('delivered', 'deferred') GROUP BY 1, 2, 3",
            (start, start),
        ).fetchall()
    finally:
        db.close()
    return [(str(d), str(k), int(h), int(n)) for d, k, h, n in rows if 0 <= int(h) < HOURS]


def _per_group(
    events: list[tuple[str, str, int, int]], groups: dict[str, str]
) -> tuple[HourlyCounts, ...]:
    acc: dict[str, dict[str, list[int]]] = {}
    for domain, kind, hour, count in events:
        group = groups.get(domain, UNROUTED)
        entry = acc.setdefault(group, {"delivered": [0] * HOURS, "deferred": [0] * HOURS})
        entry[kind][hour] += count
    return tuple(
        HourlyCounts(group=g, delivered=tuple(e["delivered"]), deferred=tuple(e["deferred"]))
        for g, e in sorted(acc.items())
    )
