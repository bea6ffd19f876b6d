"""A randomised fault simulation of the real Sender and spool on a virtual clock.

Each seed runs a few hundred recipients at three providers (two of them with two lanes in
one budget) through a transport that drops connections at any stage (mid-DATA too),
answers 421 and ambiguous throttling replies at every stage, refuses connections, bounces
some recipients and answers slowly; meanwhile suspensions of random budgets arrive while
lanes open and close. Invariants checked for every seed:

- no exception escapes the run;
- every recipient ends delivered, bounced, expired, or waiting with a reason (none is left
  ``sending``);
- nothing is accepted twice (no crash here, so no in-flight window);
- no budget ever has more connections open than its limit, nor more messages in a window
  than its configured rate allows.
"""

from __future__ import annotations

import asyncio
import collections
import random
import tempfile
from pathlib import Path

import pytest

from mailcheck.sending.local_share import Gcra
from mailcheck.sending.pacing import PacePolicy
from mailcheck.sending.providers import ProviderSet
from mailcheck.sending.sender import Sender
from mailcheck.sending.session import Egress, Session, SmtpDisconnected, SmtpReplyError
from mailcheck.sending.shaping import Budget
from mailcheck.sending.simulation import VirtualClockLoop
from mailcheck.sending.simulation.run import zone_resolver
from mailcheck.sending.spool import SqliteSpool

# domain -> MX host; group by host suffix (two hosts per provider: two lanes, one budget).
MX = {
    "gmail.com": "a.mx.google.com",
    "googlemail.com": "b.mx.google.com",
    "orange.fr": "smtp-in.orange.fr",
    "wanadoo.fr": "smtp-in2.orange.fr",
    "asso.example": "mx.coop.example",
}
# Configured ceilings the simulation checks: connections and one message rate per group.
BUDGETS = {
    "google": Budget(connections=3, message_rates=(("30/min", Gcra(interval=2.0, burst=1)),)),
    "orange": Budget(connections=2, message_rates=(("12/min", Gcra(interval=5.0, burst=1)),)),
}
DEFAULT = Budget(connections=4, message_rates=(("60/min", Gcra(interval=1.0, burst=1)),))
REPLIES = [
    (421, "4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred"),
    (421, "mwinf ME Service refuse. OFR_999 [999]"),
    (421, "4.7.28 unusual rate of unsolicited email from your IP address"),
    (451, "4.3.0 try again later"),
    (421, "4.7.0 Too many connections"),
    (450, "4.2.1 receiving mail too quickly"),
]


def group_of(domain: str, hosts: object) -> str:
    return {"gmail.com": "google", "googlemail.com": "google", "orange.fr": "orange",
            "wanadoo.fr": "orange"}.get(domain, "coop")  # fmt: skip


class World:
    """Faulty servers; records what they accepted, when, and how many were connected."""

    def __init__(self, rng: random.Random, loop: VirtualClockLoop) -> None:
        self.rng, self.loop = rng, loop
        self.accepted: collections.Counter[str] = collections.Counter()
        self.times: dict[str, list[float]] = collections.defaultdict(list)
        self.open: collections.Counter[str] = collections.Counter()
        self.peak: collections.Counter[str] = collections.Counter()

    async def connect(
        self, address: tuple[str, int], /, *, host: str, egress: Egress, tls: bool | None,
        timeout: float,
    ) -> Session:  # fmt: skip
        group = group_of(next(d for d, h in MX.items() if h == host), ())
        await asyncio.sleep(self.rng.uniform(0, 0.5))
        if self.rng.random() < 0.05:
            raise SmtpReplyError(*self.rng.choice(REPLIES))
        self.open[group] += 1
        self.peak[group] = max(self.peak[group], self.open[group])
        return FaultySession(self, group)


