"""What a server certificate says, pure: its names, its expiry, whether it names a host.

RFC 7672 §3.2.3 and RFC 8461 §4.1 both check the MX host name with the rules of
RFC 6125: a name in subjectAltName (the CN only when there is none), a wildcard only
as the whole leftmost label.
"""

from __future__ import annotations

import dataclasses
import datetime
import ssl

from cryptography import x509

from mailcheck.errors import ParseError

# Below this many days left, an expiring certificate is a warning (renewals run at 30).
EXPIRY_WARNING_DAYS = 14


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CertificateFacts:
    """The facts of one certificate the probe records."""

    names: tuple[str, ...]
    not_after: datetime.datetime
    days_to_expiry: int


def certificate_facts(der: bytes, /, *, now: datetime.datetime) -> CertificateFacts:
    """Names and expiry of a DER certificate.

    Raises:
        ParseError: not a DER certificate.
    """
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        raise ParseError("<certificate>", 0, "not a DER certificate") from None
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = [str(n).lower() for n in san.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        # RFC 6125 §6.4.4: the CN is checked only when there is no subjectAltName.
        names = [
            str(attr.value).lower()
            for attr in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        ]
    except ValueError:
        names = []
    not_after = cert.not_valid_after_utc
    days = (not_after - now).total_seconds() // 86_400
    return CertificateFacts(names=tuple(names), not_after=not_after, days_to_expiry=int(days))


def name_matches(names: tuple[str, ...], host: str, /) -> bool:
    """Whether a certificate holding ``names`` is valid for ``host`` (RFC 6125 §6.4.3).

    A wildcard is only the complete leftmost label (``*.example.org`` covers
    ``mx.example.org``, not ``example.org`` nor ``a.mx.example.org``).

    Example:
        >>> name_matches(("*.example.org",), "mx.example.org")
        True
    """
    host = host.lower().rstrip(".")
    for name in names:
        name = name.rstrip(".")
        if name.startswith("*."):
            label, dot, rest = host.partition(".")
            if label and dot and rest == name[2:] and "." in rest:
                return True
        elif name == host:
            return True
    return False


def peer_chain(ssl_object: ssl.SSLObject | ssl.SSLSocket | None, /) -> tuple[bytes, ...]:
    """The certificates a TLS peer sent (DER), leaf first; empty without a handshake."""
    if ssl_object is None:
        return ()
    # Python 3.13 makes get_unverified_chain public; 3.10-3.12 have it on the inner
    # object. DANE-TA needs the whole chain, not only the leaf getpeercert gives.
    inner = getattr(ssl_object, "_sslobj", ssl_object)
    getter = getattr(ssl_object, "get_unverified_chain", None) or getattr(
        inner, "get_unverified_chain", None
    )
    if getter is not None:
        certs = getter() or []
        return tuple(c.public_bytes(ssl._ssl.ENCODING_DER) for c in certs)  # type: ignore[attr-defined]
    leaf = ssl_object.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()
