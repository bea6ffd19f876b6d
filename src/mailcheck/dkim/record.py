"""DKIM key records (RFC 6376 §3.6.1): a pure parser, no I/O.

``parse_dkim_key(text)`` turns the TXT value published at
``<selector>._domainkey.<domain>`` into a frozen :class:`DkimKeyRecord`, or
raises :class:`~mailcheck.errors.ParseError` with the position of the fault.
A key that is well-formed base64 but not a usable key of its type parses, with
``key_error`` set, so an audit can say precisely what is wrong with it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailcheck.errors import ParseError
from mailcheck.taglist import parse_tag_list

_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
# RFC 8463 §3: an Ed25519 public key is the raw 32-byte point.
ED25519_KEY_BYTES = 32
# The DER header of an rsaEncryption SubjectPublicKeyInfo, to read a bare PKCS#1 key.
_RSA_SPKI_HEADER = bytes.fromhex("300d06092a864886f70d0101010500")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DkimKeyRecord:
    """A parsed DKIM key record.

    Attributes:
        tags: every tag as published, in order (unknown tags kept: RFC 6376 §3.2
            says they MUST be ignored, not rejected).
        version: ``v=`` (``"DKIM1"``) or ``None`` when absent.
        key_type: ``k=`` lower case, ``"rsa"`` by default.
        hash_algorithms: ``h=`` (empty: every algorithm allowed).
        service_types: ``s=`` (empty: ``*``).
        flags: ``t=`` flags (``y`` testing, ``s`` strict).
        notes: ``n=``.
        public_key: ``p=`` with folding white space removed; empty when revoked.
        public_key_bytes: the decoded key (empty when revoked).
        key_bits: RSA modulus size, 256 for Ed25519, ``None`` if the key is unusable.
        key_error: why the key cannot be used, or ``None``.
    """

    tags: tuple[tuple[str, str], ...]
    version: str | None = None
    key_type: str = "rsa"
    hash_algorithms: tuple[str, ...] = ()
    service_types: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    notes: str | None = None
    public_key: str = ""
    public_key_bytes: bytes = b""
    key_bits: int | None = None
    key_error: str | None = None

    @property
    def revoked(self) -> bool:
        """RFC 6376 §3.6.1: "An empty value means that this public key has been revoked"."""
        return self.public_key == ""

    @property
    def testing(self) -> bool:
        """``t=y``: receivers must not treat failures differently from unsigned mail."""
        return "y" in self.flags

    @property
    def strict(self) -> bool:
        """``t=s``: the ``i=`` domain must equal ``d=`` (no subdomains)."""
        return "s" in self.flags

    def to_text(self) -> str:
        """The record as it would be published (tags in their original order)."""
        return "; ".join(f"{name}={value}" for name, value in self.tags)


def parse_dkim_key(text: str, /) -> DkimKeyRecord:
    """Parse a DKIM key record.

    Raises:
        ParseError: bad tag syntax, a duplicate tag, ``v=`` not first or not
            ``DKIM1``, no ``p=`` tag, or ``p=`` not base64.

    Example:
        >>> parse_dkim_key("v=DKIM1; k=ed25519; p=" + "A" * 43 + "=").key_bits
        256
    """
    tags = parse_tag_list(text, printable_values=True)
    names = [name for name, _, _ in tags]
    values = {name: (value, pos) for name, value, pos in tags}
    if "v" in values:
        if names[0] != "v":
            raise ParseError(text, values["v"][1], "v= must be the first tag (RFC 6376 §3.6.1)")
        if values["v"][0] != "DKIM1":
            raise ParseError(text, values["v"][1], "v= must be DKIM1")
    if "p" not in values:
        raise ParseError(text, len(text), "no p= tag: a key record must publish a key")
    key_text, key_pos = values["p"]
    key = "".join(key_text.split())
    if not _BASE64.fullmatch(key) or len(key) % 4:
        raise ParseError(text, key_pos, "p= is not valid base64")
    try:
        key_bytes = base64.b64decode(key, validate=True)
    except binascii.Error:
        raise ParseError(text, key_pos, "p= is not valid base64") from None
    key_type = values.get("k", ("rsa", 0))[0].lower()
    bits, error = _key_size(key_type, key_bytes) if key else (None, None)
    return DkimKeyRecord(
        tags=tuple((name, value) for name, value, _ in tags),
        version=values["v"][0] if "v" in values else None,
        key_type=key_type,
        hash_algorithms=_colon_list(values, "h"),
        service_types=_colon_list(values, "s"),
        flags=_colon_list(values, "t"),
        notes=values["n"][0] if "n" in values else None,
        public_key=key,
        public_key_bytes=key_bytes,
        key_bits=bits,
        key_error=error,
    )


def _colon_list(values: dict[str, tuple[str, int]], name: str) -> tuple[str, ...]:
    if name not in values:
        return ()
    return tuple(item.strip().lower() for item in values[name][0].split(":") if item.strip())


def _key_size(key_type: str, data: bytes) -> tuple[int | None, str | None]:
    """(bits, None) for a usable key, (None, why) otherwise."""
    if key_type == "ed25519":
        if len(data) != ED25519_KEY_BYTES:
            return None, f"an Ed25519 key is {ED25519_KEY_BYTES} bytes, not {len(data)}"
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(data)
        except ValueError:
            return None, "not a valid Ed25519 public key"
        return 256, None
    if key_type != "rsa":
        return None, f"unknown key type k={key_type}"
    public = rsa_public_key(data)
    if public is None:
        return None, "not an RSA public key (SubjectPublicKeyInfo or PKCS#1)"
    return public.key_size, None


def rsa_public_key(data: bytes) -> rsa.RSAPublicKey | None:
    """Load a published RSA key: SubjectPublicKeyInfo, or the bare PKCS#1 form some publish."""
    bit_string = b"\x03" + _der_length(len(data) + 1) + b"\x00" + data
    body = _RSA_SPKI_HEADER + bit_string
    wrapped = b"\x30" + _der_length(len(body)) + body
    for candidate in (data, wrapped):
        try:
            public = serialization.load_der_public_key(candidate)
        except (ValueError, UnsupportedAlgorithm):
            continue
        if isinstance(public, rsa.RSAPublicKey):
            return public
    return None


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw
