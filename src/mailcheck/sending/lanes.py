"""What the Sender holds in memory: routes (one per budget) and their lanes (one per MX
host set), with the messages waiting in each.

Plain state with synchronous methods only: nothing here awaits, so a caller that reads
and changes a lane does it in one step of the event loop, never across an ``await``.
Ownership: the Sender's feeder creates routes and lanes and puts jobs in them; a lane's
workers take jobs out; the last worker of a lane removes it (:meth:`Route.retire`).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import math

from mailcheck.sending.fairness import FairnessConfig, FairQueue
from mailcheck.sending.pacing import PacePolicy
from mailcheck.sending.providers import Provider
from mailcheck.sending.session import Egress
from mailcheck.sending.spool import TRANSACTIONAL, Job
from mailcheck.sending.types import BudgetKey

__all__ = ["Lane", "Route", "Waiting", "tenant_of"]


def tenant_of(job: Job) -> str:
    """A message's tenant: the one given at submission, else its MAIL FROM domain."""
    return job.tenant or job.mail_from.rpartition("@")[2].lower()


class Waiting:
    """The messages of one lane: transactional first, then bulk, each fair between tenants."""

    def __init__(self, fairness: FairnessConfig) -> None:
        self.urgent: FairQueue[Job] = FairQueue(fairness)
        self.bulk: FairQueue[Job] = FairQueue(fairness)
        self.retry: collections.deque[Job] = collections.deque()

    def __len__(self) -> int:
        return len(self.urgent) + len(self.bulk) + len(self.retry)

    def push(self, job: Job) -> None:
        """Queue ``job`` behind the others of its priority and tenant."""
        queue = self.urgent if job.priority >= TRANSACTIONAL else self.bulk
        queue.push(tenant_of(job), job, priority=-job.priority)

    def peek(self, now: float) -> Job | None:
        """The job :meth:`pop` would return."""
        if self.retry:
            return self.retry[0]
        item = self.urgent.peek(now=now) or self.bulk.peek(now=now)
        return None if item is None else item[1]

    def pop(self, now: float) -> Job | None:
        """The next job: one put back after a silent close, then transactional, then bulk."""
        if self.retry:
            return self.retry.popleft()
        item = self.urgent.pop(now=now) or self.bulk.pop(now=now)
        return None if item is None else item[1]

    def suspend(self, tenant: str, until: float) -> list[Job]:
        """Hold ``tenant`` until ``until`` (monotonic); returns its messages to park."""
        held = [job for job in self.retry if tenant_of(job) == tenant]
        self.retry = collections.deque(job for job in self.retry if tenant_of(job) != tenant)
        for queue in (self.urgent, self.bulk):
            queue.suspend(tenant, until=until)
            held += queue.drain(tenant)
        return held

    def is_suspended(self, tenant: str, now: float) -> bool:
        """Whether ``tenant`` is held in this lane."""
        return self.bulk.is_suspended(tenant, now=now)

    def next_ready(self, now: float) -> float | None:
        """When a held or capped tenant's next message may go, if any waits."""
        times = [t for q in (self.urgent, self.bulk) if (t := q.next_ready(now=now)) is not None]
        return min(times) if times else None

    def clear(self) -> list[Job]:
        """Take every job out."""
        jobs = list(self.retry)
        self.retry.clear()
        for queue in (self.urgent, self.bulk):
            for tenant in list(queue.tenants()):
                jobs += queue.drain(tenant)
        return jobs


@dataclasses.dataclass(eq=False)
class Lane:
    """Messages of one budget to one MX host set, and the count of workers sending them."""

    hosts: tuple[str, ...]
    waiting: Waiting
    workers: int = 0
    connecting: int = 0
    connected: int = 0
    #: One worker at a time asks for a grant and takes the job it names.
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    #: Set when jobs arrive (wakes a lingering connection).
    changed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


@dataclasses.dataclass(eq=False)
class Route:
    """One budget in memory: (egress, provider group), its policy and its lanes.

    Attributes:
        key: the budget key.
        egress: where its mail leaves from.
        provider: the dataset's provider, or None for a group it does not name.
        policy: how its pace is learned.
        lanes: MX host set -> lane.
        paused_until: end of a pause or suspension (loop time), -inf when none.
        bulk_only: the pause holds bulk mail only (a first throttling reply); transactional
            mail goes on at the cut pace.
        backlog: recipients of this group waiting in the spool, last counted.
    """

    key: BudgetKey
    egress: Egress
    provider: Provider | None
    policy: PacePolicy
    lanes: dict[tuple[str, ...], Lane] = dataclasses.field(default_factory=dict)
    paused_until: float = -math.inf
    bulk_only: bool = False
    backlog: int = 0

    def lane(self, hosts: tuple[str, ...], fairness: FairnessConfig) -> Lane:
        """The lane of ``hosts``, created when missing."""
        lane = self.lanes.get(hosts)
        if lane is None:
            lane = self.lanes[hosts] = Lane(hosts, Waiting(fairness))
        return lane

    def take_all(self, *, keep_transactional: bool = False) -> list[Job]:
        """Empty every lane (a pause): the jobs to return to the spool; transactional jobs
        stay when ``keep_transactional``. Nothing awaits here, so no lane can come or go
        while the lanes are walked."""
        jobs: list[Job] = []
        for lane in list(self.lanes.values()):
            for job in lane.waiting.clear():
                if keep_transactional and job.priority >= TRANSACTIONAL:
                    lane.waiting.push(job)
                else:
                    jobs.append(job)
        return jobs

    def retire(self, lane: Lane) -> list[Job]:
        """The last worker of ``lane`` leaves: remove it; returns the jobs it still held."""
        if lane.workers > 0:
            return []
        if self.lanes.get(lane.hosts) is lane:
            del self.lanes[lane.hosts]
        return lane.waiting.clear()

    def waiting(self) -> int:
        """Jobs held in memory for this budget."""
        return sum(len(lane.waiting) for lane in self.lanes.values())
