"""A real authoritative DNS server for tests: UDP and TCP on one loopback port.

It answers from zone files through :class:`mailcheck.lookup.ZoneSet` and plays
the resolver's part for the names it holds (CNAME chains are followed in the
answer). Per-name misbehaviour (delay, SERVFAIL, REFUSED, drop, truncation,
raw bytes, a mismatched question) is set with :meth:`DnsTestServer.behave`;
every query received is logged so tests count what reached the wire.
The server runs its own event loop in a thread, so sync tests, async tests and
CLI subprocesses can all use it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import struct
import threading
from collections.abc import Sequence
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.zone

from mailcheck.lookup import ZoneSet


@dataclasses.dataclass
class Behaviour:
    """How the server misbehaves for one name (all types unless ``rdtype`` is set)."""

    delay: float = 0.0
    servfail: bool = False
    refused: bool = False
    drop: bool = False
    truncate: bool = False
    mismatch: bool = False
    raw: bytes | None = None
    rdtype: str | None = None
    before: tuple[bytes, ...] = ()
    """UDP datagrams sent ahead of the real answer, each with the query's id put in."""


@dataclasses.dataclass(frozen=True)
class LoggedQuery:
    name: str
    rdtype: str
    transport: str


class DnsTestServer:
    def __init__(self, zones: Sequence[str | Path] = (), *, host: str = "127.0.0.1") -> None:
        self.host = host
        self._zoneset = ZoneSet.from_files(zones)
        self.delay = 0.0
        self.behaviours: dict[str, Behaviour] = {}
        self.log: list[LoggedQuery] = []
        self._answers: dict[tuple[bytes, str, int], tuple[str, str, bytes]] = {}
        self._generation = 0  # bumped whenever the zones change: remembered answers go stale
        self.port = 0
        self.fixed_port = 0
        """Bind this port instead of a free one (benchmarks that need port 53)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    # --- configuration from tests -------------------------------------------------------------
    @property
    def zoneset(self) -> ZoneSet:
        return self._zoneset

    @zoneset.setter
    def zoneset(self, zones: ZoneSet) -> None:
        self._zoneset = zones
        self._generation += 1  # remembered answers came from the old zones

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def behave(self, name: str, **kwargs: object) -> None:
        self.behaviours[name.lower().rstrip(".")] = Behaviour(**kwargs)  # type: ignore[arg-type]

    def add_zone(self, origin: str, text: str) -> None:
        zone = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
        self.zoneset = ZoneSet((*self.zoneset.zones, zone))

    def add_zone_files(self, paths: Sequence[str | Path]) -> None:
        extra = ZoneSet.from_files(paths)
        self.zoneset = ZoneSet((*self.zoneset.zones, *extra.zones))

    def reset(self) -> None:
        self.behaviours.clear()
        self.log.clear()
        self.delay = 0.0

    def count(self, name: str, rdtype: str | None = None) -> int:
        name = name.lower().rstrip(".")
        return sum(1 for q in self.log if q.name == name and (rdtype is None or q.rdtype == rdtype))

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> DnsTestServer:
        self._thread = threading.Thread(target=self._run, name="dns-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("DNS test server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        for _ in range(50):
            udp = socket.socket(
                socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_DGRAM
            )
            udp.bind((self.host, self.fixed_port))
            port = udp.getsockname()[1]
            try:
                tcp_server = await asyncio.start_server(self._tcp_client, self.host, port)
            except OSError:
                udp.close()
                continue
            break
        else:
            raise RuntimeError("no free port for the DNS test server")
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        transport, _ = await self._loop.create_datagram_endpoint(lambda: _Udp(self), sock=udp)
        self.port = port
        self._ready.set()
        await self._stop.wait()
        transport.close()
        tcp_server.close()

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length = struct.unpack("!H", await reader.readexactly(2))[0]
                wire = await reader.readexactly(length)
                reply = await self.answer(wire, "tcp")
                if reply is not None:
                    writer.write(struct.pack("!H", len(reply)) + reply)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    # --- answering ----------------------------------------------------------------------------
    def preface(self, wire: bytes) -> list[bytes]:
        """The ``before`` datagrams of the behaviour matching this query, with its id."""
        if not self.behaviours or len(wire) < 12:
            return []
        try:
            question = dns.message.from_wire(wire).question[0]
        except (dns.exception.DNSException, IndexError):
            return []
        name = question.name.to_text(omit_final_dot=True).lower()
        behaviour = self.behaviours.get(name)
        rdtype = dns.rdatatype.to_text(question.rdtype)
        if behaviour is None or behaviour.rdtype not in (None, rdtype):
            return []
        return [wire[:2] + raw[2:] for raw in behaviour.before]

    async def answer(self, wire: bytes, transport: str) -> bytes | None:
        # Benchmarks ask many identical questions: well-behaved answers are built once
        # (keyed by the query less its id) and replayed, as a real server's cache would.
        key = (wire[2:], transport, self._generation)
        cached = self._answers.get(key)
        if cached is not None and not self.behaviours:
            name, rdtype, reply = cached
            self.log.append(LoggedQuery(name, rdtype, transport))
            if self.delay:
                await asyncio.sleep(self.delay)
            return wire[:2] + reply[2:]
        reply = await self._answer(wire, transport)
        return reply

    async def _answer(self, wire: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.log.append(LoggedQuery(name, rdtype, transport))
        behaviour = self.behaviours.get(name)
        if behaviour is not None and behaviour.rdtype not in (None, rdtype):
            behaviour = None
        delay = behaviour.delay if behaviour and behaviour.delay else self.delay
        if delay:
            await asyncio.sleep(delay)
        if behaviour is not None:
            if behaviour.drop:
                return None
            if behaviour.raw is not None:
                return query.id.to_bytes(2, "big") + behaviour.raw[2:]
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if behaviour is not None and (behaviour.servfail or behaviour.refused):
            response.set_rcode(dns.rcode.SERVFAIL if behaviour.servfail else dns.rcode.REFUSED)
            return response.to_wire()
        if behaviour is not None and behaviour.mismatch:
            other = dns.name.from_text("mismatch." + name)
            response.question[0] = type(question)(other, question.rdclass, question.rdtype)
            return response.to_wire()
        found = self.zoneset.lookup(question.name, question.rdtype)
        if found is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        response.set_rcode(found.rcode)
        response.answer = list(found.answer)
        response.authority = list(found.authority)
        if transport == "udp":
            truncate = behaviour is not None and behaviour.truncate
            limit = query.payload if query.edns >= 0 else 512
            try:
                wire_out = response.to_wire(max_size=limit)
            except dns.exception.TooBig:
                truncate = True
            if truncate:
                response.answer, response.authority = [], []
                response.flags |= dns.flags.TC
            else:
                return self._remember(wire, transport, name, rdtype, behaviour, wire_out)
        return self._remember(
            wire, transport, name, rdtype, behaviour, response.to_wire(max_size=65535)
        )

    def _remember(
        self,
        wire: bytes,
        transport: str,
        name: str,
        rdtype: str,
        behaviour: Behaviour | None,
        reply: bytes,
    ) -> bytes:
        if behaviour is None and len(self._answers) < 200_000:
            self._answers[(wire[2:], transport, self._generation)] = (name, rdtype, reply)
        return reply


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsTestServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        task = asyncio.ensure_future(self._reply(data, addr))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _reply(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.transport is not None:
            for datagram in self.server.preface(data):
                self.transport.sendto(datagram, addr)
        reply = await self.server.answer(data, "udp")
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
