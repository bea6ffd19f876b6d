"""Reports as rows of the store, and the rows written in one batch.

Pure functions of a connection inside the caller's transaction: no commit, no I/O of
their own. Kept apart from :mod:`.store` so the class stays about lifecycle and threads.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import sqlite3
from collections.abc import Iterable

from mailcheck.model import ToDict
from mailcheck.reports.store_days import add_days, report_day
from mailcheck.reports.types import (
    AggregateRecord,
    AggregateReport,
    AuthResult,
    Report,
    ReportError,
    TlsReport,
)

__all__ = [
    "QUARANTINE_BLOB_MAX",
    "UNSTORABLE",
    "IngestOutcome",
    "Rejected",
    "insert_one",
    "insert_rejected",
    "insert_report",
    "is_managed",
]

#: Bytes of a quarantined blob kept for an operator to look at; the size and hash are
#: always kept. A megabyte shows any report's header and first records, and a flood of
#: junk to the ``rua`` address cannot fill the disk faster than one such row per blob.
QUARANTINE_BLOB_MAX = 1 << 20


class IngestOutcome(enum.StrEnum):
    """What the store did with one incoming report or blob."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    """Already in the store (same kind, reporter and report id): not stored twice."""
    FOREIGN = "foreign"
    """Stored apart: about a domain the store does not manage."""
    QUARANTINED = "quarantined"
    """Not a readable report: kept in quarantine with the reason."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Rejected(ToDict):
    """A blob that did not give a report, and why (for :meth:`ReportStore.ingest`).

    Attributes:
        error: the parser's error; its ``reason`` is kept with the blob.
        blob: the bytes as received (the store keeps at most :data:`QUARANTINE_BLOB_MAX`).
    """

    error: ReportError
    blob: bytes = dataclasses.field(repr=False)


def is_managed(domain: str, managed: frozenset[str]) -> bool:
    """True when ``domain`` is one of ``managed`` or below one; every domain when empty."""
    if not managed:
        return True
    name = domain.lower().rstrip(".")
    labels = name.split(".")
    return any(".".join(labels[i:]) in managed for i in range(len(labels)))


_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def _auth(results: Iterable[AuthResult]) -> str:
    # Compact rows [domain, selector or scope, result, human_result]: the generic to_dict()
    # cost more than everything else of an ingest.
    return _ENCODE([[r.domain, r.selector or r.scope, r.result, r.human_result] for r in results])


def _reasons(record: AggregateRecord) -> str:
    """The override types, plus ``arc`` when a comment says the ARC chain passed: Microsoft
    and Google report mail they delivered on ARC as ``local_policy`` with ``arc=pass``."""
    types = [r.type.lower() for r in record.reasons]
    if any(r.comment and "arc=pass" in r.comment.lower() for r in record.reasons):
        types.append("arc")
    return " ".join(types)


def _record_row(report_id: int, record: AggregateRecord) -> tuple[object, ...]:
    dkim_pass = any(r.result.lower() == "pass" for r in record.dkim_results)
    dkim_domain = next((r.domain.lower() for r in record.dkim_results if r.domain), None)
    spf_domain = next((r.domain.lower() for r in record.spf_results if r.domain), None)
    return (
        report_id,
        record.source_ip,
        record.count,
        record.disposition.lower(),
        (record.dkim or "").lower() or None,
        (record.spf or "").lower() or None,
        record.header_from.lower(),
        record.envelope_from,
        record.envelope_to,
        _reasons(record),
        _auth(record.dkim_results),
        _auth(record.spf_results),
        int(dkim_pass),
        dkim_domain,
        spf_domain,
    )


_INSERT_REPORT = (
    "INSERT INTO reports (kind, reporter, report_id, domain, foreign_domain, begin, end,"
    " email, policy, errors, messages, passed, source, ingested)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id"
)
_INSERT_RECORD = "INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
_INSERT_TLS = "INSERT INTO tls_policies VALUES (?,?,?,?,?,?,?)"


