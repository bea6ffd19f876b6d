"""The package's public names: ``__all__`` sorted, complete, importable; the blocking twin."""

from __future__ import annotations

import inspect

import pytest

import mailcheck.lint
from mailcheck import DnsResolver, SyncCallError
from mailcheck.lint import lint_message, lint_message_sync
from tests.lint.messages import newsletter


def test_all_sorted_and_importable() -> None:
    exported = list(mailcheck.lint.__all__)
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    for name in exported:
        assert getattr(mailcheck.lint, name) is not None
        assert getattr(mailcheck.lint, name).__doc__ or name.isupper(), name


def test_the_twin_has_the_coroutines_signature(resolver: DnsResolver) -> None:
    ours, theirs = inspect.signature(lint_message_sync), inspect.signature(lint_message)
    assert list(ours.parameters.values()) == list(theirs.parameters.values())
    assert ours.return_annotation == theirs.return_annotation
    report = lint_message_sync(newsletter(), profiles=("gmail-bulk",), resolver=resolver)
    assert report.findings == ()


async def test_the_twin_inside_a_loop_says_to_await() -> None:
    with pytest.raises(SyncCallError, match=r"await lint_message\("):
        lint_message_sync(newsletter())


def test_the_offline_lint_loads_no_dns_or_dkim_stack() -> None:
    """What a sending program pays to lint at submission: no dkimpy, pyspf or resolver."""
    import subprocess
    import sys

    code = (
        "import sys, mailcheck.lint.offline as o\n"
        "o.lint_offline(b'From: a@b.example\\r\\n\\r\\nhi', profiles=('gmail-bulk',))\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(result.stdout.split())
    assert not loaded & {"dkim", "spf", "mailcheck.lint.network", "mailcheck.lookup.resolver"}
