"""One SMTP transaction of the Sender's workers, and what its replies do: recipient
states in the spool, shaping through the :class:`~mailcheck.sending.judge.Judge`.

Every per-recipient error of a transaction (a reply, an address the client refuses) is
that recipient's outcome; a dropped connection is the caller's to handle (a reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from mailcheck.errors import ParseError
from mailcheck.hygiene.classify import BounceClass, BounceCodes, classify_reply
from mailcheck.hygiene.suppression import SuppressionList
from mailcheck.hygiene.verp import UnsubscribeConfig, VerpConfig
from mailcheck.sending.events import EventKind, Listeners, SendEvent
from mailcheck.sending.judge import Judge
from mailcheck.sending.lanes import Route, tenant_of
from mailcheck.sending.providers import ProviderSet
from mailcheck.sending.replies import Classification, classify_text
from mailcheck.sending.session import Session, SmtpDisconnected, SmtpFailure, SmtpReplyError
from mailcheck.sending.shaper import Shaper
from mailcheck.sending.spool import TRANSACTIONAL, Job, SqliteSpool
from mailcheck.sending.types import Action, Clock

__all__ = ["Classify", "Counters", "Reconnect", "Transactions"]

#: Seconds before a transactional message throttled during a bulk-only pause tries again.
TRANSACTIONAL_RETRY = 60.0

Classify = Callable[[int, str], Classification]


@dataclasses.dataclass
class Counters:
    """What happened to one budget since the Sender started."""

    attempts: int = 0
    delivered: int = 0
    deferred: int = 0
    bounced: int = 0
    expired: int = 0
    connections: int = 0


class Reconnect(Exception):
    """The server closed the connection: open another one."""


def session_tls(session: Session) -> str | None:
    """The TLS ``session`` went under; None from a transport whose sessions do not say
    (one written before :attr:`Session.tls`)."""
    tls = getattr(session, "tls", None)
    return None if tls is None else str(tls)


def _needs_utf8(job: Job) -> bool:
    return not job.mail_from.isascii() or any(not r.isascii() for _, r, _ in job.recipients)


class Transactions:
    """The transaction half of :class:`~mailcheck.sending.delivery.Delivery` (its base
    class): the attributes below are set by ``Delivery.__init__``."""

    spool: SqliteSpool
    shaper: Shaper
    judge: Judge
    providers: ProviderSet
    listeners: Listeners
    clock: Clock
    classify: Classify | None
    counters: dict[tuple[str, str], Counters]
    news: asyncio.Event
    settled: Callable[[asyncio.Future[Any]], None]
    suppressions: SuppressionList
    verp: VerpConfig | None
    unsubscribe: UnsubscribeConfig | None
    late_signer: Callable[[bytes], bytes] | None
    bounce_codes: BounceCodes | None

    def _count(self, route: Route) -> Counters:
        return self.counters.setdefault(route.key, Counters())

    # -- a lane's worker ----------------------------------------------------------------------

    def paused_for(self, route: Route) -> float:
        """Seconds the route's pause still lasts (0 when it is not paused)."""
        return max(0.0, route.paused_until - asyncio.get_running_loop().time())

    def _classify(self, route: Route, code: int, text: str) -> Classification:
        if self.classify is not None:
            return self.classify(code, text)
        return classify_text(code, text, route.provider or self.providers.default)

    async def _defer_all(
        self, route: Route, job: Job, reply: str, *, tls: str | None = None
    ) -> None:
        states = await asyncio.gather(
            *(self.spool.defer(rid, reply, tls=tls) for rid, _, _ in job.recipients)
        )
        for state in states:
            self._tally(route, state)

    def _tally(self, route: Route, state: str) -> None:
        self.news.set()
        counters = self._count(route)
        if state == "expired":
            counters.expired += 1
        else:
            counters.deferred += 1

    async def _send(
        self, route: Route, session: Session, job: Job, settling: list[asyncio.Future[Any]]
    ) -> bool:
        """Send one job; True when the connection must not be reused. The commit of a
        delivery is appended to ``settling`` rather than awaited."""
        checked = await self._recheck(job)
        if checked is None:
            return False
        job = checked
        counters = self._count(route)
        counters.attempts += 1
        tls = session_tls(session)  # recorded with every outcome of this transaction
        if self.listeners:
            rcpts = ",".join(rcpt for _, rcpt, _ in job.recipients)
            self.listeners.emit(SendEvent(kind=EventKind.ATTEMPT, message_id=job.message_id,
                                          rcpt=rcpts, key=route.key, at=self.clock(),
                                          tls=tls or ""))  # fmt: skip
        utf8 = _needs_utf8(job)
        if utf8 and not session.smtputf8:
            # RFC 6531 §3.5: without the server's SMTPUTF8 the message cannot be sent.
            reply = "553 5.6.7 non-ASCII address and the server does not offer SMTPUTF8"
            await self._reply(
                route, job, [r for r, _, _ in job.recipients], SmtpReplyError(553, reply[4:]),
                tls=tls,
            )  # fmt: skip
            return False
        accepted: list[int] = []
        mail_from, raw = self._envelope(job)
        learn = False  # a refusal of MAIL FROM says nothing about the recipients
        try:
            await session.mail(mail_from, smtputf8=utf8)
            for i, (rid, _, _) in enumerate(job.recipients):
                try:
                    await session.rcpt(job.recipients[i][1])
                    accepted.append(rid)
                except SmtpReplyError as exc:
                    stop = await self._reply(route, job, [rid], exc, learn=True, tls=tls)
                    if stop or exc.code == 421:
                        rest = accepted + [r for r, _, _ in job.recipients[i + 1 :]]
                        await asyncio.gather(
                            *(self._defer_one(route, r, exc.line, tls) for r in rest)
                        )
                        return True
            if not accepted:
                await session.rset()
                return False
            # A refusal of the message names the recipient only when it is the only one
            # (one per copy with VERP); for several it is about the message.
            learn = len(accepted) == 1
            reply = await session.data(raw)
        except SmtpDisconnected as exc:
            raise Reconnect from exc
        except SmtpReplyError as exc:
            rids = accepted or [rid for rid, _, _ in job.recipients]
            stop = await self._reply(route, job, rids, exc, learn=learn, tls=tls)
            return stop or exc.code == 421
        except SmtpFailure as exc:  # timeouts, protocol errors: try later
            await self._defer_all(route, job, f"smtp: {exc}", tls=tls)
            return True
        # Concurrent calls share one commit (the spool's group commit).
        group = route.key[1]
        done = [
            self.spool.finish_nowait(rid, "delivered", reply, group=group, tls=tls)
            for rid in accepted
        ]
        future = done[0] if len(done) == 1 else asyncio.gather(*done)
        future.add_done_callback(self.settled)
        settling.append(future)
        counters.delivered += len(accepted)
        backlog = max(route.backlog, route.waiting())  # the spool count includes ours
        rose = await self.shaper.success(
            route.key, route.policy, backlog=backlog, count=len(accepted)
        )
        if rose is not None and self.listeners:
            self.listeners.emit(SendEvent(kind=EventKind.PROBING, key=route.key,
                                          rate=rose.rate * 3600, at=self.clock()))  # fmt: skip
        return False

    async def _defer_one(self, route: Route, rid: int, reply: str, tls: str | None) -> None:
        self._tally(route, await self.spool.defer(rid, reply, tls=tls))

    async def _reply(
        self, route: Route, job: Job, rids: Sequence[int], exc: SmtpReplyError,
        *, learn: bool = False, tls: str | None = None,
    ) -> bool:  # fmt: skip
        """Apply a failure reply to ``rids``; True when the connection must not be reused.
        ``learn``: the reply is about the recipients (RCPT; DATA with one recipient): a
        hard or soft bounce feeds the suppression list. ``tls``: the session's."""
        verdict = self._classify(route, exc.code, exc.message)
        line, tenant = exc.line, tenant_of(job)
        if learn:
            await self._learn(job, rids, exc)
        if verdict.action is Action.BOUNCE or exc.code >= 500:
            # 5xx is permanent for this message (RFC 5321) even when it also judges the IP.
            group = route.key[1]
            await asyncio.gather(
                *(self.spool.finish(rid, "bounced", line, group=group, tls=tls) for rid in rids)
            )
            self._count(route).bounced += len(rids)
            self.news.set()
        elif verdict.shapes:
            # The provider judges us, not the message: wait for the budget's pause without
            # burning an attempt (judged first: the pause sets when it is due).
            stop = await self.judge.judge(
                route, verdict, line, tenant=tenant, message_id=job.message_id
            )
            wait = self.paused_for(route)
            if route.bulk_only and job.priority >= TRANSACTIONAL:
                wait = min(wait, TRANSACTIONAL_RETRY)  # goes on at the cut pace
            at = self.clock() + max(1.0, wait)
            await asyncio.gather(
                *(self.spool.defer(rid, line, at=at, attempt=False, tls=tls) for rid in rids)
            )
            for _ in rids:
                self._tally(route, "deferred")
            return stop
        else:
            at = None
            if verdict.action is Action.RETRY and verdict.retry_after:
                at = self.clock() + verdict.retry_after  # the server said when
            states = await asyncio.gather(
                *(self.spool.defer(rid, line, at=at, tls=tls) for rid in rids)
            )
            for state in states:
                self._tally(route, state)
        return await self.judge.judge(
            route, verdict, line, tenant=tenant, message_id=job.message_id
        )

    # -- list hygiene ---------------------------------------------------------------------------

    async def _recheck(self, job: Job) -> Job | None:
        """The job without the recipients the suppression list stopped since it was
        claimed (recorded ``suppressed`` now); None when none is left. Only when the list
        changed since the claim, which checked it: no cost on the common path."""
        if not self.spool.stale(job):
            return job
        stopped = await self.spool.recheck(job)
        if not stopped:
            return job
        self.news.set()
        rest = tuple(r for r in job.recipients if r[0] not in stopped)
        return dataclasses.replace(job, recipients=rest) if rest else None

    def _envelope(self, job: Job) -> tuple[str, bytes]:
        """MAIL FROM and the bytes to send. With unsubscribe headers, a bulk message to a
        list gets its recipient's headers, then the DKIM signature (RFC 8058 §4: signed);
        with VERP, the recipient's own return path and tracking header. The Sender sends
        one recipient per job then."""
        raw, mail_from = job.raw, job.mail_from
        single = len(job.recipients) == 1
        rid, rcpt, _ = job.recipients[0]
        if self.unsubscribe and single and job.list_id and job.priority < TRANSACTIONAL:
            raw = self.unsubscribe.headers(rcpt, job.list_id) + raw
        if self.late_signer is not None:
            raw = self.late_signer(raw)
        if self.verp is not None and mail_from and single:
            mail_from, raw = self.verp.return_path(rid), self.verp.header(rid) + raw
        return mail_from, raw

    async def _learn(self, job: Job, rids: Sequence[int], exc: SmtpReplyError) -> None:
        """A hard bounce suppresses the address at once; a soft one is counted
        (``bounce_codes.toml``). Policy and reputation refusals change nothing."""
        if not self.spool.suppression:
            return
        verdict = classify_reply(exc.code, exc.message, codes=self.bounce_codes)
        if verdict.kind not in (BounceClass.HARD, BounceClass.SOFT):
            return
        rcpts = {rid: rcpt for rid, rcpt, _ in job.recipients}
        source = f"{exc.line[:300]} (message {job.message_id})"
        for rid in rids:
            with contextlib.suppress(ParseError):  # an address that never parsed: as before
                await self._learn_one(verdict.kind, rcpts[rid], job, verdict.status, source)

    async def _learn_one(
        self, kind: BounceClass, rcpt: str, job: Job, status: str | None, source: str
    ) -> None:
        if kind is BounceClass.HARD:
            await self.suppressions.record_hard_bounce(rcpt, source=source)
        else:
            await self.suppressions.record_soft_bounce(
                rcpt, message_id=job.message_id, tenant=tenant_of(job), status=status or "",
                source=source,
            )  # fmt: skip