def insert_report(
    db: sqlite3.Connection, report: Report, *, source: str, managed: frozenset[str], now: float
) -> IngestOutcome:
    """Insert ``report`` and its rows unless it is already there (same reporter and id)."""
    if isinstance(report, AggregateReport):
        domain = report.domain
        messages = report.message_count
        passed = sum(r.count for r in report.records if r.dmarc_pass)
        policy: str | None = json.dumps(report.policy.to_dict(), separators=(",", ":"))
        email: str | None = report.email
        errors = json.dumps(list(report.errors))
        foreign = not is_managed(domain, managed)
    else:
        domains = report.domains
        domain = domains[0] if domains else ""
        messages = sum(p.successful + p.failed for p in report.policies)
        passed = sum(p.successful for p in report.policies)
        policy, email, errors = None, report.contact_info, "[]"
        foreign = not any(is_managed(d, managed) for d in domains)
    row = db.execute(
        _INSERT_REPORT,
        (
            report.kind.value,
            report.reporter,
            report.report_id,
            domain,
            int(foreign),
            report.date_range.begin,
            report.date_range.end,
            email,
            policy,
            errors,
            messages,
            passed,
            source,
            now,
        ),
    ).fetchone()
    if row is None:
        return IngestOutcome.DUPLICATE
    report_id = int(row[0])
    if isinstance(report, AggregateReport):
        rows = [_record_row(report_id, r) for r in report.records]
        db.executemany(_INSERT_RECORD, rows)
        if not foreign:
            day = report_day(report.date_range.begin, report.date_range.end)
            add_days(db, domain, day, rows)
    else:
        _insert_tls(db, report_id, report)
    return IngestOutcome.FOREIGN if foreign else IngestOutcome.STORED


def _insert_tls(db: sqlite3.Connection, report_id: int, report: TlsReport) -> None:
    db.executemany(
        _INSERT_TLS,
        (
            (
                report_id,
                p.policy_domain.lower().rstrip("."),
                p.policy_type,
                p.successful,
                p.failed,
                json.dumps(list(p.mx_hosts)),
                json.dumps([f.to_dict() for f in p.failures], separators=(",", ":")),
            )
            for p in report.policies
        ),
    )


def insert_rejected(
    db: sqlite3.Connection, rejected: Rejected, *, source: str, now: float
) -> IngestOutcome:
    """Keep a blob in quarantine (once per content: a second copy updates its last sighting)."""
    digest = hashlib.sha256(rejected.blob).hexdigest()
    kept = rejected.blob[:QUARANTINE_BLOB_MAX]
    db.execute(
        "INSERT INTO quarantine (sha256, size, source, reason, message, blob, truncated,"
        " first_seen, last_seen, seen) VALUES (?,?,?,?,?,?,?,?,?,1)"
        " ON CONFLICT (sha256) DO UPDATE SET last_seen=excluded.last_seen, seen=seen+1",
        (
            digest,
            len(rejected.blob),
            source,
            rejected.error.reason,
            str(rejected.error)[:500],
            kept,
            int(len(kept) < len(rejected.blob)),
            now,
            now,
        ),
    )
    return IngestOutcome.QUARANTINED


#: The quarantine reason of a report object SQLite cannot hold (a count past 64 bits, text
#: that is not valid Unicode): built by a caller, not by the bounded parsers.
UNSTORABLE = "unstorable"


def insert_one(
    db: sqlite3.Connection, report: Report, *, source: str, managed: frozenset[str], now: float
) -> IngestOutcome:
    """:func:`insert_report` inside a savepoint: a report that cannot be stored is
    quarantined (its identity as the blob) and the rest of the batch goes on."""
    db.execute("SAVEPOINT one_report")
    try:
        outcome = insert_report(db, report, source=source, managed=managed, now=now)
    except (OverflowError, ValueError, sqlite3.InterfaceError, sqlite3.DataError) as exc:
        db.execute("ROLLBACK TO one_report")
        db.execute("RELEASE one_report")
        identity = f"{report.kind.value} report {report.reporter!r} {report.report_id!r}"
        error = ReportError(UNSTORABLE, f"cannot be stored: {type(exc).__name__}: {exc}")
        return insert_rejected(
            db, Rejected(error=error, blob=identity.encode("utf-8", "replace")), source=source,
            now=now,
        )  # fmt: skip
    db.execute("RELEASE one_report")
    return outcome
