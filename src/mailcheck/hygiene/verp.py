"""The Sender's per-recipient settings: VERP (a return path per recipient,
``bounces+<token>@domain``, and a tracking header, both naming the spool's recipient id
under an HMAC, so a bounce or a complaint that comes back later names its recipient and a
forged one names nobody) and RFC 8058 one-click unsubscribe headers (an opaque, expiring
token per recipient and list). Both use :mod:`.tokens`.

Either means one copy, and one SMTP transaction, per recipient: the Sender then sends
each recipient its own copy (``recipients_per_message`` is 1 for every budget).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from mailcheck.hygiene.tokens import (
    DEFAULT_UNSUBSCRIBE_LIFETIME,
    TRACKING_HEADER,
    recipient_token,
    unsubscribe_headers,
    verp_address,
)

__all__ = ["UnsubscribeConfig", "VerpConfig"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VerpConfig:
    """How the Sender writes per-recipient return paths.

    Attributes:
        domain: the domain whose MX receives the bounces (``mailcheck bounces ingest``
            reads that mailbox).
        secret: the deployment secret (at least 16 bytes; never shown in a repr).
        local: the local part before ``+`` (``bounces``).
        tracking_header: also add ``X-Mailcheck-Id: <token>`` to each copy (bounces and
            feedback-loop reports quote the original headers; the header still names the
            recipient when a forwarder rewrote the return path).

    Raises:
        ConfigError: a bad domain, local part or secret (checked at construction).

    Example:
        >>> cfg = VerpConfig(domain="bounces.example.org", secret=b"s" * 32)
        >>> cfg.return_path(42).startswith("bounces+")
        True
    """

    domain: str
    secret: bytes = dataclasses.field(repr=False)
    local: str = "bounces"
    tracking_header: bool = True

    def __post_init__(self) -> None:
        self.return_path(1)  # a bad domain, local part or secret fails here, not mid-run

    def return_path(self, recipient_id: int, /) -> str:
        """The MAIL FROM of ``recipient_id``'s copy."""
        return verp_address(recipient_id, domain=self.domain, secret=self.secret, local=self.local)

    def header(self, recipient_id: int, /) -> bytes:
        """The tracking header field of ``recipient_id``'s copy (CRLF-terminated), or
        ``b""`` when ``tracking_header`` is off."""
        if not self.tracking_header:
            return b""
        token = recipient_token(recipient_id, secret=self.secret)
        return f"{TRACKING_HEADER}: {token}\r\n".encode("ascii")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class UnsubscribeConfig:
    """RFC 8058 one-click unsubscribe headers the Sender adds to bulk mail sent to a list.

    Each copy of a message submitted with ``list=`` and bulk priority gets
    ``List-Unsubscribe: <URL?t=TOKEN>[, <mailto:...>]`` and ``List-Unsubscribe-Post:
    List-Unsubscribe=One-Click`` before it is DKIM-signed (RFC 8058 §4: the signature must
    cover both), the token naming the recipient and the list (opaque, signed, expiring).
    The endpoint at ``url`` verifies it with
    :func:`~mailcheck.hygiene.tokens.verify_unsubscribe` and adds an ``unsubscribe``
    suppression for that list.

    Attributes:
        url: the https endpoint that receives the one-click POST.
        secret: the deployment secret (at least 16 bytes; never shown in a repr).
        mailto: an address whose mail ``mailcheck bounces ingest`` reads, or None.
        lifetime: how long a token stays valid.

    Raises:
        ConfigError: a URL that is not plain https, a bad mailto or secret.
    """

    url: str
    secret: bytes = dataclasses.field(repr=False)
    mailto: str | None = None
    lifetime: dt.timedelta = DEFAULT_UNSUBSCRIBE_LIFETIME

    def __post_init__(self) -> None:
        self.headers("check@example.org", "check")  # fail at construction, not mid-run

    def headers(self, recipient: str, list_id: str, /) -> bytes:
        """The two header fields for ``recipient`` on ``list_id`` (CRLF-terminated)."""
        fields = unsubscribe_headers(
            recipient,
            list=list_id,
            secret=self.secret,
            url=self.url,
            mailto=self.mailto,
            expires=self.lifetime,
        )
        # Folded between the URIs: a long address and list make a long token, and a line
        # stays under RFC 5322's 998 characters.
        fold = ",\r\n <"
        lines = (f"{name}: {value.replace(', <', fold)}\r\n" for name, value in fields)
        return "".join(lines).encode("ascii")
