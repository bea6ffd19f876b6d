"""Fixtures for the Redis tests: a real ``redis-server`` on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_server import RedisTestServer


@pytest.fixture
def redis_server() -> Iterator[RedisTestServer]:
    """A fresh ``redis-server`` for this test; stop/start/restart it to play faults.

    Fails (never skips) with the package to install when ``redis-server`` is missing.
    """
    server = RedisTestServer().start()
    try:
        yield server
    finally:
        server.close()
