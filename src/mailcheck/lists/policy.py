"""``mitigation_for``: does a post from this address need its From rewritten (or wrapped)?

The answer follows the From domain's DMARC policy, found by our policy discovery
(:func:`mailcheck.dmarc.discover_policy`, the RFC 9989 tree walk):

- a record on the domain itself gives ``p``; a record inherited from a parent gives
  ``sp``, or ``np`` when the domain does not exist (NXDOMAIN, RFC 9091);
- ``quarantine`` and ``reject`` are mitigated (``quarantine=False`` leaves quarantine
  alone, as Mailman's ``dmarc_quarantine_moderation_action = no``);
- ``t=y`` and RFC 7489's ``pct`` are reported but do not relax the answer: a list cannot
  know whether its members' receivers follow RFC 9989 or RFC 7489;
- a domain in ``enforcers.toml`` is mitigated whatever it publishes;
- no record, several, or one that does not parse: no policy applies (RFC 9989), ``none``;
- a DNS failure where the policy would be found is "could not check": the post is
  mitigated (reason ``could-not-check``). Rewriting a From costs the reader a little;
  relaying a ``p=reject`` post unchanged costs bounces and, with Mailman's bounce
  processing, unsubscribed members. So a list errs on the side of rewriting.
"""

from __future__ import annotations

import dataclasses
import email.utils

from mailcheck.dmarc.discover import Discovery, discover_policy
from mailcheck.dmarc.record import DmarcRecord
from mailcheck.errors import ParseError, TempError
from mailcheck.lists.enforcers import Enforcers, load_enforcers
from mailcheck.lists.types import Mitigation, MitigationAction, MitigationError, MitigationReason
from mailcheck.lookup import Resolver
from mailcheck.lookup.answer import DnsStatus
from mailcheck.lookup.domains import normalize_domain

ENFORCING = ("quarantine", "reject")
_STRICTNESS = {"none": 0, "quarantine": 1, "reject": 2}


async def mitigation_for(
    from_address: str,
    /,
    *,
    resolver: Resolver,
    action: MitigationAction | str = MitigationAction.REWRITE_FROM,
    quarantine: bool = True,
    enforcers: Enforcers | None = None,
) -> Mitigation:
    """What a list should do with a post from ``from_address`` (see the module docstring).

    Example::

        m = await mitigation_for("Alice <alice@example.org>", resolver=resolver)
        if m.mitigate:
            post = rewrite_from(post, "friends@lists.example.net", list_name="Friends")

    Args:
        from_address: a bare address or a From header value with one mailbox.
        resolver: where DNS questions go.
        action: what to answer when mitigation is needed: ``rewrite-from`` or ``wrap``.
        quarantine: mitigate ``p=quarantine`` too (default) or only ``p=reject``.
        enforcers: the stricter-than-published domains (default: the built-in file).

    Raises:
        MitigationError: not exactly one address, or no valid domain in it.
    """
    chosen = MitigationAction(action)
    if chosen is MitigationAction.NONE:
        raise MitigationError("action must be rewrite-from or wrap (what to do when needed)")
    domain = from_domain(from_address)
    entry = (enforcers if enforcers is not None else load_enforcers()).match(domain)
    discovery = await discover_policy(domain, resolver=resolver)
    base = Mitigation(
        action=MitigationAction.NONE,
        reason=MitigationReason.NO_POLICY,
        domain=domain,
        location=discovery.location,
        inherited=discovery.inherited,
        organizational_domain=discovery.organizational_domain,
        record=discovery.texts[0] if len(discovery.texts) == 1 else None,
        enforcer=entry.domain if entry else None,
        enforcer_sources=tuple(s.url for s in entry.sources) if entry else (),
        temperrors=discovery.temperrors,
    )
    if discovery.uncertain:
        return _with(base, chosen, MitigationReason.COULD_NOT_CHECK)
    record = discovery.record
    if record is None:
        reason = (
            MitigationReason.NO_POLICY
            if discovery.location is None
            else (MitigationReason.INVALID_POLICY)
        )
        return (
            _with(base, chosen, MitigationReason.ENFORCER) if entry else _with(base, None, reason)
        )
    tag, policy, temperror = await _applicable(domain, discovery, record, resolver)
    base = _facts(base, tag, policy, record, temperror)
    if policy == "reject" or (quarantine and policy == "quarantine"):
        return _with(base, chosen, MitigationReason.POLICY)
    if entry is not None:
        return _with(base, chosen, MitigationReason.ENFORCER)
    return _with(base, None, MitigationReason.POLICY_NONE)


def from_domain(from_address: str, /) -> str:
    """The domain of the one address in ``from_address`` (A-labels, lower case).

    Raises:
        MitigationError: not exactly one address, or no valid domain in it.
    """
    text = " ".join(from_address.split())
    addresses = [a for _, a in email.utils.getaddresses([text]) if a]
    if len(addresses) != 1 or "@" not in addresses[0]:
        raise MitigationError("the From must hold exactly one address (local@domain)")
    try:
        return normalize_domain(addresses[0].rpartition("@")[2])
    except ParseError as exc:
        raise MitigationError(f"the From address has no valid domain ({exc.reason})") from None


async def _applicable(
    domain: str, discovery: Discovery, record: DmarcRecord, resolver: Resolver
) -> tuple[str, str, tuple[str, str] | None]:
    """(tag, policy, a temperror) -- p on the domain itself; sp or np when inherited."""
    if not discovery.inherited:
        return "p", str(record.policy), None
    sp, np = str(record.subdomain_policy), str(record.nonexistent_policy)
    if sp == np:
        return "sp", sp, None
    try:
        answer = await resolver.query(domain, "A")
    except TempError as exc:
        # Existence unknown: the stricter of the two, so a DNS failure never relaxes.
        stricter = max(("sp", sp), ("np", np), key=lambda t: _STRICTNESS[t[1]])
        return stricter[0], stricter[1], (domain, str(exc))
    if answer.status is DnsStatus.NXDOMAIN:
        return "np", np, None
    return "sp", sp, None


def _facts(
    base: Mitigation,
    tag: str,
    policy: str,
    record: DmarcRecord,
    temperror: tuple[str, str] | None,
) -> Mitigation:
    extra = (temperror,) if temperror else ()
    return dataclasses.replace(
        base,
        applied_tag=tag,
        policy=policy,
        testing=record.testing,
        temperrors=base.temperrors + extra,
    )


def _with(
    base: Mitigation, action: MitigationAction | None, reason: MitigationReason
) -> Mitigation:
    return dataclasses.replace(base, action=action or MitigationAction.NONE, reason=reason)
