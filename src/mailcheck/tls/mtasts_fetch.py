"""Fetch an MTA-STS policy over HTTPS, as RFC 8461 §3.3 asks, behind the SSRF guard.

``https://mta-sts.<domain>/.well-known/mta-sts.txt``: the name is resolved through
*our* resolver, every address is vetted (:mod:`mailcheck.tls.guard`), and httpx
connects to the vetted address itself (the URL holds the IP; the name goes in SNI and
``Host``), so no second resolution can lead elsewhere. The certificate is validated
for the name; redirects are refused; size and time are bounded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import ipaddress
import ssl
from pathlib import Path
from typing import TYPE_CHECKING

from mailcheck.errors import ConfigError, TempError
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import ToDict
from mailcheck.tls.guard import address_allowed

if TYPE_CHECKING:
    import httpx

# RFC 8461 §3.3: "senders SHOULD impose a timeout on the HTTPS GET and a limit on the
# body size"; 64 KiB is what common senders (postfix-mta-sts-resolver) read.
MAX_POLICY_SIZE = 65_536
DEFAULT_FETCH_TIMEOUT = 10.0
POLICY_PATH = "/.well-known/mta-sts.txt"


class FetchOutcome(enum.StrEnum):
    """How the policy fetch ended."""

    OK = "ok"
    NO_ADDRESS = "no-address"
    ADDRESS_REFUSED = "address-refused"
    UNREACHABLE = "unreachable"
    """Timeout, refused connection, DNS failure: could not check."""
    CERTIFICATE = "certificate"
    REDIRECT = "redirect"
    HTTP_ERROR = "http-error"
    TOO_LARGE = "too-large"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PolicyFetch(ToDict):
    """The facts of one policy fetch.

    Attributes:
        url: the policy URL (with the name, not the address).
        outcome: how it ended.
        address: the vetted address connected to.
        refused: addresses the guard refused.
        status: the HTTP status.
        content_type: the ``Content-Type`` header.
        location: the redirect target, for a 3xx.
        text: the body (at most ``MAX_POLICY_SIZE`` bytes, decoded as UTF-8), when ``ok``.
        error: why it failed.
    """

    url: str
    outcome: FetchOutcome
    address: str | None = None
    refused: tuple[str, ...] = ()
    status: int | None = None
    content_type: str | None = None
    location: str | None = None
    text: str | None = None
    error: str | None = None

    @property
    def text_plain(self) -> bool:
        """The media type is ``text/plain`` (RFC 8461 §3.2), parameters aside."""
        media = (self.content_type or "").split(";", 1)[0].strip().lower()
        return media == "text/plain"


async def fetch_policy(
    domain: str,
    /,
    *,
    resolver: Resolver,
    timeout: float = DEFAULT_FETCH_TIMEOUT,
    max_size: int = MAX_POLICY_SIZE,
    allow_private: bool = False,
    cafile: str | Path | None = None,
    port: int = 443,
) -> PolicyFetch:
    """Fetch the MTA-STS policy of ``domain``.

    Args:
        domain: the policy domain (A-labels).
        resolver: resolves ``mta-sts.<domain>`` (never the system's resolver).
        timeout: seconds for the whole fetch, resolution included.
        max_size: bytes read at most; a larger body is ``too-large``.
        allow_private: connect to private, loopback and other non-global addresses
            too (tests; never for customers' domains).
        cafile: a PEM bundle of trusted CAs instead of the system store.
        port: the HTTPS port (443; tests use a loopback port).

    Raises:
        ConfigError: a bad ``timeout``, ``max_size`` or ``cafile``.
    """
    if timeout <= 0 or max_size < 1:
        raise ConfigError("timeout and max_size must be positive")
    context = _context(cafile)
    host = f"mta-sts.{domain}"
    url = f"https://{host}{POLICY_PATH}"
    try:
        async with asyncio.timeout(timeout):
            addresses = await _addresses(host, resolver)
            if not addresses:
                return PolicyFetch(
                    url=url, outcome=FetchOutcome.NO_ADDRESS, error=f"{host} has no address"
                )
            allowed = [a for a in addresses if allow_private or address_allowed(a)]
            refused = tuple(a for a in addresses if a not in allowed)
            if not allowed:
                return PolicyFetch(url=url, outcome=FetchOutcome.ADDRESS_REFUSED, refused=refused)
            return await _first_answer(
                url, host, allowed, refused, context, port, max_size, timeout
            )
    except TimeoutError:
        return PolicyFetch(
            url=url, outcome=FetchOutcome.UNREACHABLE, error=f"timeout after {timeout:g}s"
        )
    except TempError as exc:
        return PolicyFetch(url=url, outcome=FetchOutcome.UNREACHABLE, error=str(exc))


def _context(cafile: str | Path | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=str(cafile) if cafile else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cafile {cafile}: {exc}") from None


async def _addresses(host: str, resolver: Resolver) -> list[str]:
    """A and AAAA of ``host``; a DNS failure of both raises, of one is tolerated."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_query(resolver, host, rdtype)) for rdtype in ("A", "AAAA")]
    results = [task.result() for task in tasks]
    failures = [r for r in results if isinstance(r, TempError)]
    if len(failures) == len(results):
        raise failures[0]
    return [a for r in results if not isinstance(r, TempError) for a in r]


async def _query(resolver: Resolver, host: str, rdtype: str) -> tuple[str, ...] | TempError:
    try:
        return (await resolver.query(host, rdtype)).addresses()
    except TempError as exc:
        return exc


async def _first_answer(
    url: str,
    host: str,
    addresses: list[str],
    refused: tuple[str, ...],
    context: ssl.SSLContext,
    port: int,
    max_size: int,
    timeout: float,
) -> PolicyFetch:
    """Try the vetted addresses in turn; the first that answers (any HTTP status) wins."""
    import httpx  # here: an audit of a domain without MTA-STS never pays its import

    last = PolicyFetch(url=url, outcome=FetchOutcome.UNREACHABLE, refused=refused)
    async with httpx.AsyncClient(
        verify=context, follow_redirects=False, trust_env=False, timeout=timeout
    ) as client:
        for address in addresses:
            base = PolicyFetch(
                url=url, outcome=FetchOutcome.UNREACHABLE, address=address, refused=refused
            )
            literal = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
            request = client.build_request(
                "GET",
                f"https://{literal}:{port}{POLICY_PATH}",
                headers={
                    "Host": host if port == 443 else f"{host}:{port}",
                    # The body is counted as it arrives: no compression to inflate.
                    "Accept-Encoding": "identity",
                },
                extensions={"sni_hostname": host},
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as exc:
                if _certificate_error(exc):
                    return dataclasses.replace(
                        base, outcome=FetchOutcome.CERTIFICATE, error=_reason(exc)
                    )
                last = dataclasses.replace(base, error=f"{address}: {_reason(exc)}")
                continue
            try:
                return await _read(base, response, max_size)
            finally:
                await response.aclose()
    return last


async def _read(base: PolicyFetch, response: httpx.Response, max_size: int) -> PolicyFetch:
    import httpx

    facts = dataclasses.replace(
        base, status=response.status_code, content_type=response.headers.get("content-type")
    )
    if response.is_redirect or 300 <= response.status_code < 400:
        return dataclasses.replace(
            facts, outcome=FetchOutcome.REDIRECT, location=response.headers.get("location")
        )
    if response.status_code != 200:
        return dataclasses.replace(facts, outcome=FetchOutcome.HTTP_ERROR)
    body = bytearray()
    try:
        async for chunk in response.aiter_raw():
            body.extend(chunk)
            if len(body) > max_size:
                return dataclasses.replace(facts, outcome=FetchOutcome.TOO_LARGE)
    except httpx.HTTPError as exc:
        return dataclasses.replace(facts, error=_reason(exc))
    return dataclasses.replace(facts, outcome=FetchOutcome.OK, text=body.decode("utf-8", "replace"))


def _certificate_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(
            seen
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:300]
