"""``verify_message``: one received message as a receiver sees it (DKIM, SPF, DMARC, A-R).

Where :mod:`mailcheck.audit` judges a domain's DNS as a sender, this judges one
received message as a receiver would: every DKIM signature, SPF for the
connecting IP and envelope sender, then DMARC alignment and disposition, and
the ``Authentication-Results`` header a receiver would add (built with authres).

Example::

    result = await verify_message(raw, ip="192.0.2.10", mail_from="news@example.org",
                                  helo="mail.example.org", resolver=resolver)
    result.dmarc_result          # "pass", "fail", "none", "temperror", "permerror"
    print(result.header)         # Authentication-Results: mx.example.net; dkim=pass ...
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
from collections.abc import Sequence

from mailcheck.authresults import (
    AR_HEADER,
    AuthResult,
    AuthResultProperty,
    build_authentication_results,
    drop_unsafe_characters,
    header_fields,
)
from mailcheck.dkim.arc_verify import ArcResult, ArcVerdict, verify_arc
from mailcheck.dkim.verify import DkimResult, DkimSignatureResult, verify_dkim
from mailcheck.dmarc.evaluate import DmarcEvaluation, evaluate_dmarc
from mailcheck.errors import ParseError
from mailcheck.lookup import Resolver
from mailcheck.lookup.domains import normalize_domain
from mailcheck.model import ToDict
from mailcheck.spf.evaluate import SpfEvaluation, check_host

DEFAULT_AUTHSERV_ID = "mailcheck"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VerifyResult(ToDict):
    """DKIM, SPF and DMARC of one message.

    Attributes:
        from_domain: the RFC5322.From domain, ``None`` if there is not exactly one.
        dkim: one result per DKIM-Signature, top first.
        spf: the SPF evaluation, ``None`` without ``ip``.
        dmarc: the DMARC evaluation, ``None`` without a single From domain.
        dmarc_result: ``pass``, ``fail``, ``none``, ``temperror`` or ``permerror``.
        arc: the ARC chain (RFC 8617): ``none`` without ARC header fields; otherwise
            ``arc=`` (with ``header.oldest-pass``) is in the Authentication-Results.
        authentication_results: the header value (without the field name).
        header: the whole header line, ``Authentication-Results: ...``.
    """

    from_domain: str | None
    dkim: tuple[DkimSignatureResult, ...] = ()
    spf: SpfEvaluation | None = None
    dmarc: DmarcEvaluation | None = None
    dmarc_result: str = "none"
    arc: ArcResult | None = None
    authentication_results: str = ""
    header: str = ""

    @property
    def dmarc_passed(self) -> bool:
        """True when DMARC passed."""
        return self.dmarc_result == "pass"


async def verify_message(
    message: bytes,
    /,
    *,
    ip: str | None = None,
    mail_from: str | None = None,
    helo: str | None = None,
    resolver: Resolver,
    authserv_id: str = DEFAULT_AUTHSERV_ID,
) -> VerifyResult:
    """Verify one message as a receiver: DKIM, SPF (when ``ip`` is given), DMARC.

    Args:
        message: the message as received.
        ip: the connecting client's IP; without it SPF is not evaluated.
        mail_from: the SMTP MAIL FROM address (``""`` for the null sender).
        helo: the HELO/EHLO name.
        resolver: where every DNS question goes.
        authserv_id: the name in the Authentication-Results header.

    Every value written into the header is quoted when it is not a plain token
    or address (``smtp.mailfrom="x;dmarc=pass ..."`` stays one value). Values
    taken from the message (a signature's ``d=``, ``s=``...) lose any control
    character; the caller's own ``mail_from``, ``helo`` and ``authserv_id`` are
    refused if they hold one.

    Raises:
        ParseError: ``mail_from``, ``helo`` or ``authserv_id`` holds a control
            character (CR, LF, NUL...), which no SMTP session can carry.
    """
    _refuse_unsafe(mail_from=mail_from, helo=helo, authserv_id=authserv_id)
    from_domain = _from_domain(message)
    spf_sender = _spf_sender(mail_from, helo)
    async with asyncio.TaskGroup() as group:
        dkim_task = group.create_task(verify_dkim(message, resolver=resolver))
        arc_task = group.create_task(verify_arc(message, resolver=resolver))
        spf_task = None
        if ip is not None and spf_sender is not None:
            spf_task = group.create_task(check_host(ip, spf_sender, helo=helo, resolver=resolver))
    dkim = dkim_task.result()
    spf = spf_task.result() if spf_task is not None else None
    spf_result = str(spf.result) if spf is not None else "none"
    spf_domain = spf.domain if spf is not None else None
    dmarc = None
    dmarc_result = "permerror" if from_domain is None else "none"
    if from_domain is not None:
        dmarc = await evaluate_dmarc(
            from_domain,
            spf_result=spf_result,
            spf_domain=spf_domain or "",
            dkim_results=[(r.domain, str(r.result)) for r in dkim],
            resolver=resolver,
        )
        dmarc_result = _dmarc_result(dmarc, dkim, spf_result)
    results = _ar_results(dkim, spf_result if spf else None, spf_sender, helo, from_domain, dmarc)
    if dmarc is not None and results[-1].method == "dmarc":
        results[-1] = dataclasses.replace(results[-1], result=dmarc_result)
    arc = arc_task.result()
    if arc.result is not ArcVerdict.NONE:
        results.append(_arc_result(arc, ip))
    value = build_authentication_results(authserv_id, results)
    return VerifyResult(
        from_domain=from_domain,
        dkim=dkim,
        spf=spf,
        dmarc=dmarc,
        dmarc_result=dmarc_result,
        arc=arc,
        authentication_results=value,
        header=f"{AR_HEADER}: {value}",
    )


def _refuse_unsafe(**values: str | None) -> None:
    for name, value in values.items():
        if value is not None and drop_unsafe_characters(value) != value:
            bad = next(i for i, ch in enumerate(value) if drop_unsafe_characters(ch) != ch)
            raise ParseError(
                value, bad, f"{name}: control character {value[bad]!r} refused (header injection)"
            )


def _dmarc_result(
    dmarc: DmarcEvaluation, dkim: Sequence[DkimSignatureResult], spf_result: str
) -> str:
    # Unknown is not failure: a fail that a DNS failure may have caused is a temperror
    # (RFC 7489 §6.6.2 lets the receiver defer; the evaluation object keeps the detail).
    could_not_check = spf_result == "temperror" or any(
        r.result is DkimResult.TEMPERROR for r in dkim
    )
    if str(dmarc.result) == "fail" and could_not_check:
        return "temperror"
    return str(dmarc.result)


def _from_domain(message: bytes) -> str | None:
    values = [v for n, v in header_fields(message) if n.lower() == "from"]
    if len(values) != 1:
        return None
    addresses = [a for _, a in email.utils.getaddresses(values) if "@" in a]
    if len(addresses) != 1:
        return None
    try:
        return normalize_domain(addresses[0].rpartition("@")[2])
    except ParseError:
        return None


def _spf_sender(mail_from: str | None, helo: str | None) -> str | None:
    # RFC 7208 §2.4: with a null reverse-path, check "postmaster@" the HELO name.
    address = (mail_from or "").strip().strip("<>")
    if "@" in address:
        return address
    if helo:
        return f"postmaster@{helo.strip().rstrip('.')}"
    return None


def _prop(ptype: str, name: str, value: str | None) -> tuple[AuthResultProperty, ...]:
    # Values from the message may hold anything: what a header cannot carry is dropped.
    clean = drop_unsafe_characters(value) if value else ""
    return (AuthResultProperty(ptype=ptype, name=name, value=clean),) if clean else ()


def _arc_result(arc: ArcResult, ip: str | None) -> AuthResult:
    # RFC 8617 §10.1 registers header.oldest-pass and smtp.remote-ip for the arc method.
    props: tuple[AuthResultProperty, ...] = ()
    if arc.oldest_pass is not None:
        props += _prop("header", "oldest-pass", str(arc.oldest_pass))
    props += _prop("smtp", "remote-ip", ip)
    reason = drop_unsafe_characters(arc.reason) if arc.reason else None
    return AuthResult(method="arc", result=str(arc.result), reason=reason, properties=props)


def _ar_results(
    dkim: Sequence[DkimSignatureResult],
    spf_result: str | None,
    sender: str | None,
    helo: str | None,
    from_domain: str | None,
    dmarc: DmarcEvaluation | None,
) -> list[AuthResult]:
    results = []
    for sig in dkim:
        props = (
            _prop("header", "d", sig.domain)
            + _prop("header", "s", sig.selector)
            + _prop("header", "a", sig.algorithm)
            + _prop("header", "b", sig.header_b)
        )
        reason = drop_unsafe_characters(sig.reason) if sig.reason is not None else None
        results.append(
            AuthResult(method="dkim", result=str(sig.result), reason=reason, properties=props)
        )
    if not dkim:
        results.append(AuthResult(method="dkim", result="none"))
    if spf_result is not None:
        props = _prop("smtp", "mailfrom", sender) + _prop("smtp", "helo", helo)
        results.append(AuthResult(method="spf", result=spf_result, properties=props))
    if dmarc is not None and from_domain is not None:
        props = _prop("header", "from", from_domain)
        policy = getattr(dmarc, "policy", None)
        if policy:
            props += _prop("policy", "dmarc", str(policy))
        results.append(AuthResult(method="dmarc", result=str(dmarc.result), properties=props))
    return results
