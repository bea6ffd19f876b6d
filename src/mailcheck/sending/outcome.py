"""What a reply means for shaping: a small built-in classifier and the Outcome it returns.

The provider rule table (``mailcheck.sending.replies``) is richer; the Sender accepts any
``classify(code, text) -> Outcome`` callable. This fallback knows RFC 3463 classes and the
few provider throttling strings the tests and the docs name.
"""

from __future__ import annotations

import dataclasses
import re

from mailcheck.sending.providers import Action, Rate, Scope

__all__ = ["Outcome", "OutcomeAction", "OutcomeScope", "basic_classify"]


# One vocabulary for the dataset and the Sender: the provider rules' enums.
OutcomeAction = Action
OutcomeScope = Scope


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """A classified reply.

    Attributes:
        action: what to do.
        scope: whom it concerns.
        duration: seconds of a suspension, or the retry hint.
        exit_after: successes after which a slow-down ends (0 = on expiry only).
        rule: the name of the rule that matched.
        threshold: the action applies only once the rule has matched this often (the
            Sender counts matches per budget).
    """

    action: OutcomeAction
    scope: OutcomeScope = OutcomeScope.MESSAGE
    duration: float = 0.0
    exit_after: int = 0
    rule: str = ""
    threshold: Rate | None = None

    @property
    def shapes(self) -> bool:
        """Whether this outcome changes the provider budget."""
        return self.scope in (OutcomeScope.CONNECTION, OutcomeScope.IP, OutcomeScope.DOMAIN)


_RULES: tuple[tuple[str, re.Pattern[str], OutcomeAction, OutcomeScope, float, int], ...] = (
    # Yahoo: "421 4.7.0 [TSS04] Messages from x temporarily deferred due to unexpected volume"
    ("yahoo-tss04", re.compile(r"\[TSS04\]"), OutcomeAction.SUSPEND, OutcomeScope.IP, 3600, 0),
    # Microsoft: "451 4.7.650 The mail server [x] has been temporarily rate limited"
    (
        "microsoft-4.7.650",
        re.compile(r"\b4\.7\.650\b"),
        OutcomeAction.SLOW,
        OutcomeScope.IP,
        0,
        100,
    ),
    # Orange: "421 mwinf... OFR004_104 ... Too many messages"
    ("orange-ofr004", re.compile(r"OFR004_\d+"), OutcomeAction.SUSPEND, OutcomeScope.IP, 900, 0),
    ("rate-421", re.compile(r"^421\b.*\b4\.7\.\d+"), OutcomeAction.SLOW, OutcomeScope.IP, 0, 0),
    # Per-recipient "receiving mail too quickly" / mailbox full: never slows the provider.
    (
        "recipient-4.2",
        re.compile(r"^4\d\d\s+4\.2\.[12]\b"),
        OutcomeAction.RETRY,
        OutcomeScope.RECIPIENT,
        0,
        0,
    ),
    (
        "mailbox-5.1",
        re.compile(r"^5\d\d\s+5\.1\.\d+"),
        OutcomeAction.BOUNCE,
        OutcomeScope.RECIPIENT,
        0,
        0,
    ),
)


def basic_classify(code: int, text: str, /) -> Outcome:
    """Classify an SMTP reply with the built-in rules.

    Args:
        code: the reply code (e.g. 421).
        text: the reply text (joined lines, enhanced code first when present).

    Returns:
        The Outcome: ``ok`` for 2xx/3xx, ``bounce`` for other 5xx, ``retry`` for other 4xx.
    """
    if code < 400:
        return Outcome(action=OutcomeAction.OK)
    line = f"{code} {text}"
    for name, pattern, action, scope, duration, exit_after in _RULES:
        if pattern.search(line):
            return Outcome(
                action=action, scope=scope, duration=duration, exit_after=exit_after, rule=name
            )
    if code >= 500:
        return Outcome(action=OutcomeAction.BOUNCE)
    return Outcome(action=OutcomeAction.RETRY)
