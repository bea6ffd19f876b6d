"""Packaging as a newcomer meets it: the demo script, tox environments, the wheel's data."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "mailcheck").exists(), reason="no .venv")
def test_demo_runs_again_without_setting_up() -> None:
    # With mailcheck already installed in .venv at this version, scripts/demo must not run
    # scripts/setup (pip, the network): a PYTHON that does not exist would make it fail.
    env = {**os.environ, "PYTHON": "/nonexistent/python3", "PIP_INDEX_URL": "http://127.0.0.1:9/"}
    result = subprocess.run(
        [str(ROOT / "scripts" / "demo"), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr  # 1: the demo IP is listed
    assert json.loads(result.stdout)["domain"] == "example.org"
    assert "needs Python" not in result.stderr


def test_tox_docs_and_lint_do_not_install_system_packages() -> None:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    assert "need-system" in tox["testenv"]["commands_pre"]
    for env in ("testenv:docs", "testenv:lint"):
        assert tox[env].get("commands_pre", "missing").strip() == "", env


@pytest.mark.slow
def test_wheel_ships_the_report_schema(tmp_path: Path) -> None:
    hatchling = pytest.importorskip("hatchling.builders.wheel")
    built = list(hatchling.WheelBuilder(str(ROOT)).build(directory=str(tmp_path)))
    names = zipfile.ZipFile(built[0]).namelist()
    assert "mailcheck/report.schema.json" in names
    assert "mailcheck/py.typed" in names


def test_schema_loads_from_the_package_not_the_source_tree(tmp_path: Path) -> None:
    # importlib.resources: works from any directory, as from an installed wheel.
    code = "import mailcheck; print(mailcheck.report_schema()['title'])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert result.stdout.strip() == "mailcheck domain report"
