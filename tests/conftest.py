"""Fixtures shared by the whole suite: real servers on loopback, never mocks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcheck import DnsResolver
from tests.dnsserver import DnsTestServer

ZONES = Path(__file__).parent / "zones"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite tests/golden/*.json from this run"
    )
    parser.addoption(
        "--screenshots",
        action="store_true",
        help="save the browser tests' screenshots to docs/img/ (else to a temporary directory)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # The CLI speaks the user's language (LANGUAGE, LC_ALL, LC_MESSAGES, LANG): the suite
    # runs in English whatever the developer's locale; a test of French sets it itself.
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        os.environ.pop(name, None)
    os.environ["LANG"] = "C.UTF-8"


@pytest.fixture(scope="session")
def dns_server_session() -> Iterator[DnsTestServer]:
    server = DnsTestServer(sorted(ZONES.glob("*.zone"))).start()
    yield server
    server.stop()


@pytest.fixture
def dns_server(dns_server_session: DnsTestServer) -> Iterator[DnsTestServer]:
    """The DNS test server, with behaviours and the query log reset for this test."""
    dns_server_session.reset()
    yield dns_server_session
    dns_server_session.reset()


@pytest.fixture
def resolver(dns_server: DnsTestServer) -> DnsResolver:
    """A fresh resolver (empty cache, zeroed counters) pointed at the test server."""
    return DnsResolver([dns_server.address], timeout=1.0)
