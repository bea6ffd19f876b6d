"""The pages in a real headless Chromium (the distribution's /usr/bin/chromium) driven by
Playwright: badges and findings, "copy" into the clipboard, language switch, a hostile
domain and hostile DNS records rendered as text, no console errors. Each test saves a
screenshot of its page; with ``pytest --screenshots`` they are saved to docs/img/ (the
documentation's pictures come from such a run), else to a temporary directory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.live import LiveServer

CHROMIUM = "/usr/bin/chromium"
IMAGES = Path(__file__).parent.parent.parent / "docs" / "img"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    """One Chromium for the module, with a fresh profile; never a downloaded browser."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/need-system (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="mailcheck-chromium-") as profile,
        sync_playwright() as p,
    ):
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1100, "height": 900}, locale="en-GB",
        )  # fmt: skip
        yield context
        context.close()


class Page:
    """A browser tab that records console errors, page errors and dialogs."""

    def __init__(self, context: Any, live: LiveServer, images: Path) -> None:
        self.live = live
        self.images = images
        self.tab = context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.tab.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.tab.on("pageerror", lambda e: self.errors.append(str(e)))
        self.tab.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, path: str) -> Any:
        return self.tab.goto(self.live.url + path)

    def shot(self, name: str) -> None:
        self.images.mkdir(parents=True, exist_ok=True)
        self.tab.screenshot(path=str(self.images / name), full_page=True)


