"""The run of ``mailcheck send``: open the spool, queue the messages, deliver, stop on signal.

The first SIGINT or SIGTERM stops gracefully (:meth:`Sender.stop`: no transaction starts,
those in flight finish or are deferred) and the summary prints the command that resumes;
a second one cancels the delivery (transactions in flight are cut; their recipients are
queued again at the next start); a third exits at once, as a crash would. ``--max-time``
stops the same way as a first signal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mailcheck.address import AddressError
from mailcheck.cli.send_input import Rejected, Source, envelope, mark_queued, read_sources
from mailcheck.cli.send_progress import clean, report_progress
from mailcheck.errors import ConfigError, SigningError
from mailcheck.sending import LintRefused, RedisBackend, Sender, SendEvent, SqliteSpool
from mailcheck.sending.spool import Submitted, submission_key

__all__ = ["Control", "Settled", "deliver", "open_spool", "redis_backend", "submit_all"]

#: Seconds to reach Redis at start before giving up.
REDIS_CONNECT = 3.0


def open_spool(value: str, *, clock: Callable[[], float] = time.time) -> SqliteSpool:
    """The spool ``--spool`` names: a directory (``spool.db`` inside, made 0700) or a file.

    A foreign SQLite file is refused by the spool before anything is written.
    """
    if not value or "\x00" in value:
        raise ConfigError(f"--spool {value!r}: not a path")
    path = Path(value)
    if path.suffix != ".db" and not path.is_file():
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--spool {value!r}: cannot create ({exc.strerror})") from None
        path = path / "spool.db"
    try:
        return SqliteSpool(str(path), clock=clock)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"--spool {value!r}: cannot open ({clean(str(exc))})") from None


async def redis_backend(url: str, shown: str, *, hosts: int) -> RedisBackend:
    """A :class:`RedisBackend` on ``url``, once Redis answered a PING (else a one-line error).

    The backend itself would fall back to a local share when Redis is away; at start a
    wrong URL or a server that is down is an operator's mistake, said at once.
    """
    try:
        from redis.asyncio import Redis
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigError("--redis needs: pip install mailcheck[redis]") from None
    try:
        client = Redis.from_url(
            url, socket_connect_timeout=REDIS_CONNECT, socket_timeout=REDIS_CONNECT
        )
    except ValueError as exc:
        raise ConfigError(f"--redis {shown}: {exc}") from None
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        raise ConfigError(f"--redis {shown}: cannot reach Redis ({clean(str(exc))})") from None
    finally:
        await client.aclose()
    return RedisBackend(url, expected_hosts=hosts)


def _say(line: str) -> None:
    # sys.stderr looked up now: while the live table runs, it prints above the table.
    sys.stderr.write(line)
    sys.stderr.flush()


class Settled:
    """Recipients settled by this process, counted by state (a :class:`SendEvent` listener)."""

    KINDS = ("delivered", "deferred", "bounced", "expired")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, event: SendEvent) -> None:
        kind = str(event.kind)
        if kind in self.KINDS:
            self.counts[kind] = self.counts.get(kind, 0) + 1
        elif kind == "lint":  # --lint warn: queued, but a provider would refuse it
            _say(f"mailcheck: warning: to {clean(event.rcpt)}: {clean(event.reply)}\n")
        elif kind == "tls-report":  # --mta-sts: a host failed its TLS policy
            _say(f"mailcheck: warning: TLS ({clean(event.tls)}) with {clean(event.host)} for "
                 f"{clean(event.rcpt)}: {clean(event.reply)}\n")  # fmt: skip


class Control:
    """How the run stops: a first signal or ``--max-time`` gracefully, a second signal hard.

    Attributes:
        signal: the number of the first signal received, or None.
        timed_out: ``--max-time`` ended the run.
        aborted: a second signal cancelled the delivery.
    """

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.signal: int | None = None
        self.timed_out = False
        self.aborted = False
        self.task: asyncio.Future[None] | None = None

    def on_signal(self, signum: int) -> None:
        """First signal: stop gracefully; second: cancel the delivery; third: exit now."""
        name = signal.Signals(signum).name
        if self.signal is None:
            self.signal = signum
            _say(
                f"mailcheck: {name}: stopping; transactions in flight finish "
                f"(send {name} again to stop at once)\n"
            )
            self.sender.stop()
        elif not self.aborted:
            _say(f"mailcheck: {name} again: stopping at once\n")
            self.aborted = True
            if self.task is not None:
                self.task.cancel()
        else:
            # As after a crash: what was in flight is queued again when the spool is next
            # opened (delivered at least once).
            _say(f"mailcheck: {name} a third time: exiting now\n")
            os._exit(128 + signum)

    def on_timeout(self) -> None:
        """``--max-time`` is reached."""
        self.timed_out = True
        self.sender.stop()

    @contextlib.contextmanager
    def signals(self) -> Iterator[None]:
        """Handle SIGINT and SIGTERM while inside (only in the main thread)."""
        loop = asyncio.get_running_loop()
        installed = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self.on_signal, signum)
            except (ValueError, RuntimeError, NotImplementedError):
                continue  # not the main thread (tests), or no signals here
            installed.append(signum)
        try:
            yield
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)


async def _queue_one(
    sender: Sender, source: Source, args: argparse.Namespace, priority: int
) -> Submitted:
    message, rcpts = envelope(source.raw, args.to)
    if not rcpts:
        raise ConfigError("no recipient (no --to, and no To/Cc/Bcc address)")
    return await sender.submit_once(
        message,
        mail_from=args.mail_from,
        rcpt_to=rcpts,
        tenant=args.tenant,
        priority=priority,
        key=submission_key(message),
        list=args.list_id,
    )


async def submit_all(
    sender: Sender, control: Control, args: argparse.Namespace, *, priority: int
) -> dict[str, Any]:
    """Queue every message of the files and the Maildir, once each.

    A message whose recipients were all queued before (same key: Message-ID, or content)
    counts as already queued. A message that cannot be read, has a bad address or cannot
    be signed is reported on stderr and not queued; the others are. A spool that fails
    (:class:`~mailcheck.errors.SpoolError`) ends the run.
    """
    tally: dict[str, Any] = {
        "messages": 0,
        "recipients": 0,
        "already_queued": 0,
        "already_queued_messages": 0,
        "suppressed": 0,
        "rejected": [],
    }
    for item in read_sources(args.messages, args.maildir):
        if control.signal is not None:
            break
        if isinstance(item, Source):
            try:
                done = await _queue_one(sender, item, args, priority)
            except (AddressError, ConfigError, SigningError, LintRefused) as exc:  # this one
                item = Rejected(item.name, str(exc))
            else:
                tally["messages"] += bool(done.queued)
                tally["recipients"] += len(done.queued)
                tally["already_queued"] += len(done.duplicates)
                tally["already_queued_messages"] += not done.queued
                tally["suppressed"] += len(done.suppressed)
                if item.maildir_file is not None:
                    try:
                        mark_queued(item.maildir_file)
                    except OSError as exc:
                        item = Rejected(item.name, f"queued, but not moved to cur/ ({exc})")
        if isinstance(item, Rejected):
            _say(f"mailcheck: error: {clean(item.name)}: {clean(item.reason)}\n")
            tally["rejected"].append({"source": item.name, "reason": item.reason})
    return tally


async def deliver(
    sender: Sender,
    control: Control,
    args: argparse.Namespace,
    max_time: float | None,
    every: float,
) -> None:
    """Deliver in the mode the options ask for, with progress on stderr."""
    loop = asyncio.get_running_loop()
    if args.forever:
        control.task = asyncio.ensure_future(sender.run())
    elif args.until_idle:
        control.task = asyncio.ensure_future(sender.run_until_idle())
    else:
        control.task = asyncio.ensure_future(sender.run_until_final(max_time=max_time))
    timer = None
    if max_time is not None and (args.forever or args.until_idle):
        timer = loop.call_later(max_time, control.on_timeout)
    reporter = asyncio.ensure_future(
        report_progress(sender.progress, stream=sys.stderr, every=every, clock=sender.clock)
    )
    try:
        await control.task
    except asyncio.CancelledError:
        if not control.aborted:
            raise
    finally:
        if timer is not None:
            timer.cancel()
        control.task.cancel()  # when this coroutine itself was cancelled
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
