"""examples/reports/demo.py runs offline and names Brevo by the include that authorises it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "reports" / "demo.py"


@pytest.mark.slow
def test_the_demo_runs_offline(tmp_path: Path) -> None:
    page = tmp_path / "summary.html"
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--html", str(page)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        "Brevo (via include:spf.brevo.com): 18,000 messages, SPF aligned 100 %, DKIM aligned 0 %"
        in done.stdout
    )
    assert "DKIM for Brevo is not set up for your domain" in done.stdout
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
