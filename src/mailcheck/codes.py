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
DOMAIN_QUERY_BUDGET_EXHAUSTED = _code(
    "domain.query-budget-exhausted", W, "The audit's DNS query budget ran out", None
)

# --- spf (section owned by spf/) ------------------------------------------------------------
SPF_TEMPERROR = _code(
    "spf.temperror", W, "SPF could not be checked (DNS failure)", "RFC 7208 §2.6.6"
)
SPF_MISSING = _code("spf.missing", E, "No SPF record", "RFC 7208 §4.5")
SPF_MULTIPLE_RECORDS = _code(
    "spf.multiple-records", E, "Several SPF records: permerror", "RFC 7208 §4.5"
)
SPF_SYNTAX_ERROR = _code("spf.syntax-error", E, "The SPF record does not parse", "RFC 7208 §12")
SPF_TYPE99 = _code("spf.type99", I, "An SPF (type 99) record is published", "RFC 7208 §3.1")
SPF_LOOKUP_LIMIT = _code(
    "spf.lookup-limit", E, "More than 10 DNS-querying terms", "RFC 7208 §4.6.4"
)
SPF_VOID_LOOKUP_LIMIT = _code(
    "spf.void-lookup-limit", E, "More than 2 void lookups", "RFC 7208 §4.6.4"
)
SPF_MX_TOO_MANY_HOSTS = _code(
    "spf.mx-too-many-hosts", E, "An mx term names more than 10 hosts", "RFC 7208 §4.6.4"
)
SPF_INCLUDE_LOOP = _code("spf.include-loop", E, "An include/redirect loop", "RFC 7208 §5.2")
SPF_INCLUDE_MISSING = _code(
    "spf.include-missing", E, "An include or redirect target has no SPF record", "RFC 7208 §5.2"
)
SPF_PASS_ALL = _code("spf.pass-all", E, "+all authorises every host", "RFC 7208 §5.1")
SPF_NEUTRAL_ALL = _code("spf.neutral-all", W, "?all protects nothing", "RFC 7208 §5.1")
SPF_NO_ALL = _code("spf.no-all", W, "No all mechanism: the default is neutral", "RFC 7208 §4.7")
SPF_PTR = _code("spf.ptr", W, "The ptr mechanism is deprecated", "RFC 7208 §5.5")
SPF_BROAD_NETWORK = _code(
    "spf.broad-network", W, "An over-broad network is authorised", "RFC 7208 §5.6"
)
SPF_RECORD_TOO_LONG = _code(
    "spf.record-too-long", W, "The TXT answer does not fit a 512-byte UDP reply", "RFC 7208 §3.4"
)
SPF_STRING_TOO_LONG = _code(
    "spf.string-too-long", E, "A TXT character-string over 255 bytes", "RFC 7208 §3.3"
)
SPF_REDIRECT_WITH_ALL = _code(
    "spf.redirect-with-all", W, "redirect is ignored beside all", "RFC 7208 §6.1"
)
SPF_IP_NOT_AUTHORIZED = _code(
    "spf.ip-not-authorized", E, "A sending IP does not pass SPF", "RFC 7208 §2.6"
)
# --- end spf --------------------------------------------------------------------------------

