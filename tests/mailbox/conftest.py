"""A real Dovecot for the IMAP tests (one per module: it starts in well under a second)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.imap_server import DovecotTestServer


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotTestServer]:
    server = DovecotTestServer({"reports": "s3cret-pass", "other": "x"})
    server.start()
    try:
        yield server
    finally:
        server.close()
