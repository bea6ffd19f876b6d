"""The plain types of the message lint: verdicts, profiles and the report.

Imported by every other module of :mod:`mailcheck.lint`; imports none of them.
"""

from __future__ import annotations

import dataclasses
import enum

from mailcheck.model import CheckResult, Finding, Severity, ToDict


class Verdict(enum.StrEnum):
    """What one receiver would do with the message, by one profile.

    ``unknown`` means a rule of the profile could not be checked (a DNS failure) and
    nothing certain made the message ``rejected``: "could not check", never "rejected".
    """

    ACCEPTED = "accepted"
    AT_RISK = "at-risk"
    UNKNOWN = "unknown"
    REJECTED = "rejected"

    @property
    def rank(self) -> int:
        """0 accepted, 1 at risk, 2 unknown, 3 rejected: larger is worse."""
        return _VERDICT_RANK[self]

    @property
    def phrase(self) -> str:
        """The words of the summary line: "accepted", "at risk", "would be rejected"..."""
        return _PHRASE[self]


_VERDICT_RANK = {Verdict.ACCEPTED: 0, Verdict.AT_RISK: 1, Verdict.UNKNOWN: 2, Verdict.REJECTED: 3}
_PHRASE = {
    Verdict.ACCEPTED: "accepted",
    Verdict.AT_RISK: "at risk",
    Verdict.UNKNOWN: "could not check",
    Verdict.REJECTED: "would be rejected",
}


class RuleAction(enum.StrEnum):
    """What a profile says a receiver does when a rule is broken."""

    REJECTED = "rejected"
    """The receiver documents a refusal (or a requirement it enforces by refusing)."""
    AT_RISK = "at-risk"
    """A recommendation, or a requirement enforced by filtering to spam."""
    NOTE = "note"
    """Worth knowing; no effect on the verdict."""

    @property
    def severity(self) -> Severity:
        """The severity a finding gets under this action."""
        return _ACTION_SEVERITY[self]


_ACTION_SEVERITY = {
    RuleAction.REJECTED: Severity.ERROR,
    RuleAction.AT_RISK: Severity.WARNING,
    RuleAction.NOTE: Severity.INFO,
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProfileRule(ToDict):
    """One requirement of a receiver, as the profile file states it.

    Attributes:
        name: the rule's name in the file (``one-click-unsubscribe``).
        codes: the finding codes that break it.
        action: ``rejected``, ``at-risk`` or ``note``.
        source: the URL or RFC that states the requirement.
        date: when the source was published or took effect (ISO date).
        summary: one line for people.
    """

    name: str
    codes: tuple[str, ...]
    action: RuleAction
    source: str
    date: str
    summary: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Profile(ToDict):
    """A receiver's rules (``gmail-bulk``) or the generic ``baseline``.

    Attributes:
        name: the profile's name.
        provider: who applies it (``Gmail``), shown in the summary.
        description: one line.
        rules: the rules, in file order.
    """

    name: str
    provider: str
    description: str
    rules: tuple[ProfileRule, ...]

    def rule_for(self, code: str) -> ProfileRule | None:
        """The rule a finding code breaks in this profile, or ``None``."""
        for rule in self.rules:
            if code in rule.codes:
                return rule
        return None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BrokenRule(ToDict):
    """A rule of a profile that the message breaks, and the findings that break it."""

    rule: str
    action: RuleAction
    codes: tuple[str, ...]
    source: str
    date: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProfileVerdict(ToDict):
    """The verdict of one profile on the message.

    Attributes:
        profile: the profile's name.
        provider: who applies it.
        verdict: ``accepted``, ``at-risk``, ``unknown`` or ``rejected``.
        broken: the rules the message breaks (and those that could not be checked).
        not_checked: the profile's codes this run could not check for want of an input
            (the sending IP for ``rdns.*``; the IP and an envelope sender for
            ``lint.spf-fail``; a resolver for ``lint.dmarc-missing``; an envelope sender
            for ``lint.spf-not-aligned`` and ``lint.not-aligned``).
    """

    profile: str
    provider: str
    verdict: Verdict
    broken: tuple[BrokenRule, ...] = ()
    not_checked: tuple[str, ...] = ()

    @property
    def line(self) -> str:
        """``"Gmail (gmail-bulk): would be rejected"``, the summary line."""
        return f"{self.provider} ({self.profile}): {self.verdict.phrase}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LintFacts(ToDict):
    """What the lint read from the message (for people and control panels).

    Attributes:
        from_domain: the From address's domain, or ``None`` when there is no single one.
        dkim_domains: the ``d=`` of each DKIM-Signature, in order.
        spf_domain: the envelope sender's domain (``mail_from``, else Return-Path).
        size: the message's size in bytes.
        bulk: the message carries List-Unsubscribe or List-Id (looks like list mail).
    """

    from_domain: str | None = None
    dkim_domains: tuple[str, ...] = ()
    spf_domain: str | None = None
    size: int = 0
    bulk: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LintReport(CheckResult):
    """A message checked against the receivers' rules.

    Attributes:
        status: ``fail`` when a profile would reject, ``unknown`` when one could not
            check, ``warn`` when one is at risk, else ``pass``.
        findings: ``lint.*`` (and ``rdns.*``) findings, worst first; their severity is
            the worst action of the selected profiles (rejected = error, at risk =
            warning, note = info).
        facts: what the lint read from the message.
        verdicts: one per selected profile, in the order asked.
    """

    facts: LintFacts = LintFacts()
    verdicts: tuple[ProfileVerdict, ...] = ()

    @property
    def rejected_by(self) -> tuple[str, ...]:
        """The profiles that would reject the message."""
        return tuple(v.profile for v in self.verdicts if v.verdict is Verdict.REJECTED)

    @property
    def summary(self) -> tuple[str, ...]:
        """One line per profile: ``"Outlook.com (microsoft-bulk): would be rejected"``."""
        return tuple(v.line for v in self.verdicts)

    def for_code(self, code: str) -> tuple[Finding, ...]:
        """The findings with ``code``."""
        return tuple(f for f in self.findings if f.code == code)
