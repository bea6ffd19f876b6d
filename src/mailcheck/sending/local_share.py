"""The conservative local share of a shared budget, used while Redis is unreachable.

When hosts cannot reach Redis they cannot see each other's use of a budget, so each host
limits itself to ``1 / expected_hosts`` of it: a message rate of ``count / period`` becomes
``count / (period * hosts)`` with a burst of ``max(1, burst // hosts)``, and a connection limit
of ``N`` becomes ``N // hosts`` (zero when there are more hosts than connections: that group
waits until Redis is back; nothing is lost). Together the hosts stay within the budget.
Pure: the caller passes the time.
"""

from __future__ import annotations

import collections
import dataclasses
import math


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Gcra:
    """A GCRA limit: ``burst`` grants at once, then one every ``interval`` seconds.

    Attributes:
        interval: seconds between grants at the sustained rate (``period / count``).
        burst: grants allowed at once (>= 1).
    """

    interval: float
    burst: int = 1

    @property
    def tolerance(self) -> float:
        """The GCRA tolerance ``tau = (burst - 1) * interval``."""
        return (self.burst - 1) * self.interval

    def share(self, hosts: int, /) -> Gcra:
        """This limit divided between ``hosts`` hosts (slower, smaller burst)."""
        return Gcra(interval=self.interval * hosts, burst=max(1, self.burst // hosts))


def connection_share(limit: int, hosts: int, /) -> int:
    """One host's share of a connection limit: ``limit // hosts`` (may be 0)."""
    return limit // max(1, hosts)


def gcra_check(tat: float, now: float, limit: Gcra, qty: int = 1) -> tuple[float, float]:
    """Check a GCRA limit whose theoretical arrival time is ``tat``.

    Returns:
        ``(wait, new_tat)``: the seconds until the grant is allowed (0 = now) and the state
        to keep once it is taken.
    """
    start = max(tat, now)
    allow_at = start + limit.interval * (qty - 1) - limit.tolerance
    return (max(0.0, allow_at - now), start + limit.interval * qty)


@dataclasses.dataclass(slots=True)
class LocalShare:
    """Per-host state of the local shares (rates only; connections are counted by leases).

    Attributes:
        hosts: how many hosts are expected to share each budget.
    """

    hosts: int
    tats: dict[str, float] = dataclasses.field(default_factory=dict)

    def take(
        self, keys: tuple[str, ...], limits: tuple[Gcra, ...], now: float, reserve: float = 0.0
    ) -> tuple[bool, float]:
        """Take one grant from every limit (all or nothing).

        Returns:
            ``(granted, wait)``: granted with a delay of ``wait`` seconds when the limits are
            free within ``reserve`` seconds (the slot is reserved), else not granted.
        """
        wait = 0.0
        new: list[float] = []
        for key, limit in zip(keys, limits, strict=True):
            w, tat = gcra_check(self.tats.get(key, -math.inf), now, limit.share(self.hosts))
            wait = max(wait, w)
            new.append(tat)
        if wait > reserve:
            return False, wait
        self.tats.update(zip(keys, new, strict=True))
        return True, wait


class MatchWindow:
    """Matches of provider rules in a sliding window, for thresholds such as "3/h"."""

    def __init__(self) -> None:
        self._seen: dict[tuple[object, str], collections.deque[float]] = {}

    def hit(self, key: object, name: str, now: float, *, count: int, period: float) -> bool:
        """Count one match at ``now``; True once ``count`` fall within ``period`` seconds,
        and the count starts again."""
        seen = self._seen.setdefault((key, name), collections.deque())
        seen.append(now)
        while seen and seen[0] <= now - period:
            seen.popleft()
        if len(seen) < count:
            return False
        del self._seen[(key, name)]
        return True
