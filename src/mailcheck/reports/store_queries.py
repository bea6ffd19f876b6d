"""Read-only queries of the report store: what the summary and an operator look at.

Mixed into :class:`~mailcheck.reports.store.ReportStore`. Every query of a domain keeps
to its managed reports (``foreign_domain = 0``) in a period of whole UTC days
(:func:`day_range`): a report counts on the day in the middle of its period. Daily and
per-reporter figures come from the per-report totals, per-source figures from the daily
totals per source (:mod:`.store_days`): no summary query reads the records.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from mailcheck.model import ToDict

__all__ = [
    "DayCounts",
    "QuarantineEntry",
    "ReporterCounts",
    "SourceCounts",
    "StoreQueries",
    "TlsRow",
    "day_range",
]

# A report counts on the UTC day in the middle of its period; a period is whole days. The
# bounds on begin and end let the (domain, kind, end) index narrow the scan first.
_PERIOD = (
    "domain=? AND kind=? AND foreign_domain=0 AND end>=? AND begin<?"
    " AND (begin + end) / 2 / 86400 BETWEEN ? AND ?"
)


def day_range(since: float, until: float) -> tuple[int, int]:
    """The whole UTC days from ``since`` (a started day is left out, unless the period is
    shorter than a day) to ``until`` (its day included)."""
    first, last = int(-(-since // 86400)), int((until - 1) // 86400)
    return (min(first, int(since // 86400)) if first > last else first), last


def _period(domain: str, kind: str, since: float, until: float) -> tuple[object, ...]:
    first, last = day_range(since, until)
    return (domain, kind, first * 86400, (last + 1) * 86400, first, last)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DayCounts(ToDict):
    """Messages reported for one UTC day (a report counts on its middle day)."""

    day: int  # days since 1970-01-01
    messages: int
    passed: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReporterCounts(ToDict):
    """Reports and messages from one reporter."""

    reporter: str
    reports: int
    messages: int
    passed: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourceCounts(ToDict):
    """What the reports say about one source IP, summed over the period.

    ``spf_aligned`` and ``dkim_aligned`` are the receivers' policy evaluation (aligned
    pass); ``dkim_signed`` counts messages with a passing DKIM signature of any domain;
    ``forwarded`` those with an override reason ``forwarded``, ``mailing_list`` or
    ``trusted_forwarder``. ``dkim_domain``/``spf_domain`` are an example of a domain that
    authenticated without aligning.
    """

    ip: str
    messages: int
    spf_aligned: int
    dkim_aligned: int
    passed: int
    dkim_signed: int
    forwarded: int
    quarantined: int
    rejected: int
    dkim_domain: str | None = None
    spf_domain: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsRow(ToDict):
    """Sessions for one receiving domain and policy, with failures per result type."""

    policy_domain: str
    policy_type: str
    successful: int
    failed: int
    failure_types: tuple[tuple[str, int], ...] = ()
    mx_hosts: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineEntry(ToDict):
    """A blob kept in quarantine (without its bytes: see ``quarantined_blob``)."""

    sha256: str
    size: int
    source: str
    reason: str
    message: str
    seen: int
    first_seen: float
    last_seen: float
    truncated: bool


_SOURCES = """
SELECT ip, SUM(messages), SUM(spf_aligned), SUM(dkim_aligned), SUM(passed), SUM(dkim_signed),
  SUM(forwarded), SUM(quarantined), SUM(rejected), MAX(dkim_domain), MAX(spf_domain)
