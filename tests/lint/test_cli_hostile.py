"""``mailcheck lint`` with hostile arguments and files: never a traceback, exit 0 to 3."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.test_fuzz_cli import DOWN, FILES, VALUES, check, fill, make_file

TEMPLATES: dict[str, list[str]] = {
    "ip": ["lint", "F", "--ip", "V", "--mail-from", "V", "--profile", "all", *DOWN],
    "profile": ["lint", "F", "--profile", "V", "--offline"],
    "profiles-file": ["lint", "F", "--profiles-file", "F", "--profile", "V", "--offline"],
    "json": ["lint", "F", "--mail-from", "V", "--offline", "--format", "json"],
    "zone": ["lint", "F", "--zone", "F", "--ip", "V"],
}
FAST = [
    (name, value, file)
    for name in TEMPLATES
    for value, file in (
        ("\x00", "binary"),
        ("192.0.2.1", "garbage"),
        ("", "empty"),
        ("999999999999999999999", "directory"),
    )
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("name", "value", "file"), FAST)
def test_hostile_arguments_table(
    name: str, value: str, file: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check(fill(TEMPLATES[name], value, make_file(workdir, file)), capsys)


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(sorted(TEMPLATES)),
    value=st.one_of(st.sampled_from(VALUES), st.text(max_size=40)),
    file=st.sampled_from(FILES),
)
def test_hostile_arguments_fuzz(
    name: str, value: str, file: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check(fill(TEMPLATES[name], value, make_file(workdir, file)), capsys)
