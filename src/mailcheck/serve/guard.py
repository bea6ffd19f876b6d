"""Who may call the API and how often: bearer tokens and per-token rate limits."""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Callable, Sequence

from mailcheck.serve.problems import Problem, rate_limited, unauthorized

#: Longest Authorization header read.
MAX_AUTHORIZATION = 1024
#: Clients (page visitors, by address) whose buckets are remembered; the oldest go first.
MAX_BUCKETS = 10_000


def token_id(token: str) -> str:
    """A short name for a token in logs and metrics (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


class TokenGuard:
    """Checks ``Authorization: Bearer <token>`` against the configured tokens.

    Every configured token is compared, each with :func:`hmac.compare_digest` on SHA-256
    digests (equal lengths), so the time taken says nothing about which token or how much
    of it matched.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        self._digests = tuple((hashlib.sha256(t.encode()).digest(), token_id(t)) for t in tokens)

    def check(self, authorization: str | None) -> str:
        """The id of the token presented.

        Raises:
            Problem: 401 (no header, not Bearer, or an unknown token).
        """
        if not authorization:
            raise unauthorized("send Authorization: Bearer <token>")
        if len(authorization) > MAX_AUTHORIZATION:
            raise unauthorized("the Authorization header is too long")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise unauthorized("the Authorization scheme must be Bearer")
        presented = hashlib.sha256(value.strip().encode("utf-8", "replace")).digest()
        found = ""
        for digest, ident in self._digests:
            if hmac.compare_digest(presented, digest):
                found = ident  # no early exit: every token is compared
        if not found:
            raise unauthorized("unknown token")
        return found


class RateLimiter:
    """A token bucket per caller: ``burst`` requests at once, then ``per_minute``.

    Args:
        per_minute: sustained requests per minute (0: no limit).
        burst: the bucket's size.
        clock: monotonic seconds.
    """

    def __init__(self, per_minute: float, burst: int, *, clock: Callable[[], float]) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.refused = 0

    def take(self, who: str) -> None:
        """Spend one request of ``who``.

        Raises:
            Problem: 429 with Retry-After when the bucket is empty.
        """
        if self.rate <= 0:
            return
        now = self.clock()
        level, last = self._buckets.pop(who, (self.burst, now))
        level = min(self.burst, level + (now - last) * self.rate)
        if level < 1.0:
            self._buckets[who] = (level, now)
            self.refused += 1
            raise rate_limited((1.0 - level) / self.rate)
        self._buckets[who] = (level - 1.0, now)
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)


__all__ = ["Problem", "RateLimiter", "TokenGuard", "token_id"]
