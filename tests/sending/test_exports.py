"""What ``mailcheck.sending`` exports: the names a user needs, imported on first use."""

from __future__ import annotations

import subprocess
import sys

import mailcheck.sending
from mailcheck.sending.events import EventKind

#: The narrowed public surface (docs/sending.md); the modules hold the rest.
EXPORTED = [
    "BULK",
    "TRANSACTIONAL",
    "Classification",
    "Egress",
    "FairnessConfig",
    "LintRefused",  # Sender(lint="refuse")
    "MemoryBackend",
    "PacePolicy",
    "PaceReason",
    "ProviderProgress",
    "ProviderSet",
    "RedisBackend",
    "SendEvent",
    "SendProgress",
    "Sender",
    "SmtpReply",
    "SqliteSpool",
    "TlsPolicyCache",  # Sender(tls_policy=...): MTA-STS and DANE
    "WarmupPlan",
    "classify_reply",
    "lint_provider_file",
    "parse_reply",
]


def test_all_is_the_narrowed_surface() -> None:
    assert mailcheck.sending.__all__ == EXPORTED
    assert dir(mailcheck.sending) == sorted(EXPORTED)
    for name in EXPORTED:
        value = getattr(mailcheck.sending, name)
        assert getattr(value, "__doc__", None) or name.isupper(), f"{name} has no docstring"


def test_importing_the_package_imports_neither_the_sender_nor_redis() -> None:
    """``import mailcheck.sending`` stays cheap: names load on first use (PEP 562)."""
    code = (
        "import sys, mailcheck.sending\n"
        "print(sorted(m for m in ('redis', 'aiosmtplib', 'mailcheck.sending.sender')"
        " if m in sys.modules))\n"
        "mailcheck.sending.Sender\n"
        "print('mailcheck.sending.sender' in sys.modules, 'redis' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines() == ["[]", "True False"]


def test_event_kinds() -> None:
    """The event vocabulary: recipient states, attempts, shaping changes (no more
    ``held``/``resumed``: a pause and a suspension say which they are) and TLS reports."""
    assert [str(kind) for kind in EventKind] == [
        "delivered",
        "deferred",
        "bounced",
        "expired",
        "suppressed",  # list hygiene: the suppression list stopped a recipient
        "tenant-paused",  # a complaint rate paused a tenant's bulk mail
        "complaint-warning",
        "lint",  # bulk mail a provider would reject, queued anyway (lint="warn")
        "attempt",
        "rule",
        "slowed",
        "paused",
        "suspended",
        "probing",
        "tls-report",  # a TLS failure under MTA-STS or DANE (the matter of TLS-RPT)
    ]
