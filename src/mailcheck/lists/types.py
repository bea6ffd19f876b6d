"""The plain types of list mitigation: what to do with a post, why, and the policy facts.

Imported by the rest of :mod:`mailcheck.lists`; imports none of it.
"""

from __future__ import annotations

import dataclasses
import enum

from mailcheck.errors import MailcheckError
from mailcheck.model import ToDict


class MitigationError(MailcheckError, ValueError):
    """A post (or a list address) that cannot be mitigated as it is: no From header or
    several, a From without exactly one address, an undecodable display name, a header
    block that is not ``Name: value`` lines. The message names the problem; it never
    holds the message itself."""


class MitigationAction(enum.StrEnum):
    """What a list does with a post before relaying it."""

    NONE = "none"
    """Relay the post with its From unchanged."""
    REWRITE_FROM = "rewrite-from"
    """Replace the From with the list address (Mailman ``munge_from``, Sympa
    ``dmarc_protection``)."""
    WRAP = "wrap"
    """Send a new message from the list, the post attached as ``message/rfc822``."""


class MitigationReason(enum.StrEnum):
    """Why :func:`~mailcheck.lists.mitigation_for` answered what it did."""

    POLICY = "policy"
    """The From domain's DMARC policy is ``quarantine`` or ``reject``."""
    ENFORCER = "enforcer"
    """The domain publishes less than its receivers enforce (``enforcers.toml``)."""
    POLICY_NONE = "policy-none"
    """The policy is ``none`` (or ``quarantine`` with ``quarantine=False``)."""
    NO_POLICY = "no-policy"
    """No DMARC record on the domain or its parents."""
    INVALID_POLICY = "invalid-policy"
    """Several records, or one that does not parse: RFC 9989 says none applies."""
    COULD_NOT_CHECK = "could-not-check"
    """DNS failed where the policy would be: mitigated, to be safe."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Mitigation(ToDict):
    """The answer of :func:`~mailcheck.lists.mitigation_for` for one From address.

    Attributes:
        action: ``none``, ``rewrite-from`` or ``wrap``.
        reason: why (a :class:`MitigationReason`).
        domain: the From domain (A-labels, lower case).
        policy: the policy that applies to ``domain`` (``p``, ``sp`` or ``np``), ``None``
            without a valid record.
        applied_tag: which tag gave ``policy``: ``p``, ``sp`` or ``np``.
        record: the DMARC record as published, ``None`` without one.
        location: the ``_dmarc`` name where it was found.
        inherited: the record was found on a parent (organisational) domain.
        organizational_domain: by the RFC 9989 tree walk.
        testing: the record says ``t=y`` (shown, not relaxed: RFC 7489 receivers ignore it).
        enforcer: the ``enforcers.toml`` entry's domain when one matched.
        enforcer_sources: the URLs that entry cites.
        temperrors: the names DNS could not answer, with the error.
    """

    action: MitigationAction
    reason: MitigationReason
    domain: str
    policy: str | None = None
    applied_tag: str | None = None
    record: str | None = None
    location: str | None = None
    inherited: bool = False
    organizational_domain: str = ""
    testing: bool = False
    enforcer: str | None = None
    enforcer_sources: tuple[str, ...] = ()
    temperrors: tuple[tuple[str, str], ...] = ()

    @property
    def mitigate(self) -> bool:
        """True when the post must be rewritten or wrapped."""
        return self.action is not MitigationAction.NONE

    @property
    def checked(self) -> bool:
        """False when DNS could not answer (the action is then the safe one)."""
        return self.reason is not MitigationReason.COULD_NOT_CHECK


class KeepOriginal(enum.StrEnum):
    """Where :func:`~mailcheck.lists.rewrite_from` keeps the author's address."""

    REPLY_TO = "reply-to"
    """Merged into Reply-To (Mailman's default), so replies reach the author."""
    X_ORIGINAL_FROM = "x-original-from"
    """In an ``X-Original-From`` field (Sympa), Reply-To left as it is."""
