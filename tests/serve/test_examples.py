"""The embedding examples run offline (docs/embedding.md points at them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout


def test_django_view_context_in_french() -> None:
    context = json.loads(run(str(EXAMPLES / "django_view.py"), "--lang", "fr"))
    assert context["checks"]["dmarc"] == "warn"
    first = context["findings"][0]
    assert first["code"] == "dmarc.policy-none"
    assert first["title"] == "La politique DMARC est none (simple observation)"
    assert first["record_to_publish"].startswith("_dmarc.example.org.")


def test_mounted_service_answers_under_its_prefix() -> None:
    out = run(str(EXAMPLES / "serve_mounted.py"), "--check")
    assert "dmarc.policy-none - La politique DMARC est none (simple observation)" in out
    assert "page: 200 fr" in out
