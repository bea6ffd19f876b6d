"""The suppression list in a real spool database: scopes, expiry, normalisation, bounds."""

from __future__ import annotations

import itertools
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailcheck.errors import AddressError, ConfigError
from mailcheck.hygiene.rates import SoftBouncePolicy
from mailcheck.hygiene.suppression import SuppressionList
from mailcheck.hygiene.types import (
    SuppressionReason,
    SuppressionScope,
    address_key,
    normalize_address,
)
from mailcheck.sending.spool import TRANSACTIONAL, SqliteSpool


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def make(tmp_path: Path, clock: Clock | None = None, **kw: object) -> SuppressionList:
    spool = SqliteSpool(str(tmp_path / "q.db"), clock=clock or Clock())
    return SuppressionList(spool, **kw)  # type: ignore[arg-type]


def test_normalisation_keeps_the_local_part_and_folds_the_domain() -> None:
    assert normalize_address("<Jo.Doe@Bücher.Example>") == "Jo.Doe@xn--bcher-kva.example"
    assert address_key("Jo.Doe@Bücher.Example") == "jo.doe@xn--bcher-kva.example"
    assert address_key("jo.doe@xn--bcher-kva.EXAMPLE") == "jo.doe@xn--bcher-kva.example"
    with pytest.raises(AddressError):
        normalize_address("not an address")


async def test_add_get_scopes_and_precedence(tmp_path: Path) -> None:
    sl = make(tmp_path)
    await sl.add("jo@example.org", reason="unsubscribe", list="asso.example/news")
    assert await sl.is_suppressed("JO@Example.ORG", list="asso.example/news")
    assert not await sl.is_suppressed("jo@example.org", list="asso.example/other")
    assert not await sl.is_suppressed("jo@example.org")
    await sl.add("jo@example.org", reason="complaint", tenant="asso.example", source="arf 1")
    found = await sl.get("jo@example.org", tenant="asso.example", list="asso.example/news")
    assert found is not None
    assert found.scope is SuppressionScope.TENANT
    await sl.add("jo@example.org", reason=SuppressionReason.HARD_BOUNCE, source="550 5.1.1")
    found = await sl.get("jo@example.org", tenant="other.example")
    assert found is not None
    assert (found.scope, found.reason) == (SuppressionScope.GLOBAL, "hard-bounce")
    assert json.loads(json.dumps(found.to_dict()))["reason"] == "hard-bounce"
    counts = await sl.counts()
    assert counts == {
        "total": 3, "global": 1,
        "reasons": {"unsubscribe": 1, "complaint": 1, "hard-bounce": 1},
        "tenants": {"asso.example": 1}, "lists": {"asso.example/news": 1},
    }  # fmt: skip
    assert await sl.remove("jo@example.org") == 1  # the global one only
    assert await sl.is_suppressed("jo@example.org", tenant="asso.example")
    assert await sl.remove("jo@example.org", every_scope=True) == 2
    assert await sl.counts() == {"total": 0, "global": 0, "reasons": {}, "tenants": {},
                                 "lists": {}}  # fmt: skip


async def test_expiry_is_honoured_and_permanent_wins(tmp_path: Path) -> None:
    clock = Clock()
    sl = make(tmp_path, clock)
    await sl.add("a@example.org", reason="manual", expires=clock.now + 10)
    assert await sl.is_suppressed("a@example.org")
    clock.now += 11
    assert not await sl.is_suppressed("a@example.org")
    assert await sl.list() == []
    assert len(await sl.list(expired=True)) == 1
    # A permanent suppression is not shortened by a later temporary one.
    await sl.add("b@example.org", reason="hard-bounce")
    stored = await sl.add("b@example.org", reason="soft-bounce-limit", expires=clock.now + 5)
    assert stored.expires is None
    assert stored.reason is SuppressionReason.SOFT_BOUNCE_LIMIT


async def test_bounded_and_checked_inputs(tmp_path: Path) -> None:
    sl = make(tmp_path)
    with pytest.raises(ConfigError):
        await sl.add("a@example.org", reason="because")
    with pytest.raises(ConfigError):
        await sl.add("a@example.org", reason="manual", tenant="t", list="l")
    with pytest.raises(ConfigError):
        await sl.add("a@example.org", reason="manual", tenant="x" * 256)
    with pytest.raises(ConfigError):
        await sl.add("a@example.org", reason="manual", expires=float("inf"))
    with pytest.raises(ConfigError):
        await sl.list(limit=10**9)
    entry = await sl.add("a@example.org", reason="manual", source="x\r\nInjected: 1" + "y" * 900)
    assert "\n" not in entry.source
    assert "\r" not in entry.source
    assert len(entry.source) == 500


async def test_list_pages_with_a_cursor(tmp_path: Path) -> None:
    sl = make(tmp_path)
    for n in range(5):
        await sl.add(f"u{n}@example.org", reason="manual")
    first = await sl.list(limit=2)
    rest = await sl.list(after=first[-1][0], limit=10)
    assert [e.address for _, e in first + rest] == [f"u{n}@example.org" for n in range(5)]
    assert [e.address for _, e in await sl.list(reasons=["complaint"])] == []


async def test_soft_bounces_count_distinct_messages_in_the_window(tmp_path: Path) -> None:
    clock = Clock()
    sl = make(tmp_path, clock, soft_bounces=SoftBouncePolicy(count=3, window=7 * 86400))
    # Five retries of one message are one soft-bounced message.
    for _ in range(5):
        assert await sl.record_soft_bounce("full@example.org", message_id=1) is None
    assert await sl.record_soft_bounce("full@example.org", message_id=2) is None
    clock.now += 8 * 86400  # the first two fall out of the window
    assert await sl.record_soft_bounce("full@example.org", message_id=3) is None
    assert await sl.record_soft_bounce("full@example.org", message_id=4) is None
    entry = await sl.record_soft_bounce("FULL@example.org", message_id=5, status="4.2.2")
    assert entry is not None
    assert entry.reason is SuppressionReason.SOFT_BOUNCE_LIMIT
    assert entry.expires == clock.now + 30 * 86400


