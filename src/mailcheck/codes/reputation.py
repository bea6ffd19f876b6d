"""Finding codes of reputation: reverse DNS, HELO, IP and domain blocklists.

Registered in this order when :mod:`mailcheck.codes` imports the module, which re-exports each
code by name (a new code goes in both; tests/test_codes.py checks).
"""

from __future__ import annotations

from mailcheck.codes.registry import E, I, W, _code

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
