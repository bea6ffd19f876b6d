"""Hostile input to the pure-ish readers: what a server says during the probe, what a
certificate holds. Nothing escapes but the documented results."""

from __future__ import annotations

import asyncio
import contextlib
import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck.errors import ParseError
from mailcheck.tls.certinfo import certificate_facts, name_matches
from mailcheck.tls.starttls import probe_starttls
from mailcheck.tls.types import ProbeStatus

_LINES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"220 hello\r\n",
            b"250-mx\r\n250-STARTTLS\r\n250 SIZE 99999999999999999999\r\n",
            b"250-mx\r\n250-SIZE -1\r\n250 SMTPUTF8\r\n",
            b"220-" + b"x" * 5000 + b"\r\n",
            b"250-more\r\n" * 200,
            b"554 go away\r\n",
            b"220 ready\r\n",
            b"\xff\xfe\x00\r\n",
        ]
    ),
)


async def _probe_against(script: list[bytes]) -> ProbeStatus:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Everything at once, then close: the probe reads what it can and never waits on
        # a server that waits on it.
        with contextlib.suppress(ConnectionError):
            writer.write(b"".join(script))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        probe = await probe_starttls("mx.fuzz.test", address="127.0.0.1", port=port, timeout=1)
    finally:
        server.close()
        await server.wait_closed()
    return probe.status


@settings(max_examples=60, deadline=None)
@given(st.lists(_LINES, min_size=0, max_size=4))
def test_probe_never_raises_on_hostile_servers(script: list[bytes]) -> None:
    status = asyncio.run(_probe_against(script))
    # Garbage is never "no TLS" unless the server really answered EHLO without STARTTLS.
    assert status in set(ProbeStatus)


@given(st.binary(max_size=2000))
def test_certificate_facts_only_parse_errors(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        certificate_facts(data, now=datetime.datetime.now(datetime.UTC))


@given(st.lists(st.text(max_size=30), max_size=5), st.text(max_size=60))
def test_name_matching_never_raises(names: list[str], host: str) -> None:
    assert name_matches(tuple(names), host) in (True, False)
