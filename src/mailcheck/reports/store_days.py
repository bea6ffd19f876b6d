"""Daily totals per source IP, kept beside the records so that a summary never scans them.

A year of reports of a small domain is about a million records, but a few hundred thousand
(day, source) pairs: each IP is reported by every receiver it sent to. The summary's
per-source figures are sums over ``source_days``, which each ingest updates in its own
transaction (an upsert per source of each report); :func:`rebuild` derives it from the
records (a store written before the table existed).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["FORWARDING_REASONS", "SCHEMA", "add_days", "adopt", "purge", "rebuild", "report_day"]

#: Override reasons that say the receiver saw a forwarder or a list (RFC 7489 appendix C,
#: ``PolicyOverrideType``), and ``arc``: a comment saying the ARC chain passed (RFC 8617).
FORWARDING_REASONS = frozenset({"forwarded", "mailing_list", "trusted_forwarder", "arc"})

SCHEMA = """
CREATE TABLE IF NOT EXISTS source_days (
    domain TEXT NOT NULL, day INTEGER NOT NULL, ip TEXT NOT NULL,
    messages INTEGER NOT NULL, spf_aligned INTEGER NOT NULL, dkim_aligned INTEGER NOT NULL,
    passed INTEGER NOT NULL, dkim_signed INTEGER NOT NULL, forwarded INTEGER NOT NULL,
    quarantined INTEGER NOT NULL, rejected INTEGER NOT NULL, dkim_domain TEXT,
    spf_domain TEXT, PRIMARY KEY (domain, day, ip)) WITHOUT ROWID;
"""

_UPSERT = """
INSERT INTO source_days VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
ON CONFLICT (domain, day, ip) DO UPDATE SET
  messages = messages + excluded.messages,
  spf_aligned = spf_aligned + excluded.spf_aligned,
  dkim_aligned = dkim_aligned + excluded.dkim_aligned,
  passed = passed + excluded.passed,
  dkim_signed = dkim_signed + excluded.dkim_signed,
  forwarded = forwarded + excluded.forwarded,
  quarantined = quarantined + excluded.quarantined,
  rejected = rejected + excluded.rejected,
  dkim_domain = COALESCE(dkim_domain, excluded.dkim_domain),
  spf_domain = COALESCE(spf_domain, excluded.spf_domain)
"""

_REBUILD = """
INSERT INTO source_days
SELECT p.domain, (p.begin + p.end) / 2 / 86400, r.ip, SUM(r.count),
  SUM(CASE WHEN r.spf = 'pass' THEN r.count ELSE 0 END),
  SUM(CASE WHEN r.dkim = 'pass' THEN r.count ELSE 0 END),
  SUM(CASE WHEN r.spf = 'pass' OR r.dkim = 'pass' THEN r.count ELSE 0 END),
  SUM(r.count * r.dkim_raw_pass),
  SUM(CASE WHEN r.reasons = '' THEN 0 WHEN instr(r.reasons, 'forwarded')
      OR instr(r.reasons, 'mailing_list') OR instr(r.reasons, 'trusted_forwarder')
      OR instr(r.reasons, 'arc') THEN r.count ELSE 0 END),
  SUM(CASE WHEN r.disposition = 'quarantine' THEN r.count ELSE 0 END),
  SUM(CASE WHEN r.disposition = 'reject' THEN r.count ELSE 0 END),
  MAX(CASE WHEN r.dkim IS NOT 'pass' THEN r.dkim_domain END),
  MAX(CASE WHEN r.spf IS NOT 'pass' THEN r.spf_domain END)
