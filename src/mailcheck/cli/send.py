"""``mailcheck send``: queue messages in the spool and deliver them, shaped per provider.

Examples::

    mailcheck send --from news@asso.example newsletter.eml      # recipients from To/Cc/Bcc
    mailcheck send --from a@asso.example --to b@example.net message.eml
    mailcheck send --maildir ~/outbox --from a@asso.example --egress 192.0.2.25=mail.asso.example
    mailcheck send --spool /var/spool/mailcheck --until-idle   # cron: what is due, then exit
    mailcheck send --spool /var/spool/mailcheck --forever      # a delivery daemon

By default the run goes on until every recipient of the spool is final (delivered, bounced
or expired), waiting out deferrals and pauses, with progress on stderr. Exit codes: 0 every
recipient delivered (or, with ``--until-idle``/``--no-run``, nothing bounced or expired);
1 some bounced or expired; 2 a usage or operational error, or a message not queued; 3 the
run ended at ``--max-time`` with mail still waiting; 130/143 stopped by SIGINT/SIGTERM (the
summary prints the command that resumes). ``--forever`` exits 0 when stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import math
import signal
import sqlite3
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailcheck.cli.common import make_resolver, print_json
from mailcheck.cli.send_args import add_send_parser, resume_command, safe_url
from mailcheck.cli.send_hygiene import check_hygiene, tls_options
from mailcheck.cli.send_input import (
    check_hostname,
    check_mailbox,
    envelope,
    parse_egress,
)
from mailcheck.cli.send_progress import clean, describe, progress_line
from mailcheck.cli.send_run import (
    Control,
    Settled,
    deliver,
    open_spool,
    redis_backend,
    submit_all,
)
from mailcheck.dkim.keys import load_key
from mailcheck.dkim.sign import DkimSigner
from mailcheck.errors import ConfigError, MailcheckError
from mailcheck.sending import (
    BULK,
    TRANSACTIONAL,
    Egress,
    FairnessConfig,
    ProviderSet,
    Sender,
)
from mailcheck.sending.local_share import Gcra
from mailcheck.sending.providers import parse_duration
from mailcheck.sending.shaping import Budget

if TYPE_CHECKING:
    from mailcheck.sending import SendProgress

__all__ = ["envelope", "load_tenants", "register", "run"]


def register(subparsers: Any) -> None:
    """Add ``mailcheck send``."""
    add_send_parser(subparsers, run=run)


EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_UNFINISHED = 0, 1, 2, 3


def _duration(value: str | None, option: str) -> float | None:
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except (MailcheckError, ValueError) as exc:
        raise ConfigError(f"{option} {value!r}: {exc}") from None
    if seconds <= 0:
        raise ConfigError(f"{option} {value!r}: must be positive")
    return seconds


def _overrides(items: list[str]) -> dict[str, tuple[str, int]]:
    result: dict[str, tuple[str, int]] = {}
    for item in items:
        host, _, target = item.partition("=")
        ip, _, port = target.rpartition(":")
        if not host or not ip or not port.isdigit():
            raise ConfigError(f"--mx-override {item!r}: expected HOST=IP:PORT")
        result[host.lower().rstrip(".")] = (ip.strip("[]"), int(port))
    return result


def load_tenants(path: str | None) -> FairnessConfig | None:
    """The ``--tenants`` file: ``[tenant.NAME]`` tables of ``weight`` and ``max_rate``."""
    if path is None:
        return None
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"--tenants {path}: {exc}") from None
    tenants = data.get("tenant", {})
    if not isinstance(tenants, dict) or set(data) - {"tenant"}:
        raise ConfigError(f"--tenants {path}: expected only [tenant.NAME] tables")
    return FairnessConfig.from_mapping(tenants)


def _signer(args: argparse.Namespace) -> DkimSigner | None:
    if not args.dkim_key:
        return None
    if not args.dkim_domain or len(args.dkim_selector) != len(args.dkim_key):
        raise ConfigError("--dkim-key needs --dkim-domain and one --dkim-selector per key")
    keys = [(s, load_key(k)) for s, k in zip(args.dkim_selector, args.dkim_key, strict=True)]
    return DkimSigner(args.dkim_domain, keys=keys)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """What the options say, checked before anything is queued or opened."""

    egress: list[Egress]
    max_time: float | None
    drain_target: float | None
    progress_every: float
    signer: DkimSigner | None
    fairness: FairnessConfig | None
    providers: ProviderSet
    hygiene: dict[str, Any]  # lint, verp, unsubscribe: the Sender's keyword arguments


def _check_paths(args: argparse.Namespace) -> None:
    # A NUL byte cannot be in a path: said here, before any library call meets it.
    for option, values in (("--providers", args.providers), ("--dkim-key", args.dkim_key),
                           ("--tenants", [args.tenants] if args.tenants else []),
                           ("--maildir", [args.maildir] if args.maildir else []),
                           ("MESSAGE", args.messages)):  # fmt: skip
        for value in values:
            if "\x00" in value:
                raise ConfigError(f"{option} {value!r}: not a path (a NUL byte)")


def check_options(args: argparse.Namespace) -> Options:
    """Every option checked (addresses, egress IPs, durations); one-line errors."""
    _check_paths(args)
    if (args.messages or args.maildir) and not args.mail_from:
        raise ConfigError("messages to queue need --from ADDR")
    if args.mail_from:
        check_mailbox(args.mail_from, "--from")
    for value in args.to:
        check_mailbox(value, "--to")
    if args.helo:
        check_hostname(args.helo, "--helo")
    if args.rate is not None and not 0 < args.rate < float("inf"):
        raise ConfigError("--rate must be a positive number")
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port {args.port}: not a TCP port (1-65535)")
    if args.redis_hosts < 1:
        raise ConfigError("--redis-hosts must be at least 1")
    every = _duration(args.progress_every, "--progress-every")
    return Options(
        egress=parse_egress(args.egress, args.helo),
        max_time=_duration(args.max_time, "--max-time"),
        drain_target=_duration(args.drain_target, "--drain-target"),
        progress_every=every or 60.0,
        signer=_signer(args),
        fairness=load_tenants(args.tenants),
        providers=ProviderSet.load(user_files=args.providers),
        hygiene=check_hygiene(args),
    )


def _sender(args: argparse.Namespace, opts: Options, spool: Any, backend: Any) -> Sender:
    extra: dict[str, Any] = {}
    if opts.drain_target is not None:
        extra["drain_target"] = opts.drain_target
    if args.rate:
        gcra = Gcra(interval=1 / args.rate)
        extra["default_budget"] = Budget(message_rates=((f"{args.rate}/s", gcra),))
    resolver = make_resolver(args)
    extra.update(opts.hygiene)
    extra.update(tls_options(args, resolver))
    return Sender(
        spool=spool,
        clock=_clock(),
        resolver=resolver,
        providers=opts.providers,
        egress=opts.egress,
        helo=args.helo,
        signer=opts.signer,
        fairness=opts.fairness,
        backend=backend,
        port=args.port,
        mx_override=_overrides(args.mx_override),
        **extra,
    )


async def _main(args: argparse.Namespace, opts: Options) -> tuple[dict[str, Any], SendProgress]:
    async with contextlib.AsyncExitStack() as stack:
        backend = None
        if args.redis:  # first: a Redis that does not answer leaves nothing behind
            backend = await stack.enter_async_context(
                await redis_backend(args.redis, safe_url(args.redis), hosts=args.redis_hosts)
            )
        spool = open_spool(args.spool, clock=_clock())
        stack.callback(spool.close)
        sender = await stack.enter_async_context(_sender(args, opts, spool, backend))
        settled = Settled()
        sender.subscribe(settled)
        control = Control(sender)
        with control.signals():
            priority = TRANSACTIONAL if args.priority == "transactional" else BULK
            queued = await submit_all(sender, control, args, priority=priority)
            if not args.no_run and control.signal is None:
                await deliver(sender, control, args, opts.max_time, opts.progress_every)
            progress = await sender.progress()
            spool_counts = await spool.counts() if args.status else None
    return _summary(args, queued, settled.counts, progress, control, spool_counts), progress


def _exit_code(
    args: argparse.Namespace,
    rejected: int,
    counts: dict[str, int],
    progress: SendProgress,
    control: Control,
) -> int:
    if args.forever:  # a daemon ends when stopped: that is its normal end
        return EXIT_ERROR if rejected else EXIT_OK
    if control.signal is not None:
        return 128 + control.signal
    if rejected:
        return EXIT_ERROR
    if counts.get("bounced", 0) + counts.get("expired", 0):
        return EXIT_FAILED
    if progress.waiting and not (args.until_idle or args.no_run):
        return EXIT_UNFINISHED
    return EXIT_OK


def _ended(args: argparse.Namespace, progress: SendProgress, control: Control) -> str:
    if control.aborted or control.signal is not None:
        return "aborted" if control.aborted else "stopped"
    if args.no_run:
        return "queued"
    if progress.final:
        return "final"
    if args.until_idle:
        return "max-time" if control.timed_out else "idle"
    return "max-time"  # the other modes end early only at --max-time


def _summary(
    args: argparse.Namespace,
    queued: dict[str, Any],
    counts: dict[str, int],
    progress: SendProgress,
    control: Control,
    spool_counts: dict[str, int] | None,
) -> dict[str, Any]:
    return {
        "ended": _ended(args, progress, control),
        "signal": signal.Signals(control.signal).name if control.signal else None,
        "submitted": queued,
        "this_run": counts,
        "progress": progress.to_dict(),
        "spool": spool_counts,
        "resume": resume_command(args) if progress.waiting else None,
        "exit_code": _exit_code(args, len(queued["rejected"]), counts, progress, control),
    }


def _print_text(result: dict[str, Any], progress: SendProgress, now: float) -> None:
    sub = result["submitted"]
    parts = []
    if sub["messages"]:
        parts.append(f"queued {sub['messages']} message(s) for {sub['recipients']} recipient(s)")
    if sub["already_queued"]:
        parts.append(f"{sub['already_queued']} recipient(s) already queued (not again)")
    if sub.get("suppressed"):
        parts.append(f"{sub['suppressed']} recipient(s) suppressed (mailcheck suppress list)")
    if parts:
        print("; ".join(parts))
    if sub["rejected"]:
        print(f"{len(sub['rejected'])} message(s) not queued (errors above)")
    counts = result["this_run"]
    if counts:
        words = {"deferred": "deferral(s)"}
        done = [f"{n} {words.get(state, state)}" for state, n in sorted(counts.items())]
        print("this run: " + ", ".join(done))
    tail = {"final": ": every recipient is final", "max-time": " (--max-time reached)"}
    print("in the spool: " + progress_line(progress) + tail.get(result["ended"], ""))
    for provider in progress.providers:
        print(f"  {describe(provider, now)}")
    if result["spool"]:
        for state, count in result["spool"].items():
            print(f"{state:10} {count}")
    if result["resume"]:
        if result["signal"]:
            print(f"stopped by {result['signal']}: ", end="")
        print(f"{progress.waiting} recipient(s) wait in the spool; to go on:")
        print(f"  {result['resume']}")


def _clock() -> Callable[[], float]:
    """The wall clock of the running loop: a scaled one under ``--time-scale``."""
    wall: Callable[[], float] = getattr(asyncio.get_running_loop(), "wall", time.time)
    return wall


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit code."""
    opts = check_options(args)
    scale = args.time_scale
    if scale is not None and not (0 < scale <= 10_000 and math.isfinite(scale)):
        raise ConfigError("--time-scale must be a number above 0 (at most 10000)")
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if scale is not None:
        from mailcheck.sending.simulation import ScaledClockLoop

        def factory() -> asyncio.AbstractEventLoop:
            return ScaledClockLoop(speed=scale)

    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            result, progress = runner.run(_main(args, opts))
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"--spool {args.spool}: {clean(str(exc))}") from None
    if args.format == "json":
        print_json(result)
    else:
        _print_text(result, progress, time.time())
    code: int = result["exit_code"]
    return code
