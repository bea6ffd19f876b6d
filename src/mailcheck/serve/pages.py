"""The pages: home, domain report, sending dashboard, error page (Jinja2, autoescaped).

Usable without JavaScript: forms are plain GET forms, the "copy" buttons are hidden until
``app.js`` shows them, and the records to copy are selectable text. Each page renders a
chrome-less fragment with ``?embed=1`` for a control panel's iframe. Every string from DNS,
a remote server or the request goes through autoescaping; nothing is marked safe.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from mailcheck import __version__
from mailcheck.errors import ConfigError, SpoolError
from mailcheck.locale import LANGUAGES, translations
from mailcheck.serve.auditor import validate_domain
from mailcheck.serve.chart import chart
from mailcheck.serve.present import badges, findings_worst_first, records_read, status_label
from mailcheck.serve.problems import Problem
from mailcheck.serve.state import language_of, root_of, service_of

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,  # every template, whatever its name
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def code_spans(text: str) -> Markup:
    """Text from the findings reference, its `code spans` as ``<code>``; every part is
    escaped first (the only markup added is the ``<code>`` element itself)."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: no code span at all
        return escape(text)
    code = Markup("<code>%s</code>")
    return Markup("").join(
        code % part if index % 2 else escape(part) for index, part in enumerate(parts)
    )


_ENV.filters["code_spans"] = code_spans


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    language = language_of(request)
    gettext = translations(language).gettext
    root = root_of(request)
    embed = request.query_params.get("embed") == "1"

    def link(path: str, **params: Any) -> str:
        """A URL on this service, keeping the language and the embedding."""
        query = {k: v for k, v in params.items() if v not in (None, "")}
        query.setdefault("lang", language)
        if embed:
            query["embed"] = "1"
        return root + path + ("?" + urlencode(query) if query else "")

    def switch(language_wanted: str) -> str:
        # Switching language never re-audits: "fresh" is not carried over.
        query = {k: v for k, v in request.query_params.items() if k != "fresh"}
        query["lang"] = language_wanted
        return root + request.url.path[len(root) :] + "?" + urlencode(query)

    html = _ENV.get_template(name).render(
        _=gettext, language=language, languages=LANGUAGES, embed=embed, root=root,
        link=link, switch=switch, version=__version__,
        status_label=lambda s: status_label(s, language), **context,
    )  # fmt: skip
    return HTMLResponse(html, status_code=status, headers={
        "Content-Language": language, "Cache-Control": "no-store", "Vary": "Accept-Language",
    })  # fmt: skip


def _visit(request: Request) -> None:
    """The pages' rate limit, per client address."""
    client = request.client.host if request.client else "-"
    service_of(request).page_limiter.take(f"page:{client}")


async def home(request: Request) -> Response:
    """``GET /``: the form asking for a domain."""
    return _render(request, "home.html", domain="", error="")


async def report(request: Request) -> Response:
    """``GET /report?domain=D[&fresh=1][&embed=1][&lang=fr]``: the domain report."""
    raw = request.query_params.get("domain", "")
    try:
        domain = validate_domain(raw)
    except Problem as problem:
        _ = translations(language_of(request)).gettext
        message = _("This is not a domain name. Type a name such as example.org.")
        return _render(request, "home.html", status=problem.status, domain=raw, error=message)
    _visit(request)
    service = service_of(request)
    entry = await service.auditor.report(domain, fresh=request.query_params.get("fresh") == "1")
    language = language_of(request)
    age = max(0, int(service.config.clock() - entry.at))
    return _render(
        request, "report.html", report=entry.report, domain=domain, age=age,
        badges=badges(entry.report), findings=findings_worst_first(entry.report, language),
        records=records_read(entry.report),
    )  # fmt: skip


async def sending(request: Request) -> Response:
    """``GET /sending[?embed=1]``: per provider, delivered / waiting / paused, 24 h chart."""
    _visit(request)
    service = service_of(request)
    if service.watcher is None:
        _ = translations(language_of(request)).gettext
        raise Problem(404, "not-configured", _("No spool is configured on this server."))
    try:
        view = await service.watcher.look()
    except (ConfigError, SpoolError) as exc:
        raise Problem(503, "spool-unreadable", str(exc)) from None
    charts = [chart(h, view.start) for h in view.hourly]
    return _render(
        request, "sending.html", view=view, charts=charts,
        when=lambda t: "-" if t is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t)),
    )  # fmt: skip


async def favicon(request: Request) -> Response:
    """Browsers ask for it; the icon lives in /static."""
    return RedirectResponse(root_of(request) + "/static/favicon.svg", 301)


def unsubscribe_page(request: Request, *, token: str, done: bool) -> Response:
    """The RFC 8058 landing page: a button that POSTs the one-click body, or "done"."""
    return _render(request, "unsubscribe.html", token=token, done=done)


def error_page(request: Request, problem: Problem) -> Response:
    """An error as a page (the API answers problem details instead)."""
    return _render(request, "error.html", status=problem.status, problem=problem)


ROUTES = [
    Route("/", home),
    Route("/report", report),
    Route("/sending", sending),
    Route("/favicon.ico", favicon),
]
