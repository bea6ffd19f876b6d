"""Complaints and bounces counted over sliding windows in the spool's database: the
policies, the rates per tenant and per provider group, and the pause of a tenant's bulk
mail. SQL functions of a connection, run inside the spool's transactions.

The denominators come from the spool: recipients ``delivered`` (and ``bounced``) whose
last change falls in the window, with the provider group the Sender recorded at
delivery. Purging the spool more often than the window shortens what is counted: keep
``purge --older-than`` at least as long as the complaint window.
"""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from typing import Any

from mailcheck.errors import ConfigError

__all__ = [
    "ComplaintPolicy",
    "Rate",
    "SoftBouncePolicy",
    "complaint_rate",
    "pause_tenant",
    "rates",
]

DAY = 86400.0


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number, not {value!r}")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintPolicy:
    """When a tenant's complaint rate warns and when it pauses the tenant's bulk mail.

    Gmail's bulk-sender guidelines ask to keep the spam rate reported in Postmaster Tools
    below 0.1 % and never to reach 0.3 % (support.google.com/a/answer/81126, "Email
    sender guidelines", 2024); Yahoo's sender requirements say the same 0.3 %
    (senders.yahooinc.com/best-practices).

    Attributes:
        window: seconds of the sliding window (complaints and deliveries in it count).
        warn_rate: rate (0.001 = 0.1 %) at which a ``complaint-warning`` event is written.
        pause_rate: rate at which the tenant's bulk mail is paused.
        min_delivered: deliveries in the window below which no rate is judged (one
            complaint among 20 messages is not a 5 % complaint rate).
        pause_for: seconds a pause lasts (lifted sooner by ``resume_tenant``).
    """

    window: float = 7 * DAY
    warn_rate: float = 0.001
    pause_rate: float = 0.003
    min_delivered: int = 100
    pause_for: float = DAY

    def __post_init__(self) -> None:
        for name in ("window", "warn_rate", "pause_rate", "pause_for"):
            _positive(name, getattr(self, name))
        if self.warn_rate > self.pause_rate:
            raise ConfigError("warn_rate must not exceed pause_rate")
        if self.min_delivered < 1:
            raise ConfigError("min_delivered must be at least 1")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SoftBouncePolicy:
    """When soft bounces (mailbox full ...) suppress an address.

    Attributes:
        count: distinct messages soft-bounced within ``window`` that suppress (the
            retries of one message count once: a mailbox full for an afternoon is one
            event, not five).
        window: seconds.
        suppress_for: seconds the ``soft-bounce-limit`` suppression lasts (a mailbox
            that was full may be emptied); None: until removed.
    """

    count: int = 3
    window: float = 7 * DAY
    suppress_for: float | None = 30 * DAY

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError("soft-bounce count must be at least 1")
        _positive("window", self.window)
        if self.suppress_for is not None:
            _positive("suppress_for", self.suppress_for)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Rate:
    """Counts over a window and the rates they make.

    Attributes:
        delivered: recipients delivered in the window.
        bounced: recipients bounced in the window.
        complaints: complaints recorded in the window.
        complaint_rate: complaints / delivered (None with nothing delivered).
        bounce_rate: bounced / (delivered + bounced) (None with neither).
    """

    delivered: int
    bounced: int
    complaints: int

    @property
    def complaint_rate(self) -> float | None:
        """complaints / delivered, or None."""
        return self.complaints / self.delivered if self.delivered else None

    @property
    def bounce_rate(self) -> float | None:
        """bounced / (delivered + bounced), or None."""
        total = self.delivered + self.bounced
        return self.bounced / total if total else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "delivered": self.delivered,
            "bounced": self.bounced,
            "complaints": self.complaints,
            "complaint_rate": self.complaint_rate,
            "bounce_rate": self.bounce_rate,
        }


