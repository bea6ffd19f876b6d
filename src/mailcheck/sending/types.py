"""The floor of ``mailcheck.sending``: plain types every other sending module imports.

Nothing here does I/O or imports another sending module. Budgets are keyed by
:data:`BudgetKey` (egress IP, provider group); the shaping backends answer with
:class:`Decision` and :class:`Lease`; reply rules speak :class:`Action` and :class:`Scope`;
rates and durations are written ``"10/min"`` and ``"90min"`` in the provider dataset.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from collections.abc import Callable

from mailcheck.errors import ParseError

__all__ = [
    "Action",
    "BudgetKey",
    "Clock",
    "Decision",
    "Lease",
    "Rate",
    "Scope",
    "parse_duration",
    "parse_rate",
]

#: Budgets are keyed by (egress IP, provider group).
BudgetKey = tuple[str, str]

#: Wall-clock seconds (``time.time``); simulations inject a virtual one.
Clock = Callable[[], float]

_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|min|m|h|d)\s*$", re.IGNORECASE)
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|min|m|h|d)?\s*$", re.IGNORECASE)


class Action(enum.StrEnum):
    """What to do after a reply.

    ``slow`` is a throttling reply: the learned rate is cut from what was accepted and the
    budget pauses briefly, longer each time the reply repeats (the rule's ladder).
    ``suspend`` is an unambiguous block: the budget stops for the rule's duration.
    """

    OK = "ok"
    RETRY = "retry"
    SLOW = "slow"
    SUSPEND = "suspend"
    SUSPEND_TENANT = "suspend-tenant"
    BOUNCE = "bounce"


class Scope(enum.StrEnum):
    """Whom a reply judges."""

    CONNECTION = "connection"
    IP = "ip"
    DOMAIN = "domain"
    RECIPIENT = "recipient"
    MESSAGE = "message"

    @property
    def shapes(self) -> bool:
        """Whether a reply of this scope changes the provider budget."""
        return self in (Scope.CONNECTION, Scope.IP, Scope.DOMAIN)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The answer to a request for budget.

    Attributes:
        granted: the budget is taken: the message may go after ``wait`` seconds (a reserved
            slot; 0 = now), the connection may open now.
        wait: when granted, the delay of the reserved slot; otherwise seconds to wait before
            asking again.
        suspended: ``"budget"`` when the whole budget is suspended for ``wait`` seconds,
            ``"tenant"`` when only the tenant is (hold that tenant, serve the others), else
            empty.
        shared: decided by Redis (True) or locally (False).
    """

    granted: bool
    wait: float = 0.0
    suspended: str = ""
    shared: bool = True


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """A connection slot held in a budget; give it back with the backend's ``release``."""

    key: BudgetKey
    lease_id: str
    shared: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Rate:
    """``count`` events per ``period`` seconds, written ``"10/s"``, ``"5000/h"``, ``"2/30min"``.

    Attributes:
        count: events allowed in one period.
        period: the period in seconds.
    """

    count: int
    period: float

    @property
    def interval(self) -> float:
        """Seconds between events at the sustained rate."""
        return self.period / self.count

    @property
    def per_second(self) -> float:
        """Events per second."""
        return self.count / self.period

    def to_text(self) -> str:
        """The rate in the ``N/unit`` form :func:`parse_rate` reads."""
        for unit, seconds in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
            if self.period % seconds == 0:
                n = int(self.period // seconds)
                return f"{self.count}/{'' if n == 1 else n}{unit}"
        return f"{self.count}/{'' if self.period == 1 else int(self.period)}s"


def parse_rate(text: str) -> Rate:
    """Parse ``"10/s"``, ``"5000/h"``, ``"3/h"``, ``"1/min"`` or ``"2/30min"``.

    Raises:
        ParseError: the text is not a positive rate.
    """
    m = _RATE_RE.match(str(text))
    if not m or int(m.group(1)) == 0 or m.group(2) in ("0", "00"):
        raise ParseError(str(text), 0, "expected a rate like 10/s, 5000/h or 2/30min")
    period = int(m.group(2) or 1) * _UNITS[m.group(3).lower()]
    if period == 0:
        raise ParseError(str(text), 0, "period must be positive")
    return Rate(count=int(m.group(1)), period=period)


def parse_duration(value: str | float) -> float:
    """Parse a duration: seconds as a number, or ``"90min"``, ``"2h"``, ``"30s"``.

    Raises:
        ParseError: the value is not a finite, non-negative duration.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value < math.inf:
            raise ParseError(str(value), 0, "duration must be finite and non-negative")
        return float(value)
    m = _DURATION_RE.match(str(value))
    if not m:
        raise ParseError(str(value), 0, "expected a duration like 30s, 90min or 2h")
    return float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]
