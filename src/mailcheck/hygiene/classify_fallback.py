"""A bounce's status code -> hard, soft or unknown (RFC 3463 classes and subjects).

Interim: replaced by :mod:`mailcheck.hygiene.classify` (the data file
``bounce_codes.toml``) once it exists.
"""

from __future__ import annotations

from mailcheck.hygiene.inbound_types import BounceKind

__all__ = ["bounce_kind"]

# RFC 3463 §3.2 (addressing) and §3.3 (mailbox): these say the address itself is dead.
_HARD = {
    "5.1.1",  # bad destination mailbox address
    "5.1.2",  # bad destination system address
    "5.1.3",  # bad destination mailbox address syntax
    "5.1.6",  # destination mailbox has moved, no forwarding address
    "5.1.10",  # RFC 7505 §4.3: recipient address has null MX
    "5.2.1",  # mailbox disabled, not accepting messages
}


def bounce_kind(status: str | None, diagnostic: str | None = None) -> BounceKind:
    """Hard for a dead address, soft for a transient failure, unknown otherwise (a policy
    refusal such as 5.7.1 is about the sender, not the address)."""
    del diagnostic  # the data-driven classifier reads it; the interim one does not
    if not status:
        return BounceKind.UNKNOWN
    if status.startswith("4."):
        return BounceKind.SOFT
    if status in _HARD:
        return BounceKind.HARD
    if status.startswith(("5.2.", "5.3.", "5.4.")):
        return BounceKind.SOFT  # mailbox full, system full, routing: may recover
    return BounceKind.UNKNOWN
