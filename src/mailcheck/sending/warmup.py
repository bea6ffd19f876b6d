"""An IP warm-up plan: messages per day per provider for an egress IP with no history.

Every large provider asks a new IP to ramp up (Microsoft: "fully ramped within a couple of
weeks"; Gmail and Yahoo: increase volume gradually). The plan starts at ``start`` messages
a day per provider and doubles each day the IP has sent without being blocked, up to
``ceiling``; a block or a run of throttling replies holds the day's volume (the Sender's
pace handles the replies; the plan caps the day). Pure: the caller says how old the IP is.

Example:
    >>> plan = WarmupPlan(start=50, ceiling=20_000)
    >>> [plan.daily_cap(day) for day in range(0, 10, 3)]
    [50, 400, 3200, 20000]
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from mailcheck.errors import ConfigError
from mailcheck.sending.local_share import Gcra

__all__ = ["WarmupPlan"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WarmupPlan:
    """Messages a day per (egress IP, provider), doubling daily.

    Attributes:
        start: the cap of the first day.
        factor: the growth per day of good standing (2 = doubling).
        ceiling: the cap once warmed (the plan ends there).
        overrides: provider group -> its own ``start`` (e.g. a smaller one for Free).
    """

    start: int = 50
    factor: float = 2.0
    ceiling: int = 20_000
    overrides: dict[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.start < 1 or self.ceiling < self.start or not self.factor > 1:
            raise ConfigError("warm-up needs start >= 1, ceiling >= start and factor > 1")

    def daily_cap(self, day: int, group: str = "", /) -> int:
        """The cap of day ``day`` (0 = the IP's first day) for ``group``."""
        start = self.overrides.get(group, self.start)
        if day < 0:
            raise ConfigError("day must be >= 0")
        # Past the ceiling the doubling stops; compare in logs to avoid huge powers.
        if day * math.log(self.factor) >= math.log(self.ceiling / start):
            return self.ceiling
        return min(self.ceiling, int(start * self.factor**day))

    def days_to_warm(self, group: str = "", /) -> int:
        """Days until the cap reaches the ceiling."""
        start = self.overrides.get(group, self.start)
        return max(0, math.ceil(math.log(self.ceiling / start) / math.log(self.factor)))

    def limit(self, day: int, group: str = "", /) -> Gcra:
        """The day's cap as a GCRA for a budget's message rates: the day's messages
        spread evenly (no burst: bursts are what providers punish)."""
        return Gcra(interval=86400.0 / self.daily_cap(day, group), burst=1)

    def table(self, groups: list[str], days: int = 14) -> list[dict[str, Any]]:
        """The plan as rows for people: ``[{"day": d, group: cap, ...}]``."""
        return [{"day": day, **{g: self.daily_cap(day, g) for g in groups}} for day in range(days)]
