"""The opt-in STARTTLS probe of an MX host: connect, EHLO, STARTTLS, record the facts.

It connects to port 25 of hosts that are not ours, so it only runs when asked
(``audit_domain(..., probe_smtp=True)``, ``mailcheck audit --probe-smtp``). It sends
no mail: banner, EHLO, STARTTLS, EHLO, QUIT.

Offering STARTTLS, completing the handshake and presenting a valid certificate are
recorded as separate facts (a probe that demands a valid certificate reports "no
STARTTLS" for hosts that offer it with a certificate senders accept anyway). The
handshake first verifies the chain (never the name: that is checked apart); when the
chain does not verify, a second connection without verification collects the
certificate's facts. A timeout or a refused connection is ``unknown``, never "no TLS".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import ssl
from collections.abc import Sequence
from pathlib import Path

from mailcheck.errors import ConfigError, ParseError
from mailcheck.tls.certinfo import certificate_facts, name_matches, peer_chain
from mailcheck.tls.types import ProbeStatus, TlsProbe

# RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets; be lenient, but bounded.
MAX_REPLY_LINE = 4096
MAX_REPLY_LINES = 100
DEFAULT_PROBE_TIMEOUT = 20.0
DEFAULT_PROBE_CONCURRENCY = 10
# The EHLO keywords the probe reports (RFC 6531 SMTPUTF8, RFC 8689 REQUIRETLS,
# RFC 1870 SIZE).
REPORTED_EXTENSIONS = ("SMTPUTF8", "REQUIRETLS", "SIZE")


class _SmtpProblem(Exception):
    """The server answered something the probe cannot go on with."""


async def probe_starttls(
    host: str,
    /,
    *,
    address: str | None = None,
    port: int = 25,
    timeout: float = DEFAULT_PROBE_TIMEOUT,
    cafile: str | Path | None = None,
    helo: str = "mailcheck.invalid",
    now: datetime.datetime | None = None,
) -> TlsProbe:
    """Probe one MX host's STARTTLS: offered, handshake, protocol, cipher, certificate.

    Args:
        host: the MX host name (sent as SNI; the certificate should name it).
        address: the IP address to connect to (default: ``host`` resolved by the system).
        port: the SMTP port (25; tests use a free loopback port).
        timeout: seconds for the whole probe, second connection included.
        cafile: a PEM bundle of trusted CAs instead of the system store.
        helo: the name sent in EHLO.
        now: the time certificate expiry is measured from (default: now, UTC).

    Returns:
        The facts; ``status`` is ``unknown`` when the host could not be asked.

    Raises:
        ConfigError: ``timeout`` is not positive or ``cafile`` cannot be loaded.

    Example:
        >>> probe = await probe_starttls("mx.example.org", address="192.0.2.25")  # doctest: +SKIP
        >>> probe.status, probe.chain_valid, probe.days_to_expiry                 # doctest: +SKIP
    """
    if timeout <= 0:
        raise ConfigError("timeout must be positive")
    verifying = _verifying_context(cafile)
    target = address or host
    base = TlsProbe(
        host=host.lower().rstrip("."), address=target, port=port, status=ProbeStatus.UNKNOWN
    )
    try:
        async with asyncio.timeout(timeout):
            try:
                return await _session(base, verifying, helo, now)
            except ssl.SSLCertVerificationError as exc:
                # The chain did not verify: look again without verifying, for the facts.
                failed = _replace(base, chain_valid=False, chain_error=_verify_reason(exc))
                return await _session(failed, _open_context(), helo, now)
    except TimeoutError:
        return _replace(base, error=f"timeout after {timeout:g}s at {target}:{port}")
    except _SmtpProblem as exc:
        return _replace(base, error=str(exc))
    except OSError as exc:  # refused, reset, unreachable
        return _replace(base, error=f"{target}:{port}: {exc.strerror or exc}")
    except EOFError:
        return _replace(base, error=f"{target}:{port}: connection closed")


async def probe_many(
    targets: Sequence[tuple[str, str]],
    /,
    *,
    port: int = 25,
    timeout: float = DEFAULT_PROBE_TIMEOUT,
    cafile: str | Path | None = None,
    concurrency: int = DEFAULT_PROBE_CONCURRENCY,
    now: datetime.datetime | None = None,
) -> tuple[TlsProbe, ...]:
    """Probe several ``(host, address)`` pairs at once (at most ``concurrency`` together).

    Each probe is bounded by ``timeout``; the results keep the order of ``targets``.
    """
    if concurrency < 1:
        raise ConfigError("concurrency must be at least 1")
    _verifying_context(cafile)  # a bad cafile is one ConfigError, not an ExceptionGroup
    gate = asyncio.Semaphore(concurrency)

    async def one(host: str, address: str) -> TlsProbe:
        async with gate:
            return await probe_starttls(
                host, address=address, port=port, timeout=timeout, cafile=cafile, now=now
            )

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(host, address)) for host, address in targets]
    return tuple(task.result() for task in tasks)


def _replace(probe: TlsProbe, **changes: object) -> TlsProbe:
    return dataclasses.replace(probe, **changes)  # type: ignore[arg-type]


def _verifying_context(cafile: str | Path | None) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cafile {cafile}: {exc}") from None
    # The name is a separate fact, checked on the certificate by certinfo.name_matches.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _open_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _verify_reason(exc: ssl.SSLCertVerificationError) -> str:
    return str(exc.verify_message or exc.reason or exc)


async def _session(
    probe: TlsProbe,
    context: ssl.SSLContext,
    helo: str,
    now: datetime.datetime | None,
) -> TlsProbe:
    reader, writer = await asyncio.open_connection(probe.address, probe.port, limit=MAX_REPLY_LINE)
    try:
        code, _ = await _reply(reader)
        if code != 220:
            raise _SmtpProblem(f"{probe.address}:{probe.port} greeted with {code}")
        lines = await _command(reader, writer, f"EHLO {helo}", 250)
        keywords = _keywords(lines)
        if "STARTTLS" not in keywords:
            await _quit(reader, writer)
            return _replace(
                probe, status=ProbeStatus.NOT_OFFERED, offered=False, **_extensions(keywords)
            )
        code, text = await _send(reader, writer, "STARTTLS")
        if code != 220:
            return _replace(
                probe,
                status=ProbeStatus.HANDSHAKE_FAILED,
                offered=True,
                error=f"STARTTLS answered {code} {text[:200]}",
                **_extensions(keywords),
            )
        try:
            await writer.start_tls(context, server_hostname=probe.host)
        except ssl.SSLCertVerificationError:
            raise
        except (ssl.SSLError, ConnectionError) as exc:
            return _replace(
                probe,
                status=ProbeStatus.HANDSHAKE_FAILED,
                offered=True,
                error=f"TLS handshake: {getattr(exc, 'reason', None) or exc}",
                **_extensions(keywords),
            )
        facts = _tls_facts(probe, writer, now)
        with contextlib.suppress(_SmtpProblem, OSError, EOFError):
            # RFC 3207 §4.2: the client MUST discard what it knew and issue EHLO again.
            keywords = _keywords(await _command(reader, writer, f"EHLO {helo}", 250))
            await _quit(reader, writer)
        if probe.chain_valid is None:
            facts["chain_valid"] = True
        return _replace(
            probe, status=ProbeStatus.TLS, offered=True, **facts, **_extensions(keywords)
        )
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


def _tls_facts(
    probe: TlsProbe, writer: asyncio.StreamWriter, now: datetime.datetime | None
) -> dict[str, object]:
    ssl_object = writer.get_extra_info("ssl_object")
    cipher = ssl_object.cipher() if ssl_object is not None else None
    chain = peer_chain(ssl_object)
    facts: dict[str, object] = {
        "protocol": ssl_object.version() if ssl_object is not None else None,
        "cipher": cipher[0] if cipher else None,
        "_chain": chain,
    }
    if chain:
        try:
            cert = certificate_facts(chain[0], now=now or datetime.datetime.now(datetime.UTC))
        except ParseError:
            return facts
        facts.update(
            names=cert.names,
            name_matches=name_matches(cert.names, probe.host),
            not_after=cert.not_after.isoformat(),
            days_to_expiry=cert.days_to_expiry,
        )
    return facts


def _keywords(lines: list[str]) -> dict[str, str]:
    """EHLO keywords (upper case) and their parameters; the first line is the greeting."""
    keywords: dict[str, str] = {}
    for line in lines[1:]:
        keyword, _, params = line.strip().partition(" ")
        if keyword:
            keywords[keyword.upper()] = params.strip()
    return keywords


def _extensions(keywords: dict[str, str]) -> dict[str, object]:
    size: int | None = None
    raw = keywords.get("SIZE", "")
    if raw.isascii() and raw.isdigit() and len(raw) < 16:
        size = int(raw)
    return {
        "extensions": tuple(k for k in REPORTED_EXTENSIONS if k in keywords),
        "size_limit": size,
    }


async def _reply(reader: asyncio.StreamReader) -> tuple[int, list[str]]:
    """One SMTP reply: its code and its lines' text (RFC 5321 §4.2.1)."""
    lines: list[str] = []
    for _ in range(MAX_REPLY_LINES):
        try:
            raw = await reader.readline()
        except ValueError:
            raise _SmtpProblem(f"a reply line over {MAX_REPLY_LINE} bytes") from None
        if not raw:
            raise EOFError
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in ("", " ", "-"):
            raise _SmtpProblem(f"not an SMTP reply: {line[:80]!r}")
        lines.append(line[4:])
        if line[3:4] != "-":
            return int(line[:3]), lines
    raise _SmtpProblem(f"a reply of more than {MAX_REPLY_LINES} lines")


async def _send(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, command: str
) -> tuple[int, str]:
    writer.write(command.encode("ascii") + b"\r\n")
    await writer.drain()
    code, lines = await _reply(reader)
    return code, " ".join(lines)


async def _command(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, command: str, expected: int
) -> list[str]:
    writer.write(command.encode("ascii") + b"\r\n")
    await writer.drain()
    code, lines = await _reply(reader)
    if code != expected:
        raise _SmtpProblem(f"{command.split()[0]} answered {code} {' '.join(lines)[:200]}")
    return lines


async def _quit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(_SmtpProblem, OSError, EOFError):
        await _send(reader, writer, "QUIT")