async def test_transactional_mail_is_stopped_only_by_hard_bounces_and_manual(
    tmp_path: Path,
) -> None:
    """An unsubscribe or a complaint is about bulk mail: a password reset still goes."""
    sl = make(tmp_path)
    spool = sl.spool
    await sl.add("unsub@example.org", reason="unsubscribe")
    await sl.add("dead@example.org", reason="hard-bounce")
    rcpts = ["unsub@example.org", "dead@example.org", "ok@example.org"]
    bulk = await spool.submit_checked(b"x", mail_from="a@s.test", rcpt_to=rcpts, tenant="t")
    assert bulk.queued == ("ok@example.org",)
    assert [r for r, _ in bulk.suppressed] == ["unsub@example.org", "dead@example.org"]
    urgent = await spool.submit_checked(
        b"x", mail_from="a@s.test", rcpt_to=rcpts, tenant="t", priority=TRANSACTIONAL
    )
    assert urgent.queued == ("unsub@example.org", "ok@example.org")
    assert urgent.suppressed[0][1].startswith("suppressed: hard-bounce (global)")


async def test_readonly_spool_reads_the_list(tmp_path: Path) -> None:
    sl = make(tmp_path)
    await sl.add("a@example.org", reason="manual")
    sl.spool.close()
    ro = SuppressionList(SqliteSpool.open_readonly(str(tmp_path / "q.db")))
    assert await ro.is_suppressed("a@example.org")


async def test_an_older_spool_gets_the_tables(tmp_path: Path) -> None:
    """A spool written before the suppression list is migrated when opened for writing."""
    path = str(tmp_path / "old.db")
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, tenant TEXT, mail_from TEXT NOT NULL,"
        " raw BLOB NOT NULL, created REAL NOT NULL);"
        "CREATE TABLE recipients (id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL,"
        " rcpt TEXT NOT NULL, domain TEXT NOT NULL, state TEXT NOT NULL,"
        " attempts INTEGER NOT NULL, next_attempt REAL NOT NULL,"
        " last_reply TEXT NOT NULL DEFAULT '');"
        "CREATE TABLE events (id INTEGER PRIMARY KEY, recipient_id INTEGER NOT NULL,"
        " message_id INTEGER NOT NULL, rcpt TEXT NOT NULL, kind TEXT NOT NULL,"
        " reply TEXT NOT NULL, at REAL NOT NULL, reported INTEGER NOT NULL DEFAULT 0);"
    )
    db.close()
    readonly = SqliteSpool.open_readonly(path)  # read as it is: an empty list, untouched
    assert await SuppressionList(readonly).get("a@example.org") is None
    readonly.close()
    sl = SuppressionList(SqliteSpool(path))
    await sl.add("a@example.org", reason="manual")
    mid = await sl.spool.submit(b"x", mail_from="f@s.test", rcpt_to=["a@example.org"])
    assert await sl.spool.recipients(mid) == {"a@example.org": "suppressed"}


_ADDRS = ["a@x.test", "A@x.test", "b@x.test"]
_ENTRY = st.tuples(
    st.sampled_from(_ADDRS),
    st.sampled_from([("global", None), ("tenant", "t1"), ("tenant", "t2"), ("list", "l1")]),
    st.sampled_from(list(SuppressionReason)),
    st.sampled_from([None, -10.0, 10.0]),  # never, expired, in force
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ENTRY, max_size=6))
async def test_lookups_agree_with_a_model(entries: list[Any]) -> None:
    """What the spool stops at submission is what a plain-Python reading of the rules
    says: case-blind addresses, scopes, expiry, later entries replacing earlier ones of
    the same scope, and bulk-only reasons."""
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        sl = SuppressionList(SqliteSpool(tmp + "/q.db", clock=clock))
        model: dict[tuple[str, str, str], tuple[str, float | None]] = {}
        for address, (kind, value), reason, expires in entries:
            until = None if expires is None else clock.now + expires
            await sl.add(address, reason=reason, tenant=value if kind == "tenant" else None,
                         list=value if kind == "list" else None, expires=until)  # fmt: skip
            key = (address.lower(), kind, value or "")
            old = model.get(key)
            if old is not None and (old[1] is None or until is None):
                until = None  # a permanent entry stays permanent
            elif old is not None and old[1] is not None and until is not None:
                until = max(old[1], until)
            model[key] = (str(reason), until)
        for tenant, list_id, priority in itertools.product(
            (None, "t1"), (None, "l1"), (0, TRANSACTIONAL)
        ):
            urgent = priority >= TRANSACTIONAL
            done = await sl.spool.submit_checked(b"x", mail_from="f@s.test", rcpt_to=_ADDRS,
                                                 tenant=tenant, list_id=list_id,
                                                 priority=priority)  # fmt: skip
            expected = set()
            for rcpt in _ADDRS:
                for (addr, kind, value), (reason, until) in model.items():
                    applies = kind == "global" or (kind, value) in {("tenant", tenant),
                                                                    ("list", list_id)}  # fmt: skip
                    live = until is None or until > clock.now
                    allowed = not urgent or reason in ("hard-bounce", "manual")
                    if addr == rcpt.lower() and applies and live and allowed:
                        expected.add(rcpt)
            assert {r for r, _ in done.suppressed} == expected
        sl.spool.close()
