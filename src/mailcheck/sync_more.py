"""Blocking twins of the coroutines of the later packages: lists, lint, reports, tls.

They are :mod:`mailcheck.sync`'s twins in every way (same arguments as their coroutine,
checked by a test; :class:`~mailcheck.errors.SyncCallError` inside a running event loop)
and are reached as ``mailcheck.sync.<name>_sync`` too: they live here only so that each
module stays small. Each is also exported by the package of its coroutine::

    from mailcheck.lint import lint_message_sync
    report = lint_message_sync(raw, profiles=["gmail-bulk"], resolver=resolver)

This module imports :mod:`mailcheck.sync` (for :func:`~mailcheck.sync.run_sync`), never
the reverse at import time: ``mailcheck.sync`` finds these names on first use (PEP 562).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

# Light modules (no DNS stack, no httpx, no cryptography): the defaults below are theirs.
from mailcheck.errors import SyncCallError
from mailcheck.lint.profiles import DEFAULT_PROFILES
from mailcheck.lists.types import MitigationAction
from mailcheck.sync import _late, run_sync

if TYPE_CHECKING:
    import datetime
    from pathlib import Path

    from mailcheck.lint.profiles import ProfileSet
    from mailcheck.lint.types import LintReport
    from mailcheck.lists.enforcers import Enforcers
    from mailcheck.lists.types import Mitigation
    from mailcheck.lookup import Resolver
    from mailcheck.reports.inputs import Mailbox
    from mailcheck.reports.services import Catalogue
    from mailcheck.reports.store import IngestSummary, ReportStore
    from mailcheck.reports.summary_model import DmarcSummary
    from mailcheck.tls.audit import MxTargets, TlsOptions
    from mailcheck.tls.dnssec import DnssecChecker
    from mailcheck.tls.mtasts_fetch import PolicyFetch
    from mailcheck.tls.types import (
        DaneResult,
        MtaStsResult,
        TlsProbe,
        TlsRptResult,
        TransportResult,
    )

__all__ = [
    "audit_dane_sync",
    "audit_mtasts_sync",
    "audit_tlsrpt_sync",
    "audit_transport_sync",
    "fetch_policy_sync",
    "ingest_mailbox_sync",
    "lint_message_sync",
    "mitigation_for_sync",
    "probe_many_sync",
    "probe_starttls_sync",
    "summarize_sync",
]

# The tls defaults are written out rather than imported: their modules load httpx and
# cryptography. tests/test_public_api.py fails if one drifts from its coroutine's
# (mtasts_fetch.DEFAULT_FETCH_TIMEOUT and MAX_POLICY_SIZE, starttls.DEFAULT_PROBE_TIMEOUT
# and DEFAULT_PROBE_CONCURRENCY).
_FETCH_TIMEOUT = 10.0
_MAX_POLICY_SIZE = 65536
_PROBE_TIMEOUT = 20.0
_PROBE_CONCURRENCY = 10


def mitigation_for_sync(
    from_address: str,
    /,
    *,
    resolver: Resolver,
    action: MitigationAction | str = MitigationAction.REWRITE_FROM,
    quarantine: bool = True,
    enforcers: Enforcers | None = None,
) -> Mitigation:
    """Blocking twin of :func:`mailcheck.lists.mitigation_for` (same arguments)."""
    coroutine = _late("mailcheck.lists.policy", "mitigation_for")(
        from_address, resolver=resolver, action=action, quarantine=quarantine, enforcers=enforcers
    )
    result: Mitigation = run_sync("mitigation_for", coroutine)
    return result


def lint_message_sync(
    raw: bytes,
    /,
    *,
    profiles: Sequence[str] = DEFAULT_PROFILES,
    mail_from: str | None = None,
    ip: str | None = None,
    resolver: Resolver | None = None,
    profile_set: ProfileSet | None = None,
) -> LintReport:
    """Blocking twin of :func:`mailcheck.lint.lint_message` (same arguments)."""
    coroutine = _late("mailcheck.lint.api", "lint_message")(
        raw,
        profiles=profiles,
        mail_from=mail_from,
        ip=ip,
        resolver=resolver,
        profile_set=profile_set,
    )
    result: LintReport = run_sync("lint_message", coroutine)
    return result


def audit_transport_sync(
    domain: str,
    /,
    *,
    resolver: Resolver,
    hosts: MxTargets | Awaitable[MxTargets],
    options: TlsOptions | None = None,
) -> TransportResult:
    """Blocking twin of :func:`mailcheck.tls.audit_transport` (same arguments).

    ``hosts`` given as an awaitable must be one the new event loop can await (a coroutine
    object, not a task or future of another loop).
    """
    coroutine = _late("mailcheck.tls.audit", "audit_transport")(
        domain, resolver=resolver, hosts=hosts, options=options
    )
    try:
        result: TransportResult = run_sync("audit_transport", coroutine)
    except SyncCallError:
        if inspect.iscoroutine(hosts):
            hosts.close()  # never awaited either: close it so Python does not warn
        raise
    return result


def audit_dane_sync(
    hosts: Sequence[str],
    /,
    *,
    resolver: Resolver,
    checker: DnssecChecker | None = None,
    probes: Sequence[TlsProbe] = (),
) -> DaneResult:
    """Blocking twin of :func:`mailcheck.tls.audit_dane` (same arguments)."""
    coroutine = _late("mailcheck.tls.dane", "audit_dane")(
        hosts, resolver=resolver, checker=checker, probes=probes
    )
    result: DaneResult = run_sync("audit_dane", coroutine)
    return result


def audit_mtasts_sync(
    domain: str,
    /,
    *,
    resolver: Resolver,
    mx_hosts: Sequence[str],
    probes: Sequence[TlsProbe] = (),
    timeout: float = _FETCH_TIMEOUT,
    allow_private: bool = False,
    cafile: str | Path | None = None,
    https_port: int = 443,
) -> MtaStsResult:
    """Blocking twin of :func:`mailcheck.tls.audit_mtasts` (same arguments)."""
    coroutine = _late("mailcheck.tls.mtasts", "audit_mtasts")(
        domain,
        resolver=resolver,
        mx_hosts=mx_hosts,
        probes=probes,
        timeout=timeout,
        allow_private=allow_private,
        cafile=cafile,
        https_port=https_port,
    )
    result: MtaStsResult = run_sync("audit_mtasts", coroutine)
    return result


def audit_tlsrpt_sync(domain: str, /, *, resolver: Resolver) -> TlsRptResult:
    """Blocking twin of :func:`mailcheck.tls.audit_tlsrpt` (same arguments)."""
    coroutine = _late("mailcheck.tls.tlsrpt", "audit_tlsrpt")(domain, resolver=resolver)
    result: TlsRptResult = run_sync("audit_tlsrpt", coroutine)
    return result


def fetch_policy_sync(
    domain: str,
    /,
    *,
    resolver: Resolver,
    timeout: float = _FETCH_TIMEOUT,
    max_size: int = _MAX_POLICY_SIZE,
    allow_private: bool = False,
    cafile: str | Path | None = None,
    port: int = 443,
) -> PolicyFetch:
    """Blocking twin of :func:`mailcheck.tls.fetch_policy` (same arguments)."""
    coroutine = _late("mailcheck.tls.mtasts_fetch", "fetch_policy")(
        domain,
        resolver=resolver,
        timeout=timeout,
        max_size=max_size,
        allow_private=allow_private,
        cafile=cafile,
        port=port,
    )
    result: PolicyFetch = run_sync("fetch_policy", coroutine)
    return result


def probe_starttls_sync(
    host: str,
    /,
    *,
    address: str | None = None,
    port: int = 25,
    timeout: float = _PROBE_TIMEOUT,
    cafile: str | Path | None = None,
    helo: str = "mailcheck.invalid",
    now: datetime.datetime | None = None,
) -> TlsProbe:
    """Blocking twin of :func:`mailcheck.tls.probe_starttls` (same arguments)."""
    coroutine = _late("mailcheck.tls.starttls", "probe_starttls")(
        host, address=address, port=port, timeout=timeout, cafile=cafile, helo=helo, now=now
    )
    result: TlsProbe = run_sync("probe_starttls", coroutine)
    return result


def probe_many_sync(
    targets: Sequence[tuple[str, str]],
    /,
    *,
    port: int = 25,
    timeout: float = _PROBE_TIMEOUT,
    cafile: str | Path | None = None,
    concurrency: int = _PROBE_CONCURRENCY,
    now: datetime.datetime | None = None,
) -> tuple[TlsProbe, ...]:
    """Blocking twin of :func:`mailcheck.tls.probe_many` (same arguments)."""
    coroutine = _late("mailcheck.tls.starttls", "probe_many")(
        targets, port=port, timeout=timeout, cafile=cafile, concurrency=concurrency, now=now
    )
    result: tuple[TlsProbe, ...] = run_sync("probe_many", coroutine)
    return result


def summarize_sync(
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
    """Blocking twin of :func:`mailcheck.reports.summarize` (same arguments)."""
    coroutine = _late("mailcheck.reports.summary", "summarize")(
        store, domain, since=since, until=until, resolver=resolver, egress=egress,
        catalogue=catalogue,
    )  # fmt: skip
    result: DmarcSummary = run_sync("summarize", coroutine)
    return result


def ingest_mailbox_sync(
    store: ReportStore,
    mailbox: Mailbox,
    /,
    *,
    on_batch: Callable[[IngestSummary], None] | None = None,
    on_skip: Callable[[str, str], None] | None = None,
) -> IngestSummary:
    """Blocking twin of :func:`mailcheck.reports.ingest_mailbox` (same arguments)."""
    coroutine = _late("mailcheck.reports.inputs", "ingest_mailbox")(
        store, mailbox, on_batch=on_batch, on_skip=on_skip
    )
    result: IngestSummary = run_sync("ingest_mailbox", coroutine)
    return result
