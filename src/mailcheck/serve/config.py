"""The service's settings: one frozen object passed to :func:`~mailcheck.serve.create_app`."""

from __future__ import annotations

import dataclasses
import math
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from mailcheck.errors import ConfigError
from mailcheck.lookup.resolver import Resolver
from mailcheck.reputation import Catalogue

#: Shortest token accepted: a token is a shared secret, not a password a person types.
MIN_TOKEN_LENGTH = 16
#: Largest token file read.
MAX_TOKEN_FILE = 64 * 1024


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ServeConfig:
    """What the service does and how much of it.

    Attributes:
        tokens: the bearer tokens the API accepts (``Authorization: Bearer <token>``);
            empty: the API refuses every request (pages and /healthz still work).
        resolver: the DNS resolver of every check (default: the system's, through
            :class:`~mailcheck.DnsResolver`).
        catalogue: the blocklist catalogue (default: the built-in one).
        reputation: check reverse DNS and blocklists in domain audits.
        cache_ttl: seconds an audit of a domain is served from the cache.
        recheck_after: a "re-check" younger than this many seconds returns the cached
            report (a button pressed in a loop does not become an audit per press).
        max_audits: audits running at once (more wait their turn).
        max_waiting: audits allowed to wait for a slot; past it: 503 with Retry-After.
        rate_per_minute: requests per minute per token (and per client for the pages).
        burst: requests a token may make at once before the rate applies.
        cache_size: domains kept in the audit cache.
        spool: path of the sending spool (directory or ``spool.db``), read-only.
        reports_db: path of the DMARC reports store (:class:`~mailcheck.reports.ReportStore`)
            whose summaries ``/api/v1/reports/{domain}`` gives.
        unsubscribe_secret: the secret the Sender signs RFC 8058 unsubscribe tokens with
            (:func:`mailcheck.hygiene.secret.read_secret`); with ``spool``, enables
            ``/unsubscribe``. Never logged.
        language: the default language (``en`` or ``fr``) when a request names none.
        frame_ancestors: origins allowed to put the pages in an iframe (CSP
            ``frame-ancestors``), e.g. ``("https://panel.example",)``; default: same origin.
        clock: monotonic seconds (cache ages, rate limits); tests may inject one.
    """

    tokens: tuple[str, ...] = ()
    resolver: Resolver | None = None
    catalogue: Catalogue | None = None
    reputation: bool = True
    cache_ttl: float = 300.0
    recheck_after: float = 10.0
    max_audits: int = 4
    max_waiting: int = 64
    rate_per_minute: float = 60.0
    burst: int = 20
    cache_size: int = 1000
    spool: str | None = None
    reports_db: str | None = None
    unsubscribe_secret: bytes | None = dataclasses.field(default=None, repr=False)
    language: str = "en"
    frame_ancestors: tuple[str, ...] = ()
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        for token in self.tokens:
            if len(token) < MIN_TOKEN_LENGTH or not token.isprintable() or " " in token:
                raise ConfigError(
                    f"a token must be at least {MIN_TOKEN_LENGTH} printable characters"
                    " without spaces"
                )
        for name in ("cache_ttl", "recheck_after", "rate_per_minute"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be a number of at least 0, not {value!r}")
        for name in ("max_audits", "burst", "cache_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.max_waiting < 0:
            raise ConfigError("max_waiting must be at least 0")
        if self.language not in ("en", "fr"):
            raise ConfigError(f"language must be en or fr, not {self.language!r}")
        for origin in self.frame_ancestors:
            if not origin or any(ch in origin for ch in " ;,'\"\n"):
                raise ConfigError(f"frame ancestor {origin!r} is not an origin")


def read_tokens(path: str | os.PathLike[str], /) -> tuple[str, ...]:
    """The tokens of a token file: one per line; blank lines and ``#`` comments skipped.

    Raises:
        ConfigError: the file cannot be read, is larger than 64 KiB, is readable by
            others (the tokens are secrets: ``chmod 600``), or holds no token.
    """
    file = Path(path)
    try:
        info = file.stat()
        if info.st_size > MAX_TOKEN_FILE:
            raise ConfigError(f"token file {file}: larger than {MAX_TOKEN_FILE} bytes")
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"token file {file}: readable by others (chmod 600 it)")
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"token file {file}: {exc.__class__.__name__}") from None
    tokens = tuple(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )
    if not tokens:
        raise ConfigError(f"token file {file}: no token in it")
    return tokens
