"""Where a run stands, per provider: delivered, waiting and why, the pace used and why.

:class:`SendProgress` counts every recipient in the spool, including those whose provider
is not known yet (their domain's MX lookup failed: group :data:`UNROUTED`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["UNROUTED", "ProviderProgress", "SendProgress", "build_progress", "merge_shaping"]

#: The group of recipients whose domain has not been routed yet (DNS failed, or not tried).
UNROUTED = "(not routed yet)"
_WAITING = ("queued", "deferred", "sending")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProviderProgress:
    """One provider group's share of the spool.

    Attributes:
        group: the provider group (a provider name, an MX host set, or :data:`UNROUTED`).
        delivered: recipients delivered.
        bounced: recipients bounced.
        expired: recipients expired.
        waiting: recipients queued, deferred or in flight.
        next_attempt: when the next waiting recipient is due (wall clock), or None.
        paused_until: end of the budget's pause or suspension (wall clock), or None.
        why: why mail waits (the pause's reply and ladder step, the last deferral...).
        rate_per_hour: the learned pace, or None before the first contact.
        rate_reason: why that pace (first-contact, probing, backed-off, enough, ceiling).
    """

    group: str
    delivered: int = 0
    bounced: int = 0
    expired: int = 0
    waiting: int = 0
    next_attempt: float | None = None
    paused_until: float | None = None
    why: str = ""
    rate_per_hour: float | None = None
    rate_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SendProgress:
    """The whole spool.

    Attributes:
        delivered: recipients delivered.
        bounced: recipients bounced.
        expired: recipients expired.
        waiting: recipients not final yet.
        providers: per provider group, most waiting first.
    """

    delivered: int
    bounced: int
    expired: int
    waiting: int
    providers: tuple[ProviderProgress, ...]

    @property
    def final(self) -> bool:
        """Every recipient is delivered, bounced or expired."""
        return self.waiting == 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "delivered": self.delivered,
            "bounced": self.bounced,
            "expired": self.expired,
            "waiting": self.waiting,
            "final": self.final,
            "providers": [p.to_dict() for p in self.providers],
        }


def build_progress(
    rows: Iterable[tuple[str, str, int, float | None, str]],
    groups: Mapping[str, str],
    shaping: Mapping[str, Mapping[str, Any]],
) -> SendProgress:
    """Put spool rows per provider group.

    Args:
        rows: (domain, state, count, earliest next attempt, last reply) per domain and state.
        groups: domain -> provider group, for the domains routed so far.
        shaping: group -> ``{"rate_per_hour", "reason", "paused_until", "pause_reason"}``.
    """
    acc: dict[str, dict[str, Any]] = {}
    for domain, state, count, due, reply in rows:
        group = groups.get(domain, UNROUTED)
        entry = acc.setdefault(group, {"delivered": 0, "bounced": 0, "expired": 0,
                                       "waiting": 0, "due": None, "reply": ""})  # fmt: skip
        if state in _WAITING:
            entry["waiting"] += count
            if due is not None and (entry["due"] is None or due < entry["due"]):
                entry["due"], entry["reply"] = due, reply
        elif state in entry:
            entry[state] += count
    providers = []
    for group, entry in acc.items():
        pace = shaping.get(group, {})
        why = str(pace.get("pause_reason") or "")
        if not why and entry["waiting"] and entry["reply"]:
            why = f'last reply: "{entry["reply"][:160]}"'
        providers.append(
            ProviderProgress(
                group=group,
                delivered=entry["delivered"],
                bounced=entry["bounced"],
                expired=entry["expired"],
                waiting=entry["waiting"],
                next_attempt=entry["due"] if entry["waiting"] else None,
                paused_until=pace.get("paused_until"),
                why=why if entry["waiting"] else "",
                rate_per_hour=pace.get("rate_per_hour"),
                rate_reason=str(pace.get("reason") or ""),
            )
        )
    providers.sort(key=lambda p: (-p.waiting, p.group))
    return SendProgress(
        delivered=sum(p.delivered for p in providers),
        bounced=sum(p.bounced for p in providers),
        expired=sum(p.expired for p in providers),
        waiting=sum(p.waiting for p in providers),
        providers=tuple(providers),
    )


def merge_shaping(seen: dict[str, Any] | None, state: dict[str, Any]) -> dict[str, Any]:
    """One group's shaping over several egress IPs: the paces add up; the longest pause
    (and its reason) is the one shown."""
    if seen is None:
        return state
    merged = dict(seen)
    merged["rate_per_hour"] = round(seen["rate_per_hour"] + state["rate_per_hour"], 1)
    if (state.get("paused_until") or 0.0) > (seen.get("paused_until") or 0.0):
        merged["paused_until"], merged["pause_reason"] = (
            state["paused_until"],
            state["pause_reason"],
        )
    return merged
