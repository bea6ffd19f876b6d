"""Sending shaped per provider: a durable spool, budgets per (egress IP, provider group)
with a learned pace, shared between hosts through Redis when asked.

What a user needs is exported here (``docs/sending.md``); the modules hold the rest. Names
are imported on first use (PEP 562), so ``import mailcheck.sending`` stays cheap and
``redis`` is imported only when a :class:`RedisBackend` is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailcheck._lazy import lazy_exports

if TYPE_CHECKING:
    from mailcheck.sending.events import SendEvent
    from mailcheck.sending.fairness import FairnessConfig
    from mailcheck.sending.pacing import PacePolicy, PaceReason
    from mailcheck.sending.progress import ProviderProgress, SendProgress
    from mailcheck.sending.provider_lint import lint_provider_file
    from mailcheck.sending.providers import ProviderSet
    from mailcheck.sending.redis_backend import RedisBackend
    from mailcheck.sending.replies import Classification, SmtpReply, classify_reply, parse_reply
    from mailcheck.sending.sender import Egress, Sender
    from mailcheck.sending.shaping import MemoryBackend
    from mailcheck.sending.spool import BULK, TRANSACTIONAL, SqliteSpool
    from mailcheck.sending.submission import LintRefused
    from mailcheck.sending.tlspolicy import TlsPolicyCache
    from mailcheck.sending.warmup import WarmupPlan

__all__ = [
    "BULK",
    "TRANSACTIONAL",
    "Classification",
    "Egress",
    "FairnessConfig",
    "LintRefused",
    "MemoryBackend",
    "PacePolicy",
    "PaceReason",
    "ProviderProgress",
    "ProviderSet",
    "RedisBackend",
    "SendEvent",
    "SendProgress",
    "Sender",
    "SmtpReply",
    "SqliteSpool",
    "TlsPolicyCache",
    "WarmupPlan",
    "classify_reply",
    "lint_provider_file",
    "parse_reply",
]

_WHERE = {
    "BULK": "spool",
    "TRANSACTIONAL": "spool",
    "SqliteSpool": "spool",
    "Classification": "replies",
    "SmtpReply": "replies",
    "classify_reply": "replies",
    "parse_reply": "replies",
    "Egress": "sender",
    "Sender": "sender",
    "SendEvent": "events",
    "FairnessConfig": "fairness",
    "LintRefused": "submission",
    "TlsPolicyCache": "tlspolicy",
    "MemoryBackend": "shaping",
    "PacePolicy": "pacing",
    "PaceReason": "pacing",
    "ProviderProgress": "progress",
    "SendProgress": "progress",
    "ProviderSet": "providers",
    "lint_provider_file": "provider_lint",
    "RedisBackend": "redis_backend",
    "WarmupPlan": "warmup",
}


__getattr__, _ = lazy_exports(
    __name__, {name: f"{__name__}.{module}" for name, module in _WHERE.items()}
)


def __dir__() -> list[str]:
    return sorted(__all__)
