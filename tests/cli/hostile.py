"""The hostile-argument harness: commands as a user would type them, with a hostile value (V)
and a hostile file (F) put in; whatever they are, the CLI gives no traceback, no internal
error, and an exit code from 0 to 3.

:func:`hostile_argument_tests` makes the two tests a command's module runs: a fixed table in
the fast loop, and hypothesis drawing many more combinations (slow).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailcheck.cli.main import main

#: DNS to a port where nothing listens (refused at once): commands get as far as they can.
DOWN = ["--nameserver", "127.0.0.1:9", "--timeout", "0.5"]
VALUES = [
    "",
    " ",
    "\x00",
    "\x1b[31mred\x1b[0m",
    "a\r\nX-Injected: 1",
    "nan",
    "inf",
    "-1",
    "0",
    "999999999999999999999",
    "1e309",
    "fe80::1%eth0",
    "a" * 300,
    "../../escaped",
    "é.example",
    "x y",
    "\u202etxt.exe",
    "example.org",
    "192.0.2.1",
]
FILES = ["binary", "empty", "missing", "directory", "garbage"]


#: What a "garbage" file holds unless a test gives its own (text that almost parses).
GARBAGE = b'v=DKIM1; p=\n\x1b[2J[[[ = "\nFrom: <\n\n'


def make_file(base: Path, kind: str, *, garbage: bytes = GARBAGE) -> str:
    """A file of ``kind`` (one of :data:`FILES`; "missing" is not created) in ``base``."""
    path = base / f"input-{kind}"
    if kind == "binary":
        path.write_bytes(b"\x00\xff\xfe\x89PNG\r\n\x1a\n" + bytes(range(256)))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir(exist_ok=True)
    elif kind == "garbage":
        path.write_bytes(garbage)
    return str(path)


def fill(template: list[str], value: str, file: str) -> list[str]:
    return [value if word == "V" else file if word == "F" else word for word in template]


def check(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage errors, --help
        code = exc.code if isinstance(exc.code, int) else 2
    err = capsys.readouterr().err
    assert code in (0, 1, 2, 3), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    assert "internal error" not in err, (argv, err)


def hostile_argument_tests(
    templates: dict[str, list[str]],
    fast: Sequence[tuple[str, str, str]],
    *,
    max_examples: int,
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The table test (``fast``: (template, value, file) triples) and the fuzz test of
    ``templates``; a module binds them to ``test_hostile_arguments_table`` and
    ``test_hostile_arguments_fuzz``. Both run in a fresh directory (keys, spools land there).
    """

    @pytest.mark.parametrize(("name", "value", "file"), fast)
    def test_hostile_arguments_table(
        name: str,
        value: str,
        file: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.chdir(tmp_path)
        check(fill(templates[name], value, make_file(tmp_path, file)), capsys)

    @pytest.mark.slow
    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        name=st.sampled_from(sorted(templates)),
        value=st.one_of(st.sampled_from(VALUES), st.text(max_size=40)),
        file=st.sampled_from(FILES),
    )
    def test_hostile_arguments_fuzz(
        name: str,
        value: str,
        file: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.chdir(tmp_path)
        check(fill(templates[name], value, make_file(tmp_path, file)), capsys)

    return test_hostile_arguments_table, test_hostile_arguments_fuzz
