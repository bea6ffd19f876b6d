"""Finding codes of what comes back: DMARC aggregate and TLS reports, list hygiene.

Registered in this order when :mod:`mailcheck.codes` imports the module, which re-exports each
code by name (a new code goes in both; tests/test_codes.py checks).
"""

from __future__ import annotations

from mailcheck.codes.registry import I, W, _code

# --- DMARC aggregate and TLS reports (section owned by reports/) ---------------------------------
REPORT_TEMPERROR = _code(
    "report.temperror", W, "Report sources could not be classified (DNS failure)", "RFC 7208 §2.6.6"
)
REPORT_NO_REPORTS = _code(
    "report.no-reports", I, "No aggregate report for the domain in the period", "RFC 9990"
)
REPORT_UNAUTHORIZED_SOURCE = _code(
    "report.unauthorized-source",
    W,
    "Mail in the domain's name from unauthorised sources",
    "RFC 9989 §4",
)
REPORT_SERVICE_UNALIGNED = _code(
    "report.service-unaligned", W, "An authorised service's mail does not align", "RFC 9989 §4.4"
)
REPORT_INFRASTRUCTURE_UNALIGNED = _code(
    "report.infrastructure-unaligned",
    W,
    "The domain's own servers' mail does not align",
    "RFC 9989 §4.4",
)
REPORT_FORWARDER_FAILURES = _code(
    "report.forwarder-failures", I, "Forwarded or list mail fails DMARC", "RFC 7960; RFC 8617"
)
REPORT_POLICY_READY = _code(
    "report.policy-ready",
    I,
    "Legitimate mail passes: a stricter DMARC policy is safe",
    "RFC 9989 §4.7",
)
REPORT_POLICY_NOT_READY = _code(
    "report.policy-not-ready",
    W,
    "A stricter DMARC policy would block legitimate mail",
    "RFC 9989 §4.7",
)
REPORT_TLS_FAILURES = _code(
    "report.tls-failures", W, "Senders report failed TLS sessions to the domain", "RFC 8460 §4.3"
)
REPORT_FOREIGN_DOMAIN = _code(
    "report.foreign-domain", I, "Reports about a domain the store does not manage", "RFC 9990 §3"
)
REPORT_QUARANTINED = _code(
    "report.quarantined", W, "A received blob was not a readable report", "RFC 9990; RFC 8460"
)
# --- end reports ---------------------------------------------------------------------------------

# --- list hygiene: bounces, complaints, suppression (section owned by hygiene/) ------------------
# --- end hygiene ---------------------------------------------------------------------------------
