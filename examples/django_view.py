"""A control panel written with Django shows a customer's domain report, in their language.

    .venv/bin/python examples/django_view.py [--lang fr] [DOMAIN]   # offline, example zones

Two pieces:

* ``domain_report_context`` is all the panel needs from mailcheck: the report, its findings
  worst first with their text in the customer's language (title, why, general fix) and the
  concrete record to publish. It is plain Python; run this file to see it work offline.
* ``DomainReportView`` (defined only when Django is installed; mailcheck does not depend
  on it) renders it in an async view, using ``request.LANGUAGE_CODE`` from Django's
  ``LocaleMiddleware``. A sync view would call ``audit_domain_sync`` instead: the same
  arguments, no event loop needed (never inside an async view: it raises SyncCallError).

The report is cached per domain in Django's cache for five minutes: an audit asks DNS a
few dozen questions, a page view should not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from mailcheck import Resolver, ZoneResolver, audit_domain
from mailcheck.locale import finding_text
from mailcheck.model import sort_findings

ZONES = Path(__file__).parent / "zones"


async def domain_report_context(domain: str, language: str, resolver: Resolver) -> dict[str, Any]:
    """What a template needs: status per check, findings worst first, localized."""
    report = await audit_domain(domain, resolver=resolver, reputation=False)
    findings = []
    for finding in sort_findings(report.findings):
        text = finding_text(finding.code, language)
        findings.append({
            "code": finding.code,            # stable: key your own alerts on it
            "severity": str(finding.severity),
            "title": text.title,
            "why": text.why,
            "how_to_fix": text.fix,
            "record_to_publish": finding.fix,  # the concrete value, never translated
        })  # fmt: skip
    return {
        "domain": report.domain,
        "status": str(report.status),
        "checks": {
            name: str(getattr(report, name).status) for name in ("spf", "dmarc", "dkim", "mx")
        },
        "findings": findings,
    }


try:  # the Django part: only when Django is there
    from django.core.cache import cache
    from django.http import HttpRequest, HttpResponse
    from django.shortcuts import render
    from django.views import View

    from mailcheck import DnsResolver, ParseError

    RESOLVER = DnsResolver(["127.0.0.1"])  # your local validating resolver (unbound)

    class DomainReportView(View):
        """``path("mail/<str:domain>/", DomainReportView.as_view())``; template below."""

        async def get(self, request: HttpRequest, domain: str) -> HttpResponse:
            language = "fr" if getattr(request, "LANGUAGE_CODE", "en").startswith("fr") else "en"
            key = f"mailcheck:{domain}:{language}"
            context = await cache.aget(key)
            if context is None:
                try:
                    context = await domain_report_context(domain, language, RESOLVER)
                except ParseError:
                    return HttpResponse("not a domain name", status=400)
                await cache.aset(key, context, 300)
            # templates/mail/report.html, autoescaped by Django:
            #   {% for f in findings %}<h3>{{ f.title }}</h3><p>{{ f.why }}</p>
            #   {% if f.record_to_publish %}<pre>{{ f.record_to_publish }}</pre>{% endif %}
            #   {% endfor %}
            return render(request, "mail/report.html", context)

except ImportError:
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description="The view's context, offline.")
    parser.add_argument("domain", nargs="?", default="example.org")
    parser.add_argument("--lang", choices=("en", "fr"), default="en")
    args = parser.parse_args()
    resolver = ZoneResolver(sorted(ZONES.glob("*.zone")))
    context = asyncio.run(domain_report_context(args.domain, args.lang, resolver))
    print(json.dumps(context, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