FROM source_days WHERE domain=? AND day BETWEEN ? AND ?
GROUP BY ip
"""


class StoreQueries:
    """The read side of the store (a mixin: the store provides ``_query``)."""

    _query: Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]]

    async def count(self) -> dict[str, int]:
        """Reports in the store: ``{"aggregate": n, "tls": n, "foreign": n, "quarantine": n}``."""

        def work(db: sqlite3.Connection) -> dict[str, int]:
            kinds = dict(
                db.execute(
                    "SELECT kind, COUNT(*) FROM reports WHERE foreign_domain=0 GROUP BY kind"
                ).fetchall()
            )
            (foreign,) = db.execute(
                "SELECT COUNT(*) FROM reports WHERE foreign_domain=1"
            ).fetchone()
            (quarantine,) = db.execute("SELECT COUNT(*) FROM quarantine").fetchone()
            return {
                "aggregate": int(kinds.get("aggregate", 0)),
                "tls": int(kinds.get("tls", 0)),
                "foreign": int(foreign),
                "quarantine": int(quarantine),
            }

        result: dict[str, int] = await self._query(work)
        return result

    async def report_domains(self) -> dict[str, int]:
        """Domains with reports in the store (foreign ones excepted), with how many reports
        each, most first."""
        rows = await self._query(
            lambda db: db.execute(
                "SELECT domain, COUNT(*) AS n FROM reports WHERE foreign_domain=0"
                " GROUP BY domain ORDER BY n DESC, domain"
            ).fetchall()
        )
        return {str(d): int(n) for d, n in rows}

    async def foreign_domains(self) -> dict[str, int]:
        """Domains of the reports kept apart, with how many reports each, most first."""
        rows = await self._query(
            lambda db: db.execute(
                "SELECT domain, COUNT(*) AS n FROM reports WHERE foreign_domain=1"
                " GROUP BY domain ORDER BY n DESC, domain"
            ).fetchall()
        )
        return {str(d): int(n) for d, n in rows}

    async def quarantined(self, *, limit: int = 100) -> tuple[QuarantineEntry, ...]:
        """The quarantine, most recently seen first."""
        rows = await self._query(
            lambda db: db.execute(
                "SELECT sha256, size, source, reason, message, seen, first_seen, last_seen,"
                " truncated FROM quarantine ORDER BY last_seen DESC, id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        )
        return tuple(
            QuarantineEntry(
                sha256=r[0],
                size=r[1],
                source=r[2],
                reason=r[3],
                message=r[4],
                seen=r[5],
                first_seen=r[6],
                last_seen=r[7],
                truncated=bool(r[8]),
            )
            for r in rows
        )

    async def quarantined_blob(self, sha256: str, /) -> bytes | None:
        """The kept bytes of a quarantined blob (at most the first megabyte), or ``None``.

        ``sha256`` may be a prefix of 8 hex digits or more, as ``status`` shows it, when
        it names one blob only.
        """
        key = sha256.strip().lower()
        if not (8 <= len(key) <= 64 and all(c in "0123456789abcdef" for c in key)):
            return None
        rows = await self._query(
            lambda db: db.execute(
                "SELECT blob FROM quarantine WHERE substr(sha256, 1, ?) = ? LIMIT 2",
                (len(key), key),
            ).fetchall()
        )
        return bytes(rows[0][0]) if len(rows) == 1 else None

    async def days(self, domain: str, /, *, since: float, until: float) -> tuple[DayCounts, ...]:
        """Messages and DMARC passes per day, oldest first."""
        rows = await self._query(
            lambda db: db.execute(
                "SELECT (begin + end) / 2 / 86400 AS day, SUM(messages), SUM(passed)"  # noqa: S608
                f" FROM reports WHERE {_PERIOD} GROUP BY day ORDER BY day",
                _period(domain, "aggregate", since, until),
            ).fetchall()
        )
        return tuple(DayCounts(day=int(d), messages=int(m), passed=int(p)) for d, m, p in rows)

    async def reporters(
        self, domain: str, /, *, since: float, until: float
    ) -> tuple[ReporterCounts, ...]:
        """Reports and messages per reporter, most messages first."""
        rows = await self._query(
            lambda db: db.execute(
                "SELECT reporter, COUNT(*), SUM(messages) AS m, SUM(passed) FROM reports"  # noqa: S608
                f" WHERE {_PERIOD} GROUP BY reporter ORDER BY m DESC, reporter",
                _period(domain, "aggregate", since, until),
            ).fetchall()
        )
        return tuple(
            ReporterCounts(reporter=str(r), reports=int(n), messages=int(m), passed=int(p))
            for r, n, m, p in rows
        )

    async def sources(
        self, domain: str, /, *, since: float, until: float
    ) -> tuple[SourceCounts, ...]:
        """Per source IP totals, most messages first."""
        rows = await self._query(
            lambda db: db.execute(_SOURCES, (domain, *day_range(since, until))).fetchall()
        )
        found = [
            SourceCounts(
                ip=str(r[0]),
                messages=int(r[1]),
                spf_aligned=int(r[2]),
                dkim_aligned=int(r[3]),
                passed=int(r[4]),
                dkim_signed=int(r[5]),
                forwarded=int(r[6]),
                quarantined=int(r[7]),
                rejected=int(r[8]),
                dkim_domain=r[9],
                spf_domain=r[10],
            )
            for r in rows
        ]
        found.sort(key=lambda s: (-s.messages, s.ip))
        return tuple(found)

    async def published_policy(self, domain: str, /, *, since: float) -> dict[str, Any] | None:
        """The policy the latest report found published (``policy_published``), or ``None``."""
        row = await self._query(
            lambda db: db.execute(
                f"SELECT policy FROM reports WHERE {_PERIOD} ORDER BY end DESC LIMIT 1",  # noqa: S608
                _period(domain, "aggregate", since, 2.0**62),
            ).fetchone()
        )
        if row is None or row[0] is None:
            return None
        policy: dict[str, Any] = json.loads(row[0])
        return policy

    async def tls(self, domain: str, /, *, since: float, until: float) -> tuple[TlsRow, ...]:
        """TLS sessions per receiving domain (``domain`` and below) and policy type."""

        def work(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return db.execute(
                "SELECT t.policy_domain, t.policy_type, t.successful, t.failed, t.failures,"
                " t.mx_hosts FROM tls_policies t JOIN reports r ON r.id = t.report"
                " WHERE (t.policy_domain=? OR t.policy_domain LIKE ? ESCAPE '\\') AND r.kind='tls'"
                " AND r.foreign_domain=0 AND (r.begin + r.end) / 2 / 86400 BETWEEN ? AND ?",
                (
                    domain,
                    "%." + domain.replace("%", "").replace("_", "\\_"),
                    *day_range(since, until),
                ),
            ).fetchall()

        grouped: dict[tuple[str, str], list[Any]] = {}
        for pdomain, ptype, ok, failed, failures, mx_hosts in await self._query(work):
            entry = grouped.setdefault((pdomain, ptype), [0, 0, {}, {}])
            entry[0] += ok
            entry[1] += failed
            for failure in json.loads(failures):
                kind = str(failure.get("result_type", ""))
                entry[2][kind] = entry[2].get(kind, 0) + int(failure.get("failed_session_count", 0))
            entry[3].update(dict.fromkeys(json.loads(mx_hosts)))
        return tuple(
            TlsRow(
                policy_domain=pdomain,
                policy_type=ptype,
                successful=ok,
                failed=failed,
                failure_types=tuple(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
                mx_hosts=tuple(mx),
            )
            for (pdomain, ptype), (ok, failed, kinds, mx) in sorted(grouped.items())
        )