# --- dmarc (section owned by dmarc/) --------------------------------------------------------
DMARC_TEMPERROR = _code("dmarc.temperror", W, "The DMARC policy could not be checked (DNS failure)")
DMARC_MISSING = _code("dmarc.missing", E, "No DMARC record", "RFC 9989 §4.10")
DMARC_MULTIPLE_RECORDS = _code(
    "dmarc.multiple-records", E, "Several DMARC records: none applies", "RFC 9989 §4.10"
)
DMARC_SYNTAX_ERROR = _code(
    "dmarc.syntax-error", E, "The DMARC record does not parse", "RFC 9989 §4.7"
)
DMARC_TXT_AND_CNAME = _code(
    "dmarc.txt-and-cname", E, "CNAME and TXT at the same _dmarc name", "RFC 1034 §3.6.2"
)
DMARC_INHERITED = _code(
    "dmarc.inherited", I, "The policy is inherited from a parent domain", "RFC 9989 §4.10"
)
DMARC_NO_POLICY = _code("dmarc.no-policy", W, "The record has no p= tag", "RFC 9989 §4.7")
DMARC_POLICY_NONE = _code(
    "dmarc.policy-none", W, "The policy is none (monitoring only)", "RFC 9989 §4.7"
)
DMARC_SUBDOMAIN_WEAKER = _code(
    "dmarc.subdomain-weaker", W, "sp= or np= is weaker than p=", "RFC 9989 §4.7; RFC 9091"
)
DMARC_NO_RUA = _code("dmarc.no-rua", W, "No aggregate report address (rua=)", "RFC 9990")
DMARC_TESTING = _code("dmarc.testing", W, "Testing mode (t=y)", "RFC 9989 §4.7")
DMARC_REMOVED_TAG = _code(
    "dmarc.removed-tag", I, "A tag RFC 9989 removed (pct, rf, ri)", "RFC 9989 §A.6"
)
DMARC_REPORT_NOT_AUTHORIZED = _code(
    "dmarc.report-not-authorized",
    W,
    "An external report destination has not authorised the reports",
    "RFC 9990 §3.2.3",
)
DMARC_REPORT_NO_MX = _code(
    "dmarc.report-no-mx", W, "A report destination cannot receive mail", "RFC 9990 §3.2.3"
)
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
# The DNS audit of selectors (dkim/audit.py).
DKIM_NO_SELECTOR_FOUND = _code(
    "dkim.no-selector-found", I, "No DKIM key at the requested or common selectors"
)
DKIM_KEY_TOO_SHORT = _code(
    "dkim.key-too-short", E, "RSA key under 1024 bits: signatures are invalid", "RFC 8301 §3.2"
)
DKIM_KEY_WEAK = _code("dkim.key-weak", W, "RSA key under 2048 bits", "RFC 8301 §3.2")
DKIM_SHA1_ONLY = _code("dkim.sha1-only", E, "The key allows only rsa-sha1", "RFC 8301 §3.1")
DKIM_MULTIPLE_RECORDS = _code(
    "dkim.multiple-records", W, "Several key records at one selector", "RFC 6376 §3.6.2.2"
)
DKIM_CNAME = _code("dkim.cname", I, "The selector is delegated by CNAME", "RFC 6376 §3.6.2.1")
DKIM_ED25519_ONLY = _code(
    "dkim.ed25519-only", W, "Only Ed25519 keys: sign with RSA too", "RFC 8463 §4"
)
# --- end dkim -------------------------------------------------------------------------------

# --- mx (section owned by mx.py) ------------------------------------------------------------
MX_TEMPERROR = _code("mx.temperror", W, "The MX records could not be checked (DNS failure)")
MX_NULL = _code("mx.null", I, "Null MX: the domain accepts no mail", "RFC 7505 §3")
MX_NULL_MIXED = _code(
    "mx.null-mixed", E, "A null MX is published beside other MX records", "RFC 7505 §3"
)
MX_NONE = _code(
    "mx.none", E, "No MX and no address: the domain cannot receive mail", "RFC 5321 §5.1"
)
MX_IMPLICIT = _code(
    "mx.implicit", W, "No MX record: implicit MX to the domain's address", "RFC 5321 §5.1"
)
MX_IP_LITERAL = _code(
    "mx.ip-literal", E, "An MX target is an IP address", "RFC 7505 §1; RFC 5321 §5.1"
)
MX_CNAME = _code("mx.cname", W, "An MX target is an alias (CNAME)", "RFC 2181 §10.3; RFC 5321 §5.1")
MX_TARGET_NXDOMAIN = _code("mx.target-nxdomain", E, "An MX target does not exist", "RFC 5321 §5.1")
MX_TARGET_NO_ADDRESS = _code(
    "mx.target-no-address", E, "An MX target has no A or AAAA record", "RFC 5321 §5.1"
)
MX_NO_REACHABLE_HOST = _code(
    "mx.no-reachable-host", E, "No MX host has an address", "RFC 5321 §5.1"
)
MX_TOO_MANY_HOSTS = _code(
    "mx.too-many-hosts", W, "More MX hosts than the audit checks", "RFC 7208 §4.6.4"
)
MX_TOO_MANY_ADDRESSES = _code(
    "mx.too-many-addresses", W, "An MX host has more addresses than the audit checks", None
)
# --- end mx ---------------------------------------------------------------------------------

