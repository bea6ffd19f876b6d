"""DKIM signing: one signer per domain, one or several keys (RSA + Ed25519 dual signing).

dkimpy does the canonicalisation and builds the header exactly as
``dkim.sign`` would; the signature itself is made by OpenSSL through the
:class:`~mailcheck.dkim.keys.DkimKey` loaded once, which is about twenty times
faster than dkimpy's pure-Python RSA. Output is byte-identical to ``dkim.sign``
for the same key, headers and time.

Before signing, the message is checked for what receivers reject: no From or
several, a From domain the signing domain does not cover, malformed header
lines. Each gives a :class:`~mailcheck.errors.SigningError`.
"""

from __future__ import annotations

import base64
import email.utils
import functools
import hashlib
import re
import time
from collections.abc import Iterable, Sequence

import dkim
from dkim.canonicalization import (
    CanonicalizationPolicy,
    InvalidCanonicalizationPolicyError,
    Relaxed,
)

from mailcheck.dkim.canon import relaxed_body, relaxed_headers, select_headers
from mailcheck.dkim.keys import DkimKey
from mailcheck.dkim.names import normalize_selector, normalize_signing_domain
from mailcheck.errors import ParseError, SigningError
from mailcheck.lookup.domains import normalize_domain

# RFC 6376 §5.4.1 recommends these (From is REQUIRED, §5.4); we add Sender, Message-ID,
# the MIME headers, and List-Unsubscribe-Post, which RFC 8058 §4 says MUST be covered.
SIGNED_HEADERS: tuple[str, ...] = (
    "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
    "in-reply-to", "references", "mime-version", "content-type",
    "content-transfer-encoding", "content-id", "content-description", "content-disposition",
    "resent-date", "resent-from", "resent-sender", "resent-to", "resent-cc",
    "resent-message-id", "list-id", "list-help", "list-unsubscribe", "list-unsubscribe-post",
    "list-subscribe", "list-post", "list-owner", "list-archive", "feedback-id",
)  # fmt: skip
# RFC 6376 §5.4.2: signing a field once more than it occurs stops anyone adding one.
# Resent-* are left out: a resender legitimately adds a new Resent block.
OVERSIGNED_HEADERS: frozenset[str] = frozenset(
    name for name in SIGNED_HEADERS if not name.startswith("resent-")
)
# RFC 6376 §5.4: "The From header field MUST be signed".
# RFC 5322 §2.1.1: "Each line of characters MUST be no more than 998 characters".
MAX_LINE_LENGTH = 998
SIGNATURE_HEADER = b"DKIM-Signature"
DEFAULT_CANONICALIZATION = "relaxed/relaxed"

_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
# RFC 6376 §3.2: a tag-value (tval) holds no ";", so h= cannot name a field that has one;
# "=" is refused too, so a name can never read as a tag.
_SIGNABLE_NAME = re.compile(r"[\x21-\x39\x3c\x3e-\x7e]+", re.ASCII)
_LINE_END = re.compile(rb"\r?\n")


