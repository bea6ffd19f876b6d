"""Golden JSON of parsed reports: what a panel or the store keeps from each corpus shape.

Rewrite with ``pytest tests/reports/test_parse_golden.py --update-golden`` after a deliberate
change, and read the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailcheck.reports import ingest_report

DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent.parent / "golden"


@pytest.mark.parametrize(
    "name", ["rfc9990.xml", "microsoft.xml", "quirks.xml", "tlsrpt-rfc8460.json"]
)
def test_golden(name: str, request: pytest.FixtureRequest) -> None:
    data = ingest_report((DATA / name).read_bytes()).to_dict()
    path = GOLDEN / f"report-{name.rsplit('.', 1)[0]}.json"
    if request.config.getoption("--update-golden"):
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    assert data == json.loads(path.read_text())
