"""TLSA records, pure: their fields (RFC 6698 §2.1, RFC 7218 names), which of them
SMTP uses (RFC 7672 §3.1), and whether one matches a certificate chain.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import itertools
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from mailcheck.errors import ParseError
from mailcheck.model import ToDict


class TlsaUsage(enum.IntEnum):
    """Certificate usage (RFC 7218 §2.1 mnemonics)."""

    PKIX_TA = 0
    PKIX_EE = 1
    DANE_TA = 2
    DANE_EE = 3


class TlsaSelector(enum.IntEnum):
    """Which part of the certificate is matched (RFC 7218 §2.2)."""

    CERT = 0
    SPKI = 1


class TlsaMatching(enum.IntEnum):
    """How the selected data is compared (RFC 7218 §2.3)."""

    FULL = 0
    SHA2_256 = 1
    SHA2_512 = 2


_DIGEST_SIZES = {TlsaMatching.SHA2_256: 32, TlsaMatching.SHA2_512: 64}
# Certificate association data is at most one certificate: bound what we hex-decode.
MAX_TLSA_DATA = 16_384


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsaRecord(ToDict):
    """One TLSA record: ``usage selector matching data``.

    Fields hold the raw numbers so that values no RFC assigns are kept (and reported
    unusable) instead of failing the parse.
    """

    usage: int
    selector: int
    matching: int
    data: bytes

    def to_text(self) -> str:
        """Presentation format: ``3 1 1 <hex>`` (lower-case hex)."""
        return f"{self.usage} {self.selector} {self.matching} {self.data.hex()}"

    @property
    def smtp_usable(self) -> bool:
        """Usable by an SMTP client (RFC 7672 §3.1): DANE-TA or DANE-EE, a known selector
        and matching type, and a digest of the right length.

        RFC 7672 §3.1.3: "SMTP client treatment of TLSA RRs with certificate usages
        PKIX-TA(0) or PKIX-EE(1) is undefined" — they count as unusable.
        """
        if self.usage not in (TlsaUsage.DANE_TA, TlsaUsage.DANE_EE):
            return False
        if self.selector not in (0, 1) or self.matching not in (0, 1, 2):
            return False
        size = _DIGEST_SIZES.get(TlsaMatching(self.matching))
        return bool(self.data) and (size is None or len(self.data) == size)


def parse_tlsa(text: str, /) -> TlsaRecord:
    """Parse a TLSA record in presentation format (``3 1 1 ab12...``).

    Raises:
        ParseError: not three numbers 0-255 and hexadecimal data.
    """
    parts = text.split()
    if len(parts) < 4:
        raise ParseError(text, 0, "expected usage selector matching-type data")
    numbers = []
    for part in parts[:3]:
        if not part.isascii() or not part.isdigit() or int(part) > 255:
            raise ParseError(text, text.find(part), f"{part!r} is not a number from 0 to 255")
        numbers.append(int(part))
    hex_text = "".join(parts[3:])
    if len(hex_text) > 2 * MAX_TLSA_DATA:
        raise ParseError(text, text.find(parts[3]), "certificate data too long")
    try:
        data = bytes.fromhex(hex_text)
    except ValueError:
        raise ParseError(text, text.find(parts[3]), "certificate data is not hexadecimal") from None
    return TlsaRecord(usage=numbers[0], selector=numbers[1], matching=numbers[2], data=data)


def association_data(record: TlsaRecord, certificate_der: bytes, /) -> bytes:
    """What ``record`` would hold for this certificate (same selector and matching type).

    Raises:
        ParseError: the certificate does not parse (DER).
    """
    selected = certificate_der
    if record.selector == TlsaSelector.SPKI:
        try:
            cert = x509.load_der_x509_certificate(certificate_der)
        except ValueError:
            raise ParseError("<certificate>", 0, "not a DER certificate") from None
        selected = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    if record.matching == TlsaMatching.SHA2_256:
        return hashlib.sha256(selected).digest()
    if record.matching == TlsaMatching.SHA2_512:
        return hashlib.sha512(selected).digest()
    return selected


def tlsa_matches(record: TlsaRecord, chain: Sequence[bytes], /) -> bool:
    """Whether a usable TLSA record matches a certificate chain (DER, leaf first).

    RFC 7672 §3.1.1: DANE-EE(3) matches the server's own certificate, whatever its
    issuer, names or dates. §3.1.2: DANE-TA(2) matches a certificate of the chain the
    server sent (a trust anchor), and the leaf must chain up to it by signature.
    """
    if not record.smtp_usable or not chain:
        return False
    try:
        if record.usage == TlsaUsage.DANE_EE:
            return association_data(record, chain[0]) == record.data
        for index, der in enumerate(chain[1:], start=1):
            if association_data(record, der) == record.data:
                return _chains_to(chain[: index + 1])
    except ParseError:
        return False
    return False


def _chains_to(chain: Sequence[bytes]) -> bool:
    """Each certificate is signed by the next one (the last is the trust anchor)."""
    try:
        certs = [x509.load_der_x509_certificate(der) for der in chain]
        for child, parent in itertools.pairwise(certs):
            child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
