"""Findings judged by profiles: each profile's verdict, each finding's severity (pure).

A finding counts for a profile when one of its rules names the finding's code; its
severity in the report is the worst action among the selected profiles (rejected = error,
at-risk = warning, note = info); a finding no selected profile names is left out. A
``*.temperror`` finding makes the rules it concerns "could not check" (never "rejected").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from mailcheck.lint.types import (
    BrokenRule,
    LintFacts,
    LintReport,
    Profile,
    ProfileRule,
    ProfileVerdict,
    RuleAction,
    Verdict,
)
from mailcheck.model import CheckStatus, Finding, error_of, sort_findings

#: The input each code needs: ``ip`` (the sending IP), ``dns`` (a resolver),
#: ``envelope`` (the envelope sender), ``ip+envelope`` (both). Codes not named need only
#: the message.
NEEDS: dict[str, str] = {
    "rdns.missing": "ip",
    "rdns.not-confirmed": "ip",
    "rdns.generic": "ip",
    "rdns.multiple": "ip",
    "lint.spf-fail": "ip+envelope",
    "lint.dmarc-missing": "dns",
    "lint.dkim-fail": "dns",
    "lint.spf-not-aligned": "envelope",
    "lint.not-aligned": "envelope",
}
# What a temperror makes uncertain.
_TEMPERROR_CODES = {
    "rdns.temperror": ("rdns.missing", "rdns.not-confirmed", "rdns.generic", "rdns.multiple"),
}
_STATUS = {
    Verdict.ACCEPTED: CheckStatus.PASS,
    Verdict.AT_RISK: CheckStatus.WARN,
    Verdict.UNKNOWN: CheckStatus.UNKNOWN,
    Verdict.REJECTED: CheckStatus.FAIL,
}


def uncertain_codes(findings: Iterable[Finding]) -> frozenset[str]:
    """The codes a ``*.temperror`` finding leaves undecided."""
    codes: set[str] = set()
    for finding in findings:
        if finding.is_temperror:
            codes.update(_TEMPERROR_CODES.get(finding.code, ()))
            codes.update(str(c) for c in finding.details.get("codes", ()))
    return frozenset(codes)


def judge_profile(
    profile: Profile,
    findings: Sequence[Finding],
    *,
    uncertain: frozenset[str] = frozenset(),
    missing: frozenset[str] = frozenset(),
) -> ProfileVerdict:
    """One profile's verdict on the findings.

    Args:
        profile: the profile.
        findings: every finding of the run (default severities).
        uncertain: codes a DNS failure left undecided.
        missing: the inputs the run did not have (``ip``, ``dns``, ``envelope``).
    """
    found = {f.code for f in findings if not f.is_temperror}
    broken: list[BrokenRule] = []
    undecided: list[ProfileRule] = []
    not_checked: list[str] = []
    for rule in profile.rules:
        hit = tuple(c for c in rule.codes if c in found)
        if hit:
            broken.append(_broken(rule, hit))
        elif any(c in uncertain for c in rule.codes):
            undecided.append(rule)
        not_checked.extend(c for c in rule.codes if NEEDS.get(c) in missing)
    verdict = Verdict.ACCEPTED
    if any(b.action is RuleAction.REJECTED for b in broken):
        verdict = Verdict.REJECTED
    elif any(r.action is not RuleAction.NOTE for r in undecided):
        verdict = Verdict.UNKNOWN
    elif any(b.action is RuleAction.AT_RISK for b in broken):
        verdict = Verdict.AT_RISK
    return ProfileVerdict(
        profile=profile.name,
        provider=profile.provider,
        verdict=verdict,
        broken=tuple(broken),
        not_checked=tuple(not_checked),
    )


def _broken(rule: ProfileRule, codes: tuple[str, ...]) -> BrokenRule:
    return BrokenRule(
        rule=rule.name, action=rule.action, codes=codes, source=rule.source, date=rule.date
    )


def profile_severities(findings: Iterable[Finding], profiles: Sequence[Profile]) -> list[Finding]:
    """The findings the profiles name, each with the worst severity they give it."""
    kept: list[Finding] = []
    for finding in findings:
        if finding.is_temperror:
            kept.append(finding)
            continue
        rules = [r for p in profiles if (r := p.rule_for(finding.code)) is not None]
        if not rules:
            continue
        severity = max((r.action.severity for r in rules), key=lambda s: s.rank)
        kept.append(dataclasses.replace(finding, severity=severity))
    return kept


def build_report(
    findings: Sequence[Finding],
    profiles: Sequence[Profile],
    facts: LintFacts,
    *,
    missing: frozenset[str] = frozenset(),
) -> LintReport:
    """The report: verdict per profile, the findings they name, the overall status."""
    uncertain = uncertain_codes(findings)
    verdicts = tuple(
        judge_profile(p, findings, uncertain=uncertain, missing=missing) for p in profiles
    )
    worst = max((v.verdict for v in verdicts), key=lambda v: v.rank, default=Verdict.ACCEPTED)
    kept = profile_severities(findings, profiles)
    return LintReport(
        status=_STATUS[worst],
        findings=sort_findings(kept),
        error=error_of(kept),
        facts=facts,
        verdicts=verdicts,
    )
