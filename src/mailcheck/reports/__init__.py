"""What receivers report back: DMARC aggregate reports and SMTP TLS reports.

Read from untrusted blobs (bounded, no XML entities), stored in SQLite, and explained per
domain (``docs/reports.md``). Names are imported on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailcheck._lazy import lazy_exports

if TYPE_CHECKING:
    from mailcheck.reports.aggregate import parse_aggregate
    from mailcheck.reports.ingest import ingest_report, looks_like_message, reports_in_message
    from mailcheck.reports.tlsrpt import parse_tls
    from mailcheck.reports.types import (
        AggregateRecord,
        AggregateReport,
        AuthResult,
        DateRange,
        PolicyOverride,
        PublishedPolicy,
        Report,
        ReportError,
        ReportKind,
        TlsFailure,
        TlsPolicyResult,
        TlsPolicyType,
        TlsReport,
    )

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
    "ingest_report",
    "looks_like_message",
    "parse_aggregate",
    "parse_tls",
    "reports_in_message",
]

# name -> module (under mailcheck.reports); new public names are added here and to __all__.
_WHERE = {
    "AggregateRecord": "types",
    "AggregateReport": "types",
    "AuthResult": "types",
    "DateRange": "types",
    "PolicyOverride": "types",
    "PublishedPolicy": "types",
    "Report": "types",
    "ReportError": "types",
    "ReportKind": "types",
    "TlsFailure": "types",
    "TlsPolicyResult": "types",
    "TlsPolicyType": "types",
    "TlsReport": "types",
    "ingest_report": "ingest",
    "looks_like_message": "ingest",
    "parse_aggregate": "aggregate",
    "parse_tls": "tlsrpt",
    "reports_in_message": "ingest",
}

__getattr__, _ = lazy_exports(
    __name__, {name: f"{__name__}.{module}" for name, module in _WHERE.items()}
)


def __dir__() -> list[str]:
    return sorted(__all__)
