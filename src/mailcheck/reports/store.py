"""The report store: DMARC aggregate and TLS reports in one SQLite file.

``ReportStore(path, domains=...)`` keeps reports deduplicated by (kind, reporter, report
id): a second ingest of the same report is counted as a duplicate, never stored twice.
Reports about a domain the store does not manage are stored apart ("foreign": someone
pointing a neighbour's ``rua`` at you, or spoofing one) and never mixed into a managed
domain's summary. What cannot be read is quarantined with its reason and first bytes.

SQLite work runs in a worker thread (``asyncio.to_thread``) under one lock: the event loop
never waits on a commit. Unlike the spool, whose many small concurrent calls are grouped by
:class:`~mailcheck.sending.spool.commit.GroupCommit`, the store's writes already come in
batches (:meth:`ReportStore.ingest` commits every :attr:`batch_size` reports in one
transaction), so a plain thread hop per batch is all it needs.

Example:
    >>> async with ReportStore("reports.db", domains=["asso.example"]) as store:  # doctest: +SKIP
    ...     summary = await store.ingest(items)
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

from mailcheck.errors import ConfigError
from mailcheck.model import ToDict
from mailcheck.reports import store_days
from mailcheck.reports.store_queries import StoreQueries
from mailcheck.reports.store_rows import (
    UNSTORABLE,
    IngestOutcome,
    Rejected,
    insert_one,
    insert_rejected,
    is_managed,
)
from mailcheck.reports.store_schema import StoreError, open_store
from mailcheck.reports.types import AggregateReport, Report

__all__ = ["DEFAULT_BATCH", "Incoming", "IngestSummary", "IngestTally", "ReportStore"]

#: Reports committed per transaction by :meth:`ReportStore.ingest`: large enough that the
#: commit costs nothing per report, small enough that memory holds only this many reports.
DEFAULT_BATCH = 200

#: One incoming item: where it came from (a file name, a message id), and the report or
#: the rejected blob.
Incoming = tuple[str, Report | Rejected]

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IngestSummary(ToDict):
    """What an ingest did.

    Attributes:
        stored: reports stored for managed domains.
        duplicates: reports already in the store.
        foreign: reports stored apart (domains not managed), per domain in ``foreign_domains``.
        quarantined: blobs that were not readable reports, per reason in ``reasons``.
    """

    stored: int = 0
    duplicates: int = 0
    foreign: int = 0
    quarantined: int = 0
    reasons: Mapping[str, int] = dataclasses.field(default_factory=dict)
    foreign_domains: Mapping[str, int] = dataclasses.field(default_factory=dict)

    @property
    def total(self) -> int:
        """Every item seen."""
        return self.stored + self.duplicates + self.foreign + self.quarantined


@dataclasses.dataclass(slots=True)
class IngestTally:
    """Outcomes counted as an ingest goes (see :meth:`ReportStore.ingest`)."""

    outcomes: Counter[IngestOutcome] = dataclasses.field(default_factory=Counter)
    reasons: Counter[str] = dataclasses.field(default_factory=Counter)
    foreign: Counter[str] = dataclasses.field(default_factory=Counter)

    def add(self, item: Report | Rejected, outcome: IngestOutcome) -> None:
        """Count what the store did with one item."""
        self.outcomes[outcome] += 1
        if isinstance(item, Rejected):
            self.reasons[item.error.reason] += 1
        elif outcome is IngestOutcome.QUARANTINED:  # a report SQLite could not hold
            self.reasons[UNSTORABLE] += 1
        elif outcome is IngestOutcome.FOREIGN:
            domain = item.domain if isinstance(item, AggregateReport) else (*item.domains, "")[0]
            self.foreign[domain] += 1

    def merge(self, summary: IngestSummary) -> None:
        """Add the totals of another ingest (several sources in one run)."""
        self.outcomes[IngestOutcome.STORED] += summary.stored
        self.outcomes[IngestOutcome.DUPLICATE] += summary.duplicates
        self.outcomes[IngestOutcome.FOREIGN] += summary.foreign
        self.outcomes[IngestOutcome.QUARANTINED] += summary.quarantined
        self.reasons.update(summary.reasons)
        self.foreign.update(summary.foreign_domains)

    def summary(self) -> IngestSummary:
        """The totals so far."""
        return IngestSummary(
            stored=self.outcomes[IngestOutcome.STORED],
            duplicates=self.outcomes[IngestOutcome.DUPLICATE],
            foreign=self.outcomes[IngestOutcome.FOREIGN],
            quarantined=self.outcomes[IngestOutcome.QUARANTINED],
            reasons=dict(self.reasons.most_common()),
            foreign_domains=dict(self.foreign.most_common()),
        )


def _normalise(domain: str) -> str:
    name = domain.strip().lower().rstrip(".")
    if not name or any(c.isspace() for c in name):
        raise ConfigError(f"{domain!r} is not a domain name")
    return name


class ReportStore(StoreQueries):
    """DMARC aggregate and TLS reports in one SQLite file (WAL).

    Args:
        path: the database file (created if missing).
        domains: the managed domains (their subdomains too). With none configured here or
            in the store (:meth:`add_domain`), every domain is managed.
        clock: wall-clock seconds (ingest times, retention).
        batch_size: reports per transaction in :meth:`ingest`.

    Raises:
        StoreError: the file cannot be opened or is not a report store. Every method raises
            StoreError for a database failure, naming the file.
    """

    def __init__(
        self,
        path: str,
        /,
        *,
        domains: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        if batch_size < 1:
            raise ConfigError("batch_size must be at least 1")
        self.path, self.clock, self.batch_size = path, clock, batch_size
        self.configured = frozenset(_normalise(d) for d in domains)
        self._db: sqlite3.Connection | None = open_store(path)
        self._lock = threading.Lock()
        self._stored_domains = frozenset(
            str(d) for (d,) in self._db.execute("SELECT domain FROM domains")
        )

    # --- lifecycle ------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: str, /, **options: Any) -> Self:
        """Open the store in a worker thread (checking the file, and bringing an older store
        up to date, may take seconds): the event loop is never blocked.

        Takes the same options as the constructor.
        """
        store: Self = await asyncio.to_thread(lambda: cls(path, **options))
        return store

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the database (waits for work in progress)."""
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _locked(self, fn: Callable[[sqlite3.Connection], _T], write: bool) -> _T:
        with self._lock:
            db = self._db
            if db is None:
                raise StoreError(f"report store {self.path} is closed")
            try:
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    result = fn(db)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"report store {self.path}: {type(exc).__name__}: {exc}") from exc
            return result

    async def _run(self, fn: Callable[[sqlite3.Connection], _T], *, write: bool = False) -> _T:
        return await asyncio.to_thread(self._locked, fn, write)

    # --- managed domains ------------------------------------------------------------------

    @property
    def managed(self) -> frozenset[str]:
        """The managed domains: configured ones and those added to the store."""
        return self.configured | self._stored_domains

    def manages(self, domain: str, /) -> bool:
        """True when reports about ``domain`` go into its summaries (not kept apart)."""
        return is_managed(domain, self.managed)

    async def add_domain(self, domain: str, /) -> int:
        """Manage ``domain`` from now on (kept in the store). The reports about it (or below
        it) received before, and kept apart as foreign, join it: a hoster who registers a
        customer's domain after its first reports arrived loses none of them.

        Returns the number of earlier reports that joined.
        """
        name = _normalise(domain)
        now = self.clock()

        def add(db: sqlite3.Connection) -> int:
            db.execute("INSERT OR IGNORE INTO domains VALUES (?, ?)", (name, now))
            return store_days.adopt(db, name)

        adopted = await self._run(add, write=True)
        self._stored_domains = self._stored_domains | {name}
        return adopted

    async def remove_domain(self, domain: str, /) -> bool:
        """Stop managing ``domain`` (kept in the store); True when it was there."""
        name = _normalise(domain)
        count = await self._run(
            lambda db: db.execute("DELETE FROM domains WHERE domain=?", (name,)).rowcount,
            write=True,
        )
        self._stored_domains = self._stored_domains - {name}
        return bool(count)

    # --- ingest ---------------------------------------------------------------------------

    async def add(self, report: Report, /, *, source: str = "") -> IngestOutcome:
        """Store one report (its own transaction; use :meth:`ingest` for many)."""
        return (await self.add_batch([(source, report)]))[0]

    async def add_batch(self, items: Iterable[Incoming], /) -> tuple[IngestOutcome, ...]:
        """Store reports and quarantine rejected blobs, all in one transaction."""
        batch = list(items)
        managed, now = self.managed, self.clock()

        def work(db: sqlite3.Connection) -> tuple[IngestOutcome, ...]:
            return tuple(
                insert_rejected(db, item, source=source, now=now)
                if isinstance(item, Rejected)
                else insert_one(db, item, source=source, managed=managed, now=now)
                for source, item in batch
            )

        return await self._run(work, write=True)

    async def ingest(
        self,
        items: Iterable[Incoming] | AsyncIterable[Incoming],
        /,
        *,
        on_batch: Callable[[IngestSummary], None] | None = None,
    ) -> IngestSummary:
        """Store everything ``items`` yields, :attr:`batch_size` items per transaction.

        ``items`` is consumed as it goes (a generator reading files one by one keeps memory
        flat whatever their number). ``on_batch`` is called with the running totals after
        each commit (progress lines).
        """
        tally = IngestTally()
        batch: list[Incoming] = []

        async def flush() -> None:
            outcomes = await self.add_batch(batch)
            for (_, item), outcome in zip(batch, outcomes, strict=True):
                tally.add(item, outcome)
            batch.clear()
            if on_batch is not None:
                on_batch(tally.summary())

        if isinstance(items, AsyncIterable):
            async for item in items:
                batch.append(item)
                if len(batch) >= self.batch_size:
                    await flush()
        else:
            for item in items:
                batch.append(item)
                if len(batch) >= self.batch_size:
                    await flush()
        if batch:
            await flush()
        return tally.summary()

    # --- retention ------------------------------------------------------------------------

    async def purge(self, *, older_than: float) -> int:
        """Delete reports whose period ended more than ``older_than`` seconds ago.

        Their records go with them. Quarantined blobs last seen before then go too.
        Returns the number of reports deleted.
        """
        if not 0 <= older_than < float("inf"):
            raise ConfigError("purge: older_than must be a non-negative number of seconds")
        cutoff = self.clock() - older_than

        def work(db: sqlite3.Connection) -> int:
            deleted = store_days.purge(db, cutoff)
            db.execute("DELETE FROM quarantine WHERE last_seen < ?", (cutoff,))
            return deleted

        return await self._run(work, write=True)

    def __repr__(self) -> str:
        return f"ReportStore({self.path!r}, domains={sorted(self.managed)!r})"

    def _query(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:  # for StoreQueries
        return self._run(fn)
