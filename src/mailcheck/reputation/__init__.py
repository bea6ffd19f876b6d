"""Sending-IP reputation: forward-confirmed reverse DNS, HELO, and blocklists.

Share one :class:`BlocklistChecker` per run (it self-tests each blocklist zone
once); :func:`check_ip` and :func:`check_domains` are one-call shortcuts.
"""

from __future__ import annotations

import typing

from mailcheck import _lazy

# Each name and the module it lives in, imported on first use (PEP 562): importing
# the package stays cheap (no dkimpy, pyspf or DNS stack until a name needs them).
_EXPORTS = {
    "BlocklistChecker": "mailcheck.reputation.check",
    "BlocklistClient": "mailcheck.reputation.blocklists",
    "BlocklistCoverage": "mailcheck.reputation.coverage",
    "Catalogue": "mailcheck.reputation.catalogue",
    "DomainListingReport": "mailcheck.reputation.check",
    "HeloResult": "mailcheck.reputation.rdns",
    "IpReport": "mailcheck.reputation.check",
    "Listing": "mailcheck.reputation.blocklists",
    "ListingState": "mailcheck.reputation.decode",
    "RdnsResult": "mailcheck.reputation.rdns",
    "Scope": "mailcheck.reputation.catalogue",
    "Why": "mailcheck.reputation.decode",
    "Zone": "mailcheck.reputation.catalogue",
    "ZoneHealth": "mailcheck.reputation.decode",
    "ZoneKind": "mailcheck.reputation.catalogue",
    "ZoneStatus": "mailcheck.reputation.catalogue",
    "ZoneTest": "mailcheck.reputation.blocklists",
    "builtin_catalogue": "mailcheck.reputation.catalogue",
    "check_domains": "mailcheck.reputation.check",
    "check_domains_sync": "mailcheck.sync",
    "check_helo": "mailcheck.reputation.rdns",
    "check_helo_sync": "mailcheck.sync",
    "check_ip": "mailcheck.reputation.check",
    "check_ip_sync": "mailcheck.sync",
    "check_rdns": "mailcheck.reputation.rdns",
    "check_rdns_sync": "mailcheck.sync",
    "decode_answer": "mailcheck.reputation.decode",
    "generic_reasons": "mailcheck.reputation.rdns",
    "load_catalogue": "mailcheck.reputation.catalogue",
    "parse_catalogue": "mailcheck.reputation.catalogue",
}

__getattr__, __dir__ = _lazy.lazy_exports(__name__, _EXPORTS)

if typing.TYPE_CHECKING:
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
    from mailcheck.reputation.coverage import BlocklistCoverage
    from mailcheck.reputation.decode import ListingState, Why, ZoneHealth, decode_answer
    from mailcheck.reputation.rdns import (
        HeloResult,
        RdnsResult,
        check_helo,
        check_rdns,
        generic_reasons,
    )
    from mailcheck.sync import check_domains_sync, check_helo_sync, check_ip_sync, check_rdns_sync

__all__ = [
    "BlocklistChecker",
    "BlocklistClient",
    "BlocklistCoverage",
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
    "check_domains_sync",
    "check_helo",
    "check_helo_sync",
    "check_ip",
    "check_ip_sync",
    "check_rdns",
    "check_rdns_sync",
    "decode_answer",
    "generic_reasons",
    "load_catalogue",
    "parse_catalogue",
]