def complaint_rate(
    db: sqlite3.Connection, /, *, tenant: str | None = None, provider: str | None = None,
    since: float,
) -> Rate:  # fmt: skip
    """The counts of one tenant or one provider group since ``since``."""
    if (tenant is None) == (provider is None):
        raise ConfigError("complaint_rate: name a tenant or a provider")
    if tenant is not None:
        states = db.execute(
            "SELECT r.state, COUNT(*) FROM recipients r JOIN messages m ON m.id = r.message_id"
            " WHERE r.state IN ('delivered','bounced') AND r.updated > ?"
            " AND COALESCE(m.tenant, '') = ? GROUP BY r.state",
            (since, tenant),
        ).fetchall()
        (complaints,) = db.execute(
            "SELECT COUNT(*) FROM complaints WHERE tenant=? AND at > ?", (tenant, since)
        ).fetchone()
    else:
        states = db.execute(
            "SELECT state, COUNT(*) FROM recipients WHERE state IN ('delivered','bounced')"
            " AND updated > ? AND grp = ? GROUP BY state",
            (since, provider),
        ).fetchall()
        (complaints,) = db.execute(
            "SELECT COUNT(*) FROM complaints WHERE provider=? AND at > ?", (provider, since)
        ).fetchone()
    counts = dict(states)
    return Rate(
        delivered=int(counts.get("delivered", 0)),
        bounced=int(counts.get("bounced", 0)),
        complaints=int(complaints),
    )


def rates(db: sqlite3.Connection, /, *, since: float) -> dict[str, dict[str, Rate]]:
    """Counts since ``since`` per tenant and per provider group:
    ``{"tenants": {tenant: Rate}, "providers": {group: Rate}}``."""
    by_tenant: dict[str, dict[str, int]] = {}
    for tenant, state, n in db.execute(
        "SELECT COALESCE(m.tenant, ''), r.state, COUNT(*) FROM recipients r JOIN messages m"
        " ON m.id = r.message_id WHERE r.state IN ('delivered','bounced') AND r.updated > ?"
        " GROUP BY 1, 2",
        (since,),
    ):
        by_tenant.setdefault(str(tenant), {})[str(state)] = int(n)
    for tenant, n in db.execute(
        "SELECT tenant, COUNT(*) FROM complaints WHERE at > ? GROUP BY tenant", (since,)
    ):
        by_tenant.setdefault(str(tenant), {})["complaints"] = int(n)
    by_group: dict[str, dict[str, int]] = {}
    for group, state, n in db.execute(
        "SELECT grp, state, COUNT(*) FROM recipients WHERE state IN ('delivered','bounced')"
        " AND updated > ? AND grp IS NOT NULL GROUP BY 1, 2",
        (since,),
    ):
        by_group.setdefault(str(group), {})[str(state)] = int(n)
    for group, n in db.execute(
        "SELECT provider, COUNT(*) FROM complaints WHERE at > ? AND provider != ''"
        " GROUP BY provider",
        (since,),
    ):
        by_group.setdefault(str(group), {})["complaints"] = int(n)

    def make(c: dict[str, int]) -> Rate:
        return Rate(
            delivered=c.get("delivered", 0),
            bounced=c.get("bounced", 0),
            complaints=c.get("complaints", 0),
        )

    return {
        "tenants": {k: make(v) for k, v in sorted(by_tenant.items())},
        "providers": {k: make(v) for k, v in sorted(by_group.items())},
    }


def pause_tenant(
    db: sqlite3.Connection, tenant: str, /, *, until: float, reason: str, now: float
) -> bool:
    """Pause ``tenant``'s bulk mail until ``until`` and write a ``tenant-paused`` event
    (reported once by the Sender); False when it was already paused (the pause is
    extended, no second event)."""
    row = db.execute(
        "SELECT until FROM tenant_pauses WHERE tenant=? AND until > ?", (tenant, now)
    ).fetchone()
    db.execute(
        "INSERT INTO tenant_pauses (tenant, until, reason, created) VALUES (?,?,?,?)"
        " ON CONFLICT (tenant) DO UPDATE SET until=MAX(excluded.until, until),"
        " reason=excluded.reason",
        (tenant, until, reason, now),
    )
    if row is not None:
        return False
    event(db, "tenant-paused", tenant, reason, now)
    return True


def event(db: sqlite3.Connection, kind: str, tenant: str, reason: str, now: float) -> None:
    """A tenant event in the spool's events table (no recipient: ids 0, the tenant in
    ``rcpt``)."""
    db.execute(
        "INSERT INTO events (recipient_id, message_id, rcpt, kind, reply, at)"
        " VALUES (0, 0, ?, ?, ?, ?)",
        (tenant, kind, reason, now),
    )