class DkimSigner:
    """Signs messages for one domain with one or several keys.

    Example::

        signer = DkimSigner("example.org", "202611r", rsa_key, keys=[("202611e", ed_key)])
        signed = signer.sign(raw_message)  # two DKIM-Signature headers, RSA and Ed25519

    Args:
        domain: the ``d=`` domain.
        selector: the selector of ``key``.
        key: the first key.
        keys: more (selector, key) pairs: every key signs every message.
        headers: header names to sign when present (default :data:`SIGNED_HEADERS`).
        oversign: names signed once more than they occur (default :data:`OVERSIGNED_HEADERS`).
        third_party: allow a From domain outside ``domain`` (a third-party signature).
        canonicalization: ``relaxed/relaxed`` (default) or another ``c=`` value.

    Raises:
        SigningError: no key, a duplicate selector, a bad domain or canonicalization.
    """

    def __init__(
        self,
        domain: str,
        selector: str | None = None,
        key: DkimKey | None = None,
        *,
        keys: Sequence[tuple[str, DkimKey]] = (),
        headers: Iterable[str] = SIGNED_HEADERS,
        oversign: Iterable[str] = OVERSIGNED_HEADERS,
        third_party: bool = False,
        canonicalization: str = DEFAULT_CANONICALIZATION,
    ) -> None:
        try:
            self.domain = normalize_signing_domain(domain)
            pairs = list(keys)
            if key is not None:
                pairs.insert(0, (selector or "", key))
            if not pairs:
                raise SigningError(f"{self.domain}: a signer needs at least one key")
            selectors = [normalize_selector(s) for s, _ in pairs]
        except ParseError as exc:
            raise SigningError(f"signer: {exc.reason}") from None
        if len({s.lower() for s in selectors}) != len(selectors):
            raise SigningError(f"{self.domain}: selectors must be distinct")
        self._keys = tuple(zip(selectors, (k for _, k in pairs), strict=True))
        self.headers = tuple(h.strip().lower() for h in headers)
        oversigned = tuple(h.strip().lower() for h in oversign)
        if not all(_SIGNABLE_NAME.fullmatch(h) for h in self.headers + oversigned):
            raise SigningError(
                "header names must be printable ASCII without spaces, ':', ';' or '='"
            )
        if "from" not in self.headers:
            raise SigningError("the From header field MUST be signed (RFC 6376 §5.4)")
        self._signed = frozenset(h.encode("ascii") for h in self.headers)
        self._oversign = frozenset(h.encode("ascii") for h in oversigned)
        self.third_party = third_party
        try:
            self._canon = CanonicalizationPolicy.from_c_value(canonicalization.encode("ascii"))
        except (InvalidCanonicalizationPolicyError, UnicodeError):
            raise SigningError(f"canonicalization {canonicalization!r} is not valid") from None

    def __repr__(self) -> str:
        keys = ", ".join(f"{s}:{k.type.value}" for s, k in self._keys)
        return f"DkimSigner(domain={self.domain!r}, keys=[{keys}])"

    @property
    def selectors(self) -> tuple[str, ...]:
        """The selectors, in signing order."""
        return tuple(s for s, _ in self._keys)

    @property
    def keys(self) -> tuple[tuple[str, DkimKey], ...]:
        """The (selector, key) pairs, in signing order."""
        return self._keys

    def sign(self, message: bytes, /, *, timestamp: int | None = None) -> bytes:
        """Sign a message; returns it with one ``DKIM-Signature`` per key on top.

        Bare LF line endings become CRLF; an 8-bit body is signed as it is.

        Args:
            message: the whole message, headers and body.
            timestamp: the ``t=`` value (default: now).

        Raises:
            SigningError: the message must not be signed as it is.
        """
        data = normalize_newlines(message)
        return b"".join(self._signatures(data, timestamp)) + data

    def signatures(self, message: bytes, /, *, timestamp: int | None = None) -> tuple[bytes, ...]:
        """The ``DKIM-Signature`` header lines alone (each ending in CRLF), one per key.

        Raises:
            SigningError: the message must not be signed as it is.
        """
        return self._signatures(normalize_newlines(message), timestamp)

    def _signatures(self, data: bytes, timestamp: int | None) -> tuple[bytes, ...]:
        header_block, body = split_message(data)
        from_domain, headers = parse_headers(header_block)
        if not self.third_party and not _covers(self.domain, from_domain):
            raise SigningError(
                f"From domain {from_domain} is not {self.domain} or a subdomain of it; "
                "pass third_party=True for a third-party signature"
            )
        include = self._include(name for name, _ in headers)
        # Only the fields h= names are canonicalised: selection looks at names alone.
        # As dkim.hash_headers: the signed fields first (the same for every key).
        signed = self._canon_headers(select_headers(headers, include))
        prefix = hashlib.sha256(b"".join(name + b":" + field for name, field in signed))
        if self._canon.body_algorithm is Relaxed:
            canon_body = relaxed_body(body)
        else:
            canon_body = self._canon.canonicalize_body(body)
        body_hash = base64.b64encode(hashlib.sha256(canon_body).digest())
        now = str(int(time.time()) if timestamp is None else int(timestamp)).encode("ascii")
        return tuple(
            self._signature(selector, key, prefix, include, body_hash, now)
            for selector, key in self._keys
        )

    def _canon_headers(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        if self._canon.header_algorithm is Relaxed:
            return relaxed_headers(headers)
        result: list[tuple[bytes, bytes]] = self._canon.canonicalize_headers(headers)
        return result

    def _include(self, names: Iterable[bytes]) -> tuple[bytes, ...]:
        lowered = [n.lower() for n in names]
        signed = [n for n in lowered if n in self._signed]
        extra = dict.fromkeys(n for n in signed if n in self._oversign)
        return (*signed, *extra)

    def _signature(
        self,
        selector: str,
        key: DkimKey,
        prefix: hashlib._Hash,
        include: tuple[bytes, ...],
        body_hash: bytes,
        now: bytes,
    ) -> bytes:
        # The tags and their order are dkimpy's, so the output is byte-identical to dkim.sign.
        domain = self.domain.encode("ascii")
        fields = [
            (b"v", b"1"),
            (b"a", key.algorithm.encode("ascii")),
            (b"c", self._canon.to_c_value()),
            (b"d", domain),
            (b"i", b"@" + domain),
            (b"q", b"dns/txt"),
            (b"s", selector.encode("ascii")),
            (b"t", now),
            (b"h", b" : ".join(include)),
            (b"bh", body_hash),
            # A placeholder, so that b= folds onto its own line (as dkimpy does).
            (b"b", b"0" * 60),
        ]
        name_len = len(SIGNATURE_HEADER)
        value = dkim.fold(b"; ".join(b"=".join(f) for f in fields), namelen=name_len)
        # What dkim.RE_BTAG.sub does to our own header: b= is last, its value a placeholder.
        value = value[: value.rindex(b"b=") + 2]
        # Then this header, b= empty, without its final CRLF (as dkim.hash_headers).
        hasher = prefix.copy()
        ((name, field),) = self._canon_headers([(SIGNATURE_HEADER, b" " + value)])
        hasher.update(name + b":" + field.rstrip())
        fields[-1] = (b"b", base64.b64encode(key.sign_digest(hasher.digest())))
        value = b"; ".join(b"=".join(f) for f in fields) + b"\r\n"
        folded: bytes = dkim.fold(value, namelen=name_len)
        return SIGNATURE_HEADER + b": " + folded


def normalize_newlines(message: bytes) -> bytes:
    """Bare LF line endings become CRLF; CRLF stays; nothing else changes."""
    data = bytes(message)
    if data.count(b"\n") == data.count(b"\r\n"):
        return data
    return _LINE_END.sub(b"\r\n", data)


def split_message(data: bytes) -> tuple[bytes, bytes]:
    """(header block ending in CRLF, body) of a CRLF message; no blank line = no body."""
    if data.startswith(b"\r\n"):
        raise SigningError("the message has no header fields")
    end = data.find(b"\r\n\r\n")
    if end < 0:
        head = data if data.endswith(b"\r\n") else data + b"\r\n"
        return head, b""
    return data[: end + 2], data[end + 4 :]


def check_headers(header_block: bytes) -> str:
    """Check each header line and return the From domain (A-labels, lower case).

    Raises:
        SigningError: a malformed line, no From, several From, or a From without
            exactly one address with a valid domain.
    """
    return parse_headers(header_block)[0]


def parse_headers(header_block: bytes) -> tuple[str, list[tuple[bytes, bytes]]]:
    """Check each header line; return the From domain and the fields as dkimpy holds them.

    The fields are (name, value with its line breaks), what ``dkim.rfc822_parse`` gives.

    Raises:
        SigningError: a malformed line, no From, several From, or a From without
            exactly one address with a valid domain.
    """
    fields: list[tuple[bytes, bytes]] = []
    for number, line in enumerate(header_block[:-2].split(b"\r\n"), start=1):
        if len(line) > MAX_LINE_LENGTH:
            raise SigningError(f"header line {number} is longer than {MAX_LINE_LENGTH} characters")
        if b"\r" in line or b"\0" in line:
            raise SigningError(f"header line {number} holds a bare CR or a NUL")
        if line[:1] in (b" ", b"\t"):
            if not fields:
                raise SigningError("the header block starts with a continuation line")
            name, value = fields[-1]
            fields[-1] = (name, value + line + b"\r\n")
            continue
        match = _FIELD_NAME.match(line)
        if match is None:
            raise SigningError(f"header line {number} is not 'Name: value'")
        fields.append((match.group()[:-1], line[match.end() :] + b"\r\n"))
    from_values = [v for n, v in fields if n.lower() == b"from"]
    if not from_values:
        raise SigningError("the message has no From header field (RFC 5322 §3.6)")
    if len(from_values) > 1:
        raise SigningError("the message has several From header fields (RFC 5322 §3.6)")
    return _from_domain(from_values[0]), fields


@functools.lru_cache(maxsize=4096)
def _from_domain(value: bytes) -> str:
    text = re.sub(r"\r\n(?=[ \t])", "", value.decode("utf-8", "replace"))
    addresses = [addr for _, addr in email.utils.getaddresses([text]) if addr]
    if len(addresses) != 1 or "@" not in addresses[0]:
        raise SigningError("the From header field must hold exactly one address")
    domain = addresses[0].rpartition("@")[2].strip()
    try:
        return normalize_domain(domain)
    except ParseError:
        raise SigningError("the From address has no valid domain") from None


def _covers(domain: str, from_domain: str) -> bool:
    return from_domain == domain or from_domain.endswith("." + domain)
