"""Finding codes of the message lint and mailing lists: lint.*, list.*, arc.*.

Registered in this order when :mod:`mailcheck.codes` imports the module, which re-exports each
code by name (a new code goes in both; tests/test_codes.py checks).
"""

from __future__ import annotations

from mailcheck.codes.registry import E, I, W, _code

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
