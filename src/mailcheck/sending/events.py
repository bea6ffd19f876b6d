"""What the Sender reports: :class:`SendEvent`, one per state change or shaping change."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any

__all__ = ["EventKind", "Listeners", "SendEvent"]


class EventKind(enum.StrEnum):
    """What happened.

    Recipient states are reported once, from the spool: ``delivered``, ``deferred``,
    ``bounced``, ``expired``. ``attempt``: one SMTP transaction begins (the TLS of its
    connection in ``tls``). Shaping changes:
    ``rule`` (a provider rule matched), ``slowed`` (the pace was cut), ``paused`` (a
    throttling reply paused the budget), ``suspended`` (an unambiguous block), ``probing``
    (the pace was raised). List hygiene: ``suppressed`` (a recipient the suppression list
    stopped, reported once, the reason in ``reply``), ``tenant-paused`` (a complaint rate
    paused a tenant's bulk mail: the tenant in ``rcpt``, the reason in ``reply``) and
    ``complaint-warning`` (a tenant's complaint rate crossed the warning threshold).
    ``lint``: bulk mail a big provider would reject or that is at risk, queued anyway
    (``Sender(lint="warn")``; the first recipients in ``rcpt``, the verdicts in ``reply``).
    ``tls-report``: a TLS failure under MTA-STS or DANE (the matter of a TLS-RPT report,
    RFC 8460): the MX host in ``host``, the policy in ``tls`` (``mta-sts-testing``: the
    mail went anyway; ``mta-sts-enforce`` or ``dane``: it waits), the reason in ``reply``,
    the recipient domains concerned in ``rcpt``.
    """

    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    EXPIRED = "expired"
    SUPPRESSED = "suppressed"
    TENANT_PAUSED = "tenant-paused"
    COMPLAINT_WARNING = "complaint-warning"
    LINT = "lint"
    ATTEMPT = "attempt"
    RULE = "rule"
    SLOWED = "slowed"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    PROBING = "probing"
    TLS_REPORT = "tls-report"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SendEvent:
    """Something that happened.

    Attributes:
        kind: what (:class:`EventKind`).
        message_id: the spool's message id (0 for a shaping change).
        rcpt: the recipient (comma-separated for an attempt).
        reply: the remote reply or the reason (untrusted text).
        key: the budget, (egress, provider group).
        rule: the provider rule that matched.
        at: wall-clock seconds.
        rate: for ``slowed`` and ``probing``, the new pace (messages per hour).
        tls: for ``attempt``, the TLS of the connection; for ``tls-report``, the policy
            that failed (:class:`~mailcheck.sending.tlspolicy.EffectiveTls` values).
        host: for ``tls-report``, the MX host.
    """

    kind: EventKind
    message_id: int = 0
    rcpt: str = ""
    reply: str = ""
    key: tuple[str, str] = ("", "")
    rule: str = ""
    at: float = 0.0
    rate: float | None = None
    tls: str = ""
    host: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable mapping."""
        return {
            "kind": str(self.kind),
            "message_id": self.message_id,
            "rcpt": self.rcpt,
            "reply": self.reply,
            "egress": self.key[0],
            "group": self.key[1],
            "rule": self.rule,
            "at": self.at,
            "rate": self.rate,
            "tls": self.tls,
            "host": self.host,
        }


class Listeners:
    """The callbacks that receive events (one owner: the Sender)."""

    def __init__(self) -> None:
        self._items: list[Callable[[SendEvent], None]] = []

    def __bool__(self) -> bool:
        return bool(self._items)

    def add(self, listener: Callable[[SendEvent], None]) -> None:
        """Call ``listener`` with every future event."""
        self._items.append(listener)

    def remove(self, listener: Callable[[SendEvent], None]) -> None:
        """Stop calling ``listener``."""
        self._items.remove(listener)

    def emit(self, event: SendEvent) -> None:
        """Give ``event`` to every listener (a copy of the list: one may unsubscribe)."""
        for listener in tuple(self._items):
            listener(event)
