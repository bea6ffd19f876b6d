"""Sending-IP reputation: forward-confirmed reverse DNS, HELO, and blocklists.

Share one :class:`BlocklistChecker` per run (it self-tests each blocklist zone
once); :func:`check_ip` and :func:`check_domains` are one-call shortcuts.
"""

from mailcheck.reputation.blocklists import BlocklistClient, Listing, ZoneTest
from mailcheck.reputation.catalogue import (
    Catalogue,
    Scope,
    Zone,
    ZoneKind,
    ZoneStatus,
    builtin_catalogue,
    load_catalogue,
    parse_catalogue,
)
from mailcheck.reputation.check import (
    BlocklistChecker,
    DomainListingReport,
    IpReport,
    check_domains,
    check_ip,
)
from mailcheck.reputation.decode import ListingState, Why, ZoneHealth, decode_answer
from mailcheck.reputation.rdns import (
    HeloResult,
    RdnsResult,
    check_helo,
    check_rdns,
    generic_reasons,
)

__all__ = [
    "BlocklistChecker",
    "BlocklistClient",
    "Catalogue",
    "DomainListingReport",
    "HeloResult",
    "IpReport",
    "Listing",
    "ListingState",
    "RdnsResult",
    "Scope",
    "Why",
    "Zone",
    "ZoneHealth",
    "ZoneKind",
    "ZoneStatus",
    "ZoneTest",
    "builtin_catalogue",
    "check_domains",
    "check_helo",
    "check_ip",
    "check_rdns",
    "decode_answer",
    "generic_reasons",
    "load_catalogue",
    "parse_catalogue",
]
