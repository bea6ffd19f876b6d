"""LANG chooses the language of finding titles and fixes in the CLI's text output."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.serve.conftest import EXAMPLES

ZONES = [EXAMPLES / "zones" / "example.org.zone", EXAMPLES / "zones" / "mailhost.example.zone"]


def audit(lang: str) -> str:
    zones = [arg for zone in ZONES for arg in ("--zone", str(zone))]
    env = {**os.environ, "LANG": lang, "LC_ALL": "", "LC_MESSAGES": "", "LANGUAGE": ""}
    result = subprocess.run(
        [sys.executable, "-m", "mailcheck.cli.main", "audit", *zones, "--no-reputation",
         "--fail-on", "error", "example.org"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_french_titles_and_fixes_under_a_french_lang() -> None:
    out = audit("fr_BE.UTF-8")
    assert "dmarc.policy-none" in out  # codes stay
    assert "La politique DMARC est none (simple observation)" in out
    assert 'correction : _dmarc.example.org. 3600 IN TXT "v=DMARC1; p=quarantine' in out


def test_english_otherwise() -> None:
    out = audit("C.UTF-8")
    assert "The policy is none" in out
    assert "fix: _dmarc.example.org." in out
    assert "correction" not in out
