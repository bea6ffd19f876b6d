"""List hygiene: the suppression list the Sender obeys, bounce classification, complaints
and their rates, VERP return paths and RFC 8058 unsubscribe tokens.

- :mod:`.types`: the floor (:class:`Suppression`, reasons, scopes, address keys).
- :mod:`.store`: the suppression list's SQL, run inside the spool's transactions.
- :mod:`.suppression`: :class:`SuppressionList`, the library API.
- :mod:`.csvio`: CSV import and export of the list.
- :mod:`.classify`: SMTP replies and DSN status codes -> hard, soft, not the recipient's
  fault (the data: ``bounce_codes.toml``).
- :mod:`.complaints`: complaints and bounces counted, rates per tenant and provider, the
  pause of a tenant's bulk mail above a complaint rate.
- :mod:`.verp`: the Sender's VERP and unsubscribe-header settings.
- :mod:`.tokens`: VERP return paths and unsubscribe tokens.
- :mod:`.inbound`, :mod:`.dsn`, :mod:`.arf`: what comes back (DSNs and other bounces,
  ARF complaints, mailto unsubscribes) read from untrusted mail; :mod:`.ingest`
  (:class:`BounceIngest`) acts on it: suppressions, counts, complaint rates.

Names are imported on first use (PEP 562): the spool imports :mod:`.store` cheaply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailcheck._lazy import lazy_exports

if TYPE_CHECKING:
    from mailcheck.hygiene.classify import BounceClass, classify_reply, classify_status
    from mailcheck.hygiene.inbound import read_inbound
    from mailcheck.hygiene.inbound_types import Bounce, Complaint, InboundError, InboundMessage
    from mailcheck.hygiene.ingest import BounceIngest, IngestResult
    from mailcheck.hygiene.rates import ComplaintPolicy, SoftBouncePolicy
    from mailcheck.hygiene.secret import read_secret
    from mailcheck.hygiene.suppression import SuppressionList
    from mailcheck.hygiene.tokens import (
        TokenError,
        UnsubscribeRequest,
        unsubscribe_headers,
        unsubscribe_token,
        verify_unsubscribe,
        verp_address,
        verp_recipient_id,
    )
    from mailcheck.hygiene.types import (
        Suppression,
        SuppressionReason,
        SuppressionScope,
        address_key,
        normalize_address,
    )
    from mailcheck.hygiene.verp import UnsubscribeConfig, VerpConfig

__all__ = [
    "Bounce",
    "BounceClass",
    "BounceIngest",
    "Complaint",
    "ComplaintPolicy",
    "InboundError",
    "InboundMessage",
    "IngestResult",
    "SoftBouncePolicy",
    "Suppression",
    "SuppressionList",
    "SuppressionReason",
    "SuppressionScope",
    "TokenError",
    "UnsubscribeConfig",
    "UnsubscribeRequest",
    "VerpConfig",
    "address_key",
    "classify_reply",
    "classify_status",
    "normalize_address",
    "read_inbound",
    "read_secret",
    "unsubscribe_headers",
    "unsubscribe_token",
    "verify_unsubscribe",
    "verp_address",
    "verp_recipient_id",
]

_WHERE = {
    "Suppression": "types",
    "SuppressionReason": "types",
    "SuppressionScope": "types",
    "address_key": "types",
    "normalize_address": "types",
    "SuppressionList": "suppression",
    "BounceClass": "classify",
    "classify_reply": "classify",
    "classify_status": "classify",
    "ComplaintPolicy": "rates",
    "SoftBouncePolicy": "rates",
    "UnsubscribeConfig": "verp",
    "VerpConfig": "verp",
    "read_inbound": "inbound",
    "Bounce": "inbound_types",
    "Complaint": "inbound_types",
    "InboundMessage": "inbound_types",
    "InboundError": "inbound_types",
    "BounceIngest": "ingest",
    "IngestResult": "ingest",
    "read_secret": "secret",
    "TokenError": "tokens",
    "UnsubscribeRequest": "tokens",
    "unsubscribe_headers": "tokens",
    "unsubscribe_token": "tokens",
    "verify_unsubscribe": "tokens",
    "verp_address": "tokens",
    "verp_recipient_id": "tokens",
}

__getattr__, _ = lazy_exports(
    __name__, {name: f"{__name__}.{module}" for name, module in _WHERE.items()}
)


def __dir__() -> list[str]:
    return sorted(__all__)
