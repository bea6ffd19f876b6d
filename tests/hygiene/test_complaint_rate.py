"""Complaint rates per tenant and provider over a sliding window, from a real spool."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from mailcheck.cli.main import main
from mailcheck.errors import ConfigError
from mailcheck.hygiene.rates import ComplaintPolicy
from mailcheck.hygiene.suppression import SuppressionList
from mailcheck.sending.spool import SqliteSpool
from tests.hygiene.test_suppression import Clock


async def delivered(
    spool: SqliteSpool, tenant: str, n: int, group: str, prefix: str = "u"
) -> list[int]:
    """Submit ``n`` recipients for ``tenant`` and record them delivered via ``group``."""
    await spool.submit(b"x", mail_from=f"news@{tenant}", tenant=tenant,
                       rcpt_to=[f"{prefix}{i}@{group}.test" for i in range(n)])  # fmt: skip
    ids = []
    for job in await spool.claim(limit=10_000):
        for rid, _, _ in job.recipients:
            await spool.finish(rid, "delivered", "250 ok", group=group)
            ids.append(rid)
    return ids


def make(tmp_path: Path, clock: Clock, **policy: float) -> SuppressionList:
    spool = SqliteSpool(str(tmp_path / "q.db"), clock=clock)
    return SuppressionList(spool, complaints=ComplaintPolicy(**policy))  # type: ignore[arg-type]


async def test_warning_then_pause_with_events_once(tmp_path: Path) -> None:
    """1000 delivered: 1 complaint (0.1 %) warns, 3 (0.3 %) pause; each event once."""
    clock = Clock()
    sl = make(tmp_path, clock)
    ids = await delivered(sl.spool, "asso.example", 1000, "yahoo")
    await sl.spool.ack([e.id for e in await sl.spool.events(limit=5000)])
    first = await sl.record_complaint(recipient_id=ids[0], source="arf-1")
    assert (first.status, first.provider) == ("warning", "yahoo")
    assert first.provider_rate is not None
    assert first.provider_rate.complaint_rate == pytest.approx(0.001)
    second = await sl.record_complaint(recipient_id=ids[1], source="arf-2")
    assert second.status == "warning"
    third = await sl.record_complaint(recipient_id=ids[2], source="arf-3")
    assert third.status == "paused"
    assert third.paused_until == clock.now + 86400
    fourth = await sl.record_complaint(recipient_id=ids[3], source="arf-4")
    assert fourth.status == "paused"
    assert json.loads(json.dumps(fourth.to_dict()))["tenant_rate"]["complaints"] == 4
    events = [(e.kind, e.rcpt) for e in await sl.spool.events()]
    assert events == [("complaint-warning", "asso.example"), ("tenant-paused", "asso.example")]


async def test_a_report_ingested_twice_counts_once(tmp_path: Path) -> None:
    clock = Clock()
    sl = make(tmp_path, clock, min_delivered=10)
    ids = await delivered(sl.spool, "asso.example", 100, "microsoft")
    once = await sl.record_complaint(recipient_id=ids[0], source="arf-1")
    again = await sl.record_complaint(recipient_id=ids[0], source="arf-1")
    assert not once.duplicate
    assert again.duplicate
    assert again.tenant_rate.complaints == 1


async def test_small_volume_is_not_judged_and_the_window_slides(tmp_path: Path) -> None:
    clock = Clock()
    sl = make(tmp_path, clock, min_delivered=100, window=86400.0)
    ids = await delivered(sl.spool, "club.example", 50, "google")
    small = await sl.record_complaint(recipient_id=ids[0], source="a")
    assert small.status == "ok"  # 2 % of 50 messages: too few to judge
    assert small.tenant_rate.complaint_rate == pytest.approx(0.02)
    clock.now += 2 * 86400  # everything falls out of the window
    ids = await delivered(sl.spool, "club.example", 1000, "google", prefix="v")
    later = await sl.record_complaint(recipient_id=ids[0], source="b")
    assert later.tenant_rate.complaints == 1
    assert later.tenant_rate.delivered == 1000


async def test_rates_per_tenant_and_provider(tmp_path: Path) -> None:
    clock = Clock()
    sl = make(tmp_path, clock)
    a = await delivered(sl.spool, "a.example", 10, "yahoo")
    await delivered(sl.spool, "b.example", 30, "google")
    await sl.spool.submit(b"x", mail_from="n@a.example", tenant="a.example",
                          rcpt_to=["gone@yahoo.test"])  # fmt: skip
    (job,) = await sl.spool.claim()
    await sl.spool.finish(job.recipients[0][0], "bounced", "550 5.1.1", group="yahoo")
    await sl.record_complaint(recipient_id=a[0], source="x")
    rates = await sl.rates()
    assert rates["tenants"]["a.example"].to_dict() == {
        "delivered": 10, "bounced": 1, "complaints": 1,
        "complaint_rate": 0.1, "bounce_rate": pytest.approx(1 / 11),
    }  # fmt: skip
    assert rates["providers"]["google"].complaint_rate == 0.0
    assert rates["providers"]["yahoo"].complaints == 1


async def test_complaint_arguments(tmp_path: Path) -> None:
    sl = make(tmp_path, Clock())
    with pytest.raises(ConfigError):
        await sl.record_complaint()
    with pytest.raises(ConfigError, match="no recipient 42"):
        await sl.record_complaint(recipient_id=42)
    with pytest.raises(ConfigError):
        ComplaintPolicy(warn_rate=0.01, pause_rate=0.001)
    outcome = await sl.record_complaint("x@example.org", source="no tenant")
    assert outcome.suppression is not None
    assert outcome.suppression.scope == "global"  # no tenant known: everybody's mail


async def test_spool_status_shows_rates_and_suppressions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    sl = make(tmp_path, clock, min_delivered=10)
    ids = await delivered(sl.spool, "asso.example", 20, "yahoo")
    await sl.record_complaint(recipient_id=ids[0], source="arf-1")
    await sl.add("gone@yahoo.test", reason="hard-bounce")
    summary = await sl.summary()
    sl.spool.close()
    tenant = summary["tenants"]["asso.example"]
    assert tenant["complaint_rate"] == 0.05
    assert tenant["suppressions"] == 1
    assert tenant["paused_until"] == clock.now + 86400
    assert summary["providers"]["yahoo"]["complaints"] == 1
    assert summary["suppressions"]["reasons"] == {"complaint": 1, "hard-bounce": 1}
    path = str(tmp_path / "q.db")
    code = await asyncio.to_thread(main, ["spool", "status", "--spool", path, "--format", "json"])
    status = json.loads(capsys.readouterr().out)
    assert code == 0
    assert status["hygiene"]["tenants"]["asso.example"]["complaints"] == 1
    code = await asyncio.to_thread(main, ["spool", "status", "--spool", path])
    out = capsys.readouterr().out
    assert "suppressions 2 (complaint 1, hard-bounce 1)" in out
    (line,) = [x for x in out.splitlines() if x.startswith("asso.example")]
    assert line.split()[1:5] == ["20", "0.00%", "1", "5.00%"]
