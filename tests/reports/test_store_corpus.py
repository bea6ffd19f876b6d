"""The reporters' corpus (tests/reports/data) through the whole path: files -> parser ->
store -> summary -> HTML, twice (the second time, every report is a duplicate)."""

from __future__ import annotations

from pathlib import Path

from mailcheck.reports import ReportStore, read_paths, render_html, summarize

DATA = Path(__file__).parent / "data"


async def test_the_corpus_ingests_twice_and_summarizes(tmp_path: Path) -> None:
    async with ReportStore(str(tmp_path / "r.db")) as store:
        first = await store.ingest(read_paths([DATA]))
        again = await store.ingest(read_paths([DATA]))
        assert first.stored > 0
        assert again.stored == 0
        assert again.duplicates == first.stored + first.duplicates
        assert again.quarantined == first.quarantined
        counts = await store.count()
        assert counts["aggregate"] > 0
        assert counts["tls"] > 0
        domains = await store.report_domains()
        assert domains
        for domain in domains:
            summary = await summarize(store, domain, since=0, until=2**40)
            assert summary.domain == domain
            assert render_html(summary).startswith("<!DOCTYPE html>")
