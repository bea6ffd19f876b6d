"""Signed tokens: VERP return paths and RFC 8058 one-click unsubscribe.

Two tokens, two keys derived from one deployment secret (so a token made for one purpose
is never accepted for the other):

* **VERP return path** ``bounces+<token>@domain``: the token carries the spool's recipient
  id and a truncated HMAC-SHA256 of it, in lower-case base32 without padding. A bounce
  delivered to that address names its recipient; a bounce whose token does not verify
  (forged, or from another deployment) names nobody, so a forged bounce cannot suppress an
  arbitrary address. The id is a row number, not the address.
* **Unsubscribe token**: the address and list name encrypted with AES-256-GCM (the
  ``cryptography`` package, already a dependency), under a key derived from the secret.
  GCM authenticates as it encrypts, so the token is opaque *and* signed; the issue time and
  lifetime are inside the ciphertext. Encryption rather than an HMAC over a stored id
  keeps verification stateless: the panel's web endpoint that receives the one-click POST
  needs the secret only, not the spool database.

Example::

    >>> secret = b"0123456789abcdef0123456789abcdef"
    >>> path = verp_address(42, domain="lists.example.org", secret=secret)
    >>> verp_recipient_id(path, secret=secret)
    42
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import enum
import hashlib
import hmac
import os
import re
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mailcheck.errors import ConfigError, MailcheckError

__all__ = [
    "DEFAULT_UNSUBSCRIBE_LIFETIME",
    "MIN_SECRET_BYTES",
    "TRACKING_HEADER",
    "TokenError",
    "TokenProblem",
    "UnsubscribeRequest",
    "recipient_id_from_token",
    "recipient_token",
    "tracking_header",
    "unsubscribe_headers",
    "unsubscribe_token",
    "verify_unsubscribe",
    "verp_address",
    "verp_recipient_id",
]

MIN_SECRET_BYTES = 16
"""A shorter secret is refused: 128 bits is the floor for an HMAC or AES key source."""

DEFAULT_UNSUBSCRIBE_LIFETIME = dt.timedelta(days=90)
"""How long an unsubscribe link works. Mail is read weeks after it is sent, and a link that
has expired forces the reader to the spam button; 90 days covers a monthly newsletter's
archive with margin. Pass ``expires=`` to change it."""

TRACKING_HEADER = "X-Mailcheck-Id"
"""The header carrying :func:`recipient_token` in each recipient's copy."""