class FaultySession:
    def __init__(self, world: World, group: str) -> None:
        self.world, self.group, self.closed = world, group, False
        self.rcpts: list[str] = []

    @property
    def smtputf8(self) -> bool:
        return True

    async def _step(self, stage: str) -> None:
        rng = self.world.rng
        if self.closed:
            raise SmtpDisconnected("closed")
        await asyncio.sleep(rng.expovariate(5.0))  # slow servers, now and then very slow
        roll = rng.random()
        if roll < 0.02:
            await self.quit()
            raise SmtpDisconnected(f"dropped at {stage}")
        if roll < 0.05:
            raise SmtpReplyError(*rng.choice(REPLIES))
        if stage == "rcpt" and roll < 0.07:
            raise SmtpReplyError(550, "5.1.1 user unknown")

    async def mail(self, sender: str, /, *, smtputf8: bool = False) -> None:
        await self._step("mail")
        self.rcpts = []

    async def rcpt(self, recipient: str, /) -> None:
        await self._step("rcpt")
        self.rcpts.append(recipient)

    async def data(self, message: bytes, /) -> str:
        await self._step("data")  # a drop here is mid-DATA: nothing accepted
        now = self.world.loop.time()
        for rcpt in self.rcpts:
            self.world.accepted[rcpt] += 1
        self.world.times[self.group].append(now)  # rates count messages, not recipients
        return "250 2.0.0 OK"

    async def rset(self) -> None:
        self.rcpts = []

    async def quit(self) -> None:
        if not self.closed:
            self.closed = True
            self.world.open[self.group] -= 1


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def _suspensions(sender: Sender, rng: random.Random) -> None:
    while True:
        await asyncio.sleep(rng.uniform(5, 120))
        if sender.routes:
            key = rng.choice(sorted(sender.routes))
            await sender.backend.suspend(key, rng.uniform(1, 90), reason="chaos")


async def _run(seed: int, tmp: Path) -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualClockLoop)
    rng = random.Random(seed)
    world = World(rng, loop)
    spool = SqliteSpool(str(tmp / f"s{seed}.db"), clock=loop.wall, backoff=30, max_backoff=600)
    sender = Sender(
        spool=spool, resolver=zone_resolver(MX), transport=world, clock=loop.wall,
        providers=ProviderSet.load(), group_of=group_of, budgets=BUDGETS,
        default_budget=DEFAULT, mx_override={h: ("192.0.2.1", 25) for h in MX.values()},
        pacing=lambda group: PacePolicy(first_contact=2.0, step_every=10.0),
        prefetch=rng.choice([5, 20, 100]),
    )  # fmt: skip
    rcpts = [f"u{i}@{rng.choice(list(MX))}" for i in range(rng.randint(50, 250))]
    start = 0
    while start < len(rcpts):  # some messages with several recipients
        size = rng.randint(1, 3)
        await sender.submit(b"Subject: x\r\n\r\nbody\r\n", mail_from="news@asso.example",
                            rcpt_to=rcpts[start : start + size])  # fmt: skip
        start += size
    async with asyncio.TaskGroup() as group:
        chaos = group.create_task(_suspensions(sender, rng))
        await sender.run_until_final(max_time=8 * 3600)
        chaos.cancel()
    rows = await spool.list(limit=10_000)
    spool.close()
    assert len(rows) >= len(set(rcpts))
    for row in rows:
        assert row.state != "sending", row
        if row.state in ("deferred", "queued"):
            assert row.last_reply, row  # waiting, with a reason
    delivered = {row.rcpt for row in rows if row.state == "delivered"}
    assert all(n == 1 for n in world.accepted.values()), world.accepted.most_common(3)
    assert delivered <= set(world.accepted)
    for name, budget in [*BUDGETS.items(), ("coop", DEFAULT)]:
        assert world.peak[name] <= budget.connections, (name, world.peak)
        interval = budget.message_rates[0][1].interval
        # A GCRA without burst: at most one message per interval, plus the first.
        assert _max_in_window(world.times[name], 60.0) <= 60.0 / interval + 1, name


def _simulate(seeds: range) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
                runner.run(_run(seed, Path(tmp)))


def test_faults_keep_every_invariant() -> None:
    _simulate(range(8))


@pytest.mark.slow
def test_faults_keep_every_invariant_many_seeds() -> None:
    _simulate(range(8, 108))
