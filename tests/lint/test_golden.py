"""The JSON a control panel stores for a lint report (tests/golden/lint-*.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailcheck import DnsResolver
from mailcheck.lint import lint_message
from tests.lint.messages import newsletter

GOLDEN = Path(__file__).parents[1] / "golden"
PROFILES = ("baseline", "gmail-bulk", "yahoo-bulk", "microsoft-bulk")


@pytest.mark.parametrize("case", ["newsletter", "unsigned-newsletter"])
async def test_golden(case: str, resolver: DnsResolver, request: pytest.FixtureRequest) -> None:
    message = newsletter() if case == "newsletter" else newsletter(signed=False)
    report = await lint_message(message, profiles=PROFILES, ip="198.51.100.18", resolver=resolver)
    data = report.to_dict()
    data["summary"] = list(report.summary)
    path = GOLDEN / f"lint-{case}.json"
    if request.config.getoption("--update-golden"):
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert data == json.loads(path.read_text(encoding="utf-8"))
