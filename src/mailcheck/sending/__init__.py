"""Sending shaped per provider: budgets per (egress IP, provider group), shared or local.

``RedisBackend`` shares the budgets of several hosts through Redis (``mailcheck[redis]``;
the ``redis`` package is imported only when a backend is created).
"""

from __future__ import annotations

from mailcheck.sending.outcome import Outcome, OutcomeAction, OutcomeScope, basic_classify
from mailcheck.sending.providers import (
    Action,
    Limits,
    Provider,
    ProviderMatch,
    ProviderSet,
    Rate,
    Rule,
    Scope,
    lint_provider_file,
    parse_rate,
)
from mailcheck.sending.redis_backend import Decision, Lease, RedisBackend
from mailcheck.sending.replies import (
    Category,
    Classification,
    SmtpReply,
    classify_reply,
    make_classifier,
    normalize_reply,
    parse_reply,
    to_outcome,
)
from mailcheck.sending.sender import Egress, Sender, SendEvent
from mailcheck.sending.shaping import (
    AimdPolicy,
    Budget,
    MemoryBackend,
    Shaper,
    ShapingBackend,
    StateStore,
)
from mailcheck.sending.spool import BULK, TRANSACTIONAL, Job, RecipientRow, SpoolEvent, SqliteSpool

__all__ = [
    "BULK",
    "TRANSACTIONAL",
    "Action",
    "AimdPolicy",
    "Budget",
    "Category",
    "Classification",
    "Decision",
    "Egress",
    "Job",
    "Lease",
    "Limits",
    "MemoryBackend",
    "Outcome",
    "OutcomeAction",
    "OutcomeScope",
    "Provider",
    "ProviderMatch",
    "ProviderSet",
    "Rate",
    "RecipientRow",
    "RedisBackend",
    "Rule",
    "Scope",
    "SendEvent",
    "Sender",
    "Shaper",
    "ShapingBackend",
    "SmtpReply",
    "SpoolEvent",
    "SqliteSpool",
    "StateStore",
    "basic_classify",
    "classify_reply",
    "lint_provider_file",
    "make_classifier",
    "normalize_reply",
    "parse_rate",
    "parse_reply",
    "to_outcome",
]
