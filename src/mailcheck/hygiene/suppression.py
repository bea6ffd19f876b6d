"""The suppression list: addresses not to mail, in the spool's SQLite database.

The list shares the spool's database and its group commit, so the
:class:`~mailcheck.sending.sender.Sender` checks it in the same transaction that queues a
recipient (``submit``) or claims one for an attempt, and a suppression added from another
process (``mailcheck suppress add``, ``mailcheck bounces ingest``) applies to mail already
waiting.

Example::

    spool = SqliteSpool("/var/spool/mailcheck/queue.db")
    suppressions = SuppressionList(spool)
    await suppressions.add("jo@example.org", reason="unsubscribe", list="asso.example/news",
                           source="one-click POST 2026-12-06")
    await suppressions.is_suppressed("Jo@Example.org", list="asso.example/news")  # True
"""

from __future__ import annotations

import builtins
import math
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from mailcheck.errors import ConfigError, MailcheckError
from mailcheck.hygiene import store
from mailcheck.hygiene.csvio import (
    MAX_ERRORS,
    CsvRow,
    ImportResult,
    format_csv,
    parse_csv,
    row_error,
)
from mailcheck.hygiene.feedback import Feedback
from mailcheck.hygiene.rates import ComplaintPolicy, SoftBouncePolicy
from mailcheck.hygiene.types import (
    MAX_SCOPE_CHARS,
    MAX_SOURCE_CHARS,
    Suppression,
    SuppressionReason,
    SuppressionScope,
    address_key,
    normalize_address,
)

if TYPE_CHECKING:
    from mailcheck.sending.spool import SqliteSpool

__all__ = ["MAX_LIST_LIMIT", "SuppressionList", "clean_source", "scope_of"]

#: Most entries one :meth:`SuppressionList.list` call returns (page with ``after``).
MAX_LIST_LIMIT = 100_000
#: Rows of a CSV import committed per transaction.
IMPORT_BATCH = 1000
#: Entries read per page by an export.
EXPORT_PAGE = 1000


