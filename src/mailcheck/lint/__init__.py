"""The message lint: a message checked against the bulk-sender rules, per provider.

:func:`lint_message` (async, DNS and the sending IP) and :func:`lint_offline` (pure, for
the Sender at submission) return a :class:`LintReport` whose ``verdicts`` say, per
profile, ``accepted``, ``at-risk`` or ``rejected``. Profiles are data
(``profiles.toml``): see ``docs/bulk-sender-rules.md``. Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailcheck._lazy import lazy_exports

if TYPE_CHECKING:
    from mailcheck.lint.api import lint_message
    from mailcheck.lint.offline import lint_offline
    from mailcheck.lint.profiles import DEFAULT_PROFILES, ProfileSet
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
    from mailcheck.sync_more import lint_message_sync

__all__ = [
    "DEFAULT_PROFILES",
    "BrokenRule",
    "LintFacts",
    "LintReport",
    "Profile",
    "ProfileRule",
    "ProfileSet",
    "ProfileVerdict",
    "RuleAction",
    "Verdict",
    "lint_message",
    "lint_message_sync",
    "lint_offline",
]

_EXPORTS = {
    "DEFAULT_PROFILES": "mailcheck.lint.profiles",
    "ProfileSet": "mailcheck.lint.profiles",
    "lint_message": "mailcheck.lint.api",
    "lint_message_sync": "mailcheck.sync_more",
    "lint_offline": "mailcheck.lint.offline",
    **{
        name: "mailcheck.lint.types"
        for name in (
            "BrokenRule",
            "LintFacts",
            "LintReport",
            "Profile",
            "ProfileRule",
            "ProfileVerdict",
            "RuleAction",
            "Verdict",
        )
    },
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
