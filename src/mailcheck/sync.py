"""Blocking twins of the public coroutines, for scripts without an event loop.

Each ``name_sync`` takes exactly the arguments of the coroutine ``name`` (a test
checks the signatures stay equal) and runs it with :func:`asyncio.run`::

    from mailcheck import audit_domain_sync
    report = audit_domain_sync("example.org", selectors=["mail"])

Inside a running event loop (a web handler, Jupyter) a twin would block that loop,
so it raises :class:`~mailcheck.errors.SyncCallError` telling to await the
coroutine instead. Each twin also exported by the package of its coroutine.

The twins of the later packages (lists, lint, tls) live in :mod:`mailcheck.sync_more`
and are found here on first use (PEP 562): ``mailcheck.sync.lint_message_sync`` is
``mailcheck.sync_more.lint_message_sync``.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from mailcheck._lazy import lazy_exports
from mailcheck.bulk import DEFAULT_CONCURRENCY
from mailcheck.errors import MailcheckError, SyncCallError

if TYPE_CHECKING:
    from mailcheck.audit import DomainReport
    from mailcheck.dkim.audit import DkimAuditResult
    from mailcheck.dkim.keys import DkimKey
    from mailcheck.dkim.publish import PublishedKeyCheck
    from mailcheck.dkim.verify import DkimSignatureResult
    from mailcheck.dmarc.audit import DmarcResult
    from mailcheck.dmarc.discover import Discovery
    from mailcheck.dmarc.evaluate import DmarcEvaluation
    from mailcheck.lookup import Resolver
    from mailcheck.reputation import (
        BlocklistChecker,
        Catalogue,
        DomainListingReport,
        HeloResult,
        IpReport,
        RdnsResult,
    )
    from mailcheck.spf.audit import IpInput, SpfResult
    from mailcheck.spf.evaluate import SpfEvaluation
    from mailcheck.tls.audit import TlsOptions
    from mailcheck.verify import VerifyResult

T = TypeVar("T")

# The twins kept in mailcheck.sync_more (it imports run_sync from here, so it cannot be
# imported here at import time); tests/test_public_api.py checks this list is complete.
_MORE = (
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
)

if TYPE_CHECKING:
    # What __getattr__ gives, declared for mypy; hiding __getattr__ from it keeps a
    # misspelt mailcheck.sync name an error rather than Any.
    from mailcheck.sync_more import audit_dane_sync as audit_dane_sync
    from mailcheck.sync_more import audit_mtasts_sync as audit_mtasts_sync
    from mailcheck.sync_more import audit_tlsrpt_sync as audit_tlsrpt_sync
    from mailcheck.sync_more import audit_transport_sync as audit_transport_sync
    from mailcheck.sync_more import fetch_policy_sync as fetch_policy_sync
    from mailcheck.sync_more import ingest_mailbox_sync as ingest_mailbox_sync
    from mailcheck.sync_more import lint_message_sync as lint_message_sync
    from mailcheck.sync_more import mitigation_for_sync as mitigation_for_sync
    from mailcheck.sync_more import probe_many_sync as probe_many_sync
    from mailcheck.sync_more import probe_starttls_sync as probe_starttls_sync
    from mailcheck.sync_more import summarize_sync as summarize_sync
else:
    __getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(_MORE, "mailcheck.sync_more"))


def run_sync(name: str, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion in a new event loop; ``name`` is the coroutine's name.

    Raises:
        SyncCallError: an event loop is running in this thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    coroutine.close()  # never awaited: close it so Python does not warn
    raise SyncCallError(
        f"{name}_sync() cannot run inside a running event loop (it would block it): "
        f"use 'await {name}(...)' instead"
    )


def _late(module: str, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    # Imported on first call, so that importing mailcheck stays light.
    import importlib

    function: Callable[..., Coroutine[Any, Any, Any]] = getattr(
        importlib.import_module(module), name
    )
    return function


def audit_domain_sync(
    domain: str,
    /,
    *,
    ips: Sequence[str] = (),
    selectors: Sequence[str] = (),
    resolver: Resolver | None = None,
    blocklists: BlocklistChecker | None = None,
    reputation: bool = True,
    probe_selectors: bool = True,
    dmarc_mode: str = "tree",
    max_queries: int = 2000,
    max_mx_hosts: int = 10,
    max_addresses_per_host: int = 5,
    transport: bool = True,
    probe_smtp: bool = False,
    tls: TlsOptions | None = None,
) -> DomainReport:
    """Blocking twin of :func:`mailcheck.audit_domain` (same arguments)."""
    coroutine = _late("mailcheck.audit", "audit_domain")(
        domain,
        ips=ips,
        selectors=selectors,
        resolver=resolver,
        blocklists=blocklists,
        reputation=reputation,
        probe_selectors=probe_selectors,
        dmarc_mode=dmarc_mode,
        max_queries=max_queries,
        max_mx_hosts=max_mx_hosts,
        max_addresses_per_host=max_addresses_per_host,
        transport=transport,
        probe_smtp=probe_smtp,
        tls=tls,
    )
    result: DomainReport = run_sync("audit_domain", coroutine)
    return result


def verify_message_sync(
    message: bytes,
    /,
    *,
    ip: str | None = None,
    mail_from: str | None = None,
    helo: str | None = None,
    resolver: Resolver,
    authserv_id: str = "mailcheck",
) -> VerifyResult:
    """Blocking twin of :func:`mailcheck.verify_message` (same arguments)."""
    coroutine = _late("mailcheck.verify", "verify_message")(
        message, ip=ip, mail_from=mail_from, helo=helo, resolver=resolver, authserv_id=authserv_id
    )
    result: VerifyResult = run_sync("verify_message", coroutine)
    return result


def check_ip_sync(
    ip: str,
    /,
    *,
    helo: str | None = None,
    resolver: Resolver | None = None,
    blocklist_resolver: Resolver | None = None,
    catalogue: Catalogue | None = None,
    checker: BlocklistChecker | None = None,
) -> IpReport:
    """Blocking twin of :func:`mailcheck.check_ip` (same arguments)."""
    coroutine = _late("mailcheck.reputation.check", "check_ip")(
        ip,
        helo=helo,
        resolver=resolver,
        blocklist_resolver=blocklist_resolver,
        catalogue=catalogue,
        checker=checker,
    )
    result: IpReport = run_sync("check_ip", coroutine)
    return result


def check_domains_sync(
    names: Iterable[str],
    /,
    *,
    resolver: Resolver | None = None,
    catalogue: Catalogue | None = None,
    checker: BlocklistChecker | None = None,
) -> DomainListingReport:
    """Blocking twin of :func:`mailcheck.reputation.check_domains` (same arguments)."""
    coroutine = _late("mailcheck.reputation.check", "check_domains")(
        names, resolver=resolver, catalogue=catalogue, checker=checker
    )
    result: DomainListingReport = run_sync("check_domains", coroutine)
    return result


def check_rdns_sync(ip: str, /, *, resolver: Resolver) -> RdnsResult:
    """Blocking twin of :func:`mailcheck.reputation.check_rdns` (same arguments)."""
    coroutine = _late("mailcheck.reputation.rdns", "check_rdns")(ip, resolver=resolver)
    result: RdnsResult = run_sync("check_rdns", coroutine)
    return result


def check_helo_sync(
    name: str, /, *, ip: str, ptr_names: tuple[str, ...] = (), resolver: Resolver
) -> HeloResult:
    """Blocking twin of :func:`mailcheck.reputation.check_helo` (same arguments)."""
    coroutine = _late("mailcheck.reputation.rdns", "check_helo")(
        name, ip=ip, ptr_names=ptr_names, resolver=resolver
    )
    result: HeloResult = run_sync("check_helo", coroutine)
    return result


def audit_dkim_sync(
    domain: str, /, *, resolver: Resolver, selectors: Sequence[str] = (), probe: bool = True
) -> DkimAuditResult:
    """Blocking twin of :func:`mailcheck.dkim.audit_dkim` (same arguments)."""
    coroutine = _late("mailcheck.dkim.audit", "audit_dkim")(
        domain, resolver=resolver, selectors=selectors, probe=probe
    )
    result: DkimAuditResult = run_sync("audit_dkim", coroutine)
    return result


def check_published_sync(
    domain: str, selector: str, key: DkimKey, /, *, resolver: Resolver
) -> PublishedKeyCheck:
    """Blocking twin of :func:`mailcheck.dkim.check_published` (same arguments)."""
    coroutine = _late("mailcheck.dkim.publish", "check_published")(
        domain, selector, key, resolver=resolver
    )
    result: PublishedKeyCheck = run_sync("check_published", coroutine)
    return result


def verify_dkim_sync(
    message: bytes, /, *, resolver: Resolver, now: float | None = None
) -> tuple[DkimSignatureResult, ...]:
    """Blocking twin of :func:`mailcheck.dkim.verify_dkim` (same arguments)."""
    coroutine = _late("mailcheck.dkim.verify", "verify_dkim")(message, resolver=resolver, now=now)
    result: tuple[DkimSignatureResult, ...] = run_sync("verify_dkim", coroutine)
    return result


def audit_dmarc_sync(domain: str, /, *, resolver: Resolver, mode: str = "tree") -> DmarcResult:
    """Blocking twin of :func:`mailcheck.dmarc.audit_dmarc` (same arguments)."""
    coroutine = _late("mailcheck.dmarc.audit", "audit_dmarc")(domain, resolver=resolver, mode=mode)
    result: DmarcResult = run_sync("audit_dmarc", coroutine)
    return result


def discover_policy_sync(domain: str, /, *, resolver: Resolver, mode: str = "tree") -> Discovery:
    """Blocking twin of :func:`mailcheck.dmarc.discover_policy` (same arguments)."""
    coroutine = _late("mailcheck.dmarc.discover", "discover_policy")(
        domain, resolver=resolver, mode=mode
    )
    result: Discovery = run_sync("discover_policy", coroutine)
    return result


def organizational_domain_sync(domain: str, /, *, resolver: Resolver, mode: str = "tree") -> str:
    """Blocking twin of :func:`mailcheck.dmarc.organizational_domain` (same arguments)."""
    coroutine = _late("mailcheck.dmarc.discover", "organizational_domain")(
        domain, resolver=resolver, mode=mode
    )
    result: str = run_sync("organizational_domain", coroutine)
    return result


def evaluate_dmarc_sync(
    from_domain: str,
    /,
    *,
    spf_result: str,
    spf_domain: str | None,
    dkim_results: Sequence[tuple[str, str]],
    resolver: Resolver,
    mode: str = "tree",
) -> DmarcEvaluation:
    """Blocking twin of :func:`mailcheck.dmarc.evaluate_dmarc` (same arguments)."""
    coroutine = _late("mailcheck.dmarc.evaluate", "evaluate_dmarc")(
        from_domain,
        spf_result=spf_result,
        spf_domain=spf_domain,
        dkim_results=dkim_results,
        resolver=resolver,
        mode=mode,
    )
    result: DmarcEvaluation = run_sync("evaluate_dmarc", coroutine)
    return result


def audit_spf_sync(domain: str, /, *, resolver: Resolver, ips: Sequence[IpInput] = ()) -> SpfResult:
    """Blocking twin of :func:`mailcheck.spf.audit_spf` (same arguments)."""
    coroutine = _late("mailcheck.spf.audit", "audit_spf")(domain, resolver=resolver, ips=ips)
    result: SpfResult = run_sync("audit_spf", coroutine)
    return result


def check_host_sync(
    ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    sender: str,
    /,
    *,
    helo: str | None = None,
    resolver: Resolver,
) -> SpfEvaluation:
    """Blocking twin of :func:`mailcheck.spf.check_host` (same arguments)."""
    coroutine = _late("mailcheck.spf.evaluate", "check_host")(
        ip, sender, helo=helo, resolver=resolver
    )
    result: SpfEvaluation = run_sync("check_host", coroutine)
    return result


def audit_many_sync(
    domains: Iterable[str],
    /,
    *,
    emit: Callable[[str, DomainReport | MailcheckError], None],
    concurrency: int = DEFAULT_CONCURRENCY,
    **options: Any,
) -> None:
    """Blocking twin of :func:`mailcheck.audit_many` (same arguments)."""
    coroutine = _late("mailcheck.bulk", "audit_many")(
        domains, emit=emit, concurrency=concurrency, **options
    )
    run_sync("audit_many", coroutine)


def check_many_sync(
    jobs: Iterable[tuple[str, str | None]],
    /,
    *,
    checker: BlocklistChecker,
    emit: Callable[[tuple[str, str | None], IpReport | MailcheckError], None],
    concurrency: int = DEFAULT_CONCURRENCY,
) -> None:
    """Blocking twin of :func:`mailcheck.check_many` (same arguments)."""
    coroutine = _late("mailcheck.bulk", "check_many")(
        jobs, checker=checker, emit=emit, concurrency=concurrency
    )
    run_sync("check_many", coroutine)
