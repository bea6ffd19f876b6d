"""What comes back from recipients, recorded: complaints (with the complaint rate that may
pause a tenant's bulk mail), hard and soft bounces. Mixed into
:class:`~mailcheck.hygiene.suppression.SuppressionList`."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mailcheck.errors import ConfigError
from mailcheck.hygiene import rates, store
from mailcheck.hygiene.rates import ComplaintPolicy, Rate, SoftBouncePolicy
from mailcheck.hygiene.types import Suppression, SuppressionReason, address_key

if TYPE_CHECKING:
    from mailcheck.sending.spool import SqliteSpool

__all__ = ["ComplaintOutcome", "Feedback", "Pause"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintOutcome:
    """What :meth:`Feedback.record_complaint` did.

    Attributes:
        address: the complaining address (normalised).
        tenant: the tenant complained about ("" when unknown).
        provider: the provider group the complaint came through ("" when unknown).
        duplicate: the same report (same ``source`` and address) was recorded before:
            nothing was counted again.
        suppression: the suppression added (tenant scope; global without a tenant).
        tenant_rate: the tenant's counts in the window, this complaint included.
        provider_rate: the provider's counts in the window (None without a provider).
        status: ``ok``, ``warning`` (at or above the warning rate) or ``paused``.
        paused_until: when the tenant's pause ends (wall clock), when paused.
    """

    address: str
    tenant: str
    provider: str
    duplicate: bool
    suppression: Suppression | None
    tenant_rate: Rate
    provider_rate: Rate | None
    status: str
    paused_until: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "address": self.address,
            "tenant": self.tenant,
            "provider": self.provider,
            "duplicate": self.duplicate,
            "suppression": None if self.suppression is None else self.suppression.to_dict(),
            "tenant_rate": self.tenant_rate.to_dict(),
            "provider_rate": None if self.provider_rate is None else self.provider_rate.to_dict(),
            "status": self.status,
            "paused_until": self.paused_until,
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Pause:
    """A tenant whose bulk mail is paused: until when (wall clock) and why."""

    tenant: str
    until: float
    reason: str
    created: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return dataclasses.asdict(self)


def _recipient(db: sqlite3.Connection, rid: int) -> tuple[str, str, str]:
    row = db.execute(
        "SELECT r.rcpt, COALESCE(m.tenant, ''), COALESCE(r.grp, '') FROM recipients r"
        " JOIN messages m ON m.id = r.message_id WHERE r.id=?",
        (rid,),
    ).fetchone()
    if row is None:
        raise KeyError(f"no recipient {rid} (purged?)")
    return str(row[0]), str(row[1]), str(row[2])


def _judge(
    db: sqlite3.Connection, tenant: str, policy: ComplaintPolicy, now: float, before: Rate,
    after: Rate,
) -> tuple[str, float | None]:  # fmt: skip
    """Warn or pause ``tenant`` when its rate crossed a threshold."""
    rate = after.complaint_rate
    if not tenant or rate is None or after.delivered < policy.min_delivered:
        return "ok", None
    window = f"{after.complaints} complaints / {after.delivered} delivered in the last"
    window += f" {policy.window / rates.DAY:g} d"
    if rate >= policy.pause_rate:
        until = now + policy.pause_for
        reason = (
            f"complaint rate {rate:.2%} ({window}) at or above {policy.pause_rate:.2%}:"
            " bulk mail paused"
        )
        rates.pause_tenant(db, tenant, until=until, reason=reason, now=now)
        row = db.execute("SELECT until FROM tenant_pauses WHERE tenant=?", (tenant,)).fetchone()
        return "paused", float(row[0])
    if rate >= policy.warn_rate:
        old = before.complaint_rate
        if old is None or old < policy.warn_rate or before.delivered < policy.min_delivered:
            reason = f"complaint rate {rate:.2%} ({window}) at or above {policy.warn_rate:.2%}"
            rates.event(db, "complaint-warning", tenant, reason, now)
        return "warning", None
    return "ok", None


class Feedback:
    """Complaints and bounces recorded (see the module docstring)."""

    clock: Callable[[], float]
    spool: SqliteSpool
    complaints: ComplaintPolicy
    soft_bounces: SoftBouncePolicy

    async def _run(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        raise NotImplementedError

    entry: Callable[..., tuple[Suppression, str]]
    counts: Callable[[], Awaitable[dict[str, Any]]]

    async def record_complaint(
        self,
        address: str | None = None,
        /,
        *,
        recipient_id: int | None = None,
        tenant: str | None = None,
        provider: str | None = None,
        source: str = "",
    ) -> ComplaintOutcome:
        """Record a complaint ("this is spam", an ARF report): suppress the address for
        the tenant, count it, and warn or pause the tenant by its complaint rate
        (:class:`~.rates.ComplaintPolicy`), all in one transaction.

        Args:
            address: the complaining recipient; may be left out with ``recipient_id``.
            recipient_id: the spool's recipient (from a VERP token or the tracking
                header): fills in the address, the tenant and the provider group.
            tenant: the tenant whose mail was complained about.
            provider: the provider group it came through (a name of providers.toml:
                ``yahoo``, ``microsoft`` ...).
            source: the report's id (an ARF report ingested twice counts once).

        Raises:
            ConfigError: neither address nor recipient id, or an unknown recipient id.
            AddressError: the address is not a mailbox.
        """
        if address is None and recipient_id is None:
            raise ConfigError("record_complaint: give the address or the recipient id")
        now, policy = self.clock(), self.complaints
        since = now - policy.window

        def work(db: sqlite3.Connection) -> ComplaintOutcome:
            addr, who, via = address or "", tenant or "", provider or ""
            if recipient_id is not None:
                try:
                    found = _recipient(db, recipient_id)
                except KeyError as exc:
                    raise ConfigError(f"record_complaint: {exc.args[0]}") from None
                addr, who, via = address or found[0], tenant or found[1], provider or found[2]
            entry, key = self.entry(
                addr,
                reason=SuppressionReason.COMPLAINT,
                tenant=who or None,
                source=source,
                created=now,
            )
            before = rates.complaint_rate(db, tenant=who, since=since)
            cur = db.execute(
                "INSERT OR IGNORE INTO complaints (key, tenant, provider, recipient_id, source,"
                " at) VALUES (?,?,?,?,?,?)",
                (key, who, via, recipient_id, entry.source, now),
            )
            duplicate = cur.rowcount == 0
            stored = store.upsert(db, key, entry)
            after = rates.complaint_rate(db, tenant=who, since=since)
            status, until = (
                ("ok", None) if duplicate else _judge(db, who, policy, now, before, after)
            )
            return ComplaintOutcome(
                address=entry.address,
                tenant=who,
                provider=via,
                duplicate=duplicate,
                suppression=stored,
                tenant_rate=after,
                provider_rate=rates.complaint_rate(db, provider=via, since=since) if via else None,
                status=status,
                paused_until=until,
            )

        outcome: ComplaintOutcome = await self._run(work)
        if outcome.paused_until is not None:
            # A Sender using this spool holds the tenant's bulk mail already in memory at
            # once (other processes' Senders learn it at their next claim).
            pause = (outcome.paused_until, f"complaint rate of {outcome.tenant}")
            self.spool.paused_tenants[outcome.tenant] = pause
        return outcome

    async def record_hard_bounce(self, address: str, /, *, source: str = "") -> Suppression:
        """Suppress ``address`` for everybody: the mailbox does not exist (5.1.1 ...)."""
        entry, key = self.entry(address, reason=SuppressionReason.HARD_BOUNCE, source=source)
        stored: Suppression = await self._run(lambda db: store.upsert(db, key, entry))
        return stored

    async def record_soft_bounce(
        self, address: str, /, *, message_id: int, tenant: str | None = None, status: str = "",
        source: str = "",
    ) -> Suppression | None:  # fmt: skip
        """Count a soft bounce (mailbox full ...) of message ``message_id``; when the
        address soft-bounced that many distinct messages within the window
        (:class:`~.rates.SoftBouncePolicy`), suppress it for everybody and return the
        entry (else None)."""
        policy, now = self.soft_bounces, self.clock()
        key = address_key(address)

        def work(db: sqlite3.Connection) -> Suppression | None:
            db.execute(
                "INSERT INTO soft_bounces (key, message_id, tenant, status, at) VALUES (?,?,?,?,?)",
                (key, message_id, tenant or "", status[:16], now),
            )
            (n,) = db.execute(
                "SELECT COUNT(DISTINCT message_id) FROM soft_bounces WHERE key=? AND at > ?",
                (key, now - policy.window),
            ).fetchone()
            if n < policy.count:
                return None
            why = f"{n} messages soft-bounced in {policy.window / rates.DAY:g} d; last: {source}"
            expires = None if policy.suppress_for is None else now + policy.suppress_for
            entry, _ = self.entry(
                address,
                reason=SuppressionReason.SOFT_BOUNCE_LIMIT,
                source=why,
                expires=expires,
                created=now,
            )
            return store.upsert(db, key, entry)

        result: Suppression | None = await self._run(work)
        return result

    async def rates(self, *, window: float | None = None) -> dict[str, dict[str, Rate]]:
        """Delivered, bounced and complaints in the window (default: the complaint
        policy's), per tenant and per provider group (see :func:`~.rates.rates`)."""
        since = self.clock() - (window or self.complaints.window)
        result: dict[str, dict[str, Rate]] = await self._run(
            lambda db: rates.rates(db, since=since)
        )
        return result

    async def pauses(self) -> list[Pause]:
        """The tenants whose bulk mail is paused now."""
        now = self.clock()
        rows = await self._run(
            lambda db: db.execute(
                "SELECT tenant, until, reason, created FROM tenant_pauses WHERE until > ?"
                " ORDER BY tenant",
                (now,),
            ).fetchall()
        )
        return [Pause(tenant=t, until=u, reason=r, created=c) for t, u, r, c in rows]

    async def resume_tenant(self, tenant: str, /) -> bool:
        """Lift ``tenant``'s pause now (its complaints stay counted); False if none."""
        n = await self._run(
            lambda db: db.execute("DELETE FROM tenant_pauses WHERE tenant=?", (tenant,)).rowcount
        )
        self.spool.paused_tenants.pop(tenant, None)  # a Sender on this spool resumes at once
        return bool(n)

    async def summary(self, *, window: float | None = None) -> dict[str, Any]:
        """What ``mailcheck spool status`` and ``Sender.hygiene_stats()`` show (plain
        JSON): per tenant and per provider group, delivered, bounced, complaints and their
        rates in the window; per tenant its own suppressions and pause; the list's counts.

        Returns:
            ``{"window_days", "tenants": {tenant: {"delivered", "bounced", "complaints",
            "bounce_rate", "complaint_rate", "suppressions", "paused_until",
            "pause_reason"}}, "providers": {group: {...the rates}}, "suppressions":
            {"total", "global", "reasons", "tenants", "lists"}}``.
        """
        window = window or self.complaints.window
        rates_now = await self.rates(window=window)
        counts = await self.counts()
        pauses = {p.tenant: p for p in await self.pauses()}
        tenants: dict[str, Any] = {}
        for name in sorted({*rates_now["tenants"], *counts["tenants"], *pauses}):
            rate = rates_now["tenants"].get(name, Rate(delivered=0, bounced=0, complaints=0))
            pause = pauses.get(name)
            tenants[name] = rate.to_dict() | {
                "suppressions": counts["tenants"].get(name, 0),
                "paused_until": None if pause is None else pause.until,
                "pause_reason": "" if pause is None else pause.reason,
            }
        return {
            "window_days": window / rates.DAY,
            "tenants": tenants,
            "providers": {k: v.to_dict() for k, v in rates_now["providers"].items()},
            "suppressions": counts,
        }
