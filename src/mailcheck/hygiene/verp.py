"""The Sender's VERP settings: a return path per recipient, ``bounces+<token>@domain``,
and a tracking header, both naming the spool's recipient id under an HMAC
(:mod:`.tokens`), so a bounce or a complaint that comes back later names its recipient
and a forged one names nobody.

A return path per recipient means one SMTP transaction per recipient: the Sender then
sends each recipient its own copy (``recipients_per_message`` is 1 for every budget).
"""

from __future__ import annotations

import dataclasses

from mailcheck.hygiene.tokens import TRACKING_HEADER, recipient_token, verp_address

__all__ = ["VerpConfig"]


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