# RFC 5321 §4.5.3.1.1: "The maximum total length of a user name or other local-part is 64
# octets." The VERP local part "bounces+<29 chars>" stays far below it.
_LOCAL_PART_MAX = 64
_VERP_MAC_BYTES = 10  # 80 bits: forging one needs ~2^79 tries against a live mailbox
_VERP_ID_BYTES = 8  # an SQLite rowid is a signed 64-bit integer
_VERP_TOKEN_LEN = 29  # base32 of 18 bytes, padding removed
_VERP_TOKEN_RE = re.compile(r"[a-z2-7]{29}")
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*/=?^_`{|}~-]+)*")
# RFC 6068 would need %-escapes for "?", "%", "&" ...: keep mailto local parts plain.
_MAILTO_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9-]{1,63}")

_UNSUB_VERSION = 1
_NONCE_BYTES = 12  # NIST SP 800-38D: 96-bit nonces, random per token
_TAG_BYTES = 16
_HEAD = struct.Struct(">BQIB")  # version, issued (s), lifetime (s), list length
_MAX_TOKEN_CHARS = 1024  # longer input is refused before any decoding
_LIST_MAX = 255
_ADDRESS_MAX = 254  # RFC 5321 §4.5.3.1.3 path limit (256) minus the angle brackets


class TokenProblem(enum.StrEnum):
    """Why a token was refused."""

    MALFORMED = "malformed"
    """Not a token this module makes (bad characters, bad length, unknown version)."""
    FORGED = "forged"
    """The signature does not verify: altered, truncated, or made with another secret."""
    EXPIRED = "expired"
    """Genuine, but its lifetime has passed (or it was issued in the future)."""


class TokenError(MailcheckError, ValueError):
    """An unsubscribe token that cannot be honoured; ``problem`` says why.

    The message never contains the token or the secret.
    """

    def __init__(self, problem: TokenProblem, reason: str) -> None:
        self.problem = problem
        self.reason = reason
        super().__init__(f"unsubscribe token {problem}: {reason}")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class UnsubscribeRequest:
    """What a verified unsubscribe token says.

    Attributes:
        address: the recipient who asks to leave.
        list: the list (or tenant/list scope) the token was made for.
        issued: when the token was made (UTC).
        expires: when it stops being accepted (UTC).
    """

    address: str
    list: str
    issued: dt.datetime
    expires: dt.datetime

    def to_dict(self) -> dict[str, str]:
        """Plain JSON data (times in ISO 8601)."""
        return {
            "address": self.address,
            "list": self.list,
            "issued": self.issued.isoformat(),
            "expires": self.expires.isoformat(),
        }


def _derive(secret: bytes, label: bytes) -> bytes:
    """A 256-bit key for one purpose (HMAC-SHA256 as the PRF, as in HKDF-Expand)."""
    if not isinstance(secret, bytes | bytearray):
        raise ConfigError("the token secret must be bytes")
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(f"the token secret must be at least {MIN_SECRET_BYTES} bytes")
    return hmac.new(bytes(secret), b"mailcheck/" + label + b"\x01", hashlib.sha256).digest()


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _verp_mac(key: bytes, packed_id: bytes) -> bytes:
    return hmac.new(key, packed_id, hashlib.sha256).digest()[:_VERP_MAC_BYTES]


def recipient_token(recipient_id: int, /, *, secret: bytes) -> str:
    """The signed token naming one spool recipient: 29 lower-case base32 characters.

    It is the part after ``+`` in :func:`verp_address` and the value of the
    :data:`TRACKING_HEADER` a sender adds, so a bounce or a complaint that quotes either
    names its recipient. It reveals the id (a row number), never the address.

    Raises:
        ConfigError: an id outside 0..2**63-1, or a bad secret.
    """
    if isinstance(recipient_id, bool) or not 0 <= recipient_id < 2**63:
        raise ConfigError(f"recipient id {recipient_id!r} is not in 0..2**63-1")
    packed = recipient_id.to_bytes(_VERP_ID_BYTES, "big")
    return _b32(packed + _verp_mac(_derive(secret, b"verp"), packed))


def recipient_id_from_token(token: str, /, *, secret: bytes) -> int | None:
    """The recipient id a :func:`recipient_token` names, or ``None`` if it does not verify.

    Any letter case and surrounding spaces are accepted; the MAC is compared in constant
    time. ``None`` for anything else (forged, truncated, another secret, junk).

    Raises:
        ConfigError: the secret is unusable (a caller's mistake, not the mail's).
    """
    key = _derive(secret, b"verp")
    text = token.strip().lower()
    if not _VERP_TOKEN_RE.fullmatch(text):
        return None
    try:
        raw = base64.b32decode(text.upper() + "===")
    except binascii.Error:
        return None
    packed, mac = raw[:_VERP_ID_BYTES], raw[_VERP_ID_BYTES:]
    if len(mac) != _VERP_MAC_BYTES or not hmac.compare_digest(mac, _verp_mac(key, packed)):
        return None
    value = int.from_bytes(packed, "big")
    return value if value < 2**63 else None


def tracking_header(recipient_id: int, /, *, secret: bytes) -> tuple[str, str]:
    """``("X-Mailcheck-Id", token)``: the tracking header for one recipient's copy.

    Bounces and ARF reports usually quote the original headers; this one names the
    recipient even when the return path was rewritten (forwarders, SRS).
    """
    return (TRACKING_HEADER, recipient_token(recipient_id, secret=secret))


def verp_address(recipient_id: int, *, domain: str, secret: bytes, local: str = "bounces") -> str:
    """The VERP return path for one recipient: ``bounces+<token>@domain``.

    Args:
        recipient_id: the spool's id of the recipient (0 <= id < 2**63).
        domain: the domain whose MX receives the bounces.
        secret: the deployment secret (at least 16 bytes).
        local: the local part before ``+``.

    Raises:
        ConfigError: a bad id, domain, local part or secret.
    """
    if not _DOT_ATOM.fullmatch(local) or "+" in local:
        raise ConfigError(f"VERP local part {local!r} must be a dot-atom without '+'")
    if not _DOMAIN.fullmatch(domain) or len(domain) > 253:
        raise ConfigError(f"VERP domain {domain!r} is not a host name")
    if len(local) + 1 + _VERP_TOKEN_LEN > _LOCAL_PART_MAX:
        raise ConfigError(f"VERP local part {local!r} is too long for RFC 5321")
    token = recipient_token(recipient_id, secret=secret)
    return f"{local}+{token}@{domain.lower()}"


def verp_recipient_id(address: str, *, secret: bytes) -> int | None:
    """The recipient id a VERP address names, or ``None`` if it names nobody.

    Accepts ``<...>``, any letter case (MTAs may lower- or upper-case a local part) and any
    prefix before the last ``+``. ``None`` for an address that is not ours, a token
    that does not verify (compared in constant time), or a malformed token.

    Raises:
        ConfigError: the secret is unusable (a caller's mistake, not the mail's).
    """
    _derive(secret, b"verp")  # a bad secret is the caller's error, whatever the address
    text = address.strip().strip("<>").strip()
    local, at, _domain = text.rpartition("@")
    if not at or len(local) > _LOCAL_PART_MAX:
        return None
    _prefix, plus, token = local.rpartition("+")
    if not plus:
        return None
    return recipient_id_from_token(token, secret=secret)


def _utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ConfigError("now must be an aware datetime (UTC)")
    return now.astimezone(dt.UTC)


def unsubscribe_token(
    recipient: str,
    *,
    list: str,
    secret: bytes,
    expires: dt.timedelta = DEFAULT_UNSUBSCRIBE_LIFETIME,
    now: dt.datetime | None = None,
) -> str:
    """An opaque, signed, expiring token naming ``recipient`` on ``list``.

    The token is URL- and mailto-safe (base64url without padding) and about
    ``4/3 * (47 + len(recipient) + len(list))`` characters long.

    Raises:
        ConfigError: an empty or over-long recipient or list, a bad lifetime or secret.
    """
    address = recipient.strip()
    if not address or len(address.encode()) > _ADDRESS_MAX or any(c in address for c in "\r\n"):
        raise ConfigError("the recipient must be a non-empty address of at most 254 octets")
    list_bytes = list.encode()
    if not list_bytes or len(list_bytes) > _LIST_MAX or any(c in list for c in "\r\n"):
        raise ConfigError("the list name must be 1 to 255 octets on one line")
    lifetime = int(expires.total_seconds())
    if not 0 < lifetime < 2**32:
        raise ConfigError("the token lifetime must be positive (and under 136 years)")
    issued = int(_utc(now).timestamp())
    head = _HEAD.pack(_UNSUB_VERSION, issued, lifetime, len(list_bytes))
    nonce = os.urandom(_NONCE_BYTES)
    aead = AESGCM(_derive(secret, b"unsubscribe"))
    # The version byte is both in the clear (to pick the format) and authenticated.
    sealed = aead.encrypt(nonce, head[1:] + list_bytes + address.encode(), head[:1])
    return base64.urlsafe_b64encode(head[:1] + nonce + sealed).decode("ascii").rstrip("=")


def verify_unsubscribe(
    token: str, *, secret: bytes, now: dt.datetime | None = None
) -> UnsubscribeRequest:
    """Check an unsubscribe token and say who asks to leave which list.

    This is what the endpoint receiving the RFC 8058 POST calls before adding the
    suppression (``reason=unsubscribe``).

    Raises:
        TokenError: malformed, forged (tampered, truncated, another secret) or expired;
            ``problem`` tells which.
        ConfigError: the secret is unusable.
    """
    key = _derive(secret, b"unsubscribe")
    text = token.strip()
    if not text or len(text) > _MAX_TOKEN_CHARS or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise TokenError(TokenProblem.MALFORMED, "not a base64url token of sensible length")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise TokenError(TokenProblem.MALFORMED, "not valid base64url") from exc
    if len(raw) < 1 + _NONCE_BYTES + _TAG_BYTES + _HEAD.size - 1:
        raise TokenError(TokenProblem.MALFORMED, "too short")
    if raw[0] != _UNSUB_VERSION:
        raise TokenError(TokenProblem.MALFORMED, f"unknown token version {raw[0]}")
    nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
    try:
        plain = AESGCM(key).decrypt(nonce, sealed, raw[:1])
    except InvalidTag as exc:
        raise TokenError(TokenProblem.FORGED, "the signature does not verify") from exc
    if len(plain) < _HEAD.size - 1:  # only reachable with the secret: a bug, not mail
        raise TokenError(TokenProblem.MALFORMED, "contents too short")
    _version, issued_s, lifetime, list_len = _HEAD.unpack(raw[:1] + plain[: _HEAD.size - 1])
    body = plain[_HEAD.size - 1 :]
    try:
        list_name, address = body[:list_len].decode(), body[list_len:].decode()
    except UnicodeDecodeError as exc:  # only reachable with the secret: a bug, not mail
        raise TokenError(TokenProblem.MALFORMED, "undecodable contents") from exc
    issued = dt.datetime.fromtimestamp(issued_s, dt.UTC)
    expires = issued + dt.timedelta(seconds=lifetime)
    moment = _utc(now)
    # A token from the future means a clock far off or a leaked secret; refuse it too,
    # allowing five minutes of skew between the sending host and the web endpoint.
    if moment >= expires or issued > moment + dt.timedelta(minutes=5):
        raise TokenError(
            TokenProblem.EXPIRED, f"valid from {issued:%Y-%m-%d} to {expires:%Y-%m-%d}"
        )
    return UnsubscribeRequest(address=address, list=list_name, issued=issued, expires=expires)


def _check_url(url: str) -> str:
    # RFC 8058 §3.1: "The List-Unsubscribe header field MUST contain one HTTPS URI."
    if not url.lower().startswith("https://") or len(url) > 512:
        raise ConfigError("the unsubscribe URL must be an https:// URL of at most 512 chars")
    if re.search(r"[\s<>\"',]|[^\x21-\x7e]", url) or "#" in url:
        raise ConfigError(
            "the unsubscribe URL must be plain ASCII without spaces, <>, quotes, commas or #"
        )
    return url


def unsubscribe_headers(
    recipient: str,
    *,
    list: str,
    secret: bytes,
    url: str,
    mailto: str | None = None,
    expires: dt.timedelta = DEFAULT_UNSUBSCRIBE_LIFETIME,
    now: dt.datetime | None = None,
) -> tuple[tuple[str, str], ...]:
    """The RFC 8058 one-click unsubscribe headers for one recipient of a list.

    Returns ``(("List-Unsubscribe", "<https://...?t=TOKEN>, <mailto:...>"),
    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))``: add both before DKIM
    signing (RFC 8058 §4: the signature must cover them). ``url`` is the endpoint that
    accepts the POST (``t`` is appended to its query); ``mailto`` an address whose mail
    `mailcheck bounces ingest` reads (subject ``unsubscribe TOKEN``).

    Example::

        for name, value in unsubscribe_headers(
            "ana@example.net", list="news", secret=secret,
            url="https://panel.example.org/unsubscribe", mailto="unsubscribe@example.org",
        ):
            message[name] = value

    Raises:
        ConfigError: a URL that is not plain https, a bad mailto, recipient, list or secret.
    """
    base = _check_url(url)
    token = unsubscribe_token(recipient, list=list, secret=secret, expires=expires, now=now)
    joiner = "&" if "?" in base else "?"
    uris = [f"<{base}{joiner}t={token}>"]
    if mailto is not None:
        local, at, domain = mailto.rpartition("@")
        if not at or not _MAILTO_LOCAL.fullmatch(local) or not _DOMAIN.fullmatch(domain):
            raise ConfigError(f"unsubscribe mailto {mailto!r} is not a plain address")
        # RFC 6068: the space in the subject is percent-encoded.
        uris.append(f"<mailto:{mailto}?subject=unsubscribe%20{token}>")
    return (
        ("List-Unsubscribe", ", ".join(uris)),
        # RFC 8058 §3.1: "The List-Unsubscribe-Post header field MUST contain the single
        # key/value pair "List-Unsubscribe=One-Click"."
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    )
