"""Fixtures of the transport-security tests: a test CA, STARTTLS servers, HTTPS servers.

Every server is real and on loopback: aiosmtpd with STARTTLS and certificates issued
here by a test CA; an HTTPS server (uvicorn) serving MTA-STS policies.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP

from tests.tls.certs import Issued, TestCa
from tests.tls.https_server import CERT_NAMES, PolicyServer

MX_HOST = "mx1.tlstest.test"


@pytest.fixture
def test_ca(tmp_path: Path) -> TestCa:
    return TestCa(tmp_path)


def server_context(issued: Issued) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.certfile, issued.keyfile)
    return context


@dataclasses.dataclass
class SmtpServer:
    port: int
    connections: int = 0


class _Handler:
    """Accepts nothing: the probe never sends mail."""


StartSmtp = Callable[..., Awaitable[SmtpServer]]


@pytest.fixture
async def smtp_server() -> AsyncIterator[StartSmtp]:
    """Start aiosmtpd on 127.0.0.1: ``await smtp_server(issued)`` (``None``: no STARTTLS)."""
    servers: list[asyncio.Server] = []

    async def start(
        issued: Issued | None, *, smtputf8: bool = True, silent: bool = False
    ) -> SmtpServer:
        record = SmtpServer(port=0)
        context = server_context(issued) if issued is not None else None

        def factory() -> asyncio.Protocol:
            record.connections += 1
            if silent:
                return asyncio.Protocol()  # accepts the connection and never greets
            return SMTP(
                _Handler(),
                hostname=MX_HOST,
                ident="tlstest",
                tls_context=context,
                enable_SMTPUTF8=smtputf8,
                data_size_limit=10_485_760,
            )

        server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
        servers.append(server)
        record.port = server.sockets[0].getsockname()[1]
        return record

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture(scope="session")
def session_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCa:
    return TestCa(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def policy_server(session_ca: TestCa) -> Iterator[PolicyServer]:
    """The HTTPS server of MTA-STS policies, its certificate from ``session_ca``."""
    issued = session_ca.issue("policy", CERT_NAMES)
    server = PolicyServer(str(issued.certfile), str(issued.keyfile)).start()
    yield server
    server.stop()


@pytest.fixture
def policies(policy_server: PolicyServer) -> PolicyServer:
    policy_server.requests.clear()
    return policy_server
