"""The ``Resolver`` protocol and ``DnsResolver``, the stub resolver every check uses.

``DnsResolver`` sends queries to recursive resolvers (or, in tests, to a local
authoritative server) over a pool of UDP sockets (``transport.py``), reads the
common replies with a lean parser and the others with dnspython (``reply.py``):
a TTL cache, single-flight (identical queries in flight go out once), a bound on
queries in flight, a timeout per question, TCP (``dns.asyncquery``) when the UDP
answer is truncated, and counters.
Absence is data (:class:`DnsAnswer`); only "could not answer" raises
:class:`~mailcheck.errors.TempError`.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from mailcheck.errors import ConfigError, DnsTimeout, ParseError, TempError
from mailcheck.lookup.answer import DnsAnswer
from mailcheck.lookup.reply import MessageReply, QueryName, Question, Reply
from mailcheck.lookup.transport import UdpPool
from mailcheck.lookup.wire import EDNS_PAYLOAD


@runtime_checkable
class Resolver(Protocol):
    """What every check needs from DNS: one question in, one answer out."""

    async def query(self, name: str, rdtype: str, /) -> DnsAnswer:
        """Answer ``name``/``rdtype``; absence is an answer.

        Raises:
            TempError: DNS could not answer (timeout, SERVFAIL, REFUSED, garbage).
            ParseError: ``name`` is not a valid DNS name.
        """
        ...


@dataclasses.dataclass(slots=True)
class ResolverStats:
    """Counters of one resolver: what went on the wire and what did not."""

    queries: int = 0
    """Questions asked of the resolver by callers."""
    sent: int = 0
    """Questions sent to a nameserver (UDP or TCP), retries included."""
    cache_hits: int = 0
    coalesced: int = 0
    """Questions answered by joining an identical question already in flight."""
    tcp_fallbacks: int = 0
    timeouts: int = 0
    errors: int = 0


def parse_nameserver(text: str) -> tuple[str, int]:
    """``"127.0.0.1:5300"``, ``"[::1]:53"`` or ``"9.9.9.9"`` -> (host, port).

    Raises:
        ConfigError: not an IP address with an optional port.
    """
    import ipaddress

    host, port = text.strip(), 53
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise ConfigError(f"nameserver {text!r}: missing ']'")
        rest = host[end + 1 :]
        host = host[1:end]
        if rest:
            if not rest.startswith(":"):
                raise ConfigError(f"nameserver {text!r}: expected ':PORT' after ']'")
            port = _port(text, rest[1:])
    elif host.count(":") == 1:
        host, port_text = host.split(":")
        port = _port(text, port_text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"nameserver {text!r}: not an IP address") from None
    return host, port


def _port(text: str, port_text: str) -> int:
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"nameserver {text!r}: bad port")
    return int(port_text)


def _at(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def to_dns_name(name: str) -> dns.name.Name:
    """Parse a query name, accepting U-labels (IDNA 2008) and a trailing dot.

    Raises:
        ParseError: the name is empty, too long, or has a bad label.
    """
    try:
        return dns.name.from_text(name.strip() or "@", origin=dns.name.root)
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise ParseError(name, 0, f"not a valid DNS name: {exc}") from None


_RDTYPES: dict[str, tuple[dns.rdatatype.RdataType, str]] = {}


def _rdtype(text: str) -> tuple[dns.rdatatype.RdataType, str]:
    """A record type's value and canonical text (``"TXT"``), remembered.

    Raises:
        ParseError: not a record type.
    """
    known = _RDTYPES.get(text)
    if known is None:
        try:
            value = dns.rdatatype.from_text(text)
        except dns.exception.DNSException:
            raise ParseError(text, 0, "unknown record type") from None
        if len(_RDTYPES) < 1024:
            _RDTYPES[text] = (value, dns.rdatatype.to_text(value))
        known = (value, dns.rdatatype.to_text(value))
    return known


class DnsResolver:
    """A caching, single-flight stub resolver over ``dns.asyncquery``.

    Args:
        nameservers: ``host[:port]`` strings; by default those of ``/etc/resolv.conf``.
        timeout: seconds allowed for one question, all retries included.
        max_in_flight: questions on the wire at once (dnspython drops UDP answers
            when thousands are in flight).
        cache_size: answers kept (least recently used dropped first).
        max_ttl: cap on the time an answer is cached.

    Example:
        >>> resolver = DnsResolver(["127.0.0.1:5300"], timeout=2.0)  # doctest: +SKIP
        >>> answer = await resolver.query("example.org", "MX")        # doctest: +SKIP
    """

    def __init__(
        self,
        nameservers: Sequence[str] | None = None,
        *,
        timeout: float = 5.0,
        max_in_flight: int = 256,
        cache_size: int = 20_000,
        max_ttl: int = 86_400,
    ) -> None:
        if nameservers is None:
            from dns import resolver  # only here: it costs milliseconds at start-up

            system = resolver.Resolver(configure=True).nameservers
            nameservers = [str(ns) for ns in system]
        self.nameservers = tuple(parse_nameserver(ns) for ns in nameservers)
        if not self.nameservers:
            raise ConfigError("no nameserver given")
        if timeout <= 0:
            raise ConfigError("timeout must be positive")
        self.timeout = timeout
        self.max_ttl = max_ttl
        self.stats = ResolverStats()
        self._cache: collections.OrderedDict[tuple[str, str], tuple[float, DnsAnswer]] = (
            collections.OrderedDict()
        )
        self._cache_size = cache_size
        # Questions in flight: the task asking and the futures of the callers waiting.
        self._in_flight: dict[
            tuple[str, str], tuple[asyncio.Task[None], list[asyncio.Future[DnsAnswer]]]
        ] = {}
        self._max_in_flight = max_in_flight
        self._semaphore: asyncio.Semaphore | None = None
        self._pools: dict[tuple[str, int], UdpPool] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def query(self, name: str, rdtype: str, /) -> DnsAnswer:
        """Answer one question from the cache, a question in flight, or the wire."""
        rdtype = rdtype.upper()
        # Keyed by the text as asked (lower case, no final dot): a cache hit costs no name
        # parsing. Two spellings of one name (U-label, A-label) only cost a second question.
        key = (name.strip().lower().rstrip("."), rdtype)
        self.stats.queries += 1
        cached = self._cache.get(key)
        if cached is not None:
            if cached[0] > time.monotonic():
                self._cache.move_to_end(key)
                self.stats.cache_hits += 1
                return cached[1]
            del self._cache[key]
        flight = self._in_flight.get(key)
        if flight is not None:
            self.stats.coalesced += 1
            waiters = flight[1]
        else:
            qname = QueryName.parse(name, to_dns_name)
            waiters = []
            task = asyncio.ensure_future(self._lead(qname, rdtype, key, waiters))
            self._in_flight[key] = (task, waiters)
        # Each caller waits on a future of its own: one giving up does not cancel the
        # question the others wait for (the lighter equivalent of asyncio.shield).
        waiter: asyncio.Future[DnsAnswer] = asyncio.get_running_loop().create_future()
        waiters.append(waiter)
        return await waiter

    async def _lead(
        self,
        qname: QueryName,
        rdtype: str,
        key: tuple[str, str],
        waiters: list[asyncio.Future[DnsAnswer]],
    ) -> None:
        """Resolve one question in flight and hand the outcome to everyone waiting for it."""
        try:
            answer = await self._resolve(qname, rdtype, key)
        except Exception as exc:
            self._in_flight.pop(key, None)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        except BaseException:  # cancelled (the event loop closing, ...): so are the waiters
            self._in_flight.pop(key, None)
            for waiter in waiters:
                waiter.cancel()
            raise
        self._in_flight.pop(key, None)
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(answer)

    async def _resolve(self, qname: QueryName, rdtype: str, key: tuple[str, str]) -> DnsAnswer:
        if self._semaphore is None or self._loop is not asyncio.get_running_loop():
            # A semaphore belongs to one event loop; a resolver may outlive one.
            self._loop = asyncio.get_running_loop()
            self._semaphore = asyncio.Semaphore(self._max_in_flight)
        question = Question(qname, *_rdtype(rdtype))
        async with self._semaphore:
            try:
                async with asyncio.timeout(self.timeout):
                    answer = await self._ask(question)
            except TimeoutError:
                self.stats.timeouts += 1
                raise DnsTimeout(qname.text, rdtype, f"timeout at {self._servers()}") from None
        self._cache[key] = (time.monotonic() + min(answer.ttl, self.max_ttl), answer)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return answer

    async def _ask(self, question: Question) -> DnsAnswer:
        # Two rounds over the nameservers; each try gets an equal share of the timeout.
        tries = [ns for _ in range(2) for ns in self.nameservers]
        per_try = self.timeout / len(tries)
        last: Exception | None = None
        text, type_text = question.name.text, question.rdtype_text
        for index, (host, port) in enumerate(tries):
            try:
                reply = await self._exchange(question, host, port, per_try)
            except dns.exception.Timeout as exc:
                last = exc
                continue
            except (dns.exception.DNSException, OSError, EOFError, ValueError) as exc:
                self.stats.errors += 1
                last = exc
                continue
            # Another server may answer where this one failed; the same one again will not.
            retry_elsewhere = len(self.nameservers) > 1 and index < len(tries) - 1
            if reply.rcode in (dns.rcode.SERVFAIL, dns.rcode.REFUSED) and retry_elsewhere:
                last = TempError(
                    text,
                    type_text,
                    f"{_at(host, port)} answered "
                    f"{dns.rcode.to_text(dns.rcode.Rcode.make(reply.rcode))}",
                )
                continue
            try:
                return reply.answer(question)
            except TempError as exc:
                # Name the server: "127.0.0.1:5399 answered SERVFAIL", not just "SERVFAIL".
                where = exc.reason.replace("server answered", f"{_at(host, port)} answered", 1)
                raise TempError(exc.name, exc.rdtype, where) from None
        if isinstance(last, TempError):
            raise last
        if isinstance(last, dns.exception.Timeout) or last is None:
            self.stats.timeouts += 1
            raise DnsTimeout(text, type_text, f"timeout at {self._servers()}")
        if isinstance(last, OSError):
            # ICMP port unreachable and the like: "127.0.0.1:9 unreachable: Connection refused".
            why = last.strerror or type(last).__name__
            raise TempError(text, type_text, f"{self._servers()} unreachable: {why}")
        raise TempError(
            text,
            type_text,
            f"bad answer from {self._servers()}: {type(last).__name__}: {last}",
        )

    def _servers(self) -> str:
        """The nameservers asked, as people write them (``127.0.0.1:5399``)."""
        return ", ".join(_at(host, port) for host, port in self.nameservers)

    async def _exchange(self, question: Question, host: str, port: int, timeout: float) -> Reply:
        self.stats.sent += 1
        pool = self._pools.get((host, port))
        if pool is None:
            pool = self._pools[(host, port)] = UdpPool(host, port)
        reply = await pool.exchange(question, timeout)
        if reply.flags & dns.flags.TC:
            request = dns.message.make_query(
                question.name.name,
                question.rdtype,
                use_edns=0,
                payload=EDNS_PAYLOAD,
                flags=dns.flags.RD,
            )
            # RFC 7766 §5: a truncated UDP answer is retried over TCP.
            self.stats.tcp_fallbacks += 1
            self.stats.sent += 1
            # Imported on first use: dns.asyncquery loads httpx when installed (~70 ms).
            from dns import asyncquery

            response = await asyncquery.tcp(request, host, timeout=timeout, port=port)
            reply = MessageReply(response)
        return reply

    def close(self) -> None:
        """Close the UDP sockets (they are reopened on the next query)."""
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    def clear_cache(self) -> None:
        """Forget every cached answer."""
        self._cache.clear()
