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
    ``bounced``, ``expired``. ``attempt``: one SMTP transaction begins. Shaping changes:
    ``rule`` (a provider rule matched), ``slowed`` (the pace was cut), ``paused`` (a
    throttling reply paused the budget), ``suspended`` (an unambiguous block), ``probing``
    (the pace was raised). List hygiene: ``suppressed`` (a recipient the suppression list
    stopped, reported once, the reason in ``reply``), ``tenant-paused`` (a complaint rate
    paused a tenant's bulk mail: the tenant in ``rcpt``, the reason in ``reply``) and
    ``complaint-warning`` (a tenant's complaint rate crossed the warning threshold).
    ``lint``: bulk mail a big provider would reject or that is at risk, queued anyway
    (``Sender(lint="warn")``; the first recipients in ``rcpt``, the verdicts in ``reply``).
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
    """

    kind: EventKind
    message_id: int = 0
    rcpt: str = ""
    reply: str = ""
    key: tuple[str, str] = ("", "")
    rule: str = ""
    at: float = 0.0
    rate: float | None = None

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
