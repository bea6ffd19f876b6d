"""Where a domain's mail goes: a domain that does not exist bounces at once with the
reason; a DNS failure defers (never a bounce); a null MX bounces; all through a real DNS
server on loopback."""

from __future__ import annotations

from pathlib import Path

from mailcheck.lookup import DnsResolver
from mailcheck.sending.sender import Sender
from mailcheck.sending.spool import SqliteSpool
from tests.dnsserver import DnsTestServer
from tests.sending.conftest import Sink, fast_pace

MSG = b"From: a@s.test\r\nSubject: hi\r\n\r\nbody\r\n"


async def test_nxdomain_bounces_dns_failure_defers(
    tmp_path: Path, dns_server: DnsTestServer, smtp_sink: Sink
) -> None:
    spool = SqliteSpool(str(tmp_path / "q.db"), backoff=60)
    sender = Sender(
        spool=spool,
        resolver=DnsResolver([dns_server.address], timeout=0.5),
        mx_override={"mx.plain.sending.test": ("127.0.0.1", smtp_sink.port)},
        pacing=fast_pace,
    )
    dns_server.behave("broken.sending.test", servfail=True)
    ok = await sender.submit(MSG, mail_from="a@s.test", rcpt_to=["b@plain.sending.test"])
    gone = await sender.submit(MSG, mail_from="a@s.test", rcpt_to=["b@nosuch.sending.test"])
    down = await sender.submit(MSG, mail_from="a@s.test", rcpt_to=["b@broken.sending.test"])
    null = await sender.submit(MSG, mail_from="a@s.test", rcpt_to=["b@null.sending.test"])
    await sender.run_until_idle()
    assert await spool.recipients(ok) == {"b@plain.sending.test": "delivered"}
    assert await spool.recipients(gone) == {"b@nosuch.sending.test": "bounced"}
    assert await spool.recipients(down) == {"b@broken.sending.test": "deferred"}
    assert await spool.recipients(null) == {"b@null.sending.test": "bounced"}
    rows = {row.rcpt: row for row in await spool.list()}
    assert "no such domain" in rows["b@nosuch.sending.test"].last_reply
    assert rows["b@broken.sending.test"].last_reply.startswith("dns:")
    assert "null MX" in rows["b@null.sending.test"].last_reply
    progress = await sender.progress()
    assert progress.waiting == 1  # the DNS failure waits, counted (not routed yet)
    assert any(p.group == "(not routed yet)" and p.waiting == 1 for p in progress.providers)
    await sender.close()
    spool.close()


async def test_a_null_mx_beside_real_hosts_is_ignored(dns_server: DnsTestServer) -> None:
    # RFC 7505 §3: a null MX must be the only MX. Beside a real host it is a mistake of the
    # domain, and "." is no host to connect to: mail goes to the real hosts.
    from mailcheck.sending.routing import Destination, Router

    router = Router(DnsResolver([dns_server.address], timeout=0.5), lambda d, h: "default")
    found = await router.route("nullmixed.mx.test")
    assert isinstance(found, Destination)
    assert found.hosts == ("mx1.good.mx.test",)
