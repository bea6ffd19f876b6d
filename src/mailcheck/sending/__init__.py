"""Sending shaped per provider: budgets per (egress IP, provider group), shared or local.

``RedisBackend`` shares the budgets of several hosts through Redis (``mailcheck[redis]``;
the ``redis`` package is imported only when a backend is created).
"""

from __future__ import annotations

from mailcheck.sending.redis_backend import RedisBackend

__all__ = [
    "RedisBackend",
]
