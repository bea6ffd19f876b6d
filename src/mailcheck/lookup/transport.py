"""A lean UDP transport: a few long-lived sockets shared by every query.

dnspython's ``asyncquery.udp`` opens a socket per question, which costs most of
the CPU of a bulk audit. Here each nameserver gets a small pool of connected
UDP sockets (the kernel then only delivers datagrams from that server); each
question gets a random 16-bit id on a randomly chosen socket, and an answer is
accepted only if its id is pending there and its question matches (RFC 5452 §9.1);
a datagram that is not such an answer (garbage, another opcode, a query) is ignored,
never taken as the end of the try.
"""

from __future__ import annotations

import asyncio
import os
import random
from typing import cast

import dns.exception
import dns.message
import dns.opcode
import dns.rdataclass

from mailcheck.lookup.reply import MessageReply, Question, Reply, WireError, parse_reply
from mailcheck.lookup.wire import query_message

# Several sockets (each with its own random source port) keep id + port entropy
# (RFC 5452 §10) while avoiding a socket per question.
SOCKETS_PER_SERVER = 8
_random = random.SystemRandom()


def _answers(response: dns.message.Message, question: Question) -> bool:
    """True when ``response`` is a standard-query response to our very question.

    RFC 1035 §4.1.1: a response has QR set and the OPCODE of its query (QUERY, 0);
    RFC 5452 §9.1: its question must be ours (name, type and class).
    """
    if not response.flags & 0x8000 or len(response.question) != 1:  # QR: a response
        return False
    if response.opcode() != dns.opcode.QUERY:
        return False
    asked = response.question[0]
    return (
        asked.name == question.name.name
        and asked.rdtype == question.rdtype
        and asked.rdclass == dns.rdataclass.IN
    )


def _expire(future: asyncio.Future[Reply]) -> None:
    if not future.done():
        future.set_exception(dns.exception.Timeout())  # type: ignore[no-untyped-call]


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, tuple[Question, asyncio.Future[Reply]]] = {}
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: object) -> None:
        if len(data) < 12:
            return
        entry = self.pending.get(int.from_bytes(data[:2], "big"))
        if entry is None:
            return
        question, future = entry
        if future.done():
            return
        reply: Reply
        try:
            # The common replies, read without dnspython; it checks the question too.
            reply = parse_reply(data, question)
        except WireError:
            try:
                response = dns.message.from_wire(data)
            except Exception:
                # A datagram with our id that no parser accepts is not an answer: it may
                # be an off-path spoofer's guess. Keep waiting, as for a wrong question,
                # so that it cannot abort the lookup; the timeout still bounds the wait.
                return
            # Only an answer to our very question counts (id, name, type and class).
            if not _answers(response, question):
                return
            reply = MessageReply(response)
        future.set_result(reply)

    def error_received(self, exc: Exception) -> None:
        for _, future in self.pending.values():
            if not future.done():
                future.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for _, future in self.pending.values():
            if not future.done():
                future.set_exception(exc or ConnectionError("socket closed"))


class UdpPool:
    """Shared UDP sockets to one nameserver, bound to the event loop that made them.

    The sockets live while questions are in flight and are closed when the last
    answer arrives, so nothing leaks when a resolver is dropped or its event
    loop ends; a bulk run, with questions always in flight, keeps reusing them.
    """

    def __init__(self, host: str, port: int, size: int = SOCKETS_PER_SERVER) -> None:
        self.host, self.port, self.size = host, port, size
        self._endpoints: list[_Endpoint] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._in_flight = 0

    def _ready(self, pick: int, loop: asyncio.AbstractEventLoop) -> _Endpoint | None:
        """An endpoint of a full pool of open sockets on this loop (the usual case)."""
        endpoints = self._endpoints
        if self._loop is not loop or len(endpoints) != self.size:
            return None
        for endpoint in endpoints:
            if endpoint.closed:
                return None
        return endpoints[pick % len(endpoints)]

    async def _endpoint(self, pick: int, loop: asyncio.AbstractEventLoop) -> _Endpoint:
        if self._loop is not loop:
            # A resolver reused under a new event loop (asyncio.run twice): start afresh.
            self._endpoints, self._loop, self._lock = [], loop, asyncio.Lock()
        self._endpoints = [e for e in self._endpoints if not e.closed]
        if len(self._endpoints) < self.size:
            async with self._lock:
                if len(self._endpoints) < self.size:
                    _, endpoint = await loop.create_datagram_endpoint(
                        _Endpoint, remote_addr=(self.host, self.port)
                    )
                    self._endpoints.append(endpoint)
        return self._endpoints[pick % len(self._endpoints)]

    async def exchange(self, question: Question, timeout: float) -> Reply:
        """Ask ``question`` (recursion desired, EDNS) and wait for the answer.

        Raises:
            dns.exception.Timeout: no matching answer in time.
            OSError: the socket failed (ICMP port unreachable, ...).
        """
        self._in_flight += 1
        try:
            return await self._exchange(question, timeout)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self.close()

    async def _exchange(self, question: Question, timeout: float) -> Reply:
        # One draw from the system's CSPRNG: 16 bits of id, the rest picks the socket.
        draw = int.from_bytes(os.urandom(4))
        loop = asyncio.get_running_loop()
        endpoint = self._ready(draw >> 16, loop) or await self._endpoint(draw >> 16, loop)
        query_id = draw & 0xFFFF
        for _ in range(16):
            if query_id not in endpoint.pending:
                break
            query_id = _random.getrandbits(16)
        future: asyncio.Future[Reply] = loop.create_future()
        endpoint.pending[query_id] = (question, future)
        # A plain timer on the future: cheaper than asyncio.timeout around the await.
        timer = loop.call_later(timeout, _expire, future)
        try:
            assert endpoint.transport is not None
            endpoint.transport.sendto(query_message(query_id, question.wire))
            return await future
        finally:
            timer.cancel()
            endpoint.pending.pop(query_id, None)

    def close(self) -> None:
        """Close the sockets."""
        for endpoint in self._endpoints:
            if endpoint.transport is not None:
                endpoint.transport.close()
        self._endpoints = []
