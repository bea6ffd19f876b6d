"""DMARC report summaries, the suppression list and the RFC 8058 one-click unsubscribe,
through the real server."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mailcheck.hygiene import SuppressionList
from mailcheck.hygiene.tokens import unsubscribe_token
from mailcheck.reports import ReportStore
from mailcheck.sending.spool import SqliteSpool
from tests.reports.reportkit import DAY, DOMAIN, record, report
from tests.serve.conftest import TOKEN
from tests.serve.live import LiveServer

SECRET = b"unsubscribe-secret-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def in_thread(coroutine: object) -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()  # type: ignore[arg-type]


@pytest.fixture
def reports_db(tmp_path: Path) -> Path:
    path = tmp_path / "reports.db"

    async def fill() -> None:
        now = int(time.time())
        async with ReportStore(str(path), domains=[DOMAIN]) as store:
            await store.ingest([
                ("g", report("g1", [record("198.18.7.1", 100),
                                    record("198.18.7.70", 3, dkim="fail", spf="fail",
                                           spf_domain="spoofer.reports.test")],
                             begin=now - 2 * DAY)),
            ])  # fmt: skip

    in_thread(fill())
    return path


def test_report_summary(serve: Callable[..., LiveServer], reports_db: Path) -> None:
    live = serve(reports_db=str(reports_db))
    response = httpx.get(
        f"{live.url}/api/v1/reports/{DOMAIN}?days=30&lang=fr", headers=AUTH, timeout=60
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["domain"] == DOMAIN
    assert body["messages"] == 103
    assert all(f["language"] == "fr" for f in body["findings"])
    bad = httpx.get(f"{live.url}/api/v1/reports/{DOMAIN}?days=9999", headers=AUTH)
    assert bad.status_code == 400
    assert bad.json()["field"] == "days"


def test_reports_not_configured_or_missing(
    serve: Callable[..., LiveServer], tmp_path: Path
) -> None:
    assert httpx.get(serve().url + "/api/v1/reports/example.org", headers=AUTH).status_code == 404
    missing = serve(reports_db=str(tmp_path / "none.db"))
    response = httpx.get(missing.url + "/api/v1/reports/example.org", headers=AUTH)
    assert response.json()["code"] == "not-configured"
    assert not (tmp_path / "none.db").exists()  # looking never creates a store


def test_suppression_list(serve: Callable[..., LiveServer], spool_path: Path) -> None:
    async def add() -> None:
        spool = SqliteSpool(str(spool_path))
        try:
            await SuppressionList(spool).add(
                "ana@example.net", reason="hard-bounce", source="550 5.1.1"
            )
        finally:
            spool.close()

    in_thread(add())
    live = serve(spool=str(spool_path))
    assert httpx.get(live.url + "/api/v1/suppressions").status_code == 401
    body = httpx.get(live.url + "/api/v1/suppressions?limit=10", headers=AUTH).json()
    assert body["counts"]["total"] == 1
    assert body["entries"][0]["address"] == "ana@example.net"
    assert body["entries"][0]["reason"] == "hard-bounce"
    bad = httpx.get(live.url + "/api/v1/suppressions?reason=nonsense", headers=AUTH)
    assert bad.status_code == 400


def one_click(
    live: LiveServer, token: str, body: bytes = b"List-Unsubscribe=One-Click"
) -> httpx.Response:
    return httpx.post(
        f"{live.url}/unsubscribe", params={"t": token}, content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip


def test_one_click_unsubscribe_suppresses_for_the_list(
    serve: Callable[..., LiveServer], spool_path: Path
) -> None:
    live = serve(spool=str(spool_path), unsubscribe_secret=SECRET)
    token = unsubscribe_token("bob@example.net", list="news", secret=SECRET)
    page = httpx.get(f"{live.url}/unsubscribe", params={"t": token})
    assert page.status_code == 200
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    before = httpx.get(live.url + "/api/v1/suppressions", headers=AUTH).json()["counts"]["total"]
    assert before == 0  # the GET changed nothing
    done = one_click(live, token)
    assert done.status_code == 200
    assert done.json() == {"unsubscribed": True}  # nothing says who
    entries = httpx.get(live.url + "/api/v1/suppressions", headers=AUTH).json()["entries"]
    assert [(e["address"], e["reason"], e["scope"], e["scope_value"]) for e in entries] == [
        ("bob@example.net", "unsubscribe", "list", "news")
    ]
    assert one_click(live, token).status_code == 200  # a second click is harmless


def test_unsubscribe_refuses_bad_tokens_and_bodies(
    serve: Callable[..., LiveServer], spool_path: Path
) -> None:
    live = serve(spool=str(spool_path), unsubscribe_secret=SECRET)
    forged = unsubscribe_token(
        "bob@example.net", list="news", secret=b"another-secret-0123456789abcdef"
    )
    for token in (forged, "", "x" * 5000, "<script>"):
        response = one_click(live, token)
        assert response.status_code == 400
        assert response.json()["field"] == "t"
    good = unsubscribe_token("bob@example.net", list="news", secret=SECRET)
    assert one_click(live, good, b"List-Unsubscribe=Maybe").status_code == 400
    assert one_click(live, good, b"x" * 10_000).status_code == 413
    assert httpx.get(live.url + "/api/v1/suppressions", headers=AUTH).json()["counts"]["total"] == 0


def test_unsubscribe_needs_its_secret(serve: Callable[..., LiveServer], spool_path: Path) -> None:
    live = serve(spool=str(spool_path))
    token = unsubscribe_token("bob@example.net", list="news", secret=SECRET)
    assert one_click(live, token).status_code == 404