@pytest.fixture(scope="module")
def images(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: docs/img/ with ``--screenshots``, else a temporary directory."""
    if request.config.getoption("--screenshots"):
        return IMAGES
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def page(browser_context: Any, serve: Callable[..., LiveServer], images: Path) -> Iterator[Page]:
    tab = Page(browser_context, serve(reputation=False), images)
    yield tab
    tab.tab.close()


def test_domain_report_badges_and_findings_worst_first(page: Page) -> None:
    response = page.open("/report?domain=example.org&lang=en")
    assert response.status == 200
    badges = {
        b.get_attribute("data-check"): b.inner_text()
        for b in page.tab.locator(".badges .badge").all()
    }
    core = {k: v for k, v in badges.items() if k in ("spf", "dmarc", "dkim", "mx")}
    assert core == {"spf": "OK", "dmarc": "to improve", "dkim": "to improve", "mx": "OK"}
    codes = page.tab.locator(".finding").evaluate_all("els => els.map(e => e.dataset.code)")
    assert {"dmarc.policy-none", "dkim.key-weak"} <= set(codes)
    severities = page.tab.locator(".finding").evaluate_all(
        "els => els.map(e => e.className.match(/severity-(\\w+)/)[1])"
    )
    ranks = [{"error": 2, "warning": 1, "info": 0}[s] for s in severities]
    assert ranks == sorted(ranks, reverse=True)
    records = page.tab.locator("table.records").inner_text()
    assert "v=spf1 mx include:_spf.mailhost.example ~all" in records
    assert "10 mx1.mailhost.example" in records
    assert page.tab.locator("button.copy").first.is_visible()
    page.shot("serve-report.png")
    assert page.errors == []


def test_copy_puts_the_record_in_the_clipboard(page: Page, browser_context: Any) -> None:
    browser_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=page.live.url)
    page.open("/report?domain=example.org")
    finding = page.tab.locator('.finding[data-code="dmarc.policy-none"]')
    expected = finding.locator("pre.record").inner_text()
    finding.locator("button.copy").click()
    page.tab.wait_for_function("document.querySelector('button.copied') !== null")
    assert page.tab.evaluate("navigator.clipboard.readText()") == expected
    assert expected.startswith('_dmarc.example.org. 3600 IN TXT "v=DMARC1; p=quarantine')
    assert page.errors == []


def test_language_switch_to_french(page: Page) -> None:
    page.open("/report?domain=example.org&lang=en")
    page.tab.get_by_role("link", name="Français").click()
    page.tab.wait_for_url("**lang=fr**")
    assert page.tab.locator("html").get_attribute("lang") == "fr"
    assert page.tab.locator("h1").inner_text() == "Configuration mail de example.org"
    titles = page.tab.locator(".finding-title").all_inner_texts()
    assert "La politique DMARC est none (simple observation)" in titles
    assert page.tab.locator('.badge[data-check="dmarc"]').inner_text() == "à améliorer"
    assert page.tab.get_by_text("Pourquoi c’est important :").count() >= 1
    page.shot("serve-report-fr.png")
    assert page.errors == []


def test_a_hostile_domain_gets_a_clear_error(page: Page) -> None:
    hostile = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    page.open("/?lang=en")
    page.tab.fill("#domain", hostile)
    with page.tab.expect_navigation() as navigation:
        page.tab.get_by_role("button", name="Check").click()
    assert navigation.value.status == 400
    assert page.tab.locator("#domain-error").inner_text() == (
        "This is not a domain name. Type a name such as example.org."
    )
    assert page.tab.input_value("#domain") == hostile  # kept as typed, as text
    assert page.tab.locator("main img").count() == 0
    assert page.dialogs == []
    page.shot("serve-error.png")
    # The 400 of the document is the only thing Chromium reports.
    assert [e for e in page.errors if "status of 400" not in e] == []


def test_hostile_txt_records_are_rendered_as_text(page: Page) -> None:
    page.open("/report?domain=hostile.servetest")
    records = page.tab.locator("table.records").inner_text()
    assert "<script>alert(1)</script>" in records
    assert '"><img src=x onerror=alert(2)>' in records
    assert page.tab.locator("main img").count() == 0
    assert page.tab.locator("main script").count() == 0
    assert page.dialogs == []
    page.shot("serve-hostile.png")
    assert page.errors == []


def test_sending_dashboard(
    browser_context: Any, serve: Callable[..., LiveServer], spool_path: Path, images: Path
) -> None:
    tab = Page(browser_context, serve(spool=str(spool_path)), images)
    tab.open("/sending?lang=en")
    google = tab.tab.locator('tr[data-provider="google"]')
    cells = google.locator("td").all_inner_texts()
    assert cells[:3] == ["google", "9", "3"]
    assert "UTC" in cells[3]  # paused until
    assert "<script>alert(6)</script>" in cells[4]  # the reply, as text
    assert "/ hour" in cells[5]
    assert tab.tab.locator("figure.chart").count() >= 2
    assert tab.tab.locator("figure.chart rect.bar-delivered").count() > 0
    assert tab.tab.locator("figure.chart rect.bar-deferred").count() > 0
    assert tab.tab.locator("main img, main script").count() == 0
    assert tab.dialogs == []
    tab.shot("serve-sending.png")
    assert tab.errors == []
    tab.tab.close()


def test_embed_fragment_has_no_chrome(page: Page) -> None:
    page.open("/report?domain=example.org&embed=1")
    assert page.tab.locator("header.chrome").count() == 0
    assert page.tab.locator("footer.chrome").count() == 0
    assert page.tab.locator(".finding").count() >= 2
    # The re-check form keeps the fragment.
    assert page.tab.locator('form.recheck input[name="embed"]').get_attribute("value") == "1"
    page.tab.set_viewport_size({"width": 700, "height": 700})
    page.shot("serve-embed.png")
    assert page.errors == []


def test_recheck_button_runs_the_report_again(page: Page) -> None:
    page.open("/report?domain=good.audittest")
    with page.tab.expect_navigation():
        page.tab.get_by_role("button", name="Re-check now").click()
    assert "fresh=1" in page.tab.url
    assert page.tab.locator("h1").inner_text() == "Mail setup of good.audittest"
    assert page.errors == []


def test_unsubscribe_page_in_french(
    browser_context: Any, serve: Callable[..., LiveServer], spool_path: Path, images: Path
) -> None:
    from mailcheck.hygiene.tokens import unsubscribe_token

    secret = b"unsubscribe-secret-0123456789abcdef"
    tab = Page(browser_context, serve(spool=str(spool_path), unsubscribe_secret=secret), images)
    token = unsubscribe_token("chloe@example.net", list="news", secret=secret)
    tab.open(f"/unsubscribe?t={token}&lang=fr")
    tab.shot("serve-unsubscribe.png")
    with tab.tab.expect_navigation() as navigation:
        tab.tab.get_by_role("button", name="Se désabonner").click()
    assert navigation.value.status == 200
    assert tab.tab.locator("h1").inner_text() == "Vous êtes désabonné·e"
    assert tab.errors == []
    tab.tab.close()


def test_printable_view_hides_the_controls(page: Page) -> None:
    page.open("/report?domain=example.org")
    page.tab.emulate_media(media="print")
    assert not page.tab.locator("header.chrome").is_visible()
    assert not page.tab.locator("form.recheck").is_visible()
    assert not page.tab.locator("button.copy").first.is_visible()
    assert page.tab.locator(".finding").first.is_visible()
    page.shot("serve-print.png")
    page.tab.emulate_media(media="screen")
    assert page.errors == []
