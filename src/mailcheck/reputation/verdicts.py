"""Pure judges: blocklist listings and zone self-tests in, findings out."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from mailcheck import codes
from mailcheck.model import Finding
from mailcheck.reputation.blocklists import Listing, ZoneTest
from mailcheck.reputation.catalogue import Scope, ZoneKind
from mailcheck.reputation.decode import ListingState, Why, ZoneHealth

LOCAL_RESOLVER_FIX = (
    "Query blocklists through a local recursive resolver (unbound or bind on the mail host, "
    "not 8.8.8.8 / 1.1.1.1 / 9.9.9.9 nor your ISP's), e.g. `mailcheck ip --rbl-nameserver "
    "127.0.0.1`, or use the operator's registered access (Spamhaus DQS key in --lists)."
)
_HEALTH_TEXT = {
    ZoneHealth.LISTS_EVERYTHING: "answers 'listed' for its negative test entry: it lists "
    "everything (a dead zone, or a resolver answering every name)",
    ZoneHealth.LISTS_NOTHING: "does not list its test entry: the zone is dead, blocked or "
    "answered NXDOMAIN to this resolver (public resolvers get NXDOMAIN from Spamhaus)",
    ZoneHealth.OUTSIDE_LOOPBACK: "answers with addresses outside 127.0.0.0/8: a parked zone, "
    "or a resolver rewriting NXDOMAIN or blocking names",
    ZoneHealth.UNREACHABLE: "did not answer its self-test queries (timeout or DNS error)",
}


def judge_listings(subject: str, listings: Sequence[Listing]) -> list[Finding]:
    """Findings for one subject's listings (zone-broken answers are left to the zone judge)."""
    findings: list[Finding] = []
    for listing in listings:
        if listing.state is ListingState.LISTED:
            findings.append(_listed(subject, listing))
        elif listing.state is ListingState.UNKNOWN and listing.why not in (
            Why.ZONE_BROKEN,
            Why.REFUSED,
            Why.NOT_ASKED,
        ):
            # Zone-wide causes (a failed self-test, a spent query budget) have one finding
            # of their own; this one is about this subject on this zone.
            findings.append(
                codes.RBL_TEMPERROR.finding(
                    subject,
                    f"{listing.zone} could not be read ({_why_text(listing)}), so this "
                    "listing is unknown.",
                    details={
                        **_details(listing),
                        "error": f"{listing.zone}: {_why_text(listing)}",
                        "former_code": codes.RBL_UNKNOWN.id,
                    },
                )
            )
        elif listing.state is ListingState.UNKNOWN and listing.why is Why.REFUSED:
            findings.append(
                codes.RBL_RESOLVER_REFUSED.finding(
                    subject,
                    f"{listing.zone} refused the query ({', '.join(listing.meanings)}).",
                    details=_details(listing),
                    fix=LOCAL_RESOLVER_FIX,
                )
            )
    return findings


def _listed(subject: str, listing: Listing) -> Finding:
    details = _details(listing)
    meanings = "; ".join(listing.meanings)
    if listing.allowlist:
        return codes.RBL_ALLOWLISTED.finding(
            subject, f"Allow-listed on {listing.zone} ({meanings}): good news.", details=details
        )
    fix = f"Find and stop the cause, then request removal at {listing.delist or listing.zone}."
    if listing.paid_delisting:
        fix += " The operator sells express delisting: do not pay, listings expire on their own."
    if listing.scope is not Scope.IP:
        what = "allocation" if listing.scope is Scope.RANGE else "network (ASN)"
        return codes.RBL_NEIGHBOURHOOD.finding(
            subject,
            f"The {what} around this IP is listed on {listing.zone} ({meanings}); "
            "this says nothing about the IP itself.",
            details=details,
            fix="Nothing to fix on your side; if receivers use this list, ask your "
            "provider to act on its other customers' abuse, or move to a cleaner network.",
        )
    code = codes.RBL_LISTED if _is_ip(subject) else codes.DBL_LISTED
    return code.finding(subject, f"Listed on {listing.zone}: {meanings}.", details=details, fix=fix)


def _why_text(listing: Listing) -> str:
    return listing.why.value if listing.why else "no usable answer"


def _is_ip(subject: str) -> bool:
    try:
        ipaddress.ip_address(subject)
    except ValueError:
        return False
    return True


def _details(listing: Listing) -> dict[str, object]:
    details: dict[str, object] = {"zone": listing.zone, "state": listing.state.value}
    if listing.codes:
        details["codes"] = list(listing.codes)
    if listing.meanings:
        details["meanings"] = list(listing.meanings)
    if listing.reason:
        details["reason"] = listing.reason
    if listing.why:
        details["why"] = listing.why.value
    if listing.scope is not Scope.IP:
        details["scope"] = listing.scope.value
    if listing.delist:
        details["delist"] = listing.delist
    return details


