"""The registry of finding codes.

Every code a check can emit is declared here once, with its default severity,
a short title and its reference. Codes are the API control panels translate:
they are documented one by one in ``docs/findings.md`` (a test keeps both in
sync) and are never renamed, only deprecated. ``*.temperror`` is reserved for
"could not check".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mailcheck.model import Finding, Severity


@dataclasses.dataclass(frozen=True, slots=True)
class Code:
    """A registered finding code and how to make findings with it."""

    id: str
    severity: Severity
    title: str
    reference: str | None = None

    def finding(
        self,
        subject: str,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        fix: str | None = None,
        severity: Severity | None = None,
        reference: str | None = None,
    ) -> Finding:
        """A :class:`Finding` with this code; severity and reference default to the code's."""
        return Finding(
            code=self.id,
            severity=severity or self.severity,
            subject=subject,
            message=message,
            details=dict(details or {}),
            fix=fix,
            reference=reference or self.reference,
        )


REGISTRY: dict[str, Code] = {}


def _code(id: str, severity: Severity, title: str, reference: str | None = None) -> Code:
    if id in REGISTRY:
        raise RuntimeError(f"finding code {id} registered twice")
    code = Code(id, severity, title, reference)
    REGISTRY[id] = code
    return code


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

# --- dns ------------------------------------------------------------------------------------
DOMAIN_PARKED = _code(
    "domain.parked", I, "The domain neither sends nor receives mail", "RFC 7505; RFC 7208 §4.6"
)

# --- spf (section owned by spf/) ------------------------------------------------------------
# --- end spf --------------------------------------------------------------------------------

# --- dmarc (section owned by dmarc/) --------------------------------------------------------
# --- end dmarc ------------------------------------------------------------------------------

# --- dkim keys in DNS (section owned by dkim/record.py, dkim/audit.py) -----------------------
# Published key vs the private key, DKIM signing and verification (dkim/keys.py, publish.py,
# verify.py); the DNS audit may emit these too.
DKIM_TEMPERROR = _code(
    "dkim.temperror", W, "The DKIM key record could not be fetched (DNS failure)", "RFC 6376 §6.1.2"
)
DKIM_NOT_PUBLISHED = _code(
    "dkim.not-published", E, "No DKIM key record at the selector", "RFC 6376 §3.6.2.2"
)
DKIM_KEY_MISMATCH = _code(
    "dkim.key-mismatch",
    E,
    "The published key is not the signing key's public key",
    "RFC 6376 §3.6.1",
)
DKIM_KEY_REVOKED = _code(
    "dkim.key-revoked", E, "The key record is revoked (empty p=)", "RFC 6376 §3.6.1"
)
DKIM_KEY_TESTING = _code(
    "dkim.key-testing", W, "The key record is in testing mode (t=y)", "RFC 6376 §3.6.1"
)
DKIM_KEY_INVALID = _code(
    "dkim.key-invalid", E, "The key record at the selector does not parse", "RFC 6376 §3.6.1"
)
# --- end dkim -------------------------------------------------------------------------------

# --- mx (section owned by mx.py) ------------------------------------------------------------
# --- end mx ---------------------------------------------------------------------------------

# --- reputation: rdns, helo, rbl, dbl (section owned by reputation/) ------------------------
# --- end reputation -------------------------------------------------------------------------
