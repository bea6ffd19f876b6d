"""Fixtures of the transport-security tests: a test CA, STARTTLS servers, HTTPS servers.

Every server is real and on loopback: aiosmtpd with STARTTLS and certificates issued
here by a test CA; an HTTPS server (uvicorn) serving MTA-STS policies.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import ZONES
from tests.tls.certs import Issued, TestCa
from tests.tls.dnssec_server import SignedZone, SigningDnsServer, sign_zone_file
from tests.tls.https_server import CERT_NAMES, PolicyServer
from tests.tls.unbound import Unbound

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


# --- DNSSEC and DANE -------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class DaneWorld:
    """Signed zones, the DNS server that serves their signatures, and the MX certificate.

    ``tlssec.test`` (signed) has hosts mx1..mx6 whose TLSA records cover the cases:
    mx1 the current key only, mx2 current + next key, mx3 another key, mx4 PKIX-EE,
    mx5 no TLSA, mx6 a TLSA RRset changed after signing (bogus). ``tlsbogus.test`` has an
    MX RRset changed after signing. ``tlstest.test`` is unsigned.
    """

    server: SigningDnsServer
    zones: tuple[SignedZone, ...]
    certificate: Issued
    anchors: tuple[str, ...]


def _spki_sha256(key: ec.EllipticCurvePrivateKey) -> str:
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


@pytest.fixture(scope="session")
def dane_world(session_ca: TestCa, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaneWorld]:
    directory = tmp_path_factory.mktemp("signed")
    current = ec.generate_private_key(ec.SECP256R1())
    names = [f"mx{i}.tlssec.test" for i in range(1, 7)]
    certificate = session_ca.issue("dane", names, key=current)
    now, after, other = (
        _spki_sha256(current),
        _spki_sha256(ec.generate_private_key(ec.SECP256R1())),
        _spki_sha256(ec.generate_private_key(ec.SECP256R1())),
    )
    hosts = "".join(f"mx{i} A 127.0.0.1\n" for i in range(1, 7))
    body = (
        "@ MX 10 mx1\n@ MX 20 mx2\n"
        + hosts
        + f"_25._tcp.mx1 TLSA 3 1 1 {now}\n"
        + f"_25._tcp.mx2 TLSA 3 1 1 {now}\n_25._tcp.mx2 TLSA 3 1 1 {after}\n"
        + f"_25._tcp.mx3 TLSA 3 1 1 {other}\n"
        + f"_25._tcp.mx4 TLSA 1 1 1 {now}\n"
        + f"_25._tcp.mx6 TLSA 3 1 1 {now}\n"
    )
    signed = sign_zone_file(
        directory, "tlssec.test", body, tamper={"_25._tcp.mx6 TLSA": f"3 1 1 {other}"}
    )
    bogus = sign_zone_file(
        directory,
        "tlsbogus.test",
        "@ MX 10 mx1\nmx1 A 127.0.0.1\n",
        tamper={"@ MX": "10 evil.example."},
    )
    server = SigningDnsServer([signed.path, bogus.path, ZONES / "tlstest.test.zone"]).start()
    yield DaneWorld(server, (signed, bogus), certificate, (signed.ds, bogus.ds))
    server.stop()


@pytest.fixture
def dane(dane_world: DaneWorld) -> DaneWorld:
    dane_world.server.reset()
    return dane_world


@pytest.fixture(scope="session")
def unbound(dane_world: DaneWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Unbound]:
    """unbound validating with the test zones' DS as trust anchors, forwarding to their server."""
    server = Unbound(
        tmp_path_factory.mktemp("unbound"),
        upstream=dane_world.server.address,
        anchors=dane_world.anchors,
    ).start()
    yield server
    server.stop()
