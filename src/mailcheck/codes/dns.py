"""Finding codes of the domain's own DNS records: domain, spf, dmarc, dkim, mx.

Registered in this order when :mod:`mailcheck.codes` imports the module, which re-exports each
code by name (a new code goes in both; tests/test_codes.py checks).
"""

from __future__ import annotations

from mailcheck.codes.registry import E, I, W, _code

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
