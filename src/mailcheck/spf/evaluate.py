"""``check_host()`` (RFC 7208 §4): the SPF verdict for one IP and sender, by pyspf.

pyspf is the evaluator, but every DNS question it asks goes through our
:class:`~mailcheck.lookup.Resolver` (the same nameservers, cache and
single-flight as the audit): pyspf runs in a worker thread and its lookup
function hands each question to the event loop with
:func:`asyncio.run_coroutine_threadsafe`. Absence is an empty answer; a DNS
failure is pyspf's ``TempError``, so the result is ``temperror``, never
``none`` or ``fail``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import ipaddress
import threading
from collections.abc import Callable
from typing import Any

from mailcheck.errors import ParseError, TempError
from mailcheck.lookup.answer import DnsAnswer, name_text
from mailcheck.lookup.resolver import Resolver
from mailcheck.model import ToDict

# RFC 7208 §4.6.4: "a maximum of 20 seconds" is the suggested budget for one evaluation.
EVALUATION_TIMEOUT = 20.0

_Lookup = Callable[[str, str], list[tuple[tuple[str, str], Any]]]
_local = threading.local()
_original_lookup: Any = None
_install_lock = threading.Lock()


class SpfVerdict(enum.StrEnum):
    """The results of check_host() (RFC 7208 §2.6)."""

    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SpfEvaluation(ToDict):
    """The outcome of check_host().

    Attributes:
        ip: the client IP evaluated.
        sender: the MAIL FROM identity evaluated (``postmaster@helo`` when empty).
        helo: the HELO/EHLO name given, or ``None``.
        domain: the domain whose policy was evaluated.
        result: one of ``pass``, ``fail``, ``softfail``, ``neutral``, ``none``,
            ``temperror``, ``permerror``.
        explanation: the explanation (``exp=`` text on a fail, else the reason), or ``""``.
    """

    ip: str
    sender: str
    helo: str | None
    domain: str
    result: SpfVerdict
    explanation: str = ""


def _dispatch(name: str, qtype: str, strict: bool = True, timeout: float = 20) -> Any:
    lookup: _Lookup | None = getattr(_local, "lookup", None)
    if lookup is None:
        return _original_lookup(name, qtype, strict, timeout)
    return lookup(name, qtype)


def _pyspf() -> Any:
    """pyspf, imported on the first evaluation with our lookup installed.

    Not at import: pyspf loads dnspython's resolver stack (and httpx), which
    ``import mailcheck`` must not pay for. Installed once, on first use: a thread
    that set a bridge uses it, any other caller gets pyspf's own lookup.
    """
    global _original_lookup
    import spf

    with _install_lock:
        if spf.DNSLookup is not _dispatch:
            _original_lookup = spf.DNSLookup
            spf.DNSLookup = _dispatch
    return spf


async def check_host(
    ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    sender: str,
    /,
    *,
    helo: str | None = None,
    resolver: Resolver,
) -> SpfEvaluation:
    """Evaluate SPF for a client ``ip`` and a MAIL FROM ``sender`` (RFC 7208 §4).

    Args:
        ip: the client's address.
        sender: the MAIL FROM address; empty means ``postmaster@<helo>`` (§2.4).
        helo: the HELO/EHLO name.
        resolver: every DNS question goes through it.

    Returns:
        The verdict, the evaluated domain and the explanation.

    Raises:
        ParseError: ``ip`` is not an IP address.

    Example:
        >>> r = await check_host("192.0.2.1", "a@example.org", resolver=res)  # doctest: +SKIP
        >>> r.result                                                         # doctest: +SKIP
        <SpfVerdict.FAIL: 'fail'>
    """
    try:
        address = str(ipaddress.ip_address(str(ip).strip()))
    except ValueError:
        raise ParseError(str(ip), 0, "not an IP address") from None
    sender = sender.strip()
    hello = (helo or "").strip()
    if "@" not in sender:
        sender = f"postmaster@{sender or hello}"
    loop = asyncio.get_running_loop()
    stop = threading.Event()
    _pyspf()  # imported here, not in the worker thread
    bridge = _bridge(loop, resolver, stop)
    try:
        result, explanation = await asyncio.to_thread(_run_pyspf, bridge, address, sender, hello)
    finally:
        stop.set()  # a cancelled evaluation's thread fails its next lookup at once
    return SpfEvaluation(
        ip=address,
        sender=sender,
        helo=helo,
        domain=sender.rpartition("@")[2].lower(),
        result=SpfVerdict(result),
        explanation=explanation,
    )


def _run_pyspf(bridge: _Lookup, ip: str, sender: str, helo: str) -> tuple[str, str]:
    spf = _pyspf()
    _local.lookup = bridge
    try:
        query = spf.query(i=ip, s=sender, h=helo, querytime=0, timeout=EVALUATION_TIMEOUT)
        result, _code, explanation = query.check()
    finally:
        _local.lookup = None
    return str(result), str(explanation or "")


def _bridge(loop: asyncio.AbstractEventLoop, resolver: Resolver, stop: threading.Event) -> _Lookup:
    spf = _pyspf()

    def lookup(name: str, qtype: str) -> list[tuple[tuple[str, str], Any]]:
        if stop.is_set() or loop.is_closed():
            raise spf.TempError(f"DNS {name} {qtype}: evaluation cancelled")
        coroutine = resolver.query(name, qtype)
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        except RuntimeError:  # the loop closed meanwhile
            coroutine.close()
            raise spf.TempError(f"DNS {name} {qtype}: evaluation cancelled") from None
        try:
            answer = future.result(EVALUATION_TIMEOUT)
        except ParseError:
            return []  # not a valid DNS name: nothing there
        except TempError as exc:
            raise spf.TempError(f"DNS {exc}") from None
        except TimeoutError:
            future.cancel()
            raise spf.TempError(f"DNS {name} {qtype}: no answer in time") from None
        return _pyspf_records(name, qtype, answer)

    return lookup


def _pyspf_records(name: str, qtype: str, answer: DnsAnswer) -> list[tuple[tuple[str, str], Any]]:
    key = (name, qtype)
    out: list[tuple[tuple[str, str], Any]] = []
    for rdata in answer.records:
        record: Any = rdata
        if qtype in ("A", "AAAA"):
            out.append((key, str(getattr(record, "address", ""))))
        elif qtype == "MX":
            out.append((key, (int(record.preference), record.exchange)))
        elif qtype == "PTR":
            out.append((key, name_text(record.target)))
        elif qtype in ("TXT", "SPF"):
            out.append((key, tuple(record.strings)))
    return out