def judge_zone_tests(tests: Iterable[ZoneTest]) -> list[Finding]:
    """At most two findings for the zones whose self-test failed this run, grouped.

    One ``rbl.resolver-refused`` for the zones that refuse this resolver, one
    ``rbl.zone-broken`` for the others (dead, listing everything, unreachable...):
    their answers are unknown this run. A run with 17 broken zones gets one warning
    listing them, not 17 copies of the same fix. The subject is ``"blocklists"``:
    the same finding in every report of a run, easy to merge.
    """
    refused: list[ZoneTest] = []
    broken: list[ZoneTest] = []
    for test in tests:
        if test.health is ZoneHealth.REFUSED:
            refused.append(test)
        elif test.health is ZoneHealth.NOT_TESTED:
            continue  # not broken: the query budget ran out (domain.query-budget-exhausted)
        elif not test.health.trusted:
            broken.append(test)
    findings: list[Finding] = []
    if refused:
        meanings = sorted({m for t in refused for m in t.meanings})
        findings.append(
            codes.RBL_RESOLVER_REFUSED.finding(
                BLOCKLISTS_SUBJECT,
                f"{_zones_text(refused)} refuse this resolver ({'; '.join(meanings)}): "
                "their answers cannot be trusted.",
                details={"zones": _zone_names(refused), "tests": _test_details(refused)},
                fix=LOCAL_RESOLVER_FIX,
            )
        )
    if broken:
        healths = sorted({t.health for t in broken})
        reasons = "; ".join(f"{h.value}: {_HEALTH_TEXT[h]}" for h in healths)
        everything = all(t.health is ZoneHealth.LISTS_EVERYTHING for t in broken)
        findings.append(
            codes.RBL_ZONE_BROKEN.finding(
                BLOCKLISTS_SUBJECT,
                f"{_zones_text(broken)} failed the self-test ({reasons}); their answers "
                "count as unknown this run.",
                details={"zones": _zone_names(broken), "tests": _test_details(broken)},
                fix=f"Stop using {_zones_text(broken)} (disable in --lists) if this persists."
                if everything
                else LOCAL_RESOLVER_FIX,
            )
        )
    return findings


# The subject of run-wide blocklist findings (not one IP, name or zone).
BLOCKLISTS_SUBJECT = "blocklists"


def _zone_names(tests: Sequence[ZoneTest]) -> list[str]:
    return sorted({t.zone for t in tests})


def _zones_text(tests: Sequence[ZoneTest]) -> str:
    names = _zone_names(tests)
    if len(names) == 1:
        return names[0]
    return f"{len(names)} blocklist zones ({', '.join(names)})"


def _test_details(tests: Sequence[ZoneTest]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for test in sorted(tests, key=lambda t: (t.zone, t.kind.value)):
        item: dict[str, object] = {
            "zone": test.zone,
            "kind": test.kind.value,
            "health": test.health.value,
        }
        if test.codes:
            item["codes"] = list(test.codes)
        out.append(item)
    return out


def not_queried_finding(zones: Sequence[str]) -> Finding:
    """Offline: the selected zones outside the given zone files were not asked."""
    return codes.RBL_NOT_QUERIED.finding(
        BLOCKLISTS_SUBJECT,
        f"Offline: {len(zones)} blocklist zone(s) are not in the given zone files and were "
        "not asked; the reputation covers only the zones given.",
        details={"zones": list(zones)},
        fix="Give the zone files of the blocklists to check, or a --nameserver to ask "
        "the others live.",
    )


def rewriting_finding(probe: str) -> Finding:
    """The resolver answered a name that cannot exist (the subject): it rewrites NXDOMAIN."""
    return codes.RBL_RESOLVER_REWRITES.finding(
        probe,
        "The blocklist resolver answers names that do not exist (NXDOMAIN rewriting or a "
        "DNS blocker): blocklist answers through it are unreliable.",
        details={"probe": probe},
        fix=LOCAL_RESOLVER_FIX,
    )


# The big public resolvers (Google, Cloudflare, Quad9, OpenDNS, AdGuard): Spamhaus refuses
# them or answers NXDOMAIN (its "using a public DNS" help page), others rate-limit them.
PUBLIC_RESOLVERS = frozenset(
    {
        "8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844",
        "1.1.1.1", "1.0.0.1", "2606:4700:4700::1111", "2606:4700:4700::1001",
        "9.9.9.9", "149.112.112.112", "2620:fe::fe", "2620:fe::9",
        "208.67.222.222", "208.67.220.220", "94.140.14.14", "94.140.15.15",
    }
)  # fmt: skip


def public_resolver_finding(nameservers: Iterable[str]) -> Finding | None:
    """A warning when the blocklist resolver is one of the big public resolvers (the subject)."""
    public = sorted({_normal(h) for h in nameservers} & PUBLIC_RESOLVERS)
    if not public:
        return None
    return codes.RBL_PUBLIC_RESOLVER.finding(
        ", ".join(public),
        "Blocklists are asked through a public resolver: Spamhaus refuses it or answers "
        "NXDOMAIN, so a listed IP can look clean.",
        details={"nameservers": public},
        fix=LOCAL_RESOLVER_FIX,
    )


def _normal(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def dead_zone_findings(zones: Iterable[tuple[str, str]]) -> list[Finding]:
    """One info finding per dead zone the user asked for: (zone, why it is dead)."""
    return [
        codes.RBL_DEAD_ZONE.finding(
            zone, f"{zone} is dead and was not asked: {note}", details={"zone": zone}
        )
        for zone, note in zones
    ]


def kind_of(subject: str) -> ZoneKind:
    """The kind of zone a subject is asked of."""
    if not _is_ip(subject):
        return ZoneKind.DOMAIN
    return ZoneKind.IPV6 if ":" in subject else ZoneKind.IPV4
