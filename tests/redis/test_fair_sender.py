"""Two tenants through a real Sender whose budget lives in a real redis-server: 3:1."""

from __future__ import annotations

from pathlib import Path

from mailcheck import DnsResolver
from mailcheck.sending.fairness import FairnessConfig
from mailcheck.sending.local_share import Gcra
from mailcheck.sending.providers import ProviderSet
from mailcheck.sending.redis_backend import RedisBackend
from mailcheck.sending.sender import Sender
from mailcheck.sending.shaping import Budget
from mailcheck.sending.spool import SqliteSpool
from tests.dnsserver import DnsTestServer
from tests.redis_server import RedisTestServer
from tests.sending.conftest import fast_pace
from tests.sending.simulator import Simulated, Simulator


def message(n: int, sender: str) -> bytes:
    return f"From: {sender}\r\nSubject: {n}\r\nMessage-ID: <{n}.{sender}>\r\n\r\nhi\r\n".encode()


async def test_real_sender_shares_a_redis_budget_three_to_one(
    tmp_path: Path, dns_server: DnsTestServer, redis_server: RedisTestServer
) -> None:
    sims = await Simulator([Simulated(name="asso", address="127.0.0.7")]).start()
    try:
        async with RedisBackend(redis_server.url) as backend:
            spool = SqliteSpool(str(tmp_path / "spool.db"))
            sender = Sender(
                pacing=fast_pace,
                spool=spool,
                resolver=DnsResolver([dns_server.address], timeout=2.0),
                backend=backend,
                providers=ProviderSet.load(),
                port=sims.port,
                default_budget=Budget(
                    connections=4, message_rates=(("100/s", Gcra(interval=0.01)),)
                ),
                fairness=FairnessConfig.from_mapping({"big": {"weight": 3}}),
            )
            # The small tenant's newsletter is queued first.
            for n in range(100):
                await sender.submit(message(n, "news@small.example"), tenant="small",
                                    mail_from="news@small.example",
                                    rcpt_to=[f"s{n}@asso.sim.test"])  # fmt: skip
            for n in range(100):
                await sender.submit(message(n, "news@big.example"), tenant="big",
                                    mail_from="news@big.example",
                                    rcpt_to=[f"b{n}@asso.sim.test"])  # fmt: skip
            await sender.run_until_idle()
            stats = await sender.stats()
            spool.close()
    finally:
        await sims.stop()
    arrivals = sims["asso"].received
    assert len(arrivals) == 200
    first = [m.mail_from for m in arrivals[:120]]  # while both tenants wait
    big, small = first.count("news@big.example"), first.count("news@small.example")
    assert 2.7 <= big / small <= 3.3, (big, small)
    assert stats["default|mx.asso.sim.test,mx2.asso.sim.test"]["delivered"] == 200