# --- reputation: rdns, helo, rbl, dbl (section owned by reputation/) ------------------------
RDNS_MISSING = _code("rdns.missing", E, "The sending IP has no PTR record", "RFC 1912 §2.1")
RDNS_NOT_CONFIRMED = _code(
    "rdns.not-confirmed", E, "No PTR name resolves back to the IP (no FCrDNS)", "RFC 8601 §3"
)
RDNS_GENERIC = _code(
    "rdns.generic", W, "The PTR name looks generic or dynamic", "RFC 8601 §3; Spamhaus PBL"
)
RDNS_MULTIPLE = _code("rdns.multiple", I, "The IP has several PTR records", "RFC 1912 §2.1")
RDNS_TEMPERROR = _code("rdns.temperror", W, "Reverse DNS could not be checked", "RFC 1912 §2.1")
HELO_NOT_FQDN = _code("helo.not-fqdn", E, "The HELO name is not an FQDN", "RFC 5321 §4.1.1.1")
HELO_ADDRESS_LITERAL = _code(
    "helo.address-literal", W, "The HELO is an address literal", "RFC 5321 §4.1.1.1"
)
HELO_NO_ADDRESS = _code("helo.no-address", E, "The HELO name does not resolve", "RFC 5321 §4.1.1.1")
HELO_IP_MISMATCH = _code(
    "helo.ip-mismatch", W, "The HELO name resolves to other addresses", "RFC 5321 §4.1.4"
)
HELO_PTR_MISMATCH = _code(
    "helo.ptr-mismatch", W, "The HELO name is not the PTR name", "RFC 5321 §4.1.4"
)
HELO_TEMPERROR = _code(
    "helo.temperror", W, "The HELO name could not be checked", "RFC 5321 §4.1.1.1"
)
RBL_LISTED = _code("rbl.listed", E, "The IP is on a blocklist", "RFC 5782 §2")
RBL_NEIGHBOURHOOD = _code(
    "rbl.neighbourhood", W, "The IP's range or network is on a blocklist", "RFC 5782 §2"
)
RBL_ALLOWLISTED = _code("rbl.allowlisted", I, "The IP is on an allow-list", "RFC 5782 §2")
RBL_TEMPERROR = _code("rbl.temperror", W, "A blocklist could not be read", "RFC 5782 §2.1")
# Deprecated: the former name of rbl.temperror, no longer emitted. Findings with the new
# code carry details["former_code"] = "rbl.unknown" for one release.
RBL_UNKNOWN = _code("rbl.unknown", W, "Deprecated: now rbl.temperror", "RFC 5782 §2.1")
RBL_ZONE_BROKEN = _code(
    "rbl.zone-broken", W, "Blocklists failed their self-test with this resolver", "RFC 5782 §5"
)
RBL_NOT_QUERIED = _code(
    "rbl.not-queried", I, "Offline: blocklists outside the given zones were not asked", None
)
RBL_RESOLVER_REFUSED = _code(
    "rbl.resolver-refused", W, "A blocklist refuses this resolver", "RFC 5782 §2.1"
)
RBL_RESOLVER_REWRITES = _code(
    "rbl.resolver-rewrites", W, "The resolver rewrites NXDOMAIN answers", "RFC 5782 §2.1"
)
RBL_DEAD_ZONE = _code("rbl.dead-zone", I, "A named blocklist is dead and was not asked", None)
RBL_PUBLIC_RESOLVER = _code(
    "rbl.public-resolver", W, "Blocklists are asked through a public resolver", "RFC 5782 §2.1"
)
DBL_LISTED = _code("dbl.listed", E, "A domain name is on a domain blocklist", "RFC 5782 §2.3")
# --- end reputation -------------------------------------------------------------------------

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

