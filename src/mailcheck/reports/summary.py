"""``summarize(store, domain)``: a domain's DMARC and TLS reports, explained.

Totals come from the store (per day, per reporter, per source IP). Each source is named
(its PTR name), traced to what authorises it in the domain's own SPF tree and MX hosts
(:mod:`.sources`), classified and grouped (:mod:`.classify`); policy readiness says what
``p=quarantine`` or ``p=reject`` would do today (:mod:`.readiness`); findings are
``report.*`` codes (:mod:`.findings`).

Example:
    >>> async with ReportStore("reports.db") as store:  # doctest: +SKIP
    ...     summary = await summarize(store, "asso.example", resolver=DnsResolver())
    ...     print(summary.readiness.ready_for)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from mailcheck.errors import ConfigError
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import status_of
from mailcheck.reports.classify import classify_source, group_sources
from mailcheck.reports.findings import summary_findings
from mailcheck.reports.readiness import judge_readiness
from mailcheck.reports.services import Catalogue, load_services
from mailcheck.reports.sources import Authorisations, authorisations, reverse_names
from mailcheck.reports.store import ReportStore
from mailcheck.reports.summary_model import DmarcSummary, SourceSummary, TlsSummary, rate

__all__ = ["DEFAULT_PERIOD", "MAX_NAMED_SOURCES", "summarize", "summarize_sync"]

#: The period summarised when ``since`` is not given: 30 days.
DEFAULT_PERIOD = 30 * 86400.0
#: Sources whose PTR name is looked up (the busiest first); the rest are counted, not named.
MAX_NAMED_SOURCES = 500
#: Sources listed one by one in the summary (every source counts in its group).
MAX_LISTED_SOURCES = 200


def _domain(domain: str) -> str:
    name = domain.strip().lower().rstrip(".")
    if not name or any(c.isspace() or c in "/\\@" for c in name):
        raise ConfigError(f"{domain!r} is not a domain name")
    return name


async def summarize(
    store: ReportStore,
    domain: str,
    /,
    *,
    since: float | None = None,
    until: float | None = None,
    resolver: Resolver | None = None,
    egress: Sequence[str] = (),
    catalogue: Catalogue | None = None,
) -> DmarcSummary:
    """Explain what receivers reported about ``domain`` between ``since`` and ``until``.

    Args:
        store: the report store.
        domain: a managed domain (reports kept apart as foreign never count).
        since: Unix time; default 30 days before ``until``.
        until: Unix time; default now.
        resolver: DNS for the domain's SPF tree, MX hosts and the sources' PTR names;
            without one, sources are not traced nor named (only what the reports say).
        egress: your outgoing IPs or networks (counted as your infrastructure).
        catalogue: known services and forwarders (default: the built-in one).

    Raises:
        ConfigError: a malformed domain, egress network or period.
        StoreError: the store failed.
    """
    name = _domain(domain)
    end = time.time() if until is None else until
    start = end - DEFAULT_PERIOD if since is None else since
    if not start < end:
        raise ConfigError("summary: since must be before until")
    catalogue = catalogue or load_services()
    days = await store.days(name, since=start, until=end)
    reporters = await store.reporters(name, since=start, until=end)
    counts = await store.sources(name, since=start, until=end)
    tls_rows = await store.tls(name, since=start, until=end)
    policy = await store.published_policy(name, since=start)
    auth: Authorisations | None = None
    names: dict[str, tuple[str | None, bool]] = {}
    if resolver is not None:
        try:
            async with asyncio.TaskGroup() as group:
                auth_task = group.create_task(
                    authorisations(name, resolver=resolver, egress=egress, catalogue=catalogue)
                )
                names_task = group.create_task(
                    reverse_names([c.ip for c in counts[:MAX_NAMED_SOURCES]], resolver=resolver)
                )
        except* ValueError as group_error:
            raise ConfigError(f"egress: {group_error.exceptions[0]}") from None
        auth, names = auth_task.result(), names_task.result()
    complete = auth is not None and auth.complete
    sources: list[SourceSummary] = []
    for row in counts:
        ptr, known = names.get(row.ip, (None, False))
        sources.append(
            classify_source(
                row,
                grant=auth.grant(row.ip) if auth is not None else None,
                name=ptr,
                name_known=known,
                catalogue=catalogue,
                complete=complete,
            )
        )
    groups = group_sources(sources, domain=name)
    readiness = judge_readiness(name, policy=(policy or {}).get("p"), groups=groups, days=len(days))
    tls = tuple(
        TlsSummary(
            policy_domain=r.policy_domain,
            policy_type=r.policy_type,
            successful=r.successful,
            failed=r.failed,
            failure_rate=rate(r.failed, r.successful + r.failed),
            failure_types=r.failure_types,
            mx_hosts=r.mx_hosts,
        )
        for r in tls_rows
    )
    messages = sum(d.messages for d in days)
    passed = sum(d.passed for d in days)
    errors = auth.errors if auth is not None else ()
    findings = summary_findings(
        name, messages=messages, groups=groups, readiness=readiness, tls=tls, errors=errors
    )
    categories: dict[str, int] = {}
    for source in sources:
        categories[source.category.value] = (
            categories.get(source.category.value, 0) + source.messages
        )
    return DmarcSummary(
        domain=name,
        since=start,
        until=end,
        status=status_of(findings),
        reports=sum(r.reports for r in reporters),
        messages=messages,
        passed=passed,
        pass_rate=rate(passed, messages),
        days=days,
        reporters=reporters,
        groups=groups,
        sources=tuple(sources[:MAX_LISTED_SOURCES]),
        categories=tuple(sorted(categories.items(), key=lambda kv: -kv[1])),
        readiness=readiness,
        tls=tls,
        findings=findings,
        errors=errors,
    )


def summarize_sync(store_path: str, domain: str, /, **options: object) -> DmarcSummary:
    """Blocking twin of :func:`summarize` opening the store at ``store_path``.

    Raises:
        SyncCallError: called inside a running event loop.
    """
    from mailcheck.sync import run_sync

    async def run() -> DmarcSummary:
        async with ReportStore(store_path) as store:
            return await summarize(store, domain, **options)  # type: ignore[arg-type]

    return run_sync("summarize_sync", run())
