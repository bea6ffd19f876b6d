"""A test certificate authority made with the cryptography package: no files from outside.

``TestCa`` issues server certificates (valid, expired, wrong name) and writes PEM files
for ``ssl`` contexts; ``self_signed`` makes a certificate no CA vouches for.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_NOW = datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass(frozen=True)
class Issued:
    """A certificate, its key, and the PEM files an ``ssl`` server loads."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    certfile: Path
    keyfile: Path
    chain: tuple[x509.Certificate, ...]

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(
    directory: Path, stem: str, certs: tuple[x509.Certificate, ...], key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    certfile = directory / f"{stem}.crt"
    keyfile = directory / f"{stem}.key"
    certfile.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


class TestCa:
    """A root CA in ``directory``; ``cafile`` is its PEM certificate (a trust store)."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path, name: str = "mailcheck test CA") -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_NOW - datetime.timedelta(days=30))
            .not_valid_after(_NOW + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self.cafile = directory / "ca.crt"
        self.cafile.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    def issue(
        self,
        stem: str,
        names: list[str],
        *,
        days: int = 90,
        expired: bool = False,
        key: ec.EllipticCurvePrivateKey | None = None,
    ) -> Issued:
        """A server certificate for ``names`` (DNS names or IP addresses), chain with the CA."""
        key = key or ec.generate_private_key(ec.SECP256R1())
        if expired:
            start, end = _NOW - datetime.timedelta(days=60), _NOW - datetime.timedelta(days=1)
        else:
            start, end = _NOW - datetime.timedelta(days=1), _NOW + datetime.timedelta(days=days)
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        chain = (cert, self.cert)
        certfile, keyfile = _write(self.directory, stem, chain, key)
        return Issued(cert, key, certfile, keyfile, chain)


def self_signed(directory: Path, stem: str, name: str) -> Issued:
    """A certificate for ``name`` signed by its own key."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOW - datetime.timedelta(days=1))
        .not_valid_after(_NOW + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = _write(directory, stem, (cert,), key)
    return Issued(cert, key, certfile, keyfile, (cert,))
