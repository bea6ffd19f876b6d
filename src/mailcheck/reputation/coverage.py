"""How much of the blocklist catalogue a report rests on: zones asked, read, not readable.

A report lists what each zone said; this summary says how many zones could be
read at all, which could not (a failed self-test, a refusal, a timeout), and
which were not asked (offline, outside the given zone files), so a reader
knows "clean on 15 of 18 lists" rather than guessing from a list of listings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from mailcheck.model import to_dict
from mailcheck.reputation.blocklists import Listing
from mailcheck.reputation.decode import ListingState


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BlocklistCoverage:
    """The blocklist zones behind a report's listings.

    Attributes:
        asked: zones asked about at least one subject.
        checked: zones whose every answer could be read (listed or clean).
        unavailable: zones that could not be read for some subject (failed
            self-test, refusal, timeout, DNS error, query budget spent): those
            listings are ``unknown``, never clean nor listed.
        not_queried: selected zones not asked because the resolver cannot reach
            them (offline: outside the given zone files).
    """

    asked: int = 0
    checked: int = 0
    unavailable: tuple[str, ...] = ()
    not_queried: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON data."""
        data: dict[str, Any] = to_dict(self)
        return data


def coverage_of(listings: Iterable[Listing], not_queried: Iterable[str] = ()) -> BlocklistCoverage:
    """Summarise ``listings`` (of one or many subjects) zone by zone."""
    asked: dict[str, bool] = {}
    for listing in listings:
        readable = listing.state is not ListingState.UNKNOWN
        asked[listing.zone] = asked.get(listing.zone, True) and readable
    skipped = tuple(sorted(set(not_queried) - set(asked)))
    return BlocklistCoverage(
        asked=len(asked),
        checked=sum(asked.values()),
        unavailable=tuple(sorted(zone for zone, ok in asked.items() if not ok)),
        not_queried=skipped,
    )
