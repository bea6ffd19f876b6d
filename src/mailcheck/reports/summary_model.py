"""What a summary of a domain's reports says: the plain frozen types of :func:`summarize`."""

from __future__ import annotations

import dataclasses
import enum

from mailcheck.model import CheckStatus, Finding, ToDict
from mailcheck.reports.store_queries import DayCounts, ReporterCounts

__all__ = [
    "DmarcSummary",
    "Readiness",
    "SourceCategory",
    "SourceGroup",
    "SourceSummary",
    "TlsSummary",
    "rate",
]


def rate(part: int, whole: int) -> float:
    """``part / whole`` as a fraction rounded to 4 places; 0.0 for nothing."""
    return round(part / whole, 4) if whole else 0.0


class SourceCategory(enum.StrEnum):
    """Who a source of mail in the domain's name is."""

    INFRASTRUCTURE = "infrastructure"
    """The domain's own servers: its MX hosts, the egress IPs given, its own SPF terms."""
    SERVICE = "service"
    """A service the domain authorises with an SPF include (a newsletter tool, a CRM)."""
    FORWARDER = "forwarder"
    """A forwarder or mailing list: SPF fails by design, DKIM may survive."""
    UNAUTHORIZED = "unauthorized"
    """Not authorised: spoofing, or a service the domain forgot to authorise."""
    UNKNOWN = "unknown"
    """Could not tell: the domain's SPF could not be resolved (DNS failure)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourceSummary(ToDict):
    """One source IP: its name, who it is, and how its mail authenticated.

    Attributes:
        name: the PTR name; ``None`` when it has none or DNS failed (``name_known``
            tells which: ``False`` means the lookup failed, never "no name").
        via: the SPF term authorising it (``include:spf.brevo.com``), or ``None``.
        service: the display name of the service or forwarder, if known.
        issue: a stable word for what is wrong (``dkim-unaligned``, ``spf-unaligned``,
            ``not-authorized``, ``forgotten-service``, ``forwarded-failing``), or ``None``.
    """

    ip: str
    name: str | None
    name_known: bool
    category: SourceCategory
    via: str | None = None
    service: str | None = None
    messages: int = 0
    spf_aligned: int = 0
    dkim_aligned: int = 0
    passed: int = 0
    forwarded: int = 0
    quarantined: int = 0
    rejected: int = 0
    dkim_domain: str | None = None
    spf_domain: str | None = None
    issue: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourceGroup(ToDict):
    """Sources grouped under one name (a service, your servers, a forwarder, a network).

    Rates are fractions of ``messages`` (aligned SPF, aligned DKIM, DMARC pass).
    ``advice`` is the fix in one sentence ("DKIM for Brevo is not set up for your domain:
    ..."), or ``None`` when the group's mail authenticates as it should.
    """

    label: str
    category: SourceCategory
    via: str | None
    ips: tuple[str, ...]
    messages: int
    spf_aligned: int
    dkim_aligned: int
    passed: int
    spf_rate: float
    dkim_rate: float
    pass_rate: float
    issue: str | None = None
    advice: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Readiness(ToDict):
    """Could the domain move to a stricter DMARC policy today?

    Attributes:
        policy: the policy the reporters found published (``none``, ``quarantine``,
            ``reject``), or ``None`` when no report says.
        legitimate: messages from your servers, your services and forwarders.
        at_risk: of those, messages from your servers and services failing DMARC: they
            would be quarantined under ``p=quarantine`` and rejected under ``p=reject``.
        forwarded_at_risk: forwarded messages failing DMARC (receivers that trust ARC or
            know the forwarder may still deliver them).
        at_risk_share: ``(at_risk + forwarded_at_risk) / legitimate``: the share of
            legitimate mail a strict policy would quarantine or reject today.
        unauthorized: messages from unauthorised sources (what a strict policy stops).
        ready_for: the strictest policy the figures allow now (``none``, ``quarantine``,
            ``reject``).
        steps: what to do next, in order.
    """

    policy: str | None
    legitimate: int
    at_risk: int
    forwarded_at_risk: int
    unauthorized: int
    at_risk_share: float
    ready_for: str
    steps: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsSummary(ToDict):
    """TLS sessions towards one receiving domain under one policy type (RFC 8460)."""

    policy_domain: str
    policy_type: str
    successful: int
    failed: int
    failure_rate: float
    failure_types: tuple[tuple[str, int], ...] = ()
    mx_hosts: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DmarcSummary(ToDict):
    """What receivers reported about a domain over a period, explained.

    Times are Unix seconds; ``days`` counts days since 1970-01-01 (UTC).
    ``status`` is ``unknown`` when DNS could not answer for the domain's SPF (sources
    are then not classified), else the worst of the findings.
    """

    domain: str
    since: float
    until: float
    status: CheckStatus
    reports: int
    messages: int
    passed: int
    pass_rate: float
    days: tuple[DayCounts, ...]
    reporters: tuple[ReporterCounts, ...]
    groups: tuple[SourceGroup, ...]
    sources: tuple[SourceSummary, ...]
    categories: tuple[tuple[str, int], ...]
    readiness: Readiness
    tls: tuple[TlsSummary, ...] = ()
    findings: tuple[Finding, ...] = ()
    errors: tuple[str, ...] = ()
