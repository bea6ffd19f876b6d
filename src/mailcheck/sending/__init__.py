"""Sending shaped per provider: budgets per (egress IP, provider group), shared or local.

``RedisBackend`` shares the budgets of several hosts through Redis (``mailcheck[redis]``;
the ``redis`` package is imported only when a backend is created).
"""

from __future__ import annotations

from mailcheck.sending.outcome import Outcome, OutcomeAction, OutcomeScope, basic_classify
from mailcheck.sending.redis_backend import Decision, Lease, RedisBackend
from mailcheck.sending.sender import Sender, SendEvent
from mailcheck.sending.shaping import (
    AimdPolicy,
    Budget,
    MemoryBackend,
    Shaper,
    ShapingBackend,
    StateStore,
)
from mailcheck.sending.spool import Job, SpoolEvent, SqliteSpool

__all__ = [
    "AimdPolicy",
    "Budget",
    "Decision",
    "Job",
    "Lease",
    "MemoryBackend",
    "Outcome",
    "OutcomeAction",
    "OutcomeScope",
    "RedisBackend",
    "SendEvent",
    "Sender",
    "Shaper",
    "ShapingBackend",
    "SpoolEvent",
    "SqliteSpool",
    "StateStore",
    "basic_classify",
]