def clean_source(source: str, /) -> str:
    """``source`` on one line, control characters replaced, cut to
    :data:`~.types.MAX_SOURCE_CHARS` (it is untrusted text: a reply line, a report id)."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(source))
    return " ".join(text.split())[:MAX_SOURCE_CHARS]


def scope_of(tenant: str | None, list_id: str | None) -> tuple[SuppressionScope, str]:
    """The scope named by ``tenant=`` / ``list=`` arguments (neither: global).

    Raises:
        ConfigError: both given, an empty or over-long name, or a control character in it.
    """
    if tenant is not None and list_id is not None:
        raise ConfigError("a suppression is for a tenant or for a list, not both")
    for kind, value in ((SuppressionScope.TENANT, tenant), (SuppressionScope.LIST, list_id)):
        if value is None:
            continue
        if not value or len(value) > MAX_SCOPE_CHARS or not value.isprintable():
            raise ConfigError(f"{kind} name must be 1 to {MAX_SCOPE_CHARS} printable characters")
        return kind, value
    return SuppressionScope.GLOBAL, ""


class SuppressionList(Feedback):
    """Add, remove and look up suppressions in a spool's database; record complaints and
    bounces (:class:`~.feedback.Feedback`).

    Args:
        spool: the spool whose database holds the list (opened read-only, only the reads
            work).
        clock: wall-clock seconds (default: the spool's clock).
        complaints: when a complaint rate warns and pauses a tenant.
        soft_bounces: when soft bounces suppress an address.
    """

    def __init__(
        self,
        spool: SqliteSpool,
        /,
        *,
        clock: Callable[[], float] | None = None,
        complaints: ComplaintPolicy | None = None,
        soft_bounces: SoftBouncePolicy | None = None,
    ) -> None:
        self.spool = spool
        self.clock = clock or spool.clock
        self.complaints = complaints or ComplaintPolicy()
        self.soft_bounces = soft_bounces or SoftBouncePolicy()

    async def _run(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        return await self.spool.transaction(work)

    async def add(
        self,
        address: str,
        /,
        *,
        reason: SuppressionReason | str,
        tenant: str | None = None,
        list: str | None = None,
        source: str = "",
        expires: float | None = None,
    ) -> Suppression:
        """Suppress ``address`` for everybody, one ``tenant`` or one ``list``.

        Adding an address already suppressed in that scope updates its reason and source;
        a permanent entry stays permanent (see :func:`~.store.upsert`).

        Args:
            address: an RFC 5321 mailbox (angle brackets allowed).
            reason: a :class:`~.types.SuppressionReason` or its value.
            tenant: suppress only for this tenant's mail.
            list: suppress only for this list's mail.
            source: what caused it (cut to one line of 500 characters).
            expires: wall-clock seconds after which it no longer applies; None: never.

        Returns:
            The entry as stored.

        Raises:
            AddressError: not a mailbox. ConfigError: a bad reason, scope or expiry.
        """
        entry, key = self.entry(
            address, reason=reason, tenant=tenant, list=list, source=source, expires=expires
        )
        stored: Suppression = await self._run(lambda db: store.upsert(db, key, entry))
        return stored

    def entry(
        self,
        address: str,
        /,
        *,
        reason: SuppressionReason | str,
        tenant: str | None = None,
        list: str | None = None,
        source: str = "",
        expires: float | None = None,
        created: float | None = None,
    ) -> tuple[Suppression, str]:
        """The entry :meth:`add` would store, and its lookup key (checks every argument)."""
        try:
            why = SuppressionReason(reason)
        except ValueError as exc:
            choices = ", ".join(SuppressionReason)
            raise ConfigError(f"suppression reason {reason!r} is not one of {choices}") from exc
        if expires is not None and not math.isfinite(expires):
            raise ConfigError("a suppression's expiry must be a finite time")
        scope, value = scope_of(tenant, list)
        entry = Suppression(
            address=normalize_address(address),
            scope=scope,
            scope_value=value,
            reason=why,
            source=clean_source(source),
            created=self.clock() if created is None else created,
            expires=expires,
        )
        return entry, address_key(address)

    async def add_many(self, entries: Sequence[tuple[Suppression, str]], /) -> int:
        """Store prepared ``(entry, key)`` pairs (:meth:`entry`) in one transaction."""

        def work(db: sqlite3.Connection) -> int:
            for entry, key in entries:
                store.upsert(db, key, entry)
            return len(entries)

        return int(await self._run(work))

    async def remove(
        self,
        address: str,
        /,
        *,
        tenant: str | None = None,
        list: str | None = None,
        every_scope: bool = False,
    ) -> int:
        """Remove the suppression of ``address`` in one scope (global when neither
        ``tenant`` nor ``list`` is given), or in every scope with ``every_scope``; returns
        how many entries went."""
        key = address_key(address)
        scope, value = scope_of(tenant, list)
        if every_scope:
            return int(
                await self._run(lambda db: store.delete(db, key, scope=None, scope_value=None))
            )
        return int(
            await self._run(lambda db: store.delete(db, key, scope=scope, scope_value=value))
        )

    async def get(
        self,
        address: str,
        /,
        *,
        tenant: str | None = None,
        list: str | None = None,
    ) -> Suppression | None:
        """The suppression that stops mail to ``address`` sent for ``tenant`` to ``list``
        now (a global one first), or None. Expired entries do not apply."""
        key, now = address_key(address), self.clock()
        found: Suppression | None = await self._run(
            lambda db: store.find(db, key, tenant=tenant, list_id=list, now=now)
        )
        return found

    async def is_suppressed(
        self,
        address: str,
        /,
        *,
        tenant: str | None = None,
        list: str | None = None,
    ) -> bool:
        """Whether :meth:`get` finds a suppression."""
        return await self.get(address, tenant=tenant, list=list) is not None

    async def list(
        self,
        *,
        scope: SuppressionScope | str | None = None,
        scope_value: str | None = None,
        reasons: Iterable[SuppressionReason | str] = (),
        expired: bool = False,
        after: int = 0,
        limit: int = 1000,
    ) -> builtins.list[tuple[int, Suppression]]:
        """Entries in the order they were first added, as ``(cursor, entry)``: pass the
        last cursor as ``after`` for the next page. Expired entries only with ``expired``.

        Raises:
            ConfigError: a limit outside 0 .. :data:`MAX_LIST_LIMIT`, an unknown scope or
                reason.
        """
        if not 0 <= limit <= MAX_LIST_LIMIT:
            raise ConfigError(f"limit must be between 0 and {MAX_LIST_LIMIT}")
        if not 0 <= after < 2**63:
            raise ConfigError("after must be a cursor returned by list()")
        try:
            chosen_scope = None if scope is None else SuppressionScope(scope)
            chosen = [SuppressionReason(r) for r in reasons]
        except ValueError as exc:
            raise ConfigError(f"list: {exc}") from exc
        now = self.clock()
        rows: builtins.list[tuple[int, Suppression]] = await self._run(
            lambda db: store.select(
                db,
                now=now,
                scope=chosen_scope,
                scope_value=scope_value,
                reasons=chosen,
                expired=expired,
                after=after,
                limit=limit,
            )
        )
        return rows

    async def counts(self) -> dict[str, Any]:
        """Entries in force: ``{"total": n, "reasons": {reason: n}, "tenants": {tenant:
        n}, "lists": {list: n}, "global": n}``."""
        now = self.clock()
        rows = await self._run(lambda db: store.counts(db, now=now))
        result: dict[str, Any] = {"total": 0, "global": 0, "reasons": {}, "tenants": {},
                                  "lists": {}}  # fmt: skip
        for scope, value, reason, n in rows:
            result["total"] += n
            result["reasons"][reason] = result["reasons"].get(reason, 0) + n
            if scope == "global":
                result["global"] += n
            else:
                bucket = result["tenants" if scope == "tenant" else "lists"]
                bucket[value] = bucket.get(value, 0) + n
        return result

    async def import_csv(
        self,
        text: str,
        /,
        *,
        reason: SuppressionReason | str = SuppressionReason.MANUAL,
        source: str = "csv import",
    ) -> ImportResult:
        """Add the entries of a CSV file (:mod:`.csvio`), in transactions of
        :data:`IMPORT_BATCH` rows. A row without reason or scope gets ``reason`` and global
        scope; a file without a source column gets ``source``. Bad rows are counted and
        named, never fatal.

        Raises:
            ConfigError: the text is too large, not CSV, or has no address column.
        """
        added, rejected = 0, 0
        errors: builtins.list[tuple[int, str]] = []
        pending: builtins.list[tuple[Suppression, str]] = []

        def refuse(line: int, why: str) -> None:
            nonlocal rejected
            rejected += 1
            if len(errors) < MAX_ERRORS:
                errors.append((line, why))

        for item in parse_csv(text):
            if isinstance(item, tuple):
                refuse(*item)
                continue
            try:
                pending.append(self._csv_entry(item, reason, source))
            except MailcheckError as exc:
                refuse(item.line, row_error(exc))
                continue
            if len(pending) >= IMPORT_BATCH:
                added += await self.add_many(pending)
                pending = []
        if pending:
            added += await self.add_many(pending)
        return ImportResult(added=added, rejected=rejected, errors=tuple(errors))

    def _csv_entry(
        self, row: CsvRow, reason: SuppressionReason | str, source: str
    ) -> tuple[Suppression, str]:
        scope = row.scope or "global"
        if scope not in ("global", "tenant", "list"):
            raise ConfigError(f"scope {scope[:20]!r} is not global, tenant or list")
        if scope == "global" and row.scope_value:
            raise ConfigError("a global suppression has no scope_value")
        value = row.scope_value if scope != "global" else None
        return self.entry(
            row.address,
            reason=row.reason or reason,
            tenant=value if scope == "tenant" else None,
            list=value if scope == "list" else None,
            source=source if row.source is None else row.source,
            expires=row.expires,
            created=row.created,
        )

    async def export_csv(self, out: TextIO, /, *, expired: bool = False) -> int:
        """Write the list as CSV to ``out`` (header first), page by page; returns the
        number of entries written. Expired entries only with ``expired``."""
        written, after = 0, 0
        lines = format_csv(())
        out.write(next(lines))
        while True:
            page = await self.list(expired=expired, after=after, limit=EXPORT_PAGE)
            if not page:
                return written
            for line in format_csv((entry for _, entry in page), header=False):
                out.write(line)
            written += len(page)
            after = page[-1][0]
