"""ReportStore: deduplication, foreign domains, quarantine, retention, batches, streaming."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailcheck.errors import ConfigError
from mailcheck.reports import ReportError
from mailcheck.reports.store import Incoming, IngestSummary, ReportStore
from mailcheck.reports.store_rows import QUARANTINE_BLOB_MAX, IngestOutcome, Rejected
from mailcheck.reports.store_schema import StoreError
from tests.reports.reportkit import DAY, DOMAIN, record, report, tls_report

NOW = 1_800_000_000


def store_at(tmp_path: Path, **options: object) -> ReportStore:
    return ReportStore(str(tmp_path / "reports.db"), clock=lambda: NOW, **options)  # type: ignore[arg-type]


async def test_a_second_ingest_of_a_report_is_a_duplicate(tmp_path: Path) -> None:
    rep = report("r1", [record("198.18.7.1", 5)], begin=NOW - DAY)
    async with store_at(tmp_path, domains=[DOMAIN]) as store:
        assert await store.add(rep) is IngestOutcome.STORED
        assert await store.add(rep) is IngestOutcome.DUPLICATE
        # Same id from another reporter is another report.
        other = report("r1", [record("198.18.7.1", 5)], begin=NOW - DAY, reporter="Yahoo")
        assert await store.add(other) is IngestOutcome.STORED
        summary = await store.ingest([("a", rep), ("b", other), ("c", rep)])
        assert (summary.stored, summary.duplicates) == (0, 3)
        assert (await store.count())["aggregate"] == 2
        sources = await store.sources(DOMAIN, since=0, until=NOW)
        assert sources[0].messages == 10  # not 15: stored once


async def test_duplicates_within_one_batch(tmp_path: Path) -> None:
    rep = report("r1", [record("198.18.7.1", 5)], begin=NOW - DAY)
    async with store_at(tmp_path) as store:
        outcomes = await store.add_batch([("a", rep), ("b", rep)])
    assert outcomes == (IngestOutcome.STORED, IngestOutcome.DUPLICATE)


async def test_foreign_domain_is_kept_apart(tmp_path: Path) -> None:
    ours = report("a", [record("198.18.7.1", 5)], begin=NOW - DAY)
    sub = report("b", [record("198.18.7.1", 5)], begin=NOW - DAY, domain="news." + DOMAIN)
    theirs = report("c", [record("198.18.7.9", 7)], begin=NOW - DAY, domain="spoofed.example")
    async with store_at(tmp_path, domains=[DOMAIN]) as store:
        summary = await store.ingest([("1", ours), ("2", sub), ("3", theirs)])
        assert (summary.stored, summary.foreign) == (2, 1)
        assert summary.foreign_domains == {"spoofed.example": 1}
        assert await store.foreign_domains() == {"spoofed.example": 1}
        assert await store.sources("spoofed.example", since=0, until=NOW) == ()
        # Managing it later brings its earlier reports in (the hoster registered the
        # customer's domain after the first reports arrived), and the day totals follow.
        assert await store.add_domain("Spoofed.Example.") == 1
        assert store.manages("spoofed.example")
        assert await store.foreign_domains() == {}
        (source,) = await store.sources("spoofed.example", since=0, until=NOW)
        assert (source.ip, source.messages) == ("198.18.7.9", 7)
        later = report("d", [record("198.18.7.9", 1)], begin=NOW - DAY, domain="spoofed.example")
        assert await store.add(later) is IngestOutcome.STORED
        (source,) = await store.sources("spoofed.example", since=0, until=NOW)
        assert source.messages == 8
        assert await store.add_domain("spoofed.example") == 0  # nothing left apart
    async with store_at(tmp_path) as reopened:  # the domains table outlives the process
        assert reopened.managed == {"spoofed.example"}
        assert await reopened.remove_domain("spoofed.example")
        assert reopened.managed == frozenset()


async def test_without_managed_domains_every_domain_is_managed(tmp_path: Path) -> None:
    async with store_at(tmp_path) as store:
        rep = report("a", [record("198.18.7.1", 1)], begin=NOW - DAY, domain="any.example")
        assert await store.add(rep) is IngestOutcome.STORED


async def test_tls_reports_stored_per_policy_domain(tmp_path: Path) -> None:
    async with store_at(tmp_path, domains=[DOMAIN]) as store:
        assert await store.add(tls_report("t1", begin=NOW - DAY)) is IngestOutcome.STORED
        assert await store.add(tls_report("t1", begin=NOW - DAY)) is IngestOutcome.DUPLICATE
        foreign = tls_report("t2", begin=NOW - DAY, domain="other.example")
        assert await store.add(foreign) is IngestOutcome.FOREIGN
        (row,) = await store.tls(DOMAIN, since=0, until=NOW)
    assert (row.successful, row.failed, row.failure_types) == (
        90,
        10,
        (("certificate-expired", 10),),
    )


async def test_quarantine_keeps_reason_source_and_bounded_blob(tmp_path: Path) -> None:
    big = b"<" + b"x" * (QUARANTINE_BLOB_MAX + 10)
    items: list[Incoming] = [
        ("bad.xml", Rejected(error=ReportError("xml", "not well-formed"), blob=b"<feedback")),
        ("bomb.gz", Rejected(error=ReportError("bomb", "over the bound"), blob=big)),
        ("again.xml", Rejected(error=ReportError("xml", "not well-formed"), blob=b"<feedback")),
        ("good.xml", report("g", [record("198.18.7.1", 1)], begin=NOW - DAY)),
    ]
    async with store_at(tmp_path) as store:
        summary = await store.ingest(items)
        assert (summary.stored, summary.quarantined) == (1, 3)
        assert summary.reasons == {"xml": 2, "bomb": 1}
        entries = {e.source: e for e in await store.quarantined()}
        assert set(entries) == {"bad.xml", "bomb.gz"}  # the same blob twice is one entry
        assert entries["bad.xml"].seen == 2
        assert entries["bad.xml"].reason == "xml"
        assert entries["bomb.gz"].truncated
        assert entries["bomb.gz"].size == len(big)
        kept = await store.quarantined_blob(entries["bomb.gz"].sha256)
        assert kept is not None
        assert len(kept) == QUARANTINE_BLOB_MAX
        assert await store.quarantined_blob(entries["bad.xml"].sha256) == b"<feedback"


async def test_purge_removes_reports_whose_period_ended_before(tmp_path: Path) -> None:
    async with store_at(tmp_path) as store:
        for age in (10, 100, 200, 400):
            rows = [record("198.18.7.1", 1), record("198.18.7.2", 1)]
            await store.add(report(f"r{age}", rows, begin=NOW - age * DAY))
        await store.add(tls_report("t", begin=NOW - 300 * DAY))
        assert await store.purge(older_than=180 * DAY) == 3
        counts = await store.count()
        assert (counts["aggregate"], counts["tls"]) == (2, 0)
        sources = await store.sources(DOMAIN, since=0, until=NOW)
        assert sum(s.messages for s in sources) == 4
        with pytest.raises(ConfigError):
            await store.purge(older_than=-1)
    db = sqlite3.connect(tmp_path / "reports.db")
    assert db.execute("SELECT COUNT(*) FROM records").fetchone() == (4,)
    db.close()


async def test_ingest_streams_one_batch_at_a_time(tmp_path: Path) -> None:
    pulled = 0
    seen: list[tuple[int, IngestSummary]] = []

    def generate() -> Iterator[Incoming]:
        nonlocal pulled
        for i in range(25):
            pulled += 1
            yield str(i), report(f"r{i}", [record("198.18.7.1", 1)], begin=NOW - DAY)

    async with store_at(tmp_path, batch_size=10) as store:
        summary = await store.ingest(generate(), on_batch=lambda s: seen.append((pulled, s)))
    assert summary.stored == 25
    # Each commit happened with only its own batch pulled from the generator.
    assert [(n, s.stored) for n, s in seen] == [(10, 10), (20, 20), (25, 25)]


async def test_ingest_from_an_async_iterable(tmp_path: Path) -> None:
    async def generate():  # type: ignore[no-untyped-def]
        for i in range(3):
            await asyncio.sleep(0)
            yield str(i), report(f"r{i}", [record("198.18.7.1", 1)], begin=NOW - DAY)

    async with store_at(tmp_path) as store:
        assert (await store.ingest(generate())).stored == 3


async def test_wal_and_refusal_of_other_files(tmp_path: Path) -> None:
    async with store_at(tmp_path) as store:
        pass
    db = sqlite3.connect(tmp_path / "reports.db")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE customers (id INTEGER)")
    db.commit()
    db.close()
    before = other.read_bytes()
    with pytest.raises(StoreError, match="not a mailcheck report store"):
        ReportStore(str(other))
    assert other.read_bytes() == before
    text = tmp_path / "notes.txt"
    text.write_bytes(b"hello " * 1000)
    with pytest.raises(StoreError):
        ReportStore(str(text))
    await store.close()  # closing twice is harmless
    with pytest.raises(StoreError, match="closed"):
        await store.count()


def test_a_bad_domain_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        store_at(tmp_path, domains=["not a domain"])


_ids = st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=12)
_reporters = st.sampled_from(["google.com", "Yahoo", "<script>"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(_reporters, _ids.map(tuple)), max_size=4), st.integers(1, 5))
def test_any_sequence_stores_each_report_once(
    tmp_path_factory: pytest.TempPathFactory, batches: list, batch_size: int
) -> None:
    path = tmp_path_factory.mktemp("h") / "r.db"

    async def run() -> tuple[int, int, int]:
        async with ReportStore(str(path), batch_size=batch_size) as store:
            stored = dups = 0
            for reporter, ids in batches:
                items = [
                    (i, report(i, [record("198.18.7.1", 2)], begin=NOW - DAY, reporter=reporter))
                    for i in ids
                ]
                summary = await store.ingest(items)
                stored, dups = stored + summary.stored, dups + summary.duplicates
            return stored, dups, (await store.count())["aggregate"]

    stored, dups, count = asyncio.run(run())
    unique = {(reporter, i) for reporter, ids in batches for i in ids}
    assert stored == count == len(unique)
    assert dups == sum(len(ids) for _, ids in batches) - len(unique)


async def test_daily_totals_rebuilt_for_a_store_written_before_them(tmp_path: Path) -> None:
    rows = [record("198.18.7.1", 5), record("198.18.7.9", 2, dkim="fail", spf="fail")]
    async with store_at(tmp_path, domains=[DOMAIN]) as store:
        for day in range(3):
            await store.add(report(f"r{day}", rows, begin=NOW - (day + 2) * DAY))
        before = await store.sources(DOMAIN, since=NOW - 30 * DAY, until=NOW)
    db = sqlite3.connect(tmp_path / "reports.db")
    db.execute("DROP TABLE source_days")  # as an earlier version wrote it
    db.commit()
    db.close()
    async with store_at(tmp_path) as reopened:
        after = await reopened.sources(DOMAIN, since=NOW - 30 * DAY, until=NOW)
    assert after == before
    assert [s.messages for s in after] == [15, 6]


async def test_purge_keeps_daily_totals_exact(tmp_path: Path) -> None:
    async with store_at(tmp_path) as store:
        # Two reporters on the same day; one report ends before the cutoff, one after.
        begin = NOW - 100 * DAY
        await store.add(report("early", [record("198.18.7.1", 5)], begin=begin))
        late = report(
            "late", [record("198.18.7.1", 7)], begin=begin - DAY // 2, reporter="Yahoo", days=2
        )
        await store.add(late)
        # Both count on the same day; the cutoff falls between their ends.
        assert await store.purge(older_than=100 * DAY - DAY * 5 // 4) == 1
        (source,) = await store.sources(DOMAIN, since=NOW - 200 * DAY, until=NOW)
        assert source.messages == 7


async def test_open_in_a_worker_thread(tmp_path: Path) -> None:
    store = await ReportStore.open(str(tmp_path / "r.db"), domains=[DOMAIN], clock=lambda: NOW)
    async with store:
        assert store.managed == {DOMAIN}
        assert await store.add(report("a", [record("198.18.7.1", 1)], begin=NOW - DAY)) == "stored"


async def test_a_report_sqlite_cannot_hold_is_quarantined_alone(tmp_path: Path) -> None:
    # Built by a caller, not the parser (which bounds counts): 2**70 does not fit SQLite.
    huge = report("huge", [record("198.18.7.1", 2**70)], begin=NOW - DAY)
    items: list[Incoming] = [
        ("a", report("a", [record("198.18.7.1", 1)], begin=NOW - DAY)),
        ("huge", huge),
        ("b", report("b", [record("198.18.7.1", 1)], begin=NOW - DAY)),
    ]
    async with store_at(tmp_path) as store:
        summary = await store.ingest(items)
        assert (summary.stored, summary.quarantined) == (2, 1)
        assert summary.reasons == {"unstorable": 1}
        (entry,) = await store.quarantined()
        assert (entry.source, entry.reason) == ("huge", "unstorable")
        assert (await store.count())["aggregate"] == 2
        (source,) = await store.sources(DOMAIN, since=NOW - 30 * DAY, until=NOW)
        assert source.messages == 2


def test_periods_are_whole_days() -> None:
    from mailcheck.reports.store_queries import day_range

    midnight = 20_000 * DAY
    assert day_range(midnight - 30 * DAY, midnight) == (19_970, 19_999)
    assert day_range(midnight - 30 * DAY + 3600, midnight + 3600) == (19_971, 20_000)
    assert day_range(midnight + 3600, midnight + 7200) == (20_000, 20_000)  # under a day
