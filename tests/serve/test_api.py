"""The JSON API through httpx against uvicorn on loopback: tokens, rate limits, caching,
validation before resolution, problem details, localized findings, spool and metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mailcheck import DnsResolver
from tests.dnsserver import DnsTestServer
from tests.serve.conftest import OTHER_TOKEN, TOKEN
from tests.serve.live import LiveServer

PROBLEM = "application/problem+json"


def problem_of(response: httpx.Response) -> dict[str, object]:
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == response.status_code
    assert str(body["type"]).endswith("/" + str(body["code"]))
    assert body["title"]
    return dict(body)


def test_healthz_needs_no_token(live: LiveServer) -> None:
    response = httpx.get(live.url + "/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Basic dGVzdDp0ZXN0",
        "Bearer",
        "Bearer wrong-token-0123456789",
        "Bearer " + "x" * 2000,
    ],
)
def test_a_request_without_a_valid_token_is_refused(
    live: LiveServer, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = httpx.get(live.url + "/api/v1/audit/example.org", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert problem_of(response)["code"] == "unauthorized"


def test_metrics_need_a_token(live: LiveServer) -> None:
    assert httpx.get(live.url + "/metrics").status_code == 401


def test_audit_returns_the_report_with_localized_findings(client: httpx.Client) -> None:
    response = client.get(
        "/api/v1/audit/example.org", headers={"Accept-Language": "fr-BE, fr;q=0.9, en;q=0.5"}
    )
    assert response.status_code == 200
    assert response.headers["content-language"] == "fr"
    report = response.json()
    assert report["domain"] == "example.org"
    codes = [f["code"] for f in report["findings"]]
    assert "dmarc.policy-none" in codes
    finding = next(f for f in report["findings"] if f["code"] == "dmarc.policy-none")
    assert finding["language"] == "fr"
    assert finding["message_localized"] == "La politique DMARC est none (simple observation)"
    assert finding["message"].startswith("The policy is none")  # the stable English stays
    assert finding["fix"].startswith("_dmarc.example.org.")


def test_lang_parameter_wins_over_accept_language(client: httpx.Client) -> None:
    response = client.get("/api/v1/audit/example.org?lang=en", headers={"Accept-Language": "fr"})
    finding = response.json()["findings"][0]
    assert finding["language"] == "en"
    assert finding["message_localized"] == finding["message"]


def test_a_second_request_is_served_from_the_cache(
    client: httpx.Client, dns: DnsTestServer
) -> None:
    first = client.get("/api/v1/audit/good.audittest")
    asked = len(dns.log)
    second = client.get("/api/v1/audit/good.audittest")
    assert (first.headers["x-mailcheck-cache"], second.headers["x-mailcheck-cache"]) == (
        "miss",
        "hit",
    )
    assert len(dns.log) == asked  # nothing more reached the DNS server
    assert first.json()["findings"] == second.json()["findings"]


def test_fresh_skips_the_cache_once_the_recheck_interval_passed(
    serve: Callable[..., LiveServer], dns: DnsTestServer
) -> None:
    # The resolver's own cache would answer a re-check: this one keeps nothing.
    live = serve(recheck_after=0.0, resolver=DnsResolver([dns.address], max_ttl=0))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    httpx.get(live.url + "/api/v1/audit/good.audittest", headers=headers)
    asked = dns.count("_dmarc.good.audittest", "TXT")
    fresh = httpx.get(live.url + "/api/v1/audit/good.audittest?fresh=1", headers=headers)
    assert fresh.headers["x-mailcheck-cache"] == "miss"
    assert dns.count("_dmarc.good.audittest", "TXT") == asked + 1


def test_a_recheck_inside_the_interval_gets_the_cached_report(client: httpx.Client) -> None:
    client.get("/api/v1/audit/good.audittest")
    again = client.get("/api/v1/audit/good.audittest?fresh=1")
    assert again.headers["x-mailcheck-cache"] == "hit"


def test_concurrent_requests_for_one_domain_share_one_audit(
    client: httpx.Client, live: LiveServer, dns: DnsTestServer
) -> None:
    async def ask() -> list[str]:
        async with httpx.AsyncClient(base_url=live.url, headers=client.headers, timeout=30) as http:
            answers = await asyncio.gather(
                *(http.get("/api/v1/audit/parked.audittest") for _ in range(8))
            )
        return [a.headers["x-mailcheck-cache"] for a in answers]

    dns.behave("_dmarc.parked.audittest", delay=0.2)  # keeps the first audit running
    marks = asyncio.run(ask())
    assert marks.count("miss") == 1
    assert dns.count("_dmarc.parked.audittest", "TXT") == 1


@pytest.mark.parametrize(
    "domain",
    [
        "%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
        "%3Cscript%3E.example",
        "a..b",
        "single",
        "192.0.2.1",
        "x" * 64 + ".example",
        ("a" * 60 + ".") * 5 + "example",
        "exa%20mple.org",
        "http:%2F%2Fexample.org",
        "under_score.example",
    ],
)
def test_a_bad_domain_is_refused_before_anything_is_resolved(
    client: httpx.Client, dns: DnsTestServer, domain: str
) -> None:
    response = client.get(f"/api/v1/audit/{domain}")
    assert response.status_code in (400, 404)
    if response.status_code == 400:
        body = problem_of(response)
        assert body["code"] == "invalid-request"
        assert body["field"] == "domain"
        assert "<" not in str(body["detail"])
    assert dns.log == []


def test_the_rate_limit_answers_429_with_retry_after_per_token(
    serve: Callable[..., LiveServer],
) -> None:
    live = serve(rate_per_minute=1, burst=2)
    mine = {"Authorization": f"Bearer {TOKEN}"}
    statuses = [
        httpx.get(live.url + "/api/v1/provider/vanity.prov.test", headers=mine).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    refused = httpx.get(live.url + "/api/v1/provider/vanity.prov.test", headers=mine)
    body = problem_of(refused)
    assert body["code"] == "rate-limited"
    assert int(refused.headers["retry-after"]) >= 1
    other = httpx.get(
        live.url + "/api/v1/provider/vanity.prov.test",
        headers={"Authorization": f"Bearer {OTHER_TOKEN}"},
    )
    assert other.status_code == 200  # each token has its own bucket


def test_check_ip(client: httpx.Client, dns: DnsTestServer) -> None:
    response = client.get("/api/v1/ip/192.0.2.30?lang=fr")
    assert response.status_code == 200
    assert response.json()["ip"] == "192.0.2.30"
    bad = client.get("/api/v1/ip/not-an-ip")
    assert problem_of(bad)["field"] == "ip"


def test_provider_of_a_domain(client: httpx.Client) -> None:
    body = client.get("/api/v1/provider/vanity.prov.test").json()
    assert body["group"] == "google"
    assert body["known_provider"] is True
    assert body["mx_hosts"][0] == "aspmx.l.google.com"


def test_spool_endpoints_without_a_spool_say_not_configured(client: httpx.Client) -> None:
    response = client.get("/api/v1/spool")
    assert response.status_code == 404
    assert problem_of(response)["code"] == "not-configured"


def test_spool_status_per_provider(serve: Callable[..., LiveServer], spool_path: Path) -> None:
    live = serve(spool=str(spool_path))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    before = spool_path.read_bytes()
    body = httpx.get(live.url + "/api/v1/spool", headers=headers, timeout=30).json()
    assert body["states"]["delivered"] == 12
    google = next(p for p in body["progress"]["providers"] if p["group"] == "google")
    assert google["paused_until"] is not None
    assert "unusual rate" in google["why"]
    assert google["rate_per_hour"] > 0
    hours = {g["group"]: g for g in body["last_24h"]["groups"]}
    assert sum(hours["google"]["delivered"]) == 9
    assert sum(hours["google"]["deferred"]) == 3
    providers = httpx.get(live.url + "/api/v1/spool/providers", headers=headers).json()
    assert {p["group"] for p in providers["providers"]} >= {"google", "orange"}
    assert spool_path.read_bytes() == before  # read-only


def test_metrics_in_prometheus_text(serve: Callable[..., LiveServer], spool_path: Path) -> None:
    live = serve(spool=str(spool_path))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    httpx.get(live.url + "/api/v1/audit/example.org", headers=headers, timeout=30)
    text = httpx.get(live.url + "/metrics", headers=headers, timeout=30).text
    assert 'mailcheck_audits_total{status="warn"} 1' in text
    assert "mailcheck_audits_concurrency_limit 4" in text
    assert 'mailcheck_queue_recipients{state="delivered"} 12' in text
    assert 'mailcheck_provider_paused{provider="google"} 1' in text
    assert 'mailcheck_provider_deferrals_24h{provider="google"} 3' in text
    assert 'mailcheck_provider_deliveries_24h{provider="google"} 9' in text
    for line in text.splitlines():
        assert line.startswith("#") or line.startswith("mailcheck_"), line


def test_unknown_api_path_is_a_problem(client: httpx.Client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert problem_of(response)["code"] == "not-found"


def test_security_headers_on_every_response(client: httpx.Client) -> None:
    for path in ("/healthz", "/api/v1/audit/example.org", "/", "/static/app.js"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"


LOCALIZED = ("language", "message_localized", "why_localized", "fix_localized")


def test_the_report_validates_with_and_without_the_localized_fields(client: httpx.Client) -> None:
    import jsonschema

    from mailcheck import report_schema

    report = client.get("/api/v1/audit/example.org?lang=fr").json()
    jsonschema.validate(report, report_schema())  # the schema lists the localized fields
    for section in (report, report["spf"], report["dmarc"], report["dkim"], report["mx"]):
        for finding in section["findings"]:
            assert finding["language"] == "fr"
            assert all(finding.pop(name) is not None for name in LOCALIZED)
    jsonschema.validate(report, report_schema())  # and a plain report still validates


def test_wrong_method_is_a_problem(client: httpx.Client) -> None:
    response = client.post("/api/v1/audit/example.org")
    assert response.status_code == 405
    assert problem_of(response)["code"] == "method-not-allowed"
