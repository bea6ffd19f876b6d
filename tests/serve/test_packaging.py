"""The wheel carries what the service needs (catalogues, templates, static files, the
OpenAPI document) and works from it: the French catalogue is compiled on first use from
the shipped .po, nothing compiled is shipped or committed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.slow
def test_the_wheel_ships_and_uses_the_catalogues(tmp_path: Path) -> None:
    from hatchling.builders.wheel import WheelBuilder

    built = list(WheelBuilder(str(ROOT)).build(directory=str(tmp_path)))
    wheel = zipfile.ZipFile(built[0])
    names = set(wheel.namelist())
    for name in (
        "mailcheck/locale/fr/LC_MESSAGES/mailcheck.po",
        "mailcheck/locale/en/LC_MESSAGES/mailcheck.po",
        "mailcheck/serve/templates/report.html",
        "mailcheck/serve/static/app.js",
        "mailcheck/serve/static/app.css",
        "mailcheck/serve/openapi.json",
    ):
        assert name in names, name
    assert not [n for n in names if n.endswith(".mo")]
    unpacked = tmp_path / "site"
    wheel.extractall(unpacked)
    code = (
        "import mailcheck.locale as l; print(l.__file__); "
        "print(l.finding_text('spf.missing', 'fr').title)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=tmp_path, env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    where, title = result.stdout.splitlines()
    assert where.startswith(str(unpacked))
    assert title == "Aucun enregistrement SPF"


def test_no_compiled_catalogue_in_the_source_tree() -> None:
    assert list((ROOT / "src" / "mailcheck" / "locale").rglob("*.mo")) == []
