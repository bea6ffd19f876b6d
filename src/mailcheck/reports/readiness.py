"""Policy readiness: what a stricter DMARC policy would do to the domain's own mail today.

The upgrade path the ``dmarc.policy-none`` finding points to ("once the aggregate reports
show your own mail passing, publish p=quarantine, then p=reject"), made concrete from the
reports: the share of legitimate mail that fails DMARC, and the steps left.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailcheck.reports.classify import legitimate
from mailcheck.reports.summary_model import Readiness, SourceCategory, SourceGroup, rate

__all__ = ["QUARANTINE_AT_RISK", "REJECT_AT_RISK", "judge_readiness"]

#: Largest share of legitimate mail failing DMARC at which ``p=quarantine`` is reasonable:
#: those messages land in spam folders (recoverable), not bounced.
QUARANTINE_AT_RISK = 0.02
#: Largest share at which ``p=reject`` is reasonable: those messages bounce, so only the
#: residue of mail altered in transit (mostly forwarded) may remain.
REJECT_AT_RISK = 0.005
_ORDER = ("none", "quarantine", "reject")


def _ready_for(share: float) -> str:
    if share <= REJECT_AT_RISK:
        return "reject"
    if share <= QUARANTINE_AT_RISK:
        return "quarantine"
    return "none"


def _steps(
    domain: str,
    policy: str | None,
    ready_for: str,
    groups: tuple[SourceGroup, ...],
    days: int,
) -> tuple[str, ...]:
    steps: list[str] = []
    for group in groups:
        if group.advice and legitimate(group.category) and group.issue != "not-in-spf":
            steps.append(group.advice)
    if any(g.issue == "forgotten-service" for g in groups):
        steps.append(
            "Check the sources named after a service you may use: authorise the ones you "
            "use (SPF include and DKIM) before a stricter policy blocks them."
        )
    current = policy if policy in _ORDER else "none"
    if current == "reject":
        steps.append("p=reject is published: keep reading the reports for new services.")
        return tuple(steps)
    if days < 14:
        steps.append(
            f"Collect reports for at least two weeks ({days} day(s) so far): monthly mail "
            "(invoices, newsletters) must show up before you judge."
        )
    target = _ORDER[max(_ORDER.index(current) + 1, 1)]
    if _ORDER.index(ready_for) >= _ORDER.index(target):
        record = f'_dmarc.{domain} TXT "v=DMARC1; p={target}; rua=..."'
        if target == "quarantine":
            steps.append(
                f"Publish p=quarantine ({record}); add t=y for a first week if you want "
                "receivers to apply it one step lighter (RFC 9989 testing mode)."
            )
        else:
            steps.append(f"Publish p=reject ({record}) and keep watching the reports.")
    else:
        then = (
            ""
            if target == "reject"
            else ("; then, after a few weeks with no legitimate mail failing, p=reject")
        )
        steps.append(
            f"Once the fixes above are in and the reports show them working, publish "
            f"p={target}{then}."
        )
    return tuple(steps)


def judge_readiness(
    domain: str,
    /,
    *,
    policy: str | None,
    groups: Iterable[SourceGroup],
    days: int,
) -> Readiness:
    """How much legitimate mail a stricter policy would hit today, and the steps left.

    Args:
        domain: the domain (for the record shown in the steps).
        policy: the ``p=`` the reporters found published, if known.
        groups: the domain's sources, grouped (:func:`~mailcheck.reports.classify.
            group_sources`).
        days: days with reports in the period.
    """
    groups = tuple(groups)
    legit = [g for g in groups if legitimate(g.category)]
    own = [g for g in legit if g.category is not SourceCategory.FORWARDER]
    forwarded = [g for g in legit if g.category is SourceCategory.FORWARDER]
    messages = sum(g.messages for g in legit)
    at_risk = sum(g.messages - g.passed for g in own)
    forwarded_at_risk = sum(g.messages - g.passed for g in forwarded)
    unauthorized = sum(g.messages for g in groups if g.category is SourceCategory.UNAUTHORIZED)
    share = rate(at_risk + forwarded_at_risk, messages)
    # Forwarded mail counts at half weight for readiness: receivers that trust ARC or know
    # the list deliver much of it anyway (RFC 7960 §4), but not all.
    judged = (at_risk + forwarded_at_risk / 2) / messages if messages else 1.0
    ready_for = _ready_for(judged) if messages else "none"
    return Readiness(
        policy=policy,
        legitimate=messages,
        at_risk=at_risk,
        forwarded_at_risk=forwarded_at_risk,
        unauthorized=unauthorized,
        at_risk_share=share,
        ready_for=ready_for,
        steps=_steps(domain, policy, ready_for, groups, days),
    )
