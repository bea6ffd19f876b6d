"""Sources of a domain's mail classified, grouped under a name, and the fix for each group.

Pure: counts from the store, grants from :mod:`.sources`, PTR names and the service
catalogue in; :class:`SourceSummary` and :class:`SourceGroup` out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from mailcheck.reports.services import Catalogue
from mailcheck.reports.sources import Grant
from mailcheck.reports.store_queries import SourceCounts
from mailcheck.reports.summary_model import SourceCategory, SourceGroup, SourceSummary, rate

__all__ = ["ALIGNED", "classify_source", "group_sources"]

#: Share of a source's messages that must align for it to count as set up. Receivers see a
#: few messages altered in transit (a footer added by a relay breaks DKIM), so 100 % is too
#: strict a bar; under 98 % something is not configured.
ALIGNED = 0.98

_LEGIT = (SourceCategory.INFRASTRUCTURE, SourceCategory.SERVICE, SourceCategory.FORWARDER)


def _issue_when_authorised(counts: SourceCounts) -> str | None:
    if rate(counts.passed, counts.messages) < ALIGNED:
        return "dmarc-failing"
    if rate(counts.dkim_aligned, counts.messages) < ALIGNED:
        return "dkim-unaligned"
    return None


def _base(counts: SourceCounts, name: str | None, known: bool) -> SourceSummary:
    return SourceSummary(
        ip=counts.ip, name=name, name_known=known, category=SourceCategory.UNKNOWN,
        messages=counts.messages, spf_aligned=counts.spf_aligned,
        dkim_aligned=counts.dkim_aligned, passed=counts.passed, forwarded=counts.forwarded,
        quarantined=counts.quarantined, rejected=counts.rejected,
        dkim_domain=counts.dkim_domain, spf_domain=counts.spf_domain,
    )  # fmt: skip


def classify_source(
    counts: SourceCounts,
    *,
    grant: Grant | None,
    name: str | None,
    name_known: bool,
    catalogue: Catalogue,
    complete: bool = True,
) -> SourceSummary:
    """Who ``counts.ip`` is and what is wrong with its mail, if anything.

    Authorised by the domain (MX, egress, SPF): infrastructure or a service. Otherwise a
    forwarder when receivers said so (override reasons), when DKIM survived (aligned or
    signed) while SPF failed, or when its PTR name is a known list host; a source passing
    DMARC anyway is a service the domain's SPF no longer lists; the rest is unauthorised,
    named after a known service when its PTR name is one (a service the domain forgot).
    With an incomplete SPF tree (DNS failure) an unmatched source is ``unknown``.
    """
    summary = _base(counts, name, name_known)
    if grant is not None:
        category = SourceCategory.INFRASTRUCTURE if grant.infrastructure else SourceCategory.SERVICE
        service = grant.service or (None if grant.infrastructure else grant.via.split(":", 1)[-1])
        return dataclasses.replace(
            summary,
            category=category,
            via=grant.via,
            service=service,
            issue=_issue_when_authorised(counts),
        )
    forwarder = catalogue.forwarder(name) if name else None
    failing = rate(counts.passed, counts.messages) < ALIGNED
    # Forwarding breaks SPF (the relay is not in the domain's SPF) and may keep DKIM.
    spf_broken = counts.spf_aligned * 2 < counts.messages
    dkim_survived = counts.dkim_aligned or counts.dkim_signed * 2 > counts.messages
    if forwarder is not None or (spf_broken and (counts.forwarded or dkim_survived)):
        return dataclasses.replace(
            summary,
            category=SourceCategory.FORWARDER,
            service=forwarder.name if forwarder else None,
            issue="forwarded-failing" if failing else None,
        )
    if not complete:
        return summary
    if not failing:
        return dataclasses.replace(summary, category=SourceCategory.SERVICE, issue="not-in-spf")
    known = catalogue.by_rdns(name) if name else None
    if known is not None:
        return dataclasses.replace(
            summary,
            category=SourceCategory.UNAUTHORIZED,
            service=known.name,
            issue="forgotten-service",
        )
    return dataclasses.replace(
        summary, category=SourceCategory.UNAUTHORIZED, issue="not-authorized"
    )


def _network_name(name: str | None, known: bool) -> str:
    if name is None:
        # Not known: DNS failed, or the name was not looked up (no resolver, or past the
        # busiest sources): either way, nothing is claimed about it.
        return "no reverse name" if known else "name unknown"
    # The network the host is in: its name without the host label (o17.mailer.example ->
    # mailer.example), so a reporter's many IPs of one sender group together.
    labels = name.split(".")
    return ".".join(labels[1:]) if len(labels) > 2 else name


def _label(source: SourceSummary, domain: str) -> tuple[str, str | None]:
    """(the group's label, the via term shown) for a source."""
    if source.category is SourceCategory.INFRASTRUCTURE:
        return f"Your servers ({domain})", source.via
    if source.service:
        return source.service, source.via
    return _network_name(source.name, source.name_known), source.via


def group_sources(
    sources: Iterable[SourceSummary], *, domain: str, max_ips: int = 10
) -> tuple[SourceGroup, ...]:
    """Sources under their name, most messages first, each group with its fix."""
    groups: dict[tuple[SourceCategory, str, str | None], list[SourceSummary]] = {}
    for source in sources:
        label, via = _label(source, domain)
        groups.setdefault((source.category, label, via), []).append(source)
    built = [_group(category, label, via, members, domain, max_ips)
             for (category, label, via), members in groups.items()]  # fmt: skip
    built.sort(key=lambda g: (-g.messages, g.label))
    return tuple(built)


def _group(
    category: SourceCategory,
    label: str,
    via: str | None,
    members: list[SourceSummary],
    domain: str,
    max_ips: int,
) -> SourceGroup:
    messages = sum(m.messages for m in members)
    spf = sum(m.spf_aligned for m in members)
    dkim = sum(m.dkim_aligned for m in members)
    passed = sum(m.passed for m in members)
    issues = [m.issue for m in sorted(members, key=lambda m: -m.messages) if m.issue]
    issue = _group_issue(category, messages, dkim, passed, issues)
    signer = next((m.dkim_domain for m in members if m.dkim_domain), None)
    return SourceGroup(
        label=label, category=category, via=via,
        ips=tuple(m.ip for m in members[:max_ips]), messages=messages,
        spf_aligned=spf, dkim_aligned=dkim, passed=passed, spf_rate=rate(spf, messages),
        dkim_rate=rate(dkim, messages), pass_rate=rate(passed, messages), issue=issue,
        advice=advice(
            issue,
            label=label,
            domain=domain,
            signer=signer,
            infrastructure=category is SourceCategory.INFRASTRUCTURE,
        ),
    )  # fmt: skip


def _group_issue(
    category: SourceCategory, messages: int, dkim: int, passed: int, issues: list[str]
) -> str | None:
    if category in (SourceCategory.INFRASTRUCTURE, SourceCategory.SERVICE) and not (
        issues and issues[0] == "not-in-spf"
    ):
        if rate(passed, messages) < ALIGNED:
            return "dmarc-failing"
        return "dkim-unaligned" if rate(dkim, messages) < ALIGNED else None
    return issues[0] if issues else None


def advice(
    issue: str | None,
    *,
    label: str,
    domain: str,
    signer: str | None = None,
    infrastructure: bool = False,
) -> str | None:
    """The fix for a group's issue, in one or two sentences (``None``: nothing to fix)."""
    signed = f" (it signs as d={signer})" if signer else ""
    if infrastructure and issue in ("dkim-unaligned", "dmarc-failing"):
        fails = "fails DMARC" if issue == "dmarc-failing" else "passes on SPF alone"
        return (
            f"Mail from your own servers {fails}{signed}: sign it with DKIM for {domain} "
            "(mailcheck dkim keygen, publish the record, turn signing on) so that it passes "
            "even when forwarded."
        )
    texts: Mapping[str | None, str | None] = {
        None: None,
        "dkim-unaligned": (
            f"DKIM for {label} is not set up for your domain{signed}: its mail passes on SPF "
            f"alone and fails DMARC once forwarded. Publish the DKIM key {label} gives you "
            f"under {domain} and turn signing on."
        ),
        "dmarc-failing": (
            f"{label} fails DMARC for {domain}: neither DKIM nor SPF aligns{signed}. Set up "
            f"DKIM with d={domain} (or a return-path under {domain}) before a stricter policy."
        ),
        "forwarded-failing": (
            f"Mail relayed by {label} fails DMARC: a forwarder or list that alters messages "
            "breaks DKIM. Ask it to keep signatures intact, to rewrite From, or to add ARC; "
            "receivers that trust ARC may still deliver it."
        ),
        "forgotten-service": (
            f"{label} sends in your name but is neither in your SPF nor signing for "
            f"{domain}: if you use it, add its SPF include and set up its DKIM; if not, "
            "this is spoofing."
        ),
        "not-authorized": (
            "Not authorised by your SPF nor signed for your domain: spoofing, or a service "
            "you forgot. p=quarantine or p=reject stops it."
        ),
        "not-in-spf": (
            f"Passes DMARC but is not in the current SPF of {domain}: a service signing "
            "for you, or one removed from SPF since."
        ),
    }
    return texts.get(issue)


def legitimate(category: SourceCategory) -> bool:
    """Mail from this category is the domain's own (servers, services, forwarders)."""
    return category in _LEGIT
