"""Fixtures for the reputation tests: the test catalogue of fake zones, a checker on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailcheck import DnsResolver
from mailcheck.reputation import BlocklistChecker, Catalogue, load_catalogue

LISTS = Path(__file__).parent / "lists.toml"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    """The fake zones of tests/zones/bl.rep.test.zone, without the built-in catalogue."""
    return load_catalogue(LISTS, builtin=False)


@pytest.fixture
def checker(resolver: DnsResolver, catalogue: Catalogue) -> BlocklistChecker:
    return BlocklistChecker(resolver=resolver, catalogue=catalogue)
