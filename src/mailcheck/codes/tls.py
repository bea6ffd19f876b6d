"""Finding codes of transport security: tls.*, mtasts.*, tlsrpt.*, dnssec.*, dane.*.

Registered in this order when :mod:`mailcheck.codes` imports the module, which re-exports each
code by name (a new code goes in both; tests/test_codes.py checks).
"""

from __future__ import annotations

from mailcheck.codes.registry import E, I, W, _code

# --- transport security: tls.*, mtasts.*, tlsrpt.*, dnssec.*, dane.* (section owned by tls/) -----
TLS_TEMPERROR = _code("tls.temperror", W, "An MX host could not be probed (timeout, refused)")
TLS_STARTTLS_MISSING = _code(
    "tls.starttls-missing", E, "An MX host does not offer STARTTLS", "RFC 3207 §4"
)
TLS_HANDSHAKE_FAILED = _code(
    "tls.handshake-failed", E, "STARTTLS is offered but the TLS handshake fails", "RFC 3207 §4"
)
TLS_OLD_PROTOCOL = _code(
    "tls.old-protocol", W, "An MX host negotiates TLS older than 1.2", "RFC 8996 §2"
)
TLS_CERTIFICATE_UNTRUSTED = _code(
    "tls.certificate-untrusted", W, "An MX certificate chain does not verify", "RFC 8461 §4.2"
)
TLS_CERTIFICATE_EXPIRED = _code(
    "tls.certificate-expired", W, "An MX certificate has expired", "RFC 8461 §4.2"
)
TLS_CERTIFICATE_EXPIRING = _code(
    "tls.certificate-expiring", W, "An MX certificate expires within 14 days", None
)
TLS_NAME_MISMATCH = _code(
    "tls.name-mismatch", W, "An MX certificate does not name the MX host", "RFC 8461 §4.1"
)
MTASTS_TEMPERROR = _code(
    "mtasts.temperror", W, "MTA-STS could not be checked (DNS or HTTPS failure)", None
)
MTASTS_MISSING = _code("mtasts.missing", I, "No MTA-STS record", "RFC 8461 §3.1")
MTASTS_MULTIPLE_RECORDS = _code(
    "mtasts.multiple-records", E, "Several MTA-STS records", "RFC 8461 §3.1"
)
MTASTS_SYNTAX_ERROR = _code(
    "mtasts.syntax-error", E, "The MTA-STS record does not parse", "RFC 8461 §3.1"
)
MTASTS_POLICY_ADDRESS_REFUSED = _code(
    "mtasts.policy-address-refused",
    W,
    "The policy host resolves to a private or reserved address: not fetched",
    "RFC 8461 §3.3",
)
MTASTS_POLICY_HOST_MISSING = _code(
    "mtasts.policy-host-missing", E, "mta-sts.<domain> has no address", "RFC 8461 §3.3"
)
MTASTS_POLICY_CERTIFICATE = _code(
    "mtasts.policy-certificate",
    E,
    "The policy host's HTTPS certificate does not verify",
    "RFC 8461 §3.3",
)
MTASTS_POLICY_REDIRECT = _code(
    "mtasts.policy-redirect", E, "The policy URL answers with a redirect", "RFC 8461 §3.3"
)
MTASTS_POLICY_HTTP_ERROR = _code(
    "mtasts.policy-http-error", E, "The policy URL does not answer 200", "RFC 8461 §3.3"
)
MTASTS_POLICY_CONTENT_TYPE = _code(
    "mtasts.policy-content-type", W, "The policy is not served as text/plain", "RFC 8461 §3.2"
)
MTASTS_POLICY_TOO_LARGE = _code(
    "mtasts.policy-too-large", E, "The policy file is larger than senders read", "RFC 8461 §3.3"
)
MTASTS_POLICY_SYNTAX_ERROR = _code(
    "mtasts.policy-syntax-error", E, "The MTA-STS policy does not parse", "RFC 8461 §3.2"
)
MTASTS_TESTING = _code("mtasts.testing", I, "The MTA-STS policy is in testing mode", "RFC 8461 §5")
MTASTS_MODE_NONE = _code("mtasts.mode-none", I, "The MTA-STS policy mode is none", "RFC 8461 §5")
MTASTS_MAX_AGE_SHORT = _code(
    "mtasts.max-age-short", W, "The policy's max_age is under a day", "RFC 8461 §3.2"
)
MTASTS_MX_NOT_COVERED = _code(
    "mtasts.mx-not-covered", E, "An MX host matches no mx: pattern of the policy", "RFC 8461 §4.1"
)
MTASTS_PATTERN_UNUSED = _code(
    "mtasts.pattern-unused", W, "An mx: pattern of the policy matches no MX host", "RFC 8461 §4.1"
)
MTASTS_MX_CERTIFICATE = _code(
    "mtasts.mx-certificate",
    E,
    "An MX host's certificate fails the policy's checks",
    "RFC 8461 §4.2",
)
TLSRPT_TEMPERROR = _code("tlsrpt.temperror", W, "TLS-RPT could not be checked (DNS failure)")
TLSRPT_MISSING = _code("tlsrpt.missing", I, "No TLS-RPT record", "RFC 8460 §3")
TLSRPT_MULTIPLE_RECORDS = _code(
    "tlsrpt.multiple-records", E, "Several TLS-RPT records", "RFC 8460 §3"
)
TLSRPT_SYNTAX_ERROR = _code(
    "tlsrpt.syntax-error", E, "The TLS-RPT record does not parse", "RFC 8460 §3"
)
DNSSEC_TEMPERROR = _code("dnssec.temperror", W, "DNSSEC could not be checked (DNS failure)")
DNSSEC_NOT_CHECKED = _code(
    "dnssec.not-checked", I, "No trusted validating resolver or trust anchor was given", None
)
DNSSEC_UNSIGNED = _code("dnssec.unsigned", I, "The zone is not signed (DNSSEC)", "RFC 4035 §4.3")
DNSSEC_BOGUS = _code("dnssec.bogus", E, "The zone is signed but does not validate", "RFC 4035 §4.3")
DANE_TEMPERROR = _code("dane.temperror", W, "TLSA records could not be checked (DNS failure)")
DANE_MISSING = _code(
    "dane.missing", I, "A signed MX host publishes no TLSA record", "RFC 7672 §2.2"
)
DANE_NO_DNSSEC = _code(
    "dane.no-dnssec",
    W,
    "TLSA records are published where DNSSEC does not validate",
    "RFC 7672 §2.2",
)
DANE_UNUSABLE_RECORD = _code(
    "dane.unusable-record", W, "A TLSA record SMTP clients cannot use", "RFC 7672 §3.1.3"
)
DANE_MISMATCH = _code(
    "dane.mismatch", E, "No TLSA record matches the MX host's certificate", "RFC 7672 §3.1"
)
DANE_NO_ROLLOVER = _code(
    "dane.no-rollover",
    I,
    "Only the current key is published: no next key for a rollover",
    "RFC 7671 §8.1",
)
# --- end tls -------------------------------------------------------------------------------------
