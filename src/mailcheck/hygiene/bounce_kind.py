"""A bounce's status and diagnostic -> hard, soft or unknown, through the classification
data (:mod:`.classify`, ``bounce_codes.toml``) that delivery-time replies use too."""

from __future__ import annotations

import re

from mailcheck.hygiene.classify import BounceClass, classify_reply, classify_status
from mailcheck.hygiene.inbound_types import BounceKind

__all__ = ["bounce_kind"]

_REPLY = re.compile(r"\s*([2-5]\d\d)[ -](.*)", re.DOTALL)
_KINDS = {
    BounceClass.HARD: BounceKind.HARD,
    BounceClass.SOFT: BounceKind.SOFT,
    # 5.7.x policy refusals and the like are about the sender, not the address.
    BounceClass.NOT_RECIPIENT: BounceKind.UNKNOWN,
    BounceClass.UNKNOWN: BounceKind.UNKNOWN,
}


def bounce_kind(status: str | None, diagnostic: str | None = None) -> BounceKind:
    """The kind of one failed recipient: by its RFC 3463 status code when it has one,
    else by the SMTP reply its Diagnostic-Code quotes (``550 User unknown``)."""
    if status:
        verdict = classify_status(status)
        if verdict.kind is not BounceClass.UNKNOWN or not diagnostic:
            return _KINDS[verdict.kind]
    if diagnostic:
        reply = _REPLY.match(diagnostic)
        if reply:
            return _KINDS[classify_reply(int(reply.group(1)), reply.group(2)).kind]
    return BounceKind.UNKNOWN