FROM records r JOIN reports p ON p.id = r.report
WHERE p.kind = 'aggregate' AND p.foreign_domain = 0 {where}
GROUP BY 1, 2, 3
"""


def report_day(begin: int, end: int) -> int:
    """The UTC day (days since 1970-01-01) a report counts on: the middle of its period."""
    return (begin + end) // 2 // 86400


@dataclasses.dataclass(slots=True)
class _Totals:
    messages: int = 0
    spf: int = 0
    dkim: int = 0
    passed: int = 0
    signed: int = 0
    forwarded: int = 0
    quarantined: int = 0
    rejected: int = 0
    dkim_domain: str | None = None
    spf_domain: str | None = None


def add_days(db: sqlite3.Connection, domain: str, day: int, rows: Iterable[Sequence[Any]]) -> None:
    """Add a report's record rows (as written to ``records``) to the day's source totals.

    A row is (report, ip, count, disposition, dkim, spf, header_from, envelope_from,
    envelope_to, reasons, dkim_auth, spf_auth, dkim_raw_pass, dkim_domain, spf_domain).
    """
    totals: dict[str, _Totals] = {}
    for row in rows:
        n, disposition, dkim, spf, reasons = row[2], row[3], row[4], row[5], row[9]
        entry = totals.setdefault(row[1], _Totals())
        entry.messages += n
        if spf == "pass":
            entry.spf += n
        elif entry.spf_domain is None:
            entry.spf_domain = row[14]
        if dkim == "pass":
            entry.dkim += n
        elif entry.dkim_domain is None:
            entry.dkim_domain = row[13]
        if spf == "pass" or dkim == "pass":
            entry.passed += n
        entry.signed += n * row[12]
        if reasons and not FORWARDING_REASONS.isdisjoint(reasons.split()):
            entry.forwarded += n
        if disposition == "quarantine":
            entry.quarantined += n
        elif disposition == "reject":
            entry.rejected += n
    db.executemany(
        _UPSERT,
        (
            (
                domain,
                day,
                ip,
                t.messages,
                t.spf,
                t.dkim,
                t.passed,
                t.signed,
                t.forwarded,
                t.quarantined,
                t.rejected,
                t.dkim_domain,
                t.spf_domain,
            )
            for ip, t in totals.items()
        ),
    )


def rebuild(db: sqlite3.Connection) -> None:
    """Derive the daily totals from the records when the table is empty and records exist."""
    if db.execute("SELECT 1 FROM source_days LIMIT 1").fetchone() is not None:
        return
    if db.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None:
        return
    db.execute(_REBUILD.format(where=""))


def purge(db: sqlite3.Connection, cutoff: float) -> int:
    """Delete the reports whose period ended before ``cutoff``, and keep the daily totals
    exact: the days they counted on are summed again from the records that remain.

    Returns the number of reports deleted.
    """
    _mark_days(
        db,
        "SELECT DISTINCT domain, (begin + end) / 2 / 86400"
        " FROM reports WHERE end < ? AND kind = 'aggregate' AND foreign_domain = 0",
        (cutoff,),
    )
    old = "SELECT id FROM reports WHERE end < ?"
    # Records first, by report id through their index: faster than the cascade.
    db.execute(f"DELETE FROM records WHERE report IN ({old})", (cutoff,))  # noqa: S608
    db.execute(f"DELETE FROM tls_policies WHERE report IN ({old})", (cutoff,))  # noqa: S608
    deleted = int(db.execute("DELETE FROM reports WHERE end < ?", (cutoff,)).rowcount)
    _resum_days(db)
    return deleted


def _mark_days(db: sqlite3.Connection, days: str, params: tuple[object, ...]) -> None:
    """Note the (domain, day) pairs whose totals a change touches: ``days`` selects them."""
    db.execute("CREATE TEMP TABLE IF NOT EXISTS touched_days (domain TEXT, day INTEGER)")
    db.execute("DELETE FROM temp.touched_days")
    db.execute("INSERT INTO temp.touched_days " + days, params)


def _resum_days(db: sqlite3.Connection) -> None:
    """Sum the totals of the noted days again from the records that count now."""
    days = "SELECT domain, day FROM temp.touched_days"
    db.execute(f"DELETE FROM source_days WHERE (domain, day) IN ({days})")  # noqa: S608
    touched = f"(p.domain, (p.begin + p.end) / 2 / 86400) IN ({days})"
    db.execute(_REBUILD.format(where="AND " + touched))


# Reports about ``domain`` or a name below it (substr: LIKE would read "_" as a wildcard).
_ADOPTED_DAYS = """
SELECT DISTINCT domain, (begin + end) / 2 / 86400 FROM reports
WHERE foreign_domain = 1 AND kind = 'aggregate'
  AND (domain = ?1 OR substr(domain, -length(?1) - 1) = '.' || ?1)
"""
_ADOPT = """
UPDATE reports SET foreign_domain = 0
WHERE foreign_domain = 1 AND (domain = ?1 OR substr(domain, -length(?1) - 1) = '.' || ?1)
"""


def adopt(db: sqlite3.Connection, domain: str) -> int:
    """The reports kept apart (foreign) about ``domain`` or below it join the managed ones,
    and the daily totals of the days they count on are summed again from the records.

    Returns the number of reports adopted.
    """
    _mark_days(db, _ADOPTED_DAYS, (domain,))
    adopted = int(db.execute(_ADOPT, (domain,)).rowcount)
    if adopted:
        _resum_days(db)
    return adopted
