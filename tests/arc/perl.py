"""Run Perl Mail::DKIM's ARC signer and verifier (arc_perl.pl) against the tests' DNS server.

Perl and Mail::DKIM are system packages (``scripts/need-system``): when absent the tests
fail with a message saying so, they are never skipped.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "arc_perl.pl"


@functools.cache
def _missing() -> str | None:
    if shutil.which("perl") is None:
        return "perl is not installed (scripts/need-system installs it)"
    probe = subprocess.run(
        ["perl", "-MMail::DKIM::ARC::Verifier", "-MNet::DNS", "-e", "1"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        return "Perl Mail::DKIM (ARC) or Net::DNS is missing: run scripts/need-system"
    return None


def run_perl(*args: str, message: bytes) -> str:
    """arc_perl.pl's stdout for ``args`` (``verify PORT`` or ``seal PORT ...``)."""
    missing = _missing()
    if missing is not None:
        pytest.fail(missing)
    done = subprocess.run(
        ["perl", str(SCRIPT), *args], input=message, capture_output=True, timeout=60, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"arc_perl.pl {args[0]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode("utf-8", "replace")


def perl_verify(port: int, message: bytes) -> str:
    """Mail::DKIM::ARC::Verifier's result: ``pass``, ``fail`` or ``none``."""
    return run_perl("verify", str(port), message=message).split("\t", 1)[0].strip()


def perl_seal(
    port: int, message: bytes, *, domain: str, selector: str, key: Path, srvid: str
) -> bytes:
    """The message sealed by Mail::DKIM::ARC::Signer (``Chain => 'ar'``)."""
    added = run_perl("seal", str(port), domain, selector, str(key), srvid, message=message)
    return added.encode("utf-8").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + message
