"""The floor of ``mailcheck.hygiene``: the plain types of the suppression list.

Nothing here does I/O or imports another hygiene module. An address is stored
normalised (:func:`normalize_address`: the domain lower-cased in IDNA A-labels, the local
part as given) and looked up by its :func:`address_key` (the same, local part
lower-cased too): see :func:`address_key` for why a suppression ignores case.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from mailcheck.address import parse_mailbox

__all__ = [
    "MAX_SCOPE_CHARS",
    "MAX_SOURCE_CHARS",
    "Suppression",
    "SuppressionReason",
    "SuppressionScope",
    "address_key",
    "normalize_address",
]

#: Longest ``source`` kept (a DSN's reply line, an ARF report's id); longer text is cut.
MAX_SOURCE_CHARS = 500
#: Longest tenant or list name accepted as a scope value.
MAX_SCOPE_CHARS = 255


class SuppressionReason(enum.StrEnum):
    """Why an address is suppressed (the values are stored and shown as they are)."""

    HARD_BOUNCE = "hard-bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    MANUAL = "manual"
    SOFT_BOUNCE_LIMIT = "soft-bounce-limit"


class SuppressionScope(enum.StrEnum):
    """Whose mail a suppression stops: everybody's, one tenant's, or one list's.

    A ``tenant`` or ``list`` suppression carries the tenant or list name in
    :attr:`Suppression.scope_value`. List names are opaque: a hoster serving several
    tenants names lists uniquely (``asso.example/news``).
    """

    GLOBAL = "global"
    TENANT = "tenant"
    LIST = "list"


def normalize_address(address: str, /) -> str:
    """The stored form of ``address``: ``local@domain`` with the domain lower-cased in
    IDNA A-labels and the local part as given (RFC 5321 §2.4 leaves its case to the
    receiving host, so the address we send to keeps it). Angle brackets are removed.

    Raises:
        AddressError: not an RFC 5321 mailbox.

    Example:
        >>> normalize_address("<Jo.Doe@Bücher.Example>")
        'Jo.Doe@xn--bcher-kva.example'
    """
    text = address.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    return parse_mailbox(text).to_smtp()


def address_key(address: str, /) -> str:
    """The lookup key of a suppression: :func:`normalize_address` with the local part
    lower-cased too.

    Why case-folding here and not in what we send: RFC 5321 §2.4 says a local part
    "MUST BE treated as case sensitive" by relays but that "exploiting the case
    sensitivity of mailbox local-parts impedes interoperability and is discouraged"; the
    big mailbox providers ignore case. A suppression that also stops ``John@x`` after
    ``john@x`` complained errs on the side of not sending, which is what a suppression
    is for; the opposite error mails someone who asked not to be mailed.

    Raises:
        AddressError: not an RFC 5321 mailbox.
    """
    normalized = normalize_address(address)
    local, _, domain = normalized.rpartition("@")
    return f"{local.lower()}@{domain}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Suppression:
    """One entry of the suppression list.

    Attributes:
        address: the address, normalised (:func:`normalize_address`).
        scope: whose mail it stops.
        scope_value: the tenant or list name; ``""`` for a global suppression.
        reason: why.
        source: what caused it: a DSN or ARF report id, a reply line, a request id, or a
            person's note (untrusted text, at most :data:`MAX_SOURCE_CHARS`).
        created: when (wall-clock seconds).
        expires: when it stops applying (wall-clock seconds), or None: never.
    """

    address: str
    scope: SuppressionScope
    scope_value: str = ""
    reason: SuppressionReason
    source: str = ""
    created: float
    expires: float | None = None

    def applies(self, *, now: float) -> bool:
        """Whether it is still in force at ``now``."""
        return self.expires is None or self.expires > now

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable fields (enums as their strings)."""
        return {
            "address": self.address,
            "scope": str(self.scope),
            "scope_value": self.scope_value,
            "reason": str(self.reason),
            "source": self.source,
            "created": self.created,
            "expires": self.expires,
        }
