"""What receivers report back: DMARC aggregate reports and SMTP TLS reports.

Read from untrusted blobs (bounded, no XML entities), stored in SQLite, and explained per
domain (``docs/reports.md``). Names are imported on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailcheck._lazy import lazy_exports

if TYPE_CHECKING:
    from mailcheck.reports.aggregate import parse_aggregate
    from mailcheck.reports.html import render_html
    from mailcheck.reports.ingest import ingest_report, looks_like_message, reports_in_message
    from mailcheck.reports.inputs import ingest_mailbox, read_paths
    from mailcheck.reports.store import IngestSummary, ReportStore
    from mailcheck.reports.store_rows import IngestOutcome, Rejected
    from mailcheck.reports.store_schema import StoreError
    from mailcheck.reports.summary import summarize
    from mailcheck.reports.summary_model import (
        DmarcSummary,
        Readiness,
        SourceCategory,
        SourceGroup,
        SourceSummary,
        TlsSummary,
    )
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
    from mailcheck.sync_more import ingest_mailbox_sync, summarize_sync

__all__ = [
    "AggregateRecord",
    "AggregateReport",
    "AuthResult",
    "DateRange",
    "DmarcSummary",
    "IngestOutcome",
    "IngestSummary",
    "PolicyOverride",
    "PublishedPolicy",
    "Readiness",
    "Rejected",
    "Report",
    "ReportError",
    "ReportKind",
    "ReportStore",
    "SourceCategory",
    "SourceGroup",
    "SourceSummary",
    "StoreError",
    "TlsFailure",
    "TlsPolicyResult",
    "TlsPolicyType",
    "TlsReport",
    "TlsSummary",
    "ingest_mailbox",
    "ingest_mailbox_sync",
    "ingest_report",
    "looks_like_message",
    "parse_aggregate",
    "parse_tls",
    "read_paths",
    "render_html",
    "reports_in_message",
    "summarize",
    "summarize_sync",
]

# name -> module (under mailcheck.reports); new public names are added here and to __all__.
_WHERE = {
    "DmarcSummary": "summary_model",
    "IngestOutcome": "store_rows",
    "IngestSummary": "store",
    "Readiness": "summary_model",
    "Rejected": "store_rows",
    "ReportStore": "store",
    "SourceCategory": "summary_model",
    "SourceGroup": "summary_model",
    "SourceSummary": "summary_model",
    "StoreError": "store_schema",
    "TlsSummary": "summary_model",
    "ingest_mailbox": "inputs",
    "read_paths": "inputs",
    "render_html": "html",
    "summarize": "summary",
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
    __name__,
    {name: f"{__name__}.{module}" for name, module in _WHERE.items()}
    | dict.fromkeys(("ingest_mailbox_sync", "summarize_sync"), "mailcheck.sync_more"),
)


def __dir__() -> list[str]:
    return sorted(__all__)
