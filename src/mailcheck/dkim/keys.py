"""DKIM private keys: generate, save (mode 0600), load, and the DNS record to publish.

A :class:`DkimKey` is loaded and validated once and then kept: it signs digests
with OpenSSL (through ``cryptography``) and never shows its key material in a
``repr``, an exception or a log line. The record a key needs in DNS is a
:class:`DkimDnsRecord`; checking what is published and rotating keys live in
:mod:`mailcheck.dkim.publish`.

Example::

    key = generate_key("ed25519")
    key.save("/etc/mail/dkim/example.org.202611.pem")
    print(key.dns_record("202611", "example.org").zone_line())
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import enum
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from mailcheck.dkim.names import record_name
from mailcheck.errors import KeyFileError

# RFC 8301 §3.2: "Signers MUST use RSA keys of at least 1024 bits for all keys.
# Signers SHOULD use RSA keys of at least 2048 bits."
RSA_MIN_BITS = 1024
RSA_RECOMMENDED_BITS = 2048
# RFC 8301 §3.2: "Verifiers MUST be able to validate signatures with keys ranging from
# 1024 bits to 4096 bits" -- a larger key may not verify everywhere.
RSA_MAX_BITS = 4096
RSA_ALLOWED_BITS = (2048, 3072, 4096)
RSA_PUBLIC_EXPONENT = 65537
# RFC 1035 §3.3: a <character-string> is a length octet followed by at most 255 octets.
TXT_STRING_MAX = 255
# The default TTL of a zone-file line we print; short, so a rotation waits little.
DEFAULT_RECORD_TTL = 3600


class KeyType(enum.StrEnum):
    """The DKIM key types (``k=`` in the key record)."""

    RSA = "rsa"
    ED25519 = "ed25519"

    @property
    def algorithm(self) -> str:
        """The ``a=`` signature algorithm this key type signs with (never rsa-sha1)."""
        return "rsa-sha256" if self is KeyType.RSA else "ed25519-sha256"


PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class DkimKey:
    """A DKIM private key, validated once and kept for signing.

    Its ``repr`` shows the type, size and public-key fingerprint only; the
    private key is reachable through :meth:`private_pem` alone.
    """

    __slots__ = ("_fingerprint", "_private", "_public_b64", "bits", "type")

    def __init__(self, private: PrivateKey) -> None:
        """Wrap a ``cryptography`` private key (RSA of 1024 bits or more, or Ed25519).

        Raises:
            KeyFileError: any other key type, or an RSA key under 1024 bits.
        """
        if isinstance(private, rsa.RSAPrivateKey):
            if private.key_size < RSA_MIN_BITS:
                raise KeyFileError(
                    f"RSA key of {private.key_size} bits: RFC 8301 forbids keys under "
                    f"{RSA_MIN_BITS} bits"
                )
            self.type, self.bits = KeyType.RSA, private.key_size
            public = private.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        elif isinstance(private, ed25519.Ed25519PrivateKey):
            self.type, self.bits = KeyType.ED25519, 256
            # RFC 8463 §4.2: the p= value is the base64 of the raw 32-byte public key.
            public = private.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        else:
            raise KeyFileError(f"unsupported key type {type(private).__name__}; use RSA or Ed25519")
        self._private = private
        self._public_b64 = base64.b64encode(public).decode("ascii")
        self._fingerprint = "sha256:" + hashlib.sha256(public).hexdigest()[:32]

    def __repr__(self) -> str:
        return f"DkimKey(type={self.type.value}, bits={self.bits}, fingerprint={self.fingerprint})"

    def to_dict(self) -> dict[str, str | int]:
        """The public facts of the key, for JSON and text output (never key material)."""
        return {
            "type": self.type.value,
            "bits": self.bits,
            "algorithm": self.algorithm,
            "fingerprint": self.fingerprint,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DkimKey):
            return NotImplemented
        return self.type is other.type and self._public_b64 == other._public_b64

    def __hash__(self) -> int:
        return hash((self.type, self._public_b64))

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would copy the private key somewhere nobody chose (a queue, a cache).
        raise TypeError("DkimKey cannot be pickled; save it with .save()")

    @property
    def algorithm(self) -> str:
        """``rsa-sha256`` or ``ed25519-sha256``."""
        return self.type.algorithm

    @property
    def public_key_b64(self) -> str:
        """The ``p=`` value of the key record."""
        return self._public_b64

    @property
    def fingerprint(self) -> str:
        """A short SHA-256 fingerprint of the public key, safe to log."""
        return self._fingerprint

    @property
    def weak(self) -> bool:
        """True for RSA keys under 2048 bits (RFC 8301 §3.2 says SHOULD be 2048)."""
        return self.type is KeyType.RSA and self.bits < RSA_RECOMMENDED_BITS

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a SHA-256 digest: RSASSA-PKCS1-v1_5 for RSA, Ed25519 over the digest (RFC 8463)."""
        if isinstance(self._private, rsa.RSAPrivateKey):
            return self._private.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        return self._private.sign(digest)

    def private_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (handle with care)."""
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def save(self, path: str | os.PathLike[str], /, *, overwrite: bool = False) -> Path:
        """Write the key as PEM to ``path``, created with mode 0600, atomically.

        The file is written under a temporary name created 0600 with
        ``O_EXCL`` (never readable by others, not even for a moment), flushed to
        disk, then moved into place.

        Raises:
            KeyFileError: the file exists (unless ``overwrite``) or cannot be written.
        """
        return write_private_file(Path(path), self.private_pem(), overwrite=overwrite)

    def record(self, *, testing: bool = False, strict: bool = True) -> str:
        """The key record value (``v=DKIM1; k=...; p=...``).

        Args:
            testing: add ``t=y`` (receivers treat failures leniently).
            strict: add ``t=s`` (the ``i=`` domain must be ``d=`` itself, RFC 6376 §3.6.1).
        """
        return key_record_value(self.type, self._public_b64, testing=testing, strict=strict)

    def dns_record(
        self,
        selector: str,
        domain: str,
        /,
        *,
        testing: bool = False,
        strict: bool = True,
        ttl: int = DEFAULT_RECORD_TTL,
    ) -> DkimDnsRecord:
        """The TXT record to publish at ``selector._domainkey.domain``.

        Raises:
            ParseError: ``selector`` or ``domain`` is not valid (see :mod:`mailcheck.dkim.names`).
        """
        value = self.record(testing=testing, strict=strict)
        return DkimDnsRecord(name=record_name(selector, domain), value=value, ttl=ttl)


def key_record_value(
    key_type: KeyType, public_b64: str, *, testing: bool = False, strict: bool = True
) -> str:
    """A key record value; an empty ``public_b64`` is the revocation record (RFC 6376 §3.6.1)."""
    tags = ["v=DKIM1", f"k={key_type.value}"]
    if key_type is KeyType.RSA:
        # RFC 8301 §3.1: rsa-sha1 MUST NOT be used; h=sha256 makes verifiers refuse it.
        tags.append("h=sha256")
    flags = [flag for flag, on in (("y", testing), ("s", strict)) if on]
    if flags:
        tags.append("t=" + ":".join(flags))
    tags.append(f"p={public_b64}")
    return "; ".join(tags)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DkimDnsRecord:
    """A DKIM TXT record to publish.

    Attributes:
        name: the owner name, ``selector._domainkey.domain``.
        value: the plain record value a control panel pastes.
        ttl: the TTL of the zone-file line.
    """

    name: str
    value: str
    ttl: int = DEFAULT_RECORD_TTL

    @property
    def strings(self) -> tuple[str, ...]:
        """The value split in character-strings of at most 255 bytes (RFC 1035 §3.3)."""
        return split_txt(self.value)

    def zone_line(self) -> str:
        """A zone-file line: ``name. TTL IN TXT ( "..." "..." )``."""
        quoted = " ".join(f'"{s}"' for s in self.strings)
        return f"{self.name}. {self.ttl} IN TXT ( {quoted} )"


def split_txt(value: str) -> tuple[str, ...]:
    """Split a TXT value in strings of at most 255 bytes (never inside a UTF-8 sequence)."""
    data = value.encode("utf-8")
    parts: list[str] = []
    while data:
        end = min(TXT_STRING_MAX, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(data[:end].decode("utf-8"))
        data = data[end:]
    return tuple(parts) or ("",)


def generate_key(
    key_type: KeyType | str = KeyType.RSA,
    /,
    *,
    bits: int = RSA_RECOMMENDED_BITS,
    force: bool = False,
) -> DkimKey:
    """Generate a new key.

    Args:
        key_type: ``"rsa"`` (default) or ``"ed25519"`` (RFC 8463; dual-sign with RSA,
            since not every receiver verifies Ed25519 yet).
        bits: RSA size: 2048 (default), 3072 or 4096.
        force: allow an RSA size from 1024 to 2047 (RFC 8301 only says SHOULD 2048).

    Raises:
        KeyFileError: an unknown type or a refused size.
    """
    try:
        kind = KeyType(str(key_type).lower())
    except ValueError:
        raise KeyFileError(f"unknown key type {key_type!r}; use rsa or ed25519") from None
    if kind is KeyType.ED25519:
        return DkimKey(ed25519.Ed25519PrivateKey.generate())
    if bits < RSA_MIN_BITS:
        raise KeyFileError(f"RSA keys under {RSA_MIN_BITS} bits are forbidden (RFC 8301 §3.2)")
    if bits < RSA_RECOMMENDED_BITS and not force:
        raise KeyFileError(
            f"RSA keys under {RSA_RECOMMENDED_BITS} bits are refused (RFC 8301 §3.2); "
            "pass force=True to generate one anyway"
        )
    if bits > RSA_MAX_BITS or (bits >= RSA_RECOMMENDED_BITS and bits not in RSA_ALLOWED_BITS):
        raise KeyFileError(f"RSA key size {bits}: use 2048, 3072 or 4096")
    return DkimKey(rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=bits))


def load_key(path: str | os.PathLike[str], /) -> DkimKey:
    """Load a private key file: PEM or DER (PKCS#8 or PKCS#1), RSA or Ed25519.

    A file holding the base64 of a raw 32-byte Ed25519 seed (what dkimpy's
    ``dknewkey`` writes) is accepted too.

    Raises:
        KeyFileError: the file cannot be read, is encrypted, or holds something else.
    """
    source = Path(path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{source}: cannot read key file ({exc.strerror})") from None
    return load_key_bytes(data, source=str(source))


def load_key_bytes(data: bytes, /, *, source: str = "key") -> DkimKey:
    """Load a private key from bytes; see :func:`load_key`.

    Raises:
        KeyFileError: naming ``source``, never quoting the data.
    """
    private: object = None
    try:
        if b"-----BEGIN" in data:
            if b"ENCRYPTED" in data:
                raise KeyFileError(f"{source}: encrypted keys are not supported")
            private = serialization.load_pem_private_key(data, password=None)
        elif data[:1] == b"\x30":
            private = serialization.load_der_private_key(data, password=None)
        else:
            private = _load_raw_ed25519(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        private = None
    if private is None:
        raise KeyFileError(f"{source}: not a PEM or DER RSA or Ed25519 private key")
    if not isinstance(private, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise KeyFileError(
            f"{source}: a {type(private).__name__.lstrip('_')} key; DKIM needs RSA or Ed25519"
        )
    try:
        return DkimKey(private)
    except KeyFileError as exc:
        raise KeyFileError(f"{source}: {exc}") from None


def _load_raw_ed25519(data: bytes) -> ed25519.Ed25519PrivateKey | None:
    try:
        seed = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(seed) != 32:
        return None
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def write_private_file(path: Path, data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically, the file created with mode 0600.

    Raises:
        KeyFileError: the file exists (unless ``overwrite``) or cannot be written.
    """
    if path.exists() and not overwrite:
        raise KeyFileError(f"{path}: exists; refusing to overwrite a key")
    temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if overwrite:
            os.replace(temp, path)
        else:
            # link() fails if the name appeared meanwhile: never clobber a key.
            os.link(temp, path)
    except FileExistsError:
        raise KeyFileError(f"{path}: exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot write key file ({exc.strerror})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    return path
