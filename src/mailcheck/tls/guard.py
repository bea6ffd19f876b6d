"""Which addresses an audit may connect to on a domain's behalf (the SSRF guard).

A control panel audits its customers' domains; a customer must not be able to point
``mta-sts.<domain>`` at an internal service and have the audit fetch from it. Only
globally routable unicast addresses pass, unless the caller allows the others (tests
on loopback do). Pure.
"""

from __future__ import annotations

import ipaddress

# RFC 6052 §2.1: the well-known NAT64 prefix embeds an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def address_allowed(address: str, /) -> bool:
    """True for a globally routable unicast address.

    Refused: private (RFC 1918, ULA), loopback, link-local, shared CGNAT space
    (RFC 6598), multicast, reserved, unspecified, documentation ranges, and IPv6 forms
    that embed a refused IPv4 address (mapped, 6to4, NAT64).

    Example:
        >>> address_allowed("127.0.0.1"), address_allowed("8.8.8.8")
        (False, True)
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    refused = not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    # NAT64 is "reserved" to ipaddress; it is judged by the IPv4 address it embeds.
    if refused and not (isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_allowed(str(embedded))
    return True
