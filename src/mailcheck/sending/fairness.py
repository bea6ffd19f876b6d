"""Fair shares of one (egress IP, provider) budget between tenants, with no I/O.

A tenant is a sending domain or an account of the hoster. When several tenants wait for the
same budget, :class:`FairQueue` hands out the budget's grants by weight (start-time weighted
fair queueing): with weights 3 and 1 and both backlogged, three grants go to the first for
each grant to the second, whatever order the messages arrived in. A tenant that waits for
nothing banks no credit, so a newsletter of 20,000 messages submitted first does not stall
another tenant's daily mail. A cap (``max_rate``, messages per second) bounds one tenant
even when nobody else waits. Tenant-scoped replies (:func:`is_tenant_scoped`) suspend only
that tenant (:meth:`FairQueue.suspend`).

Example:
    >>> queue: FairQueue[str] = FairQueue(FairnessConfig.from_mapping({"a": {"weight": 3}}))
    >>> for n in range(4):
    ...     queue.push("a", f"a{n}")
    ...     queue.push("b", f"b{n}")
    >>> [queue.pop(now=0.0)[1] for _ in range(4)]
    ['a0', 'a1', 'b0', 'a2']
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
import re
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from mailcheck.errors import ConfigError

T = TypeVar("T")

#: Replies that judge the sending domain, not the IP: Gmail's per-domain quota
#: (``421 4.7.28 ... from your DKIM domain / SPF domain / domain``) and Microsoft's
#: ``550 5.7.515`` (domain without the required authentication level).
TENANT_SCOPED_REPLIES = (
    re.compile(r"\b4\.7\.28\b.*\byour\s+(?:DKIM\s+|SPF\s+)?domain\b", re.IGNORECASE | re.DOTALL),
    re.compile(r"\b5\.7\.515\b"),
)


def is_tenant_scoped(reply: str, /) -> bool:
    """Whether an SMTP reply judges the sending domain (tenant) rather than the IP.

    Args:
        reply: the reply text, single- or multi-line.

    Returns:
        True for Gmail's domain quota (``4.7.28 ... your DKIM domain``) and Microsoft's
        ``5.7.515``; such replies should suspend only the tenant that sent the message.
    """
    return any(pattern.search(reply) for pattern in TENANT_SCOPED_REPLIES)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TenantPolicy:
    """The share of one tenant.

    Attributes:
        weight: relative share of a saturated budget (> 0).
        max_rate: cap in messages per second for this tenant, even when nobody else waits;
            None for no cap.
    """

    weight: float = 1.0
    max_rate: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise ConfigError(f"tenant weight must be a positive number, not {self.weight!r}")
        if self.max_rate is not None and not (math.isfinite(self.max_rate) and self.max_rate > 0):
            raise ConfigError(f"tenant max_rate must be positive, not {self.max_rate!r}")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FairnessConfig:
    """Weights and caps per tenant; tenants not listed get ``default``.

    Attributes:
        tenants: (tenant, policy) pairs.
        default: the policy of every other tenant.
    """

    tenants: tuple[tuple[str, TenantPolicy], ...] = ()
    default: TenantPolicy = TenantPolicy()

    def policy(self, tenant: str, /) -> TenantPolicy:
        """The policy that applies to ``tenant``."""
        for name, policy in self.tenants:
            if name == tenant:
                return policy
        return self.default

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], /) -> FairnessConfig:
        """Build from configuration data: ``{tenant: {"weight": 3, "max_rate": 2.0}}``.

        The key ``"*"`` sets the default policy. Raises ConfigError on bad values.
        """
        tenants: list[tuple[str, TenantPolicy]] = []
        default = TenantPolicy()
        for name, value in data.items():
            if not isinstance(value, Mapping) or set(value) - {"weight", "max_rate"}:
                raise ConfigError(f"tenant {name!r}: expected a table of weight and max_rate")
            try:
                policy = TenantPolicy(
                    weight=float(value.get("weight", 1.0)),
                    max_rate=None if value.get("max_rate") is None else float(value["max_rate"]),
                )
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"tenant {name!r}: {exc}") from exc
            if name == "*":
                default = policy
            else:
                tenants.append((str(name), policy))
        return cls(tenants=tuple(sorted(tenants)), default=default)


@dataclasses.dataclass(slots=True)
class _Tenant(Generic[T]):
    policy: TenantPolicy
    waiting: list[tuple[int, int, T]] = dataclasses.field(default_factory=list)
    finish: float = 0.0  # virtual finish tag of the head message while backlogged
    last_finish: float = 0.0
    suspended_until: float = -math.inf
    cap_tat: float = -math.inf  # theoretical arrival time of the cap's GCRA


class FairQueue(Generic[T]):
    """Waiting messages of one budget, handed out by weighted fair queueing.

    Within a tenant, lower ``priority`` goes first, then arrival order. Pure: the caller
    passes the time (any monotonic clock, in seconds).
    """

    def __init__(self, config: FairnessConfig | None = None) -> None:
        self._config = config or FairnessConfig()
        self._tenants: dict[str, _Tenant[T]] = {}
        self._vtime = 0.0
        self._seq = itertools.count()

    def __len__(self) -> int:
        return sum(len(t.waiting) for t in self._tenants.values())

    def waiting(self, tenant: str, /) -> int:
        """How many messages of ``tenant`` wait."""
        state = self._tenants.get(tenant)
        return len(state.waiting) if state else 0

    def push(self, tenant: str, item: T, /, *, priority: int = 0) -> None:
        """Queue ``item`` for ``tenant`` (lower priority value = sooner)."""
        state = self._tenants.get(tenant)
        if state is None:
            state = self._tenants[tenant] = _Tenant(policy=self._config.policy(tenant))
        if not state.waiting:
            # A tenant that was idle banks no credit: it restarts at the current virtual time.
            state.finish = max(self._vtime, state.last_finish) + 1.0 / state.policy.weight
        heapq.heappush(state.waiting, (priority, next(self._seq), item))

    def suspend(self, tenant: str, /, *, until: float) -> None:
        """Hold every message of ``tenant`` until ``until`` (a tenant-scoped reply)."""
        state = self._tenants.get(tenant)
        if state is None:
            state = self._tenants[tenant] = _Tenant(policy=self._config.policy(tenant))
        state.suspended_until = max(state.suspended_until, until)

    def resume(self, tenant: str, /) -> None:
        """Lift a suspension of ``tenant`` now."""
        if tenant in self._tenants:
            self._tenants[tenant].suspended_until = -math.inf

    def _ready_at(self, state: _Tenant[T]) -> float:
        return max(state.suspended_until, state.cap_tat)

    def _choose(self, now: float) -> str | None:
        best: tuple[float, int, str] | None = None
        for name, state in self._tenants.items():
            if not state.waiting or self._ready_at(state) > now:
                continue
            key = (state.finish, state.waiting[0][1], name)
            if best is None or key < best:
                best = key
        return None if best is None else best[2]

    def peek(self, *, now: float) -> tuple[str, T] | None:
        """What :meth:`pop` would return now, without taking it."""
        name = self._choose(now)
        return None if name is None else (name, self._tenants[name].waiting[0][2])

    def is_suspended(self, tenant: str, /, *, now: float) -> bool:
        """Whether ``tenant`` is held by :meth:`suspend` at ``now``."""
        state = self._tenants.get(tenant)
        return state is not None and state.suspended_until > now

    def drain(self, tenant: str, /) -> list[T]:
        """Remove and return every waiting message of ``tenant`` (to park them elsewhere)."""
        state = self._tenants.get(tenant)
        if state is None:
            return []
        items = [item for _, _, item in sorted(state.waiting)]
        state.waiting.clear()
        return items

    def tenants(self) -> list[str]:
        """Tenants with messages waiting."""
        return [name for name, state in self._tenants.items() if state.waiting]

    def pop(self, *, now: float) -> tuple[str, T] | None:
        """The next message to spend one grant of the budget on, or None if none is eligible."""
        name = self._choose(now)
        if name is None:
            return None
        state = self._tenants[name]
        _, _, item = heapq.heappop(state.waiting)
        step = 1.0 / state.policy.weight
        self._vtime = max(self._vtime, state.finish - step)
        state.last_finish = state.finish
        if state.waiting:
            state.finish = max(self._vtime, state.last_finish) + step
        if state.policy.max_rate is not None:
            state.cap_tat = max(state.cap_tat, now) + 1.0 / state.policy.max_rate
        return name, item

    def next_ready(self, *, now: float) -> float | None:
        """When a message becomes eligible (``now`` if one is), or None when nothing waits."""
        times = [max(now, self._ready_at(s)) for s in self._tenants.values() if s.waiting]
        return min(times) if times else None
