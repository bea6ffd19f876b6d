"""The pages through httpx: language by Accept-Language, usable without JavaScript,
autoescaped, embeddable, the strict CSP."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from mailcheck.serve import create_app
from tests.dnsserver import DnsTestServer
from tests.serve.conftest import base_config
from tests.serve.live import LiveServer


def test_accept_language_chooses_french(live: LiveServer) -> None:
    page = httpx.get(live.url + "/", headers={"Accept-Language": "fr-BE,fr;q=0.9"})
    assert page.headers["content-language"] == "fr"
    assert "Vérifier la configuration mail d’un domaine" in page.text
    assert "Accept-Language" in page.headers["vary"]


def test_default_language_from_the_config(serve: Callable[..., LiveServer]) -> None:
    live = serve(language="fr")
    assert httpx.get(live.url + "/").headers["content-language"] == "fr"
    assert httpx.get(live.url + "/?lang=en").headers["content-language"] == "en"


def test_report_without_javascript_has_the_records_as_text(live: LiveServer) -> None:
    page = httpx.get(live.url + "/report?domain=example.org", timeout=30).text
    # The copy button waits hidden for app.js; the record is there to select.
    assert re.search(
        r'<button type="button" class="copy noprint" data-copy="fix-1" [^>]*hidden>', page
    )
    assert '<pre id="fix-1" class="record">_dmarc.example.org. 3600 IN TXT' in page
    assert '<script src="/static/app.js" defer></script>' in page
    assert "<script>" not in page
    assert " style=" not in page
    assert "onclick" not in page


def test_hostile_records_are_escaped_in_the_html(live: LiveServer) -> None:
    page = httpx.get(live.url + "/report?domain=hostile.servetest", timeout=30).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page
    assert page.count("<script") == 1  # app.js only


def test_a_hostile_domain_is_refused_with_the_form_again(live: LiveServer) -> None:
    hostile = '"><img src=x onerror=alert(1)>'
    page = httpx.get(live.url + "/report", params={"domain": hostile})
    assert page.status_code == 400
    assert 'value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"' in page.text
    assert "<img" not in page.text


def test_embed_fragment_has_no_chrome(live: LiveServer) -> None:
    page = httpx.get(live.url + "/report?domain=example.org&embed=1", timeout=30).text
    assert '<body class="embed">' in page
    assert "<header" not in page
    assert "<footer" not in page


def test_frame_ancestors_allow_the_panel(serve: Callable[..., LiveServer]) -> None:
    live = serve(frame_ancestors=("https://panel.example",))
    headers = httpx.get(live.url + "/").headers
    assert "frame-ancestors 'self' https://panel.example" in headers["content-security-policy"]
    assert "x-frame-options" not in headers


def test_dashboard_without_a_spool_says_so(live: LiveServer) -> None:
    page = httpx.get(live.url + "/sending?lang=fr")
    assert page.status_code == 404
    assert "Aucune file d&#39;envoi n&#39;est configurée sur ce serveur." in page.text


def test_served_under_a_prefix_links_keep_it(dns: DnsTestServer) -> None:
    outer = Starlette(routes=[Mount("/mailcheck", app=create_app(base_config(dns)))])
    with LiveServer(outer) as live:
        page = httpx.get(live.url + "/mailcheck/?lang=en").text
        assert 'href="/mailcheck/static/app.css"' in page
        assert 'action="/mailcheck/report"' in page
        assert httpx.get(live.url + "/mailcheck/static/app.js").status_code == 200
        api = httpx.get(live.url + "/mailcheck/api/v1/nothing")
        assert api.headers["content-type"] == "application/problem+json"


def test_a_dns_failure_shows_could_not_check_never_missing(
    live: LiveServer, dns: DnsTestServer
) -> None:
    dns.behave("good.audittest", servfail=True)
    page = httpx.get(live.url + "/report?domain=good.audittest&lang=en", timeout=30).text
    assert '<span class="badge badge-unknown" data-check="spf">could not check</span>' in page
    assert "spf.missing" not in page
    assert "dmarc.missing" not in page
    french = httpx.get(live.url + "/report?domain=good.audittest&lang=fr", timeout=30).text
    assert "vérification impossible" in french
