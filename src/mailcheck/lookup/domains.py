"""Domain names: normalisation (IDNA) and the organisational domain.

The organisational domain follows RFC 9989's DNS tree walk by default, with
the Public Suffix List mode of RFC 7489 as an option.
"""

from __future__ import annotations

import dns.exception
import dns.name

from mailcheck.errors import ParseError

# RFC 1035 §2.3.4: 253 characters in presentation form, labels of 63 octets.
MAX_NAME_LENGTH = 253


def normalize_domain(text: str, /) -> str:
    """A domain as mailcheck stores it: A-labels, lower case, no trailing dot.

    U-labels are converted with IDNA 2008 (``"bücher.example"`` ->
    ``"xn--bcher-kva.example"``).

    Raises:
        ParseError: empty, too long, a bad label, or characters no host name has.
    """
    raw = text.strip()
    if not raw or raw == ".":
        raise ParseError(text, 0, "empty domain name")
    if any(ch.isspace() or ch in "/@:\\,;()<>\"'" for ch in raw):
        bad = next(i for i, ch in enumerate(raw) if ch.isspace() or ch in "/@:\\,;()<>\"'")
        raise ParseError(text, bad, "not a domain name")
    try:
        name = dns.name.from_text(raw, origin=dns.name.root)
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise ParseError(text, 0, f"not a domain name: {exc}") from None
    result = name.to_text(omit_final_dot=True).lower()
    if len(result) > MAX_NAME_LENGTH:
        raise ParseError(text, MAX_NAME_LENGTH, "domain name longer than 253 characters")
    if "." not in result:
        raise ParseError(text, 0, "a single label is not a mail domain")
    return result