# --- message lint and lists: lint.*, list.*, arc.* (section owned by lint/, lists/, arc) ---------
LINT_TEMPERROR = _code(
    "lint.temperror", W, "A lint check could not be completed (DNS failure)", "RFC 7208 §2.6.6"
)
LINT_UNREADABLE = _code(
    "lint.unreadable", E, "The message cannot be read as a message", "RFC 5322 §2.1"
)
LINT_HEADER_MALFORMED = _code(
    "lint.header-malformed", E, "A header line is not a field", "RFC 5322 §2.2"
)
LINT_FROM_MISSING = _code("lint.from-missing", E, "No From field", "RFC 5322 §3.6")
LINT_FROM_NOT_SINGLE = _code(
    "lint.from-not-single", E, "The From field does not hold exactly one address", "RFC 5322 §3.6.2"
)
LINT_HEADER_DUPLICATE = _code(
    "lint.header-duplicate",
    E,
    "A field that may appear once appears several times",
    "RFC 5322 §3.6",
)
LINT_DATE_MISSING = _code("lint.date-missing", E, "No Date field", "RFC 5322 §3.6")
LINT_DATE_INVALID = _code("lint.date-invalid", W, "The Date field does not parse", "RFC 5322 §3.3")
LINT_MESSAGE_ID_MISSING = _code(
    "lint.message-id-missing", E, "No Message-ID field", "RFC 5322 §3.6.4"
)
LINT_MESSAGE_ID_INVALID = _code(
    "lint.message-id-invalid", W, "The Message-ID is not <left@right>", "RFC 5322 §3.6.4"
)
LINT_ADDRESS_INVALID = _code(
    "lint.address-invalid",
    E,
    "An address field holds something that is not an address",
    "RFC 5322 §3.4",
)
LINT_LINE_TOO_LONG = _code(
    "lint.line-too-long", E, "A line is longer than 998 characters", "RFC 5322 §2.1.1"
)
LINT_LINE_LONG = _code(
    "lint.line-long", I, "A line is longer than 78 characters", "RFC 5322 §2.1.1"
)
LINT_EIGHT_BIT_HEADER = _code(
    "lint.eight-bit-header", W, "A header holds raw 8-bit text", "RFC 6532 §3; RFC 2047"
)
LINT_EIGHT_BIT_UNDECLARED = _code(
    "lint.eight-bit-undeclared",
    E,
    "8-bit body text without an 8bit transfer encoding",
    "RFC 2045 §6.2",
)
LINT_MIME_MALFORMED = _code(
    "lint.mime-malformed", E, "The MIME structure is broken", "RFC 2045 §4; RFC 2046 §5.1.1"
)
LINT_TRANSFER_ENCODING_INVALID = _code(
    "lint.transfer-encoding-invalid",
    E,
    "A Content-Transfer-Encoding is unknown or not allowed",
    "RFC 2045 §6.1, §6.4",
)
LINT_DKIM_MISSING = _code("lint.dkim-missing", E, "No DKIM signature", "RFC 6376 §3.5")
LINT_DKIM_MALFORMED = _code(
    "lint.dkim-malformed", E, "A DKIM-Signature field does not parse", "RFC 6376 §3.5"
)
LINT_DKIM_FAIL = _code("lint.dkim-fail", E, "No DKIM signature that counts verifies", "RFC 6376 §6")
LINT_DKIM_NOT_ALIGNED = _code(
    "lint.dkim-not-aligned",
    W,
    "No DKIM signature's d= is aligned with the From domain",
    "RFC 9989 §4.4.1",
)
LINT_SPF_NOT_ALIGNED = _code(
    "lint.spf-not-aligned",
    W,
    "The envelope sender's domain is not aligned with From",
    "RFC 9989 §4.4.2",
)
LINT_NOT_ALIGNED = _code(
    "lint.not-aligned", E, "Neither DKIM nor SPF is aligned: DMARC cannot pass", "RFC 9989 §4.4"
)
LINT_UNSUBSCRIBE_MISSING = _code(
    "lint.unsubscribe-missing", E, "No List-Unsubscribe field", "RFC 2369 §3.2; RFC 8058"
)
LINT_UNSUBSCRIBE_NOT_HTTPS = _code(
    "lint.unsubscribe-not-https", E, "List-Unsubscribe has no https URI", "RFC 8058 §3.1"
)
LINT_UNSUBSCRIBE_POST_INVALID = _code(
    "lint.unsubscribe-post-invalid",
    E,
    "No List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    "RFC 8058 §3.1",
)
LINT_UNSUBSCRIBE_NOT_SIGNED = _code(
    "lint.unsubscribe-not-signed",
    E,
    "No DKIM signature covers both unsubscribe fields",
    "RFC 8058 §4",
)
LINT_SPF_FAIL = _code("lint.spf-fail", E, "SPF does not pass for the sending IP", "RFC 7208 §2.6")
LINT_DMARC_MISSING = _code(
    "lint.dmarc-missing", E, "The From domain has no DMARC policy", "RFC 9989 §4.10"
)
# --- end lint ------------------------------------------------------------------------------------

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
