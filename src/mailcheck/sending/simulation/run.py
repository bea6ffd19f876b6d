"""One simulated newsletter: a real Sender and spool against :mod:`.world`, on a
virtual clock. ``run_world(seed)`` returns what a hoster would want to know: how much was
placed by when, how many throttling replies, blocks and silent drops, how long
transactional mail waited, against the optimum (every provider exactly at its hidden rate).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import statistics
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dns.zone

from mailcheck.lookup.zonefile import ZoneResolver, ZoneSet
from mailcheck.sending.events import EventKind, SendEvent
from mailcheck.sending.simulation.clock import VirtualClockLoop
from mailcheck.sending.simulation.world import SimProvider, SimTransport, draw_world
from mailcheck.sending.spool import TRANSACTIONAL, SqliteSpool

__all__ = ["WorldResult", "run_world", "zone_resolver", "zone_text"]

_MESSAGE = (
    "From: Asso <news@asso.example>\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
    "Message-ID: <{mid}@asso.example>\r\n\r\nBonjour !\r\n"
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WorldResult:
    """One seed's figures (times in simulated seconds from the start).

    Attributes:
        seed: the seed.
        recipients: recipients submitted.
        placed_by: hour -> share really delivered by then (dropped mail is not placed).
        finished: when the newsletter's last recipient was delivered (None: not all were).
        optimum: when every provider at exactly its hidden rate would have finished.
        throttled: throttling replies received.
        blocks: IP blocks earned.
        dropped: messages accepted then silently dropped.
        transactional_p50: median delay of transactional mail.
        transactional_max: longest delay of transactional mail.
        providers: per provider: hidden rate and learned pace (per hour), counts.
        trace: (time, provider, event kind, pace per hour) of shaping events, for plots.
    """

    seed: int
    recipients: int
    placed_by: dict[int, float]
    finished: float | None
    optimum: float
    throttled: int
    blocks: int
    dropped: int
    transactional_p50: float
    transactional_max: float
    providers: dict[str, dict[str, Any]]
    states: dict[str, int]
    trace: tuple[tuple[float, str, str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return dataclasses.asdict(self)


def zone_resolver(mx: Mapping[str, str]) -> ZoneResolver:
    """A resolver answering MX for each domain -> its one MX host."""
    zones = [
        dns.zone.from_text(zone_text(domain, host), origin=domain, relativize=False)
        for domain, host in mx.items()
    ]
    return ZoneResolver(ZoneSet(zones))


def zone_text(domain: str, host: str) -> str:
    """A zone file for ``domain`` whose one MX host is ``host``."""
    return (
        f"$ORIGIN {domain}.\n@ 3600 IN SOA ns. h. 1 3600 600 86400 300\n"
        f"@ 3600 IN NS ns.\n@ 3600 IN MX 10 {host}.\n"
    )


def run_world(
    seed: int,
    *,
    messages: int = 3000,
    transactional: int = 30,
    hours: float = 8.0,
    drain_target: float = 3600.0,
    on_event: Callable[[SendEvent], None] | None = None,
) -> WorldResult:
    """Simulate one newsletter of ``messages`` recipients plus ``transactional`` messages
    spread over the first two hours, for at most ``hours`` simulated hours."""
    loop = VirtualClockLoop()
    # The spool's fsyncs cost real time, not virtual: keep it in memory-backed storage.
    where = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
    with (
        asyncio.Runner(loop_factory=lambda: loop) as runner,
        tempfile.TemporaryDirectory(dir=where) as tmp,
    ):
        return runner.run(_run(loop, seed, messages, transactional, hours, drain_target,
                               Path(tmp), on_event))  # fmt: skip


async def _run(
    loop: VirtualClockLoop, seed: int, messages: int, transactional: int, hours: float,
    drain_target: float, tmp: Path, on_event: Callable[[SendEvent], None] | None,
) -> WorldResult:  # fmt: skip
    from mailcheck.sending.sender import Sender

    providers, domains = draw_world(seed, loop.wall)
    rng = random.Random(seed + 1)  # noqa: S311
    names = list(domains)
    weights = [share for _, share in domains.values()]
    spool = SqliteSpool(str(tmp / "spool.db"), clock=loop.wall)
    trace: list[tuple[float, str, str, float]] = []
    events: list[SendEvent] = []

    def listen(event: SendEvent) -> None:
        if event.kind in (EventKind.SLOWED, EventKind.PAUSED, EventKind.SUSPENDED,
                          EventKind.PROBING):  # fmt: skip
            events.append(event)
        if on_event is not None:
            on_event(event)

    sender = Sender(
        spool=spool, resolver=zone_resolver({d: h for d, (h, _) in domains.items()}),
        transport=SimTransport(providers),
        mx_override={p.hosts[0]: ("192.0.2.1", 25) for p in providers}, clock=loop.wall,
        on_event=listen, drain_target=drain_target, helo="mail.asso.example",
    )  # fmt: skip
    host_of = {domain: host for domain, (host, _) in domains.items()}
    provider_of = {p.hosts[0]: p for p in providers}
    wanted: dict[str, SimProvider] = {}
    for i, domain in enumerate(rng.choices(names, weights, k=messages)):
        rcpt = f"member{i}@{domain}"
        wanted[rcpt] = provider_of[host_of[domain]]
        raw = _MESSAGE.format(rcpt=rcpt, subject="Lettre de decembre", mid=f"n{i}")
        await sender.submit(raw.encode(), mail_from="news@asso.example", rcpt_to=[rcpt])
    urgent: dict[str, float] = {}

    async def transactional_mail() -> None:
        for j in range(transactional):
            await asyncio.sleep(rng.uniform(0, 7200.0 / max(1, transactional)) * 2)
            domain = rng.choices(names, weights)[0]
            rcpt = f"reset{j}@{domain}"
            wanted[rcpt] = provider_of[host_of[domain]]
            urgent[rcpt] = loop.wall()
            raw = _MESSAGE.format(rcpt=rcpt, subject="Mot de passe", mid=f"t{j}")
            await sender.submit(raw.encode(), mail_from="noreply@asso.example",
                                rcpt_to=[rcpt], priority=TRANSACTIONAL)  # fmt: skip

    async def watch(submitting: asyncio.Task[None]) -> None:
        # The newsletter is done when every submission is made and every recipient final.
        while True:
            await asyncio.sleep(30.0)
            if submitting.done() and (await sender.progress()).final:
                sender.stop()
                return

    async with asyncio.TaskGroup() as group:
        submitting = group.create_task(transactional_mail())
        watcher = group.create_task(watch(submitting))
        await sender.run(poll=30.0, max_time=hours * 3600.0)
        watcher.cancel()
        submitting.cancel()
    states = await spool.counts()
    paces = {
        key[1]: round((await sender.shaper.pace(key, route.policy)).rate * 3600, 1)
        for key, route in list(sender.routes.items())
    }
    spool.close()
    for event in events:
        trace.append((event.at - loop.epoch, event.key[1], str(event.kind), event.rate or 0.0))
    return _result(seed, loop, providers, wanted, urgent, hours, trace, paces, states)


def _result(
    seed: int, loop: VirtualClockLoop, providers: list[SimProvider],
    wanted: dict[str, SimProvider], urgent: dict[str, float], hours: float,
    trace: list[tuple[float, str, str, float]], paces: dict[str, float], states: dict[str, int],
) -> WorldResult:  # fmt: skip
    epoch = loop.epoch
    delivered = {r: p.delivered[r] - epoch for r, p in wanted.items() if r in p.delivered}
    total = len(wanted)
    placed_by = {
        h: round(sum(1 for t in delivered.values() if t <= h * 3600) / total, 4)
        for h in (1, 2, 4, 8)
        if h <= hours
    }
    counts: dict[str, int] = {}
    for p in wanted.values():
        counts[p.name] = counts.get(p.name, 0) + 1
    optimum = max(counts[p.name] / p.hidden.rate for p in providers if p.name in counts)
    delays = [delivered[r] - (t - epoch) for r, t in urgent.items() if r in delivered]
    missing = [r for r in urgent if r not in delivered]
    delays += [hours * 3600.0] * len(missing)
    # The newsletter's end (transactional mail keeps arriving for two hours).
    news = [t for r, t in delivered.items() if r not in urgent]
    finished = max(news) if len(news) == total - len(urgent) else None
    table = {}
    for p in providers:
        table[p.name] = {
            "recipients": counts.get(p.name, 0),
            "hidden_rate_per_hour": round(p.hidden.rate * 3600, 1),
            "accepted": p.tally.accepted,
            "dropped": p.tally.dropped,
            "throttled": p.tally.throttled,
            "blocks": p.tally.blocks,
            "final_pace_per_hour": paces.get(p.name),
        }
    return WorldResult(
        seed=seed,
        recipients=total,
        placed_by=placed_by,
        finished=finished,
        optimum=optimum,
        throttled=sum(p.tally.throttled for p in providers),
        blocks=sum(p.tally.blocks for p in providers),
        dropped=sum(p.tally.dropped for p in providers),
        transactional_p50=statistics.median(delays) if delays else 0.0,
        transactional_max=max(delays, default=0.0),
        providers=table,
        states=states,
        trace=tuple(trace),
    )
