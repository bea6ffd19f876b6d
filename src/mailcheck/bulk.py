"""Many domains or IPs at once: a fixed pool of workers, results handed over as they come.

A control panel auditing its customers, the ``mailcheck audit --from-file`` command and the
benchmarks all use these::

    def emit(domain: str, outcome: DomainReport | MailcheckError) -> None:
        store(domain, outcome)  # a report, or the error that domain raised

    await audit_many(domains, emit=emit, concurrency=50, resolver=resolver)

Memory stays flat however long the list is (the pool pulls from one iterator); a bad item
(not a domain name, not an IP) is handed to ``emit`` as its :class:`MailcheckError` and the
run goes on; any other exception is a bug and ends the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from mailcheck.errors import ConfigError, MailcheckError

if TYPE_CHECKING:
    from mailcheck.audit import DomainReport
    from mailcheck.reputation import BlocklistChecker, IpReport

#: Items worked on at once when the caller does not say.
DEFAULT_CONCURRENCY = 50

T = TypeVar("T")
R = TypeVar("R")


async def run_pool(
    items: Iterable[T],
    concurrency: int,
    work: Callable[[T], Awaitable[R]],
    emit: Callable[[T, R | MailcheckError], None],
) -> None:
    """Run ``work`` on every item, at most ``concurrency`` at once, calling ``emit`` as each
    ends with its result or its :class:`MailcheckError`.

    Raises:
        ConfigError: ``concurrency`` is below 1.
    """
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, not {concurrency}")
    pending = iter(items)

    async def worker() -> None:
        for item in pending:
            try:
                outcome: R | MailcheckError = await work(item)
            except MailcheckError as exc:
                outcome = exc
            emit(item, outcome)

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())


async def audit_many(
    domains: Iterable[str],
    /,
    *,
    emit: Callable[[str, DomainReport | MailcheckError], None],
    concurrency: int = DEFAULT_CONCURRENCY,
    **options: Any,
) -> None:
    """Audit every domain, at most ``concurrency`` at once, calling ``emit`` as each ends.

    Args:
        domains: the domains (any iterable: a generator keeps memory flat).
        emit: called with each domain and its :class:`~mailcheck.DomainReport`, or the
            :class:`MailcheckError` it raised (``ParseError``: not a domain name).
        concurrency: domains audited at once.
        **options: the keyword options of :func:`~mailcheck.audit_domain` (``resolver``,
            ``selectors``, ``ips``, ``blocklists``, ``reputation``, ...). Give a shared
            ``resolver``; when reputation is on and no ``blocklists`` checker is given, one
            is made for the whole run, so each blocklist zone is self-tested once.
    """
    from mailcheck.audit import audit_domain
    from mailcheck.lookup import DnsResolver
    from mailcheck.reputation import BlocklistChecker

    options = dict(options)
    if options.get("resolver") is None:
        options["resolver"] = DnsResolver()
    if options.get("reputation", True) and options.get("blocklists") is None:
        options["blocklists"] = BlocklistChecker(resolver=options["resolver"])

    async def audit(domain: str) -> DomainReport:
        return await audit_domain(domain, **options)

    await run_pool(domains, concurrency, audit, emit)


async def check_many(
    jobs: Iterable[tuple[str, str | None]],
    /,
    *,
    checker: BlocklistChecker,
    emit: Callable[[tuple[str, str | None], IpReport | MailcheckError], None],
    concurrency: int = DEFAULT_CONCURRENCY,
) -> None:
    """Check the reputation of every ``(ip, helo)``, at most ``concurrency`` at once.

    One ``checker`` serves the whole run, so each zone is self-tested once; ``emit`` gets
    each job and its :class:`~mailcheck.reputation.IpReport`, or the
    :class:`MailcheckError` it raised (``ParseError``: not an IP address).
    """

    async def check(job: tuple[str, str | None]) -> IpReport:
        return await checker.check_ip(job[0], helo=job[1])

    await run_pool(jobs, concurrency, check, emit)
