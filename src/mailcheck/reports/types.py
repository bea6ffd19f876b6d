"""The floor of :mod:`mailcheck.reports`: what a DMARC aggregate report and a TLS report say.

Plain frozen data, no I/O, imported by the parsers, the store and the summary alike. Times are
Unix seconds (UTC), as the reports carry them. Every string comes from an untrusted reporter:
it is kept as text, bounded by the parsers, and never interpreted.
"""

from __future__ import annotations

import dataclasses
import enum

from mailcheck.errors import MailcheckError
from mailcheck.model import ToDict

__all__ = [
    "AggregateRecord",
    "AggregateReport",
    "AuthResult",
    "DateRange",
    "PolicyOverride",
    "PublishedPolicy",
    "Report",
    "ReportError",
    "ReportKind",
    "TlsFailure",
    "TlsPolicyResult",
    "TlsPolicyType",
    "TlsReport",
]


class ReportKind(enum.StrEnum):
    """Which kind of report a blob holds."""

    AGGREGATE = "aggregate"  # DMARC aggregate (RFC 7489 appendix C, RFC 9990)
    TLS = "tls"  # SMTP TLS reporting (RFC 8460)


class ReportError(MailcheckError, ValueError):
    """A blob that is not a report mailcheck can read, or one it refuses to read.

    ``reason`` is a stable word a store keeps with the quarantined blob: ``too-large``,
    ``bomb`` (decompression past its bound), ``archive`` (a zip with no or several reports,
    encrypted members), ``xml`` (malformed or forbidden XML: entities, DTDs), ``json``,
    ``schema`` (well-formed but not a report), ``too-many-records``, ``not-a-report``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class DateRange(ToDict):
    """The period a report covers, Unix seconds, ``begin`` <= ``end``."""

    begin: int
    end: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PublishedPolicy(ToDict):
    """The DMARC policy the reporter found for the domain (``policy_published``)."""

    domain: str
    p: str | None = None
    sp: str | None = None
    np: str | None = None  # RFC 9990
    adkim: str | None = None  # "r" | "s"
    aspf: str | None = None
    pct: int | None = None  # RFC 7489 only
    fo: str | None = None
    testing: str | None = None  # RFC 9990 "t" tag: "y" | "n"
    discovery_method: str | None = None  # RFC 9990: "psl" | "treewalk"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PolicyOverride(ToDict):
    """Why the receiver applied another disposition than the policy (``reason``)."""

    type: str  # forwarded | sampled_out | trusted_forwarder | mailing_list | local_policy | other
    comment: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuthResult(ToDict):
    """One raw authentication result of a record (``auth_results``), before alignment."""

    method: str  # "dkim" | "spf"
    domain: str
    result: str  # dkim: none|pass|fail|policy|neutral|temperror|permerror; spf: ...
    selector: str | None = None  # dkim
    scope: str | None = None  # spf: "mfrom" | "helo"
    human_result: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AggregateRecord(ToDict):
    """One row of an aggregate report: messages from one source with one outcome."""

    source_ip: str
    count: int
    disposition: str  # none | quarantine | reject, as the receiver applied it
    dkim: str | None  # policy-evaluated DKIM: "pass" | "fail" (aligned pass or not)
    spf: str | None  # policy-evaluated SPF
    header_from: str
    envelope_from: str | None = None
    envelope_to: str | None = None
    reasons: tuple[PolicyOverride, ...] = ()
    dkim_results: tuple[AuthResult, ...] = ()
    spf_results: tuple[AuthResult, ...] = ()

    @property
    def dmarc_pass(self) -> bool:
        """DMARC passed: DKIM or SPF passed *and* aligned, as the receiver evaluated it."""
        return self.dkim == "pass" or self.spf == "pass"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AggregateReport(ToDict):
    """A DMARC aggregate report: who reports, for which domain and period, and its rows."""

    org_name: str
    email: str | None
    report_id: str
    date_range: DateRange
    policy: PublishedPolicy
    records: tuple[AggregateRecord, ...]
    errors: tuple[str, ...] = ()
    version: str | None = None  # RFC 9990 reports carry <version>; RFC 7489 ones often not
    generator: str | None = None

    @property
    def kind(self) -> ReportKind:
        """Always :attr:`ReportKind.AGGREGATE`."""
        return ReportKind.AGGREGATE

    @property
    def domain(self) -> str:
        """The domain reported on (``policy_published/domain``), lower-case."""
        return self.policy.domain.lower().rstrip(".")

    @property
    def reporter(self) -> str:
        """Who reports: the organisation name, else its e-mail address."""
        return self.org_name or (self.email or "")

    @property
    def message_count(self) -> int:
        """Messages covered by every row."""
        return sum(record.count for record in self.records)


class TlsPolicyType(enum.StrEnum):
    """The policy the sender applied (RFC 8460 §4.3)."""

    STS = "sts"
    TLSA = "tlsa"
    NO_POLICY = "no-policy-found"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsFailure(ToDict):
    """One failure-details entry (RFC 8460 §4.3): what failed, between which hosts."""

    result_type: str  # starttls-not-supported, certificate-expired, validation-failure, ...
    failed_session_count: int
    sending_mta_ip: str | None = None
    receiving_mx_hostname: str | None = None
    receiving_mx_helo: str | None = None
    receiving_ip: str | None = None
    additional_information: str | None = None
    failure_reason_code: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsPolicyResult(ToDict):
    """Sessions for one policy of one receiving domain, with their failures."""

    policy_type: str  # a TlsPolicyType value, or what the reporter wrote
    policy_domain: str
    successful: int
    failed: int
    policy_strings: tuple[str, ...] = ()
    mx_hosts: tuple[str, ...] = ()
    failures: tuple[TlsFailure, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsReport(ToDict):
    """An SMTP TLS report (RFC 8460): who reports, for which period, and per-policy counts."""

    org_name: str
    report_id: str
    date_range: DateRange
    contact_info: str | None
    policies: tuple[TlsPolicyResult, ...]

    @property
    def kind(self) -> ReportKind:
        """Always :attr:`ReportKind.TLS`."""
        return ReportKind.TLS

    @property
    def reporter(self) -> str:
        """Who reports: the organisation name, else the contact."""
        return self.org_name or (self.contact_info or "")

    @property
    def domains(self) -> tuple[str, ...]:
        """The receiving domains reported on, lower-case, in order, once each."""
        seen: dict[str, None] = {}
        for policy in self.policies:
            seen.setdefault(policy.policy_domain.lower().rstrip("."), None)
        return tuple(seen)


Report = AggregateReport | TlsReport
